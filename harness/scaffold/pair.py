"""`harness new`: a working Go/Rust pair to paste one's own code into.

The scaffold follows the binary contract (batch: read the input, time the work alone, print the
result line; server: the flags, /health, the listen address (127.0.0.1 or HARNESS_LISTEN_ADDRESS)
and SIGTERM handling of the server contract, by a copy of the harness's own shared server code),
so `harness run --workloads NAME --size quick` succeeds right after it with equal checksums. A
workloads folder that has no Go module or Cargo workspace yet gets them (the workspace with this
repository's release profile and Cargo.lock, so both pin the same crate versions); the new crate
is added to Cargo.lock here, with `cargo update -w`, because `cargo build --locked` refuses a crate
the lock file does not list.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.build import toolchains
from harness.config import CATEGORIES, NAME_PATTERN
from harness.errors import HarnessError
from harness.store.results import write_atomic

TEMPLATES = Path(__file__).parent / "templates"
HARNESS_WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
GO_VERSION_LINE = re.compile(r"^go \d+\.\d+(?:\.\d+)?$", re.MULTILINE)
GITIGNORE = "rust/target/\n__pycache__/\n"


@dataclass(frozen=True)
class Scaffold:
    """What `harness new` wrote, for the message that says what to do next."""

    name: str
    folder: Path
    created: tuple[Path, ...]
    lock_updated: bool


def _fill(template: str, name: str, category: str) -> str:
    return (
        (TEMPLATES / template)
        .read_text()
        .replace("__NAME__", name)
        .replace("__MODULE__", name.replace("-", "_"))
        .replace("__CATEGORY__", category)
    )


def _go_version() -> str:
    """The `go` line of this repository's module: the Go version its workloads are written for."""
    match = GO_VERSION_LINE.search((HARNESS_WORKLOADS / "go" / "go.mod").read_text())
    return match.group(0) if match else "go 1.24"


def _copied_server_code(lang: str) -> str:
    """The harness's shared server code (the listen address, /health, SIGTERM, transport settings)
    as a file of the new program, so a pair outside this repository gets the same transport on
    both sides and listens where the harness says."""
    if lang == "go":
        text = (HARNESS_WORKLOADS / "go" / "internal" / "serve" / "serve.go").read_text()
        text = text.replace("package serve\n", "package main\n", 1)
        origin = "workloads/go/internal/serve/serve.go"
    else:
        text = (HARNESS_WORKLOADS / "rust" / "crates" / "serve" / "src" / "lib.rs").read_text()
        origin = "workloads/rust/crates/serve/src/lib.rs"
    return f"// Copied by `harness new` from the harness's {origin}.\n{text}"


def planned_files(folder: Path, name: str, kind: str, category: str) -> dict[Path, str]:
    """Every file the scaffold writes, with its text; files that already exist are left out only
    when they are the folder's shared ones (go.mod, the workspace, .gitignore)."""
    module = name.replace("-", "_")
    go_dir, crate = folder / "go" / name, folder / "rust" / "crates" / name
    files = {
        folder / f"{name}.toml": _fill(f"{kind}/manifest.toml", name, category),
        folder / "docs" / f"{name}.md": _fill(f"{kind}/doc.md", name, category),
        go_dir / "main.go": _fill(f"{kind}/main.go", name, category),
        crate / "Cargo.toml": _fill(f"{kind}/Cargo.toml", name, category),
        crate / "src" / "main.rs": _fill(f"{kind}/main.rs", name, category),
    }
    if kind == "batch":
        files[folder / "generators" / f"{module}.py"] = _fill("batch/generator.py", name, category)
    else:
        files[go_dir / "serve.go"] = _copied_server_code("go")
        files[crate / "src" / "serve.rs"] = _copied_server_code("rust")
    shared = {
        folder / "go" / "go.mod": f"module workloads\n\n{_go_version()}\n",
        folder / "rust" / "Cargo.toml": _workspace_manifest(),
        folder / ".gitignore": GITIGNORE,
    }
    files.update({path: text for path, text in shared.items() if not path.exists()})
    return files


def _workspace_manifest() -> str:
    """A workspace of every crate under crates/, with this repository's declared release profile
    (what the harness records as the flags)."""
    ours = (HARNESS_WORKLOADS / "rust" / "Cargo.toml").read_text()
    profile = ours[ours.index("[profile.release]") :] if "[profile.release]" in ours else ""
    return (
        '[workspace]\nresolver = "2"\nmembers = ["crates/*"]\n\n'
        "# Cargo's own release defaults, declared so the harness can record them.\n" + profile
    )


def _update_lock(workspace: Path) -> None:
    """Add the new crate to Cargo.lock (seeded from this repository's, so a new workspace pins
    the same crate versions). Only workspace members change: `-w` never bumps a dependency."""
    lock = workspace / "Cargo.lock"
    if not lock.exists():
        shutil.copy2(HARNESS_WORKLOADS / "rust" / "Cargo.lock", lock)
    done = subprocess.run(
        ["cargo", "update", "--workspace"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise HarnessError(
            f"{workspace}: `cargo update -w` failed ({tail[0]}); run it there by hand, then "
            "`harness run` builds the pair"
        )


def scaffold(folder: Path, name: str, kind: str, category: str | None = None) -> Scaffold:
    """Write the pair (refusing to overwrite anything), then update Cargo.lock when cargo exists."""
    if not NAME_PATTERN.match(name):
        raise HarnessError(f"harness new: NAME must match [a-z0-9-]+, got {name!r}")
    category = category or ("server" if kind == "server" else "parsing")
    if category not in CATEGORIES:
        raise HarnessError(f"harness new: --category must be one of {', '.join(CATEGORIES)}")
    files = planned_files(folder, name, kind, category)
    taken = [p for p in files if p.exists()]
    taken += [d for d in (folder / "go" / name, folder / "rust" / "crates" / name) if d.exists()]
    if taken:
        raise HarnessError(f"harness new: {taken[0]} already exists; pick another NAME")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode())
    lock_updated = toolchains.tool_version("cargo") is not None
    if lock_updated:
        _update_lock(folder / "rust")
    return Scaffold(
        name=name,
        folder=folder,
        created=tuple(sorted(files, key=os.fspath)),
        lock_updated=lock_updated,
    )
