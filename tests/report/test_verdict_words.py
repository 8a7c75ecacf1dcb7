"""Verdict words that are true: where the test could not have called a difference with the rounds
run, every reader says "too few rounds to test (n = 5)" beside the ratio and its CI, never "no
significant difference"; with enough rounds and no difference, they still say the latter.

Through the real path: run_suite with the scripted executor, then the run summary `harness run`
prints, the HTML report, the Markdown brief and the Markdown export."""

from __future__ import annotations

import re

from builders import machine, outcome, run_config, workload
from fakes import FakeBuilder, FakeExecutor

from harness.analysis import stats
from harness.analysis.bundle import analyse
from harness.cli.summary import print_summary
from harness.measure.runner import run_suite
from harness.report.export import export_markdown, write_brief
from harness.report.html import build_context, render

GO, RUST = "/bin/go-default", "/bin/rust-default"
TOO_FEW = "too few rounds to test (n = 5)"


def measured(tmp_path, go_walls, rust_walls):
    """A run of one batch pair whose rounds took the given wall times (seconds)."""
    executor = FakeExecutor(
        {
            GO: [outcome(wall=w, user=w * 0.9) for w in go_walls],
            RUST: [outcome(wall=w, user=w * 0.9) for w in rust_walls],
        }
    )
    run, _ = run_suite(
        [workload("one", args=("{depth}",), with_input=False)],
        run_config(warmups=0, repetitions=len(go_walls)),
        machine(),
        FakeBuilder(),
        executor,
        tmp_path / "results",
        tmp_path / "cache",
    )
    return run


def readers(run, tmp_path, capsys) -> dict[str, str]:
    """What each reader says of the run: the console summary, the report, the brief, Markdown."""
    print_summary(run)
    summary = capsys.readouterr().out
    bundle = analyse(run)
    page = render(build_context(run))
    text, _ = write_brief(bundle, tmp_path)
    return {"summary": summary, "report": page, "brief": text, "markdown": export_markdown(bundle)}


def test_five_rounds_of_a_250x_ratio_are_too_few_to_test_in_every_reader(tmp_path, capsys):
    assert not stats.testable(stats.wilcoxon_p, 5)  # smallest two-sided p: 2 / 2**5 = 0.0625
    run = measured(tmp_path, [250.0, 251.0, 249.0, 252.0, 248.0], [1.0, 1.002, 0.998, 1.004, 0.996])
    (comparison,) = (c for c in analyse(run).workloads[0].comparisons if c.metric == "wall_seconds")
    assert comparison.rounds == 5 and not comparison.testable and not comparison.significant
    assert comparison.ci_low is not None and comparison.ci_low > 200  # the CI is far from 1
    for name, said in readers(run, tmp_path, capsys).items():
        assert TOO_FEW in said, name
        assert "no significant difference" not in said, name
        # ...with the ratio and its CI beside it
        assert re.search(r"250\.\d\d× \[\d+\.\d\d, \d+\.\d\d\]", said), name


def test_enough_rounds_and_no_difference_still_say_no_significant_difference(tmp_path, capsys):
    rust = [1.0] * 12
    go = [1.0 + 0.01 * ((-1) ** i) * (1 + i % 3) for i in range(12)]  # either side of 1 by turns
    run = measured(tmp_path, go, rust)
    (comparison,) = (c for c in analyse(run).workloads[0].comparisons if c.metric == "wall_seconds")
    assert comparison.rounds == 12 and comparison.testable and not comparison.significant
    for name, said in readers(run, tmp_path, capsys).items():
        assert "no significant difference" in said, name
        assert "too few rounds" not in said, name
