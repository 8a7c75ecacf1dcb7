"""Raw repetitions -> per-metric summaries and Go/Rust comparisons with confidence intervals.

`repetition_metrics` is the single definition of every per-repetition metric: the CSV export and the
report both read it, so a metric means the same thing everywhere. Implementations of one run were
measured in the same rounds, so Go vs Rust is a paired comparison: the median of the per-round
ratios, its CI from resampling rounds, and the Wilcoxon signed-rank test (stats.py). Only implementations whose status
is "ok" get summaries; a failed or diverging one is reported as such, never as a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.analysis import stats
from harness.analysis.replicates import SATURATION_METRIC, ServerPair, analyse_server
from harness.analysis.stats import paired_ratio
from harness.model import (
    GcCycle,
    ImplementationResult,
    Repetition,
    Run,
    ServerPhase,
    WorkloadResult,
)

CV_WARNING = 0.05
# Headline metrics compared Go vs Rust, in report order; lower is better unless listed below.
COMPARED_METRICS = ("wall_seconds", "work_seconds", "cpu_seconds", "peak_rss_bytes", "throughput")
# The one list of metrics where more is better (batch throughput, servers' achieved and saturation
# rates): the run verdicts, compare, trend, the brief and formatting all read it.
HIGHER_IS_BETTER = {"throughput", "achieved_rps", SATURATION_METRIC}


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    value: float


@dataclass(frozen=True)
class GcFigures:
    """What a process's Go GC cycles add up to: the one extraction every reader uses (batch
    repetitions and server phases, the run summary, the report's GC table, the decision matrix)."""

    count: int
    pause_total_seconds: float
    pause_max_seconds: float  # 0 with no cycle
    longest_mark_seconds: float
    cpu_seconds: float  # all GC CPU (assist + background + idle + the STW phases)
    cpu_share: float | None  # of the process's user + sys CPU time; None when it used none


def gc_figures(cycles: Sequence[GcCycle] | None, process_cpu_seconds: float) -> GcFigures | None:
    """None when no GC trace was recorded (Rust, or a phase that failed)."""
    if cycles is None:
        return None
    pauses = [c.pause_seconds for c in cycles]
    cpu = sum(c.cpu_seconds for c in cycles)
    return GcFigures(
        count=len(pauses),
        pause_total_seconds=sum(pauses),
        pause_max_seconds=max(pauses, default=0.0),
        longest_mark_seconds=max((c.concurrent_mark_seconds for c in cycles), default=0.0),
        cpu_seconds=cpu,
        cpu_share=cpu / process_cpu_seconds if process_cpu_seconds > 0 else None,
    )


def _gc_metrics(gc: GcFigures | None) -> list[Metric]:
    if gc is None:
        return []
    metrics = [
        Metric("gc_count", "count", float(gc.count)),
        Metric("gc_pause_total_seconds", "s", gc.pause_total_seconds),
        Metric("gc_pause_max_seconds", "s", gc.pause_max_seconds),
        Metric("gc_cpu_seconds", "s", gc.cpu_seconds),
    ]
    if gc.cpu_share is not None:
        metrics.append(Metric("gc_cpu_share", "ratio", gc.cpu_share))
    return metrics


def server_cpu_seconds(phase: ServerPhase) -> float:
    """The server process's user + sys CPU seconds over the phase's window."""
    return phase.server_user_seconds + phase.server_sys_seconds


def repetition_metrics(rep: Repetition, throughput_kind: str) -> list[Metric]:
    """Every metric of one successful batch repetition, with its unit."""
    metrics = [
        Metric("wall_seconds", "s", rep.wall_seconds),
        Metric("user_seconds", "s", rep.user_seconds),
        Metric("sys_seconds", "s", rep.sys_seconds),
        Metric("cpu_seconds", "s", rep.user_seconds + rep.sys_seconds),
        Metric("peak_rss_bytes", "bytes", float(rep.peak_rss_bytes)),
    ]
    if rep.work_seconds is not None:
        metrics.append(Metric("work_seconds", "s", rep.work_seconds))
        metrics.append(Metric("startup_seconds", "s", rep.wall_seconds - rep.work_seconds))
        counter = rep.bytes if throughput_kind == "bytes" else rep.items
        if counter and rep.work_seconds > 0:
            metrics.append(Metric("throughput", f"{throughput_kind}/s", counter / rep.work_seconds))
    metrics += _gc_metrics(gc_figures(rep.gc_cycles, rep.user_seconds + rep.sys_seconds))
    metrics += [Metric(f"extra_{k}", extra_unit(k), v) for k, v in sorted(rep.extra.items())]
    return metrics


# An `extra` fact's unit, read from its name as the binary contract names them (workloads/README.md):
# "compress_seconds" is seconds, "compressed_bytes" bytes; anything else has no unit.
EXTRA_UNIT_SUFFIXES = (("_seconds", "s"), ("_bytes", "bytes"))


def extra_unit(name: str) -> str:
    """The unit of the workload-specific fact `name`, so the report can print it beside the times."""
    return next((unit for suffix, unit in EXTRA_UNIT_SUFFIXES if name.endswith(suffix)), "")


def phase_metrics(phase: ServerPhase) -> list[Metric]:
    """Every metric of one server phase, with its unit (the tidy CSV's rows for servers)."""
    metrics = [
        Metric("achieved_rps", "requests/s", phase.achieved_rps),
        Metric("requests", "count", float(phase.requests)),
        Metric("errors", "count", float(phase.errors)),
        Metric("duration_seconds", "s", phase.duration_seconds),
        Metric("server_user_seconds", "s", phase.server_user_seconds),
        Metric("server_sys_seconds", "s", phase.server_sys_seconds),
        Metric("server_cpu_seconds", "s", phase.server_user_seconds + phase.server_sys_seconds),
        Metric("server_peak_rss_bytes", "bytes", float(phase.server_peak_rss_bytes)),
        Metric("loadgen_cpu_seconds", "s", phase.loadgen_user_seconds + phase.loadgen_sys_seconds),
    ]
    if phase.offered_rps is not None:
        metrics.insert(0, Metric("offered_rps", "requests/s", phase.offered_rps))
    if phase.latency is not None:
        lat = phase.latency
        metrics += [
            Metric("latency_p50_seconds", "s", lat.p50_seconds),
            Metric("latency_p90_seconds", "s", lat.p90_seconds),
            Metric("latency_p99_seconds", "s", lat.p99_seconds),
            Metric("latency_p999_seconds", "s", lat.p999_seconds),
            Metric("latency_max_seconds", "s", lat.max_seconds),
        ]
    metrics += _gc_metrics(gc_figures(phase.gc_cycles, server_cpu_seconds(phase)))
    return metrics


@dataclass(frozen=True)
class MetricSummary:
    name: str
    unit: str
    values: tuple[float, ...]
    median: float
    ci_low: float | None
    ci_high: float | None
    cv: float | None
    minimum: float
    maximum: float
    outliers: int

    @property
    def noisy(self) -> bool:
        return self.cv is not None and self.cv > CV_WARNING


@dataclass(frozen=True)
class ImplementationSummary:
    key: str
    lang: str
    variant: str
    library: str
    status: str
    error: str | None
    has_gc: bool
    metrics: dict[str, MetricSummary]
    gc_pauses_seconds: tuple[float, ...]  # every pause of every repetition


def too_few_to_test(n: int | str, samples: str = "rounds") -> str:
    """The one wording for a verdict whose test could not reach p < ALPHA with the samples it had
    (stats.testable): "too few rounds to test (n = 5)". Never "no significant difference": the
    data could not have shown one. The run's readers (harness/report/formatting.uncalled) and
    `harness compare` / `harness ab` (analysis/compare.py) all say it with this."""
    return f"too few {samples} to test (n = {n})"


@dataclass(frozen=True)
class Comparison:
    """Go default vs Rust default for one metric: ratio = median over rounds of Go / Rust."""

    metric: str
    unit: str
    ratio: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # Wilcoxon signed-rank over the paired rounds
    significant: bool
    better: str | None  # "go" | "rust" | None when not significant
    rounds: int = 0  # rounds in which both ran
    # Whether the test could reach p < ALPHA with these rounds (stats.testable): False is "too few
    # rounds to test", which no reader may word as "no significant difference".
    testable: bool = True


@dataclass(frozen=True)
class WorkloadAnalysis:
    result: WorkloadResult
    implementations: tuple[ImplementationSummary, ...]
    comparisons: tuple[Comparison, ...]
    server: ServerPair | None = None  # a server workload's rates, saturation, GC phases, ratios

    def summary_for(self, key: str) -> ImplementationSummary | None:
        return next((s for s in self.implementations if s.key == key), None)


def summarise_metric(name: str, unit: str, values: Sequence[float]) -> MetricSummary:
    ci = stats.median_ci(values)
    return MetricSummary(
        name=name,
        unit=unit,
        values=tuple(values),
        median=stats.median(values),
        ci_low=ci.low if ci else None,
        ci_high=ci.high if ci else None,
        cv=stats.coefficient_of_variation(values),
        minimum=min(values),
        maximum=max(values),
        outliers=len(stats.outlier_indices(values)),
    )


def metric_values(
    result: ImplementationResult, throughput_kind: str
) -> dict[str, tuple[str, list[float]]]:
    """metric name -> (unit, values over the successful repetitions, in order)."""
    table: dict[str, tuple[str, list[float]]] = {}
    for rep in result.repetitions:
        if not rep.ok:
            continue
        for metric in repetition_metrics(rep, throughput_kind):
            table.setdefault(metric.name, (metric.unit, []))[1].append(metric.value)
    return table


def values_by_round(
    repetitions: Sequence[Repetition], metric: str, throughput_kind: str
) -> dict[int, float]:
    """round -> the metric's value, over the successful repetitions."""
    return {
        rep.rep: m.value
        for rep in repetitions
        if rep.ok
        for m in repetition_metrics(rep, throughput_kind)
        if m.name == metric
    }


def summarise_implementation(
    result: ImplementationResult, throughput_kind: str, measured: bool = True
) -> ImplementationSummary:
    """`measured=False` (a workload whose default outputs diverged) keeps every figure out."""
    metrics = {}
    if result.status == "ok" and measured:
        metrics = {
            name: summarise_metric(name, unit, values)
            for name, (unit, values) in metric_values(result, throughput_kind).items()
        }
    pauses = (
        tuple(
            cycle.pause_seconds
            for rep in result.repetitions
            if rep.ok
            for cycle in rep.gc_cycles or ()
        )
        if measured
        else ()
    )
    return ImplementationSummary(
        key=result.key,
        lang=result.lang,
        variant=result.variant,
        library=result.library,
        status=result.status,
        error=result.error,
        has_gc=result.lang == "go",
        metrics=metrics,
        gc_pauses_seconds=pauses,
    )


def compare(
    metric: str, unit: str, go: ImplementationResult, rust: ImplementationResult, throughput: str
) -> Comparison | None:
    """Go vs Rust for one metric, paired by round; None when no round has both."""
    paired = paired_ratio(
        values_by_round(go.repetitions, metric, throughput),
        values_by_round(rust.repetitions, metric, throughput),
    )
    if paired is None:
        return None
    significant = paired.significant
    better = None
    if significant:
        go_higher = paired.ratio > 1
        better = "go" if go_higher == (metric in HIGHER_IS_BETTER) else "rust"
    return Comparison(
        metric=metric,
        unit=unit,
        ratio=paired.ratio,
        ci_low=paired.ci_low,
        ci_high=paired.ci_high,
        p_value=paired.p_value,
        significant=significant,
        better=better,
        rounds=paired.rounds,
        testable=paired.testable,
    )


def analyse_workload(result: WorkloadResult) -> WorkloadAnalysis:
    measured = result.status != "checksum_mismatch"  # no number for a pair that disagrees
    summaries = tuple(
        summarise_implementation(r, result.throughput, measured) for r in result.implementations
    )
    comparisons: list[Comparison] = []
    go = next((s for s in summaries if s.key == "go/default"), None)
    rust = next((s for s in summaries if s.key == "rust/default"), None)
    if result.status == "ok" and go and rust:
        go_result, rust_result = result.result_for(go.key), result.result_for(rust.key)
        for metric in COMPARED_METRICS:
            if metric in go.metrics and metric in rust.metrics and go_result and rust_result:
                comparison = compare(
                    metric, go.metrics[metric].unit, go_result, rust_result, result.throughput
                )
                if comparison is not None:
                    comparisons.append(comparison)
    return WorkloadAnalysis(
        result=result,
        implementations=summaries,
        comparisons=tuple(comparisons),
        server=analyse_server(result.implementations) if result.kind == "server" else None,
    )


def analyse_run(run: Run) -> tuple[WorkloadAnalysis, ...]:
    return tuple(analyse_workload(w) for w in run.workloads)
