"""One analysis pass over a run, Criterion's shape: `analyse` turns a run into one typed bundle, and
every report section, the brief and every exporter only read it.

Why one pass: when each reader called back into the analysis on its own, the Markdown brief ran a
shorter chain than the report's (no hybrid, no profile evidence) and could say something else, and
noise and server rate summaries were computed by several readers each. Here each finding is
computed once, and a reader that needs it takes it from the bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.boundary import BoundaryAnalysis, analyse_boundaries
from harness.analysis.capacity import (
    CapacityConfig,
    CapacityProjection,
    load_capacity_config,
    project_capacity,
)
from harness.analysis.compare import DEFAULT_THRESHOLD
from harness.analysis.concurrency import (
    ConcurrencyAnalysis,
    analyse_concurrency,
    concurrency_lines,
    correctness_lines,
)
from harness.analysis.decision import (
    Decision,
    Evidence,
    TeamConfig,
    collect_evidence,
    decide,
    with_extra_lines,
)
from harness.analysis.hybrid import HybridAnalysis, analyse_hybrids
from harness.analysis.noise import RunNoise, run_noise
from harness.analysis.profiles import evidence_lines
from harness.analysis.summaries import WorkloadAnalysis, analyse_run
from harness.analysis.topology import TopologyAnalysis, analyse_topology
from harness.model import ProfileRun, Run


@dataclass(frozen=True)
class RunAnalysis:
    run: Run
    threshold: float  # the noise threshold the warnings and the brief use
    workloads: tuple[WorkloadAnalysis, ...]  # per workload: summaries, verdicts, server findings
    noise: RunNoise
    capacity: CapacityProjection
    hybrid: HybridAnalysis
    evidence: Evidence  # the decision matrix's evidence, the profile's lines included
    decision: Decision
    concurrency: ConcurrencyAnalysis  # speedup along the cpus axis, per-unit costs
    profile: ProfileRun | None = None  # the run's CPU profile, when `harness profile` wrote one
    # Which host did what when load came from other hosts (--hosts); None on one machine.
    topology: TopologyAnalysis | None = None
    # Servers beside a back end: the service boundary's cost, break-even grains, a proxy's cost.
    boundary: BoundaryAnalysis | None = None

    def workload(self, name: str) -> WorkloadAnalysis | None:
        return next((a for a in self.workloads if a.result.name == name), None)


def analyse(
    run: Run,
    capacity_config: CapacityConfig | None = None,
    team: TeamConfig | None = None,
    profile: ProfileRun | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> RunAnalysis:
    """Without a capacity config the documented defaults apply; without team scores the decision
    has no weights to apply and says how to give them."""
    workloads = analyse_run(run)
    concurrency = analyse_concurrency(run)
    capacity = project_capacity(run, capacity_config or load_capacity_config(None), concurrency)
    hybrid = analyse_hybrids(run)
    boundary = analyse_boundaries(run)
    evidence = with_extra_lines(
        with_extra_lines(
            collect_evidence(workloads, capacity, hybrid, boundary), evidence_lines(profile)
        ),
        {**concurrency_lines(concurrency), **correctness_lines(run)},
    )
    return RunAnalysis(
        run=run,
        threshold=threshold,
        workloads=workloads,
        noise=run_noise(run, threshold),
        capacity=capacity,
        hybrid=hybrid,
        evidence=evidence,
        decision=decide(team, evidence),
        concurrency=concurrency,
        profile=profile,
        topology=analyse_topology(run),
        boundary=boundary,
    )
