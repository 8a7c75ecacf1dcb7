"""The correctness block: each race-check status and each unsafe count in words, rendered in the
real report page; no block for a run without concurrent workloads."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from builders import impl_result, run, small_run, workload_result

from harness.measure.race import first_race_report
from harness.model import RaceCheck, UnsafeCount
from harness.report.correctness import correctness_block
from harness.report.html import build_context, render

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPORT = first_race_report((FIXTURES / "race_detector" / "server_go1.26.txt").read_text())
CHECKS = (
    RaceCheck(
        lang="go",
        variant="default",
        status="clean",
        exercised="start-up, /health, then 1,912 requests of streams get-records",
        build_seconds=1.1,
        run_seconds=2.3,
    ),
    RaceCheck(lang="go", variant="racy", status="race", report=REPORT, run_seconds=0.8),
    RaceCheck(
        lang="go",
        variant="nocgo",
        status="not run",
        reason="the race build needs cgo, and CGO_ENABLED=0 is set in the environment",
    ),
    RaceCheck(
        lang="go",
        variant="slow",
        status="failed",
        reason="timed out after 60 s under the race detector",
    ),
)
COUNTS = (
    UnsafeCount(
        lang="rust",
        variant="default",
        count=3,
        by_kind={"block": 2, "impl": 1},
        files=("crates/kv/src/main.rs", "crates/serve/src/lib.rs"),
    ),
    UnsafeCount(lang="rust", variant="std", count=0, files=("crates/kv-std/src/main.rs",)),
    UnsafeCount(lang="rust", variant="gone", count=None, reason="cannot read cargo dep-info x.d"),
)


def checked_run():
    impls = [impl_result("go"), impl_result("rust")]
    result = replace(
        workload_result("kv", impls, category="server"), race_checks=CHECKS, unsafe_counts=COUNTS
    )
    return run([result])


def test_every_status_in_words():
    block = correctness_block(checked_run())
    assert block.present
    rows = {(r.key, r.verdict): r for r in block.rows}
    assert list(rows) == [
        ("go/default", "race detector: clean"),
        ("go/racy", "race detector: DATA RACE"),
        ("go/nocgo", "race detector: not run"),
        ("go/slow", "race detector: check failed"),
        ("rust/default", "compiler-checked Send/Sync; unsafe in own source: 3"),
        ("rust/std", "compiler-checked Send/Sync; unsafe in own source: 0"),
        ("rust/gone", "compiler-checked Send/Sync; unsafe in own source: not counted"),
    ]
    clean = rows["go/default", "race detector: clean"]
    assert clean.detail == (
        "start-up, /health, then 1,912 requests of streams get-records; race build 1.1 s, run 2.3 s"
    )
    racy = rows["go/racy", "race detector: DATA RACE"]
    assert racy.failed and racy.report == REPORT
    assert rows["go/nocgo", "race detector: not run"].detail.endswith(
        "CGO_ENABLED=0 is set in the environment"
    )
    assert rows["go/slow", "race detector: check failed"].detail.startswith("timed out after 60 s")
    counted = rows["rust/default", "compiler-checked Send/Sync; unsafe in own source: 3"]
    assert counted.detail == (
        "2 unsafe blocks, 1 unsafe impl; in 2 files (crates/kv/src/main.rs, "
        "crates/serve/src/lib.rs); dependencies not counted"
    )
    assert rows["rust/std", "compiler-checked Send/Sync; unsafe in own source: 0"].detail == (
        "in 1 file (crates/kv-std/src/main.rs); dependencies not counted"
    )
    assert not any(r.failed for r in block.rows if r.key != "go/racy")


def _section(page: str) -> str:
    start = page.index('<section id="correctness">')
    return page[start : page.index("</section>", start)]


def test_the_block_renders_in_the_report():
    section = _section(render(build_context(checked_run())))
    text = re.sub(r"\s+", " ", section)
    for words in (
        "race detector: clean",
        "<strong>race detector: DATA RACE</strong>",
        "race detector: not run",
        "race detector: check failed",
        "compiler-checked Send/Sync; unsafe in own source: 3",
        "unsafe in own source: not counted",
        "cannot read cargo dep-info x.d",
        "dependencies not counted",
        "covers only the code paths it exercised",
        "Send (to move) or Sync (to share)",
    ):
        assert words in text, words
    assert "<pre>WARNING: DATA RACE\nRead at 0x00c0000182b8 by goroutine 15:" in section
    assert section.count('class="failed-row"') == 2  # the racy row and its report


def test_no_block_without_checks():
    assert not correctness_block(small_run()).present
    assert 'id="correctness"' not in render(build_context(small_run()))
