"""Servers beside a back end, analysed: what a service boundary costs (a Go front calling a Rust
service over gRPC or HTTP, against the same work in-process), from which grain moving the work to
the service pays, and what a proxy adds to every request. Nothing here measures; everything comes
from the raw phases of a run (ImplementationResult.phases, direct_phases, ServerPhase.backend_*).

Methods (small functions over the phases, statistics from stats.py through hybrid.Estimate):

- **CPU per request of the pair**: (front CPU + back end CPU) / answered responses in a phase;
  the back end's CPU is read at the phase's ends (drive.ServerWatch), the front's over the load's
  window. Per rate the median over replicates with a 95 % bootstrap CI (stats.median_ci).
- **Boundary cost** at a rate: a service variant's figure minus the in-process hybrid's (the same
  Go front and the same Rust work, called through cgo), paired by replicate (replicate r of both
  ran back to back in the run's counterbalanced order): the median paired difference with its
  bootstrap CI (hybrid.paired_difference). For CPU that is the boundary's own cost per call
  (serialising, the transport's syscalls, the back end's server loop, scheduling two processes);
  for p50 its latency.
- **Break-even grain** over a sweep of the workload's grain (`harness sweep`, e.g. json-service
  `tweets`): at each grain the service variant's CPU per request against pure Go's, at the lowest
  rate both ran; hybrid.break_even finds the first crossing, interpolated.
- **A proxy's added latency**: each rate's phase through the proxy minus the same rate sent
  straight to the back end in the same replicate ([server] direct_phases), paired by replicate,
  for p50 and p99; the proxy's own CPU per request and per KiB moved (request and response
  bodies), and its peak RSS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.analysis import replicates, stats
from harness.analysis.hybrid import BreakEven, Estimate, break_even, paired_difference
from harness.model import ImplementationResult, Run, ServerPhase, WorkloadResult

GO = "go/default"


def estimate(values: Sequence[float]) -> Estimate | None:
    """The median of `values` with its bootstrap CI (None when there is no value)."""
    if not values:
        return None
    ci = stats.median_ci(values)
    return Estimate(
        stats.median(values), ci.low if ci else None, ci.high if ci else None, len(values)
    )


def pair_cpu_per_request(phase: ServerPhase) -> float | None:
    """Front plus back end CPU seconds per answered response (the front's alone without one)."""
    if not phase.ok or replicates.answered(phase) <= 0:
        return None
    back = (phase.backend_user_seconds or 0.0) + (phase.backend_sys_seconds or 0.0)
    return (phase.server_user_seconds + phase.server_sys_seconds + back) / replicates.answered(
        phase
    )


def pair_peak_rss(phase: ServerPhase) -> float | None:
    """The front's peak RSS plus the back end's (each its own peak within the phase)."""
    if not phase.ok:
        return None
    return float(phase.server_peak_rss_bytes + (phase.backend_peak_rss_bytes or 0))


def p50(phase: ServerPhase) -> float | None:
    return replicates.phase_value(phase, "latency_p50_seconds")


def p99(phase: ServerPhase) -> float | None:
    return replicates.phase_value(phase, "latency_p99_seconds")


def cpu_per_kib(phase: ServerPhase) -> float | None:
    """The front's CPU seconds per KiB of request and response bodies it carried."""
    if not phase.ok or not phase.payload_bytes:
        return None
    return (phase.server_user_seconds + phase.server_sys_seconds) / (phase.payload_bytes / 1024)


def by_replicate(
    phases: Sequence[ServerPhase], value: Callable[[ServerPhase], float | None]
) -> dict[int, float]:
    """replicate -> value, over the phases that have one."""
    out = {}
    for phase in phases:
        v = value(phase)
        if v is not None and phase.replicate is not None:
            out[phase.replicate] = v
    return out


def boundary_of(impl: ImplementationResult) -> str:
    """How the work was reached: "grpc over unix", "http over tcp", "cgo", or "in-process"."""
    if impl.backend is not None:
        return f"{impl.backend.protocol} over {impl.backend.transport}"
    return "cgo" if impl.build.links else "in-process"


# --- the service boundary ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRow:
    """One implementation at one rate: end-to-end latency, what every process of it cost."""

    key: str
    boundary: str
    rate: float
    p50_seconds: Estimate | None
    p99_seconds: Estimate | None
    cpu_per_request_seconds: Estimate | None  # front + back end
    backend_cpu_share: float | None  # the back end's part of the pair's CPU (median phase)
    peak_rss_bytes: Estimate | None  # front + back end
    boundary_cpu_seconds: Estimate | None  # minus the cgo hybrid's, paired by replicate
    boundary_p50_seconds: Estimate | None


@dataclass(frozen=True)
class ServiceBoundary:
    workload: str
    reference: str | None  # the in-process hybrid the boundary cost is measured against
    rows: tuple[ServiceRow, ...]


def _backend_share(phases: Sequence[ServerPhase]) -> float | None:
    shares = []
    for p in phases:
        back = (p.backend_user_seconds or 0.0) + (p.backend_sys_seconds or 0.0)
        total = p.server_user_seconds + p.server_sys_seconds + back
        if p.ok and p.backend_user_seconds is not None and total > 0:
            shares.append(back / total)
    return stats.median(shares) if shares else None


def service_boundary(workload: WorkloadResult) -> ServiceBoundary | None:
    """The workload's implementations side by side, when one calls a back end on its own CPUs
    (cpus "server": the service boundary question, not a proxy's)."""
    services = [
        i
        for i in workload.implementations
        if i.backend is not None and i.backend.cpus_policy == "server"
    ]
    if not services:
        return None
    hybrid = next((i for i in workload.implementations if i.build.links and i.status == "ok"), None)
    rows = []
    for impl in workload.implementations:
        if impl.status != "ok":
            continue
        for rate in replicates.rates_of(impl):
            phases = replicates.phases_at(impl, rate)
            base = replicates.phases_at(hybrid, rate) if hybrid and impl in services else []
            rows.append(
                ServiceRow(
                    key=impl.key,
                    boundary=boundary_of(impl),
                    rate=rate,
                    p50_seconds=estimate(list(by_replicate(phases, p50).values())),
                    p99_seconds=estimate(list(by_replicate(phases, p99).values())),
                    cpu_per_request_seconds=estimate(
                        list(by_replicate(phases, pair_cpu_per_request).values())
                    ),
                    backend_cpu_share=_backend_share(phases),
                    peak_rss_bytes=estimate(list(by_replicate(phases, pair_peak_rss).values())),
                    boundary_cpu_seconds=paired_difference(
                        by_replicate(phases, pair_cpu_per_request),
                        by_replicate(base, pair_cpu_per_request),
                    )
                    if base
                    else None,
                    boundary_p50_seconds=paired_difference(
                        by_replicate(phases, p50), by_replicate(base, p50)
                    )
                    if base
                    else None,
                )
            )
    return ServiceBoundary(workload.name, hybrid.key if hybrid else None, tuple(rows))


@dataclass(frozen=True)
class GrainBreakEven:
    """Where a service variant's CPU per request meets pure Go's along a sweep's grain axis."""

    workload: str  # the manifest's name
    axis: str
    key: str  # the service variant
    rate: float
    grains: tuple[float, ...]
    service_seconds: tuple[float, ...]  # median CPU per request at each grain
    go_seconds: tuple[float, ...]
    outcome: BreakEven
    grain: float | None  # set for "crossing"


def grain_break_evens(run: Run) -> tuple[GrainBreakEven, ...]:
    """For each swept workload with service variants: the break-even grain of each variant,
    on CPU per request at the lowest rate every point ran."""
    points: dict[tuple[str, str], list[WorkloadResult]] = {}
    for w in run.workloads:
        point = w.sweep
        if point is not None and point.numeric is not None and service_boundary(w) is not None:
            points.setdefault((point.workload, point.axis), []).append(w)
    found = []
    for (name, axis), swept in points.items():
        swept.sort(key=lambda w: w.sweep.numeric)  # type: ignore[union-attr]
        keys = {
            i.key
            for w in swept
            for i in w.implementations
            if i.backend is not None and i.backend.cpus_policy == "server"
        }
        for key in sorted(keys):
            found.extend(_break_even_for(name, axis, key, swept))
    return tuple(found)


def _median_cpu(impl: ImplementationResult | None, rate: float) -> float | None:
    if impl is None or impl.status != "ok":
        return None
    values = list(by_replicate(replicates.phases_at(impl, rate), pair_cpu_per_request).values())
    return stats.median(values) if values else None


def _break_even_for(
    name: str, axis: str, key: str, swept: Sequence[WorkloadResult]
) -> list[GrainBreakEven]:
    rates = [
        set(replicates.rates_of(w.result_for(key))) & set(replicates.rates_of(w.result_for(GO)))
        for w in swept
        if w.result_for(key) is not None and w.result_for(GO) is not None
    ]
    common = set.intersection(*rates) if rates and len(rates) == len(swept) else set()
    if not common:
        return []
    rate = min(common)
    grains, service, go = [], [], []
    for w in swept:
        s, g = _median_cpu(w.result_for(key), rate), _median_cpu(w.result_for(GO), rate)
        if s is not None and g is not None:
            grains.append(float(w.sweep.numeric))  # type: ignore[union-attr, arg-type]
            service.append(s)
            go.append(g)
    if len(grains) < 2:
        return []
    outcome, grain = break_even(grains, service, go)  # type: ignore[arg-type]
    return [
        GrainBreakEven(
            name, axis, key, rate, tuple(grains), tuple(service), tuple(go), outcome, grain
        )
    ]


# --- the proxy -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyRow:
    key: str
    rate: float
    saturation_share: float | None  # the rate over this proxy's closed-loop saturation
    saturation_rps: Estimate | None  # that saturation: closed-loop probes through the proxy
    added_p50_seconds: Estimate | None  # through the proxy minus straight, paired by replicate
    added_p99_seconds: Estimate | None
    direct_p50_seconds: Estimate | None
    cpu_per_request_seconds: Estimate | None  # the proxy's own
    cpu_per_kib_seconds: Estimate | None
    peak_rss_bytes: Estimate | None


@dataclass(frozen=True)
class ProxyCost:
    workload: str
    backend: str  # the back end's program, e.g. "rust/http-json"
    rows: tuple[ProxyRow, ...]


def proxy_cost(workload: WorkloadResult) -> ProxyCost | None:
    """The workload's proxies, when its phases were paired with direct ones."""
    proxies = [i for i in workload.implementations if i.direct_phases and i.status == "ok"]
    if not proxies:
        return None
    rows = []
    backend = ""
    for impl in proxies:
        assert impl.backend is not None
        backend = f"{impl.backend.lang}/{impl.backend.path}"
        saturation = replicates.saturation(impl)
        for rate in replicates.rates_of(impl):
            through = replicates.phases_at(impl, rate)
            direct = [p for p in impl.direct_phases if p.offered_rps == rate]
            rows.append(
                ProxyRow(
                    key=impl.key,
                    rate=rate,
                    saturation_share=rate / saturation.median if saturation else None,
                    saturation_rps=Estimate(
                        saturation.median,
                        saturation.ci_low,
                        saturation.ci_high,
                        len(saturation.values),
                    )
                    if saturation
                    else None,
                    added_p50_seconds=paired_difference(
                        by_replicate(through, p50), by_replicate(direct, p50)
                    ),
                    added_p99_seconds=paired_difference(
                        by_replicate(through, p99), by_replicate(direct, p99)
                    ),
                    direct_p50_seconds=estimate(list(by_replicate(direct, p50).values())),
                    cpu_per_request_seconds=estimate(
                        list(by_replicate(through, replicates.cpu_per_request).values())
                    ),
                    cpu_per_kib_seconds=estimate(list(by_replicate(through, cpu_per_kib).values())),
                    peak_rss_bytes=estimate(
                        [float(p.server_peak_rss_bytes) for p in through if p.ok]
                    ),
                )
            )
    return ProxyCost(workload.name, backend, tuple(rows))


@dataclass(frozen=True)
class BoundaryAnalysis:
    services: tuple[ServiceBoundary, ...]
    break_evens: tuple[GrainBreakEven, ...]
    proxies: tuple[ProxyCost, ...]

    @property
    def present(self) -> bool:
        return bool(self.services or self.proxies)


def analyse_boundaries(run: Run) -> BoundaryAnalysis:
    return BoundaryAnalysis(
        services=tuple(s for w in run.workloads if (s := service_boundary(w)) is not None),
        break_evens=grain_break_evens(run),
        proxies=tuple(p for w in run.workloads if (p := proxy_cost(w)) is not None),
    )


# --- sentences (the Hybrid section and the decision matrix quote the same ones) ------------------


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def _with_ci(e: Estimate) -> str:
    if e.low is None or e.high is None:
        return _us(e.value)
    return f"{_us(e.value)} [{e.low * 1e6:,.0f}, {e.high * 1e6:,.0f}]"


def break_even_sentence(found: GrainBreakEven) -> str:
    span = f"{found.axis} {found.grains[0]:g} to {found.grains[-1]:g}"
    where = (
        f"{found.workload}: {found.key} against go/default, CPU per request of every process at "
        f"{found.rate:,.0f} req/s"
    )
    if found.outcome == "every grain":
        return f"{where}: the service paid at every grain measured ({span})."
    if found.outcome == "no grain":
        return (
            f"{where}: the service never paid at the grains measured ({span}); no break-even "
            "within them."
        )
    return (
        f"{where}: break-even at about {found.axis} = {found.grain:.3g} (medians, interpolated "
        f"between measured grains; {span} measured): beyond it the service costs less CPU."
    )


def favoured_sentence(service: ServiceBoundary) -> str | None:
    """Which way of reaching the Rust work cost least CPU per request at the lowest rate every
    implementation ran, with the boundary's own cost against cgo: the figure the decision
    matrix's hybrid lean cites."""
    rates = [{r.rate for r in service.rows if r.key == k} for k in {r.key for r in service.rows}]
    common = set.intersection(*rates) if rates else set()
    if not common:
        return None
    rate = min(common)
    rows = [r for r in service.rows if r.rate == rate and r.cpu_per_request_seconds is not None]
    if not rows:
        return None
    hybrids = [r for r in rows if r.boundary != "in-process"] or rows
    best = min(hybrids, key=lambda r: r.cpu_per_request_seconds.value)  # type: ignore[union-attr]
    shown = ", ".join(
        f"{r.key} ({r.boundary}) {_us(r.cpu_per_request_seconds.value)}"  # type: ignore[union-attr]
        for r in sorted(rows, key=lambda r: r.cpu_per_request_seconds.value)  # type: ignore[union-attr]
    )
    text = (
        f"{service.workload} at {rate:,.0f} req/s, CPU per request of every process: {shown}; "
        f"of the ways a Go front reaches the Rust work, the figures favour {best.boundary} "
        f"({best.key})."
    )
    crossings = [r for r in rows if r.boundary_cpu_seconds is not None]
    if crossings:
        cheapest = min(crossings, key=lambda r: r.boundary_cpu_seconds.value)  # type: ignore[union-attr]
        assert cheapest.boundary_cpu_seconds is not None
        text += (
            f" The cheapest service boundary ({cheapest.boundary}) costs "
            f"{_with_ci(cheapest.boundary_cpu_seconds)} of CPU per call more than calling the "
            f"same Rust in-process through cgo ({service.reference}; paired by replicate, "
            "95 % bootstrap CI)."
        )
    return text


def proxy_sentence(cost: ProxyCost) -> str | None:
    """Each proxy's added p50 at its lowest rate held below half its saturation."""
    parts = []
    for key in dict.fromkeys(r.key for r in cost.rows):
        rows = [
            r
            for r in cost.rows
            if r.key == key
            and r.added_p50_seconds is not None
            and r.saturation_share is not None
            and r.saturation_share <= 0.5
        ]
        if rows:
            row = min(rows, key=lambda r: r.rate)
            assert row.added_p50_seconds is not None
            parts.append(
                f"{key} adds {_with_ci(row.added_p50_seconds)} to the p50 at {row.rate:,.0f} req/s"
            )
    if not parts:
        return None
    return (
        f"{cost.workload} in front of {cost.backend}: " + "; ".join(parts) + " (through the "
        "proxy minus straight to the back end, paired by replicate, at most half of each "
        "proxy's saturation)."
    )


def headline_sentences(analysis: BoundaryAnalysis) -> tuple[str, ...]:
    sentences = [s for s in map(favoured_sentence, analysis.services) if s]
    sentences += [break_even_sentence(b) for b in analysis.break_evens]
    sentences += [s for s in map(proxy_sentence, analysis.proxies) if s]
    return tuple(sentences)
