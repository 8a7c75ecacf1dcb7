"""Where a workload came from: its manifest and the git commit of the repository holding it.

Workloads may live outside this repository (`--workloads-dir`), so a result says which tree
produced it; "dirty" says the workloads folder had uncommitted changes, i.e. the commit alone does
not reproduce what was measured.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.model import Workload, WorkloadOrigin


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", os.fspath(folder), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def workload_origin(workload: Workload) -> WorkloadOrigin:
    folder = workload.root.resolve()
    commit = _git(folder, "rev-parse", "HEAD")
    status = None if commit is None else _git(folder, "status", "--porcelain", "--", ".")
    return WorkloadOrigin(
        manifest=os.fspath(Path(workload.manifest_path).resolve()),
        git_commit=commit,
        git_dirty=None if status is None else bool(status),
    )
