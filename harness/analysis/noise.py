"""Noise tests: what the recorded machine readings and order say about a run.

`cpu_usage_between` compares two /proc/stat readings taken around a run: the steal share (the
hypervisor ran another guest) and "other load". /proc/stat cannot tell the benchmark's own busy
time from anyone else's on the same CPU. So the caller passes the CPU seconds it accounted for: the
measured children's rusage on the measured CPUs, and the harness's own time on the rest. What is
left over is other load.

From the recorded order, `drift` fits a trend of a metric against start time (Kendall's tau and
the Theil-Sen slope). `position_effect` compares the slots of a round (Kruskal-Wallis on values
normalised by each implementation's median). `noise_warnings` turns these into short warnings. It
warns only when an effect is significant (p < ALPHA) and beyond the noise threshold, so that it
does not cry wolf.

`workload_noise`, `run_noise` and `session_noise` apply these to what a run recorded (schema 3's
CPU window and machine state, schema 2's order), so `compare`, the run summary and the report
show the same figures. A run written before them gives None figures and no warnings. The readings
are taken by `harness.measure.noise`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as sps

from harness.analysis.stats import ALPHA
from harness.model import CpuTimes, ImplementationResult, Run, SystemState, WorkloadResult

CLOCK_TICKS_PER_SECOND = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0

STEAL_WARN_SHARE = 0.01  # steal above 1 % of the interval

OTHER_LOAD_WARN_SHARE = 0.10  # unaccounted busy time above 10 % of the CPUs' time

MIN_INTERVAL_SECONDS = 1.0  # below ~100 ticks per CPU, one tick of rounding is already 1 %

SECONDS_PER_HOUR = 3600.0

TICK_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CpuShare:
    cpu: int
    steal_share: float
    busy_share: float  # user+nice+system+irq+softirq over all ticks, the benchmark's own included


@dataclass(frozen=True)
class CpuUsage:
    """Shares of the CPU time in an interval. Busy excludes idle, iowait and steal."""

    interval_seconds: float
    per_cpu: tuple[CpuShare, ...]
    steal_share: float  # pooled over every CPU
    measured_cpus: tuple[int, ...]  # every CPU when the run was not pinned
    measured_other_share: float  # busy minus accounted_cpu_seconds, over the measured CPUs' time
    rest_other_share: float | None  # busy minus harness_cpu_seconds on the others; None if none


@dataclass(frozen=True)
class Drift:
    n: int
    kendall_tau: float
    p_value: float
    slope_per_second: float  # Theil-Sen, in the metric's unit per second
    span_seconds: float
    relative_per_hour: float  # slope * 3600 / median
    relative_across_run: float  # slope * span / median
    relative_across_run_low: float  # from Theil-Sen's 95 % slope interval
    relative_across_run_high: float


@dataclass(frozen=True)
class Slot:
    """One repetition as the order recorded it: which program, its 0-based slot in the round."""

    key: str  # implementation, e.g. "go/default"
    position: int
    value: float


@dataclass(frozen=True)
class PositionEffect:
    n: int
    median_by_position: dict[int, float]  # median of value / its implementation's median
    fastest_position: int  # lowest median relative value
    slowest_position: int
    spread: float  # slowest / fastest - 1
    p_value: float  # Kruskal-Wallis across positions


def _deltas(before: CpuTimes, after: CpuTimes) -> tuple[int, int, int]:
    """(total, busy, steal) ticks; a counter that went backwards (iowait can) counts as 0."""
    d = {f: max(0, getattr(after, f) - getattr(before, f)) for f in TICK_FIELDS}
    busy = d["user"] + d["nice"] + d["system"] + d["irq"] + d["softirq"]
    return busy + d["idle"] + d["iowait"] + d["steal"], busy, d["steal"]


def cpu_usage_between(
    before: Sequence[CpuTimes],
    after: Sequence[CpuTimes],
    measured_cpus: Collection[int] | None,
    *,
    accounted_cpu_seconds: float = 0.0,
    harness_cpu_seconds: float = 0.0,
    ticks_per_second: float = CLOCK_TICKS_PER_SECOND,
) -> CpuUsage | None:
    """Steal and unaccounted busy shares between two /proc/stat readings.

    `accounted_cpu_seconds` is the CPU time the caller knows ran on the measured CPUs (the sum of
    its measured children's rusage user + system). `harness_cpu_seconds` is its own time (and a
    load generator's) on the other CPUs. rusage does not say which CPU it ran on, so the
    subtraction is pooled over each group, not per CPU. With `measured_cpus` None, or covering
    every CPU (an unpinned run), both are subtracted from one pool. Shares are clamped at 0,
    because rusage and the tick counters round differently. Below ~1 s they are rounding.
    """
    start = {t.cpu: t for t in before}
    deltas = {t.cpu: _deltas(start[t.cpu], t) for t in after if t.cpu in start}
    if not deltas or sum(total for total, _, _ in deltas.values()) == 0:
        return None
    measured = sorted(set(measured_cpus or ()) & set(deltas)) or sorted(deltas)
    rest = sorted(set(deltas) - set(measured))
    if not rest:
        accounted_cpu_seconds += harness_cpu_seconds

    def other_share(cpus: Sequence[int], seconds: float) -> float:
        total = sum(deltas[c][0] for c in cpus)
        busy = sum(deltas[c][1] for c in cpus) - seconds * ticks_per_second
        return max(0.0, busy / total) if total else 0.0

    return CpuUsage(
        interval_seconds=sum(t for t, _, _ in deltas.values()) / len(deltas) / ticks_per_second,
        per_cpu=tuple(
            CpuShare(c, steal / total if total else 0.0, busy / total if total else 0.0)
            for c, (total, busy, steal) in sorted(deltas.items())
        ),
        steal_share=sum(s for _, _, s in deltas.values()) / sum(t for t, _, _ in deltas.values()),
        measured_cpus=tuple(measured),
        measured_other_share=other_share(measured, accounted_cpu_seconds),
        rest_other_share=other_share(rest, harness_cpu_seconds) if rest else None,
    )


def drift(start_times_seconds: Sequence[float], values: Sequence[float]) -> Drift | None:
    """Trend of a metric against start time: Kendall's tau and the Theil-Sen slope.

    None with fewer than 4 values, no time span or a median that is not positive. A constant
    series has no trend (tau 0, p 1); scipy gives NaN there.
    """
    if len(values) != len(start_times_seconds) or len(values) < 4:
        return None
    times, ys = np.asarray(start_times_seconds, float), np.asarray(values, float)
    span, median = float(times.max() - times.min()), float(np.median(ys))
    if span <= 0 or median <= 0:
        return None
    tau, p_value = sps.kendalltau(times, ys)
    if np.isnan(tau):
        tau, p_value = 0.0, 1.0
    slope, _, low, high = sps.theilslopes(ys, times)
    return Drift(
        n=len(ys),
        kendall_tau=float(tau),
        p_value=float(p_value),
        slope_per_second=float(slope),
        span_seconds=span,
        relative_per_hour=float(slope) * SECONDS_PER_HOUR / median,
        relative_across_run=float(slope) * span / median,
        relative_across_run_low=float(low) * span / median,
        relative_across_run_high=float(high) * span / median,
    )


def relative_to_median(keys: Sequence[str], values: Sequence[float]) -> tuple[float, ...]:
    """Each value over its implementation's median, so programs of different speed pool.

    Every implementation's median must be positive (a time, a size); position_effect leaves out
    the others.
    """
    by_key: dict[str, list[float]] = {}
    for k, v in zip(keys, values, strict=True):
        by_key.setdefault(k, []).append(v)
    medians = {k: float(np.median(vs)) for k, vs in by_key.items()}
    return tuple(v / medians[k] for k, v in zip(keys, values, strict=True))


def position_effect(slots: Sequence[Slot]) -> PositionEffect | None:
    """Median relative value per slot of a round, and Kruskal-Wallis across slots.

    Only implementations seen in at least two positions count: in a fixed order a program's
    position is confounded with the program itself, and normalising would hide both. So do only
    those with a positive median (a Rust program's zero GC pauses cannot be normalised). None when
    fewer than two positions remain.
    """
    positions_of: dict[str, set[int]] = {}
    values_of: dict[str, list[float]] = {}
    for s in slots:
        positions_of.setdefault(s.key, set()).add(s.position)
        values_of.setdefault(s.key, []).append(s.value)
    usable = {k for k, v in values_of.items() if len(positions_of[k]) > 1 and np.median(v) > 0}
    kept = [s for s in slots if s.key in usable]
    relative = relative_to_median([s.key for s in kept], [s.value for s in kept])
    groups: dict[int, list[float]] = {}
    for s, r in zip(kept, relative, strict=True):
        groups.setdefault(s.position, []).append(r)
    if len(groups) < 2:
        return None
    medians = {p: float(np.median(groups[p])) for p in sorted(groups)}
    fastest, slowest = min(medians, key=medians.__getitem__), max(medians, key=medians.__getitem__)
    identical = len(set(relative)) == 1  # Kruskal-Wallis is undefined; no effect to see
    p_value = 1.0 if identical else float(sps.kruskal(*groups.values()).pvalue)
    return PositionEffect(
        n=len(kept),
        median_by_position=medians,
        fastest_position=fastest,
        slowest_position=slowest,
        spread=medians[slowest] / medians[fastest] - 1,
        p_value=p_value,
    )


def _pct(share: float, sign: str = "") -> str:
    return f"{share * 100:{sign}.1f} %"


def _cpus(cpus: Sequence[int]) -> str:
    return ("cpu " if len(cpus) == 1 else "cpus ") + ",".join(str(c) for c in cpus)


def noise_warnings(
    *,
    threshold: float,
    drifts: Mapping[str, Drift | None] | None = None,
    positions: Mapping[str, PositionEffect | None] | None = None,
    usage: CpuUsage | None = None,
    state: SystemState | None = None,
) -> tuple[str, ...]:
    """Short warnings; keys of `drifts` / `positions` name the metric ("go/default wall time")."""
    found = []
    for label, d in (drifts or {}).items():
        if d is not None and d.p_value < ALPHA and abs(d.relative_across_run) > threshold:
            found.append(
                f"{label} drifted {_pct(d.relative_across_run, '+')} across the run"
                f" (Kendall tau {d.kendall_tau:.2f}, p={d.p_value:.2g})"
            )
    for label, e in (positions or {}).items():
        if e is not None and e.p_value < ALPHA and e.spread > threshold:
            found.append(
                f"{label} was {_pct(e.spread)} higher at position {e.slowest_position} of each round"
                f" than at position {e.fastest_position} (Kruskal-Wallis p={e.p_value:.2g})"
            )
    if usage is not None and usage.interval_seconds >= MIN_INTERVAL_SECONDS:
        if usage.steal_share > STEAL_WARN_SHARE:
            worst = max(usage.per_cpu, key=lambda s: s.steal_share)
            found.append(
                f"CPU steal took {_pct(usage.steal_share)} of the run's CPU time (cpu {worst.cpu}:"
                f" {_pct(worst.steal_share)}); the hypervisor ran other work"
            )
        if usage.measured_other_share > OTHER_LOAD_WARN_SHARE:
            found.append(
                f"other load used {_pct(usage.measured_other_share)} of the measured"
                f" {_cpus(usage.measured_cpus)} beyond the benchmark's own CPU time"
            )
        if usage.rest_other_share is not None and usage.rest_other_share > OTHER_LOAD_WARN_SHARE:
            rest = [s.cpu for s in usage.per_cpu if s.cpu not in usage.measured_cpus]
            found.append(
                f"other load used {_pct(usage.rest_other_share)} of the harness's {_cpus(rest)}"
                " beyond the harness's own CPU time"
            )
    if state is not None:
        governors: dict[str, list[int]] = {}
        for c in state.cpus:
            if c.governor is not None and c.governor != "performance":
                governors.setdefault(c.governor, []).append(c.cpu)
        for governor, cpus in governors.items():
            found.append(
                f"CPU frequency governor is {governor} on {_cpus(cpus)}, not performance;"
                " the clock may change during the run"
            )
    return tuple(found)


WALL = "wall time"  # the metric drift and position effects are computed on


@dataclass(frozen=True)
class WorkloadNoise:
    """What the noise readings and the recorded order say about one workload's measurements."""

    workload: str
    usage: CpuUsage | None  # None: no CPU window (schema < 3, or /proc/stat unreadable)
    drifts: dict[str, Drift | None]  # implementation key -> wall-time trend; None: too few rounds
    position: PositionEffect | None  # wall time by slot of the round, implementations pooled
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class RunNoise:
    state: SystemState | None  # None: not recorded (schema < 3)
    machine_warnings: tuple[str, ...]  # from the state: a governor other than performance
    workloads: tuple[WorkloadNoise, ...]

    @property
    def warnings(self) -> tuple[str, ...]:
        """The machine's, then each workload's as "<workload>: ..."."""
        return self.machine_warnings + tuple(
            f"{w.workload}: {warning}" for w in self.workloads for warning in w.warnings
        )


def window_usage(result: WorkloadResult, measured_cpus: Collection[int] | None) -> CpuUsage | None:
    """Steal and other load over the workload's CPU window.

    Accounted for on the measured CPUs: the CPU time of every process the harness reaped in the
    window (children), less its load generator's and a proxy's upstream's (`cpus = "apart"`),
    which ran on the harness's CPUs and are counted there with the harness's own time. Only the recorded phases' load-generator time is known, so
    what it used in a server's warm-ups stays on the measured side: other load there can be
    understated by that much, never overstated.
    """
    window = result.cpu_window
    if window is None:
        return None
    loadgen = sum(
        p.loadgen_user_seconds + p.loadgen_sys_seconds
        for impl in result.implementations
        for p in (*impl.phases, *impl.direct_phases)
    ) + _apart_backend_cpu(result)
    return cpu_usage_between(
        window.before,
        window.after,
        measured_cpus,
        accounted_cpu_seconds=max(0.0, window.children_cpu_seconds - loadgen),
        harness_cpu_seconds=window.harness_cpu_seconds + loadgen,
    )


def _apart_backend_cpu(result: WorkloadResult) -> float:
    """The CPU time of back ends that ran on the harness's CPUs (`cpus = "apart"`, a proxy's
    upstream) in the recorded phases, and of those back ends answering the direct phases: reaped
    by the harness like a measured program, but spent where the load generator runs, so counted
    there, as the load generator's is."""
    total = 0.0
    for impl in result.implementations:
        if impl.backend is None or impl.backend.cpus_policy != "apart":
            continue
        total += sum(
            (p.backend_user_seconds or 0.0) + (p.backend_sys_seconds or 0.0) for p in impl.phases
        )
        total += sum(p.server_user_seconds + p.server_sys_seconds for p in impl.direct_phases)
    return total


def wall_drifts(result: WorkloadResult) -> dict[str, Drift | None]:
    """Each implementation's wall-time trend over its ok repetitions with a recorded start time
    (none before schema 2, so no entry); None when there are too few of them."""
    drifts = {}
    for impl in result.implementations:
        timed = [
            (r.started_at_seconds, r.wall_seconds)
            for r in impl.repetitions
            if r.ok and r.started_at_seconds is not None
        ]
        if timed:
            starts, walls = zip(*timed, strict=True)
            drifts[impl.key] = drift(starts, walls)
    return drifts


def wall_slots(result: WorkloadResult) -> list[Slot]:
    """The ok repetitions' wall times in their recorded slots (none before schema 2)."""
    return [
        Slot(impl.key, r.position, r.wall_seconds)
        for impl in result.implementations
        for r in impl.repetitions
        if r.ok and r.position is not None
    ]


def workload_noise(
    result: WorkloadResult, measured_cpus: Collection[int] | None, threshold: float
) -> WorkloadNoise:
    """The CPU shares, wall-time drifts and position effect of one workload, and their warnings
    (drift labelled "go/default wall time", the position effect "wall time")."""
    usage = window_usage(result, measured_cpus)
    drifts = wall_drifts(result)
    position = position_effect(wall_slots(result))
    warnings = noise_warnings(
        threshold=threshold,
        drifts={f"{key} {WALL}": d for key, d in drifts.items()},
        positions={WALL: position},
        usage=usage,
    )
    return WorkloadNoise(result.name, usage, drifts, position, warnings)


def _gathered(
    state: SystemState | None, workloads: Sequence[WorkloadNoise], threshold: float
) -> RunNoise:
    return RunNoise(state, noise_warnings(threshold=threshold, state=state), tuple(workloads))


def run_noise(run: Run, threshold: float) -> RunNoise:
    """Every workload of a run; the measured CPUs are the run's pinning (all when unpinned)."""
    measured = run.config.cpu_affinity
    return _gathered(
        run.system,
        [workload_noise(w, w.cpus or measured, threshold) for w in run.workloads],
        threshold,
    )


def _labelled(impls: Sequence[ImplementationResult], side: str) -> tuple[ImplementationResult, ...]:
    return tuple(replace(i, variant=f"{i.variant} ({side})") for i in impls)


def merge_sides(base: WorkloadResult, head: WorkloadResult) -> WorkloadResult:
    """One workload's base and head results as the one workload they were measured as, keys
    "go/default (base)" and "go/default (head)", over the CPU window both sides recorded."""
    return replace(
        head,
        implementations=_labelled(base.implementations, "base")
        + _labelled(head.implementations, "head"),
        cpu_window=head.cpu_window or base.cpu_window,
    )


def session_noise(base: Run, head: Run, threshold: float) -> RunNoise:
    """`harness ab`'s two runs (one session_id) as measured: drift and position effect over the
    base and head repetitions together, since they shared rounds, slots and the machine."""
    base_workloads = {w.name: w for w in base.workloads}
    merged = [
        merge_sides(base_workloads[w.name], w) if w.name in base_workloads else w
        for w in head.workloads
    ]
    measured = head.config.cpu_affinity
    return _gathered(
        head.system or base.system,
        [workload_noise(w, measured, threshold) for w in merged],
        threshold,
    )


def summary_line(noise: RunNoise) -> str | None:
    """One line a reader always sees, warning or not: steal and other load on the measured CPUs
    (the workload with the most), the largest |drift| and the widest position spread (naming the
    workload when there are several). None when the run recorded none of them."""
    several = len(noise.workloads) > 1

    def at(name: str, detail: str = "") -> str:
        inside = ", ".join(s for s in (name if several else "", detail) if s)
        return f" ({inside})" if inside else ""

    parts = []
    usages = [(w.workload, w.usage) for w in noise.workloads if w.usage is not None]
    if usages:
        name, usage = max(usages, key=lambda u: u[1].steal_share)
        parts.append(f"steal {_pct(usage.steal_share)}{at(name)}")
        name, usage = max(usages, key=lambda u: u[1].measured_other_share)
        parts.append(
            f"other load {_pct(usage.measured_other_share)} on measured"
            f" {_cpus(usage.measured_cpus)}{at(name)}"
        )
    drifts = [
        (w.workload, key, d)
        for w in noise.workloads
        for key, d in w.drifts.items()
        if d is not None
    ]
    if drifts:
        name, key, d = max(drifts, key=lambda x: abs(x[2].relative_across_run))
        where = f"{name} {key}" if several else key
        parts.append(
            f"largest drift {_pct(d.relative_across_run, '+')} ({where}, p={d.p_value:.2g})"
        )
    positions = [(w.workload, w.position) for w in noise.workloads if w.position is not None]
    if positions:
        name, e = max(positions, key=lambda x: x[1].spread)
        parts.append(f"position spread {_pct(e.spread)}{at(name, f'p={e.p_value:.2g}')}")
    return ", ".join(parts) or None
