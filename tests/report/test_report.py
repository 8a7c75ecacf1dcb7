import json
import re
from dataclasses import replace

import pytest
from builders import (
    cpu_window,
    impl_result,
    noise_run,
    repetition,
    run,
    small_run,
    system_state,
    workload_result,
)

from harness.report.html import build_context, render, write_report

EVIL = "Parses <script>alert(1)</script> & friends"


def report_run():
    base = small_run()
    demo = base.workloads[0]
    failed_variant = impl_result(
        "rust",
        "fast",
        reps=[repetition(rep=0, wall=3.0), repetition(rep=1, ok=False, error="exit status 101")],
        status="failed",
        error="repetition 2 failed: exit status 101: index out of bounds",
        library="fastlib 1.0",
    )
    demo = replace(demo, description=EVIL, implementations=(*demo.implementations, failed_variant))
    go = impl_result("go", reps=[repetition(rep=i, wall=7.77) for i in range(2)])
    rust = impl_result(
        "rust",
        reps=[repetition(rep=i, wall=3.33, checksum="ff") for i in range(2)],
        status="checksum_mismatch",
        error="checksum mismatch: rust/default printed ff, go/default printed 00000000deadbeef",
    )
    bad = workload_result(
        name="bad",
        category="compression",
        impls=[go, rust],
        status="checksum_mismatch",
        error=rust.error,
    )
    return replace(base, workloads=(demo, bad))


@pytest.fixture(scope="module")
def html():
    return render(build_context(report_run()))


def test_medians_formatted(html):
    # Go walls 1.0, 1.1 s -> 1.05 s; Rust 0.5, 0.6 s -> 550 ms; peak RSS 50 MiB and 20 MiB
    for text in ("1.05 s", "550 ms", "50 MiB", "20 MiB"):
        assert text in html


def test_rust_has_no_gc_and_go_has_gc_figures(html):
    assert "no GC" in html
    context = build_context(report_run())
    rows = {r["key"]: r for r in context["workloads"][0]["rows"]}
    assert rows["rust/default"]["gc"]["count"] == "no GC"
    assert rows["go/default"]["gc"]["count"] == "2"
    assert rows["go/default"]["gc"]["total"] == "4 ms"  # 1 ms + 3 ms per repetition
    assert rows["go/default"]["gc"]["max"] == "3 ms"


def test_failures_are_shown(html):
    assert "repetition 2 failed: exit status 101: index out of bounds" in html
    assert "CHECKSUM_MISMATCH" in html
    assert "checksum mismatch: rust/default printed ff" in html


def test_mismatched_pair_shows_no_numbers(html):
    assert "7.77" not in html
    assert "3.33" not in html
    context = build_context(report_run())
    bad = context["workloads"][1]
    assert bad["comparisons"] == []
    assert bad["charts"] == []


def test_chart_is_inline_svg(html):
    assert "<svg" in html
    section = html[html.index('id="workload-demo"') :]
    section = section[: section.index("</section>")]
    assert section.count("<figure") == 1  # only the ok workload gets a chart
    # ... plus the GC pause distribution of the Go runs and the brief's overview of the ratios
    assert html.count("<figure") == 3
    assert html.count('<figure class="overview"') == 1


def test_user_text_is_escaped(html):
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in html
    assert re.search(r"<\s*script", html, re.IGNORECASE) is None


def test_self_contained(html):
    assert re.search(r"<link\b", html, re.IGNORECASE) is None
    assert re.search(r"<(script|img|iframe)[^>]*\bsrc\s*=", html, re.IGNORECASE) is None
    assert re.search(r"\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE) is None
    assert re.search(r"url\(\s*[\"']?\s*(https?:)?//", html, re.IGNORECASE) is None
    assert "@import" not in html
    # any absolute URL left is an XML namespace or RDF identifier, never something fetched
    for match in re.finditer(r"(\S+)=\"https?://", html):
        assert match.group(1).startswith(("xmlns", "rdf:")), match.group(0)


def test_write_report(tmp_path):
    run_value = report_run()
    path = write_report(run_value, tmp_path, debug=True)
    assert path == tmp_path / f"{run_value.run_id}.html"
    assert (tmp_path / "latest.html").read_bytes() == path.read_bytes()
    context = json.loads(path.with_suffix(".context.json").read_text())
    assert context["run_id"] == run_value.run_id


def test_empty_run_renders():
    text = render(build_context(run([], status="interrupted")))
    assert "interrupted" in text
    assert "not finished" in text


def test_noise_section_shows_the_machine_state_and_each_workloads_figures():
    noisy = noise_run(go_growth=0.2, window=cpu_window(measured_steal=30), system=system_state())
    page = render(build_context(noisy))
    section = page[page.index('<h3 id="noise">') : page.index("<h3>Build flags</h3>")]
    for text in (
        "<td>performance (cpu 0); powersave (cpu 1)</td>",
        "cpu 0: now 2900 MHz, max 3500 MHz; cpu 1: now 1200 MHz, max 3500 MHz",
        "<td>off (control: notsupported)</td>",
        "<td>madvise</td>",
        "<td>full (2)</td>",
        '<th scope="row">Isolated CPUs</th><td>none</td>',
        '<th scope="row">Boost / turbo</th><td>not readable</td>',
        "0.25, 0.50, 0.75 (1, 5, 15 min)",
        "CPU frequency governor is powersave on cpu 1, not performance",
        # 30 steal ticks of 2000: 1.5 %, all on cpu 0 (3 % of its 1000)
        "<td>1.5 % (most on cpu 0: 3.0 %)</td><td>0.0 % of cpu 0</td><td>0.0 % of cpu 1</td>",
        '<td>go/default</td><td class="num">+18.9 %</td><td class="num">[+13.4 %, +22.9 %]'
        '</td><td class="num">5.3e-06</td>',
        "spread 0.5 %: slowest position 0, fastest 1 (Kruskal-Wallis p=0.98, 24 repetitions)",
        "demo: go/default wall time drifted +18.9 % across the run",
        "demo: CPU steal took 1.5 % of the run&#39;s CPU time",
    ):
        assert text in section


def test_noise_section_of_a_run_written_before_the_readings_says_not_recorded():
    page = render(build_context(small_run()))
    section = page[page.index('<h3 id="noise">') : page.index("<h3>Build flags</h3>")]
    assert "Machine state: not recorded" in section
    assert '<td>demo</td><td class="num">not recorded</td><td>not recorded</td>' in section
    assert "no repetition with a recorded start time" in section
    assert 'class="warning"' not in section


def test_the_report_names_the_test_behind_go_rust_ratios(html):
    # analysis.compare pairs by round and uses the signed-rank test (stats.wilcoxon_p)
    assert "Wilcoxon signed-rank" in html
    assert "Mann-Whitney" not in html


def test_extras_such_as_compressed_sizes_are_shown_beside_the_times():
    """gzip's result line carries its phase times and compressed sizes in `extra`: the report
    shows them per implementation with their units (workloads/docs/gzip.md promises it)."""

    def reps(compressed):
        return [
            repetition(
                rep=i,
                extra={"compress_seconds": 0.2 + i / 100, "compressed_bytes": compressed},
            )
            for i in range(3)
        ]

    gz = workload_result(
        name="gz",
        category="compression",
        impls=[impl_result("go", reps=reps(358_463.0)), impl_result("rust", reps=reps(368_129.0))],
    )
    context = build_context(run(workloads=(gz,)))
    (w,) = context["workloads"]
    assert w["extra_keys"] == ["go/default", "rust/default"]
    cells = {r["fact"]: [c["median"] for c in r["cells"]] for r in w["extra_rows"]}
    assert cells == {
        "compress seconds": ["210 ms", "210 ms"],
        "compressed bytes": ["350 KiB", "360 KiB"],
    }
    html = render(context)
    section = html[html.index('id="workload-gz"') :]
    assert "compressed bytes" in section[: section.index("</section>")]
    assert "350 KiB" in section and "360 KiB" in section


def test_trend_section_says_what_each_step_could_have_seen():
    """'No significant step' alone reads as a pass; beside it the report shows the smallest
    change the last step's test could have called (and 'none of any size' when it could not)."""

    def trend_run(index: int, reps: int) -> object:
        go = impl_result("go", reps=[repetition(rep=i, wall=1.0 + 0.002 * i) for i in range(reps)])
        rust = impl_result(
            "rust", reps=[repetition(rep=i, wall=0.5 + 0.001 * i) for i in range(reps)]
        )
        return run([workload_result(impls=[go, rust])], run_id=f"2026010{index}T000000Z-000{index}")

    many = [trend_run(1, 10), trend_run(2, 10)]
    page = render(build_context(many[-1], history=many))
    section = page[
        page.index('<section id="trend">') : page.index("</section>", page.index('id="trend"'))
    ]
    assert "No significant step between consecutive runs." in section
    (line,) = re.findall(r"<li>demo: the last step could have called[^<]*</li>", section)
    assert re.search(r"go/default ≥ \d+\.\d %, rust/default ≥ \d+\.\d %", line)
    few = [trend_run(1, 3), trend_run(2, 3)]
    page = render(build_context(few[-1], history=few))
    assert "go/default none of any size, rust/default none of any size" in page


def test_methodology_says_where_the_runs_time_went_from_the_recorded_timings(html):
    from harness.model import WorkloadTiming

    assert "Where the run's time went" not in html  # no workload was timed
    base = small_run()
    timed = replace(
        base,
        workloads=(replace(base.workloads[0], timing=WorkloadTiming(90.0, 0.0, 2.0, 1500.0)),),
    )
    page = render(build_context(timed))
    assert "Where the run's time went" in page
    name = base.workloads[0].name
    section = page.split("Where the run's time went", 1)[1]
    row = re.search(rf"<tr><td>{re.escape(name)}</td>(.*?)</tr>", section).group(1)
    assert re.findall(r"<td>(.*?)</td>", row) == ["1.5 min", "0 s", "2 s", "25.0 min", "26.5 min"]


def test_a_defaults_only_run_says_the_variants_were_left_out(html):
    assert "--defaults-only" not in html
    base = small_run()
    smoke = replace(base, config=replace(base.config, defaults_only=True))
    page = render(build_context(smoke))
    assert "Go and Rust defaults only (--defaults-only, the smoke run)" in page
