"""Exporters: one function from a Run to text each, registered in one table.

Only measurements of implementations whose status is "ok" are exported as numbers; a workload whose
Go and Rust outputs diverged exports none (the Markdown names the failure instead).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from harness.analysis import replicates
from harness.analysis.bundle import RunAnalysis
from harness.analysis.summaries import WorkloadAnalysis, phase_metrics, repetition_metrics
from harness.model import Run
from harness.report import brief, formatting
from harness.report import topology as topology_report
from harness.store.results import write_atomic

GOARCH = {"x86_64": "amd64", "aarch64": "arm64"}  # uname -m -> Go's name for the architecture
TIDY_COLUMNS = [
    "workload",
    "category",
    "kind",
    "lang",
    "variant",
    "phase",
    "replicate",
    "rep",
    "metric",
    "unit",
    "value",
    "sweep_workload",
    "sweep_axis",
    "sweep_value",
    "sweep_numeric",
]


def tidy_frame(run: Run) -> pd.DataFrame:
    """One row per metric per repetition (batch) or per server phase: the long format pandas, R
    and spreadsheets expect. `replicate` numbers a server phase's replicate (1..k, each on a fresh
    server; empty for the selection pass and batch rows; 1 for the fixed-rate phases of files
    before replicated phases), so the k phases of one rate stay apart. The sweep_ columns place
    a `harness sweep` point on its axis (sweep_numeric empty for "off"); empty outside sweeps."""
    rows = []
    for workload in run.workloads:
        if workload.status == "checksum_mismatch":
            continue
        point = workload.sweep
        where = (
            (point.workload, point.axis, point.value, point.numeric)
            if point
            else (None, None, None, None)
        )
        for impl in workload.implementations:
            if impl.status != "ok":
                continue
            measured = replicates.measured_phases(impl)
            for phase in impl.phases:
                if not phase.ok or phase.phase == "warmup":
                    continue
                replicate = phase.replicate
                if replicate is None and any(phase is m for m in measured):
                    replicate = 1  # a file before replicated phases: each rate's one phase
                for metric in phase_metrics(phase):
                    rows.append(
                        (
                            workload.name,
                            workload.category,
                            workload.kind,
                            impl.lang,
                            impl.variant,
                            phase.phase,
                            replicate,
                            0,
                            metric.name,
                            metric.unit,
                            metric.value,
                            *where,
                        )
                    )
            for rep in impl.repetitions:
                if not rep.ok:
                    continue
                for metric in repetition_metrics(rep, workload.throughput):
                    rows.append(
                        (
                            workload.name,
                            workload.category,
                            workload.kind,
                            impl.lang,
                            impl.variant,
                            "",
                            None,
                            rep.rep,
                            metric.name,
                            metric.unit,
                            metric.value,
                            *where,
                        )
                    )
    frame = pd.DataFrame(rows, columns=TIDY_COLUMNS)
    frame["replicate"] = frame["replicate"].astype("Int64")  # 1, not 1.0; empty when None
    return frame


def export_csv(analysis: RunAnalysis) -> str:
    return tidy_frame(analysis.run).to_csv(index=False, float_format="%.9g", lineterminator="\n")


def _server_markdown_rows(analyses: Sequence[WorkloadAnalysis]) -> list[str]:
    """Per server and offered rate: Go and Rust p99 / p99.9 medians over replicates, and the
    Go/Rust p99 ratio paired by replicate where every replicate on both sides is usable."""
    rows = []
    for a in analyses:
        w, server = a.result, a.server
        if w.kind != "server":
            continue
        if w.status != "ok":
            rows.append(
                f"| {w.name} | | | | | | | | **{w.status.upper()}**: "
                f"{formatting.md_escape(w.error or '')} |"
            )
            continue
        if server is None or not {"go/default", "rust/default"} <= server.rates.keys():
            continue
        go_at = {s.offered_rps: s for s in server.rates["go/default"]}
        rust_at = {s.offered_rps: s for s in server.rates["rust/default"]}
        for rate in sorted(go_at.keys() & rust_at.keys()):
            g, r = go_at[rate], rust_at[rate]
            ratio = "–"
            if rate in server.usable_rates:
                paired = server.p99_ratios.get(rate)
                if paired is not None:
                    called = (
                        "significant"
                        if paired.significant
                        else formatting.uncalled(paired.testable, paired.rounds, "replicates")
                    )
                    ratio = (
                        f"{formatting.ratio_with_ci(paired.ratio, paired.ci_low, paired.ci_high)}"
                        f" ({called})"
                    )
            excluded = [f"Go {e}" for e in g.exclusions] + [f"Rust {e}" for e in r.exclusions]
            notes = (
                ["not usable: " + "; ".join(excluded)]
                if excluded
                else [
                    f"{lang} {f}"
                    for lang, found in (("Go", g), ("Rust", r))
                    for f in found.flags
                    if "p99.9 from" not in f
                ]
            )
            k = min(len(g.replicates), len(r.replicates))
            rows.append(
                f"| {w.name} | {rate:,.0f} | {k} | {_median(g, 'p99')} | {_median(r, 'p99')} | "
                f"{_median(g, 'p999')} | {_median(r, 'p999')} | {ratio} | "
                f"{formatting.md_escape('; '.join(notes)) or 'ok'} |"
            )
    return rows


def _median(found: replicates.RateSummary, percentile: str) -> str:
    estimate = found.latency.get(percentile)
    return formatting.seconds(estimate.median if estimate else None)


def export_markdown(bundle: RunAnalysis) -> str:
    """A compact summary for PR comments and CI job summaries."""
    run = bundle.run
    batch: list[str] = []
    for analysis in bundle.workloads:
        w = analysis.result
        if w.kind == "server":
            continue
        go, rust = analysis.summary_for("go/default"), analysis.summary_for("rust/default")
        wall = next((c for c in analysis.comparisons if c.metric == "wall_seconds"), None)
        if w.status != "ok" or not go or not rust or wall is None:
            batch.append(
                f"| {w.name} | {w.category} | | | | | | **{w.status.upper()}**: "
                f"{formatting.md_escape(w.error or '')} |"
            )
            continue
        batch.append(
            f"| {w.name} | {w.category} | {formatting.seconds(go.metrics['wall_seconds'].median)} | "
            f"{formatting.seconds(rust.metrics['wall_seconds'].median)} | "
            f"{formatting.ratio_with_ci(wall.ratio, wall.ci_low, wall.ci_high)} | "
            f"{formatting.size(go.metrics['peak_rss_bytes'].median)} | "
            f"{formatting.size(rust.metrics['peak_rss_bytes'].median)} | "
            f"{formatting.verdict(wall)} |"
        )
    lines = [f"## Go vs Rust: run {run.run_id} ({run.config.size}, {run.status})"]
    where = topology_report.brief_sentence(bundle.topology)
    if where:  # the brief's sentence: load from other hosts changes what a latency includes
        lines += ["", formatting.md_escape(where)]
    if batch:
        lines += [
            "",
            "| workload | category | Go median wall | Rust median wall | Go/Rust wall (95% CI) | "
            "Go peak RSS | Rust peak RSS | verdict |",
            "|---|---|---|---|---|---|---|---|",
            *batch,
        ]
    servers = _server_markdown_rows(bundle.workloads)
    if servers:
        lines += [
            "",
            "| server | offered req/s | replicates | Go p99 | Rust p99 | Go p99.9 | Rust p99.9 | "
            "Go/Rust p99 (95% CI) | notes |",
            "|---|---|---|---|---|---|---|---|---|",
            *servers,
        ]
    lines += [
        "",
        f"Machine: {formatting.md_escape(run.machine.cpu_model)}, "
        f"{run.machine.cpu_count} CPUs; {run.machine.go_version}; {run.machine.rustc_version}; "
        f"{run.config.repetitions} repetitions, pinned to CPUs {run.config.cpu_affinity}.",
        "",
    ]
    return "\n".join(lines)


def _benchmark_name(workload: str, lang: str, variant: str) -> str:
    """Go benchmark names cannot hold spaces; sub-benchmark keys let benchstat group by them."""
    return f"Benchmark{workload.title().replace('-', '')}/lang={lang}/variant={variant}"


def export_benchstat(analysis: RunAnalysis) -> str:
    """Go's benchmark text format, one line per repetition, so `benchstat` can compare runs."""
    run = analysis.run
    m = run.machine
    lines = [
        "goos: linux",
        f"goarch: {GOARCH.get(platform.machine(), platform.machine())}",
        "pkg: gorust/workloads",
        f"cpu: {m.cpu_model}",
        f"go: {m.go_version}",
        f"rustc: {m.rustc_version}",
    ]
    frame = tidy_frame(run)
    units = {
        "wall_seconds": ("sec/op", 1.0),
        "cpu_seconds": ("cpu-sec/op", 1.0),
        "peak_rss_bytes": ("peak-RSS-B", 1.0),
        "gc_pause_total_seconds": ("gc-pause-sec/op", 1.0),
    }
    frame = frame[frame["metric"].isin(list(units))]
    for (workload, lang, variant, _rep), group in frame.groupby(
        ["workload", "lang", "variant", "rep"], sort=False
    ):
        values = "\t".join(f"{row.value:.9g} {units[row.metric][0]}" for row in group.itertuples())
        lines.append(f"{_benchmark_name(workload, lang, variant)}\t1\t{values}")
    return "\n".join(lines) + "\n"


def export_bmf(bundle: RunAnalysis) -> str:
    """Bencher Metric Format: per benchmark and measure, the median with its 95 % CI as bounds."""
    measures = {
        "wall_seconds": ("latency", 1e9),
        "throughput": ("throughput", 1.0),
        "peak_rss_bytes": ("peak-rss-bytes", 1.0),
        "cpu_seconds": ("cpu-nanoseconds", 1e9),
    }
    document: dict[str, dict[str, dict[str, float]]] = {}
    for analysis in bundle.workloads:
        if analysis.result.status == "checksum_mismatch":
            continue
        for summary in analysis.implementations:
            for metric, (slug, scale) in measures.items():
                m = summary.metrics.get(metric)
                if m is None:
                    continue
                entry = {"value": m.median * scale}
                if m.ci_low is not None and m.ci_high is not None:
                    entry |= {"lower_value": m.ci_low * scale, "upper_value": m.ci_high * scale}
                document.setdefault(f"{analysis.result.name}/{summary.key}", {})[slug] = entry
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def write_brief(analysis: RunAnalysis, out_dir: Path) -> tuple[str, tuple[Path, ...]]:
    """The brief as Markdown plus its chart beside it (PNG, which PR comments accept, and SVG):
    <run-id>-brief.md, <run-id>-overview.png and .svg in `out_dir`. Returns the Markdown and
    the files written; a run with nothing to compare writes no chart and says so."""
    run = analysis.run
    found = brief.build_brief(analysis)
    png, svg = brief.overview_png(found), brief.overview_svg(found)
    image = f"{run.run_id}-overview.png"
    text = brief.markdown(
        found, f"Go vs Rust: run {run.run_id}", image if png is not None else None
    )
    written = [out_dir / f"{run.run_id}-brief.md"]
    write_atomic(written[0], text.encode())
    if png is not None and svg is not None:
        written += [out_dir / image, out_dir / f"{run.run_id}-overview.svg"]
        write_atomic(written[1], png)
        write_atomic(written[2], svg.encode())
    return text, tuple(written)


EXPORTERS: dict[str, Callable[[RunAnalysis], str]] = {
    "csv": export_csv,
    "markdown": export_markdown,
    "benchstat": export_benchstat,
    "bmf": export_bmf,
}
