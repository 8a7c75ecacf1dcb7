"""Find the Go and Rust toolchains and say which versions measured what."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import cache

from harness.errors import HarnessError
from harness.model import Lang

INSTALL_HINTS = {
    "go": "install Go 1.22 or newer (https://go.dev/doc/install) and put `go` on PATH",
    "cargo": "install Rust with rustup (https://rustup.rs) and put `cargo` on PATH",
    "rustc": "install Rust with rustup (https://rustup.rs) and put `rustc` on PATH",
}


@dataclass(frozen=True)
class Toolchain:
    lang: Lang
    executable: str  # go or cargo
    version: str  # one line, e.g. "go version go1.26.8 linux/amd64" or "rustc 1.95.0 (...)"


def _version_line(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


@cache
def tool_version(tool: str) -> str | None:
    """`go version` / `rustc --version` / `cargo --version`, or None when the tool is missing."""
    argv = [tool, "version"] if tool == "go" else [tool, "--version"]
    return _version_line(argv)


def require(lang: Lang) -> Toolchain:
    """The toolchain that builds `lang`, or a one-line error that says what to install."""
    tools = ["go"] if lang == "go" else ["cargo", "rustc"]
    for tool in tools:
        if tool_version(tool) is None:
            raise HarnessError(f"`{tool}` not found or not working: {INSTALL_HINTS[tool]}")
    if lang == "go":
        return Toolchain(lang, "go", tool_version("go") or "")
    return Toolchain(lang, "cargo", tool_version("rustc") or "")
