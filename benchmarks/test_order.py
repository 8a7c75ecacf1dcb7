"""Does the order of a round move the Go/Rust ratios? (`make bench-harness`)

`harness run` with its default balanced Latin-square order, and the same run with every round
reversed (`--reverse`, same seed): a position or carry-over effect would move the ratios between
the two if the square did not balance it. Both runs go through the real CLI at full size with the
default adaptive rounds, on a copy of the workloads with their default implementations only
(variants would only add time). Target (issue 9): for every default batch pair, the 95 % CIs of
the Go/Rust ratio of wall and CPU time from the two runs overlap. ORDER_BENCH=given compares the
fixed manifest order with its reverse instead, to see what a fixed order does (it is not a
target). The figures, and each ratio's shift between the runs, go to extra_info and are printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scratch import ROOT, copy_workloads

from harness import config
from harness.analysis.summaries import analyse_run
from harness.build import toolchains
from harness.store.results import load_run

# The copies' Go and Rust trees are the repository's, so the binaries and inputs of `make bench`
# are reused (the build cache is keyed by a hash of those trees).
CACHE = ROOT / ".cache"
BATCH = ("json", "logparse", "gzip", "sha256", "binarytrees")
ORDER = os.environ.get("ORDER_BENCH", "latin")
SEED = "20261202"
RUNS = ("forward", "reversed")
METRICS = ("wall_seconds", "cpu_seconds")


def run(workloads: Path, results: Path, cache: Path, label: str) -> Path:
    argv = [
        sys.executable,
        "-m",
        "harness",
        "--workloads-dir",
        str(workloads),
        "--results-dir",
        str(results / label),
        "--cache-dir",
        str(cache),
        "run",
        "--size",
        "full",
        "--no-build-profile",
        "--order",
        ORDER,
        "--seed",
        SEED,
        *(["--reverse"] if label == "reversed" else []),
        "--workloads",
        ",".join(BATCH),
    ]
    done = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    assert done.returncode == 0, f"harness run ({label}): {done.stderr[-2000:]}"
    return results / label / "latest.json"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs (harness and programs)")
def test_go_rust_ratios_do_not_depend_on_the_order(benchmark, tmp_path):
    for tool in ("go", "cargo"):
        if toolchains.tool_version(tool) is None:
            pytest.skip(f"{tool} not installed")
    workloads = copy_workloads(tmp_path, dict.fromkeys(BATCH))
    assert set(config.load_workloads(workloads)) == set(BATCH)
    paths: dict[str, Path] = {}

    def both_orders() -> None:
        for label in RUNS:
            paths[label] = run(workloads, tmp_path / "results", CACHE, label)

    started = time.perf_counter()
    benchmark.pedantic(both_orders, rounds=1, iterations=1)
    ratios = {
        label: {
            (a.result.name, c.metric): c
            for a in analyse_run(load_run(path))
            for c in a.comparisons
            if c.metric in METRICS
        }
        for label, path in paths.items()
    }
    lines, apart, figures = [], [], {"elapsed_seconds": time.perf_counter() - started}
    for key in sorted(ratios["forward"]):
        forward, reversed_ = ratios["forward"][key], ratios["reversed"].get(key)
        assert reversed_ is not None, f"{key}: no ratio in the reversed run"
        overlap = forward.ci_low <= reversed_.ci_high and reversed_.ci_low <= forward.ci_high
        shift = reversed_.ratio / forward.ratio - 1
        name = f"{key[0]} {key[1]}"
        figures[name] = {
            order: [c.ratio, c.ci_low, c.ci_high, c.rounds]
            for order, c in (("forward", forward), ("reversed", reversed_))
        } | {"shift": shift, "overlap": overlap}
        lines.append(
            f"{name:28} forward {forward.ratio:.3f} [{forward.ci_low:.3f}, {forward.ci_high:.3f}] "
            f"({forward.rounds} rounds)  reversed {reversed_.ratio:.3f} [{reversed_.ci_low:.3f}, "
            f"{reversed_.ci_high:.3f}] ({reversed_.rounds} rounds)  shift {shift:+.1%}"
            + ("" if overlap else "  CIs APART")
        )
        if not overlap:
            apart.append(name)
    benchmark.extra_info.update(figures)
    print(
        f"\nGo/Rust ratios, {ORDER} order forward vs reversed ({figures['elapsed_seconds']:.0f} s):"
    )
    print("\n".join(lines))
    if ORDER == "latin":
        assert not apart, f"Go/Rust ratio CIs do not overlap between the orders: {', '.join(apart)}"
