"""The report's Concurrency section renders the analysis bundle: speedup and efficiency with CIs,
per-item costs, the CPU the harness and machine took, and published figures beside ours."""

from __future__ import annotations

from dataclasses import replace

from analysis.test_concurrency import cpus_run, point  # noqa: F401  (shared hand-computed data)
from builders import run

from harness.model import PublishedFigure
from harness.report.html import build_context, render

PUBLISHED = PublishedFigure(
    source="Someone 2023",
    url="https://example.org/post",
    metric="peak_rss_bytes",
    go=2_658e6,
    rust=213.6e6,
    params={"documents": 400},
    differs="idle tasks, 10 s sleep",
)


def test_the_section_shows_speedup_efficiency_costs_and_published_figures():
    with_published = run([replace(w, published=(PUBLISHED,)) for w in cpus_run().workloads])
    html = render(build_context(with_published))
    section = html[
        html.index('<section id="concurrency">') : html.index('<section id="build-ops">')
    ]
    assert "1.60 [" in section  # Go's speedup at 2 CPUs: 2.0 s / 1.25 s, with its CI
    assert "0.80 [" in section  # its efficiency
    assert section.count("<svg") == 2  # speedup and efficiency charts
    assert "1 ms [950 µs, 1.05 ms]" in section  # Rust at 1 CPU: 1.0 s / 1000 items
    assert '<td class="num">1,000</td>' in section
    assert "Someone 2023" in section and "idle tasks, 10 s sleep" in section
    assert "Go/Rust 12.4×" in section  # theirs: 2658 / 213.6
    assert 'href="#concurrency"' in html


def test_no_section_without_concurrency_figures():
    from builders import small_run

    html = render(build_context(small_run()))
    assert '<section id="concurrency">' not in html


def test_published_figures_survive_the_results_file(tmp_path):
    from harness.store.results import load_run, save_run

    with_published = run([replace(w, published=(PUBLISHED,)) for w in cpus_run().workloads])
    path = save_run(with_published, tmp_path)
    assert load_run(path).workloads[0].published == (PUBLISHED,)
