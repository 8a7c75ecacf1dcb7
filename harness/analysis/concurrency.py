"""What a run says about concurrency: speedup and parallel efficiency along the cpus axis, the
share of the CPUs the harness and the machine took, and the per-unit costs of the concurrency
workloads (time per hop, memory per task).

Speedup at N CPUs is T(1) / T(N) and parallel efficiency T(1) / (N x T(N)), with T the median of
the binary's own work time (`work_seconds`: start-up and input loading excluded, they do not
parallelise on either side). The points at 1 and N CPUs are separate workloads of the run, measured
in separate rounds, so their samples are not paired: the 95 % interval is the percentile bootstrap
of the ratio of medians with both samples resampled independently (stats.ratio_of_medians_ci).

Memory per unit (bytes per task) is peak RSS / items at each point, which includes the runtime's
own baseline; where a sweep varies the item count, the slope of peak RSS on items (least squares,
scipy.stats.linregress, its t interval) is the marginal cost of one more task, baseline excluded.

Pure functions over measured values; the report, the brief, capacity and the decision read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scipy import stats as scipy_stats

from harness.analysis import noise, stats
from harness.model import CPUS_AXIS, HYBRID_LABEL, ImplementationResult, Run, WorkloadResult

MIN_POINTS_FOR_SLOPE = 3  # a line through two points has no interval
MIN_SAMPLES = 2  # a median's interval needs two repetitions


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95 % interval (None when the samples cannot give one)."""

    value: float
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class ScalingPoint:
    cpus: int
    work_seconds: Estimate  # median work time at this CPU count, with its CI
    speedup: Estimate  # T(1) / T(N)
    efficiency: Estimate  # T(1) / (N T(N))


@dataclass(frozen=True)
class ScalingCurve:
    """One implementation of one workload along the cpus axis."""

    workload: str  # the manifest's name ("pipeline"), not a point's
    key: str  # "go/default"
    label: str  # "go", "rust", "go+rust"
    library: str
    points: tuple[ScalingPoint, ...]  # ascending CPU count; the first is 1 CPU

    def at(self, cpus: int) -> ScalingPoint | None:
        return next((p for p in self.points if p.cpus == cpus), None)


@dataclass(frozen=True)
class CpuLoss:
    """What of the measured CPUs went elsewhere while one point ran, in CPUs (1.0 = one whole
    CPU): the harness's own process when it shared them, and the machine (hypervisor steal, other
    processes). On this 2-CPU VM at 2 CPUs this is the share of the second CPU the program lost."""

    workload: str  # the point's name, "pipeline@cpus=2"
    cpus: int
    shares_cpus_with_harness: bool
    harness_cpus: float | None  # harness CPU seconds / window seconds; None: not on these CPUs
    machine_cpus: float  # (steal + unaccounted busy) share x the measured CPUs


@dataclass(frozen=True)
class UnitCost:
    """A per-unit figure of one implementation at one point: time per unit (work s / items) and
    peak RSS per unit (bytes / items), each the median over repetitions with its CI."""

    workload: str  # the point's name
    manifest: str
    key: str
    label: str
    cpus: int | None
    items: int
    seconds_per_item: Estimate
    bytes_per_item: Estimate
    peak_rss_bytes: Estimate
    cpu_seconds: Estimate  # user + sys
    wall_seconds: Estimate


@dataclass(frozen=True)
class MemorySlope:
    """Marginal bytes per item of one implementation along a sweep of the item count."""

    manifest: str
    key: str
    label: str
    bytes_per_item: Estimate  # the slope, with its 95 % t interval
    points: int


@dataclass(frozen=True)
class ConcurrencyAnalysis:
    curves: tuple[ScalingCurve, ...]
    losses: tuple[CpuLoss, ...]
    unit_costs: tuple[UnitCost, ...]
    memory_slopes: tuple[MemorySlope, ...]

    def curve(self, workload: str, key: str) -> ScalingCurve | None:
        return next((c for c in self.curves if c.workload == workload and c.key == key), None)

    def costs_of(self, manifest: str) -> tuple[UnitCost, ...]:
        return tuple(c for c in self.unit_costs if c.manifest == manifest)

    @property
    def empty(self) -> bool:
        return not (self.curves or self.unit_costs)


def label_of(result: ImplementationResult) -> str:
    """ "go", "rust" or "go+rust" (a Go program linking a Rust library, by its build record)."""
    return HYBRID_LABEL if result.build.links else result.lang


def estimate(values: Sequence[float]) -> Estimate:
    ci = stats.median_ci(values)
    return Estimate(
        stats.median(values), ci.low if ci else None, ci.high if ci else None, len(values)
    )


def work_times(result: ImplementationResult) -> list[float]:
    return [r.work_seconds for r in result.repetitions if r.ok and r.work_seconds]


def scaling_point(one_cpu: Sequence[float], at_n: Sequence[float], cpus: int) -> ScalingPoint:
    """Speedup and efficiency at `cpus` from work times at 1 CPU and at `cpus` (hand-checkable:
    medians 2.0 s and 1.25 s at 2 CPUs give speedup 1.6 and efficiency 0.8)."""
    speedup = stats.median(one_cpu) / stats.median(at_n)
    ci = stats.ratio_of_medians_ci(one_cpu, at_n)
    n = min(len(one_cpu), len(at_n))
    return ScalingPoint(
        cpus=cpus,
        work_seconds=estimate(at_n),
        speedup=Estimate(speedup, ci.low if ci else None, ci.high if ci else None, n),
        efficiency=Estimate(
            speedup / cpus, ci.low / cpus if ci else None, ci.high / cpus if ci else None, n
        ),
    )


def cpu_points(run: Run) -> dict[str, list[tuple[int, WorkloadResult]]]:
    """Manifest workload -> its cpus-axis points (CPU count, result), ascending."""
    grouped: dict[str, list[tuple[int, WorkloadResult]]] = defaultdict(list)
    for result in run.workloads:
        if result.sweep and result.sweep.axis == CPUS_AXIS and result.sweep.value.isdigit():
            grouped[result.sweep.workload].append((int(result.sweep.value), result))
    return {name: sorted(points, key=lambda p: p[0]) for name, points in grouped.items()}


def scaling_curves(run: Run) -> tuple[ScalingCurve, ...]:
    """Every implementation measured at 1 CPU and at least one more count, in a workload whose
    pair did not diverge (a diverging pair's figures are not reported)."""
    curves = []
    for name, points in cpu_points(run).items():
        if points[0][0] != 1 or len(points) < 2:
            continue
        if any(r.status == "checksum_mismatch" for _, r in points):
            continue
        for impl in points[0][1].implementations:
            base = work_times(impl)
            if len(base) < MIN_SAMPLES:
                continue
            measured = [
                ScalingPoint(
                    1,
                    estimate(base),
                    Estimate(1.0, 1.0, 1.0, len(base)),
                    Estimate(1.0, 1.0, 1.0, len(base)),
                )
            ]
            for cpus, result in points[1:]:
                other = result.result_for(impl.key)
                times = work_times(other) if other and other.status == "ok" else []
                if len(times) >= MIN_SAMPLES:
                    measured.append(scaling_point(base, times, cpus))
            if len(measured) > 1:
                curves.append(
                    ScalingCurve(name, impl.key, label_of(impl), impl.library, tuple(measured))
                )
    return tuple(curves)


def cpu_losses(run: Run) -> tuple[CpuLoss, ...]:
    """Per cpus-axis point above 1 CPU: the CPU the harness and the machine took from it."""
    losses = []
    for points in cpu_points(run).values():
        for cpus, result in points:
            usage = noise.window_usage(result, result.cpus)
            if cpus < 2 or usage is None or result.cpu_window is None:
                continue
            harness = None
            if result.shares_cpus_with_harness and usage.interval_seconds > 0:
                harness = result.cpu_window.harness_cpu_seconds / usage.interval_seconds
            measured = len(usage.measured_cpus)
            steal = sum(s.steal_share for s in usage.per_cpu if s.cpu in usage.measured_cpus)
            losses.append(
                CpuLoss(
                    workload=result.name,
                    cpus=cpus,
                    shares_cpus_with_harness=result.shares_cpus_with_harness,
                    harness_cpus=harness,
                    machine_cpus=steal + usage.measured_other_share * measured,
                )
            )
    return tuple(losses)


def _manifest(result: WorkloadResult) -> str:
    return result.sweep.workload if result.sweep else result.name


def unit_costs(results: Iterable[WorkloadResult]) -> tuple[UnitCost, ...]:
    """Per ok implementation of each concurrency workload, its per-item time and memory."""
    costs = []
    for result in results:
        if result.category != "concurrency" or result.status == "checksum_mismatch":
            continue
        for impl in result.implementations:
            reps = [r for r in impl.repetitions if r.ok and r.items and r.work_seconds]
            if impl.status != "ok" or len(reps) < MIN_SAMPLES:
                continue
            costs.append(
                UnitCost(
                    workload=result.name,
                    manifest=_manifest(result),
                    key=impl.key,
                    label=label_of(impl),
                    cpus=len(result.cpus) if result.cpus else None,
                    items=int(stats.median([r.items for r in reps])),
                    seconds_per_item=estimate([r.work_seconds / r.items for r in reps]),
                    bytes_per_item=estimate([r.peak_rss_bytes / r.items for r in reps]),
                    peak_rss_bytes=estimate([float(r.peak_rss_bytes) for r in reps]),
                    cpu_seconds=estimate([r.user_seconds + r.sys_seconds for r in reps]),
                    wall_seconds=estimate([r.wall_seconds for r in reps]),
                )
            )
    return tuple(costs)


def memory_slope(pairs: Sequence[tuple[float, float]]) -> Estimate | None:
    """Least-squares slope of peak RSS (bytes) on items over (items, bytes) pairs, with its 95 %
    t interval; None with fewer than MIN_POINTS_FOR_SLOPE distinct item counts."""
    if len({x for x, _ in pairs}) < MIN_POINTS_FOR_SLOPE:
        return None
    fit = scipy_stats.linregress([x for x, _ in pairs], [y for _, y in pairs])
    half = scipy_stats.t.ppf(1 - (1 - stats.CONFIDENCE) / 2, len(pairs) - 2) * fit.stderr
    return Estimate(float(fit.slope), float(fit.slope - half), float(fit.slope + half), len(pairs))


def memory_slopes(run: Run) -> tuple[MemorySlope, ...]:
    """Along every sweep of a concurrency workload whose axis changes the item count."""
    grouped: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    labels: dict[tuple[str, str], str] = {}
    for result in run.workloads:
        if result.category != "concurrency" or not result.sweep or result.sweep.axis == CPUS_AXIS:
            continue
        if result.status == "checksum_mismatch":
            continue
        for impl in result.implementations:
            for rep in impl.repetitions:
                if rep.ok and rep.items:
                    key = (result.sweep.workload, impl.key)
                    grouped[key].append((float(rep.items), float(rep.peak_rss_bytes)))
                    labels[key] = label_of(impl)
    slopes = []
    for (manifest, key), pairs in sorted(grouped.items()):
        found = memory_slope(pairs)
        if found is not None:
            points = len({x for x, _ in pairs})
            slopes.append(MemorySlope(manifest, key, labels[(manifest, key)], found, points))
    return tuple(slopes)


def analyse_concurrency(run: Run) -> ConcurrencyAnalysis:
    return ConcurrencyAnalysis(
        curves=scaling_curves(run),
        losses=cpu_losses(run),
        unit_costs=unit_costs(run.workloads),
        memory_slopes=memory_slopes(run),
    )


def efficiency_near(
    analysis: ConcurrencyAnalysis, workload: str, key: str, cpus: int
) -> ScalingPoint | None:
    """The measured point of `workload`'s `key` curve nearest to `cpus` (ties: the lower count),
    for a capacity projection at that many cores per process; None without a curve."""
    curve = analysis.curve(workload, key)
    if curve is None:
        return None
    return min(curve.points, key=lambda p: (abs(p.cpus - cpus), p.cpus))


def _ratio_text(go: Estimate, rust: Estimate) -> str:
    return f"Go/Rust {go.value / rust.value:.2f}×" if rust.value else "Go/Rust not defined"


def _defaults(costs: Sequence[UnitCost]) -> dict[int | None, dict[str, UnitCost]]:
    """CPU count -> lang -> the default implementation's cost at that count."""
    found: dict[int | None, dict[str, UnitCost]] = defaultdict(dict)
    for cost in costs:
        if cost.key.endswith("/default"):
            found[cost.cpus][cost.label] = cost
    return found


def concurrency_lines(analysis: ConcurrencyAnalysis) -> dict[str, str]:
    """One evidence line per decision category the concurrency figures bear on: per-hop and
    spawn-to-join times for latency determinism, parallel efficiency and memory per task for
    scale and resource cost. Nothing when the run measured none of it."""
    lines: dict[str, str] = {}
    hops = []
    for manifest in sorted({c.manifest for c in analysis.unit_costs}):
        for cpus, pair in sorted(_defaults(analysis.costs_of(manifest)).items(), key=str):
            if {"go", "rust"} <= set(pair):
                go, rust = pair["go"].seconds_per_item, pair["rust"].seconds_per_item
                where = f" at {cpus} CPU{'s' if cpus != 1 else ''}" if cpus else ""
                hops.append(
                    f"{manifest}{where}: {go.value * 1e9:,.0f} ns against "
                    f"{rust.value * 1e9:,.0f} ns per item ({_ratio_text(go, rust)})"
                )
    if hops:
        lines["latency_determinism"] = "Concurrency, time per item: " + "; ".join(hops) + "."
    scale = []
    for curve in analysis.curves:
        if curve.key.endswith("/default"):
            top = curve.points[-1]
            low, high = top.efficiency.low, top.efficiency.high
            ci = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
            scale.append(
                f"{curve.workload} {curve.label} at {top.cpus} CPUs: speedup "
                f"{top.speedup.value:.2f}×, efficiency {top.efficiency.value:.2f}{ci}"
            )
    for slope in analysis.memory_slopes:
        if slope.key.endswith("/default"):
            scale.append(
                f"{slope.manifest} {slope.label}: {slope.bytes_per_item.value:,.0f} bytes per "
                "task (slope)"
            )
    if scale:
        lines["resource_cost"] = "Concurrency at scale: " + "; ".join(scale) + "."
    return lines


def correctness_lines(run: Run) -> dict[str, str]:
    """The memory-safety evidence the race checks give: how many Go programs of concurrent
    workloads the detector ran clean (only the paths a quick run exercised), how many it caught,
    and the `unsafe` counted in the Rust implementations' own source."""
    checks = {
        (w.sweep.workload if w.sweep else w.name, c.key): c
        for w in run.workloads
        for c in w.race_checks
    }
    counts = {
        (w.sweep.workload if w.sweep else w.name, u.key): u
        for w in run.workloads
        for u in w.unsafe_counts
    }
    if not checks and not counts:
        return {}
    statuses = [c.status for c in checks.values()]
    parts = []
    if checks:
        parts.append(
            f"Go race detector (one quick run each, -race): {statuses.count('clean')} of "
            f"{len(statuses)} concurrent programs clean, {statuses.count('race')} with a data race"
            + (
                f", {len(statuses) - statuses.count('clean') - statuses.count('race')} not run"
                if len(statuses) > statuses.count("clean") + statuses.count("race")
                else ""
            )
        )
    counted = [u.count for u in counts.values() if u.count is not None]
    if counts:
        parts.append(
            f"Rust: compiler-checked Send/Sync; {sum(counted)} unsafe in the own source of "
            f"{len(counted)} counted implementation(s) (dependencies not counted)"
        )
    return {"memory_safety": "; ".join(parts) + "."}
