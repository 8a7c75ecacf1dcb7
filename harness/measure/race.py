"""Correctness as the essay frames it: Go's race detector on each concurrent Go program, and what the
Rust side's race-freedom rests on, counted.

Go: each Go implementation of a concurrent workload (`is_concurrent`) is built once more with
`go build -race` (RACE_BUILD, its own cache slot; the measured binary stays the normal build) and
run once at quick size under GORACE=halt_on_error=1: a batch program with the quick parameters
and the quick input, through the measuring executor; a server through the servers' own lifecycle
with a short closed-loop phase of the manifest's streams (harness/servers/race.py). The first
"WARNING: DATA RACE" report in its stderr fails the implementation (a default's fails the
workload) before anything is measured, so no figure of a racy program is reported. The detector
sees only the code paths that run exercised: "clean" means no race on them, not none at all.
Without cgo (CGO_ENABLED=0, no C compiler) the check is "not run" with the reason, never clean.

Rust: there is no run-time check to run. Safe Rust code cannot race on memory because the
compiler refuses to share a value between threads unless its type is Send/Sync; the guarantee
stops at `unsafe`, so each Rust implementation's own `unsafe` is counted (operations.count_unsafe
over the files the build's line counter counts, or cargo's dep-info for the binary).
Dependencies are not counted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from harness.build.builder import Builder, BuildFlavour, cargo_target_dir, language_root
from harness.build.operations import ProfileError, count_unsafe, rust_sources
from harness.measure import cpus as program_cpus
from harness.measure.inputs import InputError, prepare_input
from harness.measure.launcher import Executor, stderr_tail
from harness.measure.runner import (
    GO_ENV,
    BuildStep,
    Progress,
    argv_for,
    conclude_workload,
    not_run_status,
)
from harness.model import (
    BuildRecord,
    Implementation,
    ImplementationResult,
    RaceCheck,
    RunConfig,
    UnsafeCount,
    Workload,
    WorkloadResult,
)

# `go build -race` needs cgo (the race runtime is linked with the C toolchain).
RACE_BUILD = BuildFlavour(
    name="race", env={"CGO_ENABLED": "1"}, lang="go", flags=("-race",), needs_cgo=True
)
RACE_EXIT_CODE = 66  # GORACE's exitcode: the detector's, told apart from the program's own
# Stop at the first race (its report is what the record quotes) rather than run on with it.
RACE_ENV = {"GORACE": f"halt_on_error=1 exitcode={RACE_EXIT_CODE}"}
# A race run is not a measurement: its goroutines should run in parallel, where they can race.
# The detector sees a race only between accesses no synchronisation orders, and every fd read and
# write is such an order in race builds (internal/poll's ioSync): with one P a handler rarely
# yields between reading its request and writing its answer, so two handlers' accesses come out
# ordered. Measured on the racy server fixture, pinned to one CPU, 1 s of 64-connection load:
# GOMAXPROCS=1 caught the race in 6 of 10 runs, GOMAXPROCS=2 in 10 of 10 (and 30 of 30 unpinned).
RACE_MIN_GOMAXPROCS = 2
REPORT_START = "WARNING: DATA RACE"
REPORT_RULE = "=================="  # the detector's line around each report
REPORT_MAX_CHARS = 4000  # of the first report kept in the record (a deep stack runs long)
CHECKED_SIZE = "quick"


def race_gomaxprocs(cpus: tuple[int, ...] | None) -> int:
    """GOMAXPROCS for a race run on `cpus` (None: every CPU the harness may use), at least
    RACE_MIN_GOMAXPROCS: the same CPUs as the measured runs, more Ps on them if there is one."""
    given = len(cpus) if cpus else len(os.sched_getaffinity(0))
    return max(RACE_MIN_GOMAXPROCS, given)


def is_concurrent(workload: Workload) -> bool:
    """Whether the race detector has anything to check: a race needs two goroutines touching one
    variable. Workloads of category `concurrency` are built around goroutines; a server (kind
    `server`) runs each connection's handler on a goroutine of its own (net/http), so its shared
    state (kv-cache's map) is touched concurrently. The single-threaded batch programs (json,
    gzip, ...) start no goroutines of their own: there the detector would only re-check the
    standard library, at a race build's cost."""
    return workload.category == "concurrency" or workload.kind == "server"


def race_checked(workload: Workload) -> tuple[Implementation, ...]:
    """The Go implementations whose race build runs (all Go ones of a concurrent workload)."""
    return tuple(i for i in workload.implementations if i.lang == "go" and is_concurrent(workload))


def unsafe_counted(workload: Workload) -> tuple[Implementation, ...]:
    """The Rust implementations whose `unsafe` is counted (all Rust ones of a concurrent workload)."""
    return tuple(
        i for i in workload.implementations if i.lang == "rust" and is_concurrent(workload)
    )


# --- the detector's output (pure) ----------------------------------------------------------------


def first_race_report(stderr: str) -> str | None:
    """The first "WARNING: DATA RACE" report in a race-built program's stderr, from that line up
    to the "==================" line closing it (capped at REPORT_MAX_CHARS); None when there is
    none. Go's GC trace lines (GODEBUG=gctrace=1) written meanwhile are left out."""
    lines = stderr.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == REPORT_START)
    except StopIteration:
        return None
    block = []
    for line in lines[start:]:
        if line.strip() == REPORT_RULE:
            break
        if not line.startswith("gc "):
            block.append(line.rstrip())
    return "\n".join(block).strip()[:REPORT_MAX_CHARS]


def report_summary(report: str) -> str:
    """A report in one line: each access (the racing one, then the previous one) with the first
    frame of its stack, e.g. "Write at 0x00c000012 by goroutine 8: main.main.func1()
    racyfixture/counter-racy/main.go:32; Previous write at ... by goroutine 7: ..."."""
    paragraphs: list[list[str]] = [[]]
    for line in report.splitlines()[1:]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    accesses = []
    for lines in paragraphs:
        if not lines or " at " not in lines[0] or lines[0].startswith("Goroutine"):
            continue
        frame = " ".join(part.split(" +0x")[0] for part in lines[1:3])
        accesses.append(f"{lines[0].rstrip(':')}: {frame}".strip().rstrip(":"))
    return "; ".join(accesses[:2]) or (report.splitlines()[1:2] or ["(no stack)"])[0]


def race_error(report: str) -> str:
    """The implementation's error when the detector found a race."""
    return f"race detector: DATA RACE: {report_summary(report)}"


# --- one race run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaceRun:
    """What one run of a race-built program left: its stderr (where the detector writes), its exit
    status, its wall time, what it exercised, and why it could not run to the end (None: it did)."""

    stderr: str
    exit_code: int | None
    seconds: float
    exercised: str
    error: str | None = None


class ServerRaceRun(Protocol):
    """A race-built server started, loaded and stopped (harness/servers/race.py)."""

    def __call__(
        self,
        workload: Workload,
        impl: Implementation,
        build: BuildRecord,
        params: Mapping[str, object],
        config: RunConfig,
        backend_build: BuildRecord | None = None,
        input_path: str | None = None,
    ) -> RaceRun: ...


def batch_race_run(
    workload: Workload,
    impl: Implementation,
    build: BuildRecord,
    config: RunConfig,
    executor: Executor,
    cache_dir: Path,
) -> RaceRun:
    """The race-built batch program once, at quick size on the quick input (prepared and cached
    like the measured input), through the measuring executor, within the run's timeout."""
    params = workload.params[CHECKED_SIZE]
    try:
        input_record = prepare_input(workload, CHECKED_SIZE, cache_dir / "inputs")
    except InputError as exc:
        return RaceRun("", None, 0.0, "nothing", error=f"quick input not prepared: {exc}")
    argv = argv_for(workload, build.binary_path or "", params, input_record)
    cpus = workload.cpus if workload.cpus is not None else config.cpu_affinity  # as measured
    procs = race_gomaxprocs(cpus)
    env = {
        **GO_ENV,
        **program_cpus.environment("go", cpus),
        **dict(impl.env),
        **RACE_ENV,
        "GOMAXPROCS": str(procs),
    }
    outcome = executor.run(
        argv,
        env=env,
        cpus=cpus,
        timeout_seconds=config.timeout_seconds,
        sample_interval_seconds=0,
    )
    shown = " ".join([Path(argv[0]).name, *argv[1:]])
    exercised = f"one run at quick size, GOMAXPROCS={procs}: {shown}"
    error = None
    if outcome.timed_out:
        error = f"timed out after {config.timeout_seconds:g} s under the race detector"
    return RaceRun(outcome.stderr, outcome.exit_code, outcome.wall_seconds, exercised, error)


def judge(impl: Implementation, build: BuildRecord, run: RaceRun) -> RaceCheck:
    """The record of one race run: a report means a race, whatever else happened; otherwise a run
    that broke is "failed" (never clean), and one that ended well is clean."""
    base = RaceCheck(
        lang=impl.lang,
        variant=impl.variant,
        status="clean",
        exercised=run.exercised,
        build_seconds=build.build_seconds,
        build_cached=build.cached,
        run_seconds=run.seconds,
        source_hash=build.source_hash,
    )
    report = first_race_report(run.stderr)
    if report is not None:
        return replace(base, status="race", report=report)
    tail = stderr_tail(run.stderr).strip().splitlines()
    said = f": {tail[-1]}" if tail else ""
    if run.error is not None:
        return replace(base, status="failed", reason=run.error + said)
    if run.exit_code == RACE_EXIT_CODE:
        return replace(
            base,
            status="failed",
            reason=f"exit status {RACE_EXIT_CODE} (the race detector's) but no {REPORT_START} "
            f"report in its stderr{said}",
        )
    if run.exit_code not in (0, None):
        return replace(base, status="failed", reason=f"exit status {run.exit_code}{said}")
    return base


def not_run(impl: Implementation, reason: str, build: BuildRecord | None = None) -> RaceCheck:
    return RaceCheck(
        lang=impl.lang,
        variant=impl.variant,
        status="not run",
        reason=reason,
        build_seconds=build.build_seconds if build else None,
        source_hash=build.source_hash if build else None,
    )


# --- Rust: the unsafe in its own source ------------------------------------------------------------


def count_rust_unsafe(workload: Workload, impl: Implementation, build: BuildRecord) -> UnsafeCount:
    """`unsafe` in the crate's own source files: the build record's source_files (what the line
    counter counted) when the build profile ran, else the local files in cargo's dep-info for the
    binary (target/release/<crate>.d), which every cargo build writes."""
    base = UnsafeCount(lang=impl.lang, variant=impl.variant, count=None)
    if impl.build is not None:
        return replace(base, reason="own build command: its source files are not known")
    if not build.ok:
        return replace(base, reason=f"not built: {build.error or 'build failed'}")
    root = language_root(workload.root.resolve(), "rust")
    files = build.source_files
    if not files:
        try:
            found = rust_sources(root, cargo_target_dir(root), impl.path)
        except ProfileError as exc:  # e.g. a cached binary whose target folder is gone
            return replace(
                base,
                reason=f"{exc} (a run with --build-profile records the source files with the build)",
            )
        files = tuple(str(p.relative_to(root.resolve())) for p in found)
    if not files:
        return replace(base, reason=f"no source files of {impl.path} found in cargo's dep-info")
    totals: dict[str, int] = {}
    for name in files:
        try:
            text = (root / name).read_text(encoding="utf-8")
        except OSError as exc:
            return replace(base, files=files, reason=f"cannot read {root / name}: {exc.strerror}")
        for kind, n in count_unsafe(text).items():
            totals[kind] = totals.get(kind, 0) + n
    return replace(base, count=sum(totals.values()), by_kind=totals, files=files)


# --- the check of one workload, and what it does to the workload's result ------------------------


@dataclass(frozen=True)
class CorrectnessChecks:
    """One workload's checks: a RaceCheck per Go implementation, an UnsafeCount per Rust one."""

    race: tuple[RaceCheck, ...] = ()
    unsafe: tuple[UnsafeCount, ...] = ()

    def racy(self) -> dict[str, str]:
        """Implementation key -> its error, for each the detector caught."""
        return {c.key: race_error(c.report or "") for c in self.race if c.status == "race"}

    def workload_error(self) -> str | None:
        """Set when a default raced: the pair cannot be compared, so nothing is measured."""
        racy = self.racy()
        failed = [f"{key}: {error}" for key, error in racy.items() if key.endswith("/default")]
        return "; ".join(failed) or None

    def measurable(self, workload: Workload) -> Workload:
        """The workload without its racy implementations (variants only: a racy default fails
        the whole workload, `failed`)."""
        racy = self.racy()
        return replace(
            workload,
            implementations=tuple(i for i in workload.implementations if i.key not in racy),
        )

    def applied(
        self, workload: Workload, result: WorkloadResult, builds: Mapping[str, BuildRecord]
    ) -> WorkloadResult:
        """The measured result with each racy implementation put back, failed with the
        detector's report, in the manifest's order; the checks recorded on the result."""
        racy = self.racy()
        measured = {r.key: r for r in result.implementations}
        results = tuple(
            measured[i.key] if i.key in measured else _race_failed(i, builds[i.key], racy[i.key])
            for i in workload.implementations
            if i.key in measured or i.key in racy
        )
        return replace(
            result, implementations=results, race_checks=self.race, unsafe_counts=self.unsafe
        )

    def failed(
        self, workload: Workload, builds: Mapping[str, BuildRecord], size: str
    ) -> WorkloadResult:
        """A workload whose default raced: failed with the detector's first report, nothing
        measured (like input_failed)."""
        racy = self.racy()
        error = self.workload_error()
        results = [
            _race_failed(i, builds[i.key], racy[i.key])
            if i.key in racy
            else ImplementationResult(
                lang=i.lang,
                variant=i.variant,
                library=i.library,
                status=not_run_status(builds[i.key]),
                build=builds[i.key],
                error=builds[i.key].error
                if not builds[i.key].ok
                else "not measured: a default of the workload failed the race check",
            )
            for i in workload.implementations
        ]
        concluded = conclude_workload(workload, results, None, workload.params[size], None, None)
        return replace(
            concluded,
            status="failed",
            error=error,
            race_checks=self.race,
            unsafe_counts=self.unsafe,
        )


def _race_failed(impl: Implementation, build: BuildRecord, error: str) -> ImplementationResult:
    return ImplementationResult(
        lang=impl.lang,
        variant=impl.variant,
        library=impl.library,
        status="failed",
        build=build,
        error=error,
    )


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


class RaceChecker:
    """Runs the checks of each concurrent workload for run_suite, after its normal builds and
    before it is measured. A race build is cached like any other build (Builder with RACE_BUILD);
    a race run is made once per implementation, source hash and quick parameters in this checker's
    life, so the points of a sweep that leave the quick parameters alone share one."""

    def __init__(
        self,
        cache_dir: Path,
        executor: Executor,
        server_run: ServerRaceRun | None = None,
        builder: BuildStep | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.cache_dir = cache_dir
        self.executor = executor
        self.server_run = server_run
        self.builder = builder or Builder(cache_dir, flavour=RACE_BUILD)
        self.clock = clock
        self._done: dict[tuple[str, str, str, str], RaceCheck] = {}

    def __call__(
        self,
        workload: Workload,
        builds: Mapping[str, BuildRecord],
        config: RunConfig,
        progress: Progress = lambda _: None,
    ) -> CorrectnessChecks:
        race = tuple(
            self._race(workload, impl, config, progress) for impl in race_checked(workload)
        )
        unsafe = []
        for impl in unsafe_counted(workload):
            count = count_rust_unsafe(workload, impl, builds[impl.key])
            unsafe.append(count)
            shown = count.count if count.count is not None else f"not counted ({count.reason})"
            progress(f"unsafe {workload.name} {impl.key}: in own source: {shown}")
        return CorrectnessChecks(race=race, unsafe=tuple(unsafe))

    def _race(
        self, workload: Workload, impl: Implementation, config: RunConfig, progress: Progress
    ) -> RaceCheck:
        tag = f"race check {workload.name} {impl.key}"
        if impl.build is not None:
            check = not_run(impl, "own build command: the harness cannot add -race to it")
        elif impl.links is not None:
            check = not_run(impl, "go+rust hybrid: its cgo build is not race-built")
        elif workload.kind == "server" and self.server_run is None:
            check = not_run(impl, "no load generator to drive the race-built server")
        elif beyond := impl.beyond_limits(workload.params[CHECKED_SIZE]):
            check = not_run(impl, f"at quick size it {beyond}")
        else:
            check = self._built_and_run(workload, impl, config, progress, tag)
        if check.status == "race":
            lines = (check.report or "").splitlines()
            progress(f"RACE DETECTED {tag}: {race_error(check.report or '')}; {impl.key} fails")
            for line in lines[:12]:
                progress(f"  {line}")
        elif check.status == "clean":
            progress(
                f"{tag}: race detector: clean (race build {_seconds(check.build_seconds)}"
                f"{', cached' if check.build_cached else ''}, run {_seconds(check.run_seconds)})"
            )
        else:
            progress(f"{tag}: {check.status}: {check.reason}")
        return check

    def _server_run(
        self,
        workload: Workload,
        impl: Implementation,
        build: BuildRecord,
        params: Mapping[str, object],
        config: RunConfig,
    ) -> RaceRun:
        """The race-built server as measured: beside its back end (built like the measured
        one), sent the quick input when its requests carry it (body_input)."""
        assert self.server_run is not None
        backend = workload.backend_of(impl)
        # The back end is not race-built: it is the measured build (a cache hit), Rust or not.
        plain = Builder(self.cache_dir)
        backend_build = plain.build(workload, backend.implementation) if backend else None
        input_path = None
        if workload.input is not None:
            try:
                input_path = prepare_input(workload, CHECKED_SIZE, self.cache_dir / "inputs").path
            except InputError as exc:
                return RaceRun("", None, 0.0, "nothing", error=f"quick input not prepared: {exc}")
        return self.server_run(
            workload,
            impl,
            build,
            params,
            config,
            backend_build=backend_build,
            input_path=input_path,
        )

    def _built_and_run(
        self,
        workload: Workload,
        impl: Implementation,
        config: RunConfig,
        progress: Progress,
        tag: str,
    ) -> RaceCheck:
        build = self.builder.build(workload, impl)
        if build.skip_reason is not None:
            return not_run(impl, build.skip_reason)
        if not build.ok:
            return replace(
                not_run(impl, "", build),
                status="failed",
                reason=f"race build failed: {build.error}",
            )
        params = workload.params[CHECKED_SIZE]
        key = (workload.manifest_path, impl.key, build.source_hash, repr(sorted(params.items())))
        if key in self._done:
            return replace(self._done[key], build_cached=True)
        if not build.cached:
            progress(f"{tag}: race build in {_seconds(build.build_seconds)}")
        if workload.kind == "server":
            assert self.server_run is not None
            run = self._server_run(workload, impl, build, params, config)
        else:
            run = batch_race_run(workload, impl, build, config, self.executor, self.cache_dir)
        check = judge(impl, build, run)
        self._done[key] = check
        return check
