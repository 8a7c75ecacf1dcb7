"""Fixtures shared across the test modules.

`workspace_build` is the suite's one cold build. Every end-to-end test that runs real Go and Rust
binaries builds them with the harness's Builder into this checkout's own cache (.cache/, the
`--cache-dir` default `make bench` uses) and Cargo's target folder of workloads/rust, so each
program is compiled once per cold checkout and every later build of it, in this test run or the
next, is a cache hit. Building everything here, once, up front, keeps the cost in one place (the
setup of the first test that asks for it) instead of charged to whichever test happens to build
a crate first; `make test` does that same build with `harness build` beside the load
generator's compile before pytest starts, so under it this fixture only finds cache hits. It also
lets the tests that build in a workspace of their own (the base commit's worktree of `harness ab`,
a scaffolded pair) point CARGO_TARGET_DIR at the same target folder, so the axum, tokio, jemalloc
and other dependency builds already there are reused rather than compiled again from nothing (Cargo reuses an artefact whenever crate version, features, profile
and compiler are the same, whatever workspace asks for it).

Tests that need a cold or isolated build on purpose keep their own cache and say so (the build
profile's clean builds, a cache miss that must rebuild, own workloads kept outside the repository).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import config
from harness.build import toolchains
from harness.build.builder import Builder, cargo_target_dir
from harness.measure.launcher import ensure_launcher
from harness.model import BuildRecord

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


@dataclass(frozen=True)
class WorkspaceBuild:
    cache_dir: Path  # pass as --cache-dir / Builder(...) to get cache hits
    target_dir: Path  # workloads/rust's Cargo target folder: CARGO_TARGET_DIR for other workspaces
    records: dict[tuple[str, str], BuildRecord]  # (workload, implementation key) -> its build


@pytest.fixture(scope="session")
def workspace_build() -> WorkspaceBuild:
    """Every implementation of every workload in workloads/, built once for the test run.

    Nothing is asserted here: a failed build is in `records`, and each test still builds what it
    uses through the Builder (now a cache hit) and checks that record itself, so one broken
    program fails its own tests, not the whole suite."""
    if toolchains.tool_version("go") is None or toolchains.tool_version("cargo") is None:
        pytest.skip("needs go and cargo")
    ensure_launcher(CACHE)
    programs = [
        (workload, impl)
        for workload in config.load_workloads(ROOT / "workloads").values()
        for impl in (*workload.implementations, *(b.implementation for b in workload.backends))
    ]

    def build_all(lang: str) -> dict[tuple[str, str], BuildRecord]:
        builder = Builder(CACHE)
        return {
            (workload.name, impl.key): builder.build(workload, impl)
            for workload, impl in programs
            if impl.lang == lang
        }

    # The Go programs and the Rust crates in two threads: each toolchain leaves CPU idle in its
    # serial steps (linking, the Go linker, cargo's dependency resolution) that the other fills.
    # A go+rust hybrid's cargo step waits on Cargo's own lock of the target folder.
    with ThreadPoolExecutor(max_workers=2) as pool:
        records = {k: v for part in pool.map(build_all, ("go", "rust")) for k, v in part.items()}
    return WorkspaceBuild(
        cache_dir=CACHE,
        target_dir=cargo_target_dir(ROOT / "workloads" / "rust"),
        records=records,
    )


@pytest.fixture
def shared_cargo_target(workspace_build, monkeypatch) -> Path:
    """CARGO_TARGET_DIR set, for this test, to the workspace's target folder, so a build in another
    workspace (the base worktree of `harness ab`) reuses the dependencies compiled there. The
    harness's Builder reads CARGO_TARGET_DIR to find what cargo built."""
    monkeypatch.setenv("CARGO_TARGET_DIR", str(workspace_build.target_dir))
    return workspace_build.target_dir
