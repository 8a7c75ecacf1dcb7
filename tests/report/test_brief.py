"""The report's first page (harness/report/brief.py): which sentences it picks, the marks it draws, and
what it says when workloads failed or only one language was measured."""

from __future__ import annotations

import re

import pytest
from brief_fixtures import DEFAULT_MARKS, failing_run, full_like_run, go_only_run

from harness.analysis.bundle import analyse
from harness.analysis.decision import CATEGORY_NAMES, load_team_config, parse_team_config
from harness.analysis.noise import run_noise
from harness.analysis.summaries import analyse_run
from harness.cli import main as cli
from harness.report import brief, charts
from harness.report.brief import RatioMark
from harness.report.export import write_brief
from harness.report.html import build_context, render
from harness.store.results import save_run


def mark(workload, metric="wall_seconds", ratio=2.0, significant=True, **kw) -> RatioMark:
    """A hand-made mark; the CI is ±5 % around the ratio (its width plays no part here)."""
    return RatioMark(workload, metric, ratio, ratio * 0.95, ratio * 1.05, significant, **kw)


# --- who is better ---------------------------------------------------------------------------------


def test_a_ratio_above_one_is_rust_better_for_time_but_go_better_for_saturation():
    assert mark("a", ratio=2.0).better == "rust"
    assert mark("a", ratio=0.5).better == "go"
    assert mark("a", brief.SATURATION, ratio=0.5).better == "rust"  # Go saturates at half
    assert mark("a", ratio=3.0, significant=False).better is None
    assert mark("a", ratio=0.25).factor == 4.0


def test_a_small_significant_factor_keeps_a_third_decimal():
    assert brief.reading(mark("a", "peak_rss_bytes", ratio=1.0013)) == "Rust 1.001× less memory"
    assert brief.reading(mark("a", ratio=0.5)) == "Go 2.00× faster"
    assert brief.reading(mark("a", ratio=0.5, significant=False)) == "no significant difference"


# --- the sentences ---------------------------------------------------------------------------------


def test_tally_counts_only_default_pairs():
    marks = [
        mark("a", ratio=2.0),
        mark("a", "cpu_seconds", ratio=0.8),
        mark("b", ratio=1.01, significant=False),
        mark("b", ratio=0.1, variant=True, pair="go/fast vs rust/default"),  # not counted
    ]
    assert brief.tally_sentence(marks) == (
        "Of 3 Go/Rust comparisons, Rust is ahead on 1, Go on 1, and 1 shows no significant "
        "difference."
    )


def test_tally_counts_one_replicate_marks_apart_and_reading_says_no_test():
    single = RatioMark(
        "api",
        brief.P99,
        7.9,
        None,
        None,
        False,
        where="at 9,000 req/s",
        rounds=1,
        testable=False,
        samples="replicates",
    )
    marks = [mark("a", ratio=2.0), mark("b", ratio=1.01, significant=False), single]
    assert brief.tally_sentence(marks) == (
        "Of 3 Go/Rust comparisons, Rust is ahead on 1, Go on 0, 1 shows no significant "
        "difference, and 1 has too few replicates to test (n = 1)."
    )
    assert brief.reading(single) == "too few replicates to test (n = 1)"
    assert brief.tally_sentence([single]) == (
        "The Go/Rust comparison has too few replicates to test (n = 1): the ratios and intervals "
        "are shown as indications, not verdicts."
    )


def test_marks_whose_test_cannot_reach_significance_say_too_few_rounds_never_no_difference():
    """Five rounds: the signed-rank test's smallest p is 0.0625, so a 250x ratio with a CI far from
    1 is not called, and no sentence may call it "no significant difference"."""
    five = [mark(w, ratio=250.0, significant=False, rounds=5, testable=False) for w in ("a", "b")]
    assert brief.reading(five[0]) == "too few rounds to test (n = 5)"
    assert brief.tally_sentence(five) == (
        "All 2 Go/Rust comparisons have too few rounds to test (n = 5): the ratios and intervals "
        "are shown as indications, not verdicts."
    )
    assert brief.largest_uncalled(five) == (
        "The largest point estimate, a wall time (Go/Rust 250.00× [237.50, 262.50]): too few "
        "rounds to test (n = 5)."
    )
    assert not any("no significant" in s for s in brief.select_sentences(five))


def test_tally_with_nothing_significant_says_so_and_with_no_pair_says_nothing():
    marks = [mark("a", ratio=1.3, significant=False), mark("b", ratio=0.9, significant=False)]
    assert brief.tally_sentence(marks).startswith("None of the 2 Go/Rust comparisons")
    assert brief.tally_sentence([]) is None


def test_largest_takes_the_biggest_factor_once_per_workload_whichever_side():
    marks = [
        mark("json", ratio=2.8),
        mark("json", "cpu_seconds", ratio=3.0),  # json's largest
        mark("gzip", ratio=0.25),  # Go 4x: the largest of all
        mark("sha", ratio=9.0, significant=False),  # not significant: never "largest"
        mark("zz", ratio=20.0, variant=True, pair="go/x vs rust/default"),  # a variant
    ]
    found = brief.largest(marks, 2)
    assert [(m.workload, m.metric) for m in found] == [
        ("gzip", "wall_seconds"),
        ("json", "cpu_seconds"),
    ]
    sentences = brief.largest_sentences(marks, 2)
    assert sentences[0] == (
        "Largest difference: gzip wall time, Go 4.00× faster (Go/Rust 0.25× [0.24, 0.26])."
    )
    assert sentences[1].startswith("Next largest: json CPU time, Rust 3.00× less CPU")


def test_go_ahead_is_the_largest_significant_go_win():
    marks = [mark("a", ratio=0.8), mark("b", ratio=0.5), mark("c", ratio=0.2, significant=False)]
    assert brief.go_ahead(marks).workload == "b"
    assert brief.go_ahead([mark("a", ratio=2.0)]) is None


def test_a_workload_splits_when_its_significant_metrics_favour_different_languages():
    marks = [
        mark("bt", ratio=2.1),  # Rust faster
        mark("bt", "peak_rss_bytes", ratio=0.78),  # Go less memory
        mark("json", ratio=2.9),
        mark("json", "peak_rss_bytes", ratio=0.7, significant=False),  # not a split
    ]
    rust, go = brief.split_workload(marks)
    assert (rust.workload, rust.metric, go.metric) == ("bt", "wall_seconds", "peak_rss_bytes")
    assert brief.split_workload(marks[2:]) is None


def test_a_variant_flips_the_verdict_only_against_a_significant_default():
    default = mark("gzip", ratio=1.2)  # Rust's default faster
    flip = mark("gzip", ratio=0.6, variant=True, pair="go/klauspost vs rust/default")
    same_side = mark("gzip", ratio=1.5, variant=True, pair="go/slow vs rust/default")
    assert brief.variant_flip([default, flip, same_side]) == (default, flip)
    assert brief.variant_flip([default, same_side]) is None
    uncalled = mark("gzip", ratio=1.2, significant=False)
    assert brief.variant_flip([uncalled, flip]) is None


def test_surprises_come_in_order_and_skip_what_largest_already_said():
    marks = [
        mark("logparse", ratio=0.7),  # Go ahead
        mark("bt", ratio=2.1),
        mark("bt", "peak_rss_bytes", ratio=0.78),
        mark("gzip", ratio=1.2),
        mark("gzip", ratio=0.5, variant=True, pair="go/klauspost vs rust/default"),
    ]
    found = brief.surprise_sentences(marks, count=3)
    assert found[0].startswith("Go ahead: logparse wall time, Go 1.43× faster")
    assert found[1] == "bt splits: Rust 2.10× faster, Go 1.28× less memory."
    assert found[2].startswith(
        "A library choice reverses gzip wall time: the defaults give Rust 1.20× faster, "
        "go/klauspost vs rust/default gives Go 2.00× faster"
    )
    already = brief.surprise_sentences(marks, already=[marks[0]], count=3)
    assert not any(s.startswith("Go ahead") for s in already)


def test_selection_is_tally_then_largest_then_surprises_at_most_five():
    marks = [
        mark("json", ratio=2.9),
        mark("logparse", ratio=0.7),
        mark("bt", ratio=2.1),
        mark("bt", "peak_rss_bytes", ratio=0.78),
        mark("gzip", ratio=1.2),
        mark("gzip", ratio=0.5, variant=True, pair="go/klauspost vs rust/default"),
    ]
    found = brief.select_sentences(marks)
    assert len(found) == brief.MAX_SENTENCES
    assert found[0].startswith("Of 5 Go/Rust comparisons")
    assert found[1].startswith("Largest difference: json wall time")
    assert found[2].startswith("Next largest: bt wall time")
    assert found[3].startswith("Go ahead: logparse")


def test_with_nothing_significant_the_largest_estimate_is_said_to_be_uncalled():
    marks = [mark("a", ratio=1.4, significant=False), mark("b", ratio=0.95, significant=False)]
    found = brief.select_sentences(marks)
    assert len(found) == 2
    assert found[1] == (
        "The largest point estimate, a wall time (Go/Rust 1.40× [1.33, 1.47]), is not significant."
    )
    assert not any("faster" in s for s in found)


# --- the marks from a run --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full():
    return run_brief(full_like_run())


def test_one_default_mark_per_pair_and_metric_and_variants_apart(full):
    defaults = brief.defaults(full.marks)
    assert len(defaults) == DEFAULT_MARKS
    assert {(m.workload, m.metric) for m in defaults} >= {
        ("json", "wall_seconds"),
        ("binarytrees", "peak_rss_bytes"),
        ("http-json", brief.P99),
        ("kv-cache", brief.SATURATION),
    }
    variants = [m for m in full.marks if m.variant]
    assert len(variants) == 7 * 3  # seven labelled variants x wall, CPU, memory
    assert {m.pair for m in variants if m.workload == "gzip"} == {
        "go/klauspost vs rust/default",
        "go/default vs rust/zlib-rs",
    }


def test_the_full_run_brief_reads_as_the_fixture_was_built(full):
    by = {(m.workload, m.metric): m for m in brief.defaults(full.marks)}
    assert by[("json", "wall_seconds")].better == "rust"
    assert by[("logparse", "wall_seconds")].better == "go"
    assert by[("sha256", "wall_seconds")].better is None
    assert by[("http-json", brief.P99)].where == "at 6,000 req/s"  # highest clean common rate
    assert by[("kv-cache", brief.SATURATION)].better == "rust"
    assert 3 <= len(full.sentences) <= 5
    assert full.sentences[1].startswith("Largest difference: http-json p99 latency at 6,000")
    assert any(s.startswith("Go ahead:") for s in full.sentences)
    assert full.failures == ()
    assert full.decision is None  # no team scores: no lean


def test_the_chart_has_one_svg_mark_per_default_pair_and_metric(full):
    svg = brief.overview_svg(full)
    assert len(re.findall(r'id="overview-mark-default-\d+"', svg)) == DEFAULT_MARKS
    assert len(re.findall(r'id="overview-mark-variant-\d+"', svg)) == 21
    assert "1×" in svg and "not significant" in svg


def test_the_chart_draws_significant_and_non_significant_marks_differently():
    points = [
        charts.RatioPoint("a", "wall time", 2.0, 1.9, 2.1, True, "rust"),
        charts.RatioPoint("b", "wall time", 1.1, 0.9, 1.3, False, None),
    ]
    svg = charts.overview(points)
    filled = re.search(r'<g id="overview-mark-default-0">(.*?)</g>', svg, re.S).group(1)
    hollow = re.search(r'<g id="overview-mark-default-1">(.*?)</g>', svg, re.S).group(1)
    assert charts.COLOURS["rust"] in filled and "fill: #ffffff" not in filled
    assert "fill: #ffffff" in hollow and charts.NOT_SIGNIFICANT in hollow


# --- failures and one language ---------------------------------------------------------------------


def test_failed_and_diverging_workloads_are_listed_as_failed_never_as_ratios():
    found = run_brief(failing_run())
    assert found.failures[0] == (
        "json: checksum mismatch: rust/default printed ff, go/default printed 00000000deadbeef"
    )
    assert any(f.startswith("gzip: failed — go/default") for f in found.failures)
    assert any(
        f.startswith("logparse rust/memchr: failed — exit status 101") for f in found.failures
    )
    assert not any("×" in f for f in found.failures)
    assert {m.workload for m in found.marks} == {"logparse", "sha256"}
    assert not any(s for s in found.sentences if "json" in s or "gzip" in s)


def test_one_language_run_says_there_is_nothing_to_compare():
    run = go_only_run()
    found = run_brief(run)
    assert found.nothing == "Nothing to compare: only Go was measured."
    assert found.sentences == ()
    assert brief.overview_svg(found) is None
    html = render(build_context(run))
    top = html[html.index('<section id="brief"') : html.index("</section>")]
    assert "Nothing to compare: only Go was measured." in top
    assert "overview-mark" not in html


def test_the_report_opens_with_the_brief(full):
    html = render(build_context(full_like_run()))
    top = html[html.index('<section id="brief"') : html.index("</section>")]
    assert html.index('<section id="brief"') < html.index('<section id="summary"')
    assert 'data-default-marks="19"' in top
    for sentence in full.sentences:
        assert sentence.replace("'", "&#39;") in top
    assert "go1.26.8; rustc 1.95.0" in top and "full, 10 rounds, 7 workloads" in top
    assert "Noise:" in top


def test_with_team_scores_the_brief_gives_the_lean_and_its_dominant_categories():
    scores = {**dict.fromkeys(CATEGORY_NAMES, 3), "latency_determinism": 5, "resource_cost": 4}
    team = parse_team_config({"scores": scores}, "team.toml")
    found = run_brief(full_like_run(), team=team)
    assert found.decision == (
        "Decision matrix (team scores from team.toml): lean Rust; dominant: Latency determinism "
        "requirement (Rust pull 3, Go pull 0)."
    )


def test_noise_line_counts_warnings_and_noisy_series():
    run = full_like_run()
    line = brief.noise_text(run_noise(run, 0.05), analyse_run(run))
    assert line.endswith("no warnings, no series above 5 % CV.")


def run_brief(run, team=None):
    """The brief from the run's one analysis pass, as the report and `export --brief` build it."""
    return brief.build_brief(analyse(run, team=team))


# --- the Markdown brief ----------------------------------------------------------------------------


def test_markdown_brief_writes_the_chart_beside_it(tmp_path):
    run = full_like_run()
    text, written = write_brief(analyse(run), tmp_path)
    names = [p.name for p in written]
    assert names == [
        f"{run.run_id}-brief.md",
        f"{run.run_id}-overview.png",
        f"{run.run_id}-overview.svg",
    ]
    assert (tmp_path / names[0]).read_text() == text
    assert f"![{brief.CHART_TITLE}]({run.run_id}-overview.png)" in text
    assert (tmp_path / names[1]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / names[2]).read_text().count('id="overview-mark-default-') == DEFAULT_MARKS
    assert "| json | wall time | 2.95× [2.90, 3.03] | Rust 2.95× faster |" in text


def test_markdown_brief_of_a_failing_run_lists_failures_and_escapes_them(tmp_path):
    run = failing_run()
    json, *rest = run.workloads
    from dataclasses import replace

    run = replace(run, workloads=(replace(json, error="diverged | <b>x</b>"), *rest))
    text, _ = write_brief(analyse(run), tmp_path)
    assert "- FAILED json: checksum mismatch — diverged \\| &lt;b&gt;x&lt;/b&gt;" in text
    assert "| json |" not in text


def test_markdown_brief_of_one_language_has_no_chart(tmp_path):
    text, written = write_brief(analyse(go_only_run()), tmp_path)
    assert "**Nothing to compare: only Go was measured.**" in text
    assert [p.suffix for p in written] == [".md"]


def test_cli_export_brief_prints_and_writes(tmp_path, capsys):
    run = full_like_run()
    save_run(run, tmp_path / "results")
    out = tmp_path / "out"
    code = cli.main(
        ["--results-dir", str(tmp_path / "results"), "export", "--brief", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.startswith(f"## Go vs Rust: run {run.run_id}")
    assert f"wrote {out / (run.run_id + '-overview.png')}" in captured.err
    assert (out / f"{run.run_id}-brief.md").read_text() == captured.out


def test_export_brief_says_what_the_reports_brief_says(tmp_path, capsys):
    # Both come from the run's one analysis pass with the same team scores: every sentence, the
    # noise line and the decision's lean of the report's first page are in the Markdown brief.
    run = full_like_run()
    save_run(run, tmp_path / "results")
    team = tmp_path / "team.toml"
    team.write_text(
        "[scores]\n"
        + "".join(
            f"{name} = {5 if name == 'latency_determinism' else 3}\n" for name in CATEGORY_NAMES
        )
    )
    argv = ["--results-dir", str(tmp_path / "results"), "export", "--brief", "--team", str(team)]
    assert cli.main([*argv, "--out", str(tmp_path / "out")]) == 0
    markdown = capsys.readouterr().out
    page = build_context(run, team=load_team_config(team))["brief"]
    assert page["decision"] and page["decision"] in markdown
    assert page["noise"] in markdown
    for sentence in page["sentences"]:
        assert sentence in markdown


def test_cli_export_brief_refuses_another_format(tmp_path, capsys):
    save_run(full_like_run(), tmp_path)
    code = cli.main(["--results-dir", str(tmp_path), "export", "--brief", "--format", "csv"])
    assert code == 2
    assert "--brief writes Markdown, not csv" in capsys.readouterr().err


def test_a_server_without_a_clean_common_rate_is_said_to_have_no_p99_ratio():
    from dataclasses import replace

    from builders import replicated, server_workload

    go = replicated(3000.0, achieved=[2000.0, 2000.0], p99=[0.01, 0.01])  # below 99 % of offered
    rust = replicated(3000.0, achieved=[3000.0, 3000.0], p99=[0.001, 0.001])
    go += replicated(None, achieved=[5000.0, 5100.0])
    rust += replicated(None, achieved=[9000.0, 9100.0])
    run = full_like_run()
    run = replace(run, workloads=(*run.workloads[:1], server_workload(go, rust, name="api")))
    found = run_brief(run)
    assert {m.metric for m in found.marks if m.workload == "api"} == {brief.SATURATION}
    assert found.gaps == (
        "api: no Go/Rust p99 latency ratio (no rate every replicate on both sides held).",
    )


def test_a_run_of_fewer_than_six_rounds_says_no_batch_difference_can_be_called():
    from dataclasses import replace

    from builders import run_config

    run = full_like_run()
    quick = replace(run, config=run_config(size="quick", repetitions=3))
    assert brief.few_rounds_sentence(quick) == (
        "With 3 rounds the smallest possible signed-rank p is 0.25, so no batch difference can "
        "be called: read these ratios as indications (a full run can call them)."
    )
    assert brief.few_rounds_sentence(replace(run, config=run_config(repetitions=6))) is None
    assert brief.few_rounds_sentence(run) is None  # 10 rounds
    found = run_brief(quick)  # the fixture's 10 recorded repetitions still analyse the same
    assert found.sentences[1].startswith("With 3 rounds")


def test_the_report_brief_of_a_failing_run_lists_the_failures_and_charts_only_the_rest():
    html = render(build_context(failing_run()))
    top = html[html.index('<section id="brief"') : html.index("</section>")]
    failed = top[top.index('<div class="failures"') :]
    failed = failed[: failed.index("</div>")]
    assert "json: checksum mismatch: rust/default printed ff" in failed
    assert "gzip: failed — go/default: repetition 3 failed" in failed
    assert "×" not in failed
    assert 'data-default-marks="6"' in top  # logparse and sha256: wall, CPU, memory each
    assert len(re.findall(r'id="overview-mark-default-\d+"', top)) == 6


def test_a_server_measured_without_probes_is_said_to_have_none():
    from dataclasses import replace

    from builders import replicated, server_workload

    go = replicated(3000.0, achieved=[3000.0, 3000.0], p99=[0.01, 0.012])
    rust = replicated(3000.0, achieved=[3000.0, 3000.0], p99=[0.001, 0.0011])
    run = full_like_run()
    run = replace(run, workloads=(server_workload(go, rust, name="api"),))
    found = run_brief(run)
    assert [m.metric for m in found.marks] == [brief.P99]
    assert found.gaps == (
        "api: no Go/Rust saturation ratio (no closed-loop probe was measured on both sides).",
    )


def test_a_workload_with_one_language_beside_compared_ones_is_named():
    from dataclasses import replace

    run = full_like_run()
    json = run.workloads[0]
    go_only = replace(
        json, name="own", implementations=tuple(i for i in json.implementations if i.lang == "go")
    )
    found = run_brief(replace(run, workloads=(json, go_only)))
    assert found.nothing is None
    assert {m.workload for m in found.marks} == {"json"}
    assert found.gaps == ("own: only Go has a default here, nothing to compare.",)
