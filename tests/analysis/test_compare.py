"""compare: verdicts on hand-built runs, and `harness compare`'s outputs and exit codes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from builders import (
    cpu_window,
    impl_result,
    load_host,
    noise_run,
    repetition,
    run,
    server_phase,
    server_run,
    server_workload,
    topology,
    workload_result,
)

from harness.analysis import compare, stats
from harness.cli import main as cli
from harness.cli.gate import EXIT_INCONCLUSIVE, gate_status
from harness.errors import HarnessError
from harness.model import Run
from harness.store.results import save_run

BASE_WALLS = [1.0 + 0.01 * i for i in range(10)]  # median 1.045
BASE_WORKS = [
    0.9 + 0.001 * i for i in range(10)
]  # median 0.9045: spread 1 %, so the gate has power
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
    assert cli_compare(tmp_path, *ids, "--threshold", "wal_seconds=3") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'wal_seconds' is not a gated metric" in err


def test_a_threshold_for_a_metric_the_binaries_do_not_report_is_an_error(tmp_path, capsys):
    def without_work(r: Run) -> Run:
        (w,) = r.workloads
        impls = tuple(
            replace(i, repetitions=tuple(replace(x, work_seconds=None) for x in i.repetitions))
            for i in w.implementations
        )
        return replace(r, workloads=(replace(w, implementations=impls),))

    ids = saved(
        tmp_path,
        without_work(make_run(BASE_WALLS, BASE_ID)),
        without_work(make_run(BASE_WALLS, HEAD_ID)),
    )
    assert cli_compare(tmp_path, *ids, "--threshold", "work_seconds=2") == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: --threshold work_seconds: no verdict of these runs")
    assert err.count("\n") == 1


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
    assert down.base_median == pytest.approx((1e6 / 0.904 + 1e6 / 0.905) / 2)  # median of 10
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
    # Mann-Whitney cannot reach 0.05 with 3 a side: not "no significant change", which it could
    # not have seen
    assert wall.verdict == "too few repetitions to test (n = 3 vs 3)"
    assert wall.untested == wall.verdict
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


def test_a_multi_host_run_and_a_one_machine_run_are_refused_naming_the_load_hosts(tmp_path, capsys):
    """Through `harness compare A B` on two saved results files: load from other hosts changes
    what a latency includes (a real network), so a multi-host run is not compared with a
    one-machine run unless asked; then the difference is a MIXED note."""
    base = make_run(BASE_WALLS, BASE_ID)
    head = replace(make_run(scaled(BASE_WALLS, 1.2), HEAD_ID), topology=topology())
    files = [str(save_run(r, tmp_path / "results")) for r in (base, head)]
    assert cli_compare(tmp_path, *files) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"harness: error: runs {BASE_ID} and {HEAD_ID} are not comparable (")
    assert (
        "load hosts differs: 'none (one machine)' vs 'server on 10.201.1.1, load from 2 host(s): "
        "load-1 (10.201.1.2), load-2 (10.201.1.3)'" in err
    )
    assert "--allow-mixed" in err
    assert "Go toolchain" not in err and "machine differs" not in err  # only what differs
    assert cli_compare(tmp_path, *files, "--allow-mixed") == 1  # and the 20 % regression
    out = capsys.readouterr().out
    assert "note: MIXED: load hosts differs: 'none (one machine)' vs 'server on 10.201.1.1" in out


def test_two_runs_with_the_same_load_hosts_compare_without_a_note():
    base = replace(make_run(BASE_WALLS, BASE_ID), topology=topology())
    head = replace(make_run(BASE_WALLS, HEAD_ID), topology=replace(topology(), setup_seconds=9.0))
    assert compare.incomparabilities(base, head) == []
    other = replace(head, topology=topology(load_host()))  # one load host instead of two
    assert [d.split(" differs")[0] for d in compare.incomparabilities(base, other)] == [
        "load hosts"
    ]


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
    assert set(rows) == {"wall_seconds", "work_seconds", "cpu_seconds", "peak_rss_bytes"}
    wall = rows["wall_seconds"].split(" | ")
    assert wall[:4] == ["| demo", "go/default", "wall_seconds", "+20.0 %"]
    # Mann-Whitney p 0.000183 for wall and CPU time alike; Benjamini-Hochberg over the 4 verdicts
    # gives both 0.000183 * 4 / 2
    assert wall[5:7] == ["0.000365", "5 %"] and wall[8] == "🔴 regressed |"
    assert wall[7].endswith(" %") and not wall[7].endswith("*")  # wall: an MDC, not targeted
    assert rows["work_seconds"].split(" | ")[7].endswith(" % *")  # work time is the target
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
        ("demo", "go", "work_seconds"): "no significant change",
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


# --- power: the minimum detectable change and "inconclusive" ---------------------------------


def session_runs(base_works, head_works, walls=BASE_WALLS):
    base = make_run(walls[: len(base_works)], BASE_ID, works=base_works)
    head = make_run(walls[: len(head_works)], HEAD_ID, works=head_works)
    return replace(base, session_id="s1"), replace(head, session_id="s1")


def test_six_paired_rounds_are_inconclusive_and_exit_3(tmp_path, capsys):
    """The issue's false green: every round 7 % slower, 6 rounds, several verdicts. The signed-rank
    test's smallest p (2 / 2**6 = 0.031) cannot pass the adjustment, so the gate says it could not
    have seen the change instead of passing."""
    works = [0.5 + 0.001 * i for i in range(6)]
    base, head = session_runs(works, [w * 1.07 for w in works])
    result = compare.compare_runs(base, head, default_threshold=0.03)
    work = change_of(result, "work_seconds")
    assert work.targeted and work.change == pytest.approx(0.07)
    assert (work.verdict, work.detectable_change) == ("inconclusive", None)
    assert work.detectable_method == stats.SIMULATED_SIGNED_RANK
    wall = change_of(result, "wall_seconds")
    assert not wall.targeted and wall.verdict == "no significant change"  # gated, not targeted
    assert any(n.startswith("MDC: ") and "1 here" in n for n in result.notes)
    ids = saved(tmp_path, base, head)
    assert cli_compare(tmp_path, *ids, "--format", "json") == EXIT_INCONCLUSIVE == 3
    data = json.loads(capsys.readouterr().out)
    assert data["inconclusive_count"] == 1 and data["regression_count"] == 0
    row = next(c for c in data["changes"] if c["metric"] == "work_seconds")
    assert (row["verdict"], row["targeted"], row["detectable_change"]) == (
        "inconclusive",
        True,
        None,
    )
    assert "power" not in row
    assert cli_compare(tmp_path, *ids, "--allow-inconclusive") == 0
    assert cli_compare(tmp_path, *ids, "--format", "markdown") == 3
    out = capsys.readouterr().out
    assert "**1 inconclusive**" in out and "🟡 inconclusive" in out


def test_five_paired_rounds_are_too_few_to_test_and_a_targeted_verdict_stays_inconclusive(
    tmp_path, capsys
):
    """harness ab over 5 rounds: the signed-rank test's smallest p is 2 / 2**5 = 0.0625, so a
    doubling is not called; the rows say so in the table, the Markdown and the JSON, and the
    targeted one keeps the gate's "inconclusive" (exit 3)."""
    works = [0.5 + 0.001 * i for i in range(5)]
    base, head = session_runs(works, [w * 2.0 for w in works])
    result = compare.compare_runs(base, head)
    wall, work = change_of(result, "wall_seconds"), change_of(result, "work_seconds")
    assert wall.verdict == wall.untested == "too few rounds to test (n = 5)"
    assert work.targeted and work.verdict == "inconclusive"
    assert not [c for c in result.changes if c.verdict == "no significant change"]
    ids = saved(tmp_path, base, head)
    assert cli_compare(tmp_path, *ids, "--format", "markdown") == EXIT_INCONCLUSIVE
    assert "too few rounds to test (n = 5)" in capsys.readouterr().out
    cli_compare(tmp_path, *ids, "--format", "json")
    data = json.loads(capsys.readouterr().out)
    row = next(c for c in data["changes"] if c["metric"] == "wall_seconds")
    assert row["verdict"] == row["untested"] == "too few rounds to test (n = 5)"


def test_enough_rounds_give_a_detectable_change_below_the_threshold_and_exit_0(tmp_path):
    works = [0.5 * (1 + 0.004 * ((i * 7) % 10 - 4.5) / 4.5) for i in range(20)]
    base, head = session_runs(works, works[::-1], walls=[1.0] * 20)  # ratios spread ±0.8 %
    result = compare.compare_runs(base, head, default_threshold=0.03)
    work = change_of(result, "work_seconds")
    assert work.verdict == "no significant change"
    assert 0 < work.detectable_change < 0.03
    assert cli_compare(tmp_path, *saved(tmp_path, base, head), "--default-threshold", "3") == 0
    # the same spread at a 0.1 % threshold: a change that small could not have been seen
    strict = compare.compare_runs(base, head, default_threshold=0.001)
    assert change_of(strict, "work_seconds").verdict == "inconclusive"


def test_a_regression_exits_1_even_beside_an_inconclusive_verdict():
    def row(verdict):
        return compare.MetricChange(
            "demo",
            "go",
            "default",
            "work_seconds",
            "s",
            1.0,
            1.0,
            0.0,
            None,
            None,
            None,
            0.03,
            verdict,
        )

    both = compare.RunComparison("a", "b", (row("regressed"), row("inconclusive")), ())
    assert gate_status(both, allow_inconclusive=False) == 1
    only = compare.RunComparison("a", "b", (row("inconclusive"), row("improved")), ())
    assert gate_status(only, allow_inconclusive=False) == 3
    assert gate_status(only, allow_inconclusive=True) == 0


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


# --- server workloads -------------------------------------------------------------------------

RATES = (3000.0, 6000.0)
P99S = (0.010, 0.012, 0.011, 0.013, 0.009)  # base p99 per replicate, seconds
SATURATIONS = (8000.0, 8100.0, 7900.0, 8050.0, 7950.0)  # closed-loop probe per replicate, req/s
SLOWER = (1.28, 1.32, 1.30, 1.29, 1.31)  # head / base p99 per replicate: median +30 %
SAME = (1.0,) * 5
# Paired t-test on the log ratios of SLOWER: logs 0.24686, 0.27763, 0.26236, 0.25464, 0.27003;
# mean 0.26231, sample sd 0.012164, t = 0.26231 / (0.012164 / sqrt 5) = 48.22 with 4 degrees of
# freedom -> two-sided p = 1.107e-6.
P_SLOWER_PAIRED = 1.107e-6


def replicated(
    p99_factors=SAME, sat_factors=SAME, rates=RATES, n=5, failed=(), behind=(), probe_failed=()
):
    """One implementation's schema-5 phases: the selection pass's probe (replicate None), then
    per replicate every rate and the closing probe. `failed`/`behind`: (replicate, rate) pairs
    that failed or achieved only 95 % of the rate; `probe_failed`: replicates whose probe failed."""
    phases = [server_phase(None, 8000.0)]
    for r in range(1, n + 1):
        for rate in rates:
            phases.append(
                server_phase(
                    rate,
                    rate * 0.95 if (r, rate) in behind else rate,
                    p99=P99S[r - 1] * p99_factors[r - 1],
                    replicate=r,
                    ok=(r, rate) not in failed,
                )
            )
        phases.append(
            server_phase(
                None,
                SATURATIONS[r - 1] * sat_factors[r - 1],
                replicate=r,
                ok=r not in probe_failed,
            )
        )
    return phases


def server_runs(base_go, head_go, base_rust=None, head_rust=None, session="s1"):
    """Base and head runs of one server workload, both in one `harness ab` session unless
    `session` is None; Rust defaults to the same unchanged phases on both sides."""
    runs = []
    for run_id, go, rust in ((BASE_ID, base_go, base_rust), (HEAD_ID, head_go, head_rust)):
        r = server_run([server_workload(go, rust if rust is not None else replicated())])
        runs.append(replace(r, run_id=run_id, session_id=session))
    return tuple(runs)


def server_change(result, lang, metric, rate=None) -> compare.MetricChange:
    (change,) = [
        c
        for c in result.changes
        if (c.lang, c.metric, c.rate_rps) == (lang, metric, rate) and c.workload == "api"
    ]
    return change


def test_paired_server_head_slower_at_p99_in_every_replicate_is_regressed():
    result = compare.compare_runs(*server_runs(replicated(), replicated(SLOWER)))
    for rate in RATES:
        p99 = server_change(result, "go", "latency_p99_seconds", rate)
        assert p99.change == pytest.approx(0.30)  # the median per-replicate ratio
        assert p99.p_value == pytest.approx(P_SLOWER_PAIRED, rel=1e-3)
        assert (p99.ci_low, p99.ci_high) == (pytest.approx(0.28), pytest.approx(0.32))
        assert p99.verdict == "regressed" and p99.method == compare.REPLICATE_T
        assert p99.unit == "seconds" and p99.label == f"latency_p99_seconds @ {rate:,.0f} req/s"
    assert [(c.lang, c.metric, c.rate_rps) for c in result.regressions] == [
        ("go", "latency_p99_seconds", 3000.0),
        ("go", "latency_p99_seconds", 6000.0),
    ]
    # p50, saturation and every Rust figure are identical on both sides: 2 x (2 x 2 + 1) rows
    assert len(result.changes) == 10
    assert server_change(result, "go", "saturation_rps").verdict == "no significant change"
    assert (
        "method: paired by replicate: median per-replicate ratio, t-test on log ratios; p adjusted "
        "for the 10 verdicts" in "\n".join(result.notes)
    )
    assert not any("server replicates:" in n for n in result.notes)  # 5 pairs: none too few
    raised = compare.compare_runs(
        *server_runs(replicated(), replicated(SLOWER)), thresholds={"latency_p99_seconds": 0.35}
    )
    assert raised.regressions == ()  # +30 % is within a 35 % threshold for that metric


def test_identical_server_runs_have_no_change_paired_or_not():
    for session in ("s1", None):
        result = compare.compare_runs(*server_runs(replicated(), replicated(), session=session))
        assert len(result.changes) == 10
        # five replicates spread like these cannot show a 5 % p99 change: the targeted p99 rows
        # say so; p50 and saturation are gated but not targeted
        verdicts = {(c.metric, c.verdict) for c in result.changes}
        assert verdicts == {
            ("latency_p99_seconds", "inconclusive"),
            ("latency_p50_seconds", "no significant change"),
            ("saturation_rps", "no significant change"),
        }
        assert all(
            c.detectable_change is None or c.detectable_change > c.threshold
            for c in result.inconclusive
        )
        assert {c.change for c in result.changes} == {0.0}
        assert not any("not compared" in n or "server replicates:" in n for n in result.notes)


def test_unpaired_server_runs_use_welch_on_logs():
    # The same p99 values as the paired case, from two separate runs: Welch's t on the logs of the
    # two samples. Log means -4.51824 (base) and -4.25594 (head), sample sds 0.14533 and 0.14579:
    # t = 0.26231 / sqrt(0.14533^2 / 5 + 0.14579^2 / 5) = 0.26231 / 0.092060 = 2.849 with 8.0
    # degrees of freedom -> p = 0.0215; BH over the 10 p-values (these two, eight of 1) gives
    # 0.0215 * 10 / 2 = 0.108. Unpaired, the spread between replicates stays in and the bootstrap
    # CI of the ratio of medians spans 0: no verdict, where pairing by replicate gives one.
    result = compare.compare_runs(*server_runs(replicated(), replicated(SLOWER), session=None))
    p99 = server_change(result, "go", "latency_p99_seconds", 3000.0)
    assert p99.change == pytest.approx(0.30)
    assert p99.p_value == pytest.approx(0.0215, abs=1e-4)
    assert p99.p_adjusted == pytest.approx(0.108, abs=1e-3)
    assert p99.ci_low < 0 < p99.ci_high
    assert p99.verdict == "inconclusive" and p99.method == compare.WELCH_LOGS
    assert p99.detectable_method == stats.ANALYTIC_WELCH_T


def test_a_rate_not_every_replicate_held_is_a_note_not_a_verdict():
    base_rust = replicated(behind={(2, 3000.0)})  # replicate 2 achieved 2,850 of 3,000 req/s
    head_go = replicated(SLOWER, failed={(3, 6000.0), (4, 6000.0), (5, 6000.0)})
    result = compare.compare_runs(
        *server_runs(replicated(), head_go, base_rust=base_rust, head_rust=replicated())
    )
    assert {(c.lang, c.rate_rps) for c in result.changes} == {
        ("go", 3000.0),
        ("go", None),
        ("rust", 6000.0),
        ("rust", None),
    }
    assert (
        "api go/default @ 6,000 req/s: not compared (head: replicate 3: the phase failed; "
        "replicate 4: the phase failed; and 1 more)" in result.notes
    )
    assert (
        "api rust/default @ 3,000 req/s: not compared (base: replicate 2: achieved 2,850 req/s "
        "< 99 % of offered 3,000)"
    ) in result.notes
    # the usable rate still gates: go's p99 at 3,000 req/s regressed
    assert [(c.lang, c.rate_rps) for c in result.regressions] == [("go", 3000.0)]


def test_a_failed_saturation_probe_is_a_note_not_a_verdict():
    base, head = server_runs(replicated(), replicated(probe_failed={2}))
    result = compare.compare_runs(base, head)
    assert not [c for c in result.changes if c.lang == "go" and c.metric == "saturation_rps"]
    assert "api go/default saturation_rps: not compared (head: replicate 2: the probe failed)" in (
        result.notes
    )


def test_saturation_higher_is_better():
    jitter = (0.79, 0.81, 0.80, 0.805, 0.795)  # about 20 % fewer requests per second
    lower = compare.compare_runs(*server_runs(replicated(), replicated(sat_factors=jitter)))
    saturation = server_change(lower, "go", "saturation_rps")
    assert saturation.change == pytest.approx(-0.20)
    assert saturation.unit == "req/s" and saturation.rate_rps is None
    assert saturation.verdict == "regressed"
    higher = compare.compare_runs(
        *server_runs(replicated(), replicated(sat_factors=[2 - f for f in jitter]))
    )
    assert server_change(higher, "go", "saturation_rps").verdict == "improved"
    sig = {"ci_low": -0.25, "ci_high": -0.15, "p_value": 0.001, "threshold": 0.05}
    assert compare.verdict_for("saturation_rps", -0.2, **sig) == "regressed"
    assert compare.verdict_for("latency_p99_seconds", -0.2, **sig) == "improved"


def test_schema_4_server_phases_compare_but_one_replicate_gives_no_verdict():
    """Before schema 5 every rate had one phase (replicate None) and one saturation probe."""

    def single(p99):
        return [server_phase(None, 8000.0), *(server_phase(r, r, p99=p99) for r in RATES)]

    base, head = server_runs(single(0.010), single(0.020), single(0.010), single(0.010), None)
    result = compare.compare_runs(base, head)
    assert len(result.changes) == 10
    p99 = server_change(result, "go", "latency_p99_seconds", 6000.0)
    assert p99.change == pytest.approx(1.0)  # twice as slow, yet one value a side: no p, no CI
    # one value a side: no p, no CI, no power; the targeted row is inconclusive, not a pass
    assert (p99.p_value, p99.ci_low, p99.verdict) == (None, None, "inconclusive")
    assert p99.detectable_change is None
    assert (
        "only 1 vs 1 server replicates: a single replicate gives no p-value (files before "
        "schema 5 have one per rate), so no server change can be called significant (measure at "
        "least 5 replicates a rate for a useful gate)"
    ) in result.notes


def test_two_replicates_are_compared_with_a_note():
    result = compare.compare_runs(*server_runs(replicated(n=2), replicated(SLOWER, n=2)))
    assert len(result.changes) == 10
    assert (
        "only 2 paired server replicates: the t-test on log ratios has too few degrees of freedom "
        "to call any but a large and steady change (measure at least 5 replicates a rate for a "
        "useful gate)"
    ) in result.notes


def test_offered_rates_that_differ_are_a_note():
    other = (4000.0, 8000.0)
    base, head = server_runs(
        replicated(), replicated(rates=other), head_rust=replicated(rates=other), session=None
    )
    result = compare.compare_runs(base, head)
    assert {c.metric for c in result.changes} == {"saturation_rps"}  # saturation still compares
    assert (
        "api: the offered rates differ (base 3,000, 6,000 req/s; head 4,000, 8,000 req/s), so no "
        "latency was compared; fix them with --rates or [server.rates] so runs are comparable"
    ) in result.notes
    partial = (3000.0, 7000.0)
    base, head = server_runs(
        replicated(), replicated(rates=partial), head_rust=replicated(rates=partial), session=None
    )
    result = compare.compare_runs(base, head)
    assert {c.rate_rps for c in result.changes} == {3000.0, None}
    assert [n for n in result.notes if "run only" in n] == [
        "api @ 6,000 req/s: measured in the base run only; not compared",
        "api @ 7,000 req/s: measured in the head run only; not compared",
    ]


def test_batch_and_server_rows_name_each_method():
    batch = make_run(BASE_WALLS, BASE_ID).workloads[0]
    base, head = server_runs(replicated(), replicated(SLOWER), session=None)
    base = replace(base, workloads=(batch, *base.workloads))
    head = replace(head, workloads=(batch, *head.workloads))
    (line,) = [n for n in compare.compare_runs(base, head).notes if n.startswith("method")]
    assert line.startswith(
        "methods: unpaired: ratio of medians, Mann-Whitney U (4 verdicts); unpaired: ratio of "
        "medians over replicates, Welch t-test on logs (10 verdicts); p adjusted for the 14 "
        "verdicts of this comparison"
    )


def test_server_rows_in_markdown_and_json(tmp_path, capsys):
    ids = saved(tmp_path, *server_runs(replicated(), replicated(SLOWER)))
    assert cli_compare(tmp_path, *ids, "--format", "markdown") == 1
    out = capsys.readouterr().out
    assert "**2 regression(s)** beyond the noise threshold." in out
    row = next(line for line in out.splitlines() if "latency_p99_seconds @ 6,000" in line)
    # BH over 10 p-values, the two smallest equal: 1.107e-6 * 10 / 2 = 5.53e-6
    assert row.split(" | ") == [
        "| api",
        "go/default",
        "latency_p99_seconds @ 6,000 req/s",
        "+30.0 %",
        "[+28.0 %, +32.0 %]",
        "5.53e-06",
        "5 %",
        row.split(" | ")[7],
        "🔴 regressed |",
    ]
    assert cli_compare(tmp_path, *ids, "--format", "json") == 1
    data = json.loads(capsys.readouterr().out)
    rows = {(c["lang"], c["metric"], c["rate_rps"]): c for c in data["changes"]}
    assert len(rows) == 10 and data["regression_count"] == 2
    assert rows[("go", "latency_p99_seconds", 6000.0)]["verdict"] == "regressed"
    assert rows[("go", "saturation_rps", None)]["unit"] == "req/s"
    assert cli_compare(tmp_path, *ids) == 1
    assert "latency_p99_seconds @ 6,000 req/s" in capsys.readouterr().out
    # +30 % is within 35 % at every rate, but the unchanged Rust replicates are exact copies on both
    # sides: log ratios without spread give the t-test no p, so its p99 rows could see nothing
    assert cli_compare(tmp_path, *ids, "--threshold", "latency_p99_seconds=35") == 3
    allowed = ("--threshold", "latency_p99_seconds=35", "--allow-inconclusive")
    assert cli_compare(tmp_path, *ids, *allowed) == 0
    assert "inconclusive verdict(s) allowed" in capsys.readouterr().err


def test_server_settings_that_shape_phases_differently_are_a_note():
    base, head = server_runs(replicated(), replicated(), session=None)
    assert not [n for n in compare.compare_runs(base, head).notes if "SERVER SETTINGS" in n]
    longer = replace(
        head.config.server, connections=head.config.server.connections * 2, replicates=3
    )
    head = replace(head, config=replace(head.config, server=longer))
    notes = [n for n in compare.compare_runs(base, head).notes if "SERVER SETTINGS" in n]
    connections = base.config.server.connections
    # the replicate count is not a phase setting: its own notes speak of it
    assert notes == [f"SERVER SETTINGS: connections differs: {connections} vs {connections * 2}"]
