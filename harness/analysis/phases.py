"""The rules a server phase is judged by, in one place: which phases may be quoted as headline
figures, which caveats a phase carries, how its window's server CPU is read, and how the two kinds
of load are labelled.

Pure functions over recorded values, so the summary, the report, capacity and the decision matrix
apply one rule, to old results as to new ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from harness.model import RequestCounts, ServerPhase

ACHIEVED_MIN_FRACTION = 0.99  # below this share of the offered rate the server fell behind
TRUSTWORTHY_P999_REQUESTS = 100_000
LOADGEN_BUSY_FRACTION = (
    0.9  # of its CPUs: above this the generator, not the server, may be the limit
)
# Steal above this share of a phase sets the phase aside. Why 1 %: when the hypervisor stops the
# guest for 1 % of a phase, an open-loop generator's requests queue for that long at any rate, so
# the stall alone delays about 1 % of the phase's requests and can set its p99. Measured here: one
# run with 3-4 % steal had Go p99 of 19-167 ms at 1,669 req/s where a quiet run had 1.2-3.1 ms.
STEAL_SET_ASIDE_SHARE = 0.01

OPEN_LOOP = (
    "open loop (oha -q with --latency-correction): latency from each request's intended send, "
    "corrected for coordinated omission"
)
CLOSED_LOOP = (
    "closed loop (no -q): each connection sends its next request when the previous one is "
    "answered, so latency runs from the actual send and is not corrected for coordinated "
    "omission; not comparable with the open-loop phases"
)


def gc_cycles_required(min_gc_cycles: int, lang: str, env: Mapping[str, str]) -> int | None:
    """How many Go GC cycles a phase of this implementation must contain (the manifest's
    `[server] min_gc_cycles`), or None when nothing is required: Rust has no collector, and Go
    with GOGC=off and no memory limit never collects, so no phase length would change that."""
    if not min_gc_cycles or lang != "go":
        return None
    if env.get("GOGC") == "off" and env.get("GOMEMLIMIT", "off") == "off":
        return None
    return min_gc_cycles


def too_few_gc_cycles(gc_count: int, required: int | None) -> str | None:
    """The reason a phase that ended before Go collected enough is not quoted; None if it is fine."""
    if required is None or gc_count >= required:
        return None
    return (
        f"contained {gc_count} Go GC cycle{'s' if gc_count != 1 else ''} (< {required}): "
        "its latencies are Go's between-collection ones only"
    )


def cpu_list(cpus: Sequence[int]) -> str:
    """ "0,1": a CPU set as --pin and --loadgen-cpus take it."""
    return ",".join(str(c) for c in cpus)


def shared_cpus_flag(shared: Sequence[int] | None) -> str | None:
    """The disclosure of a phase whose load generator could run on the server's CPUs
    (ServerPhase.shared_cpus); None when they were apart (or, in older files, not recorded). Not
    an exclusion: on a machine with few CPUs sharing may be the only way to give the server more
    than one, and the reader should know that the load generator's CPU time (shown per phase)
    competed with the server's. Shown beside each phase and once per workload, not among the
    phase's `flags`: it is the same for every phase of a run, and repeated per replicate in every
    rate's notes it would bury the caveats that differ."""
    if not shared:
        return None
    return (
        f"server and load generator shared CPU(s) {cpu_list(shared)}: the load generator's CPU "
        "time competed with the server's"
    )


def headline_exclusions(phase: ServerPhase) -> tuple[str, ...]:
    """Why a phase must not be quoted as a headline figure or used for a verdict; () when it may.
    Such phases are still shown, with these reasons beside them."""
    reasons = []
    if not phase.ok:
        reasons.append("the phase failed")
    if phase.offered_rps is None or not phase.phase.startswith("rate="):
        reasons.append("not a fixed-rate phase")
    if phase.latency is None:
        reasons.append("no latencies")
    if phase.errors:
        reasons.append(f"{phase.errors:,} failed requests")
    if (
        phase.offered_rps is not None
        and phase.achieved_rps < ACHIEVED_MIN_FRACTION * phase.offered_rps
    ):
        reasons.append(
            f"achieved {phase.achieved_rps:,.0f} req/s < 99 % of offered {phase.offered_rps:,.0f}"
        )
    if phase.gc_cycles is not None and (
        gc := too_few_gc_cycles(len(phase.gc_cycles), phase.gc_cycles_required)
    ):
        reasons.append(gc)
    return tuple(reasons)


def is_headline(phase: ServerPhase) -> bool:
    return not headline_exclusions(phase)


def disturbance(phase: ServerPhase) -> str | None:
    """Why a replicate is set aside as disturbed from outside the benchmark, or None. Unlike a
    headline exclusion, which says the server could not keep up and so disqualifies its rate, a
    disturbed replicate says nothing about the server: it is left out of the estimates, shown
    with this reason, and the protocol may measure an extra replicate in its place."""
    if phase.steal_share is not None and phase.steal_share > STEAL_SET_ASIDE_SHARE:
        return (
            f"CPU steal {phase.steal_share:.1%} of the phase's CPU time (over "
            f"{STEAL_SET_ASIDE_SHARE:.0%}: the hypervisor stopped this machine, not the server)"
        )
    return None


def describe_failures(counts: RequestCounts) -> str:
    """'12 failed requests (unexpected status 2, connection and other errors 10; ...)'."""
    kinds = [
        (counts.unexpected_status, "unexpected status"),
        (counts.timeouts, "timeout"),
        (counts.deadline_aborts, "aborted at the deadline"),
        (counts.other_errors, "connection and other errors"),
    ]
    total = counts.unexpected_status + counts.without_duration
    parts = ", ".join(f"{label} {n:,}" for n, label in kinds if n)
    if counts.without_duration:
        parts += "; oha records no duration for " + (
            "these" if not counts.unexpected_status else "all but the unexpected statuses"
        )
    return f"{total:,} failed requests ({parts})"


def phase_flags(
    offered_rps: float | None,
    achieved_rps: float,
    counts: RequestCounts,
    latency_count: int,
    loadgen_share: float | None,
    loadgen_cpus: int,
    peak_from_samples: bool,
    steal_share: float | None = None,
    gc_count: int | None = None,
    gc_required: int | None = None,
) -> tuple[str, ...]:
    """Every caveat of a phase, for the reader; headline_exclusions decides which disqualify and
    disturbance which set a replicate aside."""
    flags = []
    if steal_share is not None and steal_share > STEAL_SET_ASIDE_SHARE:
        flags.append(
            f"CPU steal {steal_share:.1%} during the phase: the hypervisor stopped this machine"
        )
    if offered_rps is not None and achieved_rps < ACHIEVED_MIN_FRACTION * offered_rps:
        flags.append(f"achieved {achieved_rps:.0f} req/s < 99 % of offered {offered_rps:.0f}")
    if counts.unexpected_status or counts.without_duration:
        flags.append(describe_failures(counts))
    if counts.unsent:
        flags.append(
            f"never sent before the deadline: {counts.unsent:,} of the scheduled requests "
            "(in the latencies at a lower bound, intended send to deadline)"
        )
    if offered_rps is not None and latency_count < TRUSTWORTHY_P999_REQUESTS:
        flags.append(f"p99.9 from {latency_count} requests (< {TRUSTWORTHY_P999_REQUESTS})")
    if loadgen_share is not None and loadgen_share > LOADGEN_BUSY_FRACTION * loadgen_cpus:
        flags.append("load generator near its CPU limit: the server may be capable of more")
    if peak_from_samples:
        flags.append("peak RSS from psutil samples (VmHWM could not be reset): short peaks missed")
    if gc_count is not None and (gc := too_few_gc_cycles(gc_count, gc_required)):
        flags.append(gc)
    return tuple(flags)


def cpu_in_window(
    readings: Sequence[tuple[float, float, float]], start: float, end: float
) -> tuple[float, float]:
    """(user, sys) seconds between `start` and `end`, from cumulative readings (t, user, sys)
    sorted by t: linear interpolation between the readings around each end, flat beyond them."""
    t = np.array([r[0] for r in readings], dtype=float)
    user = np.array([r[1] for r in readings], dtype=float)
    sys_ = np.array([r[2] for r in readings], dtype=float)
    return (
        float(np.interp(end, t, user) - np.interp(start, t, user)),
        float(np.interp(end, t, sys_) - np.interp(start, t, sys_)),
    )
