"""trend: series of medians across runs, the steps where they moved, and picking comparable runs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import impl_result, repetition, run, workload_result

from harness.analysis import compare, trend
from harness.model import Run
from harness.store import history
from harness.store import results as store

MIB = 1 << 20
BASE_WALLS = [1.0 + 0.01 * i for i in range(10)]  # median 1.045
# two-sided Mann-Whitney with no overlap at n = 10 a side (normal approximation, see test_compare)
P_SEPARATED_10 = 1.827e-4


def make_run(
    index: int,
    wall_factor: float = 1.0,
    rss_mib: int = 50,
    commit: str | None = None,
    status: str = "complete",
    workload_status: str = "ok",
    with_rust: bool = True,
    reps: int = 10,
    **machine_changes,
) -> Run:
    go = [
        repetition(rep=i, wall=w * wall_factor, rss=rss_mib * MIB, work=0.5)
        for i, w in enumerate(BASE_WALLS[:reps])
    ]
    rust = [repetition(rep=i, wall=0.5, rss=20 * MIB) for i in range(reps)]
    impls = [impl_result("go", reps=go)] + ([impl_result("rust", reps=rust)] if with_rust else [])
    r = run(
        [workload_result(impls=impls, status=workload_status)],
        status=status,
        run_id=f"2026010{index}T000000Z-000{index}",
    )
    return replace(
        r,
        started_at=f"2026-01-0{index}T00:00:00+00:00",
        machine=replace(r.machine, git_commit=commit, **machine_changes),
    )


def series(trends: tuple[trend.Trend, ...], key: str) -> trend.Trend:
    (found,) = [t for t in trends if t.key == key]
    return found


def test_one_trend_per_workload_implementation_and_headline_metric():
    trends = trend.trends([make_run(1), make_run(2)])
    assert [t.key for t in trends] == [
        "demo go/default wall_seconds",
        "demo go/default peak_rss_bytes",
        "demo go/default throughput",
        "demo rust/default wall_seconds",
        "demo rust/default peak_rss_bytes",
        "demo rust/default throughput",
    ]
    assert series(trends, "demo go/default throughput").unit == "bytes/s"


def test_points_carry_run_commit_median_and_ci():
    commit = "0123456789abcdef0123456789abcdef01234567"
    first = make_run(1, commit=commit, git_dirty=True)
    wall = series(trend.trends([first, make_run(2)]), "demo go/default wall_seconds")
    p = wall.points[0]
    assert (p.run_id, p.commit, p.dirty, p.started_at) == (
        "20260101T000000Z-0001",
        "0123456789",
        True,
        "2026-01-01T00:00:00+00:00",
    )
    assert p.median == pytest.approx(1.045)
    assert p.repetitions == 10
    assert 1.0 <= p.ci_low < p.median < p.ci_high <= 1.09  # resampled medians stay in range
    assert wall.points[1].commit is None
    rss = series(trend.trends([first]), "demo go/default peak_rss_bytes").points[0]
    assert (rss.median, rss.ci_low, rss.ci_high) == (50 * MIB, 50 * MIB, 50 * MIB)
    throughput = series(trend.trends([first]), "demo go/default throughput").points[0]
    assert throughput.median == pytest.approx(1_000_000 / 0.5)


def test_steps_are_the_significant_moves_beyond_threshold():
    runs = [
        make_run(1),
        make_run(2),  # same: no step
        make_run(3, wall_factor=1.2),  # +20 %: regressed
        make_run(4, wall_factor=1.2),  # same as before: no step
        make_run(5, wall_factor=1.02),  # -15 % from run 4: improved
        make_run(6, wall_factor=1.04),  # +2 %: below the threshold (and not significant)
    ]
    wall = series(trend.trends(runs), "demo go/default wall_seconds")
    assert len(wall.points) == 6
    assert [(s.before.run_id[-1], s.after.run_id[-1], s.verdict) for s in wall.steps] == [
        ("2", "3", "regressed"),
        ("4", "5", "improved"),
    ]
    up, down = wall.steps
    assert up.change == pytest.approx(0.2)
    assert up.p_value == pytest.approx(P_SEPARATED_10, rel=1e-3)
    assert up.ci_low > 0 and up.threshold == compare.DEFAULT_THRESHOLD
    assert down.change == pytest.approx(1.02 / 1.2 - 1)
    # the steps use compare's own test: the same pair compared directly gives the same verdict
    direct = compare.compare_runs(runs[1], runs[2])
    (wall_change,) = [c for c in direct.changes if c.metric == "wall_seconds" and c.lang == "go"]
    assert (wall_change.change, wall_change.p_value, wall_change.ci_low) == (
        up.change,
        up.p_value,
        up.ci_low,
    )
    assert series(trend.trends(runs), "demo rust/default wall_seconds").steps == ()


def test_higher_throughput_is_an_improvement_and_rss_growth_a_regression():
    runs = [make_run(1, rss_mib=50), make_run(2, rss_mib=60)]
    rss = series(trend.trends(runs), "demo go/default peak_rss_bytes")
    assert [(s.change, s.verdict) for s in rss.steps] == [(pytest.approx(0.2), "regressed")]
    faster = replace(
        runs[0],
        run_id="x",
        workloads=(
            workload_result(
                impls=[impl_result("go", reps=[repetition(rep=i, work=0.4) for i in range(10)])]
            ),
        ),
    )
    slow = replace(
        runs[0],
        workloads=(
            workload_result(
                impls=[
                    impl_result(
                        "go", reps=[repetition(rep=i, work=0.5 + 0.001 * i) for i in range(10)]
                    )
                ]
            ),
        ),
    )
    throughput = series(trend.trends([slow, faster]), "demo go/default throughput")
    (step,) = throughput.steps
    assert step.verdict == "improved"
    assert step.change > 0.2  # 0.5045 s -> 0.4 s of work: +26 % bytes/s


def test_thresholds_are_per_metric():
    runs = [make_run(1), make_run(2, wall_factor=1.2, rss_mib=60)]
    trends = trend.trends(runs, thresholds={"wall_seconds": 0.25})
    assert series(trends, "demo go/default wall_seconds").steps == ()
    assert len(series(trends, "demo go/default peak_rss_bytes").steps) == 1
    assert series(trends, "demo go/default peak_rss_bytes").steps[0].threshold == 0.05


def test_runs_without_figures_leave_gaps_not_points():
    runs = [
        make_run(1),
        make_run(2, wall_factor=3.0, workload_status="checksum_mismatch"),  # outputs diverged
        make_run(3, with_rust=False),  # Rust absent
        make_run(4, wall_factor=1.2),
    ]
    trends = trend.trends(runs)
    go = series(trends, "demo go/default wall_seconds")
    assert [p.run_id[-1] for p in go.points] == ["1", "3", "4"]
    # the step compares with the previous *point* (run 3), not with run 2's diverging figures
    assert [(s.before.run_id[-1], s.after.run_id[-1]) for s in go.steps] == [("3", "4")]
    rust = series(trends, "demo rust/default wall_seconds")
    assert [p.run_id[-1] for p in rust.points] == ["1", "4"]
    failed = replace(
        runs[0],
        workloads=(workload_result(impls=[impl_result("go", status="failed")]),),
    )
    assert trend.trends([failed]) == ()


def test_metric_selection():
    trends = trend.trends([make_run(1)], metrics=("cpu_seconds",))
    assert [t.key for t in trends] == [
        "demo go/default cpu_seconds",
        "demo rust/default cpu_seconds",
    ]
    assert trends[0].points[0].median == pytest.approx(1.0)  # user 0.8 + sys 0.2


# --- picking comparable runs -----------------------------------------------------------------


def saved_history(tmp_path) -> list[history.RunEntry]:
    runs = [
        make_run(1, go_version="go version go1.25.0 linux/amd64"),  # older toolchain
        make_run(2),
        make_run(3, hostname="other-runner"),  # same hardware, other hostname: comparable
        make_run(4, cpu_count=8),  # another machine
        make_run(5),
        make_run(6, status="interrupted"),
    ]
    for r in runs:
        store.save_run(r, tmp_path)
    return history.refresh(tmp_path)


def test_comparable_entries_follow_the_newest_complete_run(tmp_path):
    entries = saved_history(tmp_path)
    picked = trend.comparable_entries(entries)
    assert [e.run_id[-1] for e in picked] == ["2", "3", "5"]
    assert [e.run_id[-1] for e in trend.comparable_entries(entries, allow_mixed=True)] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    assert [e.run_id[-1] for e in trend.comparable_entries(entries, include_incomplete=True)] == [
        "2",
        "3",
        "5",
        "6",
    ]
    assert trend.comparable_entries([]) == []


def test_comparable_entries_when_the_newest_is_another_machine(tmp_path):
    entries = saved_history(tmp_path)
    newest_other = [e for e in entries if e.run_id[-1] in "1234"]
    assert [e.run_id[-1] for e in trend.comparable_entries(newest_other)] == ["4"]


def test_load_comparable_runs_feeds_trends(tmp_path):
    saved_history(tmp_path)
    runs = trend.load_comparable_runs(tmp_path)
    assert [r.run_id[-1] for r in runs] == ["2", "3", "5"]
    wall = series(trend.trends(runs), "demo go/default wall_seconds")
    assert [p.run_id for p in wall.points] == [r.run_id for r in runs]
    assert wall.steps == ()


def test_steps_and_the_last_step_say_what_they_could_have_seen():
    runs = [make_run(1), make_run(2), make_run(3, wall_factor=1.2)]
    wall = series(trend.trends(runs), "demo go/default wall_seconds")
    (step,) = wall.steps
    # the same number the compare path computes for that pair, at an unadjusted 0.05
    expected = trend.detectable("wall_seconds", wall.samples[1], wall.samples[2])
    assert step.detectable_change == expected and 0 < expected < 0.2
    assert wall.last_step_detectable() == expected
    few = [make_run(1, reps=3), make_run(2, reps=3)]
    # 3 vs 3 repetitions: Mann-Whitney's smallest p is 0.1, so no change could be called
    assert series(trend.trends(few), "demo go/default wall_seconds").last_step_detectable() is None
    assert (
        series(trend.trends(runs[:1]), "demo go/default wall_seconds").last_step_detectable()
        is None
    )
