"""Replicated server phases -> per-rate estimates with confidence intervals, and paired ratios.

Why replicates: one phase per rate on one long-lived server folded drift, warm-up and heap growth
into "rate", and two runs' p99 at the same rate differed 2-3x with nothing to say which was right.
Each rate is now measured k times, each replicate on a fresh server, so the spread between
replicates is the spread a reader should expect from a rerun.

Per rate and implementation: the median over replicates of each percentile (p50, p90, p99, p99.9),
of the achieved rate, of server CPU per request and of the phase's peak RSS, each with a 95 %
percentile-bootstrap CI over replicates (stats.median_ci). A rate counts for headlines and verdicts
only when every one of its replicates does (phase_analysis.headline_exclusions): a rate where one
replicate of five fell behind is marginal, and quoting the four that kept up would hide it.
A replicate disturbed from outside (phase_analysis.disturbance: the hypervisor's CPU steal) is
different: it says nothing about the server, so it is set aside, shown with its reason and left
out of the estimates and the pairing; the protocol measures extra replicates in its place. When
every replicate of a rate is disturbed, they are all kept and the rate is not usable.

Ratios between two implementations (Go/Rust, or head/base in `harness ab`) pair replicates by
number: replicate r of both ran back to back. The ratio is the median per-replicate ratio with a
bootstrap CI over replicates and the paired t-test on log ratios (stats.log_t_p; why not the
signed-rank test: see stats.py).

Files before schema 5 have no replicate numbers: their one phase per rate reads as replicate 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from harness.analysis import phases as phase_analysis
from harness.analysis import stats
from harness.analysis.stats import PairedRatio, paired_ratio
from harness.model import ImplementationResult, ServerPhase

PERCENTILES = ("p50", "p90", "p99", "p999")
PERCENTILE_LABELS = {"p50": "p50", "p90": "p90", "p99": "p99", "p999": "p99.9"}
# Metrics `values_by_replicate` knows, for compare/ab and the Go/Rust ratios.
LATENCY_METRICS = tuple(f"latency_{p}_seconds" for p in PERCENTILES)
SATURATION_METRIC = "saturation_rps"  # a server's closed-loop saturation probe
RATE_METRICS = (*LATENCY_METRICS, "achieved_rps", "server_cpu_per_request_seconds")


@dataclass(frozen=True)
class Estimate:
    """One quantity over replicates: the median, its 95 % bootstrap CI (None under 2 values) and
    the per-replicate values in replicate order."""

    median: float
    ci_low: float | None
    ci_high: float | None
    values: tuple[float, ...]

    @property
    def half_width(self) -> float | None:
        """Half the CI's width relative to the median (0.1 = ±10 %)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return stats.relative_half_width(self.median, stats.Interval(self.ci_low, self.ci_high))


def estimate(values: Sequence[float]) -> Estimate | None:
    if not values:
        return None
    ci = stats.median_ci(values)
    return Estimate(
        median=stats.median(values),
        ci_low=ci.low if ci else None,
        ci_high=ci.high if ci else None,
        values=tuple(float(v) for v in values),
    )


@dataclass(frozen=True)
class RateSummary:
    """Every replicate of one offered rate for one implementation."""

    offered_rps: float
    replicates: tuple[int, ...]  # replicate numbers measured at this rate
    exclusions: tuple[str, ...]  # "replicate 2: achieved ... < 99 % of offered"; () = usable
    latency: dict[str, Estimate]  # "p50" | "p90" | "p99" | "p999" -> over replicates
    achieved_rps: Estimate
    server_cpu_per_request_seconds: Estimate | None
    server_peak_rss_bytes: Estimate
    flags: tuple[str, ...]  # every replicate's caveats, "replicate N: ..." (shown, not judged)
    set_aside: tuple[str, ...] = ()  # "replicate 3: CPU steal 2.1 % ..." (left out of the above)

    @property
    def usable(self) -> bool:
        """May be quoted as a headline figure and used for verdicts."""
        return not self.exclusions


def measured_phases(impl: ImplementationResult) -> list[ServerPhase]:
    """The fixed-rate phases that form replicates. Schema < 5 files (no replicate anywhere): each
    rate's single phase, as replicate 1."""
    rated = [p for p in impl.phases if p.phase.startswith("rate=") and p.offered_rps is not None]
    if any(p.replicate is not None for p in impl.phases):
        return [p for p in rated if p.replicate is not None]
    return rated


def _number(phase: ServerPhase) -> int:
    return phase.replicate if phase.replicate is not None else 1


def kept(phases: Sequence[ServerPhase]) -> list[ServerPhase]:
    """The replicates not disturbed from outside; all of them when every one was."""
    return [p for p in phases if phase_analysis.disturbance(p) is None] or list(phases)


def all_phases_at(impl: ImplementationResult, rate: float) -> list[ServerPhase]:
    """Every replicate of one rate, disturbed ones included, in replicate order."""
    return sorted((p for p in measured_phases(impl) if p.offered_rps == rate), key=_number)


def phases_at(impl: ImplementationResult, rate: float) -> list[ServerPhase]:
    """The replicates of one rate the estimates use (kept), in replicate order."""
    return kept(all_phases_at(impl, rate))


def rates_of(impl: ImplementationResult) -> tuple[float, ...]:
    return tuple(sorted({p.offered_rps for p in measured_phases(impl) if p.offered_rps}))


def answered(phase: ServerPhase) -> int:
    """Responses of any status: the unsent requests in the latency distribution (at a lower
    bound) cost the server nothing."""
    counts = phase.request_counts
    if counts is not None:
        return counts.expected_status + counts.unexpected_status
    return phase.latency.count if phase.latency else 0  # before schema 4: answered ones only


def cpu_per_request(phase: ServerPhase) -> float | None:
    """Server CPU per answered response (unsent requests stay out of the denominator)."""
    if not phase.ok or answered(phase) <= 0:
        return None
    return (phase.server_user_seconds + phase.server_sys_seconds) / answered(phase)


def phase_value(phase: ServerPhase, metric: str) -> float | None:
    """One replicate's value of `metric` (RATE_METRICS or SATURATION_METRIC); None if it has none."""
    if metric.startswith("latency_"):
        if not phase.ok or phase.latency is None:
            return None
        return float(getattr(phase.latency, metric.removeprefix("latency_")))
    if metric in ("achieved_rps", SATURATION_METRIC):
        return phase.achieved_rps if phase.ok else None
    if metric == "server_cpu_per_request_seconds":
        return cpu_per_request(phase)
    raise KeyError(metric)


def summarise_rate(impl: ImplementationResult, rate: float) -> RateSummary | None:
    every = all_phases_at(impl, rate)
    phases = kept(every)
    if not phases:
        return None
    set_aside = (
        ()
        if len(phases) == len(every)
        else tuple(
            f"replicate {_number(p)}: {reason}"
            for p in every
            if (reason := phase_analysis.disturbance(p))
        )
    )
    exclusions = tuple(
        f"replicate {_number(p)}: {reason}"
        for p in phases
        for reason in phase_analysis.headline_exclusions(p)
    )
    if len(phases) == len(every) and any(phase_analysis.disturbance(p) for p in phases):
        exclusions += ("every replicate was disturbed by CPU steal",)
    flags = tuple(f"replicate {_number(p)}: {flag}" for p in phases for flag in p.flags)
    latency = {}
    for name in PERCENTILES:
        values = [v for p in phases if (v := phase_value(p, f"latency_{name}_seconds")) is not None]
        found = estimate(values)
        if found is not None:
            latency[name] = found
    cpu = [v for p in phases if (v := cpu_per_request(p)) is not None]
    achieved = estimate([p.achieved_rps for p in phases])
    peak = estimate([float(p.server_peak_rss_bytes) for p in phases])
    assert achieved is not None and peak is not None  # phases is not empty
    return RateSummary(
        offered_rps=rate,
        replicates=tuple(_number(p) for p in phases),
        exclusions=exclusions,
        latency=latency,
        achieved_rps=achieved,
        server_cpu_per_request_seconds=estimate(cpu),
        server_peak_rss_bytes=peak,
        flags=flags,
        set_aside=set_aside,
    )


def rate_summaries(impl: ImplementationResult) -> tuple[RateSummary, ...]:
    """One summary per offered rate, rates ascending."""
    found = (summarise_rate(impl, rate) for rate in rates_of(impl))
    return tuple(s for s in found if s is not None)


def saturation_probes(impl: ImplementationResult) -> list[ServerPhase]:
    """The replicated closed-loop probes; without any (schema < 5, or replicate probes off), the
    selection pass's single probe."""
    probes = [p for p in impl.phases if p.phase == "saturation"]
    replicated = [p for p in probes if p.replicate is not None]
    return sorted(replicated, key=_number) if replicated else probes[:1]


def saturation(impl: ImplementationResult) -> Estimate | None:
    """Closed-loop saturation throughput over the replicated probes (successful, kept ones)."""
    return estimate([p.achieved_rps for p in kept(saturation_probes(impl)) if p.ok])


def values_by_replicate(
    impl: ImplementationResult, metric: str, rate: float | None = None
) -> dict[int, float]:
    """replicate -> value, for pairing: `rate` None for SATURATION_METRIC, else the rate's phases.
    Replicates without a value (failed phase, no latencies) are absent."""
    phases = (
        kept(saturation_probes(impl)) if metric == SATURATION_METRIC else phases_at(impl, rate or 0)
    )
    table = {}
    for p in phases:
        value = phase_value(p, metric)
        if value is not None and value > 0:
            table[_number(p)] = value
    return table


def replicate_ratio(
    numerator: ImplementationResult,
    denominator: ImplementationResult,
    metric: str,
    rate: float | None = None,
) -> PairedRatio | None:
    """numerator / denominator paired by replicate: median per-replicate ratio, bootstrap CI,
    paired t-test on log ratios; None without a common replicate."""
    return paired_ratio(
        values_by_replicate(numerator, metric, rate),
        values_by_replicate(denominator, metric, rate),
        test=stats.log_t_p,
    )


def usable_rates(*impls: ImplementationResult) -> tuple[float, ...]:
    """Rates every given implementation measured with every replicate usable."""
    common: set[float] | None = None
    for impl in impls:
        ok = {s.offered_rps for s in rate_summaries(impl) if s.usable}
        common = ok if common is None else common & ok
    return tuple(sorted(common or ()))


# The headline rate may be at most this share of the slower side's saturation. The default rates
# are 25/50/75/90 % of the selection probe's figure (25/75 % at quick size); 0.8 sits between the
# top two, so the 75 % rate stays eligible when the replicated probes' median comes out a few %
# below that probe, and the 90 % rate, marginal by design, never is.
HEADLINE_MAX_SATURATION_FRACTION = 0.8


def headline_rate(go: ImplementationResult, rust: ImplementationResult) -> float | None:
    """The one rate a summary quotes for a pair: the highest rate usable on both sides (every
    replicate) at or below HEADLINE_MAX_SATURATION_FRACTION of the slower side's median closed-loop
    saturation. Why not the highest usable rate: near saturation queueing, not the runtime, sets
    the tail, and a rerun may not meet the rate at all. Without a saturation figure: the highest
    usable rate; when every usable rate is above the cap: the lowest of them. None without a
    usable rate."""
    rates = usable_rates(go, rust)
    if not rates:
        return None
    found = [s.median for s in (saturation(go), saturation(rust)) if s is not None]
    if not found:
        return rates[-1]
    below = [r for r in rates if r <= HEADLINE_MAX_SATURATION_FRACTION * min(found)]
    return below[-1] if below else rates[0]


def gc_phases(impl: ImplementationResult) -> tuple[ServerPhase, ...]:
    """The server phases GC figures come from: at every offered rate, the successful replicates its
    estimates use (steal-disturbed ones set aside, as for latency, unless every one was: the
    hypervisor's steal stretches a stop-the-world pause as it stretches a request), usable or not
    (a pause is the runtime's at any rate). Never a closed-loop probe or the warm-up, whose
    unthrottled load would make Go's pauses look like those of a server nobody runs. The console,
    the report's GC table and the decision matrix all read these phases."""
    return tuple(p for rate in rates_of(impl) for p in phases_at(impl, rate) if p.ok)


@dataclass(frozen=True)
class ServerPair:
    """A server workload's findings, computed once by the analysis pass (summaries.analyse_workload):
    what the brief, the report's summary and server tables, the Markdown export and the decision
    matrix quote, so none of them selects rates or replicates on its own."""

    rates: dict[str, tuple[RateSummary, ...]]  # implementation key -> per-rate summaries
    saturation: dict[str, Estimate | None]  # implementation key -> closed-loop probes' median
    gc_phases: dict[str, tuple[ServerPhase, ...]]  # implementation key -> gc_phases()
    # Go/Rust defaults (both ok): the rates where every replicate on both sides was usable, the one
    # a summary quotes, p99 paired by replicate at each usable rate, and saturation paired.
    usable_rates: tuple[float, ...] = ()
    headline_rate: float | None = None
    p99_ratios: dict[float, PairedRatio | None] = field(default_factory=dict)
    saturation_ratio: PairedRatio | None = None

    def rate(self, key: str, rate: float) -> RateSummary | None:
        return next((s for s in self.rates.get(key, ()) if s.offered_rps == rate), None)


def analyse_server(
    impls: Sequence[ImplementationResult], go: str = "go/default", rust: str = "rust/default"
) -> ServerPair:
    """Every successful implementation's rate summaries, saturation and GC phases; with both
    defaults successful, the pair's usable rates, headline rate and paired ratios."""
    ok = [i for i in impls if i.status == "ok"]
    pair = ServerPair(
        rates={i.key: rate_summaries(i) for i in ok},
        saturation={i.key: saturation(i) for i in ok},
        gc_phases={i.key: gc_phases(i) for i in ok},
    )
    go_impl = next((i for i in ok if i.key == go), None)
    rust_impl = next((i for i in ok if i.key == rust), None)
    if go_impl is None or rust_impl is None:
        return pair
    usable = usable_rates(go_impl, rust_impl)
    return replace(
        pair,
        usable_rates=usable,
        headline_rate=headline_rate(go_impl, rust_impl),
        p99_ratios={
            r: replicate_ratio(go_impl, rust_impl, "latency_p99_seconds", r) for r in usable
        },
        saturation_ratio=replicate_ratio(go_impl, rust_impl, SATURATION_METRIC),
    )
