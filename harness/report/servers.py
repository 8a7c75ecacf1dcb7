"""The report's context for server workloads: per-rate figures over replicates, the closed-loop
saturation, Go/Rust ratios, the server charts, and every phase behind a disclosure.

Every headline figure comes from servers/replicates.py: per offered rate, the median over
replicates with its 95 % bootstrap CI, and Go/Rust ratios paired by replicate with the batch
workloads' significance rule (PairedRatio.significant). A rate where any replicate may not be
quoted (phase_analysis.headline_exclusions) is shown with its reasons and gets no ratio. Latencies
are never compared across rates, and the closed-loop probe has a table of its own: its latencies
are not corrected for coordinated omission. The per-phase tables (each replicate, its number and
flags) are the evidence behind the medians, so they sit in a collapsed <details>, not the headline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup

from harness.analysis import replicates
from harness.analysis.phases import (
    CLOSED_LOOP,
    OPEN_LOOP,
    STEAL_SET_ASIDE_SHARE,
    cpu_list,
    headline_exclusions,
    shared_cpus_flag,
)
from harness.analysis.replicates import Estimate, RateSummary
from harness.analysis.stats import PairedRatio
from harness.analysis.summaries import gc_figures, server_cpu_seconds
from harness.model import (
    ImplementationResult,
    RunConfig,
    ServerPhase,
    ServerSettings,
    WorkloadResult,
)
from harness.report import charts, formatting
from harness.report.charts import Chart

GO, RUST = "go/default", "rust/default"
_HEADLINE_PERCENTILES = ("p50", "p99", "p999")
_RATIO_PERCENTILES = ("p50", "p99")


def _ok(impl: ImplementationResult | None) -> bool:
    return impl is not None and impl.status == "ok"


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


def estimate_text(found: Estimate | None, fmt: Callable[[float | None], str]) -> str:
    """ "1.23 ms [1.10, 1.41]"; "–" when nothing was measured."""
    if found is None:
        return "–"
    return formatting.with_ci(found.median, found.ci_low, found.ci_high, fmt)


def ratio_text(ratio: PairedRatio | None) -> tuple[str, str]:
    """(Go/Rust ratio with its CI, the verdict with its p-value) for one paired metric."""
    if ratio is None:
        return "–", "no common replicate"
    shown = formatting.ratio_with_ci(ratio.ratio, ratio.ci_low, ratio.ci_high)
    if not ratio.testable:
        return shown, formatting.uncalled(False, ratio.rounds, "replicates")
    p = "no p-value" if ratio.p_value is None else f"p = {ratio.p_value:.2g}"
    called = "significant" if ratio.significant else formatting.uncalled(True, ratio.rounds)
    return shown, f"{called} ({p}, {ratio.rounds} paired replicates)"


def _replicate_label(phase: ServerPhase, measured: Sequence[ServerPhase]) -> str:
    if any(phase is p for p in measured):
        return str(phase.replicate or 1)  # files before schema 5: each rate's phase is replicate 1
    return "selection pass" if phase.replicate is None else str(phase.replicate)


def _phase_row(impl: ImplementationResult, phase: ServerPhase, replicate: str) -> dict:
    lat = phase.latency
    gc = gc_figures(phase.gc_cycles, server_cpu_seconds(phase))
    counts = phase.request_counts
    excluded = headline_exclusions(phase) if phase.offered_rps is not None else ()
    flags = (*phase.flags, *filter(None, (shared_cpus_flag(phase.shared_cpus),)))
    return {
        "key": impl.key,
        "phase": phase.phase,
        "replicate": replicate,
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
            f"{gc.count}, max pause {formatting.seconds(gc.pause_max_seconds)}, "
            f"longest mark {formatting.seconds(gc.longest_mark_seconds)}"
        ),
        "loadgen_cpu": formatting.percent(_loadgen_share(phase)),
        "flags": "; ".join(flags),
        "flagged": bool(flags),
        "excluded": "; ".join(excluded),
    }


def _phase_tables(w: WorkloadResult) -> list[dict]:
    """Every phase of every implementation: the closed-loop ones (warm-up, probes), then the
    fixed-rate replicates ordered by rate and replicate, implementations side by side."""
    order = {impl.key: n for n, impl in enumerate(w.implementations)}
    closed: list[tuple[tuple, dict]] = []
    fixed: list[tuple[tuple, dict]] = []
    for impl in w.implementations:
        measured = replicates.measured_phases(impl)
        for n, phase in enumerate(impl.phases):
            row = _phase_row(impl, phase, _replicate_label(phase, measured))
            number = phase.replicate or 0
            if phase.offered_rps is None:
                closed.append(((number, order[impl.key], n), row))
            else:
                fixed.append(((phase.offered_rps, number, order[impl.key], n), row))
    return [
        {
            "caption": f"Closed-loop phases (warm-up and saturation probes): {CLOSED_LOOP}",
            "rows": [row for _, row in sorted(closed, key=lambda x: x[0])],
        },
        {
            "caption": f"Fixed-rate phases, every replicate: {OPEN_LOOP}; latency from an HDR "
            "histogram of every answered request, the unsent ones at a lower bound",
            "rows": [row for _, row in sorted(fixed, key=lambda x: x[0])],
        },
    ]


def _rate_cells(impl: ImplementationResult, found: RateSummary | None) -> list[str]:
    """One implementation's cells of a rate row: usable/total replicates, p50, p99, p99.9,
    achieved."""
    if found is None:
        return ["not measured", "–", "–", "–", "–"]
    phases = replicates.phases_at(impl, found.offered_rps)
    usable = sum(1 for p in phases if not headline_exclusions(p))
    return [
        f"{usable}/{len(phases)}",
        *(estimate_text(found.latency.get(p), formatting.seconds) for p in _HEADLINE_PERCENTILES),
        estimate_text(found.achieved_rps, formatting.requests_rate),
    ]


# Implementations per latency table: five columns each, so three or more do not fit the A4
# page even wrapped (json-service has six); the defaults, with the Go/Rust ratios, come first.
RATE_TABLE_WIDTH = 2


def rate_tables(w: WorkloadResult) -> list[dict]:
    """The latency-per-rate tables: the Go and Rust defaults with their paired ratios, then the
    variants RATE_TABLE_WIDTH at a time."""
    impls = [i for i in w.implementations if _ok(i) and replicates.rates_of(i)]
    defaults = [i for i in impls if i.key in (GO, RUST)]
    others = [i for i in impls if i.key not in (GO, RUST)]
    groups = [defaults] if defaults else []
    groups += [others[n : n + RATE_TABLE_WIDTH] for n in range(0, len(others), RATE_TABLE_WIDTH)]
    return [rate_table(w, group) for group in groups]


def rate_table(w: WorkloadResult, impls: list[ImplementationResult]) -> dict:
    """One row per offered rate: each implementation's medians over replicates with CIs and, where
    every replicate on both sides is usable, the Go/Rust ratios paired by replicate."""
    by_key = {i.key: {s.offered_rps: s for s in replicates.rate_summaries(i)} for i in impls}
    go, rust = w.result_for(GO), w.result_for(RUST)
    keys = {i.key for i in impls}
    paired = go is not None and rust is not None and {GO, RUST} <= keys
    usable = set(replicates.usable_rates(go, rust)) if go and rust and paired else set()
    rates = sorted({rate for table in by_key.values() for rate in table})
    rows = []
    for rate in rates:
        ratios = []
        if go and rust and paired:
            for p in _RATIO_PERCENTILES:
                if rate in usable:
                    metric = f"latency_{p}_seconds"
                    ratios.append(ratio_text(replicates.replicate_ratio(go, rust, metric, rate)))
                else:
                    ratios.append(("–", "no ratio: not every replicate usable"))
        excluded = [
            f"{i.key} {e}"
            for i in impls
            if (found := by_key[i.key].get(rate)) is not None
            for e in found.exclusions
        ]
        set_aside = [
            f"{i.key} {e}"
            for i in impls
            if (found := by_key[i.key].get(rate)) is not None
            for e in found.set_aside
        ]
        rows.append(
            {
                "rate": formatting.requests_rate(rate),
                "cells": [c for i in impls for c in _rate_cells(i, by_key[i.key].get(rate))],
                "ratios": [{"ratio": r, "verdict": v} for r, v in ratios],
                "excluded": "; ".join(excluded),
                "set_aside": "; ".join(set_aside),
            }
        )
    return {
        "impls": [i.key for i in impls],
        "paired": paired,
        "rows": rows,
        "span": str(1 + 5 * len(impls) + (len(_RATIO_PERCENTILES) if paired else 0)),
    }


def saturation_rows(w: WorkloadResult) -> list[dict]:
    """Each implementation's closed-loop saturation (median over replicated probes), then the
    Go/Rust ratio paired by replicate."""
    rows = []
    for impl in w.implementations:
        if not _ok(impl):
            continue
        probes = replicates.saturation_probes(impl)
        found = replicates.saturation(impl)
        rows.append(
            {
                "key": impl.key,
                "saturation": estimate_text(found, formatting.requests_rate),
                "probes": f"{len(found.values) if found else 0} of {len(probes)} succeeded",
                "verdict": "",
            }
        )
    go, rust = w.result_for(GO), w.result_for(RUST)
    if _ok(go) and _ok(rust) and go and rust:
        ratio = replicates.replicate_ratio(go, rust, replicates.SATURATION_METRIC)
        if ratio is not None:
            shown, called = ratio_text(ratio)
            rows.append({"key": "Go / Rust", "saturation": shown, "probes": "", "verdict": called})
    return rows


def replicate_count(w: WorkloadResult) -> int:
    """The most replicates any rate has (1 in files before replicated phases)."""
    return max(
        (len(s.replicates) for impl in w.implementations for s in replicates.rate_summaries(impl)),
        default=0,
    )


def _replicates_text(w: WorkloadResult) -> str:
    k = replicate_count(w)
    if k == 0:
        return "none measured"
    if k == 1:
        return (
            "1 per rate (no confidence intervals: a file from before replicated phases, or a run "
            "with one replicate)"
        )
    aside = sum(
        len(s.set_aside) for impl in w.implementations for s in replicates.rate_summaries(impl)
    )
    return (
        f"{k} per rate, each on a fresh server, implementations alternating in counterbalanced "
        "order; medians over replicates with 95 % bootstrap CIs, ratios paired by replicate "
        "(t-test on log ratios). A replicate with CPU steal over "
        f"{STEAL_SET_ASIDE_SHARE:.0%} of its phase is set aside (the hypervisor, not the server, "
        "stalled it) and may be replaced by an extra replicate: "
        + (f"{aside} set aside in this workload, listed with each rate" if aside else "none here")
    )


def _charts(w: WorkloadResult) -> list[Chart]:
    ok = [i for i in w.implementations if _ok(i) and replicates.rates_of(i)]
    if not ok:
        return []
    result = []
    summaries = {i.key: replicates.rate_summaries(i) for i in ok}
    curves = {
        key: [
            (
                s.offered_rps,
                s.latency["p50"].median,
                s.latency["p99"].median,
                s.latency["p999"].median,
            )
            for s in found
            if all(p in s.latency for p in _HEADLINE_PERCENTILES)
        ]
        for key, found in summaries.items()
    }
    result.append(
        Chart(
            title=f"{w.name}: latency percentiles against offered rate",
            alt=(
                f"Line chart of the median over replicates of p50, p99 and p99.9 latency in "
                f"milliseconds (log scale) against the offered request rate for {', '.join(curves)}; "
                "the rate table lists every value with its confidence interval."
            ),
            svg=Markup(charts.latency_vs_rate(f"{w.name}: latency vs offered rate", curves)),
        )
    )
    rates = {
        key: [(s.offered_rps, s.achieved_rps.median) for s in found]
        for key, found in summaries.items()
    }
    result.append(
        Chart(
            title=f"{w.name}: achieved against offered rate",
            alt=(
                f"Median achieved request rate over replicates against offered rate for "
                f"{', '.join(rates)}, with the line where achieved equals offered."
            ),
            svg=Markup(charts.achieved_vs_offered(f"{w.name}: achieved vs offered", rates)),
        )
    )
    common = set.intersection(*({s.offered_rps for s in found} for found in summaries.values()))
    shown = _first_replicates(ok, max(common)) if common else {}
    if shown:
        top = max(common)
        panels = {
            key: (
                [x.t_seconds for x in phase.latency_windows],
                [x.p99_seconds for x in phase.latency_windows],
                [x.max_seconds for x in phase.latency_windows],
                [c.at_seconds for c in phase.gc_cycles or ()],
            )
            for key, phase in shown.items()
        }
        which = ", ".join(f"{key} replicate {phase.replicate or 1}" for key, phase in shown.items())
        result.append(
            Chart(
                title=f"{w.name}: latency over time at {top:,.0f} req/s",
                alt=(
                    f"Per-window p99 and maximum latency over one {top:,.0f} requests/s phase "
                    f"({which}); dotted vertical lines mark the start of each Go GC cycle."
                ),
                svg=Markup(
                    charts.latency_over_time(
                        f"latency at {top:,.0f} req/s, GC cycles dotted", panels
                    )
                ),
            )
        )
        series = {
            key: (
                [s.t_seconds for s in phase.server_samples],
                [s.rss_bytes for s in phase.server_samples],
            )
            for key, phase in shown.items()
            if len(phase.server_samples) >= 3
        }
        if series:
            result.append(
                Chart(
                    title=f"{w.name}: server RSS over time at {top:,.0f} req/s",
                    alt=(
                        f"Resident memory of each server in MiB over the same phases ({which}), "
                        "sampled by psutil; the tables' peak RSS is the kernel's high-water mark."
                    ),
                    svg=Markup(
                        charts.time_series(
                            f"{w.name}: server RSS at {top:,.0f} req/s",
                            "RSS (MiB)",
                            series,
                            y_scale=1 / (1 << 20),
                        )
                    ),
                )
            )
    return result


def _first_replicates(impls: Sequence[ImplementationResult], rate: float) -> dict[str, ServerPhase]:
    """Per implementation, its lowest-numbered successful replicate at `rate`: over-time charts
    show one phase each (replicates ran on different servers, so their clocks do not line up)."""
    found = {}
    for impl in impls:
        phase = next((p for p in replicates.phases_at(impl, rate) if p.ok), None)
        if phase is not None:
            found[impl.key] = phase
    return found


def _cpus(cpus: tuple[int, ...] | None, unpinned: str) -> str:
    if cpus is None:
        return unpinned
    return f"CPU{'s' if len(cpus) != 1 else ''} {cpu_list(cpus)}"


def cpus_text(settings: ServerSettings) -> str:
    """Where the server and the load generator ran and the worker settings both runtimes got
    (the contract's one N: workloads/README.md), as the run was set up."""
    n = settings.parallelism
    loadgen = (
        "on the load hosts (Methodology lists them)"
        if settings.listen_address != "127.0.0.1"  # --hosts: servers listen where load hosts reach
        else _cpus(settings.loadgen_cpus, "unpinned (the harness CPUs, inherited)")
    )
    return (
        f"server {_cpus(settings.server_cpus, 'unpinned (any CPU the harness may use)')}, load "
        f"generator {loadgen}; "
        f"{n} worker{'s' if n != 1 else ''} on both runtimes (HARNESS_CPUS={n}; Go "
        f"GOMAXPROCS={n}; Rust TOKIO_WORKER_THREADS={n}, RAYON_NUM_THREADS={n}; a sweep's "
        "runtime setting over them; each implementation's as set in the Servers table)"
    )


def sharing_line(w: WorkloadResult) -> str:
    """ "server and load generator shared CPU(s) 0,1: ... (12 of 12 phases)" when any phase's
    load generator could run on a server CPU; "" when none did (or, in older files, none
    recorded it)."""
    phases = [p for impl in w.implementations for p in impl.phases if p.shared_cpus]
    if not phases:
        return ""
    shared = tuple(sorted({c for p in phases for c in p.shared_cpus or ()}))
    total = sum(1 for impl in w.implementations for p in impl.phases if p.shared_cpus is not None)
    return f"{shared_cpus_flag(shared)} ({len(phases)} of {total} phases)"


def cpu_sharing(w: WorkloadResult) -> str:
    """The report's disclosure of shared CPUs, with where to look and what to do about it."""
    line = sharing_line(w)
    if not line:
        return ""
    return (
        f"{line[:-1]}, each flagged in the phase tables; the load-gen CPU column shows how "
        "much). A disclosure, not an exclusion: give the load generator CPUs of its own with "
        "--loadgen-cpus where the machine has them"
    )


def sizing_text(w: WorkloadResult, settings: ServerSettings | None) -> str:
    """How long the fixed-rate phases were and why, with every capped rate named."""
    sizing = w.phase_sizing
    if sizing is None:
        if settings is None:
            return "not recorded"
        return (
            f"{settings.min_phase_seconds:g}–{settings.max_phase_seconds:g} s aiming at "
            f"{settings.target_requests_per_phase:,} requests (each rate's length not recorded "
            "before schema 9)"
        )
    lengths = "; ".join(
        f"{p.offered_rps:,.0f} req/s {p.seconds:.1f} s"
        + (
            f" (capped: the GC rate asks for {p.gc_seconds_needed:.0f} s)"
            if p.capped and p.gc_seconds_needed is not None
            else ""
        )
        for p in sizing.lengths
    )
    return sizing.source + (f": {lengths}" if lengths else "")


def server_context(w: WorkloadResult, config: RunConfig, load_hosts: dict | None = None) -> dict:
    """`load_hosts`: each load host's share of each phase (report.topology.share_table); None or
    no rows when everything ran on this machine."""
    settings = config.server
    impls = []
    for impl in w.implementations:
        impls.append(
            {
                "key": impl.key,
                "library": impl.library,
                "status": impl.status,
                "ok": impl.status == "ok",
                "error": impl.error or "",
                "idle_rss": formatting.size(impl.idle_rss_bytes),
                "parallelism": ", ".join(f"{k}={v}" for k, v in impl.parallelism.items()) or "–",
                "transport": ", ".join(f"{k} {v}" for k, v in impl.transport.items())
                or "not recorded",
                "binary": formatting.size(impl.build.binary_bytes),
            }
        )
    method = "–"
    if settings is not None:
        method = (
            f"{settings.loadgen}, fixed-rate phases open loop (-q) with latency correction (latency "
            f"from the intended send time), {settings.connections} connections; "
            f"{cpus_text(settings)}; saturation = closed-loop probe of "
            f"{settings.probe_seconds:g} s; a phase's requests, achieved rate, server CPU and GC "
            "cycles cover the load generator's own span, its peak RSS is its own (VmHWM reset at "
            "its start)"
        )
    phase_tables = _phase_tables(w)
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
        "cpu_sharing": cpu_sharing(w),
        "phase_sizing": sizing_text(w, settings),
        "rates": ", ".join(f"{r:,.0f}" for r in w.offered_rates_rps)
        or "none (no saturation figure)",
        "rates_source": w.rates_source or "not recorded (a file from before schema 5)",
        "replicates": _replicates_text(w),
        "impls": impls,
        "rate_tables": rate_tables(w),
        "saturation": {"caption": f"Saturation: {CLOSED_LOOP}", "rows": saturation_rows(w)},
        "phase_tables": phase_tables,
        "phase_count": str(sum(len(t["rows"]) for t in phase_tables)),
        "load_hosts": load_hosts or {"rows": [], "phases": "0"},
        "charts": _charts(w),
    }


CONSOLE_COLUMNS = (
    "workload",
    "impl",
    "load",
    "replicates",
    "achieved req/s",
    "p50",
    "p99",
    "p99.9",
    "GC max pause",
    "notes",
)


def console_rows(w: WorkloadResult) -> list[tuple[str, ...]]:
    """The run summary's server rows (CONSOLE_COLUMNS): per implementation, one row per offered
    rate with medians over its replicates, then one for the closed-loop saturation probes."""
    rows = []
    for impl in w.implementations:
        if impl.status != "ok":
            rows.append((w.name, impl.key, "", "", "", "", "", "", "", impl.status))
            continue
        for found in replicates.rate_summaries(impl):
            phases = replicates.phases_at(impl, found.offered_rps)
            usable = sum(1 for p in phases if not headline_exclusions(p))
            gc = [
                f
                for p in replicates.gc_phases(impl)
                if p.offered_rps == found.offered_rps
                and (f := gc_figures(p.gc_cycles, server_cpu_seconds(p)))
            ]
            notes = "; ".join(
                [
                    *(["not usable: " + "; ".join(found.exclusions)] if found.exclusions else []),
                    *([] if found.exclusions else found.flags),
                    *(f"set aside {e}" for e in found.set_aside),
                ]
            )
            rows.append(
                (
                    w.name,
                    impl.key,
                    f"{found.offered_rps:,.0f} req/s",
                    f"{len(phases)}" if usable == len(phases) else f"{usable}/{len(phases)} usable",
                    formatting.requests_rate(found.achieved_rps.median),
                    *(
                        formatting.seconds(found.latency[p].median) if p in found.latency else "–"
                        for p in _HEADLINE_PERCENTILES
                    ),
                    "no GC" if not gc else formatting.seconds(max(f.pause_max_seconds for f in gc)),
                    notes,
                )
            )
        probes = replicates.saturation_probes(impl)
        found = replicates.saturation(impl)
        if probes:
            failed = [f"FAILED: {p.error}" for p in probes if not p.ok]
            rows.append(
                (
                    w.name,
                    impl.key,
                    "saturation (closed loop)",
                    f"{len(found.values) if found else 0}/{len(probes)} probes",
                    formatting.requests_rate(found.median if found else None),
                    "–",
                    "–",
                    "–",
                    "–",
                    "; ".join(failed),
                )
            )
    return rows
