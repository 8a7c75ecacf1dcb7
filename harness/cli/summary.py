"""The summary run and sweep print of a measured run: its batch and server tables, the wall
ratios with their verdicts, failed workloads, and the noise warnings."""

from __future__ import annotations

from rich.table import Table

from harness.analysis import compare, noise, timing
from harness.analysis.summaries import analyse_run
from harness.cli.output import stdout_console
from harness.model import Run
from harness.report import formatting
from harness.report.servers import CONSOLE_COLUMNS, console_rows, sharing_line


def print_summary(run: Run) -> None:
    batch = Table(title=f"Go vs Rust — {run.run_id} ({run.config.size})")
    for column in (
        "workload",
        "impl",
        "median wall",
        "CV",
        "peak RSS",
        "throughput",
        "GC pauses",
        "status",
    ):
        batch.add_column(column)
    servers = Table(
        title="Servers: medians over replicates per offered rate (open loop, corrected for "
        "coordinated omission); saturation: closed-loop probes, median achieved"
    )
    for column in CONSOLE_COLUMNS:
        servers.add_column(column)
    analyses = analyse_run(run)
    for analysis in analyses:
        workload = analysis.result
        if workload.kind == "server":
            for row in console_rows(workload):
                servers.add_row(*row)
            continue
        for s in analysis.implementations:
            m = s.metrics
            wall = m.get("wall_seconds")
            gc = (
                "no GC"
                if not s.has_gc
                else (
                    f"{m['gc_count'].median:.0f}, max {formatting.seconds(max(s.gc_pauses_seconds, default=0))}"
                    if "gc_count" in m
                    else "–"
                )
            )
            batch.add_row(
                workload.name,
                s.key,
                formatting.seconds(wall.median) if wall else "–",
                formatting.percent(wall.cv) if wall else "–",
                formatting.size(m["peak_rss_bytes"].median) if "peak_rss_bytes" in m else "–",
                formatting.rate(m["throughput"].median, m["throughput"].unit)
                if "throughput" in m
                else "–",
                gc,
                s.status if s.status != "ok" or workload.status == "ok" else workload.status,
            )
    if batch.row_count:
        stdout_console.print(batch)
    if servers.row_count:
        stdout_console.print(servers)
    for analysis in analyses:
        for c in analysis.comparisons:
            if c.metric == "wall_seconds":
                stdout_console.print(
                    f"{analysis.result.name}: wall Go/Rust {formatting.ratio_with_ci(c.ratio, c.ci_low, c.ci_high)}"
                    f" — {formatting.verdict(c)}",
                    markup=False,
                )
        if analysis.result.status != "ok":
            stdout_console.print(
                f"{analysis.result.name}: {analysis.result.status.upper()}: "
                f"{analysis.result.error}",
                markup=False,
            )
        if shared := sharing_line(analysis.result):
            stdout_console.print(f"{analysis.result.name}: {shared}", markup=False, soft_wrap=True)
    for warning in noise.run_noise(run, compare.DEFAULT_THRESHOLD).warnings:
        stdout_console.print(f"noise: {warning}", markup=False, soft_wrap=True)
    if spent := timing.breakdown_line(run):
        stdout_console.print(spent, markup=False, soft_wrap=True)
