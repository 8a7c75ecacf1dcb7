"""The report's Concurrency section: speedup and efficiency along the cpus axis, what of the CPUs
the harness and the machine took, per-item time and memory of the concurrency workloads, and the
published figures beside ours. Reads the analysis bundle only (analysis/concurrency.py).

The essay's concurrency claims are set above the figures that test them; the section says what a
figure cannot show (a 2-CPU machine says nothing about 32 cores).
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from harness.analysis.bundle import RunAnalysis
from harness.analysis.concurrency import ConcurrencyAnalysis, Estimate, ScalingCurve, UnitCost
from harness.model import PublishedFigure, WorkloadResult
from harness.report import charts, formatting

CLAIMS = (
    "Go: goroutines, channels and select make highly concurrent code easy to write.",
    "Rust: threads, async runtimes and compile-time checks on shared state; stronger where "
    "concurrency correctness and predictable performance are critical.",
)
# What each table puts to the claims above (the race detector's block answers the third).
TESTS = {
    "curves": "Tests whether each model turns more CPUs into work for the same program: the "
    "scheduler and its hand-offs (Go's work-stealing goroutines, rayon's work stealing, tokio's "
    "workers, plain threads), not the language.",
    "costs": "Tests what one unit of concurrency costs: a goroutine against a tokio task and an OS "
    "thread (memory, spawn-to-join time), a channel hop against an mpsc hop, at every CPU count.",
    "correctness": "Tests the essay's safety claim as each side states it: Go's run-time race "
    "detector on the paths a quick run exercises, Rust's compile-time Send/Sync checks and the "
    "unsafe code that opts out of them.",
}


def _ci(e: Estimate, text) -> str:
    if e.low is None or e.high is None:
        return text(e.value)
    return f"{text(e.value)} [{text(e.low)}, {text(e.high)}]"


def _times(value: float) -> str:
    return f"{value:.2f}"


def _per_item_time(value: float) -> str:
    return f"{value * 1e9:,.0f} ns" if value < 1e-6 else formatting.seconds(value)


def _bytes(value: float) -> str:
    return f"{value:,.0f} B" if value < 10_000 else formatting.size(value)


def curve_rows(curves: Sequence[ScalingCurve]) -> list[dict]:
    return [
        {
            "key": c.key,
            "label": c.label,
            "cpus": p.cpus,
            "work": _ci(p.work_seconds, formatting.seconds),
            "speedup": "1 (reference)" if p.cpus == 1 else _ci(p.speedup, _times),
            "efficiency": "1 (reference)" if p.cpus == 1 else _ci(p.efficiency, _times),
        }
        for c in curves
        for p in c.points
    ]


def _chart(title: str, y_label: str, curves: Sequence[ScalingCurve], which: str) -> Markup:
    series = {
        c.key: [
            (float(p.cpus), getattr(p, which).value, getattr(p, which).low, getattr(p, which).high)
            for p in c.points
        ]
        for c in curves
    }
    counts = sorted({p.cpus for c in curves for p in c.points})
    reference = (1.0, "ideal: N CPUs do N times the work") if which == "efficiency" else None
    return Markup(
        charts.sweep_curves(
            title,
            "CPUs given to the program",
            y_label,
            series,
            x_ticks=[(float(n), str(n)) for n in counts],
            light=[c.key for c in curves if not c.key.endswith("/default")],
            reference=reference,
        )
    )


def cost_rows(costs: Sequence[UnitCost]) -> list[dict]:
    return [
        {
            "cpus": "not pinned" if c.cpus is None else str(c.cpus),
            "key": c.key,
            "count": f"{c.items:,}",
            "time": _ci(c.seconds_per_item, _per_item_time),
            "memory": _ci(c.bytes_per_item, _bytes),
            "rss": formatting.size(c.peak_rss_bytes.value),
            "cpu": formatting.seconds(c.cpu_seconds.value),
            "wall": formatting.seconds(c.wall_seconds.value),
        }
        for c in sorted(costs, key=lambda c: (c.cpus or 0, c.key))
    ]


def _ours(result: WorkloadResult, key: str, metric: str) -> float | None:
    impl = result.result_for(key)
    if impl is None or impl.status != "ok":
        return None
    values = [
        r.user_seconds + r.sys_seconds if metric == "cpu_seconds" else getattr(r, metric)
        for r in impl.repetitions
        if r.ok
    ]
    values = [float(v) for v in values if v is not None]
    return sorted(values)[len(values) // 2] if values else None


def _figure(metric: str, value: float | None) -> str:
    if value is None:
        return "not measured"
    return formatting.size(value) if metric == "peak_rss_bytes" else formatting.seconds(value)


def published_rows(results: Sequence[WorkloadResult]) -> list[dict]:
    """Each published figure beside ours at every point whose parameters match it."""
    rows = []
    for result in results:
        for figure in result.published:
            if any(result.params.get(k) != v for k, v in figure.params.items()):
                continue
            rows.append(_published_row(result, figure))
    return rows


def _published_row(result: WorkloadResult, figure: PublishedFigure) -> dict:
    go, rust = (_ours(result, f"{lang}/default", figure.metric) for lang in ("go", "rust"))
    return {
        "workload": result.name,
        "source": figure.source,
        "url": figure.url,
        "metric": figure.metric,
        "theirs": f"Go {_figure(figure.metric, figure.go)}, Rust {_figure(figure.metric, figure.rust)}"
        f" (Go/Rust {figure.go / figure.rust:.1f}×)",
        "ours": f"Go {_figure(figure.metric, go)}, Rust {_figure(figure.metric, rust)}"
        + (f" (Go/Rust {go / rust:.1f}×)" if go and rust else ""),
        "differs": figure.differs,
    }


def _loss_sentences(analysis: ConcurrencyAnalysis) -> list[str]:
    sentences = []
    for loss in analysis.losses:
        harness = (
            f"the harness took {loss.harness_cpus:.1%} of a CPU (it shared them)"
            if loss.harness_cpus is not None
            else "the harness ran on other CPUs"
        )
        sentences.append(
            f"{loss.workload}: of the {loss.cpus} CPUs, {harness}, and the machine (steal and "
            f"other processes) {loss.machine_cpus:.1%} of a CPU."
        )
    return sentences


def concurrency_section(analysis: RunAnalysis) -> dict | None:
    """None when the run measured no concurrency workload and no cpus axis."""
    found = analysis.concurrency
    concurrent = [w for w in analysis.run.workloads if w.category == "concurrency"]
    if found.empty and not concurrent:
        return None
    workloads = []
    for manifest in sorted(
        {c.workload for c in found.curves} | {c.manifest for c in found.unit_costs}
    ):
        curves = [c for c in found.curves if c.workload == manifest]
        workloads.append(
            {
                "name": manifest,
                "curves": curve_rows(curves),
                "speedup_chart": _chart(f"{manifest}: speedup", "T(1) / T(N)", curves, "speedup")
                if curves
                else None,
                "efficiency_chart": _chart(
                    f"{manifest}: parallel efficiency", "T(1) / (N T(N))", curves, "efficiency"
                )
                if curves
                else None,
                "costs": cost_rows(found.costs_of(manifest)),
                "slopes": [
                    f"{s.key}: {_ci(s.bytes_per_item, _bytes)} per item more "
                    f"(slope of peak RSS over {s.points} item counts)"
                    for s in found.memory_slopes
                    if s.manifest == manifest
                ],
            }
        )
    return {
        "claims": list(CLAIMS),
        "tests": TESTS,
        "workloads": workloads,
        "losses": _loss_sentences(found),
        "published": published_rows(concurrent),
        "machine_cpus": analysis.run.machine.cpu_count,
    }
