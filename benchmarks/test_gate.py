"""The regression gate measured on this machine with real binaries (`make bench-harness`).

`harness compare` fails a build when a change is significant (Mann-Whitney p < 0.05 and the bootstrap
CI of the change excludes 0) and larger than the 5 % noise threshold. Whether that is a useful gate
depends on the machine's noise, so this benchmark measures it with the real sha256 pair:

- A/A: a base run and a twin of identical binaries on identical input, compared with the defaults.
  Any "regressed" verdict on wall or CPU time of either implementation is a false alarm.
  Target: <= 5 % of trials.
- A/B: heads that hash 5 % or 10 % more data (both of the generator's size parameters, `messages`
  and `large_bytes`, scaled), so the programs do that much more work. Start-up does not scale, so
  the measured median change is reported next to the injected one. Target: a 10 % slowdown is
  caught in >= 95 % of trials.

Two ways of measuring the same arms, alternated trial by trial so both see the same machine:

- sequential: each arm is one `harness run`-like run (1 warm-up, 10 repetitions, Go and Rust
  interleaved), one after the other, in a rotated order. This is CI comparing against a baseline
  measured earlier: anything that changes the machine's speed between runs lands in the change.
- interleaved: one warm-up round, then 10 rounds each running every arm once (rotated order), so
  base and head repetitions alternate as Go and Rust do within a run: drift hits all arms alike.

The programs run on CPU 1 and the harness on CPU 0. Figures go to extra_info and are printed; a
missed target fails the benchmark. GATE_TRIALS overrides the trials per mode (default 20).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from harness import compare, config, measure, stats, toolchains
from harness.analysis import metric_values
from harness.build import Builder
from harness.inputs import prepare_input
from harness.machine import describe
from harness.model import Machine, Run, RunConfig, Workload, WorkloadResult
from harness.runner import run_batch_workload

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
WORKLOAD = "sha256"
# ~52 MB of input: ~100 ms per run on this VM (half hashing, half reading the input and start-up).
BASE_PARAMS = {"messages": 200_000, "large_bytes": 8 << 20}
SLOWDOWNS = (0.05, 0.10)
MODES = ("sequential", "interleaved")
TRIALS = int(os.environ.get("GATE_TRIALS", "20"))
REPETITIONS = 10
GATED = ("wall_seconds", "cpu_seconds")
MEASURED_CPUS = (1,)
HARNESS_CPUS = (0,)
QUIET_OFF_CPU = 0.06
FALSE_ALARM_TARGET = 0.05
DETECTION_TARGET = 0.95


@dataclass(frozen=True)
class Arm:
    """One way of running the workload: the label and the workload with its input parameters."""

    label: str
    workload: Workload
    scale: float


def scaled(workload: Workload, scale: float) -> Workload:
    params = {k: round(v * scale) for k, v in BASE_PARAMS.items()}
    implementations = tuple(i for i in workload.implementations if i.is_default)
    return replace(workload, params={"full": params}, implementations=implementations)


def this_machine() -> Machine:
    """Described once (git status runs without optional locks, so the index is not rewritten)."""
    return describe(ROOT, HARNESS_CPUS)


@contextmanager
def harness_pinned() -> Iterator[None]:
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, HARNESS_CPUS)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def as_run(result: WorkloadResult, run_config: RunConfig, machine: Machine, label: str) -> Run:
    return Run(
        schema_version=1,
        run_id=label,
        started_at="",
        finished_at="",
        status="complete",
        machine=machine,
        config=run_config,
        workloads=(result,),
    )


def flagged(result: compare.RunComparison, metric: str, verdict: str = "regressed") -> bool:
    return any(c.metric == metric and c.verdict == verdict for c in result.changes)


def changes_of(result: compare.RunComparison, metric: str) -> list[float]:
    return [c.change for c in result.changes if c.metric == metric]


@pytest.mark.skipif(
    len(measure.available_cpus()) < 2
    or not set(MEASURED_CPUS + HARNESS_CPUS).issubset(measure.available_cpus()),
    reason="needs CPUs 0 and 1",
)
def test_gate_false_alarms_and_detection(benchmark, tmp_path):
    for tool in ("go", "cargo"):
        if toolchains.tool_version(tool) is None:
            pytest.skip(f"{tool} not installed")
    manifest = config.load_workloads(ROOT / "workloads")[WORKLOAD]
    arms = [Arm("base", scaled(manifest, 1.0), 1.0), Arm("aa", scaled(manifest, 1.0), 1.0)]
    arms += [Arm(f"+{s:.1%}", scaled(manifest, 1 + s), 1 + s) for s in SLOWDOWNS]
    builder = Builder(ROOT / "workloads", CACHE)
    builds = {i.key: builder.build(manifest, i) for i in arms[0].workload.implementations}
    assert all(b.ok for b in builds.values()), [b.error for b in builds.values()]
    inputs = {a.label: prepare_input(a.workload, "full", tmp_path) for a in arms}
    run_config = RunConfig(
        size="full",
        repetitions=REPETITIONS,
        warmups=1,
        timeout_seconds=60.0,
        cpu_affinity=MEASURED_CPUS,
        sample_interval_seconds=0.1,
        workloads=(WORKLOAD,),
    )
    one_rep = replace(run_config, repetitions=1, warmups=0)
    machine = this_machine()
    executor = measure.SubprocessExecutor(measure.ensure_launcher(CACHE))

    def measure_arm(arm: Arm, cfg: RunConfig) -> WorkloadResult:
        result = run_batch_workload(arm.workload, builds, inputs[arm.label], cfg, executor)
        assert result.status == "ok", result.error
        return result

    def sequential(order: list[Arm]) -> dict[str, WorkloadResult]:
        return {arm.label: measure_arm(arm, run_config) for arm in order}

    def interleaved(order: list[Arm]) -> dict[str, WorkloadResult]:
        for arm in order:  # warm-up round, discarded
            measure_arm(arm, one_rep)
        rounds: dict[str, list[WorkloadResult]] = {arm.label: [] for arm in order}
        for r in range(REPETITIONS):
            for arm in order[r % len(order) :] + order[: r % len(order)]:
                rounds[arm.label].append(measure_arm(arm, one_rep))
        return {label: merged(results) for label, results in rounds.items()}

    trials_by_mode: dict[str, list[Trial]] = {mode: [] for mode in MODES}

    def all_trials() -> None:
        for trial in range(TRIALS):
            order = arms[trial % len(arms) :] + arms[: trial % len(arms)]
            modes = MODES if trial % 2 == 0 else MODES[::-1]
            for mode in modes:
                measured = (sequential if mode == "sequential" else interleaved)(order)
                runs = {
                    label: as_run(result, run_config, machine, f"{mode}-{label}-{trial}")
                    for label, result in measured.items()
                }
                trials_by_mode[mode].append(
                    Trial(
                        comparisons={
                            arm.label: compare.compare_runs(runs["base"], runs[arm.label])
                            for arm in arms[1:]
                        },
                        load_average=os.getloadavg()[0],
                        off_cpu_share=max(off_cpu_share(r) for r in runs.values()),
                    )
                )

    started = time.perf_counter()
    with harness_pinned():
        benchmark.pedantic(all_trials, rounds=1, iterations=1)
    elapsed = time.perf_counter() - started
    figures: dict[str, object] = {
        "workload": WORKLOAD,
        "base_params": str(BASE_PARAMS),
        "trials_per_mode": TRIALS,
        "repetitions": REPETITIONS,
        "elapsed_seconds": elapsed,
    }
    lines = [
        f"\nregression gate on {WORKLOAD}: {TRIALS} trials per mode, {REPETITIONS} repetitions, "
        f"{elapsed:.0f} s"
    ]
    missed = []
    for mode, trials in trials_by_mode.items():
        mode_figures, mode_lines = summarise(trials)
        figures |= {f"{mode}_{k}": v for k, v in mode_figures.items()}
        lines += [f"-- {mode}", *mode_lines]
        if mode_figures["aa_gate_rate"] > FALSE_ALARM_TARGET:
            missed.append(f"{mode}: A/A false alarms {mode_figures['aa_gate_rate']:.0%} > 5 %")
        if mode_figures["slowdown_10pct_gate_rate"] < DETECTION_TARGET:
            missed.append(
                f"{mode}: 10 % slowdown caught {mode_figures['slowdown_10pct_gate_rate']:.0%} < 95 %"
            )
    benchmark.extra_info.update(figures)
    known = [m for m in missed if m.startswith("sequential")]
    if known:  # separate runs drift apart on a VM: reported, and why `harness ab` gates PRs instead
        lines.append("known limitation of separate runs (use `harness ab`): " + "; ".join(known))
    print("\n".join(lines))
    # The gate a pull request should use is the interleaved one (`harness ab`): its targets must hold.
    missed = [m for m in missed if not m.startswith("sequential")]
    assert not missed, "; ".join(missed)


@dataclass(frozen=True)
class Trial:
    """One trial of one mode: base compared with each other arm, and the machine's state."""

    comparisons: dict[str, compare.RunComparison]  # arm label -> base vs that arm
    load_average: float  # 1-minute load average at the end of the trial
    off_cpu_share: float  # the largest median off-CPU share among the trial's runs


def merged(results: list[WorkloadResult]) -> WorkloadResult:
    """One-repetition results of the same arm joined into one result, repetitions renumbered."""
    first = results[0]
    implementations = []
    for impl in first.implementations:
        reps = [r.result_for(impl.key).repetitions[0] for r in results]
        implementations.append(
            replace(impl, repetitions=tuple(replace(rep, rep=i) for i, rep in enumerate(reps)))
        )
    return replace(first, implementations=tuple(implementations))


def off_cpu_share(run: Run) -> float:
    """compare's off-CPU share (median (wall - CPU) / wall), worst implementation of the run. The
    programs are single-threaded and read their input from the page cache, so on an idle CPU it
    is a few per cent; more means the measured CPU was shared with something else."""
    (workload,) = run.workloads
    shares = [
        compare.off_cpu_share(metric_values(impl, workload.throughput))
        for impl in workload.implementations
    ]
    return max(s for s in shares if s is not None)


def gate_rate(
    comparisons: list[compare.RunComparison],
    metrics: tuple[str, ...] = GATED,
    verdict: str = "regressed",
) -> float:
    """Share of comparisons in which any implementation got `verdict` on any of `metrics`."""
    hits = sum(any(flagged(c, m, verdict) for m in metrics) for c in comparisons)
    return hits / len(comparisons)


def summarise(trials: list[Trial]) -> tuple[dict[str, object], list[str]]:
    """Rates and measured changes per arm, overall and per implementation and metric."""
    figures: dict[str, object] = {}
    lines = []
    for label in trials[0].comparisons:
        results = [t.comparisons[label] for t in trials]
        key = "aa" if label == "aa" else f"slowdown_{label[1:-1].split('.')[0]}pct"
        figures[f"{key}_gate_rate"] = gate_rate(results)
        figures[f"{key}_improved_rate"] = gate_rate(results, verdict="improved")
        parts = []
        for m in GATED:
            changes = [x for r in results for x in changes_of(r, m)]
            figures[f"{key}_{m}_rate"] = gate_rate(results, (m,))
            figures[f"{key}_{m}_median_change"] = stats.median(changes)
            figures[f"{key}_{m}_change_min"] = min(changes)
            figures[f"{key}_{m}_change_max"] = max(changes)
            for impl in ("go/default", "rust/default"):
                lang = impl.split("/")[0]
                impl_changes = [
                    c for r in results for c in r.changes if c.metric == m and impl_key(c) == impl
                ]
                figures[f"{key}_{m}_{lang}_rate"] = sum(
                    c.verdict == "regressed" for c in impl_changes
                ) / len(impl_changes)
                figures[f"{key}_{m}_{lang}_changes"] = [round(c.change, 5) for c in impl_changes]
            parts.append(
                f"{m} {figures[f'{key}_{m}_rate']:5.1%}, median change "
                f"{stats.median(changes):+.2%} [{min(changes):+.2%}, {max(changes):+.2%}]"
            )
        name = "A/A" if label == "aa" else "work " + label
        lines.append(
            f"{name:>11}: gate fails {figures[f'{key}_gate_rate']:6.1%} | " + " | ".join(parts)
        )
    # On a quiet machine the threshold, not significance, limits detection: a slowdown is caught
    # reliably when its measured change clears 5 % by 1.645 sigma of the A/A change (one-sided 95 %).
    for m in GATED:
        spread = stats.mad([x for t in trials for x in changes_of(t.comparisons["aa"], m)])
        figures[f"aa_{m}_change_sigma"] = spread
        figures[f"{m}_reliably_caught_estimate"] = compare.DEFAULT_THRESHOLD + 1.645 * spread
        lines.append(
            f"{m}: A/A change sigma (MAD) {spread:.2%} -> a measured change of "
            f">= {compare.DEFAULT_THRESHOLD + 1.645 * spread:.1%} is caught 95 % of the time"
        )
    load = [t.load_average for t in trials]
    quiet = [t for t in trials if t.off_cpu_share <= QUIET_OFF_CPU]
    figures |= {
        "load_average_1min_min": min(load),
        "load_average_1min_median": stats.median(load),
        "load_average_1min_max": max(load),
        "trials_quiet": len(quiet),
        "per_trial_load_average": load,
        "per_trial_off_cpu_share": [t.off_cpu_share for t in trials],
    }
    lines.append(
        f"load average (1 min) {min(load):.2f} .. {max(load):.2f}, median {stats.median(load):.2f};"
        f" {len(quiet)} of {len(trials)} trials with every run's median off-CPU share <= "
        f"{QUIET_OFF_CPU:.0%}"
    )
    if quiet:
        figures["aa_gate_rate_quiet_trials"] = gate_rate([t.comparisons["aa"] for t in quiet])
        last = list(trials[0].comparisons)[-1]
        figures["slowdown_10pct_gate_rate_quiet_trials"] = gate_rate(
            [t.comparisons[last] for t in quiet]
        )
        lines.append(
            f"quiet trials only: A/A gate fails {figures['aa_gate_rate_quiet_trials']:.1%}, "
            f"+10 % caught {figures['slowdown_10pct_gate_rate_quiet_trials']:.1%}"
        )
    return figures, lines


def impl_key(change: compare.MetricChange) -> str:
    return f"{change.lang}/{change.variant}"
