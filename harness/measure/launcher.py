"""Run one process under measurement: the only module that uses psutil.

Exact figures come from the kernel: wait4 returns the child's rusage (user and sys CPU, and
`ru_maxrss`, the true peak RSS). Linux carries ru_maxrss across fork and exec, so a program forked
from this Python process would report at least the harness's own peak (measured here: /bin/true
showed 321 MB under a harness holding 300 MB); programs are therefore started through a tiny C
launcher (native/spawn.c) that forks them, reaps them with wait4 and writes their rusage. psutil
only feeds time series, sampled by a background thread, because sampling misses short peaks. Every
child runs in its own process group, pinned (when asked) by setting the spawning thread's affinity
before the fork so that the child's runtime sees its CPU set from the first instruction (Go sizes
GOMAXPROCS from it), and is always reaped.

Nothing a program starts outlives it. A process-group kill cannot reach a descendant that called
setsid() or double-forked, so the launcher is a child subreaper: such orphans become its children,
and once the program has been reaped it kills (SIGKILL) and reaps every descendant still running and
reports how many there were (`leftover=N`). A batch repetition that leaves any is a failure ("left N
processes running (killed)"); so is a server that leaves any when it stops. To abort (timeout,
Ctrl-C, exit), the harness sends the launcher SIGTERM and it kills the program and all its
descendants the same way; only if the launcher is still there after LAUNCHER_GRACE_SECONDS is its
group SIGKILLed. The launcher also asks for SIGTERM when the harness dies (PR_SET_PDEATHSIG), so a
SIGKILLed harness leaves nothing either. Making the harness itself the subreaper was the other
option, and a worse one: orphans from every launcher (oha streams run in parallel) would land in
one Python process that could not tell whose they were, and reaping them with waitpid(-1) would
steal exit statuses from subprocess.Popen; nor would it help when the harness is SIGKILLed.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import psutil

from harness.errors import HarnessError
from harness.model import ProcessOutcome, ResourceSample

PSUTIL_VERSION = psutil.__version__  # what a server host's agent reports (servers/agent.py)
STDERR_TAIL_CHARS = 2000  # how much of a failed program's stderr a result or an error keeps


def stderr_tail(stderr: str) -> str:
    """The end of stderr without Go's GC trace lines, which would drown an error message. Every
    failure that quotes a program's stderr (batch runs, servers, input commands) goes through here."""
    lines = [line for line in stderr.splitlines() if not line.startswith("gc ")]
    return "\n".join(lines)[-STDERR_TAIL_CHARS:]


# The launcher needs milliseconds to kill what is left; the grace is for a launcher that is wedged.
LAUNCHER_GRACE_SECONDS = 2.0

_live_groups: set[int] = set()  # launcher pids, each leading its own process group
_live_lock = threading.Lock()


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def abort_launcher(pid: int) -> None:
    """Ask a launcher to SIGKILL its program and every descendant, escaped ones included."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_all_children(grace_seconds: float = LAUNCHER_GRACE_SECONDS) -> None:
    """Stop every launcher this harness started and has not reaped yet, and all they started."""
    with _live_lock:
        groups = list(_live_groups)
    for pid in groups:
        abort_launcher(pid)
    deadline = time.monotonic() + grace_seconds
    while any(_running(pid) for pid in groups) and time.monotonic() < deadline:
        time.sleep(0.01)
    for pgid in groups:
        kill_group(pgid)


def stop_launcher(pid: int) -> None:
    """Abort a launcher this harness started and reap it."""
    abort_launcher(pid)
    deadline = time.monotonic() + LAUNCHER_GRACE_SECONDS
    with contextlib.suppress(ChildProcessError):  # already reaped
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
            time.sleep(0.005)
        kill_group(pid)
        os.waitpid(pid, 0)


def leftover_message(count: int) -> str:
    return f"left {count} process{'' if count == 1 else 'es'} running (killed)"


atexit.register(kill_all_children)


@contextmanager
def _track(pgid: int):
    with _live_lock:
        _live_groups.add(pgid)
    try:
        yield
    finally:
        with _live_lock:
            _live_groups.discard(pgid)


@contextmanager
def _thread_affinity(cpus: tuple[int, ...] | None):
    """Temporarily pin the calling thread; a child forked meanwhile inherits the CPU set."""
    if cpus is None:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    cpus: tuple[int, ...] | None,
    stdout: IO[bytes] | int,
    stderr: IO[bytes] | int,
) -> subprocess.Popen:
    """Start argv (never through a shell) in a new process group, pinned to `cpus`."""
    with _thread_affinity(cpus):
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, **env},
            start_new_session=True,
            close_fds=True,
        )


class Sampler(threading.Thread):
    """Samples a process's RSS and CPU times every `interval` seconds until stopped or gone."""

    def __init__(
        self, pid: int, interval_seconds: float, t0: float, child_of_launcher: bool = False
    ):
        super().__init__(name=f"sampler-{pid}", daemon=True)
        self._pid = pid
        self._child_of_launcher = child_of_launcher
        self._interval = interval_seconds
        self._t0 = t0
        self._stop_event = threading.Event()
        self.samples: list[ResourceSample] = []
        # What the live program showed: its CPU affinity (read once, at the first sample) and the
        # most threads it ran at once; None when it exited before the first sample.
        self.allowed_cpus: tuple[int, ...] | None = None
        self.threads: int | None = None

    def run(self) -> None:
        try:
            process = psutil.Process(self._pid)
            if self._child_of_launcher:  # sample the program, not the launcher that forked it
                while not (children := process.children()):
                    if self._stop_event.wait(0.001):
                        return
                process = children[0]
            while True:
                with process.oneshot():
                    memory = process.memory_info()
                    cpu = process.cpu_times()
                    threads = process.num_threads()
                    if self.allowed_cpus is None:
                        self.allowed_cpus = tuple(sorted(process.cpu_affinity()))
                self.threads = max(self.threads or 0, threads)
                if memory.rss > 0:
                    self.samples.append(
                        ResourceSample(
                            t_seconds=time.perf_counter() - self._t0,
                            rss_bytes=memory.rss,
                            user_seconds=cpu.user,
                            sys_seconds=cpu.system,
                        )
                    )
                if self._stop_event.wait(self._interval):
                    return
        except psutil.Error:
            return  # the process has exited (or become a zombie): the series ends here

    def stop(self) -> tuple[ResourceSample, ...]:
        self._stop_event.set()
        self.join()
        return tuple(self.samples)


class Executor(Protocol):
    """Runs one process and reports what happened; faked in tests."""

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cpus: tuple[int, ...] | None,
        timeout_seconds: float,
        sample_interval_seconds: float,
    ) -> ProcessOutcome: ...


LAUNCHER_SOURCE = Path(__file__).parent / "native" / "spawn.c"


def ensure_launcher(cache_dir: Path) -> Path:
    """Compile the small launcher (see native/spawn.c for why it exists) once per source version."""
    source = LAUNCHER_SOURCE.read_bytes()
    binary = cache_dir.resolve() / "bin" / f"gorust-spawn-{hashlib.sha256(source).hexdigest()[:12]}"
    if binary.exists():
        return binary
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise HarnessError(
            "no C compiler (cc/gcc) found: install gcc (apt-get install gcc); "
            "the harness compiles a tiny launcher to measure exact peak memory"
        )
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(binary.name + f".{os.getpid()}.tmp")
    done = subprocess.run(
        [compiler, "-O2", "-o", os.fspath(tmp), os.fspath(LAUNCHER_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"{LAUNCHER_SOURCE}: cc failed: {done.stderr.strip().splitlines()[-1:]}")
    os.replace(tmp, binary)
    return binary


@dataclass(frozen=True)
class LauncherReport:
    pid: int
    wait_status: int
    wall_seconds: float
    user_seconds: float
    sys_seconds: float
    peak_rss_bytes: int
    leftover_processes: int  # descendants still running once the program was reaped; now killed
    # When the program was started, on the system clock of the host it ran on (None from a
    # launcher before --start-at existed).
    started_unix_seconds: float | None = None


def _launcher_fields(text: str) -> dict[str, str]:
    # With --announce-pid the launcher writes `pid=N` before the report line: later fields win.
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


def parse_launcher_report(text: str) -> LauncherReport | None:
    fields = _launcher_fields(text)
    try:
        return LauncherReport(
            pid=int(fields["pid"]),
            wait_status=int(fields["status"]),
            wall_seconds=int(fields["wall_ns"]) / 1e9,
            user_seconds=int(fields["utime_us"]) / 1e6,
            sys_seconds=int(fields["stime_us"]) / 1e6,
            peak_rss_bytes=int(fields["maxrss_kib"]) * 1024,  # KiB on Linux
            leftover_processes=int(fields["leftover"]),
            started_unix_seconds=(
                int(fields["started_unix_ns"]) / 1e9 if "started_unix_ns" in fields else None
            ),
        )
    except (KeyError, ValueError):
        return None


def _read_report(path: Path) -> LauncherReport | None:
    return parse_launcher_report(path.read_text()) if path.exists() else None


class SubprocessExecutor:
    """The real executor: spawn through the launcher, sample, reap, read the exact rusage."""

    def __init__(self, launcher: Path):
        self.launcher = launcher

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cpus: tuple[int, ...] | None,
        timeout_seconds: float,
        sample_interval_seconds: float,
    ) -> ProcessOutcome:
        with tempfile.TemporaryDirectory(prefix="gorust-") as tmp:
            report_path = Path(tmp) / "rusage"
            out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
            timed_out = threading.Event()
            with out_path.open("wb") as out, err_path.open("wb") as err:
                start = time.perf_counter()
                proc = spawn(
                    [os.fspath(self.launcher), os.fspath(report_path), *argv], env, cpus, out, err
                )
            with _track(proc.pid):
                sampler = None
                if sample_interval_seconds > 0:
                    sampler = Sampler(
                        proc.pid, sample_interval_seconds, start, child_of_launcher=True
                    )
                    sampler.start()

                # On timeout the launcher kills the program and its descendants; if it is wedged,
                # the fallback SIGKILLs its group.
                fallback = threading.Timer(LAUNCHER_GRACE_SECONDS, kill_group, (proc.pid,))

                def on_timeout() -> None:
                    timed_out.set()
                    abort_launcher(proc.pid)
                    fallback.start()

                timer = threading.Timer(timeout_seconds, on_timeout)
                timer.start()
                try:
                    _, launcher_status, _ = os.wait4(proc.pid, 0)
                    outer_wall = time.perf_counter() - start
                except BaseException:
                    stop_launcher(proc.pid)
                    raise
                finally:
                    timer.cancel()
                    fallback.cancel()
                    samples = sampler.stop() if sampler else ()
                    kill_group(proc.pid)  # only if the launcher itself died: it reaps the rest
            proc.returncode = os.waitstatus_to_exitcode(launcher_status)  # reaped: Popen must not
            report = _read_report(report_path)
            seen = {
                "allowed_cpus": sampler.allowed_cpus if sampler else None,
                "threads": sampler.threads if sampler else None,
            }
            stdout = out_path.read_bytes().decode("utf-8", errors="replace")
            stderr = err_path.read_bytes().decode("utf-8", errors="replace")
        if report is None:  # killed before the program was reaped, or it could not be started
            return ProcessOutcome(
                exit_code=proc.returncode if not timed_out.is_set() else -signal.SIGKILL,
                wall_seconds=outer_wall,
                user_seconds=0.0,
                sys_seconds=0.0,
                peak_rss_bytes=0,
                stdout=stdout,
                stderr=stderr,
                timed_out=timed_out.is_set(),
                samples=samples,
                **seen,
            )
        return ProcessOutcome(
            exit_code=os.waitstatus_to_exitcode(report.wait_status),
            wall_seconds=report.wall_seconds,
            user_seconds=report.user_seconds,
            sys_seconds=report.sys_seconds,
            peak_rss_bytes=report.peak_rss_bytes,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out.is_set(),
            samples=samples,
            leftover_processes=report.leftover_processes,
            **seen,
        )


def read_peak_rss_bytes(pid: int) -> int | None:
    """VmHWM from /proc: the true peak RSS of a live process (a fresh mm starts at exec, so unlike
    ru_maxrss it does not carry the parent's peak)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class ServerProcess:
    """A long-running program under load, started through the launcher pinned in its own group and
    always stopped. `pid` is the server's own; the launcher above it catches whatever the server
    daemonises, and `leftover_processes` says how many it left running when it stopped."""

    def __init__(
        self,
        launcher: Path,
        argv: Sequence[str],
        env: Mapping[str, str],
        cpus: tuple[int, ...] | None,
        stdout_path: Path,
        stderr_path: Path,
    ):
        self._report_path = stderr_path.with_name(stderr_path.name + ".launcher")
        self._report_path.unlink(missing_ok=True)  # a stale pid must not be read as this one's
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            self.started = time.perf_counter()
            self.proc = spawn(
                [os.fspath(launcher), "--announce-pid", os.fspath(self._report_path), *argv],
                env,
                cpus,
                out,
                err,
            )
        with _live_lock:
            _live_groups.add(self.proc.pid)
        self.stderr_path = stderr_path
        self.leftover_processes = 0
        self._last_cpu = (0.0, 0.0)
        self._report: LauncherReport | None = None
        self._stopped = False
        self.pid = self._program_pid()
        try:
            self._ps: psutil.Process | None = psutil.Process(self.pid)
        except psutil.NoSuchProcess:  # it has exited already; exit_code() says how
            self._ps = None

    def _program_pid(self) -> int:
        """The launcher writes the pid the moment it has forked the server."""
        while self.proc.poll() is None:
            with contextlib.suppress(OSError):
                text = self._report_path.read_text()
                if text.endswith("\n"):  # the whole line, not a write caught halfway
                    return int(_launcher_fields(text)["pid"])
            time.sleep(0.001)
        report = _read_report(self._report_path)
        return report.pid if report else self.proc.pid  # the launcher failed before forking

    def _process(self) -> psutil.Process:
        if self._ps is None:
            raise psutil.NoSuchProcess(self.pid)
        return self._ps

    def _server_running(self) -> bool:
        try:
            return self._process().status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def _finish(self) -> int | None:
        """After the launcher has exited: the server's exit status, from the launcher's report."""
        if self._report is None:
            self._report = _read_report(self._report_path)
        if self._report is None:  # the server could not be started (the launcher says why)
            return self.proc.returncode
        return os.waitstatus_to_exitcode(self._report.wait_status)

    def exit_code(self) -> int | None:
        if self.proc.poll() is None:
            if self._server_running():
                return None
            self.proc.wait()  # the server is gone; the launcher is killing what it left
        return self._finish()

    def cpu_seconds(self) -> tuple[float, float]:
        """(user, sys) so far, or at the last reading once the launcher has reaped the server;
        psutil's clock-tick resolution (10 ms) is fine over whole phases."""
        with contextlib.suppress(psutil.NoSuchProcess):
            times = self._process().cpu_times()
            self._last_cpu = (times.user, times.system)
        return self._last_cpu

    def rss_bytes(self) -> int:
        try:
            return self._process().memory_info().rss
        except psutil.NoSuchProcess:
            return 0

    def peak_rss_bytes(self) -> int:
        """VmHWM: the peak since the start, or since the last reset_peak_rss."""
        return read_peak_rss_bytes(self.pid) or 0

    def reset_peak_rss(self) -> bool:
        """Reset VmHWM to the current RSS (`5` to /proc/PID/clear_refs, Linux 4.0+), so a phase's
        peak is its own; False when the kernel or permissions do not allow it."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def sampler(self, interval_seconds: float) -> Sampler:
        """A time-series sampler whose t=0 is the server's start, like its GC timestamps."""
        return Sampler(self.pid, interval_seconds, self.started)

    def stop(self, grace_seconds: float) -> int | None:
        """SIGTERM the server; after the grace period abort the launcher, which SIGKILLs it and
        everything it started. Reaps and returns the server's status. Processes the server left
        running are counted in `leftover_processes` only if it ended on its own or on SIGTERM: one
        that had to be killed had no chance to stop its children."""
        forced = False
        if self.proc.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                self._process().send_signal(signal.SIGTERM)  # psutil checks the pid is still its
            try:
                self.proc.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                forced = True
                abort_launcher(self.proc.pid)
                try:
                    self.proc.wait(timeout=LAUNCHER_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    kill_group(self.proc.pid)
                    self.proc.wait()
        with _live_lock:
            _live_groups.discard(self.proc.pid)
        self._stopped = True
        code = self._finish()
        if self._report is not None and not forced:
            self.leftover_processes = self._report.leftover_processes
        return code

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        if not self._stopped:
            self.stop(grace_seconds=2.0)


def available_cpus() -> tuple[int, ...]:
    return tuple(sorted(os.sched_getaffinity(0)))


def pin_current_process(cpus: tuple[int, ...]) -> None:
    """Move the harness (this thread and threads started later) onto `cpus`."""
    os.sched_setaffinity(0, cpus)
