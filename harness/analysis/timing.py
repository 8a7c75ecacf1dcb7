"""Where a run's wall time goes, and what the next run of the same workloads should cost.

A full run of the default suite takes over an hour here; a user deciding whether to start one,
or which workloads to leave out, needs that figure before it starts (hyperfine's ETA, asv's
"this will take" line), and afterwards the breakdown that says what `--workloads` or
`--no-build-profile` would save. Both come from the per-workload timings the runner records
(model.WorkloadTiming), never from a constant: a workload never timed on this results folder is
named as such, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.model import Run, WorkloadResult, WorkloadTiming

STAGES = ("build_seconds", "check_seconds", "input_seconds", "measure_seconds")
STAGE_LABELS = {
    "build_seconds": "builds",
    "check_seconds": "race/unsafe checks",
    "input_seconds": "inputs",
    "measure_seconds": "measuring",
}


@dataclass(frozen=True)
class PastTiming:
    workload: str
    run_id: str
    timing: WorkloadTiming


@dataclass(frozen=True)
class Expectation:
    """The newest timing of each selected workload in earlier runs of the same size."""

    size: str
    known: tuple[PastTiming, ...]
    untimed: tuple[str, ...]  # selected, but in no earlier timed run of this size

    @property
    def total_seconds(self) -> float:
        """Builds aside: the earlier run's may have been first builds and build profiles, which
        are cached by source hash (a changed program builds again, in seconds to minutes)."""
        return sum(_without_builds(p.timing) for p in self.known)


def _without_builds(t: WorkloadTiming) -> float:
    return t.total_seconds - t.build_seconds


def manifest_name(result: WorkloadResult) -> str:
    """The manifest a result came from: a sweep's or a CPU count's point is named
    "<workload>@<axis>=<value>"."""
    return result.sweep.workload if result.sweep is not None else result.name


def _summed(timings: Sequence[WorkloadTiming]) -> WorkloadTiming:
    return WorkloadTiming(*(sum(getattr(t, stage) for t in timings) for stage in STAGES))


def expected(runs_newest_first: Iterable[Run], names: Sequence[str], size: str) -> Expectation:
    """Each workload's timing from the newest run of `size` that timed it; a workload measured at
    several points in one run (each CPU count of a concurrency workload) counts all of them."""
    workloads = tuple(dict.fromkeys(names))
    found: dict[str, PastTiming] = {}
    for run in runs_newest_first:
        if run.config.size != size:
            continue
        for name in workloads:
            timings = [
                w.timing for w in run.workloads if manifest_name(w) == name and w.timing is not None
            ]
            if name not in found and timings:
                found[name] = PastTiming(name, run.run_id, _summed(timings))
        if len(found) == len(workloads):
            break
    return Expectation(
        size=size,
        known=tuple(found[n] for n in workloads if n in found),
        untimed=tuple(n for n in workloads if n not in found),
    )


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _longest(items: Sequence[tuple[str, float]], shown: int = 4) -> str:
    top = sorted(items, key=lambda item: -item[1])[:shown]
    return ", ".join(f"{name} {minutes(seconds)}" for name, seconds in top)


def plan_line(expectation: Expectation) -> str | None:
    """One line before a run starts; None when no selected workload was timed before."""
    if not expectation.known:
        return None
    runs = sorted({p.run_id for p in expectation.known})
    source = f"run {runs[0]}" if len(runs) == 1 else f"{len(runs)} earlier runs"
    timed = len(expectation.known)
    longest = _longest([(p.workload, _without_builds(p.timing)) for p in expectation.known])
    line = (
        f"expected: about {minutes(expectation.total_seconds)} plus builds for the {timed} "
        f"workload(s) timed before at {expectation.size} size (by {source} in this results "
        f"folder; longest: {longest})"
    )
    if expectation.untimed:
        line += f"; not timed before: {', '.join(expectation.untimed)}"
    return line


def stage_totals(run: Run) -> dict[str, float]:
    """Seconds per stage over the run's timed workloads (STAGES order)."""
    timed = [w.timing for w in run.workloads if w.timing is not None]
    return {stage: sum(getattr(t, stage) for t in timed) for stage in STAGES}


def breakdown_line(run: Run) -> str | None:
    """Where the run's time went: stages over all workloads, then the longest workloads."""
    timed = [(w.name, w.timing) for w in run.workloads if w.timing is not None]
    if not timed:
        return None
    totals = stage_totals(run)
    stages = ", ".join(
        f"{STAGE_LABELS[stage]} {minutes(seconds)}" for stage, seconds in totals.items() if seconds
    )
    total = sum(totals.values())
    return (
        f"time: {minutes(total)} over {len(timed)} workload(s) ({stages}); longest: "
        f"{_longest([(name, t.total_seconds) for name, t in timed])}"
    )
