"""Headline metrics over a sequence of runs, and the steps where they moved, for the report.

A trend is one series per workload, implementation and headline metric: each run's median with its
95 % bootstrap CI. A step is a point whose change from the previous point of the same series is a
"regressed" or "improved" verdict of the very test `harness compare` applies (compare.shift), so
the trend and the gate never disagree. Only runs measured under the same conditions belong in one
trend: `comparable_entries` picks them from the history, never mixing machines, toolchains, sizes
or pinning unless asked to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.analysis import compare, stats
from harness.analysis.summaries import HIGHER_IS_BETTER, metric_values
from harness.model import Run
from harness.store import history
from harness.store.results import load_run

HEADLINE_METRICS = ("wall_seconds", "peak_rss_bytes", "throughput")
COMMIT_CHARS = 10


@dataclass(frozen=True)
class TrendPoint:
    """One run's figure in a series."""

    run_id: str
    commit: str | None  # short hash; None when the run was not made in a git checkout
    dirty: bool | None  # the working tree had uncommitted changes
    started_at: str
    median: float
    ci_low: float | None  # None with fewer than 2 repetitions
    ci_high: float | None
    repetitions: int


@dataclass(frozen=True)
class TrendStep:
    """A significant move beyond the threshold between two consecutive points of a series."""

    before: TrendPoint
    after: TrendPoint
    change: float  # after / before - 1, of the medians
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    threshold: float
    verdict: str  # "regressed" | "improved"
    # The smallest change this step's test could have called with stats.POWER probability at
    # p < 0.05 (one comparison, no adjustment); None: none of any size.
    detectable_change: float | None = None


@dataclass(frozen=True)
class Trend:
    workload: str
    lang: str
    variant: str
    metric: str
    unit: str
    points: tuple[TrendPoint, ...]
    steps: tuple[TrendStep, ...]
    # Each point's raw repetitions, for what a step could have seen (kept out of equality).
    samples: tuple[tuple[float, ...], ...] = field(default=(), compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.workload} {self.lang}/{self.variant} {self.metric}"

    def last_step_detectable(self) -> float | None:
        """What the step into the newest point could have called (no step: None): "no
        significant step" says something only beside it."""
        if len(self.samples) < 2:
            return None
        return detectable(self.metric, self.samples[-2], self.samples[-1])


def detectable(metric: str, before: Sequence[float], after: Sequence[float]) -> float | None:
    """The minimum detectable change of compare.shift's test between two runs' repetitions."""
    return shift_detectable(metric, compare.shift(metric, before, after, compare.DEFAULT_THRESHOLD))


def shift_detectable(metric: str, moved: compare.Shift | None) -> float | None:
    """What a Shift's own test could have called at an unadjusted 0.05 (a trend step is one
    comparison); None without a power to ask."""
    if moved is None or moved.power is None:
        return None
    power = moved.power
    return stats.smallest_detectable_change(
        lambda size: power(size, stats.ALPHA), worse_is_lower=metric in HIGHER_IS_BETTER
    )


def comparable_entries(
    entries: Sequence[history.RunEntry],
    allow_mixed: bool = False,
    include_incomplete: bool = False,
) -> list[history.RunEntry]:
    """The entries (oldest first) measured like the newest one: same comparability key. Runs still
    running or interrupted are left out unless asked for; `allow_mixed` keeps every condition."""
    candidates = [e for e in entries if include_incomplete or e.status == "complete"]
    if allow_mixed or not candidates:
        return candidates
    reference = candidates[-1].comparability_key
    return [e for e in candidates if e.comparability_key == reference]


def load_comparable_runs(
    results_dir: Path, allow_mixed: bool = False, include_incomplete: bool = False
) -> list[Run]:
    """Refresh the history index and load the runs `comparable_entries` picks, oldest first."""
    entries = comparable_entries(history.refresh(results_dir), allow_mixed, include_incomplete)
    return [load_run(results_dir / e.file) for e in entries]


def _point(run: Run, values: Sequence[float]) -> TrendPoint:
    ci = stats.median_ci(values)
    commit = run.machine.git_commit
    return TrendPoint(
        run_id=run.run_id,
        commit=commit[:COMMIT_CHARS] if commit else None,
        dirty=run.machine.git_dirty,
        started_at=run.started_at,
        median=stats.median(values),
        ci_low=ci.low if ci else None,
        ci_high=ci.high if ci else None,
        repetitions=len(values),
    )


def _steps(
    metric: str,
    points: Sequence[TrendPoint],
    samples: Sequence[Sequence[float]],
    threshold: float,
) -> tuple[TrendStep, ...]:
    steps = []
    for i in range(1, len(points)):
        moved = compare.shift(metric, samples[i - 1], samples[i], threshold)
        if moved is None or moved.verdict not in ("regressed", "improved"):
            continue
        steps.append(
            TrendStep(
                before=points[i - 1],
                after=points[i],
                change=moved.change,
                ci_low=moved.ci_low,
                ci_high=moved.ci_high,
                p_value=moved.p_value,
                threshold=threshold,
                verdict=moved.verdict,
                detectable_change=shift_detectable(metric, moved),  # the step's own shift
            )
        )
    return tuple(steps)


def trends(
    runs: Sequence[Run],
    metrics: Sequence[str] = HEADLINE_METRICS,
    thresholds: Mapping[str, float] | None = None,
    default_threshold: float = compare.DEFAULT_THRESHOLD,
) -> tuple[Trend, ...]:
    """One trend per workload, implementation and metric over `runs` (oldest first, already
    comparable), in order of first appearance. A run contributes a point only where the
    implementation's status is "ok" and its workload's outputs agreed, as in `compare`."""
    series: dict[tuple[str, str, str, str], tuple[str, list[TrendPoint], list[list[float]]]] = {}
    for run in runs:
        for workload in run.workloads:
            if workload.status == "checksum_mismatch":
                continue
            for impl in workload.implementations:
                if impl.status != "ok":
                    continue
                values = metric_values(impl, workload.throughput)
                for metric in metrics:
                    if metric not in values:
                        continue
                    unit, samples = values[metric]
                    key = (workload.name, impl.lang, impl.variant, metric)
                    _, points, sample_lists = series.setdefault(key, (unit, [], []))
                    points.append(_point(run, samples))
                    sample_lists.append(samples)
    thresholds = thresholds or {}
    return tuple(
        Trend(
            workload=workload,
            lang=lang,
            variant=variant,
            metric=metric,
            unit=unit,
            points=tuple(points),
            steps=_steps(metric, points, samples, thresholds.get(metric, default_threshold)),
            samples=tuple(tuple(x) for x in samples),
        )
        for (workload, lang, variant, metric), (unit, points, samples) in series.items()
    )


def runs_like(run: Run, results_dir: Path) -> list[Run]:
    """The complete runs in `results_dir` measured under `run`'s conditions, up to and including
    it, oldest first: the history a report of `run` can honestly draw a trend from."""
    entries = [e for e in history.refresh(results_dir) if e.status == "complete"]
    own = next((e for e in entries if e.run_id == run.run_id), None)
    if own is None:
        return [run]
    return [
        load_run(results_dir / e.file)
        for e in entries
        if e.comparability_key == own.comparability_key and e.started_at <= own.started_at
    ]
