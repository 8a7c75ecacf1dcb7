"""Cross-workload report sections: the summary by category, GC and memory, methodology, noise.

Every sentence is generated from measured values; where the evidence does not support a claim the
sentence says so ("no significant difference", "too few rounds to test (n = 5)", "single phase, no
confidence interval").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup

from harness.analysis import noise, replicates, stats, timing
from harness.analysis.capacity import CapacityProjection, describe_load
from harness.analysis.decision import CATEGORIES, Decision
from harness.analysis.stats import PairedRatio
from harness.analysis.summaries import (
    CV_WARNING,
    WorkloadAnalysis,
    gc_figures,
    server_cpu_seconds,
)
from harness.analysis.trend import trends
from harness.build import settings as build_settings
from harness.measure import cpufeatures
from harness.model import CpuState, Run, ServerPhase, ServerSettings, SystemState
from harness.report import charts, formatting
from harness.report import scaling as scaling_report
from harness.report.charts import Chart
from harness.report.scaling import Budget, ChartSpec
from harness.report.servers import GO, RUST, estimate_text

CATEGORY_ORDER = ("parsing", "compression", "crypto", "allocation", "server")
CATEGORY_NAMES = {"server": "servers"}
SPIKE_FACTOR = 3.0  # a latency window is a spike when its max exceeds 3x the median window max


def _batch_sentence(a: WorkloadAnalysis) -> str:
    parts = []
    for c in a.comparisons:
        if c.metric in ("wall_seconds", "cpu_seconds", "peak_rss_bytes"):
            label = {
                "wall_seconds": "wall time",
                "cpu_seconds": "CPU time",
                "peak_rss_bytes": "peak memory",
            }
            parts.append(
                f"{label[c.metric]}: {formatting.verdict(c)} "
                f"(Go/Rust {formatting.ratio_with_ci(c.ratio, c.ci_low, c.ci_high)})"
            )
    return (
        f"{a.result.name}: " + "; ".join(parts) + "."
        if parts
        else f"{a.result.name}: nothing comparable."
    )


def _server_sentence(a: WorkloadAnalysis) -> str:
    """Saturation (closed loop) and the latency at replicates.headline_rate, as medians over
    replicates with their CIs and the Go/Rust ratio paired by replicate; only rates where every
    replicate on both sides is usable are ever quoted."""
    w, server = a.result, a.server
    go, rust = w.result_for(GO), w.result_for(RUST)
    if server is None or go is None or rust is None or go.status != "ok" or rust.status != "ok":
        return f"{w.name}: no comparable phases."
    parts = []
    go_sat, rust_sat = server.saturation.get(GO), server.saturation.get(RUST)
    if go_sat is not None and rust_sat is not None:
        counts = len(go_sat.values), len(rust_sat.values)
        parts.append(
            f"closed-loop saturation Go {estimate_text(go_sat, formatting.requests_rate)} vs Rust "
            f"{estimate_text(rust_sat, formatting.requests_rate)} req/s "
            f"({_ratio_phrase(server.saturation_ratio)}; " + _probes_phrase(*counts) + ")"
        )
    rate = server.headline_rate
    if rate is not None:
        g, r = server.rate(GO, rate), server.rate(RUST, rate)
        assert g is not None and r is not None  # a usable rate has phases on both sides
        k = min(len(g.replicates), len(r.replicates))
        ratio = server.p99_ratios.get(rate)
        seconds = formatting.seconds
        parts.append(
            f"at {rate:,.0f} req/s p99 Go {estimate_text(g.latency.get('p99'), seconds)} vs Rust "
            f"{estimate_text(r.latency.get('p99'), seconds)} ({_ratio_phrase(ratio)}), p99.9 Go "
            f"{estimate_text(g.latency.get('p999'), seconds)} vs Rust "
            f"{estimate_text(r.latency.get('p999'), seconds)} ("
            + ("one replicate each, no CI" if k == 1 else f"medians over {k} replicates")
            + "; the highest rate where every replicate on both sides was usable, at most "
            f"{replicates.HEADLINE_MAX_SATURATION_FRACTION * 100:.0f} % of the slower saturation)"
        )
    else:
        parts.append(
            "no offered rate where every replicate on both sides met the rate without a failed "
            "request: no latency comparison (see the rate table)"
        )
    return f"{w.name}: " + "; ".join(parts) + "."


def _probes_phrase(go: int, rust: int) -> str:
    if go == rust:
        return "one probe each" if go == 1 else f"medians of {go} probes each"
    return f"medians of {go} (Go) and {rust} (Rust) probes"


def _ratio_phrase(ratio: PairedRatio | None) -> str:
    """ "Go/Rust 2.24× [2.05, 2.26], significant"; the batch workloads' rule (CI and p)."""
    if ratio is None:
        return "no paired replicates"
    called = (
        "significant"
        if ratio.significant
        else formatting.uncalled(ratio.testable, ratio.rounds, "replicates")
    )
    return f"Go/Rust {formatting.ratio_with_ci(ratio.ratio, ratio.ci_low, ratio.ci_high)}, {called}"


def summary(
    analyses: Sequence[WorkloadAnalysis], cpu_flags: tuple[str, ...] | None = None
) -> list[dict]:
    """Sentences grouped by category, in the essay's order; a verdict that depends on CPU
    features (the manifest's cpu_features) carries its caveat, read against `cpu_flags`, the
    measured machine's."""
    groups: dict[str, list[str]] = {}
    for a in analyses:
        w = a.result
        if w.status != "ok":
            sentence = f"{w.name}: {w.status.replace('_', ' ')} — no comparison ({w.error})."
        elif w.kind == "server":
            sentence = _server_sentence(a)
        else:
            sentence = _batch_sentence(a)
        caveat = cpufeatures.caveat(w.name, w.cpu_features, cpu_flags)
        if caveat and w.status == "ok":
            sentence += f" Caveat: {caveat}"
        groups.setdefault(w.category, []).append(sentence)
    order = [c for c in CATEGORY_ORDER if c in groups] + sorted(set(groups) - set(CATEGORY_ORDER))
    return [{"category": CATEGORY_NAMES.get(c, c), "sentences": groups[c]} for c in order]


@dataclass(frozen=True)
class Spikes:
    """Latency spikes of one phase: windows whose max exceeds SPIKE_FACTOR x the median window max,
    and how many of them start within a window of a GC cycle's start."""

    spikes: int
    aligned: int
    gc_windows: int  # windows in which a GC cycle started
    windows: int


def spikes_of(phase: ServerPhase) -> Spikes | None:
    """None when the phase has no GC record (Rust) or too few windows to call a spike."""
    windows = phase.latency_windows
    if len(windows) < 4 or phase.gc_cycles is None:
        return None
    maxima = np.array([w.max_seconds for w in windows])
    threshold = SPIKE_FACTOR * float(np.median(maxima))
    width = windows[1].t_seconds - windows[0].t_seconds if len(windows) > 1 else 0.25
    gc_windows = {int((c.at_seconds - windows[0].t_seconds) // width) for c in phase.gc_cycles}
    spikes = [i for i, w in enumerate(windows) if w.max_seconds > threshold]
    return Spikes(
        spikes=len(spikes),
        aligned=sum(1 for i in spikes if i in gc_windows or i - 1 in gc_windows),
        gc_windows=len(gc_windows & set(range(len(windows)))),
        windows=len(windows),
    )


def _spike_alignment(found: Sequence[Spikes]) -> str:
    """Spikes over every replicate of a rate, and how many start near a GC cycle."""
    if not found:
        return "–"
    spikes = sum(f.spikes for f in found)
    gc_windows = sum(f.gc_windows for f in found)
    windows = sum(f.windows for f in found)
    if not spikes:
        return (
            f"no spikes (> {SPIKE_FACTOR:g}× median window max); GC in {gc_windows} of "
            f"{windows} windows"
        )
    return (
        f"{sum(f.aligned for f in found)} of {spikes} spikes within a window of a GC start "
        f"(GC started in {gc_windows} of {windows} windows)"
    )


def _server_gc_rows(
    name: str, key: str, measured: Sequence[ServerPhase]
) -> tuple[list[dict], list[float]]:
    """One row per offered rate (figures over its GC phases, replicates.gc_phases), and every GC
    pause."""
    rows = []
    pauses: list[float] = []
    for rate in sorted({p.offered_rps for p in measured if p.offered_rps is not None}):
        phases = [p for p in measured if p.offered_rps == rate]
        gc = [f for p in phases if (f := gc_figures(p.gc_cycles, server_cpu_seconds(p)))]
        pauses += [c.pause_seconds for p in phases for c in p.gc_cycles or ()]
        shares = [f.cpu_share for f in gc if f.cpu_share is not None]
        k = len(phases)
        rows.append(
            {
                "workload": f"{name} {rate:,.0f} req/s ({k} replicate{'s' if k > 1 else ''})",
                "key": key,
                "gc": "no GC" if not gc else f"{stats.median([f.count for f in gc]):g}",
                "max_pause": "no GC"
                if not gc
                else formatting.seconds(max(f.pause_max_seconds for f in gc)),
                "gc_cpu": "no GC" if not shares else formatting.percent(stats.median(shares)),
                "peak_rss": formatting.size(
                    stats.median([float(p.server_peak_rss_bytes) for p in phases])
                ),
                "spikes": _spike_alignment([f for p in phases if (f := spikes_of(p)) is not None])
                if gc
                else "–",
            }
        )
    return rows, pauses


def gc_and_memory(run: Run, analyses: Sequence[WorkloadAnalysis]) -> dict:
    rows = []
    pauses: dict[str, list[float]] = {}
    for a in analyses:
        w = a.result
        for summary_ in a.implementations:
            impl = w.result_for(summary_.key)
            if impl is None or impl.status != "ok" or w.status == "checksum_mismatch":
                continue
            if w.kind == "server":
                measured = a.server.gc_phases.get(impl.key, ()) if a.server else ()
                found, server_pauses = _server_gc_rows(w.name, impl.key, measured)
                rows += found
                if server_pauses:
                    pauses.setdefault(f"{w.name} (server)", []).extend(server_pauses)
                continue
            m = summary_.metrics
            if summary_.has_gc and summary_.gc_pauses_seconds:
                pauses.setdefault(w.name, []).extend(summary_.gc_pauses_seconds)
            rows.append(
                {
                    "workload": w.name,
                    "key": summary_.key,
                    "gc": "no GC"
                    if not summary_.has_gc
                    else formatting.metric_value(m["gc_count"].median, "count")
                    if "gc_count" in m
                    else "–",
                    "max_pause": "no GC"
                    if not summary_.has_gc
                    else formatting.seconds(max(summary_.gc_pauses_seconds, default=0.0)),
                    "gc_cpu": "no GC"
                    if not summary_.has_gc
                    else (
                        formatting.percent(m["gc_cpu_share"].median) if "gc_cpu_share" in m else "–"
                    ),
                    "peak_rss": formatting.size(m["peak_rss_bytes"].median)
                    if "peak_rss_bytes" in m
                    else "–",
                    "spikes": "–",
                }
            )
    all_pauses = [p for values in pauses.values() for p in values]
    chart = None
    if all_pauses:
        chart = Chart(
            title="Go GC pause distribution",
            alt=(
                f"Histogram of {len(all_pauses)} individual Go stop-the-world pauses in microseconds (log scale), "
                "one line per workload; the table lists counts and maxima."
            ),
            svg=Markup(
                charts.pause_histogram(
                    "Go GC pauses (STW sweep termination + mark termination)", pauses
                )
            ),
        )
    reading = []
    if all_pauses:
        p99 = float(np.percentile(all_pauses, 99))
        reading.append(
            f"Across {len(all_pauses)} Go GC cycles the median pause was "
            f"{formatting.seconds(float(np.median(all_pauses)))}, the 99th percentile "
            f"{formatting.seconds(p99)} and the largest {formatting.seconds(max(all_pauses))}."
        )
    longest_mark = max(
        (
            c.concurrent_mark_seconds
            for w in run.workloads
            for i in w.implementations
            for p in i.phases
            for c in p.gc_cycles or ()
        ),
        default=0.0,
    )
    pinned = run.config.cpu_affinity
    reading.append(
        "Go's collector runs concurrently with the program; pinned to "
        + (
            f"{len(pinned)} CPU(s) ({', '.join(map(str, pinned))})"
            if pinned
            else "no particular CPUs"
        )
        + ", its background marking competes with the program for the same core(s), which shows up as GC CPU "
        "share and, in servers, as tail latency. The stop-the-world pauses are only part of it: a concurrent "
        "mark shares the core with the program for as long as it runs"
        + (f" (longest in this run: {formatting.seconds(longest_mark)})" if longest_mark else "")
        + ", and requests queue behind it. Rust frees memory deterministically at scope end: its cost is "
        "inside the measured CPU time and its footprint is the peak RSS above, with no pauses to schedule around."
    )
    return {"rows": rows, "chart": chart, "reading": reading}


def _server_workers(settings: ServerSettings | None) -> str:
    """What the run's servers had: one core count only, whichever it was."""
    if settings is None:
        return "no server ran"
    n = settings.parallelism
    return (
        f"servers ran with {n} worker{'s' if n != 1 else ''} on {n} CPU{'s' if n != 1 else ''} "
        "in this run, one core count only"
    )


def methodology(run: Run, analyses: Sequence[WorkloadAnalysis]) -> dict:
    noisy = []
    for a in analyses:
        for s in a.implementations:
            for name, m in s.metrics.items():
                if m.noisy and name in (
                    "wall_seconds",
                    "cpu_seconds",
                    "peak_rss_bytes",
                    "throughput",
                ):
                    noisy.append(f"{a.result.name} {s.key} {name}: CV {formatting.percent(m.cv)}")
    flags = []
    for a in analyses:
        for key, summaries_ in (a.server.rates if a.server else {}).items():
            for found in summaries_:
                if found.flags:
                    flags.append(
                        f"{a.result.name} {key} at {found.offered_rps:,.0f} req/s: "
                        + "; ".join(found.flags)
                    )
    build_flags = sorted(
        {
            f"{i.lang}: {i.build.flags}"
            for a in analyses
            for i in a.result.implementations
            if i.build.ok
        }
    )
    # Each setting once, with the builds it touched: those that can change code as warnings, those
    # that cannot (VCS stamping, module cache modes) in one line (harness/build/settings.py).
    build_changes, build_settings_quiet = build_settings.methodology_lines(
        [i.build for a in analyses for i in a.result.implementations]
    )
    cpu_caveats = [
        text
        for a in analyses
        if (text := cpufeatures.caveat(a.result.name, a.result.cpu_features, run.machine.cpu_flags))
    ]
    return {
        "time": _time_spent(run),
        "build_changes": build_changes,
        "build_settings_quiet": build_settings_quiet,
        "cpu_caveats": cpu_caveats,
        "noisy": noisy,
        "cv_threshold": formatting.percent(CV_WARNING),
        "server_flags": flags,
        "build_flags": build_flags,
        "not_measured": [
            *(
                [
                    "the labelled variants: this run measured each workload's Go and Rust "
                    "defaults only (--defaults-only, the smoke run); make bench measures them;"
                ]
                if run.config.defaults_only
                else []
            ),
            "team skills, hiring and onboarding, and how long each implementation took to write;",
            "ecosystem maturity, library quality and long-term maintenance;",
            "safety beyond memory safety (logic errors, concurrency bugs that both languages allow);",
            "behaviour on other machines: these are one VM's numbers (2 vCPUs, no frequency control, no "
            "hardware counters); rerun on the hardware you deploy to;",
            "multi-core scaling: programs are pinned to one CPU and "
            + _server_workers(run.config.server)
            + ".",
        ],
    }


def _time_spent(run: Run) -> dict:
    """Each timed workload's wall time by stage (analysis/timing.py), and the run's total."""
    rows = [
        {
            "workload": w.name,
            **{stage: timing.minutes(getattr(w.timing, stage)) for stage in timing.STAGES},
            "total": timing.minutes(w.timing.total_seconds),
        }
        for w in run.workloads
        if w.timing is not None
    ]
    return {"rows": rows, "line": timing.breakdown_line(run) or ""}


def _money(value: float | None) -> str:
    if value is None:
        return "not measured"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def capacity_section(projection: CapacityProjection) -> dict:
    rows = []
    for w in projection.workloads:
        for lang in (w.go, w.rust):
            rows.append(
                {
                    "workload": w.workload,
                    "key": lang.key,
                    "measured": lang.measured,
                    "basis": lang.basis,
                    "target": describe_load(w.target_load, w.unit),
                    "per_core": "not measured"
                    if lang.work_per_core_second is None
                    else describe_load(lang.work_per_core_second, w.unit) + " per core",
                    "cores": "–"
                    if lang.cores is None
                    else f"{lang.cores} ({lang.cores_unrounded:.2f})",
                    "instances": "–" if lang.instances is None else str(lang.instances),
                    "memory": formatting.size(lang.memory_bytes),
                    "cpu_cost": _money(lang.cpu_cost_per_month),
                    "memory_cost": _money(lang.memory_cost_per_month),
                    "total": _money(lang.total_cost_per_month),
                    "note": "",
                }
            )
        notes = [f"scaling: {w.scaling}"] if w.scaling else []
        if w.go_rust_cost_ratio is not None:
            notes.insert(
                0, f"Go/Rust monthly cost {w.go_rust_cost_ratio:.2f}× · basis: {lang.basis}"
            )
        rows[-1]["note"] = " · ".join(notes)
    return {
        "rows": rows,
        "assumptions": list(projection.assumptions),
        "source": projection.config.source,
    }


def decision_section(decision: Decision) -> dict:
    titles = {c.name: c.title for c in CATEGORIES}
    evidence = [
        {
            "title": titles.get(name, name),
            "measured": e.measured,
            "summary": e.summary,
            "lines": list(e.lines),
        }
        for name, e in decision.evidence.categories.items()
    ]
    return {
        "scored": decision.scored,
        "source": decision.source or "",
        "message": decision.message or "",
        "lean": decision.lean or "",
        "net": f"{decision.net:+d}",
        "pulls": f"Rust pull {decision.rust_pull}, Go pull {decision.go_pull}",
        "dominant": ", ".join(decision.dominant) or "none",
        "categories": [
            {
                "title": c.title,
                "score": str(c.score),
                "weight": str(c.weight),
                "favours": c.high_favours,
                "contribution": f"{c.contribution:+d}",
                "pull": c.pull,
                "evidence": c.evidence.summary,
                "measured": c.evidence.measured,
            }
            for c in decision.categories
        ],
        "reasons": list(decision.reasons),
        "evidence": evidence,
    }


def build_and_operations(run: Run) -> dict:
    """The compile-feedback loop and deployment footprint of every implementation."""
    rows = []
    per_lang: dict[str, dict[str, list[float]]] = {}
    for w in run.workloads:
        for impl in w.implementations:
            b = impl.build
            rows.append(
                {
                    "workload": w.name,
                    "key": impl.key,
                    "ok": b.ok,
                    "error": b.error or "",
                    "state": "SKIPPED" if b.skip_reason is not None else "BUILD FAILED",
                    "clean": formatting.seconds(b.clean_build_seconds),
                    "incremental": formatting.seconds(b.incremental_build_seconds),
                    "size": formatting.size(b.binary_bytes),
                    "stripped": formatting.size(b.stripped_bytes),
                    "deps": "–" if b.dependency_count is None else str(b.dependency_count),
                    "loc": "–" if b.source_lines is None else str(b.source_lines),
                    "idle": formatting.size(impl.idle_rss_bytes)
                    if w.kind == "server"
                    else "n/a (batch)",
                    "note": b.profile_error or "",
                }
            )
            if impl.is_default and b.ok:
                bucket = per_lang.setdefault(impl.lang, {})
                for name, value in (
                    ("clean", b.clean_build_seconds),
                    ("incremental", b.incremental_build_seconds),
                    ("stripped", b.stripped_bytes),
                    ("loc", b.source_lines),
                ):
                    if value is not None:
                        bucket.setdefault(name, []).append(float(value))
    reading = []
    go, rust = per_lang.get("go", {}), per_lang.get("rust", {})
    for name, label, fmt, note in (
        ("clean", "clean build", formatting.seconds, "; one timing each"),
        ("incremental", "incremental rebuild", formatting.seconds, "; one timing each"),
        ("stripped", "stripped binary", formatting.size, ""),
    ):
        if go.get(name) and rust.get(name):
            reading.append(
                f"Median {label} of the default implementations: Go {fmt(float(np.median(go[name])))}, "
                f"Rust {fmt(float(np.median(rust[name])))} ({len(go[name])} and {len(rust[name])} "
                f"programs{note})."
            )
    if not any(r["clean"] != "–" for r in rows):
        reading.append(
            "Clean and incremental build times were not measured in this run "
            "(`harness run --build-profile`, on by default for full runs)."
        )
    return {"rows": rows, "reading": reading}


def trend_section(runs: Sequence[Run]) -> dict:
    """Per workload, the default implementations' median wall time across comparable runs, with
    significant steps marked; empty when there is no history yet."""
    if len(runs) < 2:
        return {"shown": False, "runs": str(len(runs)), "charts": [], "steps": [], "detectable": []}
    labels = [
        f"{(r.machine.git_commit or r.run_id)[:8]}{'*' if r.machine.git_dirty else ''}"
        for r in runs
    ]
    index_of = {r.run_id: i for i, r in enumerate(runs)}
    all_trends = trends(runs)
    charts_out = []
    steps_out = []
    seen_out = []
    for workload in dict.fromkeys(t.workload for t in all_trends):
        chosen = [
            t
            for t in all_trends
            if t.workload == workload
            and t.variant == "default"
            and t.metric == "wall_seconds"
            and len(t.points) >= 2
        ]
        if not chosen:
            continue
        series = {}
        step_x = set()
        for t in chosen:
            by_run = {p.run_id: p for p in t.points}
            series[f"{t.lang}/{t.variant}"] = [
                (by_run[r.run_id].median, by_run[r.run_id].ci_low, by_run[r.run_id].ci_high)
                if r.run_id in by_run
                else (float("nan"), None, None)
                for r in runs
            ]
            step_x.update(index_of[s.after.run_id] for s in t.steps)
        seen_out.append(
            f"{workload}: the last step could have called a wall-time change of "
            + ", ".join(
                f"{t.lang}/{t.variant} {_detectable_words(t.last_step_detectable())}"
                for t in chosen
            )
        )
        charts_out.append(
            Chart(
                title=f"{workload}: median wall time across runs",
                alt=(
                    f"Median wall time with 95 % CI per run for the default implementations of {workload} over "
                    f"{len(runs)} comparable runs; dashed red lines mark significant changes."
                ),
                svg=Markup(
                    charts.trend(
                        f"{workload}: median wall time per run",
                        "wall time (s)",
                        series,
                        labels,
                        sorted(step_x),
                    )
                ),
            )
        )
    for t in all_trends:
        for s in t.steps:
            p_value = "" if s.p_value is None else f", p {s.p_value:.3g}"
            steps_out.append(
                f"{t.workload} {t.lang}/{t.variant} {t.metric}: {s.verdict} {s.change * 100:+.1f} % from run "
                f"{s.before.run_id} ({s.before.commit or 'no commit'}) to {s.after.run_id} "
                f"({s.after.commit or 'no commit'}){p_value}; "
                f"MDC {_detectable_words(s.detectable_change)}"
            )
    return {
        "shown": True,
        "runs": str(len(runs)),
        "charts": charts_out,
        "steps": steps_out,
        "detectable": seen_out,
        "power": f"{stats.POWER:.0%}",
    }


def _detectable_words(change: float | None) -> str:
    """'≥ 2.4 %' or 'none of any size' (too few repetitions for the test to call anything)."""
    return "none of any size" if change is None else f"≥ {change * 100:.1f} %"


NOT_READABLE = "not readable"
ASLR = {0: "off (0)", 1: "partial (1)", 2: "full (2)"}


def _on_off(value: bool | None) -> str:
    return NOT_READABLE if value is None else ("on" if value else "off")


def _cpu_list(cpus: tuple[int, ...] | None) -> str:
    if cpus is None:
        return NOT_READABLE
    return ", ".join(map(str, cpus)) if cpus else "none"


def _which(cpus: Sequence[int]) -> str:
    return ("cpu " if len(cpus) == 1 else "cpus ") + ", ".join(map(str, cpus))


def _clock(c: CpuState) -> str:
    now = "now " + (NOT_READABLE if c.cur_mhz is None else f"{c.cur_mhz:.0f} MHz")
    if c.cur_mhz_source == "cpuinfo":
        now += " (/proc/cpuinfo)"
    peak = "max " + (NOT_READABLE if c.max_mhz is None else f"{c.max_mhz:.0f} MHz")
    return f"cpu {c.cpu}: {now}, {peak}"


def _machine_rows(state: SystemState) -> list[tuple[str, str]]:
    """The settings that make timings noisy, as read at the run's start."""
    governors: dict[str, list[int]] = {}
    for c in state.cpus:
        if c.governor is not None:
            governors.setdefault(c.governor, []).append(c.cpu)
    clocks = [_clock(c) for c in state.cpus if c.cur_mhz is not None or c.max_mhz is not None]
    smt = _on_off(state.smt_active)
    load = state.load_average
    return [
        (
            "Frequency governor",
            "; ".join(f"{g} ({_which(cs)})" for g, cs in governors.items()) or NOT_READABLE,
        ),
        ("Clock", "; ".join(clocks) or NOT_READABLE),
        ("SMT", smt + (f" (control: {state.smt_control})" if state.smt_control else "")),
        ("Transparent huge pages", state.transparent_hugepages or NOT_READABLE),
        ("ASLR", NOT_READABLE if state.aslr is None else ASLR.get(state.aslr, str(state.aslr))),
        ("Isolated CPUs", _cpu_list(state.isolated_cpus)),
        ("nohz_full CPUs", _cpu_list(state.nohz_full_cpus)),
        ("Boost / turbo", _on_off(state.boost)),
        (
            "Load average at the start",
            NOT_READABLE
            if load is None
            else f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (1, 5, 15 min)",
        ),
    ]


def _usage_cells(usage: noise.CpuUsage | None) -> dict[str, str]:
    if usage is None:
        return dict.fromkeys(("interval", "steal", "other", "rest"), "not recorded")
    worst = max(usage.per_cpu, key=lambda s: s.steal_share)
    rest = [s.cpu for s in usage.per_cpu if s.cpu not in usage.measured_cpus]
    return {
        "interval": formatting.seconds(usage.interval_seconds),
        "steal": f"{formatting.percent(usage.steal_share)} (most on cpu {worst.cpu}: "
        f"{formatting.percent(worst.steal_share)})",
        "other": f"{formatting.percent(usage.measured_other_share)} of "
        f"{_which(usage.measured_cpus)}",
        "rest": "none (not pinned)"
        if usage.rest_other_share is None
        else f"{formatting.percent(usage.rest_other_share)} of {_which(rest)}",
    }


def _signed(value: float) -> str:
    return f"{value * 100:+.1f} %"


def _position(effect: noise.PositionEffect | None) -> str:
    if effect is None:
        return "not estimable (no recorded order, or each program always in the same slot)"
    return (
        f"spread {formatting.percent(effect.spread)}: slowest position {effect.slowest_position}, "
        f"fastest {effect.fastest_position} (Kruskal-Wallis p={effect.p_value:.2g}, "
        f"{effect.n} repetitions)"
    )


def noise_section(found: noise.RunNoise, threshold: float) -> dict:
    """The machine's state at the start and, per workload, what analysis/noise.py derives from the
    CPU window and the recorded order; "not recorded" for runs written before them."""
    workloads = []
    for w in found.workloads:
        drifts = [
            {
                "key": key,
                "drift": "too few rounds" if d is None else _signed(d.relative_across_run),
                "interval": "–"
                if d is None
                else f"[{_signed(d.relative_across_run_low)}, {_signed(d.relative_across_run_high)}]",
                "p": "–" if d is None else f"{d.p_value:.2g}",
            }
            for key, d in w.drifts.items()
        ]
        workloads.append(
            {
                "name": w.workload,
                **_usage_cells(w.usage),
                "position": _position(w.position),
                "drifts": drifts,
                "warnings": list(w.warnings),
            }
        )
    return {
        "machine": _machine_rows(found.state) if found.state else [],
        "machine_warnings": list(found.machine_warnings),
        "workloads": workloads,
        "threshold": formatting.percent(threshold),
    }


def _sweep_chart(spec: ChartSpec) -> Chart:
    return Chart(
        title=spec.title,
        alt=spec.alt,
        svg=Markup(
            charts.sweep_curves(
                spec.title,
                spec.x_label,
                spec.y_label,
                spec.series,
                log_x=spec.log_x,
                log_y=spec.log_y,
                x_ticks=spec.x_ticks,
                light=spec.light,
                reference=spec.reference,
            )
        ),
    )


def scaling_section(run: Run, budget: Budget) -> dict:
    """The sweeps of the run side by side (scaling_report.py computes, this draws); no blocks
    and so no section for a run without sweep points."""
    view = scaling_report.scaling(run, budget)
    return {
        "notes": list(view.notes),
        "blocks": [
            {
                "anchor": b.anchor,
                "title": b.title,
                "settings": list(b.settings),
                "order": b.order,
                "sentences": list(b.sentences),
                "caption": b.caption,
                "headers": list(b.headers),
                "rows": [
                    {"cells": list(r.cells), "failed": r.failed, "note": r.note} for r in b.rows
                ],
                "span": str(len(b.headers) - 1),
                "charts": [_sweep_chart(spec) for spec in b.charts],
            }
            for b in view.blocks
        ],
    }
