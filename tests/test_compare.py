"""compare: verdicts on hand-built runs, and `harness compare`'s outputs and exit codes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from builders import cpu_window, impl_result, noise_run, repetition, run, workload_result

from harness import cli, compare
from harness.errors import HarnessError
from harness.model import Run
from harness.store import save_run

BASE_WALLS = [1.0 + 0.01 * i for i in range(10)]  # median 1.045
BASE_WORKS = [0.9 + 0.01 * i for i in range(10)]  # median 0.945
TIGHT_WALLS = [1.0 + 0.001 * i for i in range(10)]  # spread 0.9 %: a 2 % shift separates them
# Mann-Whitney, two-sided, no overlap, n = 10 a side: U = 0, mean 50, sd sqrt(10*10*21/12) = 13.2288,
# z = (50 - 0.5) / 13.2288 = 3.7418 -> p = 2 * (1 - Phi(3.7418)) = 1.827e-4 (normal approximation
# with continuity correction, which scipy uses above 8 values a side).
P_SEPARATED_10 = 1.827e-4


def make_run(
    walls,
    run_id,
    works=BASE_WORKS,
    rss=50 << 20,
    name="demo",
    status="ok",
    throughput="bytes",
    cpu_factor=1.0,
) -> Run:
    reps = [
        repetition(
            rep=i, wall=wall, work=work, rss=rss, user=0.8 * cpu_factor, sys=0.2 * cpu_factor
        )
        for i, (wall, work) in enumerate(zip(walls, works, strict=True))
    ]
    return run(
        [
            workload_result(
                name=name,
                impls=[impl_result("go", reps=reps)],
                status=status,
                throughput=throughput,
            )
        ],
        run_id=run_id,
    )


def scaled(values, factor):
    return [v * factor for v in values]


BASE_ID, HEAD_ID = "20260101T000000Z-0001", "20260102T000000Z-0002"


def change_of(result: compare.RunComparison, metric: str) -> compare.MetricChange:
    (change,) = [c for c in result.changes if c.metric == metric]
    return change


def saved(tmp_path: Path, *runs: Run) -> list[str]:
    return [save_run(r, tmp_path).stem for r in runs]


def cli_compare(tmp_path: Path, *args: str) -> int:
    return cli.main(["--results-dir", str(tmp_path), "compare", *args])


# --- verdicts --------------------------------------------------------------------------------


def test_clear_wall_regression_is_regressed():
    base = make_run(BASE_WALLS, BASE_ID)
    head = make_run(scaled(BASE_WALLS, 1.2), HEAD_ID)
    wall = change_of(compare.compare_runs(base, head), "wall_seconds")
    assert wall.base_median == pytest.approx(1.045)
    assert wall.head_median == pytest.approx(1.254)
    assert wall.change == pytest.approx(0.2)
    assert wall.p_value == pytest.approx(P_SEPARATED_10, rel=1e-3)
    # every resampled ratio lies in [1.2 * 1.00 / 1.09, 1.2 * 1.09 / 1.00] = [1.101, 1.308]
    assert 0.10 <= wall.ci_low <= 0.2 <= wall.ci_high <= 0.31
    assert wall.verdict == "regressed"
    # CPU (0.8 + 0.2 s every time) and peak RSS did not move
    assert change_of(compare.compare_runs(base, head), "cpu_seconds").verdict == (
        "no significant change"
    )
    assert [c.metric for c in compare.compare_runs(base, head).regressions] == ["wall_seconds"]


def test_regression_exits_1_and_names_it(tmp_path, capsys):
    base, head = saved(
        tmp_path, make_run(BASE_WALLS, BASE_ID), make_run(scaled(BASE_WALLS, 1.2), HEAD_ID)
    )
    assert cli_compare(tmp_path, base, head) == 1
    out = capsys.readouterr().out
    assert "regressed" in out
    assert "+20.0 %" in out
    assert "1 regression(s) beyond threshold" in out


def test_identical_samples_no_change_exit_0(tmp_path, capsys):
    base, head = saved(tmp_path, make_run(BASE_WALLS, BASE_ID), make_run(BASE_WALLS, HEAD_ID))
    assert cli_compare(tmp_path, base, head, "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["regression_count"] == 0
    wall = next(c for c in data["changes"] if c["metric"] == "wall_seconds")
    assert wall["change"] == 0.0
    assert wall["p_value"] == 1.0
    assert wall["verdict"] == "no significant change"
    assert {c["verdict"] for c in data["changes"]} == {"no significant change"}


def test_small_significant_shift_below_threshold_passes(tmp_path):
    base = make_run(TIGHT_WALLS, BASE_ID)
    head = make_run(scaled(TIGHT_WALLS, 1.02), HEAD_ID)
    wall = change_of(compare.compare_runs(base, head), "wall_seconds")
    assert wall.change == pytest.approx(0.02)
    # every head value (>= 1.02) exceeds every base value (<= 1.009): p and CI both say "real";
    # only the 5 % threshold keeps it from failing the build
    assert wall.p_value == pytest.approx(P_SEPARATED_10, rel=1e-3)
    # resampled ratios lie in [1.02 / 1.009, 1.02 * 1.009] = [1.0109, 1.0292]
    assert 0.0109 <= wall.ci_low < wall.ci_high <= 0.0292
    assert wall.verdict == "no significant change"
    ids = saved(tmp_path, base, head)
    assert cli_compare(tmp_path, *ids) == 0
    # a per-metric threshold of 1 % makes the same shift a regression ...
    assert cli_compare(tmp_path, *ids, "--threshold", "wall_seconds=1") == 1
    # ... while a threshold for another metric leaves wall at the default 5 %
    assert cli_compare(tmp_path, *ids, "--threshold", "cpu_seconds=1") == 0
    assert cli_compare(tmp_path, *ids, "--default-threshold", "1.5") == 1


def test_per_metric_threshold_raises_the_bar():
    base = make_run(BASE_WALLS, BASE_ID)
    head = make_run(scaled(BASE_WALLS, 1.2), HEAD_ID)
    result = compare.compare_runs(base, head, thresholds={"wall_seconds": 0.25})
    wall = change_of(result, "wall_seconds")
    assert (wall.threshold, wall.verdict) == (0.25, "no significant change")
    assert change_of(result, "cpu_seconds").threshold == compare.DEFAULT_THRESHOLD


def test_bad_threshold_is_a_one_line_error(tmp_path, capsys):
    ids = saved(tmp_path, make_run(BASE_WALLS, BASE_ID), make_run(BASE_WALLS, HEAD_ID))
    assert cli_compare(tmp_path, *ids, "--threshold", "wall_seconds=five") == 2
    assert capsys.readouterr().err.startswith("harness: error: --threshold: expected METRIC=")


def test_faster_is_improved_and_exits_0(tmp_path):
    base = make_run(BASE_WALLS, BASE_ID)
    head = make_run(scaled(BASE_WALLS, 0.8), HEAD_ID)
    wall = change_of(compare.compare_runs(base, head), "wall_seconds")
    assert wall.change == pytest.approx(-0.2)
    assert wall.verdict == "improved"
    assert cli_compare(tmp_path, *saved(tmp_path, base, head)) == 0


def test_peak_rss_growth_is_regressed():
    base = make_run(BASE_WALLS, BASE_ID, rss=50 << 20)
    head = make_run(BASE_WALLS, HEAD_ID, rss=60 << 20)
    rss = change_of(compare.compare_runs(base, head), "peak_rss_bytes")
    assert rss.change == pytest.approx(0.2)
    assert (rss.ci_low, rss.ci_high) == (pytest.approx(0.2), pytest.approx(0.2))  # no spread
    assert rss.verdict == "regressed"


def test_throughput_lower_is_regressed_higher_is_improved():
    """Throughput = bytes / work seconds: slower work lowers it, which is the bad direction."""
    base = make_run(BASE_WALLS, BASE_ID)
    slower = make_run(BASE_WALLS, HEAD_ID, works=scaled(BASE_WORKS, 1.25))
    faster = make_run(BASE_WALLS, HEAD_ID, works=scaled(BASE_WORKS, 0.8))
    down = change_of(compare.compare_runs(base, slower, metrics=("throughput",)), "throughput")
    up = change_of(compare.compare_runs(base, faster, metrics=("throughput",)), "throughput")
    assert down.unit == "bytes/s"
    assert down.base_median == pytest.approx((1e6 / 0.94 + 1e6 / 0.95) / 2)  # median of 10
    assert down.change == pytest.approx(1 / 1.25 - 1)  # -20 %
    assert down.verdict == "regressed"
    assert up.change == pytest.approx(1 / 0.8 - 1)  # +25 %
    assert up.verdict == "improved"


def test_verdict_for_directions():
    sig = {"ci_low": 0.1, "ci_high": 0.3, "p_value": 0.001, "threshold": 0.05}
    assert compare.verdict_for("wall_seconds", 0.2, **sig) == "regressed"
    assert compare.verdict_for("throughput", 0.2, **sig) == "improved"
    down = {**sig, "ci_low": -0.3, "ci_high": -0.1}
    assert compare.verdict_for("throughput", -0.2, **down) == "regressed"
    # each condition alone withholds the verdict
    assert compare.verdict_for("wall_seconds", 0.2, **{**sig, "p_value": 0.06}) == (
        "no significant change"
    )
    assert compare.verdict_for("wall_seconds", 0.2, **{**sig, "ci_low": -0.01}) == (
        "no significant change"
    )
    assert compare.verdict_for("wall_seconds", 0.2, **{**sig, "p_value": None}) == (
        "no significant change"
    )
    assert compare.verdict_for("wall_seconds", 0.2, **{**sig, "threshold": 0.2}) == (
        "no significant change"
    )


def test_three_repetitions_can_never_fail_and_say_so():
    base = make_run(BASE_WALLS[:3], BASE_ID, works=BASE_WORKS[:3])
    head = make_run(scaled(BASE_WALLS[:3], 2.0), HEAD_ID, works=BASE_WORKS[:3])
    result = compare.compare_runs(base, head)
    wall = change_of(result, "wall_seconds")
    assert wall.change == pytest.approx(1.0)
    assert wall.p_value == pytest.approx(0.1)  # exact: 2 / C(6, 3) = 2 / 20
    assert wall.verdict == "no significant change"
    assert compare.smallest_p(3, 3) == pytest.approx(0.1)
    assert compare.smallest_p(4, 4) == pytest.approx(2 / 70)
    assert any(n.startswith("only 3 vs 3 repetitions") for n in result.notes)
    ten = compare.compare_runs(make_run(BASE_WALLS, BASE_ID), make_run(BASE_WALLS, HEAD_ID))
    assert not any("repetitions" in n for n in ten.notes)


# --- comparability ---------------------------------------------------------------------------


def other_go(r: Run) -> Run:
    return replace(r, machine=replace(r.machine, go_version="go version go1.27.0 linux/amd64"))


def test_different_go_version_exits_2_naming_it(tmp_path, capsys):
    base = make_run(BASE_WALLS, BASE_ID)
    head = other_go(make_run(scaled(BASE_WALLS, 1.2), HEAD_ID))
    ids = saved(tmp_path, base, head)
    assert cli_compare(tmp_path, *ids) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"harness: error: runs {BASE_ID} and {HEAD_ID} are not comparable")
    assert (
        "Go toolchain differs: 'go version go1.26.0 linux/amd64' vs "
        "'go version go1.27.0 linux/amd64'" in err
    )
    assert "--allow-mixed" in err
    assert "machine" not in err.split("(", 1)[1]  # only what differs is named


def test_allow_mixed_compares_with_a_mixed_note(tmp_path, capsys):
    base = make_run(BASE_WALLS, BASE_ID)
    head = other_go(make_run(scaled(BASE_WALLS, 1.2), HEAD_ID))
    assert cli_compare(tmp_path, *saved(tmp_path, base, head), "--allow-mixed") == 1
    out = capsys.readouterr().out
    assert "note: MIXED: Go toolchain differs" in out
    result = compare.compare_runs(base, head, allow_mixed=True)
    assert result.notes[0].startswith("MIXED: Go toolchain differs")


def test_hostname_alone_does_not_make_runs_incomparable():
    base = make_run(BASE_WALLS, BASE_ID)
    head = replace(base, machine=replace(base.machine, hostname="ci-runner-42"))
    assert compare.incomparabilities(base, head) == []


def test_each_condition_is_named():
    base = make_run(BASE_WALLS, BASE_ID)
    cases = {
        "machine": replace(base, machine=replace(base.machine, cpu_count=4)),
        "Rust toolchain": replace(base, machine=replace(base.machine, rustc_version="rustc 1.91")),
        "input size": replace(base, config=replace(base.config, size="full")),
        "CPU pinning": replace(base, config=replace(base.config, cpu_affinity=None)),
    }
    for name, head in cases.items():
        assert [d.split(" differs")[0] for d in compare.incomparabilities(base, head)] == [name]
        with pytest.raises(HarnessError, match=f"{name} differs"):
            compare.compare_runs(base, head)


def test_missing_file_exits_2(tmp_path, capsys):
    (base,) = saved(tmp_path, make_run(BASE_WALLS, BASE_ID))
    assert cli_compare(tmp_path, base, "no-such-run") == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"harness: error: no-such-run: not a results file, run id or commit found in {tmp_path}\n"
    )


# --- outputs ---------------------------------------------------------------------------------


def test_markdown_has_the_verdicts(tmp_path, capsys):
    base = make_run(BASE_WALLS, BASE_ID)
    head = make_run(scaled(BASE_WALLS, 1.2), HEAD_ID, rss=40 << 20)
    assert cli_compare(tmp_path, *saved(tmp_path, base, head), "--format", "markdown") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"### Benchmark comparison: {BASE_ID} → {HEAD_ID}"
    assert "**1 regression(s)** beyond the noise threshold." in lines
    rows = {line.split(" | ")[2]: line for line in lines if line.startswith("| demo |")}
    assert set(rows) == {"wall_seconds", "cpu_seconds", "peak_rss_bytes"}
    wall = rows["wall_seconds"].split(" | ")
    assert wall[:4] == ["| demo", "go/default", "wall_seconds", "+20.0 %"]
    # Mann-Whitney p 0.000183 for wall and CPU time alike; Benjamini-Hochberg over the 3 verdicts
    # gives both 0.000183 * 3 / 2
    assert wall[5:] == ["0.000274", "5 %", "🔴 regressed |"]
    assert rows["peak_rss_bytes"].endswith("| 🟢 improved |")
    assert rows["cpu_seconds"].endswith("| no significant change |")


def test_json_has_the_verdicts(tmp_path, capsys):
    base = make_run(BASE_WALLS, BASE_ID)
    head = make_run(scaled(BASE_WALLS, 1.2), HEAD_ID)
    assert cli_compare(tmp_path, *saved(tmp_path, base, head), "--format", "json") == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["base_run_id"], data["head_run_id"]) == (BASE_ID, HEAD_ID)
    assert data["regression_count"] == 1
    verdicts = {(c["workload"], c["lang"], c["metric"]): c["verdict"] for c in data["changes"]}
    assert verdicts == {
        ("demo", "go", "wall_seconds"): "regressed",
        ("demo", "go", "cpu_seconds"): "no significant change",
        ("demo", "go", "peak_rss_bytes"): "no significant change",
    }


def test_checksum_mismatch_workload_is_not_compared(tmp_path, capsys):
    good = make_run(BASE_WALLS, BASE_ID)
    bad = make_run(scaled(BASE_WALLS, 10), HEAD_ID, status="checksum_mismatch")
    result = compare.compare_runs(good, bad)
    assert result.changes == ()
    assert result.notes == ("demo: not compared (base ok, head checksum_mismatch)",)
    assert cli_compare(tmp_path, *saved(tmp_path, good, bad)) == 0
    assert "note: demo: not compared (base ok, head checksum_mismatch)" in capsys.readouterr().out


def test_workloads_on_one_side_are_refused_or_labelled_and_failed_ones_are_notes():
    base = make_run(BASE_WALLS, BASE_ID, name="only-base")
    head = make_run(BASE_WALLS, HEAD_ID, name="only-head")
    with pytest.raises(HarnessError, match=r"only-base: not in the head run; only-head: not in"):
        compare.compare_runs(base, head)
    assert compare.compare_runs(base, head, allow_incomplete=True).notes == (
        "INCOMPLETE: only-base: not in the head run",
        "INCOMPLETE: only-head: not in the base run",
    )
    failed = replace(
        head,
        workloads=(workload_result(name="only-base", impls=[impl_result("go", status="failed")]),),
    )
    assert compare.compare_runs(base, failed).notes == (
        "only-base go/default: not compared (base ok, head failed)",
    )


def test_more_time_off_cpu_is_noted():
    """Base: CPU 1.0 s, walls 1.00..1.09 s, median off-CPU share of (w - 1) / w at w = 1.04 and
    1.05 = 4.3 %. Head: walls x 1.2 with the same CPU: median of 0.1987 and 0.2063 = 20.3 %."""
    base = make_run(BASE_WALLS, BASE_ID)
    waited = make_run(scaled(BASE_WALLS, 1.2), HEAD_ID)
    assert (
        "demo go/default: wall time spent off the CPU went from 4% to 20% (a busier machine or "
        "more I/O in one run): read its wall_seconds change with care"
    ) in compare.compare_runs(base, waited).notes
    # slower code, CPU and wall alike (same off-CPU share per repetition): no such note
    slower = make_run(scaled(BASE_WALLS, 1.2), HEAD_ID, cpu_factor=1.2)
    result = compare.compare_runs(base, slower)
    assert not any("off the CPU" in n for n in result.notes)
    assert [c.metric for c in result.regressions] == ["wall_seconds", "cpu_seconds"]


def test_different_input_is_noted():
    base = make_run(BASE_WALLS, BASE_ID)
    (w,) = base.workloads
    head = replace(base, workloads=(replace(w, input=replace(w.input, sha256="ef" * 32)),))
    assert "demo: input differs (base 1000000 bytes, head 1000000 bytes, different SHA-256)" in (
        compare.compare_runs(base, head).notes
    )


def test_runs_of_one_session_are_paired_by_round():
    # The machine slowed down over the session (1.0 s -> 1.9 s); head is 6 % slower in every
    # round. Unpaired, the drift swamps it; paired by round, it is a clear regression.
    base_walls = [1.0 + 0.1 * i for i in range(10)]
    head_walls = [w * 1.06 for w in base_walls]
    works = [0.5] * 10
    base = make_run(base_walls, BASE_ID, works=works)
    head = make_run(head_walls, HEAD_ID, works=works)
    unpaired = compare.compare_runs(base, head)
    wall = next(c for c in unpaired.changes if c.metric == "wall_seconds")
    assert wall.verdict == "no significant change" and "Mann-Whitney" in wall.method
    session = replace(base, session_id="s1"), replace(head, session_id="s1")
    paired = compare.compare_runs(*session)
    wall = next(c for c in paired.changes if c.metric == "wall_seconds")
    assert wall.change == pytest.approx(0.06)
    assert wall.p_value == pytest.approx(2 / 2**10)
    assert wall.verdict == "regressed" and "signed-rank" in wall.method
    assert any("Benjamini-Hochberg" in note for note in paired.notes)


# --- noise ------------------------------------------------------------------------------------


def test_a_drifting_run_gets_a_noise_warning_and_each_run_a_summary(tmp_path, capsys):
    base = noise_run(go_growth=0.0, run_id=BASE_ID, window=cpu_window())
    head = noise_run(go_growth=0.2, run_id=HEAD_ID, window=cpu_window(children=6.0))
    notes = compare.compare_runs(base, head).notes
    assert [n for n in notes if n.lower().startswith("noise:")] == [
        "NOISE: head: demo: go/default wall time drifted +18.9 % across the run"
        " (Kendall tau 0.88, p=5.3e-06)",
        "NOISE: head: demo: other load used 30.0 % of the measured cpu 0 beyond the"
        " benchmark's own CPU time",
        "noise: base: steal 0.0 %, other load 0.0 % on measured cpu 0, largest drift +0.0 %"
        " (go/default, p=0.94), position spread 0.0 % (p=1)",
        "noise: head: steal 0.0 %, other load 30.0 % on measured cpu 0, largest drift +18.9 %"
        " (go/default, p=5.3e-06), position spread 0.5 % (p=0.98)",
    ]
    raised = compare.compare_runs(base, head, default_threshold=0.25).notes
    assert not any("drifted" in n for n in raised)  # 18.9 % is within a 25 % threshold
    ids = saved(tmp_path, base, head)
    for fmt, prefix in (("table", "note: "), ("markdown", "- "), ("json", '  "')):
        cli_compare(tmp_path, *ids, "--format", fmt)
        out = capsys.readouterr().out
        assert f"{prefix}NOISE: head: demo: go/default wall time drifted +18.9 %" in out
        assert f"{prefix}noise: base: steal 0.0 %" in out


def test_an_ab_session_is_one_noise_summary_over_both_sides():
    base = noise_run(go_growth=0.2, run_id=BASE_ID, window=cpu_window(), session_id="s1")
    head = noise_run(go_growth=0.2, run_id=HEAD_ID, window=cpu_window(), session_id="s1")
    notes = [n for n in compare.compare_runs(base, head).notes if n.lower().startswith("noise")]
    assert [n.split(" wall time")[0] for n in notes[:2]] == [
        "NOISE: session: demo: go/default (base)",
        "NOISE: session: demo: go/default (head)",
    ]
    (summary,) = notes[2:]
    assert summary.startswith("noise: session: steal 0.0 %") and "(base)" in summary
