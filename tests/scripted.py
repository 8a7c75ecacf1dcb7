"""Workloads whose "binaries" are small shell scripts, run through the real CLI, runner, launcher and
executor: only the Go/Rust build is replaced (ScriptBuilder), so a fault test costs a fraction of a
second instead of a compile. `python tests/scripted.py ARGS...` is `python -m harness ARGS...` with
that builder, for tests that need a real process to signal.

Every script records its pid (and those of the children it reports) in `<workloads>/pids`, so a
test can check afterwards that nothing it caused is still running.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the harness of this checkout
    sys.path.insert(0, str(ROOT))

from harness.cli import ab as ab_command  # noqa: E402
from harness.cli import build as build_command  # noqa: E402
from harness.cli import main as cli  # noqa: E402
from harness.cli import run as run_command  # noqa: E402
from harness.model import BuildRecord, Implementation, Workload  # noqa: E402

RESULT = {"checksum": "00000000deadbeef", "items": 10, "bytes": 1000, "work_seconds": 0.001}
OK = f"echo '{json.dumps(RESULT)}'"  # the body of a script that succeeds
# The command modules that make a Builder (run's also measures sweep): each gets the script one.
BUILDING = (ab_command, build_command, run_command)


class ScriptBuilder:
    """Stands in for harness.build.Builder: the "binary" is workloads/<lang>/<path>/run."""

    def __init__(self, cache_dir: Path, profile: bool = False, profile_variants: bool = False):
        pass

    def build(self, workload: Workload, impl: Implementation) -> BuildRecord:
        script = workload.root.resolve() / impl.lang / impl.path / "run"
        ok = os.access(script, os.X_OK)
        return BuildRecord(
            workload=workload.name,
            lang=impl.lang,
            variant=impl.variant,
            ok=ok,
            toolchain="sh",
            command=("true",),
            flags="",
            source_hash="0" * 64,
            binary_path=str(script) if ok else None,
            build_seconds=0.0 if ok else None,
            binary_bytes=script.stat().st_size if ok else None,
            error=None if ok else f"{script}: no script",
        )


def manifest(
    name: str,
    description: str = "A scripted workload",
    args: Sequence[str] = ("{n}",),
    extra: str = "",
    kind: str = "batch",
    category: str = "parsing",
) -> str:
    """A valid manifest for `name` (implementations go/<name>, rust/<name>); `extra` is appended."""
    return f"""\
name = {json.dumps(name)}
category = "{category}"
kind = "{kind}"
description = {json.dumps(description)}
args = {json.dumps(list(args))}

[params.full]
n = 2
[params.quick]
n = 1

[[implementations]]
lang = "go"
path = {json.dumps(name)}
library = "sh"

[[implementations]]
lang = "rust"
path = {json.dumps(name)}
library = "sh"
{extra}"""


def add_workload(
    workloads_dir: Path,
    name: str,
    go: str = OK,
    rust: str | None = None,
    manifest_text: str | None = None,
    **manifest_args,
) -> None:
    """Write workloads/<name>.toml and one script per language (`rust` defaults to `go`'s body).
    Each script appends its pid to workloads/pids first."""
    workloads_dir.mkdir(parents=True, exist_ok=True)
    (workloads_dir / f"{name}.toml").write_text(manifest_text or manifest(name, **manifest_args))
    pids = workloads_dir.resolve() / "pids"
    for lang, body in (("go", go), ("rust", go if rust is None else rust)):
        script = workloads_dir / lang / name / "run"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(f"#!/bin/sh\necho $$ >> '{pids}'\n{body}\n")
        script.chmod(0o755)


HELLO_SERVER_TABLE = """
[server]
health = "/health"

[[server.requests]]
name = "hello"
method = "GET"
path = "/hello"
share = 1.0
expect_status = 200
"""


def add_stand_in_server(tmp_path: Path, stand_in: str, name: str = "hello-http") -> Path:
    """A server workload whose Go and Rust "builds" both run the Python `stand_in` script with
    `--port N` (it must answer GET /health and /hello): its workloads folder."""
    folder = tmp_path / "workloads"
    script = tmp_path / f"{name}-stand-in.py"
    script.write_text(stand_in)
    add_workload(
        folder,
        name,
        go=f'exec {sys.executable} {script} "$@"',
        kind="server",
        category="server",
        args=("--port", "{port}"),
        extra=HELLO_SERVER_TABLE,
    )
    return folder


def recorded_pids(workloads_dir: Path) -> list[int]:
    path = workloads_dir / "pids"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def run_cli(argv: Sequence[str], monkeypatch) -> int:
    """cli.main in this process with the script builder."""
    for command in BUILDING:
        monkeypatch.setattr(command, "Builder", ScriptBuilder)
    return cli.main(list(argv))


def common_args(tmp: Path, cache_dir: Path) -> list[str]:
    """--workloads-dir, --results-dir and --cache-dir under `tmp` (the cache may be shared)."""
    return [
        "--workloads-dir",
        str(tmp / "workloads"),
        "--results-dir",
        str(tmp / "results"),
        "--cache-dir",
        str(cache_dir),
    ]


def subprocess_argv(argv: Sequence[str]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *argv]


def environment() -> Mapping[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}


if __name__ == "__main__":
    for command in BUILDING:
        command.Builder = ScriptBuilder  # type: ignore[misc]
    sys.exit(cli.main(sys.argv[1:]))
