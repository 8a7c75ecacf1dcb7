"""Describe the machine and source tree a run measured, so results are never compared blind."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from harness.build import toolchains
from harness.measure import cpufeatures
from harness.model import Machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags() -> tuple[str, ...] | None:
    """Every flag /proc/cpuinfo lists for the CPU, so a verdict that depends on one (sha256 on
    sha_ni) can be read against the machine it was measured on; None when unreadable."""
    try:
        return cpufeatures.parse_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return None


def git_output(repo: Path, *args: str) -> str | None:
    """A git command's stdout in `repo`, or None outside a repository or without git."""
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", "-C", os.fspath(repo), *args],  # never rewrite the index
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def describe(repo: Path, harness_cpus: tuple[int, ...] | None) -> Machine:
    commit = git_output(repo, "rev-parse", "HEAD")
    status = git_output(repo, "status", "--porcelain", "--untracked-files=no") if commit else None
    return Machine(
        hostname=socket.gethostname(),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count() or 0,
        cpu_flags=cpu_flags(),
        memory_bytes=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        kernel=platform.release(),
        os=platform.platform(),
        python=sys.version.split()[0],
        go_version=toolchains.tool_version("go"),
        rustc_version=toolchains.tool_version("rustc"),
        cargo_version=toolchains.tool_version("cargo"),
        git_commit=commit,
        git_branch=git_output(repo, "rev-parse", "--abbrev-ref", "HEAD") if commit else None,
        git_dirty=bool(status) if status is not None else None,
        harness_cpus=harness_cpus,
    )
