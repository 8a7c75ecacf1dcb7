"""Orchestrate a suite: build, prepare input, warm up, run interleaved repetitions, verify outputs.

Implementations of a workload run interleaved (Go, Rust, Go, Rust ...) so slow drift in the machine
hits every side alike. A failing repetition stops that implementation (crashes are rarely transient
and its numbers would be meaningless); every repetition measured so far is kept. Output checksums are
compared against the Go default's: a difference fails the pair (or the variant), never a number.
Results are saved after every workload, so a crash or Ctrl-C later loses nothing.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError
from harness.gctrace import parse_gctrace
from harness.inputs import prepare_input
from harness.measure import STDERR_TAIL_CHARS, Executor, leftover_message
from harness.model import (
    BuildRecord,
    Implementation,
    ImplementationResult,
    InputRecord,
    Machine,
    ParamValue,
    ProcessOutcome,
    Repetition,
    Run,
    RunConfig,
    Workload,
    WorkloadResult,
)
from harness.store import SCHEMA_VERSION, new_run_id, save_run

Progress = Callable[[str], None]
RESULT_FIELDS = {"checksum": str, "items": int, "bytes": int, "work_seconds": (int, float)}
GO_ENV = {"GODEBUG": "gctrace=1"}


class BuildStep(Protocol):
    def build(self, workload: Workload, impl: Implementation) -> BuildRecord: ...


def argv_for(
    workload: Workload,
    binary: str,
    params: Mapping[str, object],
    input_record: InputRecord | None,
    port: int | None = None,
) -> list[str]:
    """The binary followed by the manifest's args with {placeholders} filled in (no shell)."""
    values = {k: str(v) for k, v in params.items()}
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
        raise ValueError(f"last stdout line is not JSON: {lines[-1][:120]!r}") from exc
    if not isinstance(result, dict):
        raise ValueError("result line is not a JSON object")
    for key, kind in RESULT_FIELDS.items():
        if not isinstance(result.get(key), kind) or isinstance(result.get(key), bool):
            raise ValueError(
                f"result field '{key}' missing or not {getattr(kind, '__name__', 'a number')}"
            )
    extra = result.get("extra", {})
    if not isinstance(extra, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in extra.values()
    ):
        raise ValueError("result field 'extra' must be an object of numbers")
    return result


def _stderr_tail(stderr: str) -> str:
    """The end of stderr without GC trace lines, which would drown an error message."""
    lines = [line for line in stderr.splitlines() if not line.startswith("gc ")]
    return "\n".join(lines)[-STDERR_TAIL_CHARS:]


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
    rep: int, lang: str, outcome: ProcessOutcome, timeout_seconds: float
) -> Repetition:
    """Turn what the executor saw into a repetition; failures keep their raw figures and say why."""
    trace = parse_gctrace(outcome.stderr) if lang == "go" else None
    base = Repetition(
        rep=rep,
        ok=False,
        wall_seconds=outcome.wall_seconds,
        user_seconds=outcome.user_seconds,
        sys_seconds=outcome.sys_seconds,
        peak_rss_bytes=outcome.peak_rss_bytes,
        exit_code=outcome.exit_code,
        gc_cycles=trace.cycles if trace else None,
        samples=outcome.samples,
        stderr_tail=_stderr_tail(outcome.stderr),
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
    return replace(
        base,
        ok=True,
        work_seconds=float(result["work_seconds"]),
        items=result["items"],
        bytes=result["bytes"],
        checksum=result["checksum"],
        extra={k: float(v) for k, v in result.get("extra", {}).items()},
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


def run_batch_workload(
    workload: Workload,
    builds: Mapping[str, BuildRecord],
    input_record: InputRecord | None,
    config: RunConfig,
    executor: Executor,
    progress: Progress = lambda _: None,
    counterbalance: bool = False,
) -> WorkloadResult:
    params = workload.params[config.size]
    reps: dict[str, list[Repetition]] = {impl.key: [] for impl in workload.implementations}
    errors: dict[str, str] = {}
    for impl in workload.implementations:
        if not builds[impl.key].ok:
            errors[impl.key] = builds[impl.key].error or "build failed"
            progress(f"{workload.name} {impl.key}: {errors[impl.key]}")

    def run_once(impl: Implementation, rep: int) -> Repetition:
        argv = argv_for(workload, builds[impl.key].binary_path or "", params, input_record)
        outcome = executor.run(
            argv,
            env=GO_ENV if impl.lang == "go" else {},
            cpus=config.cpu_affinity,
            timeout_seconds=config.timeout_seconds,
            sample_interval_seconds=config.sample_interval_seconds,
        )
        return to_repetition(rep, impl.lang, outcome, config.timeout_seconds)

    rounds = [(-1 - w) for w in range(config.warmups)] + list(range(config.repetitions))
    for rep in rounds:
        order = workload.implementations
        if counterbalance and rep % 2:
            order = tuple(reversed(order))  # ABBA: neither side always runs right after the other
        for impl in order:  # interleaved: go, rust, go, rust ...
            if impl.key in errors:
                continue
            repetition = run_once(impl, rep)
            if rep >= 0:
                reps[impl.key].append(repetition)
            if not repetition.ok:
                phase = "warm-up" if rep < 0 else f"repetition {rep + 1}"
                errors[impl.key] = f"{phase} failed: {repetition.error}"
                progress(f"{workload.name} {impl.key}: {errors[impl.key]}")

    results = [
        ImplementationResult(
            lang=impl.lang,
            variant=impl.variant,
            library=impl.library,
            status="ok"
            if impl.key not in errors
            else ("build_failed" if not builds[impl.key].ok else "failed"),
            build=builds[impl.key],
            repetitions=tuple(reps[impl.key]),
            warmups_run=config.warmups,
            error=errors.get(impl.key),
        )
        for impl in workload.implementations
    ]
    reference, results, mismatch = verify_checksums(workload, results)
    for r in results:
        if r.status == "checksum_mismatch":
            progress(f"{workload.name}: {r.error}")
    return conclude_workload(workload, results, input_record, params, reference, mismatch)


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
        **extra,
    )


def build_all(workload: Workload, builder: BuildStep, progress: Progress) -> dict[str, BuildRecord]:
    builds = {}
    for impl in workload.implementations:
        record = builder.build(workload, impl)
        state = (
            "cached"
            if record.cached
            else (f"built in {record.build_seconds:.1f} s" if record.ok else record.error)
        )
        progress(f"build {workload.name} {impl.key}: {state}")
        builds[impl.key] = record
    return builds


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
) -> tuple[Run, Path]:
    """Measure every workload in turn, saving the results file after each one."""
    run = Run(
        schema_version=SCHEMA_VERSION,
        run_id=new_run_id(),
        started_at=now_iso(),
        finished_at=None,
        status="running",
        machine=machine,
        config=config,
    )
    save_run(run, results_dir)
    try:
        for workload in workloads:
            builds = build_all(workload, builder, progress)
            input_record = prepare_input(workload, config.size, cache_dir / "inputs")
            if workload.kind == "server":
                if run_server is None:
                    raise HarnessError(f"{workload.name}: server workloads need a load generator")
                runner = run_server
                progress(f"run {workload.name} ({config.size}: saturation probe, then fixed rates)")
            else:
                runner = run_batch_workload
                progress(
                    f"run {workload.name} ({config.size}: {config.warmups} warm-up, "
                    f"{config.repetitions} repetitions, interleaved)"
                )
            result = runner(workload, builds, input_record, config, executor, progress)
            run = replace(run, workloads=(*run.workloads, result))
            save_run(run, results_dir)
    except KeyboardInterrupt:
        run = replace(run, status="interrupted", finished_at=now_iso())
        save_run(run, results_dir)
        raise
    run = replace(run, status="complete", finished_at=now_iso())
    return run, save_run(run, results_dir)


def harness_cpus_for(measured: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """Keep the harness off the measured CPUs when there are others to use."""
    if measured is None:
        return None
    others = tuple(sorted(os.sched_getaffinity(0) - set(measured)))
    return others or None
