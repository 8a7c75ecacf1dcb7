"""Render the report in a real headless Chromium (Debian's package, installed by `make test`):
no console errors, every chart drawn with a real size, no request leaves the file, and a full-page
screenshot is kept in .cache/screenshots/ for a person to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from builders import small_run, sweep_run
from profile_builders import profile_run

from harness import profile_report, store
from harness.report import write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = "chromium is not installed (make test installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def _render(browser, run, tmp_path, name: str, profile=None) -> list[str]:
    """Open the run's report in Chromium, check it (console, charts, requests), keep a screenshot
    and a PDF named `name`, and return the page's section headings."""
    path = write_report(run, tmp_path, profile=profile)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    sizes = page.evaluate(
        "Array.from(document.querySelectorAll('figure svg')).map(s => {"
        " const r = s.getBoundingClientRect(); return [r.width, r.height, s.querySelectorAll('path').length]; })"
    )
    screenshots = ROOT / ".cache" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=str(screenshots / f"{name}.pdf"), format="A4", print_background=True)
    assert problems == []
    assert sizes, "the report has no charts"
    for width, height, paths in sizes:
        assert width > 200 and height > 100 and paths > 5
    assert [u for u in requests if not u.startswith("file://")] == []
    return page.evaluate(
        "Array.from(document.querySelectorAll('h2')).map(h => h.textContent.trim())"
    )


def test_report_renders_cleanly_in_chromium(browser, tmp_path):
    headings = _render(browser, small_run(), tmp_path, "report")
    for section in (
        "Summary",
        "GC and memory",
        "Capacity and cost projection",
        "Decision matrix",
        "Methodology and caveats",
    ):
        assert section in headings
    assert "Scaling" not in headings


def test_a_sweep_report_draws_its_scaling_charts_in_chromium(browser, tmp_path):
    headings = _render(browser, sweep_run(), tmp_path, "report-sweep")
    assert headings.index("Summary") + 1 == headings.index("Scaling")


def test_the_cpu_profile_section_draws_its_flame_graphs_in_chromium(browser, tmp_path):
    run = small_run()
    store.save_profile(profile_run(run_id=run.run_id), tmp_path / "results")
    found = profile_report.find_profile(tmp_path / "results", run.run_id)
    headings = _render(browser, run, tmp_path, "report-profile", profile=found)
    assert headings.index("GC and memory") + 1 == headings.index("Where the CPU time goes")
