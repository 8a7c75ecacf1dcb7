import pytest
from builders import gc_cycle, impl_result, repetition, workload_result

from harness.analysis.summaries import (
    analyse_workload,
    compare,
    repetition_metrics,
    summarise_implementation,
    summarise_metric,
)

MIB = 1 << 20
GO_WALLS = [2.0, 2.02, 1.98, 2.04, 1.96, 2.01, 1.99, 2.03, 1.97, 2.0]  # median 2.0


def as_dict(metrics):
    return {m.name: (m.unit, m.value) for m in metrics}


def test_repetition_metrics_go_hand_computed():
    rep = repetition(
        wall=2.0,
        user=1.5,
        sys=0.5,
        rss=64 * MIB,
        work=1.6,
        nbytes=8_000_000,
        items=400,
        gc=(gc_cycle(1, pause=0.001, cpu=0.1), gc_cycle(2, pause=0.004, cpu=0.3)),
        extra={"z": 1.0, "a": 2.0, "compress_seconds": 0.5, "compressed_bytes": 300.0},
    )
    got = as_dict(repetition_metrics(rep, "bytes"))
    expected = {
        "wall_seconds": ("s", 2.0),
        "user_seconds": ("s", 1.5),
        "sys_seconds": ("s", 0.5),
        "cpu_seconds": ("s", 2.0),
        "peak_rss_bytes": ("bytes", 67108864.0),
        "work_seconds": ("s", 1.6),
        "startup_seconds": ("s", 0.4),
        "throughput": ("bytes/s", 5_000_000.0),  # 8e6 bytes / 1.6 s
        "gc_count": ("count", 2.0),
        "gc_pause_total_seconds": ("s", 0.005),
        "gc_pause_max_seconds": ("s", 0.004),
        "gc_cpu_seconds": ("s", 0.4),
        "gc_cpu_share": ("ratio", 0.2),  # 0.4 s of 2.0 s CPU
        "extra_a": ("", 2.0),
        # units from the name, so the report prints times and sizes as such
        "extra_compress_seconds": ("s", 0.5),
        "extra_compressed_bytes": ("bytes", 300.0),
        "extra_z": ("", 1.0),
    }
    assert list(got) == list(expected)  # order is part of the contract (CSV rows)
    for name, (unit, value) in expected.items():
        assert got[name][0] == unit, name
        assert got[name][1] == pytest.approx(value, rel=1e-12), name


def test_repetition_metrics_items_throughput():
    got = as_dict(repetition_metrics(repetition(work=1.6, items=400), "items"))
    assert got["throughput"] == ("items/s", pytest.approx(250.0))


def test_repetition_metrics_rust_has_no_gc():
    got = as_dict(repetition_metrics(repetition(gc=None), "bytes"))
    assert not [name for name in got if name.startswith("gc_")]


def test_repetition_metrics_go_without_cycles():
    got = as_dict(repetition_metrics(repetition(gc=()), "bytes"))
    assert got["gc_count"] == ("count", 0.0)
    assert got["gc_pause_max_seconds"] == ("s", 0.0)


def test_repetition_metrics_no_throughput_without_counter():
    got = as_dict(repetition_metrics(repetition(nbytes=0), "bytes"))
    assert "throughput" not in got
    assert "work_seconds" in got


def test_summarise_metric():
    summary = summarise_metric("wall_seconds", "s", [1.0, 2.0, 3.0, 4.0, 100.0])
    assert summary.median == 3.0
    assert (summary.minimum, summary.maximum) == (1.0, 100.0)
    assert summary.outliers == 1
    assert summary.ci_low <= 3.0 <= summary.ci_high
    assert summary.noisy  # CV far above 5 %
    assert not summarise_metric("x", "s", [1.0, 1.0, 1.0]).noisy


def test_failed_implementation_gets_no_figures():
    failed = impl_result(
        "go", reps=[repetition(), repetition(ok=False, error="boom")], status="failed"
    )
    summary = summarise_implementation(failed, "bytes")
    assert summary.metrics == {}
    ok = summarise_implementation(
        impl_result("go", reps=[repetition(), repetition(ok=False)]), "bytes"
    )
    assert ok.metrics["wall_seconds"].values == (1.0,)  # the failed repetition is left out


def walls(values):
    return summarise_metric("wall_seconds", "s", values)


def by_round(lang, values, metric_field="wall"):
    return impl_result(
        lang, reps=[repetition(rep=i, **{metric_field: v}) for i, v in enumerate(values)]
    )


def test_compare_go_clearly_slower():
    go, rust = by_round("go", GO_WALLS), by_round("rust", [w / 2 for w in GO_WALLS])
    comparison = compare("wall_seconds", "s", go, rust, "bytes")
    assert comparison.ratio == 2.0
    assert comparison.ci_low == comparison.ci_high == 2.0  # every round's ratio is exactly 2
    assert comparison.p_value == pytest.approx(2 / 2**10)  # exact signed-rank: all 10 one way
    assert comparison.significant
    assert comparison.better == "rust"
    assert comparison.unit == "s"
    assert comparison.rounds == 10


def test_compare_pairs_by_round_hand_computed():
    # Rounds 0..4; the machine slows down over the run, which pairing cancels: ratios per round
    # 1.1/1.0, 2.2/2.0, 3.3/3.1, 4.4/4.0, 5.5/5.2 -> median 1.1 (a ratio of medians gives 3.3/3.1)
    go = by_round("go", [1.1, 2.2, 3.3, 4.4, 5.5])
    rust = by_round("rust", [1.0, 2.0, 3.1, 4.0, 5.2])
    comparison = compare("wall_seconds", "s", go, rust, "bytes")
    assert comparison.ratio == pytest.approx(1.1)
    assert comparison.p_value == pytest.approx(0.0625)  # 2 / 2**5: all five rounds Go slower
    assert not comparison.significant  # five rounds cannot reach p < 0.05


def test_compare_uses_only_rounds_both_ran():
    go = by_round("go", [2.0, 2.0, 2.0, 9.0])
    rust = impl_result("rust", reps=[repetition(rep=i, wall=1.0) for i in (0, 1, 2)])
    assert compare("wall_seconds", "s", go, rust, "bytes").rounds == 3


def test_compare_higher_is_better_for_throughput():
    faster = by_round("go", [w / 2 for w in GO_WALLS], "work")
    slower = by_round("rust", GO_WALLS, "work")
    comparison = compare("throughput", "bytes/s", faster, slower, "bytes")
    assert comparison.ratio == 2.0
    assert comparison.better == "go"
    reverse = compare("throughput", "bytes/s", slower, faster, "bytes")
    assert reverse.ratio == 0.5
    assert reverse.better == "rust"


def test_compare_overlapping_not_significant():
    go = [float(x) for x in range(1, 20, 2)]
    rust = [float(x) for x in range(2, 21, 2)][::-1]
    comparison = compare("wall_seconds", "s", by_round("go", go), by_round("rust", rust), "bytes")
    assert comparison.ci_low < 1.0 < comparison.ci_high
    assert comparison.p_value > 0.05
    assert not comparison.significant
    assert comparison.better is None


def test_compare_zero_denominator_has_no_ratio():
    go = by_round("go", [1.0, 2.0], "rss")
    rust = by_round("rust", [0, 0], "rss")
    assert compare("peak_rss_bytes", "bytes", go, rust, "bytes") is None


def _pair(go_walls, rust_walls, status="ok"):
    go = impl_result("go", reps=[repetition(rep=i, wall=w) for i, w in enumerate(go_walls)])
    rust = impl_result("rust", reps=[repetition(rep=i, wall=w) for i, w in enumerate(rust_walls)])
    if status == "checksum_mismatch":
        rust = impl_result(
            "rust", reps=rust.repetitions, status="checksum_mismatch", error="differs"
        )
    return workload_result(impls=[go, rust], status=status)


def test_analyse_workload_compares_defaults():
    analysis = analyse_workload(_pair(GO_WALLS, [w / 2 for w in GO_WALLS]))
    by_metric = {c.metric: c for c in analysis.comparisons}
    assert list(by_metric) == [
        "wall_seconds",
        "work_seconds",
        "cpu_seconds",
        "peak_rss_bytes",
        "throughput",
    ]
    assert by_metric["wall_seconds"].better == "rust"
    assert by_metric["work_seconds"].better is None  # both sides 0.9 s: identical
    assert analysis.summary_for("go/default").has_gc
    assert not analysis.summary_for("rust/default").has_gc


def test_checksum_mismatch_workload_reports_no_figures():
    analysis = analyse_workload(_pair(GO_WALLS, GO_WALLS, status="checksum_mismatch"))
    assert analysis.comparisons == ()
    assert all(s.metrics == {} for s in analysis.implementations)
