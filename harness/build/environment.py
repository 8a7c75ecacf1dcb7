"""What, besides the build command, decides how a toolchain compiles: read from the environment
and the toolchain, so a build record states the flags that were used rather than assumed ones.

The builds inherit the harness's environment, and each toolchain also reads settings of its own:

- Go: `go env` gives the effective value of each setting that changes the code (GOAMD64, GOFLAGS,
  GOEXPERIMENT, GOTOOLCHAIN, CGO_*, ...), whether it came from the environment or from the go env
  file (`go env -w`). Its defaults are the same query with those variables removed and the file
  off (GOENV=off); a setting whose effective value differs is a change. Also recorded: the
  experiments the toolchain enables by default (`go list` tool tags, `goexperiment.*`), e.g. the
  Green Tea garbage collector of Go 1.26.
- Rust: cargo's variables (RUSTFLAGS, CARGO_ENCODED_RUSTFLAGS, CARGO_BUILD_*, CARGO_PROFILE_*,
  CARGO_TARGET_*, RUSTC and its wrappers; CC/CFLAGS for crates with a C build such as ring) and
  the cargo config files cargo reads (`.cargo/config.toml` in the workspace and its ancestors,
  then $CARGO_HOME's): their build, target, profile and env tables. Every one of them is a change
  from cargo's defaults.

The harness records these rather than clearing them: a team may build with RUSTFLAGS or GOAMD64 on
purpose, and the report then says so (and the build cache keys on them). harness/build/settings.py
sorts the changes into those that can change generated code, which a run warns about once, naming
the builds (so two sides built unlike each other never pass unnoticed), and those that cannot
(VCS stamping, module cache modes), which the report's methodology lists in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.model import Lang

GO_SETTINGS = (
    "GOAMD64",
    "GOARCH",
    "GOEXPERIMENT",
    "GOFLAGS",
    "GOOS",
    "GOTOOLCHAIN",
    "CGO_ENABLED",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "CGO_LDFLAGS",
)
GO_EXPERIMENTS = "experiments (toolchain)"  # the record's key for the enabled GOEXPERIMENTs
RUST_VARIABLES = (
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_INCREMENTAL",
    "CC",
    "CFLAGS",
    "CXX",
    "CXXFLAGS",
)
RUST_PREFIXES = ("CARGO_BUILD_", "CARGO_PROFILE_", "CARGO_TARGET_")
WHERE_NOT_HOW = ("CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR")  # where binaries go, not what
CARGO_CONFIG_TABLES = ("build", "target", "profile", "env")


@dataclass(frozen=True)
class BuildEnvironment:
    """The settings that shape one language's builds, and those that differ from its defaults."""

    settings: dict[str, str]  # name -> value as the toolchain sees it
    changes: tuple[str, ...]  # "NAME=value" (and the default, where there is one), in words


def of(
    lang: Lang, env: Mapping[str, str], root: Path, forced: Mapping[str, str] | None = None
) -> BuildEnvironment:
    """The build environment of `lang` for a build run with `env` in `root` (the Go module or
    Cargo workspace); `forced` are the harness's own settings (already in `env`), which count as
    defaults: they are stated in the record's flags, not warned about."""
    items = tuple(sorted(env.items()))
    if lang == "go":
        return _go(items, os.fspath(root), tuple(sorted((forced or {}).items())))
    return _rust(items, os.fspath(root))


def _go_env(env: Mapping[str, str], root: str) -> dict[str, str] | None:
    try:
        done = subprocess.run(
            ["go", "env", "-json", *GO_SETTINGS],
            cwd=root,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return {k: str(v) for k, v in json.loads(done.stdout).items()}
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError, AttributeError):
        return None


def _go_experiments(env: Mapping[str, str], root: str) -> str | None:
    """The GOEXPERIMENTs the build enables, as the toolchain's build context lists them."""
    try:
        done = subprocess.run(
            ["go", "list", "-f", "{{context.ToolTags}}", "runtime"],
            cwd=root,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    tags = done.stdout.strip().strip("[]").split()
    prefix = "goexperiment."
    return " ".join(sorted(t[len(prefix) :] for t in tags if t.startswith(prefix)))


@cache
def _go(
    items: tuple[tuple[str, str], ...], root: str, forced: tuple[tuple[str, str], ...]
) -> BuildEnvironment:
    env = dict(items)
    effective = _go_env(env, root)
    if effective is None:
        return BuildEnvironment({"go env": "failed"}, ("go env failed: settings unknown",))
    defaults_env = {k: v for k, v in env.items() if k not in GO_SETTINGS} | {"GOENV": "off"}
    defaults_env |= dict(forced)
    defaults = _go_env(defaults_env, root) or {}
    settings = dict(effective)
    experiments = _go_experiments(env, root)
    settings[GO_EXPERIMENTS] = experiments if experiments is not None else "unknown"
    changes = tuple(
        f"{k}={effective[k]!r} (default {defaults.get(k, 'unknown')!r})"
        for k in GO_SETTINGS
        if k in effective and effective[k] != defaults.get(k)
    )
    return BuildEnvironment(settings, changes)


def cargo_config_files(workspace: Path, env: Mapping[str, str]) -> list[Path]:
    """The cargo config files a build in `workspace` reads, in cargo's order (nearest first)."""
    candidates = []
    for folder in (workspace, *workspace.parents):
        candidates += [folder / ".cargo" / "config.toml", folder / ".cargo" / "config"]
    home = Path(env.get("CARGO_HOME") or Path(env.get("HOME", "~")).expanduser() / ".cargo")
    candidates += [home / "config.toml", home / "config"]
    found: list[Path] = []
    for path in candidates:
        if path.is_file() and path.resolve() not in {p.resolve() for p in found}:
            found.append(path)
    return found


def _config_tables(path: Path) -> str | None:
    """The build-shaping tables of a cargo config file as compact JSON; None when it has none."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"unreadable ({exc})"
    tables = {k: data[k] for k in CARGO_CONFIG_TABLES if k in data}
    if isinstance(tables.get("build"), dict):  # build.target-dir says where, not how
        tables["build"] = {k: v for k, v in tables["build"].items() if k != "target-dir"}
    tables = {k: v for k, v in tables.items() if v}
    return json.dumps(tables, sort_keys=True, default=str) if tables else None


@cache
def _rust(items: tuple[tuple[str, str], ...], root: str) -> BuildEnvironment:
    env = dict(items)
    settings = {
        k: v
        for k, v in items
        if (k in RUST_VARIABLES or k.startswith(RUST_PREFIXES)) and k not in WHERE_NOT_HOW
    }
    for path in cargo_config_files(Path(root), env):
        tables = _config_tables(path)
        if tables is not None:
            settings[f"cargo config {path}"] = tables
    return BuildEnvironment(settings, tuple(f"{k}={v!r}" for k, v in settings.items()))


def describe(lang: Lang, environment: BuildEnvironment) -> str:
    """The part of a build record's `flags` text that comes from the environment."""
    if lang == "go":
        shown = ", ".join(
            f"{k}={environment.settings[k]}"
            for k in ("GOAMD64", "GOEXPERIMENT", "GOFLAGS")
            if k in environment.settings
        )
        experiments = environment.settings.get(GO_EXPERIMENTS)
        text = f"go env: {shown}" if shown else "go env: unknown"
        if experiments:
            text += f"; experiments on: {experiments}"
    elif environment.settings:
        text = "set: " + "; ".join(f"{k}={v}" for k, v in environment.settings.items())
    else:
        text = "no RUSTFLAGS, CARGO_* overrides, compiler wrappers or cargo config files"
    if lang == "go":
        text += (
            "; not toolchain defaults: " + "; ".join(environment.changes)
            if environment.changes
            else "; toolchain defaults otherwise"
        )
    return text
