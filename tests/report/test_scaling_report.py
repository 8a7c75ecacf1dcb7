"""The report's Scaling section on hand-made sweeps: points in axis order, growth exponents that
can be computed by hand, failed points listed as failed, the p99-budget answer for a server's Go
runtime setting, no section at all without sweeps, and user text escaped."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from builders import (
    MIB,
    gogc_sweep_points,
    impl_result,
    repetition,
    replicated,
    server_run,
    server_sweep_points,
    server_workload,
    size_sweep_points,
    small_run,
    sweep_run,
    swept,
    workload_result,
)
from scripted import add_workload, run_cli

from harness.analysis import replicates
from harness.analysis.decision import parse_team_config
from harness.report.html import build_context, render
from harness.report.scaling import Budget, blocks, budget_of, meets_budget, scaling

TEN_MS = Budget(0.010, "the default")
SCORES = {
    "time_to_market": 3,
    "latency_determinism": 3,
    "memory_safety": 3,
    "rust_experience": 3,
    "resource_cost": 3,
}


def view(points, budget=TEN_MS):
    (found,) = scaling(server_run(list(points)), budget).blocks
    return found


def section(page: str) -> str:
    return page[
        page.index('<section id="scaling">') : page.index(
            "</section>", page.index('<section id="scaling">')
        )
    ]


# --- which points, in which order ----------------------------------------------------------------


def test_points_are_grouped_per_sweep_and_put_in_axis_order():
    found = blocks(sweep_run())
    assert [(b.workload, b.axis, b.kind) for b in found] == [
        ("grow", "n", "size"),
        ("alloc", "GOGC", "setting"),
        ("kv", "GOGC", "server"),
    ]
    # the run lists them as measured (n = 4, 1, 8, 2, 16); the section in axis order
    assert [w.name for w in sweep_run().workloads[:5]] == [
        "grow@n=4",
        "grow@n=1",
        "grow@n=8",
        "grow@n=2",
        "grow@n=16",
    ]
    assert [p.sweep.value for p in found[0].points] == ["1", "2", "4", "8", "16"]
    size = view(size_sweep_points())
    assert [r.cells[0] for r in size.rows] == ["1", "2", "4", "8", "16"]
    assert "measured in a shuffled order (n = 4, 1, 8, 2, 16)" in size.order
    assert "drift" in size.order


# --- a parameter: size, exponents, failed points --------------------------------------------------


def test_a_size_sweep_tabulates_the_reported_size_medians_and_ratios():
    rows = view(size_sweep_points()).rows
    # n = 4: 4 MiB reported; Go work 0.16 s, Rust 0.04 s (4.00x); Go 32 MiB, Rust 4 MiB (8.00x)
    assert rows[2].cells == (
        "4",
        "4 MiB",
        "160 ms [160, 160]",
        "40 ms [40, 40]",
        "4.00×",
        "32 MiB [32, 32]",
        "4 MiB [4, 4]",
        "8.00×",
    )
    assert not rows[2].failed and rows[2].note == ""


def test_the_growth_exponents_are_the_hand_computed_powers():
    # Go: work 0.01 n^2 and RSS 8n MiB; Rust: work 0.01 n and a flat 4 MiB; n MiB reported
    sentences = view(size_sweep_points()).sentences
    assert sentences == (
        "Go grow work time grows as size^2.00 [2.00, 2.00] (12 repetitions at 4 points).",
        "Go grow peak memory grows as size^1.00 [1.00, 1.00] (12 repetitions at 4 points).",
        "Rust grow work time grows as size^1.00 [1.00, 1.00] (15 repetitions at 5 points).",
        "Rust grow peak memory grows as size^0.00 [0.00, 0.00] (15 repetitions at 5 points).",
    )


def test_the_exponent_is_fitted_to_the_reported_size_not_the_parameter():
    # every point reports the same size: no exponent, whatever the parameter did
    points = [
        replace(
            p,
            implementations=tuple(
                replace(i, repetitions=tuple(replace(r, bytes=MIB) for r in i.repetitions))
                for i in p.implementations
            ),
        )
        for p in size_sweep_points()
    ]
    sentences = view(points).sentences
    assert sentences[0] == "Go grow work time: no exponent (fewer than 3 numeric points)."


def test_a_failed_point_is_listed_as_failed_never_as_numbers():
    found = view(size_sweep_points())
    failed = found.rows[4]
    assert failed.failed
    assert failed.cells[:3] == ("16", "16 MiB", "failed")  # the size Rust reported
    assert failed.cells[3] == "160 ms [160, 160]"  # Rust's numbers stand
    assert failed.cells[4] == "–"  # no ratio
    assert failed.cells[5] == "failed"
    assert failed.note == "failed: go/default: exit status 2: fatal error: runtime: out of memory"
    # the Go curves have no point at n = 16
    go_work = found.charts[0].series["go/default"]
    assert [x for x, *_ in go_work] == [1.0, 2.0, 4.0, 8.0]
    assert len(found.charts[0].series["rust/default"]) == 5


def test_size_charts_are_log_log_against_the_reported_size_with_ci_bars():
    work, memory = view(size_sweep_points()).charts
    assert work.log_x and work.log_y and memory.log_x and memory.log_y
    assert work.x_label == "bytes processed (MiB, log)"
    assert work.y_label == "work time (ms, log)"
    assert work.series["go/default"][1] == pytest.approx((2.0, 40.0, 40.0, 40.0))  # 0.04 s
    assert memory.series["go/default"][0] == pytest.approx((1.0, 8.0, 8.0, 8.0))


def test_a_labelled_variant_is_a_lighter_line():
    points = []
    for p in size_sweep_points():
        reps = [repetition(rep=r, work=0.02, nbytes=MIB) for r in range(3)]
        fast = impl_result("rust", "fast", reps=reps)
        points.append(replace(p, implementations=(*p.implementations, fast)))
    work = view(points).charts[0]
    assert set(work.series) == {"go/default", "rust/default", "rust/fast"}
    assert work.light == ("rust/fast",)


# --- a runtime setting of a batch workload --------------------------------------------------------


def test_a_runtime_setting_shows_go_per_point_and_rust_as_the_reference():
    found = view(gogc_sweep_points())
    assert found.headers[-2:] == ("Go GC cycles", "Go GC pause total")
    assert [r.cells[0] for r in found.rows] == ["50", "100", "off"]
    assert found.rows[0].cells[1:4] == ("1.2 s [1.2, 1.2]", "500 ms [500, 500]", "2.40×")
    assert found.rows[2].cells[-2:] == ("1 [1, 1]", "1 ms [1, 1]")
    assert "GOGC applies to Go only; Rust runs unchanged at every point" in found.settings[0]
    assert found.sentences[:2] == (
        "Go work time: lowest at GOGC=off (900 ms [900, 900]), highest at GOGC=50 "
        "(1.2 s [1.2, 1.2]).",
        "Rust work time, unchanged at every point, spans 490 ms–510 ms across the 3 points "
        "(4.0 % of its median): differences between Go's points smaller than that are within "
        "the run's noise.",
    )


def test_a_setting_with_off_is_drawn_on_a_categorical_axis_in_axis_order():
    charts = view(gogc_sweep_points()).charts
    assert [c.y_label for c in charts] == [
        "work time (s)",
        "peak RSS (MiB)",
        "GC cycles",
        "GC pause total (ms)",
    ]
    work = charts[0]
    assert not work.log_x
    assert work.x_ticks == ((0.0, "50"), (1.0, "100"), (2.0, "off"))
    assert set(charts[2].series) == {"go/default"}  # Rust has no GC


def test_a_numeric_setting_is_drawn_on_its_own_log_scale():
    points = [p for p in gogc_sweep_points() if p.sweep.value != "off"]
    work = view(points).charts[0]
    assert work.log_x and work.x_ticks == ((50.0, "50"), (100.0, "100"))


# --- servers and the p99 budget -------------------------------------------------------------------


def test_the_budget_answer_names_the_go_point_that_meets_it_beside_rust():
    found = view(server_sweep_points())
    cores, met, missed = found.sentences
    assert cores == (
        "Measured with one server core (GOMAXPROCS=1): Go's background mark workers had no "
        "core of their own and took the one the requests needed, so the answer may not hold "
        "for a Go service on more cores."
    )
    assert met == (
        "At 5,000 req/s, Go meets a p99 budget of 10 ms at GOGC=400 (p99 4.3 ms [4.1, 4.7]) "
        "with peak RSS 512 MiB, 2.1× Rust's 240 MiB. Failed, no numbers: GOGC = off."
    )
    assert missed == (
        "At 8,000 req/s, no Go point meets a p99 budget of 10 ms (best: GOGC=400, p99 12 ms "
        "[11, 13], CI upper bound 13 ms ≥ 10 ms; Rust there 3 ms [3, 3]). Failed, no numbers: "
        "GOGC = off."
    )


def test_the_budget_answer_says_how_many_server_cores_it_was_measured_with():
    def with_workers(points, go):
        return [
            replace(
                p,
                implementations=tuple(
                    replace(i, parallelism=go) if i.lang == "go" else i for i in p.implementations
                ),
            )
            for p in points
        ]

    two = view(with_workers(server_sweep_points(), {"HARNESS_CPUS": "2", "GOMAXPROCS": "2"}))
    assert two.sentences[0] == (
        "Measured with 2 server cores (GOMAXPROCS=2; the same worker count for Rust)."
    )
    # a file from before HARNESS_CPUS: GOMAXPROCS says it
    old = view(with_workers(server_sweep_points(), {"GOMAXPROCS": "1"}))
    assert old.sentences[0].startswith("Measured with one server core (GOMAXPROCS=1)")
    unknown = view(with_workers(server_sweep_points(), {}))
    assert unknown.sentences[0].startswith("The server's core count is not recorded")
    mixed = server_sweep_points()
    mixed[0] = with_workers([mixed[0]], {"HARNESS_CPUS": "2"})[0]
    assert view(mixed).sentences[0] == (
        "Measured with 1, 2 server cores at different points: compare points of one count."
    )


def test_a_tighter_budget_is_missed_and_a_looser_one_picks_the_least_memory():
    points = server_sweep_points()
    tight = view(points, Budget(0.004, "p99_budget_ms in team.toml")).sentences[1]
    assert tight.startswith(
        "At 5,000 req/s, no Go point meets a p99 budget of 4 ms (best: GOGC=400"
    )
    # at 20 ms both GOGC=100 (300 MiB) and GOGC=400 (512 MiB) meet it at 5,000 req/s
    loose = view(points, Budget(0.020, "x")).sentences[1]
    assert loose.startswith("At 5,000 req/s, Go meets a p99 budget of 20 ms at GOGC=100 (p99 13 ms")
    assert "; 2 of 3 points meet it (100, 400), this one with the least peak RSS" in loose


def test_a_median_within_the_budget_is_not_enough_its_ci_upper_bound_must_be():
    phases = replicated(5000, achieved=[5000] * 3, p99=[0.008, 0.009, 0.012])
    found = replicates.summarise_rate(replace(impl_result("go"), phases=tuple(phases)), 5000)
    assert found.latency["p99"].median == 0.009
    assert meets_budget(found, 0.010) == (False, "CI upper bound 12 ms ≥ 10 ms")
    assert meets_budget(found, 0.013) == (True, "CI upper bound 12 ms < 13 ms")
    one = replicates.summarise_rate(replace(impl_result("go"), phases=tuple(phases[:1])), 5000)
    assert meets_budget(one, 1.0) == (False, "one replicate: no CI")
    assert meets_budget(None, 1.0) == (False, "failed")


def test_a_point_counts_only_when_every_replicate_is_usable():
    points = server_sweep_points()
    gogc400 = next(p for p in points if p.sweep.value == "400")
    go = gogc400.result_for("go/default")
    behind = tuple(
        replace(ph, achieved_rps=4000.0) if ph.offered_rps == 5000 and ph.replicate == 2 else ph
        for ph in go.phases
    )
    slow = replace(
        gogc400,
        implementations=(replace(go, phases=behind), gogc400.result_for("rust/default")),
    )
    found = view([slow if p is gogc400 else p for p in points])
    assert found.sentences[1].startswith("At 5,000 req/s, no Go point meets a p99 budget of 10 ms")
    # GOGC=400's lower p99 is not quoted as the best: a rate it could not hold is not usable
    assert (
        "(best: GOGC=100, p99 13 ms [12, 14], CI upper bound 14 ms ≥ 10 ms;" in found.sentences[1]
    )
    row = next(r for r in found.rows if r.cells[:2] == ("5,000", "400"))
    assert row.cells[2].endswith("(not usable)")
    assert row.cells[-1] == "no (not usable)"
    assert "go/default not usable: replicate 2: achieved 4,000 req/s < 99 %" in row.note


def test_the_server_table_lists_every_rate_and_point_with_failures_as_failed():
    found = view(server_sweep_points())
    cells = {r.cells[:2]: r.cells[2:] for r in found.rows}
    assert list(cells) == [
        ("5,000", "100"),
        ("5,000", "400"),
        ("5,000", "off"),
        ("8,000", "100"),
        ("8,000", "400"),
        ("8,000", "off"),
    ]
    assert cells["5,000", "400"] == (
        "4.3 ms [4.1, 4.7]",
        "2 ms [2, 2]",
        "512 MiB [512, 512]",
        "240 MiB [240, 240]",
        "yes (CI upper bound 4.7 ms < 10 ms)",
    )
    assert cells["5,000", "100"][-1] == "no (CI upper bound 14 ms ≥ 10 ms)"
    off = cells["5,000", "off"]
    assert off[0] == "failed" and off[2] == "failed" and off[-1] == "failed"
    assert off[1] == "2 ms [2, 2]"  # Rust ran
    p99, rss = found.charts
    assert p99.reference == (10.0, "p99 budget 10 ms")
    assert set(p99.series) == {
        "go/default 5,000 req/s",
        "rust/default 5,000 req/s",
        "go/default 8,000 req/s",
        "rust/default 8,000 req/s",
    }
    assert len(p99.series["go/default 5,000 req/s"]) == 2 and p99.log_y
    assert rss.reference is None


def test_the_budget_comes_from_the_team_file_or_defaults_to_10_ms():
    assert budget_of(None) == Budget(0.010, "the default (no team file, --team)")
    team = parse_team_config({"scores": SCORES}, "team.toml")
    assert budget_of(team) == Budget(0.010, "the default (team.toml sets no p99_budget_ms)")
    team = parse_team_config({"scores": SCORES, "p99_budget_ms": 5}, "team.toml")
    assert budget_of(team) == Budget(0.005, "from p99_budget_ms in team.toml")
    page = render(build_context(sweep_run(), team=team))
    assert "p99 budget: 5 ms, from p99_budget_ms in team.toml." in section(page)
    page = render(build_context(sweep_run()))
    assert "p99 budget: 10 ms, the default (no team file, --team)." in section(page)


# --- the rendered section -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page():
    return render(build_context(sweep_run()))


def test_the_section_sits_after_the_summary_and_before_the_workloads(page):
    assert page.index('id="summary"') < page.index('id="scaling"') < page.index('id="workload-')
    assert '<li><a href="#scaling">Scaling</a></li>' in page
    shown = section(page)
    for heading in (
        '<h3 id="scaling-grow-n">grow over n (workload parameter)</h3>',
        '<h3 id="scaling-alloc-GOGC">alloc over GOGC (Go runtime setting)</h3>',
        '<h3 id="scaling-kv-GOGC">kv over GOGC (server)</h3>',
    ):
        assert heading in shown
    assert "Theil-Sen slope of log(metric) on log(size)" in shown
    assert "<li>Go grow work time grows as size^2.00 [2.00, 2.00]" in shown
    assert "Go meets a p99 budget of 10 ms at GOGC=400" in shown
    assert "Measured with one server core (GOMAXPROCS=1)" in shown  # the caveat beside it
    # 2 size charts, 4 for GOGC on a batch workload (work, RSS, GC cycles, GC pause), 2 server
    assert shown.count("<figure") == 8 and shown.count("<svg") == 8


def test_a_failed_point_renders_as_a_failed_row_with_its_reason(page):
    shown = section(page)
    row = re.search(r'<tr class="failed-row"><td class="num">16</td>.*?</tr>', shown).group(0)
    assert '<td class="num">failed</td>' in row
    assert "exit status 2: fatal error: runtime: out of memory" in shown


def test_a_run_without_sweeps_has_no_scaling_section():
    context = build_context(small_run())
    assert context["scaling"] == {"notes": [], "blocks": []}
    html = render(context)
    assert 'id="scaling"' not in html and "Scaling" not in html
    assert "#scaling" not in html


def test_axis_values_are_escaped_in_the_table_and_the_charts():
    evil = "<b>x</b>&$y"
    batch = [
        swept(
            workload_result(
                name="esc",
                impls=[
                    impl_result("go", reps=[repetition(rep=0, nbytes=n * MIB)]),
                    impl_result("rust", reps=[repetition(rep=0, nbytes=n * MIB)]),
                ],
            ),
            "mode",
            value,
            position,
            position,
        )
        for position, (n, value) in enumerate(((1, evil), (2, "plain")))
    ]
    # on a server the axis values label the chart's x axis
    phases = replicated(5000, achieved=[5000] * 2, p99=[0.002, 0.003])
    server = [
        swept(server_workload(phases, phases, name="srv"), "mode", value, position, position)
        for position, value in enumerate((evil, "plain"))
    ]
    html = render(build_context(server_run([*batch, *server])))
    shown = section(html)
    assert shown.count("&lt;b&gt;x&lt;/b&gt;&amp;$y") >= 3  # two tables, the order notes
    assert "<b>x</b>" not in html
    # matplotlib escapes the tick label, and the dollar stays a dollar (no mathtext)
    charts = shown[shown.index('<h3 id="scaling-srv-mode">') :]
    assert "&lt;b&gt;x&lt;/b&gt;&amp;$y" in charts[charts.index("<svg") :]


# --- through the CLI -----------------------------------------------------------------------------

# A result line whose work time is n^2 s and whose size is n items.
SQUARE = """\
n=$1
echo "{\\"checksum\\":\\"00000000deadbeef\\",\\"items\\":$n,\\"bytes\\":$n,\\"work_seconds\\":$((n*n))}"
"""


def test_a_sweep_measured_through_the_cli_reports_its_scaling_section(tmp_path, monkeypatch):
    workloads, results, reports = tmp_path / "workloads", tmp_path / "results", tmp_path / "reports"
    add_workload(workloads, "grow", go=SQUARE)
    argv = ["--workloads-dir", str(workloads), "--results-dir", str(results)]
    argv += ["--cache-dir", str(tmp_path / "cache")]
    sweep = ["sweep", "--workloads", "grow", "--param", "n=1,2,4", "--set", "GOGC=400"]
    assert run_cli([*argv, *sweep, "--repetitions", "2", "--pin", "none"], monkeypatch) == 0
    assert run_cli([*argv, "report", "--reports-dir", str(reports)], monkeypatch) == 0
    shown = section((reports / "latest.html").read_text())
    assert (
        "<li>Go grow work time grows as size^2.00 [2.00, 2.00] (6 repetitions at 3 points).</li>"
        in shown
    )
    assert "Fixed at every point: GOGC=400 (Go only)." in shown
    assert re.findall(r'<tr><td class="num">(\d+)</td>', shown) == ["1", "2", "4"]
