"""Speedup, efficiency and per-item costs along the cpus axis, on hand-computed data, and the
capacity projection's scaling sentence in both cases (measured efficiency, linear assumption)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import cpu_ticks, impl_result, repetition, run, swept, workload_result

from harness.analysis import capacity, concurrency
from harness.analysis.bundle import analyse
from harness.model import CpuWindow

GO_WORK = {1: [2.0, 2.1, 1.9, 2.0, 2.0], 2: [1.25, 1.2, 1.3, 1.25, 1.25]}
RUST_WORK = {1: [1.0, 1.0, 1.05, 0.95, 1.0], 2: [0.5, 0.52, 0.48, 0.5, 0.5]}


def point(cpus: int, position: int, items: int = 1000, window=None):
    reps = {
        "go": [
            repetition(rep=i, work=w, wall=w + 0.1, items=items)
            for i, w in enumerate(GO_WORK[cpus])
        ],
        "rust": [
            repetition(rep=i, work=w, wall=w + 0.1, items=items, rss=(10 << 20) + 100 * items)
            for i, w in enumerate(RUST_WORK[cpus])
        ],
    }
    result = workload_result(
        name="pipeline",
        category="concurrency",
        throughput="items",
        impls=[impl_result(lang, reps=reps[lang]) for lang in ("go", "rust")],
    )
    result = replace(
        result,
        cpus=tuple(range(2 - cpus, 2)),
        shares_cpus_with_harness=cpus == 2,
        cpu_window=window,
    )
    return swept(result, "cpus", str(cpus), position, position)


def cpus_run(window=None):
    return run([point(1, 0), point(2, 1, window=window)])


def test_speedup_and_efficiency_are_ratios_of_median_work_times():
    # Go: median 2.0 s at 1 CPU, 1.25 s at 2: speedup 1.6, efficiency 0.8. Rust: 1.0 / 0.5 = 2.0.
    found = concurrency.analyse_concurrency(cpus_run())
    go = found.curve("pipeline", "go/default").at(2)
    rust = found.curve("pipeline", "rust/default").at(2)
    assert go.speedup.value == pytest.approx(1.6)
    assert go.efficiency.value == pytest.approx(0.8)
    assert rust.speedup.value == pytest.approx(2.0)
    assert rust.efficiency.value == pytest.approx(1.0)
    assert go.speedup.low <= 1.6 <= go.speedup.high
    assert go.efficiency.low == pytest.approx(go.speedup.low / 2)
    assert found.curve("pipeline", "go/default").at(1).speedup.value == 1.0


def test_no_curve_without_a_one_cpu_point_or_with_diverging_outputs():
    only_two = run([point(2, 0)])
    assert concurrency.analyse_concurrency(only_two).curves == ()
    diverged = run([point(1, 0), replace(point(2, 1), status="checksum_mismatch")])
    assert concurrency.analyse_concurrency(diverged).curves == ()


def test_per_item_time_and_memory_and_the_slope_over_a_task_sweep():
    found = concurrency.analyse_concurrency(cpus_run())
    rust_one = next(c for c in found.unit_costs if c.key == "rust/default" and c.cpus == 1)
    assert rust_one.seconds_per_item.value == pytest.approx(1.0 / 1000)
    assert rust_one.bytes_per_item.value == pytest.approx(((10 << 20) + 100_000) / 1000)
    # a sweep of the task count: rss = 10 MiB + 100 bytes x items, so the slope is 100 bytes
    sweep = [
        swept(
            replace(point(1, 0, items=n), name="many", sweep=None),
            "tasks",
            str(n),
            i,
            i,
        )
        for i, n in enumerate((1000, 10_000, 100_000))
    ]
    slopes = concurrency.analyse_concurrency(run(sweep)).memory_slopes
    rust = next(s for s in slopes if s.key == "rust/default")
    assert rust.bytes_per_item.value == pytest.approx(100.0)
    assert rust.points == 3


def test_cpu_lost_to_the_harness_and_the_machine_at_two_cpus():
    # 10 s window on CPUs 0 and 1 (100 ticks/s): CPU 0 stole 50 ticks; the harness used 1 s.
    before = (cpu_ticks(0), cpu_ticks(1))
    after = (cpu_ticks(0, user=900, idle=50, steal=50), cpu_ticks(1, user=1000))
    window = CpuWindow(before, after, harness_cpu_seconds=1.0, children_cpu_seconds=18.0)
    (loss,) = concurrency.analyse_concurrency(cpus_run(window)).losses
    assert loss.cpus == 2 and loss.shares_cpus_with_harness
    assert loss.harness_cpus == pytest.approx(0.1)
    assert loss.machine_cpus == pytest.approx(0.05)  # the steal; the rest is accounted for


def test_capacity_uses_the_measured_point_or_says_it_assumes_linear_scaling():
    projection = capacity.project_capacity(cpus_run(), capacity.DEFAULT_CONFIG)
    (row,) = projection.workloads  # one row for the workload: the point nearest 4 cores, 2 CPUs
    assert row.workload == "pipeline@cpus=2"
    assert "efficiency measured at 2 CPUs" in row.scaling
    assert "parallel efficiency 0.80" in row.go.basis
    # per provisioned core: 1000 items / (2 x 1.35 s wall)
    assert row.go.work_per_core_second == pytest.approx(1000 / (2 * 1.35))
    plain = capacity.project_capacity(
        run(
            [
                workload_result(
                    impls=[
                        impl_result("go", reps=[repetition()]),
                        impl_result("rust", reps=[repetition()]),
                    ]
                )
            ]
        ),
        capacity.DEFAULT_CONFIG,
    )
    assert plain.workloads[0].scaling == "assumes linear scaling from one core"


def test_the_decision_evidence_cites_efficiency_and_time_per_item():
    evidence = analyse(cpus_run()).evidence.categories
    assert any("efficiency 0.80" in line for line in evidence["resource_cost"].lines)
    assert any("per item" in line for line in evidence["latency_determinism"].lines)


def test_the_memory_safety_evidence_counts_race_checks_and_unsafe():
    from harness.model import RaceCheck, UnsafeCount

    first, second = cpus_run().workloads
    checked = replace(
        first,
        race_checks=(RaceCheck("go", "default", "clean"), RaceCheck("go", "racy", "race")),
        unsafe_counts=(UnsafeCount("rust", "default", 0), UnsafeCount("rust", "threads", 2)),
    )
    line = concurrency.correctness_lines(run([checked, second]))["memory_safety"]
    assert "1 of 2 concurrent programs clean, 1 with a data race" in line
    assert "2 unsafe in the own source of 2 counted implementation(s)" in line
    assert concurrency.correctness_lines(cpus_run()) == {}
    evidence = analyse(run([checked, second])).evidence.categories["memory_safety"]
    assert any("race detector" in entry for entry in evidence.lines)
