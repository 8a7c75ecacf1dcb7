"""Build the report's context (already formatted strings) and render one self-contained HTML file.

All computation happens here, in Python; the jinja2 template only loops and branches. Autoescape is
on, so every string from a manifest, a config or a process's output is escaped; the only markup that
bypasses escaping is the SVG that charts.py produced from numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import jinja2
from markupsafe import Markup

from harness.analysis.boundary import analyse_boundaries
from harness.analysis.bundle import RunAnalysis, analyse
from harness.analysis.capacity import CapacityConfig
from harness.analysis.decision import TeamConfig
from harness.analysis.summaries import (
    CV_WARNING,
    ImplementationSummary,
    WorkloadAnalysis,
)
from harness.measure import cpufeatures
from harness.model import ImplementationResult, Run
from harness.report import boundary as boundary_report
from harness.report import brief, charts, correctness, formatting, machine_block, sections
from harness.report import concurrency as concurrency_report
from harness.report import hybrid as hybrid_report
from harness.report import profiles as profile_report
from harness.report import scaling as scaling_report
from harness.report import topology as topology_report
from harness.report.charts import Chart
from harness.report.servers import server_context
from harness.store.results import write_atomic

TEMPLATES = Path(__file__).parent / "templates"
TABLE_METRICS = (
    ("wall_seconds", "wall"),
    ("work_seconds", "work (internal)"),
    ("startup_seconds", "start-up + I/O"),
    ("cpu_seconds", "CPU user+sys"),
    ("peak_rss_bytes", "peak RSS"),
    ("throughput", "throughput"),
)


MIN_SAMPLES_FOR_SERIES = 3  # fewer samples (short quick runs) make a misleading line


def _cell(summary: ImplementationSummary, metric: str) -> dict[str, str]:
    """The median, and its CI on a line of its own so wide tables stay readable."""
    m = summary.metrics.get(metric)
    if m is None:
        return {"median": "–", "ci": ""}
    ci = ""
    if m.ci_low is not None and m.ci_high is not None and m.ci_low != m.ci_high:
        ci = f"{formatting.metric_value(m.ci_low, m.unit)} – {formatting.metric_value(m.ci_high, m.unit)}"
    return {"median": formatting.metric_value(m.median, m.unit), "ci": ci}


def _gc_cells(summary: ImplementationSummary) -> dict[str, str]:
    if not summary.has_gc:
        return {"count": "no GC", "total": "no GC", "max": "no GC", "share": "no GC"}
    m = summary.metrics
    return {
        "count": formatting.metric_value(m["gc_count"].median, "count") if "gc_count" in m else "–",
        "total": formatting.seconds(m["gc_pause_total_seconds"].median)
        if "gc_pause_total_seconds" in m
        else "–",
        "max": formatting.seconds(max(summary.gc_pauses_seconds, default=0.0)) if m else "–",
        "share": formatting.percent(m["gc_cpu_share"].median) if "gc_cpu_share" in m else "–",
    }


def _median_repetition(result: ImplementationResult):
    ok = sorted((r for r in result.repetitions if r.ok), key=lambda r: r.wall_seconds)
    return ok[len(ok) // 2] if ok else None


def _charts(analysis: WorkloadAnalysis) -> list[Chart]:
    w = analysis.result
    ok = [s for s in analysis.implementations if s.status == "ok" and "wall_seconds" in s.metrics]
    if not ok:
        return []
    walls = {s.key: s.metrics["wall_seconds"].values for s in ok}
    result = [
        Chart(
            title=f"{w.name}: wall time per repetition",
            alt=(
                f"Box and strip plot of wall time in milliseconds for each of {len(ok)} implementations "
                f"of {w.name}; the table above lists the medians."
            ),
            svg=Markup(
                charts.distribution(
                    f"{w.name}: wall time per repetition", "wall time (ms)", walls, scale=1e3
                )
            ),
        )
    ]
    series = {}
    for impl in w.implementations:
        rep = _median_repetition(impl) if impl.status == "ok" else None
        if rep and len(rep.samples) >= MIN_SAMPLES_FOR_SERIES:
            series[impl.key] = (
                [s.t_seconds for s in rep.samples],
                [s.rss_bytes for s in rep.samples],
            )
    if series:
        result.append(
            Chart(
                title=f"{w.name}: RSS over time (median repetition)",
                alt=(
                    f"Line chart of resident memory in MiB against time for the median-wall repetition of "
                    f"each implementation of {w.name}, sampled by psutil; peaks come from wait4 instead."
                ),
                svg=Markup(
                    charts.time_series(
                        f"{w.name}: RSS over time (median repetition)",
                        "RSS (MiB)",
                        series,
                        y_scale=1 / (1 << 20),
                    )
                ),
            )
        )
    return result


EXTRA_PREFIX = "extra_"


def _natural(name: str) -> list[str | int]:
    """Sort key reading the numbers in a name as numbers: g16, g64, g1024, not g1024, g16, g64."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _extra_names(a: WorkloadAnalysis) -> list[str]:
    """The workload-specific facts (`extra` in the binary contract: gzip's phase times and
    compressed sizes) any measured implementation reported, so they are shown beside the times."""
    return sorted(
        {
            name
            for s in a.implementations
            if s.status == "ok"
            for name in s.metrics
            if name.startswith(EXTRA_PREFIX)
        },
        key=_natural,
    )


def _workload_context(a: WorkloadAnalysis, cpu_flags: tuple[str, ...] | None) -> dict:
    w = a.result
    rows = []
    caveat = cpufeatures.caveat(w.name, w.cpu_features, cpu_flags)
    warnings = [caveat] if caveat else []
    for s, impl in zip(a.implementations, w.implementations, strict=True):
        wall = s.metrics.get("wall_seconds")
        if wall and wall.noisy:
            warnings.append(
                f"{s.key}: wall-time CV {formatting.percent(wall.cv)} exceeds "
                f"{formatting.percent(CV_WARNING)}; treat its differences with care."
            )
        rows.append(
            {
                "key": s.key,
                "library": s.library,
                "status": s.status,
                "ok": s.status == "ok",
                "error": s.error or "",
                "n": str(len(wall.values)) if wall else "0",
                "cells": [_cell(s, metric) for metric, _ in TABLE_METRICS],
                "cv": formatting.percent(wall.cv) if wall else "–",
                "noisy": bool(wall and wall.noisy),
                "gc": _gc_cells(s),
                "build": {
                    "toolchain": impl.build.toolchain,
                    "flags": impl.build.flags,
                    "seconds": formatting.seconds(impl.build.build_seconds),
                    "cached": impl.build.cached,
                    "size": formatting.size(impl.build.binary_bytes),
                    "stripped": formatting.size(impl.build.stripped_bytes),
                    "deps": "–"
                    if impl.build.dependency_count is None
                    else str(impl.build.dependency_count),
                },
            }
        )
    # A fact per row and an implementation per column: a program may report many facts
    # (sha256-calls: three per call grain, 21 in all) but a workload has a handful of
    # implementations, so the table stays as narrow as the page, on screen and on paper.
    extras = _extra_names(a)
    reporting = [s for s in a.implementations if s.status == "ok" and s.metrics]
    extra_rows = [
        {
            "fact": name.removeprefix(EXTRA_PREFIX).replace("_", " "),
            "cells": [_cell(s, name) for s in reporting],
        }
        for name in extras
    ]
    comparisons = [
        {
            "metric": c.metric,
            "ratio": formatting.ratio_with_ci(c.ratio, c.ci_low, c.ci_high),
            "p": "–" if c.p_value is None else f"{c.p_value:.3g}",
            "verdict": formatting.verdict(c),
        }
        for c in a.comparisons
    ]
    return {
        "kind": "batch",
        "name": w.name,
        "category": w.category,
        "description": w.description,
        "status": w.status,
        "ok": w.status == "ok",
        "error": w.error or "",
        "input": (
            f"{w.input.generator} seed {w.input.seed}, {formatting.size(w.input.size_bytes)}, "
            f"sha256 {w.input.sha256[:16]}…"
        )
        if w.input
        else "none (parameters only)",
        "params": ", ".join(f"{k}={v}" for k, v in w.params.items()),
        "checksum": w.reference_checksum or "–",
        "metric_headers": [label for _, label in TABLE_METRICS],
        "rows": rows,
        "extra_keys": [s.key for s in reporting] if extras else [],
        "extra_rows": extra_rows,
        "comparisons": comparisons,
        "warnings": warnings,
        "charts": _charts(a),
    }


def origin_rows(run: Run) -> list[tuple[str, str]]:
    """A row per workload from another tree than the run's source (a team's own folder): its
    manifest and commit, so the report says which code produced its numbers."""
    rows = []
    for w in run.workloads:
        origin = w.origin
        if origin is None or (
            origin.git_commit is not None and origin.git_commit == run.machine.git_commit
        ):
            continue
        commit = origin.git_commit or "not in a git repository"
        dirty = " (uncommitted changes)" if origin.git_dirty else ""
        rows.append((f"Workload {w.name}", f"{origin.manifest} at {commit}{dirty}"))
    return rows


def _with_profile_shares(gc: dict, profile: profile_report.FoundProfile | None) -> dict:
    """The GC section, citing the profiles' measured GC and allocator shares when there are any."""
    sentence = profile_report.gc_sentence(profile)
    return gc if sentence is None else {**gc, "reading": [*gc["reading"], sentence]}


def build_context(
    run: Run,
    capacity_config: CapacityConfig | None = None,
    team: TeamConfig | None = None,
    history: Sequence[Run] = (),
    profile: profile_report.FoundProfile | None = None,
) -> dict:
    """The report's context for `run`: its one analysis pass (analysis.bundle.analyse), then
    report_context. `profile` is the run's CPU profile as profile_report.find_profile found it
    (None: no section)."""
    analysis = analyse(run, capacity_config, team, profile.profile if profile else None)
    return report_context(analysis, scaling_report.budget_of(team), history, profile)


def report_context(
    analysis: RunAnalysis,
    budget: scaling_report.Budget,
    history: Sequence[Run] = (),
    profile: profile_report.FoundProfile | None = None,
) -> dict:
    """Everything the template shows, formatted, read from the bundle: no section analyses the
    run again."""
    run, analyses = analysis.run, list(analysis.workloads)
    m = run.machine
    c = run.config
    return {
        "title": f"Go vs Rust — run {run.run_id}",
        "run_id": run.run_id,
        "status": run.status,
        "started": run.started_at,
        "finished": run.finished_at or "not finished",
        "size": c.size,
        "brief": brief.html_context(brief.build_brief(analysis)),
        "summary": sections.summary(analyses, m.cpu_flags),
        "scaling": sections.scaling_section(run, budget),
        "concurrency": concurrency_report.concurrency_section(analysis),
        "build_ops": sections.build_and_operations(run),
        "hybrid": hybrid_report.hybrid_section(run, analysis.hybrid),
        "boundary": boundary_report.boundary_context(
            analysis.boundary or analyse_boundaries(run), run
        ),
        "correctness": asdict(correctness.correctness_block(run)),
        "gc": _with_profile_shares(sections.gc_and_memory(run, analyses), profile),
        "profile": profile_report.profile_section(profile),
        "trend": sections.trend_section(list(history) or [run]),
        "capacity": sections.capacity_section(analysis.capacity),
        "decision": sections.decision_section(analysis.decision),
        "methodology": sections.methodology(run, analyses),
        "topology": topology_report.methodology(analysis.topology, m),
        "noise": sections.noise_section(analysis.noise, analysis.threshold),
        "failures": [
            f"{a.result.name}: {a.result.status.replace('_', ' ')} — {a.result.error}"
            for a in analyses
            if a.result.status != "ok"
        ],
        "workloads": [
            server_context(
                a.result, c, topology_report.share_table(analysis.topology, a.result.name)
            )
            if a.result.kind == "server"
            else _workload_context(a, m.cpu_flags)
            for a in analyses
        ],
        "environment": [
            *machine_block.machine_rows(run),
            ("Python", m.python),
            (
                "Source",
                f"{m.git_commit or 'not a git checkout'}"
                f"{' (uncommitted changes)' if m.git_dirty else ''}",
            ),
            *origin_rows(run),
            (
                "Measured process pinned to CPUs",
                ", ".join(map(str, c.cpu_affinity)) if c.cpu_affinity else "not pinned",
            ),
            (
                "Harness pinned to CPUs",
                ", ".join(map(str, m.harness_cpus)) if m.harness_cpus else "not pinned",
            ),
            (
                "Repetitions",
                f"{c.warmups} warm-up (discarded) + {c.repetitions} measured, "
                f"implementations interleaved",
            ),
            ("Per-run timeout", formatting.seconds(c.timeout_seconds)),
            (
                "Sampling",
                f"psutil every {formatting.seconds(c.sample_interval_seconds)} for time series; "
                "CPU and peak RSS from wait4 rusage",
            ),
        ],
    }


def render(context: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(
    run: Run,
    reports_dir: Path,
    debug: bool = False,
    capacity_config: CapacityConfig | None = None,
    team: TeamConfig | None = None,
    history: Sequence[Run] = (),
    profile: profile_report.FoundProfile | None = None,
) -> Path:
    """reports/<run-id>.html and reports/latest.html; with debug, the context as JSON beside it."""
    context = build_context(run, capacity_config, team, history, profile)
    html = render(context).encode()
    path = reports_dir / f"{run.run_id}.html"
    write_atomic(path, html)
    write_atomic(reports_dir / "latest.html", html)
    if debug:
        write_atomic(
            path.with_suffix(".context.json"), json.dumps(context, indent=1, default=str).encode()
        )
    return path
