"""Fixtures the server-stage tests share: the pinned load generator and the launcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.measure.launcher import ensure_launcher
from harness.servers import loadgen

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def oha() -> Path:
    return loadgen.find_oha(ROOT / "tools")


@pytest.fixture(scope="module")
def launcher() -> Path:
    return ensure_launcher(ROOT / ".cache")
