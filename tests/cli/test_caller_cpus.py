"""`harness run` pins the harness to its own CPU while it measures; `main` gives an in-process
caller its CPUs back afterwards (a test run that stayed pinned once measured every later
cpus-axis point on one CPU only)."""

from __future__ import annotations

import os

import pytest

from harness.cli import main as cli
from harness.cli import run as run_command
from harness.errors import HarnessError


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs two CPUs")
def test_main_restores_the_callers_cpus_after_a_command_pinned_the_harness(tmp_path, monkeypatch):
    before = os.sched_getaffinity(0)
    during = []

    def fake_run_suite(*_args, **_kwargs):
        during.append(os.sched_getaffinity(0))
        raise HarnessError("stopped by the test")

    monkeypatch.setattr(run_command, "run_suite", fake_run_suite)
    status = cli.main(
        [
            "--results-dir",
            str(tmp_path / "results"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "run",
            "--workloads",
            "json",
            "--size",
            "quick",
            "--no-race-check",
        ]
    )
    assert status == 2
    assert len(during[0]) < len(before)  # the command did pin the harness
    assert os.sched_getaffinity(0) == before
