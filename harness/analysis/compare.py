"""Compare two runs metric by metric and decide, with evidence, what regressed.

For each batch workload, implementation and gated metric: the change of the median (head / base -
1), a 95 % bootstrap CI of that change, and a two-sided Mann-Whitney U p-value (as benchstat and asv
do). A change is a regression only when it is significant (p < 0.05 and the CI excludes zero) *and*
larger than the noise threshold (default 5 %, overridable per metric), so tiny but real shifts do not
fail builds. Runs from different machines, toolchains or sizes are refused unless asked for, and
then every change is labelled as mixed. So are runs that do not cover the same ground (one not
`complete`, or a workload one has and the other lacks): an interrupted head with no workloads
once "passed" with 0 regressions; when allowed, the gaps are labelled INCOMPLETE.

Server workloads have a few replicates per offered rate (servers.replicates), not many
repetitions: p50 and p99 latency at each rate both runs measured, and saturation throughput, are
gated by the same rule, with a t-test on log values (the rank tests cannot call a 5-replicate
difference). A rate where any replicate on either side failed, fell behind its rate or lost
requests gets a note instead of a verdict, the rule the report's headline figures follow.

Each comparison also says what the machine and the order did to the runs (noise.py): a `NOISE:`
note per warning (drift, position effect, steal, other load, governor) and one `noise:` line per
run, or per session for `harness ab`, so the state is visible when nothing warns.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.analysis import noise, replicates, stats
from harness.analysis.stats import ALPHA, PairedRatio, paired_ratio
from harness.analysis.summaries import (
    HIGHER_IS_BETTER,
    metric_values,
    too_few_to_test,
    values_by_round,
)
from harness.errors import HarnessError
from harness.model import ImplementationResult, Run, WorkloadResult, measurement_conditions

DEFAULT_THRESHOLD = 0.05
# A change of this much in the share of wall time spent off the CPU gets a note: one run waited
# more (for a CPU shared with something else, or for I/O), so its wall time says less about code.
OFF_CPU_SHIFT_NOTE = 0.05
# work_seconds is the program's own timed work (the binary contract), where it reports one.
GATED_METRICS = ("wall_seconds", "work_seconds", "cpu_seconds", "peak_rss_bytes")
QUIET = "no significant change"
CALLED = ("regressed", "improved")
# A targeted verdict that could not have called a change of its threshold's size: the gate did not
# look, so it must not pass (docs/regression-gate.md, "Power").
INCONCLUSIVE = "inconclusive"
# The verdicts whose power the gate promises. Batch: the program's own work time where the binary
# reports it (it leaves out start-up and the kernel reading the input, which carry most of the
# noise and none of the code's change), else wall time. Servers: p99 latency at every rate.
TARGETED_BATCH = ("work_seconds", "wall_seconds")  # the first one the implementation has
TARGETED_SERVER = ("latency_p99_seconds",)
INCONCLUSIVE_WHY = (
    "targeted verdicts whose MDC is above their threshold: the gate could not have seen a change "
    "of that size"
)
MANN_WHITNEY = "unpaired: ratio of medians, Mann-Whitney U"
SIGNED_RANK = "paired by round: median per-round ratio, Wilcoxon signed-rank"
REPLICATE_T = "paired by replicate: median per-replicate ratio, t-test on log ratios"
WELCH_LOGS = "unpaired: ratio of medians over replicates, Welch t-test on logs"
# Server metrics gated at every usable offered rate, and once per implementation.
SERVER_RATE_METRICS = ("latency_p50_seconds", "latency_p99_seconds")
SERVER_UNITS = {
    "latency_p50_seconds": "seconds",
    "latency_p99_seconds": "seconds",
    replicates.SATURATION_METRIC: "req/s",
}
# Under this many replicates a side the t-test on logs has too few degrees of freedom to say much.
MIN_REPLICATES = 3


@dataclass(frozen=True)
class MetricChange:
    workload: str
    lang: str
    variant: str
    metric: str
    unit: str
    base_median: float
    head_median: float
    change: float  # head / base - 1
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    threshold: float
    # "improved" | "regressed" | "no significant change" | "inconclusive", or `untested`'s words
    verdict: str
    p_adjusted: float | None = None  # Benjamini-Hochberg over every p of the comparison
    method: str = MANN_WHITNEY
    rate_rps: float | None = None  # server latencies: the offered rate; None for everything else
    # The smallest true change in the bad direction this verdict's test would have called with
    # stats.POWER probability (None: no change of any size); how it was computed.
    detectable_change: float | None = None
    detectable_method: str | None = None
    targeted: bool = False  # the gate promises this verdict's power (TARGETED_*)
    # "too few rounds to test (n = 5)" when the test could not reach p < ALPHA with the samples it
    # had (stats.smallest_possible_p): then that is the verdict, never "no significant change".
    untested: str | None = None
    # change, alpha -> probability the test calls it; kept out of the JSON and of equality.
    power: Callable[[float, float], float] | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """The metric as the tables show it: 'latency_p99_seconds @ 6,000 req/s' for a rate."""
        return self.metric if self.rate_rps is None else f"{self.metric} @ {_rate(self.rate_rps)}"


@dataclass(frozen=True)
class RunComparison:
    base_run_id: str
    head_run_id: str
    changes: tuple[MetricChange, ...]
    notes: tuple[str, ...]  # incomparabilities accepted with --allow-mixed, skipped workloads

    @property
    def regressions(self) -> tuple[MetricChange, ...]:
        return tuple(c for c in self.changes if c.verdict == "regressed")

    @property
    def inconclusive(self) -> tuple[MetricChange, ...]:
        return tuple(c for c in self.changes if c.verdict == INCONCLUSIVE)


def same_session(base: Run, head: Run) -> bool:
    """Measured in the same interleaved rounds (harness ab's two sides), so pairable by round."""
    return base.session_id is not None and base.session_id == head.session_id


def incomparabilities(base: Run, head: Run) -> list[str]:
    """What differs between the two runs' conditions, in words; empty when they are comparable."""
    before, after = measurement_conditions(base), measurement_conditions(head)
    return [
        f"{name} differs: {before[name]!r} vs {after[name]!r}"
        for name in before
        if before[name] != after[name]
    ]


def incompleteness(base: Run, head: Run) -> list[str]:
    """Why the two runs do not cover the same measured ground, in words; empty when they do."""
    gaps = [
        f"{side} run {r.run_id} is {r.status}"
        for side, r in (("base", base), ("head", head))
        if r.status != "complete"
    ]
    gaps += [
        f"{side} run {r.run_id} has no workload results"
        for side, r in (("base", base), ("head", head))
        if not r.workloads
    ]
    base_names = [w.name for w in base.workloads]
    head_names = [w.name for w in head.workloads]
    gaps += [f"{name}: not in the head run" for name in base_names if name not in head_names]
    gaps += [f"{name}: not in the base run" for name in head_names if name not in base_names]
    return gaps


def verdict_for(
    metric: str,
    change: float,
    ci_low: float | None,
    ci_high: float | None,
    p_value: float | None,
    threshold: float,
    untested: str | None = None,
) -> str:
    """Regressed/improved only when significant (p < ALPHA, CI excludes 0) and beyond `threshold`,
    so a real but tiny shift does not fail a build. Otherwise QUIET, or `untested` (the words for
    a test that could not reach p < ALPHA with its samples, too_few_to_test)."""
    excludes_zero = ci_low is not None and ci_high is not None and (ci_low > 0 or ci_high < 0)
    if not (excludes_zero and p_value is not None and p_value < ALPHA and abs(change) > threshold):
        return untested or QUIET
    worse = change < 0 if metric in HIGHER_IS_BETTER else change > 0
    return "regressed" if worse else "improved"


@dataclass(frozen=True)
class Shift:
    """How one metric moved from a base sample to a head sample, and what the gate makes of it."""

    base_median: float
    head_median: float
    change: float  # head / base - 1
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    untested: str | None = None  # MetricChange.untested
    # change, alpha -> the probability that the same test, on samples spread like these, calls a
    # true change of that size; and how that is computed (stats, "power").
    power: Callable[[float, float], float] | None = field(default=None, compare=False, repr=False)
    power_method: str | None = None


def metric_change(
    workload: str,
    head_impl: ImplementationResult,
    metric: str,
    unit: str,
    moved: Shift,
    threshold: float,
    method: str,
    rate: float | None = None,
    targeted: bool = False,
) -> MetricChange:
    """One gated row: batch and server comparisons differ in how `moved` was computed only."""
    return MetricChange(
        workload=workload,
        lang=head_impl.lang,
        variant=head_impl.variant,
        metric=metric,
        unit=unit,
        base_median=moved.base_median,
        head_median=moved.head_median,
        change=moved.change,
        ci_low=moved.ci_low,
        ci_high=moved.ci_high,
        p_value=moved.p_value,
        threshold=threshold,
        verdict=moved.verdict,
        method=method,
        rate_rps=rate,
        detectable_method=moved.power_method,
        targeted=targeted,
        untested=moved.untested,
        power=moved.power,
    )


def shift(
    metric: str,
    before: Sequence[float],
    after: Sequence[float],
    threshold: float,
    test: Callable[[Sequence[float], Sequence[float]], float | None] = stats.mann_whitney_p,
    power: Callable[[Sequence[float], Sequence[float], float, float], float] = (
        stats.mann_whitney_power
    ),
    power_method: str = stats.SIMULATED_MANN_WHITNEY,
    samples: str = "repetitions",
) -> Shift | None:
    """The change of the median with its bootstrap CI, the p-value of `test` (Mann-Whitney for
    repetitions, Welch on logs for server replicates; `power` is the same test's power) and the
    verdict; None when the base median is 0 (no relative change exists). Shared by compare and
    trend."""
    base_median = stats.median(before)
    if base_median == 0:
        return None
    head_median = stats.median(after)
    change = head_median / base_median - 1
    ci = stats.ratio_of_medians_ci(after, before)
    ci_low, ci_high = (ci.low - 1, ci.high - 1) if ci else (None, None)
    p_value = test(after, before)
    if p_value is not None and math.isnan(p_value):
        p_value = None  # keeps the JSON output strict
    untested = (
        None
        if stats.smallest_possible_p_apart(test, len(before), len(after)) < ALPHA
        else too_few_to_test(f"{len(before)} vs {len(after)}", samples)
    )
    return Shift(
        base_median=base_median,
        head_median=head_median,
        change=change,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        verdict=verdict_for(metric, change, ci_low, ci_high, p_value, threshold, untested),
        untested=untested,
        power=lambda size, alpha: power(before, after, size, alpha),
        power_method=power_method,
    )


def paired_shift(
    metric: str, before: Mapping[int, float], after: Mapping[int, float], threshold: float
) -> Shift | None:
    """For base and head measured in the same rounds (harness ab): the change is the median
    per-round head/base ratio - 1, its CI resamples rounds, p is the Wilcoxon signed-rank test.
    Pairing removes what the machine did to both in that round. None without common rounds."""
    paired = paired_ratio(dict(after), dict(before))
    if paired is None:
        return None
    return ratio_shift(metric, paired, before, after, threshold)


def ratio_shift(
    metric: str,
    paired: PairedRatio,
    before: Mapping[int, float],
    after: Mapping[int, float],
    threshold: float,
    power: Callable[[Sequence[float], float, float], float] = stats.signed_rank_power,
    power_method: str = stats.SIMULATED_SIGNED_RANK,
    samples: str = "rounds",
) -> Shift:
    """A paired head/base ratio as a Shift: the medians are over the rounds (or replicates) both
    sides have, so they describe the same pairs the ratio does. `power` belongs to the ratio's
    test: signed-rank for rounds, the t-test on logs for server replicates."""
    common = sorted(before.keys() & after.keys())
    ratios = stats.paired_ratios([after[r] for r in common], [before[r] for r in common])
    change = paired.ratio - 1
    ci_low = None if paired.ci_low is None else paired.ci_low - 1
    ci_high = None if paired.ci_high is None else paired.ci_high - 1
    untested = None if paired.testable else too_few_to_test(paired.rounds, samples)
    return Shift(
        base_median=stats.median([before[r] for r in common]),
        head_median=stats.median([after[r] for r in common]),
        change=change,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=paired.p_value,
        verdict=verdict_for(metric, change, ci_low, ci_high, paired.p_value, threshold, untested),
        untested=untested,
        power=lambda size, alpha: power(ratios, size, alpha),
        power_method=power_method,
    )


def off_cpu_share(values: Mapping[str, tuple[str, list[float]]]) -> float | None:
    """Median over repetitions of (wall - CPU) / wall: near 0 for a single-threaded program that
    had its CPU to itself; None without both metrics."""
    if "wall_seconds" not in values or "cpu_seconds" not in values:
        return None
    shares = [
        (wall - cpu) / wall
        for wall, cpu in zip(values["wall_seconds"][1], values["cpu_seconds"][1], strict=True)
        if wall > 0
    ]
    return stats.median(shares) if shares else None


def smallest_p(n_base: int, n_head: int) -> float:
    """The smallest two-sided exact Mann-Whitney p-value two samples of these sizes can give
    (complete separation: 2 / C(n_base + n_head, n_base)); 1 when a side has under 2 values."""
    if min(n_base, n_head) < 2:
        return 1.0
    return min(1.0, 2 / math.comb(n_base + n_head, n_base))


def _refusals(base: Run, head: Run, allow_mixed: bool, allow_incomplete: bool) -> list[str]:
    """Refuse runs measured under other conditions or covering other results (unless allowed);
    what was allowed becomes a MIXED or INCOMPLETE note."""
    differences = incomparabilities(base, head)
    if differences and not allow_mixed:
        raise HarnessError(
            f"runs {base.run_id} and {head.run_id} are not comparable ("
            + "; ".join(differences)
            + "); pass --allow-mixed to compare anyway"
        )
    gaps = incompleteness(base, head)
    if gaps and not allow_incomplete:
        raise HarnessError(
            f"runs {base.run_id} and {head.run_id} do not cover the same results ("
            + "; ".join(gaps)
            + "); pass --allow-incomplete to compare what both have"
        )
    return [f"MIXED: {d}" for d in differences] + [f"INCOMPLETE: {g}" for g in gaps]


@dataclass(frozen=True)
class BatchComparison:
    """One batch implementation compared: its verdict rows, notes, and the repetition counts
    (base, head; paired rounds twice) behind them, for the note on too few repetitions."""

    changes: tuple[MetricChange, ...]
    notes: tuple[str, ...]
    counts: tuple[int, int]


def compare_batch(
    base_w: WorkloadResult,
    head_w: WorkloadResult,
    base_impl: ImplementationResult,
    head_impl: ImplementationResult,
    paired: bool,
    thresholds: Mapping[str, float],
    default_threshold: float,
    metrics: tuple[str, ...],
) -> BatchComparison:
    """Every gated metric of one batch implementation: paired by round when both sides ran in
    one session (signed-rank), else as two samples (Mann-Whitney)."""
    base_values = metric_values(base_impl, base_w.throughput)
    head_values = metric_values(head_impl, head_w.throughput)
    counts = (
        sum(r.ok for r in base_impl.repetitions),
        sum(r.ok for r in head_impl.repetitions),
    )
    if paired:
        common = {r.rep for r in base_impl.repetitions if r.ok} & {
            r.rep for r in head_impl.repetitions if r.ok
        }
        counts = (len(common), len(common))
    notes = []
    waited = (off_cpu_share(base_values), off_cpu_share(head_values))
    if None not in waited and abs(waited[1] - waited[0]) > OFF_CPU_SHIFT_NOTE:
        notes.append(
            f"{head_w.name} {head_impl.key}: wall time spent off the CPU went from "
            f"{waited[0]:.0%} to {waited[1]:.0%} (a busier machine or more I/O in one "
            "run): read its wall_seconds change with care"
        )
    target = next((m for m in TARGETED_BATCH if m in base_values and m in head_values), None)
    changes = []
    for metric in metrics:
        if metric not in base_values or metric not in head_values:
            continue
        unit, before = base_values[metric]
        threshold = thresholds.get(metric, default_threshold)
        if paired:
            moved = paired_shift(
                metric,
                values_by_round(base_impl.repetitions, metric, base_w.throughput),
                values_by_round(head_impl.repetitions, metric, head_w.throughput),
                threshold,
            )
        else:
            moved = shift(metric, before, head_values[metric][1], threshold)
        if moved is None:
            continue
        changes.append(
            metric_change(
                head_w.name,
                head_impl,
                metric,
                unit,
                moved,
                threshold,
                SIGNED_RANK if paired else MANN_WHITNEY,
                targeted=metric == target,
            )
        )
    return BatchComparison(tuple(changes), tuple(notes), counts)


def _underpowered_notes(paired: bool, underpowered: set[tuple[int, int]]) -> list[str]:
    if paired:
        return [
            f"only {n} paired rounds: the signed-rank test's smallest possible p is "
            f"{stats.smallest_wilcoxon_p(n):.2g} >= {ALPHA}, so no change can be called "
            "significant (use at least 10 rounds)"
            for n, _ in sorted(underpowered)
        ]
    return [
        f"only {n_base} vs {n_head} repetitions: Mann-Whitney's smallest possible p is "
        f"{smallest_p(n_base, n_head):.2g} >= {ALPHA}, so no change can be called significant "
        "(use at least 4 a side, 10 for a useful gate)"
        for n_base, n_head in sorted(underpowered)
    ]


def compare_runs(
    base: Run,
    head: Run,
    thresholds: Mapping[str, float] | None = None,
    default_threshold: float = DEFAULT_THRESHOLD,
    metrics: tuple[str, ...] = GATED_METRICS,
    allow_mixed: bool = False,
    allow_incomplete: bool = False,
) -> RunComparison:
    """Every gated metric of every implementation present and "ok" in both runs (batch:
    compare_batch, servers: compare_server); what could not be compared (absent, failed,
    diverging outputs, too few repetitions, a server rate one side could not hold) becomes a
    note."""
    notes = _refusals(base, head, allow_mixed, allow_incomplete)
    if any(w.kind == "server" for w in head.workloads):
        notes += server_setting_notes(base, head)
    thresholds = thresholds or {}
    base_workloads = {w.name: w for w in base.workloads}
    changes: list[MetricChange] = []
    underpowered: set[tuple[int, int]] = set()
    few_replicates: set[tuple[int, int]] = set()
    paired = same_session(base, head)
    for head_w in head.workloads:
        base_w = base_workloads.get(head_w.name)
        if base_w is None:  # an INCOMPLETE note already says so
            continue
        if "checksum_mismatch" in (base_w.status, head_w.status):  # outputs diverged: no figures
            notes.append(
                f"{head_w.name}: not compared (base {base_w.status}, head {head_w.status})"
            )
            continue
        if base_w.input and head_w.input and base_w.input.sha256 != head_w.input.sha256:
            notes.append(  # e.g. the generator changed: the programs did different work
                f"{head_w.name}: input differs (base {base_w.input.size_bytes} bytes, "
                f"head {head_w.input.size_bytes} bytes, different SHA-256)"
            )
        server = head_w.kind == "server"
        if server:
            notes += rate_set_notes(base_w, head_w)
        for head_impl in head_w.implementations:
            base_impl = base_w.result_for(head_impl.key)
            if base_impl is None or base_impl.status != "ok" or head_impl.status != "ok":
                notes.append(
                    f"{head_w.name} {head_impl.key}: not compared (base "
                    f"{base_impl.status if base_impl else 'absent'}, head {head_impl.status})"
                )
                continue
            if server:
                found = compare_server(
                    head_w.name,
                    base_impl,
                    head_impl,
                    common_rates(base_w, head_w),
                    paired,
                    thresholds,
                    default_threshold,
                )
                few_replicates.update(c for c in found.replicate_counts if min(c) < MIN_REPLICATES)
            else:
                found = compare_batch(
                    base_w,
                    head_w,
                    base_impl,
                    head_impl,
                    paired,
                    thresholds,
                    default_threshold,
                    metrics,
                )
                low = (
                    stats.smallest_wilcoxon_p(found.counts[0])
                    if paired
                    else smallest_p(*found.counts)
                )
                if low >= ALPHA:
                    underpowered.add(found.counts)
            changes += found.changes
            notes += found.notes
    notes += _underpowered_notes(paired, underpowered)
    notes += [few_replicates_note(paired, *counts) for counts in sorted(few_replicates)]
    changes = with_power(adjust_for_many(changes))
    if changes:
        notes.append(
            f"{method_line(changes)}; p adjusted for the {len(changes)} verdicts of this "
            "comparison (Benjamini-Hochberg false-discovery rate), verdicts use the adjusted p"
        )
        notes.append(power_note(changes))
    notes += noise_notes(base, head, default_threshold)
    return RunComparison(
        base_run_id=base.run_id, head_run_id=head.run_id, changes=tuple(changes), notes=tuple(notes)
    )


def detectable_alpha(changes: Sequence[MetricChange]) -> float:
    """The p a single change must reach to be called after the adjustment: Benjamini-Hochberg at
    its strictest, this change the only real one among the m tested (adjusted p = p x m). With
    other real changes beside it the bar is lower, so the detectable change is an upper bound."""
    tested = sum(c.p_value is not None for c in changes)
    return ALPHA / max(1, tested)


def with_power(changes: Sequence[MetricChange]) -> list[MetricChange]:
    """Each row's minimum detectable change at the comparison's adjusted significance level; a
    targeted row that called nothing and could not have called a change of its threshold's size
    becomes INCONCLUSIVE (a called change is conclusive whatever the power)."""
    alpha = detectable_alpha(changes)
    out = []
    for c in changes:
        detectable = None
        if c.power is not None:
            power = c.power
            detectable = stats.smallest_detectable_change(
                lambda size, power=power: power(size, alpha),
                worse_is_lower=c.metric in HIGHER_IS_BETTER,
            )
        verdict = c.verdict
        blind = detectable is None or detectable > c.threshold
        if c.targeted and verdict not in CALLED and blind:
            verdict = INCONCLUSIVE
        out.append(dataclasses.replace(c, detectable_change=detectable, verdict=verdict))
    return out


def power_note(changes: Sequence[MetricChange]) -> str:
    """How the MDC column was computed, and which rows the gate holds to it."""
    methods = sorted({c.detectable_method for c in changes if c.detectable_method})
    blind = [c for c in changes if c.verdict == INCONCLUSIVE]
    line = (
        f"MDC: the smallest true change (in the bad direction) each verdict's test would call "
        f"with {stats.POWER:.0%} probability at p < {detectable_alpha(changes):.2g} (0.05 over "
        f"the {sum(c.p_value is not None for c in changes)} tested verdicts, Benjamini-Hochberg "
        f"at its strictest; the CI condition is not simulated); {'; '.join(methods)}. Targeted "
        "verdicts (work time, else wall time; p99 latency per rate) whose MDC is above their "
        "threshold are 'inconclusive'"
    )
    if blind:
        line += (
            f": {len(blind)} here, so the gate could not have seen a change of the threshold's "
            "size there (more rounds or replicates, or a larger threshold)"
        )
    return line


def method_line(changes: Sequence[MetricChange]) -> str:
    """'method: X', or with batch and server rows in one comparison each method with its count of
    verdicts, so no row is read with the wrong test in mind."""
    methods = list(dict.fromkeys(c.method for c in changes))
    if len(methods) == 1:
        return f"method: {methods[0]}"
    counts = {m: sum(c.method == m for c in changes) for m in methods}
    return "methods: " + "; ".join(f"{m} ({counts[m]} verdicts)" for m in methods)


# --- server workloads ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerComparison:
    """One server implementation compared: its verdict rows, what was left out and why, and the
    replicate counts behind each row (base, head; a paired row's pairs twice) for the note on too
    few replicates."""

    changes: tuple[MetricChange, ...]
    notes: tuple[str, ...]
    replicate_counts: tuple[tuple[int, int], ...]


def _rate(rate: float) -> str:
    return f"{rate:,.0f} req/s"


def _rates(rates: Sequence[float]) -> str:
    return ", ".join(f"{r:,.0f}" for r in rates) + " req/s"


def workload_rates(w: WorkloadResult) -> set[float]:
    """Every offered rate any implementation of the workload measured."""
    return {rate for impl in w.implementations for rate in replicates.rates_of(impl)}


def common_rates(base: WorkloadResult, head: WorkloadResult) -> tuple[float, ...]:
    return tuple(sorted(workload_rates(base) & workload_rates(head)))


# How a phase is driven: a difference changes the latencies without any change to the servers.
# Rates and replicate counts are left out (rate_set_notes and the replicate notes cover them).
PHASE_SHAPING_SETTINGS = (
    "loadgen",
    "server_cpus",
    "loadgen_cpus",
    "parallelism",
    "connections",
    "warmup_seconds",
    "probe_seconds",
    "min_phase_seconds",
    "max_phase_seconds",
    "target_requests_per_phase",
    "replicate_probe_seconds",
    "gc_phase_margin",
    "gc_phase_cap_seconds",
)


def server_setting_notes(base: Run, head: Run) -> list[str]:
    """A note per setting that drives server phases differently in the two runs (a newer oha, more
    connections, longer phases): the latencies may have moved for that reason alone."""
    before, after = base.config.server, head.config.server
    if before is None or after is None:
        return []
    return [
        f"SERVER SETTINGS: {name} differs: {getattr(before, name)!r} vs {getattr(after, name)!r}"
        for name in PHASE_SHAPING_SETTINGS
        if getattr(before, name) != getattr(after, name)
    ]


def rate_set_notes(base: WorkloadResult, head: WorkloadResult) -> list[str]:
    """Rates only one run measured get a note, never a verdict. With no rate in common (rates are
    fractions of each run's own saturation unless fixed), one note says how to make them meet."""
    before, after = workload_rates(base), workload_rates(head)
    if before and after and not before & after:
        return [
            f"{head.name}: the offered rates differ (base {_rates(sorted(before))}; head "
            f"{_rates(sorted(after))}), so no latency was compared; fix them with --rates or "
            "[server.rates] so runs are comparable"
        ]
    return [
        f"{head.name} @ {_rate(rate)}: measured in the {side} run only; not compared"
        for side, only in (("base", before - after), ("head", after - before))
        for rate in sorted(only)
    ]


def shortened(reasons: Sequence[str], keep: int = 2) -> str:
    """The first `keep` reasons and how many more: a note points at the report, it does not
    repeat it."""
    rest = len(reasons) - keep
    return "; ".join(reasons[:keep]) + (f"; and {rest} more" if rest > 0 else "")


def probe_exclusions(impl: ImplementationResult) -> tuple[str, ...]:
    """Why the saturation probes may not be gated, as a rate's replicates may not: one that
    failed or lost requests (quoting the others would hide it)."""
    reasons = []
    for probe in replicates.saturation_probes(impl):
        where = "" if probe.replicate is None else f"replicate {probe.replicate}: "
        if not probe.ok:
            reasons.append(f"{where}the probe failed")
        elif probe.errors:
            reasons.append(f"{where}{probe.errors:,} failed requests")
    return tuple(reasons)


def _exclusion_note(what: str, base: Sequence[str] | None, head: Sequence[str] | None) -> str:
    """'api go/default @ 6,000 req/s: not compared (head: replicate 3: the phase failed)'; None
    for a side means it did not measure this at all."""
    parts = [
        f"{side}: " + ("not measured" if reasons is None else shortened(reasons))
        for side, reasons in (("base", base), ("head", head))
        if reasons is None or reasons
    ]
    return f"{what}: not compared ({'; '.join(parts)})"


def _server_change(
    workload: str,
    base_impl: ImplementationResult,
    head_impl: ImplementationResult,
    metric: str,
    rate: float | None,
    paired: bool,
    threshold: float,
) -> tuple[MetricChange | None, tuple[int, int]]:
    """One server metric's row (None without values on both sides) and the replicate counts
    behind it. Paired (one session): the
    median per-replicate head/base ratio and the t-test on log ratios; apart: the change of the
    medians over replicates and Welch's t-test on logs."""
    before = replicates.values_by_replicate(base_impl, metric, rate)
    after = replicates.values_by_replicate(head_impl, metric, rate)
    if paired:
        ratio = replicates.replicate_ratio(head_impl, base_impl, metric, rate)
        pairs = ratio.rounds if ratio else 0
        moved = None
        if ratio:
            moved = ratio_shift(
                metric,
                ratio,
                before,
                after,
                threshold,
                power=stats.paired_t_power,
                power_method=stats.ANALYTIC_PAIRED_T,
                samples="replicates",
            )
        counts = (pairs, pairs)
    else:
        moved = None
        if before and after:
            moved = shift(
                metric,
                list(before.values()),
                list(after.values()),
                threshold,
                test=stats.welch_log_p,
                power=stats.welch_t_power,
                power_method=stats.ANALYTIC_WELCH_T,
                samples="replicates",
            )
        counts = (len(before), len(after))
    if moved is None:
        return None, counts
    method = REPLICATE_T if paired else WELCH_LOGS
    change = metric_change(
        workload,
        head_impl,
        metric,
        SERVER_UNITS[metric],
        moved,
        threshold,
        method,
        rate,
        targeted=metric in TARGETED_SERVER,
    )
    return change, counts


def compare_server(
    workload: str,
    base_impl: ImplementationResult,
    head_impl: ImplementationResult,
    rates: Sequence[float],
    paired: bool,
    thresholds: Mapping[str, float],
    default_threshold: float,
) -> ServerComparison:
    """p50 and p99 latency at each of `rates` usable on both sides, then saturation throughput.
    A rate with any replicate excluded on either side (failed, fell behind, lost requests) is a
    note, not a verdict: the same rule as the report's headline figures."""
    key = f"{workload} {head_impl.key}"
    before = {s.offered_rps: s for s in replicates.rate_summaries(base_impl)}
    after = {s.offered_rps: s for s in replicates.rate_summaries(head_impl)}
    changes: list[MetricChange] = []
    notes: list[str] = []
    counts: list[tuple[int, int]] = []
    gated: list[tuple[str, float | None]] = []
    for rate in rates:
        b, h = before.get(rate), after.get(rate)
        if b is None or h is None or not (b.usable and h.usable):
            notes.append(
                _exclusion_note(
                    f"{key} @ {_rate(rate)}",
                    None if b is None else b.exclusions,
                    None if h is None else h.exclusions,
                )
            )
            continue
        gated += [(metric, rate) for metric in SERVER_RATE_METRICS]
    probed = [
        probe_exclusions(impl) if replicates.saturation_probes(impl) else None
        for impl in (base_impl, head_impl)
    ]
    if probed == [(), ()]:
        gated.append((replicates.SATURATION_METRIC, None))
    elif probed != [None, None]:
        notes.append(_exclusion_note(f"{key} {replicates.SATURATION_METRIC}", *probed))
    for metric, rate in gated:
        threshold = thresholds.get(metric, default_threshold)
        change, count = _server_change(
            workload, base_impl, head_impl, metric, rate, paired, threshold
        )
        if change is not None:
            changes.append(change)
            counts.append(count)
        elif paired:
            at = metric if rate is None else f"{metric} @ {_rate(rate)}"
            notes.append(f"{key} {at}: not compared (no replicate measured on both sides)")
    return ServerComparison(tuple(changes), tuple(notes), tuple(counts))


def few_replicates_note(paired: bool, n_base: int, n_head: int) -> str:
    """Why server verdicts are unlikely (or impossible) with fewer than MIN_REPLICATES replicates a
    side: the t-test's degrees of freedom, not a rank test's floor, are what is short."""
    what = (
        f"only {n_base} paired server replicates"
        if paired
        else f"only {n_base} vs {n_head} server replicates"
    )
    if min(n_base, n_head) < 2:
        why = (
            "a single pair gives no p-value"
            if paired
            else "a single replicate gives no p-value (files before schema 5 have one per rate)"
        )
        why += ", so no server change can be called significant"
    else:
        test = "the t-test on log ratios" if paired else "Welch's t-test on logs"
        why = f"{test} has too few degrees of freedom to call any but a large and steady change"
    return f"{what}: {why} (measure at least 5 replicates a rate for a useful gate)"


def noise_notes(base: Run, head: Run, threshold: float) -> list[str]:
    """`NOISE: ` for each noise warning of either run, then a `noise: ` summary line per run.
    Runs of one session (harness ab) are read as the one measurement they were: drift and
    position effect over base and head together, keys "go/default (base)" / "(head)"."""
    if same_session(base, head):
        sides = [("session", noise.session_noise(base, head, threshold))]
    else:
        sides = [
            (side, noise.run_noise(r, threshold)) for side, r in (("base", base), ("head", head))
        ]
    notes = [f"NOISE: {side}: {warning}" for side, found in sides for warning in found.warnings]
    for side, found in sides:
        line = noise.summary_line(found)
        if line is not None:
            notes.append(f"noise: {side}: {line}")
    return notes


def adjust_for_many(changes: Sequence[MetricChange]) -> list[MetricChange]:
    """Benjamini-Hochberg over every p-value of one comparison, then the verdicts again with the
    adjusted p: with 9 verdicts at p < 0.05 each, some would otherwise be false alarms by chance.
    A change without a p-value keeps None and cannot be significant."""
    tested = [i for i, c in enumerate(changes) if c.p_value is not None]
    adjusted = dict(
        zip(tested, stats.fdr_adjusted([changes[i].p_value for i in tested]), strict=True)
    )
    out = []
    for i, c in enumerate(changes):
        p_adj = adjusted.get(i)
        verdict = verdict_for(
            c.metric, c.change, c.ci_low, c.ci_high, p_adj, c.threshold, c.untested
        )
        out.append(dataclasses.replace(c, p_adjusted=p_adj, verdict=verdict))
    return out


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} %"


def _detectable(c: MetricChange) -> str:
    """'2.4 %', '–' when not computed, 'none' when no change of any size was detectable; a
    targeted row is marked '*'."""
    if c.power is None and c.detectable_change is None:
        text = "–"
    elif c.detectable_change is None:
        text = "none"
    else:
        text = f"{c.detectable_change * 100:.1f} %"
    return text + (" *" if c.targeted else "")


def _row(c: MetricChange) -> list[str]:
    return [
        c.workload,
        f"{c.lang}/{c.variant}",
        c.label,
        _pct(c.change),
        f"[{_pct(c.ci_low)}, {_pct(c.ci_high)}]",
        "–" if c.p_adjusted is None else f"{c.p_adjusted:.3g}",
        f"{c.threshold * 100:.0f} %",
        _detectable(c),
        c.verdict,
    ]


HEADERS = [
    "workload",
    "impl",
    "metric",
    "change",
    "95 % CI",
    "p (BH)",
    "threshold",
    "MDC",
    "verdict",
]


def summary_line(result: RunComparison) -> str:
    """'1 regression(s) beyond threshold; 2 inconclusive (…)': the line under every format."""
    line = f"{len(result.regressions)} regression(s) beyond threshold"
    if result.inconclusive:
        line += f"; {len(result.inconclusive)} inconclusive ({INCONCLUSIVE_WHY})"
    return line


def to_markdown(result: RunComparison) -> str:
    icon = {"regressed": "🔴 regressed", "improved": "🟢 improved", INCONCLUSIVE: "🟡 inconclusive"}
    lines = [
        f"### Benchmark comparison: {result.base_run_id} → {result.head_run_id}",
        "",
        f"**{len(result.regressions)} regression(s)** beyond the noise threshold."
        + (
            f" **{len(result.inconclusive)} inconclusive**: {INCONCLUSIVE_WHY}."
            if result.inconclusive
            else ""
        ),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    for c in result.changes:
        row = _row(c)
        row[-1] = icon.get(c.verdict, c.verdict)
        lines.append("| " + " | ".join(row) + " |")
    lines += [""] + [f"- {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def _plain_change(c: MetricChange) -> dict:
    return {f.name: getattr(c, f.name) for f in dataclasses.fields(c) if f.name != "power"}


def to_json(result: RunComparison) -> str:
    data = {
        "base_run_id": result.base_run_id,
        "head_run_id": result.head_run_id,
        "changes": [_plain_change(c) for c in result.changes],
        "notes": list(result.notes),
        "regression_count": len(result.regressions),
        "inconclusive_count": len(result.inconclusive),
    }
    return json.dumps(data, indent=1) + "\n"


def rows(result: RunComparison) -> list[list[str]]:
    return [_row(c) for c in result.changes]
