"""The report's context for server workloads: phase tables and the four server charts.

Each rate is one measured phase per implementation, so there is no repetition distribution to
build a confidence interval from; the report says so instead of pretending, and it never compares
latencies across different offered rates. The closed-loop saturation probe gets a table of its
own: its latencies are not corrected for coordinated omission. Ratios come only from phases that
may be quoted (phase_analysis.headline_exclusions); the others are shown with the reason.
"""

from __future__ import annotations

from markupsafe import Markup

from harness import charts, formatting
from harness.charts import Chart
from harness.model import ImplementationResult, RunConfig, ServerPhase, WorkloadResult
from harness.phase_analysis import CLOSED_LOOP, OPEN_LOOP, headline_exclusions, is_headline


def _measured(impl: ImplementationResult) -> list[ServerPhase]:
    return [p for p in impl.phases if p.phase.startswith("rate=")]


def _pct_of_core(phase: ServerPhase) -> str:
    if phase.duration_seconds <= 0:
        return "–"
    return formatting.percent(
        (phase.server_user_seconds + phase.server_sys_seconds) / phase.duration_seconds
    )


def _loadgen_share(phase: ServerPhase) -> float | None:
    """The load generator's CPU over its own processes' wall time (files before schema 4: the
    phase duration, which was that time)."""
    wall = phase.loadgen_wall_seconds or phase.duration_seconds
    return (phase.loadgen_user_seconds + phase.loadgen_sys_seconds) / wall if wall > 0 else None


def _phase_row(impl: ImplementationResult, phase: ServerPhase) -> dict:
    lat = phase.latency
    gc = phase.gc_cycles
    counts = phase.request_counts
    excluded = headline_exclusions(phase) if phase.offered_rps is not None else ()
    return {
        "key": impl.key,
        "phase": phase.phase,
        "ok": phase.ok,
        "error": phase.error or "",
        "offered": "closed loop" if phase.offered_rps is None else f"{phase.offered_rps:,.0f}",
        "achieved": f"{phase.achieved_rps:,.0f}",
        "requests": f"{phase.requests:,}",
        "errors": f"{phase.errors:,}",
        "unsent": "–" if counts is None else f"{counts.unsent:,}",
        "latency": [
            formatting.seconds(v)
            for v in (
                (
                    lat.p50_seconds,
                    lat.p90_seconds,
                    lat.p99_seconds,
                    lat.p999_seconds,
                    lat.max_seconds,
                )
                if lat
                else ()
            )
        ]
        or ["–"] * 5,
        "server_cpu": _pct_of_core(phase),
        "peak_rss": formatting.size(phase.server_peak_rss_bytes),
        "gc": "no GC"
        if gc is None
        else (
            f"{len(gc)}, max pause {formatting.seconds(max((c.pause_seconds for c in gc), default=0.0))}, "
            f"longest mark {formatting.seconds(max((c.concurrent_mark_seconds for c in gc), default=0.0))}"
        ),
        "loadgen_cpu": formatting.percent(_loadgen_share(phase)),
        "flags": "; ".join(phase.flags),
        "flagged": bool(phase.flags),
        "excluded": "; ".join(excluded),
    }


def _comparisons(go: ImplementationResult | None, rust: ImplementationResult | None) -> list[dict]:
    if go is None or rust is None or go.status != "ok" or rust.status != "ok":
        return []
    rust_by_rate = {p.offered_rps: p for p in _measured(rust) if is_headline(p)}
    rows = []
    for g in _measured(go):
        r = rust_by_rate.get(g.offered_rps)
        if r is None or not is_headline(g) or not (g.latency and r.latency):
            continue
        rows.append(
            {
                "rate": f"{g.offered_rps:,.0f}",
                "p50": f"{g.latency.p50_seconds / r.latency.p50_seconds:.2f}×",
                "p99": f"{g.latency.p99_seconds / r.latency.p99_seconds:.2f}×",
                "p999": f"{g.latency.p999_seconds / r.latency.p999_seconds:.2f}×",
                "cpu": formatting.ratio_with_ci(
                    (g.server_user_seconds + g.server_sys_seconds)
                    / max(1e-9, r.server_user_seconds + r.server_sys_seconds),
                    None,
                    None,
                ),
                "rss": formatting.ratio_with_ci(
                    g.server_peak_rss_bytes / max(1, r.server_peak_rss_bytes), None, None
                ),
            }
        )
    return rows


def _charts(w: WorkloadResult) -> list[Chart]:
    ok = [i for i in w.implementations if i.status == "ok" and _measured(i)]
    if not ok:
        return []
    result = []
    curves = {
        i.key: [
            (
                p.offered_rps or 0.0,
                p.latency.p50_seconds,
                p.latency.p99_seconds,
                p.latency.p999_seconds,
            )
            for p in _measured(i)
            if p.ok and p.latency
        ]
        for i in ok
    }
    result.append(
        Chart(
            title=f"{w.name}: latency percentiles against offered rate",
            alt=(
                f"Line chart of p50, p99 and p99.9 latency in milliseconds (log scale) against the offered request "
                f"rate for {', '.join(curves)}; the phase table lists every value."
            ),
            svg=Markup(charts.latency_vs_rate(f"{w.name}: latency vs offered rate", curves)),
        )
    )
    rates = {i.key: [(p.offered_rps or 0.0, p.achieved_rps) for p in _measured(i)] for i in ok}
    result.append(
        Chart(
            title=f"{w.name}: achieved against offered rate",
            alt=(
                f"Achieved request rate against offered rate for {', '.join(rates)}, with the line where "
                "achieved equals offered."
            ),
            svg=Markup(charts.achieved_vs_offered(f"{w.name}: achieved vs offered", rates)),
        )
    )
    common = set.intersection(*({p.offered_rps for p in _measured(i) if p.ok} for i in ok))
    if common:
        top = max(r for r in common if r is not None)
        panels = {}
        for i in ok:
            phase = next(p for p in _measured(i) if p.offered_rps == top)
            panels[i.key] = (
                [x.t_seconds for x in phase.latency_windows],
                [x.p99_seconds for x in phase.latency_windows],
                [x.max_seconds for x in phase.latency_windows],
                [c.at_seconds for c in phase.gc_cycles or ()],
            )
        result.append(
            Chart(
                title=f"{w.name}: latency over time at {top:,.0f} req/s",
                alt=(
                    f"Per-window p99 and maximum latency over the {top:,.0f} requests/s phase for "
                    f"{', '.join(panels)}; dotted vertical lines mark the start of each Go GC cycle."
                ),
                svg=Markup(
                    charts.latency_over_time(
                        f"latency at {top:,.0f} req/s, GC cycles dotted", panels
                    )
                ),
            )
        )
    series = {}
    for i in ok:
        samples = [s for p in _measured(i) for s in p.server_samples]
        if len(samples) >= 3:
            series[i.key] = ([s.t_seconds for s in samples], [s.rss_bytes for s in samples])
    if series:
        result.append(
            Chart(
                title=f"{w.name}: server RSS over time",
                alt=(
                    f"Resident memory of each server in MiB over the measured phases for {', '.join(series)}, "
                    "sampled by psutil; the table's peak RSS is the kernel's high-water mark."
                ),
                svg=Markup(
                    charts.time_series(
                        f"{w.name}: server RSS during the phases",
                        "RSS (MiB)",
                        series,
                        y_scale=1 / (1 << 20),
                    )
                ),
            )
        )
    return result


def server_context(w: WorkloadResult, config: RunConfig) -> dict:
    settings = config.server
    impls = []
    probes = []
    phases = []
    for impl in w.implementations:
        probe = next((p for p in impl.phases if p.phase == "saturation"), None)
        impls.append(
            {
                "key": impl.key,
                "library": impl.library,
                "status": impl.status,
                "ok": impl.status == "ok",
                "error": impl.error or "",
                "saturation": f"{probe.achieved_rps:,.0f} req/s" if probe and probe.ok else "–",
                "idle_rss": formatting.size(impl.idle_rss_bytes),
                "parallelism": ", ".join(f"{k}={v}" for k, v in impl.parallelism.items()) or "–",
                "transport": ", ".join(f"{k} {v}" for k, v in impl.transport.items())
                or "not recorded",
                "binary": formatting.size(impl.build.binary_bytes),
            }
        )
        probes += [_phase_row(impl, p) for p in impl.phases if p.offered_rps is None]
        phases += [_phase_row(impl, p) for p in _measured(impl)]
    method = "–"
    if settings is not None:
        method = (
            f"{settings.loadgen}, fixed-rate phases open loop (-q) with latency correction (latency "
            f"from the intended send time), {settings.connections} connections; server pinned to "
            f"CPUs {settings.server_cpus}, load generator to {settings.loadgen_cpus}; parallelism "
            f"{settings.parallelism} on both runtimes; saturation = closed-loop probe of "
            f"{settings.probe_seconds:g} s; phases {settings.min_phase_seconds:g}–"
            f"{settings.max_phase_seconds:g} s aiming at {settings.target_requests_per_phase:,} "
            "requests; a phase's requests, achieved rate, server CPU and GC cycles cover the load "
            "generator's own span, its peak RSS is its own (VmHWM reset at its start)"
        )
    return {
        "kind": "server",
        "name": w.name,
        "category": w.category,
        "description": w.description,
        "status": w.status,
        "ok": w.status == "ok",
        "error": w.error or "",
        "params": ", ".join(f"{k}={v}" for k, v in w.params.items()),
        "checksum": w.reference_checksum or "–",
        "method": method,
        "rates": ", ".join(f"{r:,.0f}" for r in w.offered_rates_rps)
        or "none (no saturation figure)",
        "impls": impls,
        "phase_tables": [
            {"caption": f"Saturation probe: {CLOSED_LOOP}", "rows": probes},
            {
                "caption": f"Fixed-rate phases: {OPEN_LOOP}; latency from an HDR histogram of "
                "every answered request, the unsent ones at a lower bound",
                "rows": phases,
            },
        ],
        "comparisons": _comparisons(w.result_for("go/default"), w.result_for("rust/default")),
        "charts": _charts(w),
    }
