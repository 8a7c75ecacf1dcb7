"""Orchestrate a suite: build, prepare input, warm up, run interleaved repetitions, verify outputs.

Implementations of a workload run interleaved, one repetition of each per round, so slow drift in
the machine hits every side alike; the order within a round follows a balanced Latin square
(schedule.py), so no implementation always runs first or right after the same other one, and each
repetition records its round, slot, predecessor and start time; /proc/stat and the harness's CPU
time are read around the measured rounds (a CpuWindow, for noise.py). Adaptive runs add rounds
until the targeted paired ratios' CIs are narrow enough or a budget runs out (`stop_reason`). A
failing repetition stops that implementation (crashes are rarely transient and its numbers would be
meaningless); every repetition measured so far is kept. Output checksums are
compared against the Go default's: a difference fails the pair (or the variant), never a number.
Results are saved after every workload, so a crash or Ctrl-C later loses nothing.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from harness.analysis.stats import paired_ratio
from harness.analysis.summaries import values_by_round
from harness.build import settings as build_settings
from harness.errors import HarnessError
from harness.measure import cpus as program_cpus
from harness.measure.gctrace import parse_gctrace
from harness.measure.inputs import InputError, prepare_input
from harness.measure.launcher import Executor, leftover_message, stderr_tail
from harness.measure.noise import (
    CpuClock,
    StatReader,
    process_cpu_seconds,
    read_cpu_times,
    read_system_state,
    start_cpu_window,
)
from harness.measure.origin import workload_origin
from harness.measure.schedule import Schedule
from harness.model import (
    BuildRecord,
    Implementation,
    ImplementationResult,
    InputRecord,
    Machine,
    ParamValue,
    ProcessOutcome,
    RaceCheck,
    Repetition,
    RoundsRecord,
    Run,
    RunConfig,
    Status,
    StoppingRule,
    SystemState,
    Topology,
    UnsafeCount,
    Workload,
    WorkloadResult,
    WorkloadTiming,
)
from harness.store.results import LATEST_NAME, SCHEMA_VERSION, load_run, new_run_id, save_run

RESULT_LINE_SHOWN = 160  # characters of a contract-breaking result line quoted in its error
RESULT_FIELDS = {"checksum": str, "items": int, "bytes": int, "work_seconds": (int, float)}
GO_ENV = {"GODEBUG": "gctrace=1"}


class BuildStep(Protocol):
    def build(self, workload: Workload, impl: Implementation) -> BuildRecord: ...


class CorrectnessChecks(Protocol):
    """One workload's correctness checks (measure/race.py CorrectnessChecks), as run_suite uses
    them: which implementations may be measured, and the result with the checks applied."""

    race: tuple[RaceCheck, ...]
    unsafe: tuple[UnsafeCount, ...]

    def workload_error(self) -> str | None: ...

    def measurable(self, workload: Workload) -> Workload: ...

    def applied(
        self, workload: Workload, result: WorkloadResult, builds: Mapping[str, BuildRecord]
    ) -> WorkloadResult: ...

    def failed(
        self, workload: Workload, builds: Mapping[str, BuildRecord], size: str
    ) -> WorkloadResult: ...


class CorrectnessCheck(Protocol):
    """measure/race.py RaceChecker: the checks of one workload, after its builds."""

    def __call__(
        self,
        workload: Workload,
        builds: Mapping[str, BuildRecord],
        config: RunConfig,
        progress: Progress,
    ) -> CorrectnessChecks: ...


def argv_for(
    workload: Workload,
    binary: str,
    params: Mapping[str, object],
    input_record: InputRecord | None,
    port: int | None = None,
    backend: str | None = None,
) -> list[str]:
    """The binary followed by the manifest's args with {placeholders} filled in (no shell);
    `backend` is where a server's back end listens (its {backend})."""
    values = {k: str(v) for k, v in params.items()}
    if backend is not None:
        values["backend"] = backend
    if input_record is not None:
        values["input"] = input_record.path
    if port is not None:
        values["port"] = str(port)
    try:
        return [binary, *(arg.format_map(values) for arg in workload.args)]
    except KeyError as exc:
        raise HarnessError(
            f"{workload.manifest_path}: field 'args' needs a value for {exc}"
        ) from exc


def _reject_non_finite(name: str) -> float:
    # json.loads accepts NaN/Infinity, but the results file is strict JSON (save_run would fail)
    raise ValueError(f"result line contains {name}, which is not a JSON number")


def parse_result_line(stdout: str) -> dict:
    """The binary's one-line JSON result (the last non-empty line of stdout)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("printed nothing on stdout (expected one JSON result line)")
    try:
        result = json.loads(lines[-1], parse_constant=_reject_non_finite)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"last stdout line is not JSON: {lines[-1][:RESULT_LINE_SHOWN]!r}"
        ) from exc
    printed = f"(printed: {lines[-1][:RESULT_LINE_SHOWN]!r})"
    if not isinstance(result, dict):
        raise ValueError(f"result line is not a JSON object {printed}")
    for key, kind in RESULT_FIELDS.items():
        if not isinstance(result.get(key), kind) or isinstance(result.get(key), bool):
            raise ValueError(
                f"result field '{key}' missing or not {getattr(kind, '__name__', 'a number')} "
                f"{printed}"
            )
    extra = result.get("extra", {})
    if not isinstance(extra, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in extra.values()
    ):
        raise ValueError(f"result field 'extra' must be an object of numbers {printed}")
    return result


def _failure(outcome: ProcessOutcome, timeout_seconds: float) -> str | None:
    if outcome.timed_out:
        return f"timed out after {timeout_seconds:g} s (process group killed)"
    if outcome.exit_code < 0:
        try:
            return f"killed by {signal.Signals(-outcome.exit_code).name}"
        except ValueError:  # e.g. a real-time signal, which has no name in the enum
            return f"killed by signal {-outcome.exit_code}"
    if outcome.exit_code != 0:
        return f"exit status {outcome.exit_code}"
    if outcome.leftover_processes:
        return leftover_message(outcome.leftover_processes)
    return None


def to_repetition(
    rep: int,
    lang: str,
    outcome: ProcessOutcome,
    timeout_seconds: float,
    cpus: tuple[int, ...] | None = None,
    told: int | None = None,
) -> Repetition:
    """Turn what the executor saw into a repetition; failures keep their raw figures and say why.
    `cpus`: what the program was given and `told` the workers it was told to use (default one
    per CPU); one that ran otherwise fails (cpus.mismatch)."""
    trace = parse_gctrace(outcome.stderr) if lang == "go" else None
    base = Repetition(
        cpus=cpus,
        allowed_cpus=outcome.allowed_cpus,
        threads=outcome.threads,
        rep=rep,
        ok=False,
        wall_seconds=outcome.wall_seconds,
        user_seconds=outcome.user_seconds,
        sys_seconds=outcome.sys_seconds,
        peak_rss_bytes=outcome.peak_rss_bytes,
        exit_code=outcome.exit_code,
        gc_cycles=trace.cycles if trace else None,
        samples=outcome.samples,
        stderr_tail=stderr_tail(outcome.stderr),
    )
    failure = _failure(outcome, timeout_seconds)
    if failure:
        tail = base.stderr_tail.strip().splitlines()
        return replace(base, error=failure + (f": {tail[-1]}" if tail else ""))
    if trace and trace.unrecognised_lines:
        return replace(base, error=f"unrecognised gctrace line: {trace.unrecognised_lines[0]!r}")
    try:
        result = parse_result_line(outcome.stdout)
    except ValueError as exc:
        return replace(base, error=str(exc))
    extra = {k: float(v) for k, v in result.get("extra", {}).items()}
    if wrong := program_cpus.mismatch(cpus, extra, outcome.allowed_cpus, told):
        return replace(base, extra=extra, error=wrong)
    return replace(
        base,
        ok=True,
        work_seconds=float(result["work_seconds"]),
        items=result["items"],
        bytes=result["bytes"],
        checksum=result["checksum"],
        extra=extra,
    )


def verify_checksums(
    workload: Workload, results: Sequence[ImplementationResult]
) -> tuple[str | None, list[ImplementationResult], str | None]:
    """Check every implementation printed one checksum, equal to the reference (Go default's).

    Returns the reference, the results with mismatching ones marked, and the workload-level error
    (set when the two defaults disagree: then no figure of the pair may be reported)."""

    def checksums(r: ImplementationResult) -> set[str]:
        return {rep.checksum for rep in r.repetitions if rep.ok and rep.checksum is not None}

    ok_results = {r.key: r for r in results if r.status == "ok"}
    reference_impl = next(
        (ok_results[k] for k in ("go/default", "rust/default") if k in ok_results), None
    )
    if reference_impl is None:
        return None, list(results), None
    reference_set = checksums(reference_impl)
    if len(reference_set) != 1:
        reference = None
    else:
        (reference,) = reference_set
    marked = []
    workload_error = None
    for r in results:
        seen = checksums(r)
        if r.status == "ok" and (reference is None or seen != {reference}):
            shown = ", ".join(sorted(seen))
            error = (
                f"checksum mismatch: {r.key} printed {shown}, "
                f"{reference_impl.key} printed {', '.join(sorted(reference_set))}"
            )
            r = replace(r, status="checksum_mismatch", error=error)
            if r.is_default or reference is None:
                workload_error = error
        marked.append(r)
    return reference, marked, workload_error


@dataclass(frozen=True)
class RoundProgress:
    """What the live progress display shows after each measured round of a batch workload."""

    workload: str
    rounds_done: int
    max_rounds: int  # the budget (== rounds_done at the end of a fixed run)
    ci_half_width: float | None  # the widest targeted CI so far, relative
    target_ci_half_width: float | None
    elapsed_seconds: float
    max_seconds: float | None  # the workload's budget (applies after the minimum)
    block_end: bool  # a balanced block just completed (where the stopping rule is checked)
    stop_reason: str | None = None  # set on the workload's last round
    min_rounds: int = 0  # rounds run whatever the budget says

    @property
    def seconds_left(self) -> float | None:
        """At most this long to go: the rounds left at the mean round time so far, capped by the
        time budget, but never below what the minimum of rounds still needs (an adaptive run may
        stop sooner than this, when its target is reached)."""
        if self.stop_reason is not None:
            return 0.0
        if self.rounds_done == 0:
            return None
        per_round = self.elapsed_seconds / self.rounds_done
        by_rounds = (self.max_rounds - self.rounds_done) * per_round
        if self.max_seconds is None:
            return by_rounds
        minimum = max(0, self.min_rounds - self.rounds_done) * per_round
        return max(minimum, min(by_rounds, self.max_seconds - self.elapsed_seconds))


Progress = Callable[[str | RoundProgress], None]
# The ratios the stopping rule watches (work time where the binaries report it).
STOPPING_METRICS = ("wall_seconds", "cpu_seconds", "work_seconds")


def workload_budget(rule: StoppingRule, programs: int) -> float:
    """A workload's measuring budget in seconds: the rule's per-program seconds times the programs
    in its round (older files: the rule's seconds for the whole workload)."""
    return rule.max_seconds * programs if rule.budget_per == "program" else rule.max_seconds


def default_targets(workload: Workload) -> tuple[tuple[str, str], ...]:
    """`harness run` aims at the Go/Rust ratio of the default pair."""
    keys = {impl.key for impl in workload.implementations}
    pair = ("go/default", "rust/default")
    return (pair,) if set(pair) <= keys else ()


def widest_ci(
    reps: Mapping[str, Sequence[Repetition]],
    targets: Sequence[tuple[str, str]],
    throughput: str,
    skip: Sequence[str] = (),
) -> tuple[float | None, str | None]:
    """The widest relative CI half-width among the targeted paired ratios, and which it is.
    Infinite when a ratio has too few rounds for a CI; (None, None) when nothing is targeted."""
    widest: tuple[float | None, str | None] = (None, None)
    for numerator, denominator in targets:
        if numerator in skip or denominator in skip:
            continue
        for metric in STOPPING_METRICS:
            top = values_by_round(reps[numerator], metric, throughput)
            bottom = values_by_round(reps[denominator], metric, throughput)
            if metric == "work_seconds" and not (top or bottom):
                continue  # not reported by these binaries
            paired = paired_ratio(top, bottom)
            width = paired.half_width if paired else None
            width = math.inf if width is None else width
            if widest[0] is None or width > widest[0]:
                widest = (width, f"{metric} {numerator} / {denominator}")
    return widest


def stop_reason(
    config: RunConfig,
    rounds_done: int,
    block: int,
    widest: float | None,
    elapsed: float,
    last_round_seconds: float,
    budget_seconds: float | None = None,
) -> str | None:
    """Why to stop after `rounds_done` rounds, or None to go on.

    Fixed runs stop at `repetitions`. Adaptive runs never stop before `repetitions`, the minimum
    the statistics need, whatever a budget says (power first: a gate that stopped at 6 of its 20
    rounds could call nothing). After it, the target is checked only at the end of a balanced
    block (so every implementation has had every slot equally often); the budgets stop anywhere:
    max rounds, or when one more round of the last round's length would pass `budget_seconds`
    (the workload's budget, workload_budget; the rule's own seconds when not given)."""
    rule = config.stopping
    if rule is None:
        return "fixed" if rounds_done >= config.repetitions else None
    if rounds_done < config.repetitions:
        return None
    if rounds_done % block == 0:
        if widest is None:
            return "fixed"  # nothing to aim at (no pair left): the minimum is the run
        if widest <= rule.target_ci_half_width:
            return "target reached"
    if rounds_done >= rule.max_rounds:
        return "max rounds"
    budget = rule.max_seconds if budget_seconds is None else budget_seconds
    if elapsed + last_round_seconds > budget:
        return "max seconds"
    return None


def check_budget_fits(workload: str, config: RunConfig, programs: int, round_seconds: float) -> str:
    """What the rounds will take at `round_seconds` a round (the warm-up's), in words for the
    progress line. A budget the user chose that cannot fit the minimum of rounds is an error
    raised before any measured round: stopping early would leave a gate that cannot call
    anything, and running past it would ignore the option."""
    rule = config.stopping
    least = config.repetitions * round_seconds
    if rule is None:
        return (
            f"{workload}: {config.repetitions} rounds of ≈ {round_seconds:.1f} s ≈ {_span(least)}"
        )
    budget = workload_budget(rule, programs)
    most = min(rule.max_rounds * round_seconds, max(budget, least) + round_seconds)
    if rule.budget_given and least > budget:
        raise HarnessError(
            f"--max-seconds: {rule.max_seconds:g} s per program ({budget:.3g} s for {workload}'s "
            f"{programs} programs) cannot fit the minimum of {config.repetitions} rounds "
            f"(≈ {least:.0f} s at the warm-up's {round_seconds:.1f} s a round); raise "
            "--max-seconds or lower --min-rounds"
        )
    line = (
        f"{workload}: a round of {programs} programs ≈ {round_seconds:.1f} s (warm-up); at least "
        f"{config.repetitions} rounds ≈ {_span(least)}, at most ≈ {_span(most)} "
        f"(budget {rule.max_seconds:g} s per program = {budget:.0f} s, or {rule.max_rounds} rounds)"
    )
    if least > budget:
        line += f"; the minimum of {config.repetitions} rounds comes before the budget"
    return line


def measured_round_seconds(folders: Sequence[Path], workload: str, size: str) -> float | None:
    """Seconds a program took per round in the newest stored run (of `folders`' results files,
    newest first, the first ten) that measured `workload` at `size` in adaptive rounds: what a
    round will cost before anything is built. None without one."""
    files = sorted(
        (f for folder in folders for f in folder.glob("*.json") if f.name != LATEST_NAME),
        key=lambda f: f.name,
        reverse=True,
    )
    for path in files[:10]:
        try:
            stored = load_run(path)
        except HarnessError:
            continue
        if stored.config.size != size:
            continue
        for result in stored.workloads:
            if result.name == workload and result.rounds and result.rounds.rounds:
                programs = len(result.implementations) or 1
                return result.rounds.elapsed_seconds / result.rounds.rounds / programs
    return None


def check_budgets_before_building(
    config: RunConfig, workloads: Sequence[Workload], folders: Sequence[Path]
) -> None:
    """A --max-seconds the user chose that cannot fit the minimum of rounds, refused before any
    build where an earlier run of the workload says what a round costs (otherwise after its
    warm-up round, check_budget_fits)."""
    rule = config.stopping
    if rule is None or not rule.budget_given or rule.budget_per != "program":
        return
    for workload in workloads:
        if workload.kind != "batch":
            continue
        per_program = measured_round_seconds(folders, workload.name, config.size)
        if per_program is not None and config.repetitions * per_program > rule.max_seconds:
            raise HarnessError(
                f"--max-seconds: {rule.max_seconds:g} s per program cannot fit the minimum of "
                f"{config.repetitions} rounds for {workload.name} (≈ "
                f"{config.repetitions * per_program:.0f} s a program at the {per_program:.2f} s a "
                "round its last stored run took); raise --max-seconds or lower --min-rounds"
            )


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def order_words(config: RunConfig) -> str:
    return f"{config.order} order" + (", reversed" if config.reverse else "")


def rounds_plan(config: RunConfig) -> str:
    """What the rounds of a batch workload will be, in words, for the progress line."""
    rule = config.stopping
    if rule is None:
        return f"{config.warmups} warm-up, {config.repetitions} rounds, {order_words(config)}"
    per = " per program" if rule.budget_per == "program" else ""
    return (
        f"{config.warmups} warm-up, at least {config.repetitions} rounds until the CIs are within "
        f"±{rule.target_ci_half_width * 100:.1f} % (at most {rule.max_rounds} rounds or "
        f"{rule.max_seconds:g} s{per} after the minimum), {order_words(config)}"
    )


def run_batch_workload(
    workload: Workload,
    builds: Mapping[str, BuildRecord],
    input_record: InputRecord | None,
    config: RunConfig,
    executor: Executor,
    progress: Progress = lambda _: None,
    targets: Sequence[tuple[str, str]] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    read_stat: StatReader = read_cpu_times,
    cpu_clock: CpuClock = process_cpu_seconds,
) -> WorkloadResult:
    """Warm-up rounds, then measured rounds in the schedule's order until `stop_reason` says so.
    `targets` are the (numerator, denominator) keys whose paired ratios the stopping rule watches
    (default: Go/Rust of the default pair). /proc/stat (`read_stat`) and the harness's CPU time
    (`cpu_clock`) are read around the measured rounds, for noise.py."""
    params = workload.params[config.size]
    targets = default_targets(workload) if targets is None else tuple(targets)
    impls = workload.implementations
    reps: dict[str, list[Repetition]] = {impl.key: [] for impl in impls}
    errors: dict[str, str] = {}
    beyond = {i.key: why for i in impls if (why := i.beyond_limits(params))}
    cpus = workload.cpus if workload.cpus is not None else config.cpu_affinity
    for impl in impls:
        if not builds[impl.key].ok or impl.key in beyond:
            errors[impl.key] = beyond.get(impl.key) or builds[impl.key].error or "build failed"
            progress(f"{workload.name} {impl.key}: {errors[impl.key]}")
    schedule = Schedule(len(impls), config.order, config.seed, workload.name, config.reverse)
    previous: list[str | None] = [None]

    def run_round(round_index: int, t0: float) -> None:
        position = 0
        for i in schedule.round_order(round_index):
            impl = impls[i]
            if impl.key in errors:
                continue
            argv = argv_for(workload, builds[impl.key].binary_path or "", params, input_record)
            started = clock() - t0
            env = {
                **(GO_ENV if impl.lang == "go" else {}),
                **program_cpus.environment(impl.lang, cpus),
                **dict(impl.env),
            }
            outcome = executor.run(
                argv,
                env=env,
                cpus=cpus,
                timeout_seconds=config.timeout_seconds,
                sample_interval_seconds=config.sample_interval_seconds,
            )
            repetition = replace(
                to_repetition(
                    round_index,
                    impl.lang,
                    outcome,
                    config.timeout_seconds,
                    cpus,
                    program_cpus.told_workers(env, cpus),
                ),
                position=position,
                predecessor=previous[0],
                started_at_seconds=started,
            )
            previous[0] = impl.key
            position += 1
            if round_index >= 0:
                reps[impl.key].append(repetition)
            if not repetition.ok:
                phase = "warm-up" if round_index < 0 else f"repetition {round_index + 1}"
                errors[impl.key] = f"{phase} failed: {repetition.error}"
                progress(f"{workload.name} {impl.key}: {errors[impl.key]}")

    warmup_round: float | None = None
    for warmup in range(config.warmups):
        started_warmup = clock()
        run_round(-1 - warmup, started_warmup)
        warmup_round = clock() - started_warmup
    rule = config.stopping
    budget = workload_budget(rule, len(impls)) if rule else None
    if warmup_round is not None and not all(impl.key in errors for impl in impls):
        progress(check_budget_fits(workload.name, config, len(impls), warmup_round))
    close_window = start_cpu_window(read_stat, cpu_clock)
    t0 = clock()
    rounds_done, reason, widest = 0, None, (None, None)
    while reason is None:
        round_start = clock()
        run_round(rounds_done, t0)
        rounds_done += 1
        now = clock()
        block_end = rounds_done % schedule.block == 0
        if block_end or rule is None or rounds_done >= config.repetitions:
            widest = widest_ci(reps, targets, workload.throughput, skip=tuple(errors))
        reason = stop_reason(
            config, rounds_done, schedule.block, widest[0], now - t0, now - round_start, budget
        )
        if all(impl.key in errors for impl in impls):
            reason = "failed"
        progress(
            RoundProgress(
                workload=workload.name,
                rounds_done=rounds_done,
                max_rounds=rule.max_rounds if rule else config.repetitions,
                ci_half_width=widest[0],
                target_ci_half_width=rule.target_ci_half_width if rule else None,
                elapsed_seconds=now - t0,
                max_seconds=budget,
                min_rounds=config.repetitions,
                block_end=block_end or reason is not None,
                stop_reason=reason,
            )
        )
    window = close_window()
    reached = widest[0] if widest[0] is not None and math.isfinite(widest[0]) else None
    rounds = RoundsRecord(
        rounds=rounds_done,
        block=schedule.block,
        reason=reason,
        target_ci_half_width=rule.target_ci_half_width if rule else None,
        reached_ci_half_width=reached,
        widest=widest[1],
        elapsed_seconds=clock() - t0,
        min_rounds=config.repetitions,
        budget_seconds=budget,
        warmup_round_seconds=warmup_round,
    )

    results = [
        ImplementationResult(
            lang=impl.lang,
            variant=impl.variant,
            library=impl.library,
            status="ok"
            if impl.key not in errors
            else "skipped"
            if impl.key in beyond
            else not_run_status(builds[impl.key]),
            build=builds[impl.key],
            repetitions=tuple(reps[impl.key]),
            warmups_run=config.warmups,
            error=errors.get(impl.key),
        )
        for impl in impls
    ]
    reference, results, mismatch = verify_checksums(workload, results)
    for r in results:
        if r.status == "checksum_mismatch":
            progress(f"{workload.name}: {r.error}")
    return conclude_workload(
        workload,
        results,
        input_record,
        params,
        reference,
        mismatch,
        rounds=rounds,
        cpu_window=window,
        cpus=cpus,
        shares_cpus_with_harness=shares_cpus_with_harness(cpus),
    )


def not_run_status(build: BuildRecord) -> Status:
    """The status of an implementation that did not complete its runs: "skipped" when it was
    deliberately not built (a go+rust hybrid without cgo), "build_failed" when its build failed,
    else "failed"."""
    if build.skip_reason is not None:
        return "skipped"
    return "build_failed" if not build.ok else "failed"


def conclude_workload(
    workload: Workload,
    results: Sequence[ImplementationResult],
    input_record: InputRecord | None,
    params: Mapping[str, ParamValue],
    reference: str | None,
    mismatch: str | None,
    **extra,
) -> WorkloadResult:
    """The workload's verdict: diverging defaults fail it loudly; a failed default fails it too
    (the pair cannot be compared); a failed or diverging variant only marks itself."""
    failed_defaults = [r for r in results if r.is_default and r.status != "ok"]
    status = "ok"
    error = None
    if mismatch:
        status, error = "checksum_mismatch", mismatch
    elif failed_defaults:
        status = "failed"
        error = "; ".join(f"{r.key}: {r.error}" for r in failed_defaults)
    return WorkloadResult(
        name=workload.name,
        category=workload.category,
        kind=workload.kind,
        description=workload.description,
        throughput=workload.throughput,
        status=status,
        implementations=tuple(results),
        input=input_record,
        params=dict(params),
        reference_checksum=reference,
        error=error,
        cpu_features=workload.cpu_features,
        published=workload.published,
        **extra,
    )


def input_failed(
    workload: Workload, builds: Mapping[str, BuildRecord], error: str, size: str
) -> WorkloadResult:
    """A workload whose input could not be prepared: failed, nothing measured, the reason kept."""
    results = [
        ImplementationResult(
            lang=impl.lang,
            variant=impl.variant,
            library=impl.library,
            status=not_run_status(builds[impl.key]),
            build=builds[impl.key],
            repetitions=(),
            warmups_run=0,
            error=builds[impl.key].error if not builds[impl.key].ok else "input not prepared",
        )
        for impl in workload.implementations
    ]
    return replace(
        conclude_workload(workload, results, None, workload.params[size], None, None),
        status="failed",
        error=error,
    )


def build_all(workload: Workload, builder: BuildStep, progress: Progress) -> dict[str, BuildRecord]:
    """Every implementation's build, and every back end's (keyed "rust/backend-NAME")."""
    builds = {}
    programs = (*workload.implementations, *(b.implementation for b in workload.backends))
    for impl in programs:
        record = builder.build(workload, impl)
        state = (
            "cached"
            if record.cached
            else (f"built in {record.build_seconds:.1f} s" if record.ok else record.error)
        )
        progress(f"build {workload.name} {impl.key}: {state}")
        builds[impl.key] = record
    return builds


@contextmanager
def settings_warned(progress: Progress):
    """Collects build records (the yielded list) and, when the block ends (interrupted too),
    warns once about each setting that can change code, naming every build it touched
    (harness/build/settings.py): a warning per build would be read past, and settings that
    change no code are left to the report's methodology."""
    records: list[BuildRecord] = []
    try:
        yield records
    finally:
        for line in build_settings.warnings(records):
            progress(line)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped `run_suite`; raised once what was measured is saved, if anything
    was (`saved` None: nothing measured, nothing written), so the message can say which."""

    def __init__(self, saved: Path | None, measured: int):
        super().__init__()
        self.saved = saved
        self.measured = measured

    def __str__(self) -> str:
        if self.saved is None:
            return "interrupted before any workload was measured; nothing saved"
        return (
            f"interrupted; the {self.measured} workload(s) measured so far are saved in "
            f"{self.saved} (status interrupted)"
        )


@contextmanager
def interrupts_held(progress: Progress):
    """SIGINT and SIGTERM are noted, not raised, inside the block: for steps that must not stop
    half-way, like the final save (the run file says complete but latest.json does not). A
    signal noted is reported through `progress`. Python runs signal handlers in the main thread
    only, so elsewhere there is nothing to hold."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[str] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {
        s: signal.signal(s, lambda signum, _: noted.append(signal.Signals(signum).name))
        for s in held
    }
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        if noted:
            progress(f"{', '.join(noted)} held until the results file was written")


def _save_stopped(
    runs: Sequence[Run], save: Callable[[Run], Path], progress: Progress
) -> Path | None:
    """Save runs that stopped early as `interrupted`; nothing at all if they measured nothing.
    The path of the last one saved (for `harness run`, its only run)."""
    if not runs or not runs[0].workloads:
        return None
    with interrupts_held(progress):  # a second Ctrl-C must not cut this save short
        paths = [save(replace(r, status="interrupted", finished_at=now_iso())) for r in runs]
    return paths[-1]


def fill_runs(
    runs: Sequence[Run],
    workloads: Sequence[Workload],
    measure: Callable[[Workload], Sequence[WorkloadResult]],
    save: Callable[[Run], Path],
    progress: Progress,
) -> tuple[tuple[Run, ...], tuple[Path, ...]]:
    """The one suite loop (`harness run` fills one run, `harness ab` its base and head): measure
    every workload in turn, add its results (one per run) and save every run after each workload,
    so a crash later loses nothing (store.py says why nothing is written before the first). Runs
    stopped early are saved `interrupted`, and RunInterrupted or the error is raised; a
    HarnessError then says where the partial run is."""
    try:
        for workload in workloads:
            results = measure(workload)
            runs = tuple(
                replace(r, workloads=(*r.workloads, result))
                for r, result in zip(runs, results, strict=True)
            )
            for r in runs:
                save(r)
        with interrupts_held(progress):
            runs = tuple(replace(r, status="complete", finished_at=now_iso()) for r in runs)
            paths = tuple(save(r) for r in runs)
    except KeyboardInterrupt as exc:
        measured = len(runs[0].workloads) if runs else 0
        raise RunInterrupted(_save_stopped(runs, save, progress), measured) from exc
    except HarnessError as exc:
        saved = _save_stopped(runs, save, progress)
        if saved is None:
            raise
        raise HarnessError(
            f"{exc} (the {len(runs[0].workloads)} workload(s) measured before it are saved in "
            f"{saved}, status interrupted)"
        ) from exc
    except Exception:
        _save_stopped(runs, save, progress)  # a bug: keep what was measured; traceback
        raise
    return runs, paths


def input_or_failure(
    workload: Workload, size: str, cache_dir: Path, progress: Progress
) -> InputRecord | str:
    """The workload's input, prepared (or None when it takes none), or why it could not be: the
    workload then fails with that reason and the suite goes on."""
    try:
        return prepare_input(workload, size, cache_dir / "inputs")
    except InputError as exc:
        progress(f"{workload.name}: {exc}")
        return str(exc)


def run_suite(
    workloads: Sequence[Workload],
    config: RunConfig,
    machine: Machine,
    builder: BuildStep,
    executor: Executor,
    results_dir: Path,
    cache_dir: Path,
    progress: Progress = lambda _: None,
    run_server: Callable[..., WorkloadResult] | None = None,
    system_state: Callable[[], SystemState | None] = read_system_state,
    read_stat: StatReader = read_cpu_times,
    cpu_clock: CpuClock = process_cpu_seconds,
    race_check: CorrectnessCheck | None = None,
    topology: Topology | None = None,
) -> tuple[Run, Path]:
    """Measure every workload in turn through fill_runs, saved after each one (`topology`: where
    load came from, with --hosts). The machine's
    state is read once, at the start; `read_stat` and `cpu_clock` go to the batch runner (a server
    runner reads its own). `race_check` (measure/race.py RaceChecker) runs after a workload's
    builds and before it is measured: an implementation the race detector caught is not measured
    and fails, a default caught fails the workload; its records go on the workload's result."""
    run = Run(
        schema_version=SCHEMA_VERSION,
        run_id=new_run_id(),
        started_at=now_iso(),
        finished_at=None,
        status="running",
        machine=machine,
        config=config,
        system=system_state(),
        topology=topology,
    )
    run_batch = partial(run_batch_workload, read_stat=read_stat, cpu_clock=cpu_clock)

    def measure(workload: Workload) -> tuple[WorkloadResult]:
        clock = time.perf_counter()
        builds = build_all(workload, builder, progress)
        built.extend(builds.values())
        built_at = time.perf_counter()
        checks = race_check(workload, builds, config, progress) if race_check else None
        checked_at = time.perf_counter()
        input_record = input_or_failure(workload, config.size, cache_dir, progress)
        input_at = time.perf_counter()
        if isinstance(input_record, str):
            result = input_failed(workload, builds, input_record, config.size)
        elif checks is not None and checks.workload_error():
            progress(f"{workload.name}: not measured: {checks.workload_error()}")
            result = checks.failed(workload, builds, config.size)
        else:
            if workload.kind == "server":
                if run_server is None:
                    raise HarnessError(f"{workload.name}: server workloads need a load generator")
                runner = run_server
                progress(f"run {workload.name} ({config.size}: saturation probe, then fixed rates)")
            else:
                runner = run_batch
                progress(f"run {workload.name} ({config.size}: {rounds_plan(config)})")
            measured = workload if checks is None else checks.measurable(workload)
            result = runner(measured, builds, input_record, config, executor, progress)
            if checks is not None:
                result = checks.applied(workload, result, builds)
        if checks is not None and isinstance(input_record, str):
            result = replace(result, race_checks=checks.race, unsafe_counts=checks.unsafe)
        timing = WorkloadTiming(
            build_seconds=built_at - clock,
            check_seconds=checked_at - built_at,
            input_seconds=input_at - checked_at,
            measure_seconds=time.perf_counter() - input_at,
        )
        return (
            replace(
                result,
                origin=workload_origin(workload),
                sweep=workload.sweep_point,
                timing=timing,
            ),
        )

    with settings_warned(progress) as built:
        (run,), (path,) = fill_runs(
            (run,), workloads, measure, lambda r: save_run(r, results_dir), progress
        )
    return run, path


def shares_cpus_with_harness(cpus: tuple[int, ...] | None) -> bool:
    """Whether this process (pinned by now, when it pins itself) may run on a measured CPU: then
    its sampling and bookkeeping compete with the program there (always so when unpinned)."""
    return cpus is None or bool(set(cpus) & os.sched_getaffinity(0))


def harness_cpus_for(measured: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """Keep the harness off the measured CPUs when there are others to use."""
    if measured is None:
        return None
    others = tuple(sorted(os.sched_getaffinity(0) - set(measured)))
    return others or None
