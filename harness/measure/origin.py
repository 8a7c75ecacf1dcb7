"""Where a workload came from: its manifest and the git commit of the repository holding it.

Workloads may live outside this repository (`--workloads-dir`), so a result says which tree
produced it; "dirty" says the workloads folder had uncommitted changes, i.e. the commit alone does
not reproduce what was measured.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.measure.machine import git_output
from harness.model import Workload, WorkloadOrigin


def workload_origin(workload: Workload) -> WorkloadOrigin:
    folder = workload.root.resolve()
    commit = git_output(folder, "rev-parse", "HEAD")
    status = None if commit is None else git_output(folder, "status", "--porcelain", "--", ".")
    return WorkloadOrigin(
        manifest=os.fspath(Path(workload.manifest_path).resolve()),
        git_commit=commit,
        git_dirty=None if status is None else bool(status),
    )
