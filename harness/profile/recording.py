"""CPU profiles of a measured run's default implementations with `perf record`, apart from the
timed repetitions (which they never touch: their own processes, their own file).

What is profiled: for each workload of the run, its Go and Rust defaults, at the run's size.
Go's binary is the timed one (the build cache returns it while the sources are unchanged; Go keeps
frame pointers on amd64 and its symbol table unless stripped). Rust's timed binary has neither
frame pointers nor debug info (Cargo's release defaults), so a separate profiling build is made
with `-C force-frame-pointers=yes` and line-table debug info into its own CARGO_TARGET_DIR
(.cache/profiling-target), never into the timed binary's; the profile records which binary ran,
its flags, and whether its sources are those of the measured run.

How: `perf record -e cpu-clock -c PERIOD -g`, the software CPU clock (this VM has no hardware
PMU, so no cycles event), frame-pointer call graphs. A batch program runs under the measuring
launcher inside perf, so its exact rusage comes from wait4 as in a timed run, pinned to the
measured CPU (taskset) while perf itself stays on the harness's CPUs. Starting and stopping perf
costs about half a second here, more than a quick program runs, so all profiled runs of one
program share one perf session (harness.measure.repeat runs the launcher N times; the launchers' reports
name the pids whose samples are kept), after as many unprofiled runs for the overhead. A server
is started as in a run, warmed up, loaded closed loop once unprofiled and once with perf attached
(`-p PID`); the overhead is the lost throughput.

What is checked: sampled CPU (samples x period) against the process's own CPU time (coverage;
the target is >= 95 %), too few samples (MIN_SAMPLES), and leaves inside the binary that perf
could not name (a stripped binary). Each becomes a note in the profile and in the report.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from harness.analysis import stacks
from harness.build import builder as build
from harness.errors import HarnessError
from harness.measure.inputs import prepare_input
from harness.measure.launcher import (
    LAUNCHER_GRACE_SECONDS,
    Executor,
    kill_group,
    parse_launcher_report,
    spawn,
)
from harness.measure.runner import GO_ENV, argv_for, harness_cpus_for, now_iso, parse_result_line
from harness.model import (
    BuildRecord,
    FoldedStack,
    Implementation,
    ImplementationProfile,
    InputRecord,
    ProfileRun,
    Run,
    RunConfig,
    ServerSettings,
    Workload,
    WorkloadProfile,
)
from harness.servers import lifecycle
from harness.servers.drive import PhaseDriver
from harness.servers.protocol import default_settings
from harness.store.results import PROFILE_SCHEMA_VERSION, write_atomic

EVENT = "cpu-clock"
EVENT_WORDS = (
    "cpu-clock (the kernel's software CPU timer: this VM exposes no hardware PMU, so there is no "
    "cycles event), call graphs from frame pointers"
)
# Sampling period per size. Shorter periods cost more than they show on this VM (2026-12-03,
# Rust json quick, program CPU under perf: 1 ms and 250 us within noise of unprofiled, 50 us
# about 7x, 25 us about 40x), so short quick programs are run again instead (MIN_SAMPLES).
PERIOD_NS = {"quick": 250_000, "full": 1_000_000}
MIN_SAMPLES = 200  # fewer: a category's share is uncertain by more than ±7 points (95 %)
TARGET_SAMPLES = 1000  # a batch program is profiled again until its runs hold this many
MAX_RUNS = {"quick": 20, "full": 3}
MIN_COVERAGE = 0.95  # sampled CPU time / the process's CPU time
MAX_UNNAMED_SHARE = 0.05  # leaves in the binary without a symbol: stripped or missing symbols
SERVER_SECONDS = {"quick": 3.0, "full": 5.0}  # each closed-loop phase, unprofiled and profiled
# The Rust build a profile runs: frame pointers, so perf can walk the stack without DWARF, and line
# tables, so frames have names; apart from the timed binary, whose code it does not change.
PROFILING_BUILD = build.BuildFlavour(
    name="profiling",
    env={"RUSTFLAGS": "-C force-frame-pointers=yes", "CARGO_PROFILE_RELEASE_DEBUG": "line-tables-only"},
    target="profiling-target",
)
PERF_INSTALL_HINT = (
    "install it with `apt-get install linux-perf` (Debian; `make profile` does it) or your "
    "distribution's perf package"
)


# --- is perf there, and may it sample? ----------------------------------------------------------


@dataclass(frozen=True)
class PerfCheck:
    path: str | None
    version: str | None
    problem: str | None  # None: perf records with call graphs here
    hardware_counters: str  # perf stat's cycles/instructions, or why they are unavailable


def read_paranoid(path: Path = Path("/proc/sys/kernel/perf_event_paranoid")) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def explain_record_failure(stderr: str, paranoid: int | None, euid: int) -> str:
    """Why `perf record` failed, in one line with what to do."""
    text = " ".join(stderr.split())
    if "perf_event_paranoid" in text or "Permission denied" in text or "EACCES" in text:
        return (
            f"perf may not sample here: kernel.perf_event_paranoid is {paranoid} and this user "
            f"(uid {euid}) lacks CAP_PERFMON; profiles need kernel samples: run as root or "
            "`sysctl kernel.perf_event_paranoid=1`"
        )
    if "not supported" in text or "No such device" in text:
        return f"perf cannot open the {EVENT} event here: {text[-300:]}"
    return f"perf record failed: {text[-300:] or '(no output)'}"


def check_perf(
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    which: Callable[[str], str | None] = shutil.which,
    paranoid: Callable[[], int | None] = read_paranoid,
) -> PerfCheck:
    """Find perf, try a tiny recording with call graphs (kernel included), and read perf stat's
    hardware counters once, so each problem is said once, up front."""
    path = which("perf")
    if path is None:
        return PerfCheck(None, None, f"perf not found on PATH: {PERF_INSTALL_HINT}", "")
    version_done = run([path, "--version"], capture_output=True, text=True, check=False)
    version = version_done.stdout.strip() or None
    if version_done.returncode != 0:  # Debian's wrapper says which kernel's perf is missing
        detail = " ".join((version_done.stderr or version_done.stdout).split())[-300:]
        return PerfCheck(path, None, f"perf does not run ({detail}): {PERF_INSTALL_HINT}", "")
    true = which("true") or "/bin/true"
    with tempfile.TemporaryDirectory(prefix="gorust-perf-") as tmp:
        probe = run(
            [path, "record", "-e", EVENT, "-c", "1000000", "-g", "-q", "-o", f"{tmp}/p", "--", true],
            capture_output=True,
            text=True,
            check=False,
        )
    if probe.returncode != 0:
        return PerfCheck(
            path, version, explain_record_failure(probe.stderr, paranoid(), os.geteuid()), ""
        )
    stat = run(
        [path, "stat", "-x", ",", "-e", "cycles,instructions", "--", true],
        capture_output=True,
        text=True,
        check=False,
    )
    return PerfCheck(path, version, None, hardware_counters_text(stat.returncode, stat.stderr))


def hardware_counters_text(returncode: int, stat_stderr: str) -> str:
    """What `perf stat -e cycles,instructions` says about the PMU, in words for the report."""
    unsupported = [
        line.split(",")[2]
        for line in stat_stderr.splitlines()
        if line.count(",") >= 2 and ("<not supported>" in line or "<not counted>" in line)
    ]
    if returncode != 0 or unsupported:
        return (
            "unavailable on this machine: perf stat reports "
            + (", ".join(unsupported) or "cycles and instructions")
            + " as not supported (no hardware PMU in this VM), so there are no instruction, cycle "
            "or cache-miss counts; the profiles use the software CPU clock"
        )
    return "available: perf stat counts cycles and instructions (not yet reported here)"


# --- the binaries -------------------------------------------------------------------------------


def go_module(root: Path) -> str | None:
    try:
        for line in (root / "go" / "go.mod").read_text().splitlines():
            if line.startswith("module "):
                return line.split()[1]
    except OSError:
        return None
    return None


def own_code(workload: Workload, impl: Implementation) -> stacks.Owner:
    root = workload.root.resolve()
    crates = []
    if impl.lang == "rust":
        with contextlib.suppress(OSError):
            crates = [p.name for p in (root / "rust" / "crates").iterdir() if p.is_dir()]
        crates.append(impl.path)
    return stacks.owners_for(impl.lang, go_module(root), crates)


# --- recording and folding ----------------------------------------------------------------------


def perf_script(perf: str, data: Path) -> str:
    """The samples as text, one block per sample, leaf frame first. --no-inline: resolving inlined
    frames from debug info is slow (minutes for a large profile) and adds no time of its own."""
    done = subprocess.run(
        [perf, "script", "-i", os.fspath(data), "-F", "comm,pid,tid,ip,sym,dso", "--no-inline"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"perf script -i {data} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def quality_notes(
    samples: int,
    period_seconds: float,
    process_cpu_seconds: float,
    unnamed_leaf_samples: int,
    binary: str | None,
) -> tuple[str, ...]:
    """What limits how far a profile can be trusted, one sentence each (empty: nothing)."""
    notes = []
    if samples < MIN_SAMPLES:
        notes.append(
            f"only {samples} samples (fewer than {MIN_SAMPLES}): category shares are uncertain "
            "by more than ±7 points; profile at full size (--size full) for more"
        )
    if process_cpu_seconds > 0:
        coverage = samples * period_seconds / process_cpu_seconds
        if coverage < MIN_COVERAGE:
            notes.append(
                f"samples account for {coverage:.0%} of the process's CPU time "
                f"(target {MIN_COVERAGE:.0%}): part of its time is not in this profile"
            )
    if samples and unnamed_leaf_samples / samples > MAX_UNNAMED_SHARE:
        notes.append(
            f"{unnamed_leaf_samples / samples:.0%} of samples end in {binary} without a symbol: "
            "the binary lacks symbols (stripped?); build it with its symbol table to see functions"
        )
    return tuple(notes)


def _wait(proc: subprocess.Popen, timeout_seconds: float) -> int:
    try:
        return proc.wait(timeout=timeout_seconds)
    except BaseException:
        kill_group(proc.pid)
        proc.wait()
        raise


def _folded_stacks(folded: stacks.Folded) -> tuple[FoldedStack, ...]:
    return tuple(FoldedStack(s, n) for s, n in sorted(folded.stacks.items()))


@dataclass(frozen=True)
class Profiler:
    """Profiles one implementation at a time with the same perf, launcher and CPUs."""

    perf: str
    launcher: Path
    executor: Executor
    work_dir: Path
    period_ns: int
    cpus: tuple[int, ...] | None  # the measured CPUs: the program runs there, perf elsewhere
    timeout_seconds: float
    min_samples: int = 1
    max_runs: int = 1

    @property
    def period_seconds(self) -> float:
        return self.period_ns / 1e9

    def _taskset(self) -> list[str]:
        taskset = shutil.which("taskset")
        if self.cpus is None or taskset is None:
            return []
        return [taskset, "--cpu-list", ",".join(map(str, self.cpus))]

    def batch(
        self,
        workload: Workload,
        impl: Implementation,
        binary: str,
        params: Mapping[str, object],
        input_record: InputRecord | None,
        reference_checksum: str | None,
    ) -> ImplementationProfile:
        """Unprofiled runs, then as many runs in one perf session (harness.measure.repeat), all pinned
        like timed repetitions. A quick program runs for milliseconds: the number of runs is
        chosen from the first one's CPU time so the profiled runs hold `min_samples` samples
        (at most `max_runs`), since a shorter period costs more than it shows (PERIOD_NS)."""
        argv = argv_for(workload, binary, params, input_record)
        env = {**(GO_ENV if impl.lang == "go" else {}), **dict(impl.env)}
        tag = f"{workload.name}-{impl.lang}-{impl.variant}"
        data = self.work_dir / f"{tag}.perf.data"
        report = self.work_dir / f"{tag}.launcher"
        base = ImplementationProfile(
            lang=impl.lang, variant=impl.variant, ok=False, binary_path=binary
        )
        plain_wall: list[float] = []
        plain_cpu: list[float] = []
        runs = 1
        while len(plain_wall) < runs:
            plain = self.executor.run(
                argv,
                env=env,
                cpus=self.cpus,
                timeout_seconds=self.timeout_seconds,
                sample_interval_seconds=0,
            )
            if plain.exit_code != 0:
                return replace(
                    base,
                    error=f"unprofiled run failed (exit {plain.exit_code}): {plain.stderr[-300:]}",
                )
            plain_wall.append(plain.wall_seconds)
            plain_cpu.append(plain.user_seconds + plain.sys_seconds)
            if len(plain_wall) == 1:
                wanted = self.min_samples * self.period_seconds / max(plain_cpu[0], 1e-4)
                runs = max(1, min(self.max_runs, math.ceil(wanted)))
        command = (
            *self._record_prefix(data),
            "--",
            *self._taskset(),
            sys.executable,
            "-m",
            "harness.measure.repeat",
            str(runs),
            os.fspath(report),
            os.fspath(self.launcher),
            *argv,
        )
        base = replace(base, command=command, period_seconds=self.period_seconds)
        for old in self.work_dir.glob(f"{report.name}.*"):
            old.unlink()
        out_path, err_path = self.work_dir / f"{tag}.stdout", self.work_dir / f"{tag}.stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            # perf runs on the harness's CPUs; taskset moves the loop, the launcher and the
            # program to the measured ones (without taskset everything shares them).
            root = os.fspath(Path(__file__).resolve().parents[2])
            path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
            proc = spawn(
                command,
                {**env, "PYTHONPATH": path},
                None if self._taskset() else self.cpus,
                out,
                err,
            )
        code = _wait(proc, (self.timeout_seconds + 10) * runs + 60)
        stderr = err_path.read_text(errors="replace").strip()
        reports = [
            parse_launcher_report(p.read_text())
            for p in sorted(
                self.work_dir.glob(f"{report.name}.*"), key=lambda p: int(p.suffix[1:])
            )
        ]
        if code != 0 or len(reports) != runs or None in reports:
            return replace(base, error=f"perf record exited {code}: {stderr[-300:]}")
        done = [r for r in reports if r is not None]
        failed = [os.waitstatus_to_exitcode(r.wait_status) for r in done]
        if any(failed):
            return replace(base, error=f"profiled run failed (exit {max(failed)}): {stderr[-300:]}")
        notes: list[str] = []
        outputs = out_path.read_text(errors="replace").splitlines()
        checksums = {
            parse_result_line(line).get("checksum") for line in outputs if line.startswith("{")
        }
        if reference_checksum and checksums != {reference_checksum}:
            notes.append(
                f"its output checksum {', '.join(sorted(map(str, checksums)))} differs from the "
                f"measured run's {reference_checksum}: the profiled program is not the measured one"
            )
        folded = stacks.fold_perf_script(
            perf_script(self.perf, data), {r.pid for r in done}, binary
        )
        data.unlink(missing_ok=True)
        cpu = sum(r.user_seconds + r.sys_seconds for r in done)
        notes += quality_notes(folded.samples, self.period_seconds, cpu, folded.unnamed_in_binary, binary)
        return replace(
            base,
            ok=True,
            samples=folded.samples,
            process_cpu_seconds=cpu,
            profiled_wall_seconds=tuple(r.wall_seconds for r in done),
            profiled_cpu_seconds=tuple(r.user_seconds + r.sys_seconds for r in done),
            unprofiled_wall_seconds=tuple(plain_wall),
            unprofiled_cpu_seconds=tuple(plain_cpu),
            unnamed_leaf_samples=folded.unnamed_in_binary,
            stacks=_folded_stacks(folded),
            notes=tuple(notes),
        )

    def _record_prefix(self, data: Path) -> tuple[str, ...]:
        """perf record's options: -B -N skip the build-id scan at exit and the copies of binaries
        in ~/.debug (the binaries are content-hashed already); --no-bpf-event saves about a
        second of start-up here."""
        return (
            self.perf,
            "record",
            "-e",
            EVENT,
            "-c",
            str(self.period_ns),
            "-g",
            "-q",
            "-B",
            "-N",
            "--no-bpf-event",
            "-o",
            os.fspath(data),
        )

    def attach(self, pid: int, tag: str) -> tuple[subprocess.Popen, Path, tuple[str, ...]]:
        """perf recording an already running process (a server) until stopped with SIGINT."""
        data = self.work_dir / f"{tag}.perf.data"
        data.unlink(missing_ok=True)
        command = (*self._record_prefix(data), "-p", str(pid))
        err = (self.work_dir / f"{tag}.perf.stderr").open("wb")
        with err:
            proc = spawn(command, {}, None, subprocess.DEVNULL, err)
        # perf writes its header once the events are open: wait for it, so no load goes unseen.
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            if data.exists() and data.stat().st_size > 0:
                break
            time.sleep(0.01)
        time.sleep(0.05)
        return proc, data, command

    def detach(self, proc: subprocess.Popen) -> int:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=30 + LAUNCHER_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            return proc.wait()


def server_profile(
    profiler: Profiler,
    workload: Workload,
    impl: Implementation,
    record: BuildRecord,
    params: Mapping[str, object],
    settings: ServerSettings,
    config: RunConfig,
    oha: Path,
    seconds: float,
) -> ImplementationProfile:
    """A server under closed-loop load: warm-up, a phase unprofiled, a phase with perf attached."""
    binary = record.binary_path or ""
    base = ImplementationProfile(lang=impl.lang, variant=impl.variant, ok=False, binary_path=binary)
    driver = PhaseDriver(oha, settings)
    folder = profiler.work_dir
    try:
        server = lifecycle.start(
            profiler.launcher, settings, workload, impl, record, params, folder
        )
    except lifecycle.ServerFailure as exc:
        return replace(base, error=str(exc))
    try:
        bodies = lifecycle.request_bodies(workload, server, params)

        def phase(name: str, duration: float):
            return driver.run_phase(
                name,
                workload,
                impl,
                server,
                params,
                bodies,
                None,
                duration,
                config,
                profiler.executor,
                folder,
            )

        phase("warmup", settings.warmup_seconds)
        plain = phase("saturation", seconds)
        tag = f"{workload.name}-{impl.lang}-{impl.variant}"
        cpu_before = sum(server.process.cpu_seconds())
        started = time.perf_counter()
        proc, data, command = profiler.attach(server.process.pid, tag)
        profiled = phase("saturation", seconds)
        code = profiler.detach(proc)
        wall = time.perf_counter() - started
        cpu = sum(server.process.cpu_seconds()) - cpu_before
    finally:
        server.stop(settings.stop_grace_seconds)
    base = replace(base, command=command, period_seconds=profiler.period_seconds)
    if not (plain.ok and profiled.ok):
        failed = plain if not plain.ok else profiled
        return replace(base, error=f"load phase failed: {failed.error or ', '.join(failed.flags)}")
    if code not in (0, -signal.SIGINT, 128 + signal.SIGINT) or not data.exists():
        stderr = (folder / f"{tag}.perf.stderr").read_text(errors="replace")
        return replace(base, error=f"perf record exited {code}: {stderr.strip()[-300:]}")
    folded = stacks.fold_perf_script(
        perf_script(profiler.perf, data), {server.process.pid}, binary
    )
    data.unlink(missing_ok=True)
    return replace(
        base,
        ok=True,
        samples=folded.samples,
        process_cpu_seconds=cpu,
        profiled_wall_seconds=(wall,),
        profiled_cpu_seconds=(cpu,),
        profiled_rps=profiled.achieved_rps,
        unprofiled_rps=plain.achieved_rps,
        profiled_requests=profiled.requests,
        unnamed_leaf_samples=folded.unnamed_in_binary,
        stacks=_folded_stacks(folded),
        notes=quality_notes(
            folded.samples, profiler.period_seconds, cpu, folded.unnamed_in_binary, binary
        ),
    )


def _server_profile_of(
    profiler: Profiler,
    workload: Workload,
    params: Mapping[str, object],
    settings: ServerSettings,
    config: RunConfig,
    oha: Path,
    seconds: float,
    impl: Implementation,
    record: BuildRecord,
) -> ImplementationProfile:
    return server_profile(profiler, workload, impl, record, params, settings, config, oha, seconds)


def workload_failed(workload: Workload, params: Mapping, error: str) -> WorkloadProfile:
    return WorkloadProfile(
        name=workload.name, kind=workload.kind, params=dict(params), error=error
    )


def keep_folded(path: Path, profile: ImplementationProfile) -> None:
    """The folded stacks as a text file too, for FlameGraph, inferno or speedscope."""
    write_atomic(path, stacks.to_folded({s.stack: s.samples for s in profile.stacks}).encode())


def server_load_words(settings: ServerSettings, seconds: float) -> str:
    return (
        f"closed loop, {settings.connections} connections from oha on CPU(s) "
        f"{', '.join(map(str, settings.loadgen_cpus or ())) or 'any'}, {seconds:g} s unprofiled "
        f"then {seconds:g} s profiled, after a {settings.warmup_seconds:g} s warm-up"
    )


def defaults_of(workload: Workload) -> Sequence[Implementation]:
    return [i for i in workload.implementations if i.is_default]


_PERF_VERSION = re.compile(r"perf version (\S+)")


def perf_version_number(text: str | None) -> str | None:
    match = _PERF_VERSION.search(text or "")
    return match.group(1) if match else None


# --- a measured run's defaults, one workload after another ---------------------------------------


@dataclass(frozen=True)
class ProfileOptions:
    size: str
    period_ns: int
    server_seconds: float
    cache_dir: Path


def _run_build(run: Run, workload: str, key: str) -> BuildRecord | None:
    result = next((w for w in run.workloads if w.name == workload), None)
    impl = result.result_for(key) if result else None
    return impl.build if impl else None


def profile_implementation(
    profiler: Profiler,
    run: Run,
    workload: Workload,
    impl: Implementation,
    builder: build.Builder,
    options: ProfileOptions,
    input_record: InputRecord | None,
    server: Callable[[Implementation, BuildRecord], ImplementationProfile] | None,
) -> ImplementationProfile:
    """Build (or take from the cache) the binary to profile, then profile it."""
    measured = _run_build(run, workload.name, impl.key)
    owner = own_code(workload, impl)
    profiling_build = impl.lang == "rust" and impl.build is None
    if profiling_build:
        record = build.Builder(options.cache_dir, flavour=PROFILING_BUILD).build(workload, impl)
        timed_hash = builder.source_hash_of(workload, impl)
    else:
        record = builder.build(workload, impl)
        timed_hash = record.source_hash
    facts = {
        "build_flags": record.flags
        + ("" if profiling_build or impl.lang != "go" else "; frame pointers: Go's default (amd64)"),
        "profiling_build": profiling_build,
        "same_source_as_run": None if measured is None else measured.source_hash == timed_hash,
        "own_code": owner.prefixes,
    }
    if not record.ok:
        return ImplementationProfile(
            lang=impl.lang,
            variant=impl.variant,
            ok=False,
            error=f"build failed: {record.error}",
            **facts,
        )
    if workload.kind == "server":
        assert server is not None
        profile = server(impl, record)
    else:
        result = next((w for w in run.workloads if w.name == workload.name), None)
        reference = (
            result.reference_checksum if result and result.params == workload.params[options.size] else None
        )
        profile = profiler.batch(
            workload,
            impl,
            record.binary_path or "",
            workload.params[options.size],
            input_record,
            reference,
        )
    profile = replace(profile, **facts)
    if profile.ok:
        folder = options.cache_dir.resolve() / "profiles" / run.run_id
        keep_folded(folder / f"{workload.name}-{impl.lang}-{impl.variant}.folded", profile)
    return profile


def kept_workloads(
    earlier: ProfileRun | None, names: set[str], size: str, period_ns: int
) -> tuple[WorkloadProfile, ...]:
    """The workloads of an earlier profile of the run to keep beside new ones: those not profiled
    again, when it was made at the same size and period (else nothing: one file, one setting)."""
    if earlier is None or earlier.error is not None or earlier.size != size:
        return ()
    periods = {i.period_seconds for w in earlier.workloads for i in w.implementations if i.ok}
    if periods - {period_ns / 1e9}:
        return ()
    return tuple(w for w in earlier.workloads if w.name not in names)


def profile_run(
    run: Run,
    workloads: Sequence[Workload],
    options: ProfileOptions,
    check: PerfCheck,
    executor: Executor,
    launcher: Path,
    progress: Callable[[str], None],
    oha: Callable[[], Path],
    saved: Callable[[ProfileRun], object],
    earlier: ProfileRun | None = None,
) -> ProfileRun:
    """Profile the default pair of each workload, saving the file after every workload. The
    workloads of an `earlier` profile of the run at the same size and period that are not
    profiled again are kept, so profiling one workload does not drop the others."""
    started = time.perf_counter()
    kept = kept_workloads(earlier, {w.name for w in workloads}, options.size, options.period_ns)
    profile = ProfileRun(
        schema_version=PROFILE_SCHEMA_VERSION,
        run_id=run.run_id,
        started_at=now_iso(),
        finished_at=None,
        size=options.size,  # type: ignore[arg-type]
        perf_version=perf_version_number(check.version),
        event=EVENT_WORDS,
        cpu_affinity=run.config.cpu_affinity,
        hardware_counters=check.hardware_counters,
        workloads=kept,
    )
    work_dir = options.cache_dir.resolve() / "profiles" / run.run_id
    work_dir.mkdir(parents=True, exist_ok=True)
    assert check.path is not None
    profiler = Profiler(
        perf=check.path,
        launcher=launcher,
        executor=executor,
        work_dir=work_dir,
        period_ns=options.period_ns,
        cpus=run.config.cpu_affinity,
        timeout_seconds=run.config.timeout_seconds,
        min_samples=TARGET_SAMPLES,
        max_runs=MAX_RUNS[options.size],
    )
    builder = build.Builder(options.cache_dir)
    for workload in workloads:
        params = workload.params[options.size]
        progress(f"profile {workload.name} ({options.size})")
        try:
            input_record = prepare_input(workload, options.size, options.cache_dir / "inputs")
        except HarnessError as exc:
            result = workload_failed(workload, params, str(exc))
        else:
            server = None
            load = None
            if workload.kind == "server":
                settings = run.config.server or default_settings(
                    options.size, "oha", run.config.cpu_affinity, harness_cpus_for(run.config.cpu_affinity)
                )
                settings = replace(settings, warmup_seconds=min(settings.warmup_seconds, 2.0))
                load = server_load_words(settings, options.server_seconds)
                config = replace(run.config, sample_interval_seconds=0.1)
                oha_path = oha()

                server = partial(
                    _server_profile_of,
                    profiler,
                    workload,
                    params,
                    settings,
                    config,
                    oha_path,
                    options.server_seconds,
                )

            impls = []
            for impl in defaults_of(workload):
                one = profile_implementation(
                    profiler, run, workload, impl, builder, options, input_record, server
                )
                progress(
                    f"profile {workload.name} {impl.key}: "
                    + (f"{one.samples} samples" if one.ok else f"failed: {one.error}")
                )
                for note in one.notes:
                    progress(f"profile {workload.name} {impl.key}: note: {note}")
                impls.append(one)
            result = WorkloadProfile(
                name=workload.name,
                kind=workload.kind,
                params=dict(params),
                implementations=tuple(impls),
                load=load,
            )
        profile = replace(profile, workloads=(*profile.workloads, result))
        saved(profile)
    order = {w.name: i for i, w in enumerate(run.workloads)}
    profile = replace(
        profile,
        workloads=tuple(sorted(profile.workloads, key=lambda w: order.get(w.name, len(order)))),
        finished_at=now_iso(),
        elapsed_seconds=time.perf_counter() - started,
    )
    saved(profile)
    return profile


def unprofiled(run: Run, size: str, check: PerfCheck, version: int) -> ProfileRun:
    """The file `harness profile` leaves when perf cannot profile here: the report says why."""
    return ProfileRun(
        schema_version=version,
        run_id=run.run_id,
        started_at=now_iso(),
        finished_at=now_iso(),
        size=size,  # type: ignore[arg-type]
        perf_version=perf_version_number(check.version),
        event=EVENT_WORDS,
        cpu_affinity=run.config.cpu_affinity,
        error=check.problem,
    )
