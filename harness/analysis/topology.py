"""What a run with load from other hosts (Run.topology, --hosts) says about its hosts, worked out
once for the brief, the Methodology, the server sections and the exporters.

Why here and not in the report: the link's median RTT, the multi-host overhead over phases and
whether a load host kept up with its share are findings, and every reader must state the same
ones. Whether a host fell behind uses the same rule the driver flags a phase by
(phases.ACHIEVED_MIN_FRACTION of its share); the phase's flags themselves are the driver's.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness.analysis.phases import ACHIEVED_MIN_FRACTION
from harness.model import LoadHostShare, Run, ServerPhase, Topology


@dataclass(frozen=True)
class ShareReading:
    """One load host's part of one phase, with what the report says about it."""

    share: LoadHostShare
    cpu_share: float | None  # its load generator's user + sys over its wall time (of one CPU)
    kept_share: float | None  # achieved / offered share; None for a closed-loop phase
    behind: bool  # kept_share < ACHIEVED_MIN_FRACTION


@dataclass(frozen=True)
class PhaseShares:
    """A multi-host phase of one implementation and each load host's share of it."""

    workload: str
    key: str  # the implementation
    phase: str
    replicate: int | None
    ok: bool
    shares: tuple[ShareReading, ...]


@dataclass(frozen=True)
class TopologyAnalysis:
    topology: Topology
    rtt_median_seconds: float | None  # over the load hosts whose RTT was measured
    rtt_measured: int  # how many load hosts that was
    overhead_median_seconds: float | None  # hosts_overhead_seconds over the multi-host phases
    overhead_max_seconds: float | None
    overhead_phases: int  # phases that recorded an overhead
    phases: tuple[PhaseShares, ...]  # every phase with load hosts, in the run's order

    def phases_of(self, workload: str) -> tuple[PhaseShares, ...]:
        return tuple(p for p in self.phases if p.workload == workload)


def read_share(share: LoadHostShare) -> ShareReading:
    cpu = (share.user_seconds + share.sys_seconds) / share.wall_seconds
    kept = (
        share.achieved_rps / share.offered_rps
        if share.offered_rps is not None and share.offered_rps > 0
        else None
    )
    return ShareReading(
        share=share,
        cpu_share=cpu if share.wall_seconds > 0 else None,
        kept_share=kept,
        behind=kept is not None and kept < ACHIEVED_MIN_FRACTION,
    )


def _phase_shares(workload: str, key: str, phase: ServerPhase) -> PhaseShares:
    return PhaseShares(
        workload=workload,
        key=key,
        phase=phase.phase,
        replicate=phase.replicate,
        ok=phase.ok,
        shares=tuple(read_share(s) for s in phase.load_hosts),
    )


def analyse_topology(run: Run) -> TopologyAnalysis | None:
    """None when everything ran on this machine (Run.topology None)."""
    topology = run.topology
    if topology is None:
        return None
    rtts = [h.rtt_seconds for h in topology.load_hosts if h.rtt_seconds is not None]
    phases = [
        (w.name, impl.key, phase)
        for w in run.workloads
        for impl in w.implementations
        for phase in impl.phases
        if phase.load_hosts or phase.hosts_overhead_seconds is not None
    ]
    overheads = [
        p.hosts_overhead_seconds for *_, p in phases if p.hosts_overhead_seconds is not None
    ]
    return TopologyAnalysis(
        topology=topology,
        rtt_median_seconds=statistics.median(rtts) if rtts else None,
        rtt_measured=len(rtts),
        overhead_median_seconds=statistics.median(overheads) if overheads else None,
        overhead_max_seconds=max(overheads) if overheads else None,
        overhead_phases=len(overheads),
        phases=tuple(_phase_shares(*found) for found in phases if found[2].load_hosts),
    )
