"""Shared fixtures for the harness self-benchmarks (`make bench-harness`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.measure import launcher as measure

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def launcher(tmp_path_factory) -> Path:
    return measure.ensure_launcher(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def probe(tmp_path_factory) -> Path:
    """A small C program: `probe spin N` burns N million loop iterations, `probe alloc MB` touches MB
    of memory and holds it briefly. C so that neither runtime under comparison is involved."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    out = tmp_path_factory.mktemp("probe") / "probe"
    subprocess.run([compiler, "-O1", "-o", str(out), str(HERE / "probe.c")], check=True)
    return out
