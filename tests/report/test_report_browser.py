"""Render the report in a real headless Chromium (Debian's package, installed by `make test`):
no console errors, every chart drawn with a real size, no request leaves the file, and a full-page
screenshot is kept in .cache/screenshots/ for a person to look at. The brief (the first page) is
checked at 1280x800 and in print: it fits the first screen and the first A4 page, its chart has
one mark per default pair and metric, and no element is wider than the page. The report of a real
quick run of the whole default suite (tests/fixtures/real-quick-run.json.gz) is checked the same
way, every <details> open, and for its folded sections: closed, opened by any in-page link, printed
open."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from brief_fixtures import DEFAULT_MARKS, failing_run, full_like_run, go_only_run
from builders import small_run, spread_phase, sweep_run, topology
from profile_builders import profile_run

from harness.analysis.decision import CATEGORY_NAMES, parse_team_config
from harness.report import profiles as profile_report
from harness.report.html import write_report
from harness.store import results as store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
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


# A4 at 96 CSS px per inch, less report.css's 12 mm @page margins: the printed page's content box.
MM = 96 / 25.4
PRINT_WIDTH_PX = round((210 - 2 * 12) * MM)  # 703
PRINT_HEIGHT_PX = round((297 - 2 * 12) * MM)  # 1032

# Every element whose box reaches past the page's right edge, named by a selector from its nearest
# ancestor with an id, with its width and a little of its text. Inside an SVG only the svg counts (it
# is scaled as a whole). On screen (`onScreen` true) only a scroll box counts, not what scrolls
# inside it: a wide table scrolls within its box, not the page. On paper nothing scrolls, so all count.
WIDER_THAN_PAGE = """(onScreen) => {
  const limit = document.documentElement.clientWidth + 0.5;
  const selector = (e) => {
    const parts = [];
    for (let n = e; n && n !== document.body; n = n.parentElement) {
      if (n.id) { parts.unshift(`#${n.id}`); break; }
      const same = Array.from(n.parentElement.children).filter(c => c.tagName === n.tagName);
      parts.unshift(same.length > 1 ? `${n.tagName.toLowerCase()}:nth-of-type(${same.indexOf(n) + 1})`
                                    : n.tagName.toLowerCase());
    }
    return parts.join(' > ');
  };
  const clipped = (e) => {
    for (let n = e.parentElement; n && n !== document.body; n = n.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(n).overflowX)) return true;
    }
    return false;
  };
  const found = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('svg') && e.tagName.toLowerCase() !== 'svg') continue;
    if (onScreen && clipped(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > limit) {
      found.push(`${selector(e)}: ${Math.round(r.width)} px wide, right edge at ${Math.round(r.right)}`
        + ` of ${Math.round(limit)}: ${(e.textContent || '').trim().slice(0, 60)}`);
    }
  }
  if (document.documentElement.scrollWidth > document.documentElement.clientWidth) {
    found.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px`);
  }
  return found;
}"""


def _open_every_details(page) -> None:
    """Collapsed tables (every server phase) must fit too, once a reader opens them."""
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")


def _failing_with_team():
    """The long case: three failure lines and a decision line beside the chart."""
    full, failing = full_like_run(), failing_run()
    run = replace(full, workloads=failing.workloads + full.workloads[4:])
    scores = {**dict.fromkeys(CATEGORY_NAMES, 3), "latency_determinism": 5, "resource_cost": 4}
    return run, parse_team_config({"scores": scores}, "team.toml"), 13


@pytest.mark.parametrize(
    "case",
    [lambda: (full_like_run(), None, DEFAULT_MARKS), _failing_with_team],
    ids=["full", "failing"],
)
def test_the_brief_is_the_first_screen_and_page_and_nothing_is_wider_than_the_page(
    browser, tmp_path, case
):
    run, team, expected_marks = case()
    path = write_report(run, tmp_path, team=team)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.resolve().as_uri())
    screenshots = ROOT / ".cache" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshots / f"brief-1280x800-{run.workloads[0].name}.png"))

    marks = page.evaluate(
        "document.querySelectorAll('#brief svg [id^=\"overview-mark-default-\"]').length"
    )
    assert marks == expected_marks
    assert page.get_attribute("#brief figure.overview", "data-default-marks") == str(marks)
    bottom = page.evaluate("document.querySelector('#brief .brief').getBoundingClientRect().bottom")
    assert bottom <= 800, f"the brief ends at {bottom:.0f} px, below the first screen"
    _open_every_details(page)
    assert page.evaluate(WIDER_THAN_PAGE, True) == []

    page.emulate_media(media="print")
    page.set_viewport_size({"width": PRINT_WIDTH_PX, "height": PRINT_HEIGHT_PX})
    height = page.evaluate("document.querySelector('#brief').getBoundingClientRect().bottom")
    assert height <= PRINT_HEIGHT_PX, (
        f"the brief needs {height:.0f} px of a {PRINT_HEIGHT_PX} px page"
    )
    assert page.evaluate(WIDER_THAN_PAGE, False) == []
    pdf = screenshots / f"brief-{run.workloads[0].name}.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    page.close()
    pdftotext = shutil.which("pdftotext")  # poppler-utils, which `make browser` installs
    if pdftotext is None and os.environ.get("CI"):
        pytest.fail("pdftotext is not installed (make test installs Debian's poppler-utils)")
    if pdftotext:  # outside CI, without it the layout checks above stand alone
        first, second = (
            subprocess.run(
                [pdftotext, "-f", str(n), "-l", str(n), str(pdf), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for n in (1, 2)
        )
        assert "At a glance" in first and f"Of {expected_marks} Go/Rust comparisons" in first
        assert second.lstrip().startswith("Summary")  # the brief has the first page to itself


def _multi_host(run):
    """`run` as if its load came from two other hosts: a topology, and every server phase split."""
    spread = [
        replace(
            w,
            implementations=tuple(
                replace(i, phases=tuple(spread_phase(p) for p in i.phases))
                for i in w.implementations
            ),
        )
        for w in run.workloads
    ]
    return replace(run, topology=topology(), workloads=tuple(spread))


def test_a_multi_host_report_keeps_its_brief_on_the_first_page_and_folds_the_shares(
    browser, tmp_path
):
    """The topology sentence still leaves the brief on the first screen and the first A4 page;
    the hosts table and the per-host shares fit the page once opened, and the shares' fold has
    the same marker as every other fold."""
    path = write_report(_multi_host(full_like_run()), tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.resolve().as_uri())
    assert page.inner_text("#brief .topology").startswith("Load came from 2 other hosts")
    bottom = page.evaluate("document.querySelector('#brief .brief').getBoundingClientRect().bottom")
    assert bottom <= 800, f"the brief ends at {bottom:.0f} px, below the first screen"
    marker = """Array.from(document.querySelectorAll('details.fold > summary > h3'))
      .map(h => getComputedStyle(h, '::before').content)"""
    markers = page.evaluate(marker)
    assert markers and set(markers) == {'"▸" / ""'}
    _open_every_details(page)
    assert set(page.evaluate(marker)) == {'"▾" / ""'}
    assert page.evaluate(WIDER_THAN_PAGE, True) == []
    page.emulate_media(media="print")
    page.set_viewport_size({"width": PRINT_WIDTH_PX, "height": PRINT_HEIGHT_PX})
    height = page.evaluate("document.querySelector('#brief').getBoundingClientRect().bottom")
    assert height <= PRINT_HEIGHT_PX, (
        f"the brief needs {height:.0f} px of a {PRINT_HEIGHT_PX} px page"
    )
    assert page.evaluate(WIDER_THAN_PAGE, False) == []
    page.close()


def test_a_one_language_report_says_there_is_nothing_to_compare_in_chromium(browser, tmp_path):
    path = write_report(go_only_run(), tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(path.resolve().as_uri())
    assert page.inner_text("#brief .nothing") == "Nothing to compare: only Go was measured."
    assert page.evaluate("document.querySelectorAll('[id^=\"overview-mark-\"]').length") == 0
    page.close()


# --- the report of a real quick run -------------------------------------------------------------

REAL_RUN = ROOT / "tests" / "fixtures" / "real-quick-run.json.gz"
REGENERATE = "regenerate it: make fixture-real-run (tests/real_run_fixture.py)"


@pytest.fixture(scope="module")
def real_report(tmp_path_factory) -> Path:
    """The report of a real quick run of the whole default suite (tests/fixtures/README.md), read by
    the real loader and rendered by the current report code: real runs have tables that invented
    fixtures lack."""
    folder = tmp_path_factory.mktemp("real-run")
    results = folder / "results.json"
    results.write_bytes(gzip.decompress(REAL_RUN.read_bytes()))
    run = store.load_run(results)
    suite = {p.stem for p in (ROOT / "workloads").glob("*.toml")}
    measured = {w.name.split("@")[0] for w in run.workloads}
    assert measured == suite, (
        f"the fixture measured {sorted(measured)}, the suite is {sorted(suite)}; {REGENERATE}"
    )
    assert run.config.size == "quick" and run.status == "complete"
    return write_report(run, folder)


def _page_height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def test_a_real_quick_runs_report_is_no_wider_than_the_screen_or_the_a4_page(browser, real_report):
    """Every <details> open, nothing reaches past the right edge at 1280x800 nor in print at the A4
    content width: a wide table scrolls inside its own box on screen, and wraps on paper."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(real_report.resolve().as_uri())
    folded = _page_height(page)
    _open_every_details(page)
    opened = _page_height(page)
    print(
        f"real quick run's report at 1280x800: {folded} px tall folded, {opened} px every details open"
    )
    assert page.evaluate(WIDER_THAN_PAGE, True) == []
    page.emulate_media(media="print")
    page.set_viewport_size({"width": PRINT_WIDTH_PX, "height": PRINT_HEIGHT_PX})
    assert page.evaluate(WIDER_THAN_PAGE, False) == []
    page.close()


SECTIONS = "document.querySelectorAll('body > section, body > details > section')"
OUTSIDE_A_FOLD = f"""Array.from({SECTIONS})
  .filter(s => !(s.parentElement.matches('details.fold') && s.parentElement.querySelector(':scope > summary > h2')))
  .map(s => s.id)"""
SHOWN = f"Array.from({SECTIONS}).filter(s => s.checkVisibility()).map(s => s.id)"


def test_a_real_report_folds_every_section_after_the_summary_and_a_link_opens_its_own(
    browser, real_report
):
    """Beyond the brief and the summary each section is a closed <details> whose summary is its
    heading, so the page is as tall as what a reader opened; every in-page link (the contents, the
    cross-references) opens the section it points into and lands with that section in view."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(real_report.resolve().as_uri())
    assert page.evaluate(OUTSIDE_A_FOLD) == ["brief", "summary"]
    assert page.evaluate(SHOWN) == ["brief", "summary"]
    folded = _page_height(page)
    _open_every_details(page)
    assert folded * 4 < _page_height(page)

    links = page.evaluate(
        "Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href'))"
    )
    assert len(links) > 20 and "#correctness" in links and "#concurrency" in links
    for index, href in enumerate(links):
        # as a reader finds it: everything folded but the sections around the link itself
        page.evaluate(
            """(i) => {
              const a = document.querySelectorAll('a[href^="#"]')[i];
              document.querySelectorAll('details').forEach(d => d.open = false);
              for (let n = a; n; n = n.parentElement) if (n.tagName === 'DETAILS') n.open = true;
              window.scrollTo(0, 0);
            }""",
            index,
        )
        page.locator('a[href^="#"]').nth(index).click()
        landed = page.evaluate(
            """(id) => {
              const target = document.getElementById(id);
              const fold = target.closest('details.fold');
              const heading = fold ? fold.querySelector(':scope > summary > h2') : target;
              const top = heading.getBoundingClientRect().top;
              return {shown: target.checkVisibility(), inView: top > -1 && top < innerHeight};
            }""",
            href[1:],
        )
        assert landed == {"shown": True, "inView": True}, href

    other = browser.new_page(viewport={"width": 1280, "height": 800})
    other.goto(real_report.resolve().as_uri() + "#hybrid")  # a link from elsewhere, or a bookmark
    assert other.evaluate("document.getElementById('hybrid').checkVisibility()")
    other.close()
    page.close()


def test_a_real_report_prints_every_section_open(browser, real_report, tmp_path):
    """Paper cannot unfold: in print every folded section is shown, down to the last one's table."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(real_report.resolve().as_uri())
    page.evaluate(
        "document.getElementById('hybrid').parentElement.open = true"
    )  # one a reader opened
    page.emulate_media(media="print")
    sections = page.evaluate(f"Array.from({SECTIONS}).map(s => s.id)")
    assert page.evaluate(SHOWN) == sections
    pdf = tmp_path / "real.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    page.close()
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None and os.environ.get("CI"):
        pytest.fail("pdftotext is not installed (make test installs Debian's poppler-utils)")
    if pdftotext:
        text = subprocess.run(
            [pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Per-run timeout" in text  # a row of the last section's table
        assert "▸" not in text and "▾" not in text  # no fold markers on paper
