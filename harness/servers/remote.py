"""Load hosts over SSH: connect, check, copy, run, fetch, clean up. The only module that uses
asyncssh.

Why asyncssh (docs/hosts.md): a well-kept SSH client library (SFTP, exit statuses, host-key
checking, concurrent sessions on one connection) that needs no ssh binary and no agent, and whose
event loop lets the harness start every host's load generator at once. Each host gets one
connection for the run; the harness's threads drive it through one event loop thread.

Nothing reaches a remote shell unquoted: every command is an argv joined with shlex.join, or one
of the fixed scripts below with quoted paths. Everything the harness starts on a host is a binary
it copied into `<work_dir>/bin/`, which is how leftovers are found (`ours`) and killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import platform
import re
import shlex
import threading
import time
import warnings
import zipfile
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

with warnings.catch_warnings():  # asyncssh still imports cryptography's deprecated DSA
    warnings.simplefilter("ignore")
    import asyncssh

from harness.analysis import noise
from harness.errors import HarnessError
from harness.measure.cpufeatures import parse_flags
from harness.measure.noise import parse_proc_stat
from harness.model import CopiedFile, HostMachine, HostSpec
from harness.servers.hosting import tcp_rtt_seconds

__all__ = ["tcp_rtt_seconds"]  # spread measures each link with it

CONNECT_TIMEOUT_SECONDS = 10.0
COMMAND_TIMEOUT_SECONDS = 30.0
CLOCK_SAMPLES = 9
T = TypeVar("T")


def transport_name() -> str:
    return f"ssh (asyncssh {asyncssh.__version__})"


class _Loop:
    """One asyncio loop in a daemon thread, shared by every connection of the process."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def call(cls, coroutine: Coroutine[Any, Any, T], timeout: float | None) -> T:
        with cls._lock:
            if cls._loop is None or not cls._loop.is_running():
                loop = asyncio.new_event_loop()
                started = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(started.set)
                    loop.run_forever()

                threading.Thread(target=serve, name="ssh-loop", daemon=True).start()
                started.wait()
                cls._loop = loop
            loop = cls._loop
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise


@dataclass(frozen=True)
class Completed:
    exit_status: int | None  # None: killed by a signal or the connection dropped
    stdout: str
    stderr: str


@dataclass(frozen=True)
class ClockOffset:
    """host clock - this machine's clock, from the round trip with the least delay."""

    offset_seconds: float
    uncertainty_seconds: float  # half that round trip: the offset is within ± this


def tail(text: str, limit: int = 300) -> str:
    return " ".join(text.strip().split())[-limit:]


class SshHost:
    """One host's SSH connection (a load host, or a server host of its own), and what the
    harness does there."""

    def __init__(
        self,
        spec: HostSpec,
        connection: asyncssh.SSHClientConnection,
        role: Literal["load", "server"] = "load",
    ):
        self.spec = spec
        self.connection = connection
        self.role = role
        self.label = f"{role} host {spec.name}"  # how errors name it
        self.bin_dir = f"{spec.work_dir.rstrip('/')}/bin"

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"SshHost({self.spec.name} {self.spec.user}@{self.spec.address}:{self.spec.port})"

    # --- commands --------------------------------------------------------------------------------

    def run(self, argv: Sequence[str], timeout: float = COMMAND_TIMEOUT_SECONDS) -> Completed:
        return self.script(shlex.join(argv), timeout)

    def script(self, command: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> Completed:
        """A command line of the harness's own (paths quoted by the caller)."""
        try:
            done = _Loop.call(
                self.connection.run(command, check=False, timeout=timeout), timeout + 5
            )
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise HarnessError(f"{self.label}: {command.split()[0]}: {exc!r}") from exc
        return Completed(done.exit_status, str(done.stdout or ""), str(done.stderr or ""))

    def checked(self, argv: Sequence[str], what: str) -> str:
        done = self.run(argv)
        if done.exit_status != 0:
            raise HarnessError(
                f"{self.label}: {what} failed (exit {done.exit_status}): {tail(done.stderr)}"
            )
        return done.stdout

    # --- files -----------------------------------------------------------------------------------

    def _bytes(self, command: str, data: bytes | None, what: str) -> Completed | bytes:
        """Run a command of ours with binary stdin/stdout: files travel over the command channel
        itself, so a host needs a shell and coreutils, not an SFTP subsystem."""
        try:
            done = _Loop.call(
                self.connection.run(
                    command,
                    input=data,
                    encoding=None,
                    check=False,
                    timeout=COMMAND_TIMEOUT_SECONDS * 4,
                ),
                COMMAND_TIMEOUT_SECONDS * 4 + 5,
            )
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise HarnessError(f"{self.label}: {what} failed: {exc!r}") from exc
        stderr = bytes(done.stderr or b"").decode(errors="replace")
        if done.exit_status != 0:
            return Completed(done.exit_status, "", stderr)
        return bytes(done.stdout or b"")

    def put(self, local: Path, remote: str) -> None:
        """Copy a file there (written beside, then renamed: never half a file), mode kept."""
        mode = f"{local.stat().st_mode & 0o777:o}"
        partial = f"{remote}.partial"
        command = (
            f"cat > {shlex.quote(partial)} && chmod {mode} {shlex.quote(partial)} && "
            f"mv -f {shlex.quote(partial)} {shlex.quote(remote)}"
        )
        done = self._bytes(command, local.read_bytes(), f"copying {local.name}")
        if isinstance(done, Completed):
            raise HarnessError(
                f"{self.label}: copying {local.name} to {remote} failed "
                f"(exit {done.exit_status}): {tail(done.stderr)}"
            )

    def get(self, remote: str, local: Path) -> bool:
        """Fetch one file; False when the host does not have it (the caller says what is missing)."""
        done = self._bytes(
            f"test -f {shlex.quote(remote)} && cat {shlex.quote(remote)}",
            None,
            f"fetching {remote}",
        )
        if isinstance(done, Completed):
            return False
        local.write_bytes(done)
        return True

    def install(self, local: Path, name: str | None = None) -> CopiedFile:
        """Copy a binary into <work_dir>/bin and check its SHA-256 there: a copy that arrived
        different is an error, never a run with another program."""
        name = name or local.name
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        remote = f"{self.bin_dir}/{name}"
        self.checked(["mkdir", "-p", self.bin_dir], "mkdir")
        self.put(local, remote)
        arrived = self.checked(["sha256sum", remote], "sha256sum").split()
        if not arrived or arrived[0] != digest:
            raise HarnessError(
                f"{self.label}: {name} arrived with SHA-256 "
                f"{arrived[0] if arrived else '(none)'} instead of {digest}"
            )
        return CopiedFile(name=name, sha256=digest, bytes=local.stat().st_size)

    # --- clocks, machines, leftovers -------------------------------------------------------------

    # One process answers every question with the host's time: bash's $EPOCHREALTIME (no fork),
    # else date. A new SSH command per question costs tens of milliseconds, which would be the
    # uncertainty; a line through a running process costs a fraction of one.
    CLOCK_SCRIPT = (
        "if command -v bash >/dev/null 2>&1; then exec bash -c "
        "'while read -r _; do echo \"${EPOCHREALTIME:-$(date +%s.%N)}\"; done'; "
        "else while read -r _; do date +%s.%N; done; fi"
    )

    async def _clock(self, samples: int) -> list[tuple[float, float, str]]:
        readings = []
        async with self.connection.create_process(self.CLOCK_SCRIPT) as process:
            for _ in range(samples):
                before = time.time()
                process.stdin.write("\n")
                line = await process.stdout.readline()
                readings.append((before, time.time(), str(line).strip()))
            process.stdin.write_eof()
        return readings

    def clock_offset(self, samples: int = CLOCK_SAMPLES) -> ClockOffset:
        """Offset of the host's clock, Cristian's way: the host's time against the midpoint of
        this machine's time around the question, from the least-delayed round trip."""
        try:
            readings = _Loop.call(self._clock(samples), COMMAND_TIMEOUT_SECONDS)
        except (asyncssh.Error, OSError, TimeoutError) as exc:
            raise HarnessError(f"{self.label}: reading its clock failed: {exc!r}") from exc
        best: tuple[float, float] | None = None
        for before, after, text in readings:
            try:
                remote = float(text.replace(",", "."))  # EPOCHREALTIME follows the locale
            except ValueError as exc:
                raise HarnessError(
                    f"{self.label}: its clock printed {text!r}, not seconds"
                ) from exc
            half = (after - before) / 2
            if best is None or half < best[1]:
                best = (remote - (before + half), half)
        if best is None:
            raise HarnessError(f"{self.label}: its clock gave no reading")
        return ClockOffset(offset_seconds=best[0], uncertainty_seconds=best[1])

    def machine(self) -> HostMachine:
        """The host's machine record, from the same files the local record reads."""
        script = (
            "uname -n; uname -m; uname -r; (ldd --version 2>&1 | head -n 1); nproc; "
            "grep MemTotal /proc/meminfo; "
            "cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null "
            "|| echo; echo '--- cpuinfo'; cat /proc/cpuinfo; echo '--- stat'; cat /proc/stat; "
            "sleep 1; echo '--- stat'; cat /proc/stat"
        )
        done = self.script(script)
        if done.exit_status != 0:
            raise HarnessError(f"{self.label}: machine probe failed: {tail(done.stderr)}")
        return parse_machine(done.stdout)

    def ours(self) -> list[str]:
        """The processes running one of the harness's copied binaries on the host."""
        done = self.run(["ps", "-eo", "pid=,args="])
        return [
            line.strip()
            for line in done.stdout.splitlines()
            if f"{self.bin_dir}/" in line and "ps -eo" not in line
        ]

    def kill_ours(self) -> int:
        """Kill every process of ours on the host; how many there were."""
        found = self.ours()
        pids = [line.split()[0] for line in found]
        if pids:
            self.run(["kill", "-KILL", *pids])
        return len(found)

    def close(self) -> None:
        self.connection.close()
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            _Loop.call(self.connection.wait_closed(), 5)


def parse_machine(text: str) -> HostMachine:
    head, _, rest = text.partition("--- cpuinfo\n")
    lines = head.splitlines() + [""] * 7
    hostname, arch, kernel, libc_line, nproc, meminfo, clock = lines[:7]
    cpuinfo, _, stats = rest.partition("--- stat\n")
    first, _, second = stats.partition("--- stat\n")
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    usage = None
    try:
        usage = noise.cpu_usage_between(parse_proc_stat(first), parse_proc_stat(second), None)
    except (ValueError, IndexError):
        usage = None
    memory = re.search(r"(\d+)\s*kB", meminfo)
    return HostMachine(
        hostname=hostname.strip(),
        arch=arch.strip(),
        libc=describe_libc(libc_line),
        cpu_model=model,
        cpu_count=int(nproc) if nproc.strip().isdigit() else 0,
        memory_bytes=int(memory.group(1)) * 1024 if memory else 0,
        kernel=kernel.strip(),
        cpu_flags=parse_flags(cpuinfo),
        clock_source=clock.strip() or None,
        steal_share=None if usage is None else usage.steal_share,
    )


def describe_libc(ldd_first_line: str) -> str:
    """'glibc 2.36' from `ldd --version`'s first line, 'musl' for musl, else the line itself."""
    line = ldd_first_line.strip()
    if "musl" in line.lower():
        return "musl"
    found = re.search(r"(?:GLIBC|GNU libc).*?(\d+\.\d+)\s*$", line, re.IGNORECASE)
    return f"glibc {found.group(1)}" if found else line or "unknown"


def glibc_needed(binary: Path) -> tuple[int, int] | None:
    """The newest GLIBC_x.y symbol version a binary asks for (None: it asks for none, e.g.
    statically linked): a host with an older glibc cannot load it."""
    versions = {
        (int(m.group(1)), int(m.group(2)))
        for m in re.finditer(rb"GLIBC_(\d+)\.(\d+)", binary.read_bytes())
    }
    return max(versions) if versions else None


def can_run(machine: HostMachine, binaries: Sequence[Path]) -> str | None:
    """Why the host cannot run binaries built here, in one line; None when it can."""
    local_arch = platform.machine()
    if machine.arch != local_arch:
        return f"its CPU architecture is {machine.arch}, the binaries are built for {local_arch}"
    needed = max((v for b in binaries if (v := glibc_needed(b)) is not None), default=None)
    if needed is None:
        return None
    found = re.match(r"glibc (\d+)\.(\d+)", machine.libc)
    if not found:
        return f"its C library is {machine.libc}; the binaries need glibc {needed[0]}.{needed[1]}"
    if (int(found.group(1)), int(found.group(2))) < needed:
        return f"it has {machine.libc}; the binaries need glibc {needed[0]}.{needed[1]} or newer"
    return None


async def _connect(spec: HostSpec) -> asyncssh.SSHClientConnection:
    options: dict[str, Any] = {"username": spec.user, "port": spec.port}
    if spec.key_file:
        options["client_keys"] = [spec.key_file]
        options["agent_path"] = None
    if spec.known_hosts:
        options["known_hosts"] = spec.known_hosts  # otherwise ~/.ssh/known_hosts: always checked
    return await asyncio.wait_for(
        asyncssh.connect(spec.address, **options), CONNECT_TIMEOUT_SECONDS
    )


def connect(
    spec: HostSpec, inventory_path: str, role: Literal["load", "server"] = "load"
) -> SshHost:
    """A connection to the host, or one line naming the inventory, the host and why not."""
    try:
        connection = _Loop.call(_connect(spec), CONNECT_TIMEOUT_SECONDS + 5)
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        table = "[[load]]" if role == "load" else "[server]"
        raise HarnessError(
            f"{inventory_path} {table} {spec.name}: cannot reach "
            f"{spec.user}@{spec.address}:{spec.port} over SSH ({reason})"
        ) from exc
    return SshHost(spec, connection, role)


def connect_all(specs: Sequence[HostSpec], inventory_path: str) -> list[SshHost]:
    """Every host connected, or none (those already open are closed) and the first error."""
    hosts: list[SshHost] = []
    try:
        for spec in specs:
            hosts.append(connect(spec, inventory_path))
    except HarnessError:
        for host in hosts:
            host.close()
        raise
    return hosts


# --- the agent on a server host of its own -------------------------------------------------------

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the harness package
AGENT_MODULE = "harness.servers.agent"
MIN_AGENT_PYTHON = (3, 11)
# Put the copied package first on the path, then run the agent; -I: no user site, no PYTHON*
# variables, so the host's own harness (if any) can never be the one that runs.
AGENT_BOOT = (
    "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); "
    f"runpy.run_module({AGENT_MODULE!r}, run_name='__main__')"
)


def agent_package(folder: Path) -> Path:
    """The harness package's Python files in one zip (the agent imports from it), written
    reproducibly: the same code gives the same bytes, hence the same SHA-256 on every host."""
    files = sorted(p for p in PACKAGE_ROOT.rglob("*.py") if "__pycache__" not in p.parts)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(
                f"harness/{path.relative_to(PACKAGE_ROOT).as_posix()}", (1980, 1, 1, 0, 0, 0)
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    target = folder / f"harness-agent-{hashlib.sha256(data).hexdigest()[:12]}.zip"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        partial.replace(target)
        for stale in folder.glob("harness-agent-*.zip"):  # an older harness's
            if stale != target:
                stale.unlink(missing_ok=True)
    return target


class AgentChannel:
    """The agent's stdin and stdout over one SSH session: one JSON line each way per call."""

    def __init__(self, host: SshHost, process: asyncssh.SSHClientProcess):
        self.host = host
        self.process = process

    async def _call(self, line: str) -> str:
        self.process.stdin.write(line + "\n")
        return str(await self.process.stdout.readline())

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = _Loop.call(self._call(json.dumps(request)), COMMAND_TIMEOUT_SECONDS)
        if not answer:
            raise ConnectionError(f"the agent ended: {self.stderr_tail() or '(no stderr)'}")
        return json.loads(answer)

    def stderr_tail(self) -> str:
        async def read() -> str:
            try:
                return str(await asyncio.wait_for(self.process.stderr.read(), 2))
            except (TimeoutError, asyncssh.Error, OSError):
                return ""

        try:
            return tail(_Loop.call(read(), 5))
        except (TimeoutError, asyncssh.Error, OSError):
            return ""

    def close(self) -> None:
        """End of input: the agent stops every server it still runs, then exits."""

        async def finish() -> None:
            self.process.stdin.write_eof()
            await asyncio.wait_for(self.process.wait_closed(), COMMAND_TIMEOUT_SECONDS)

        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            _Loop.call(finish(), COMMAND_TIMEOUT_SECONDS + 5)


def agent_argv(python: str, package: str, folder: str) -> list[str]:
    """The command that starts the agent from the copied package: the host's Python, isolated
    (-I), with the package first on its path."""
    return [python, "-I", "-c", AGENT_BOOT, package, "--dir", folder]


def agent_problem(hello: dict[str, Any], package: str) -> str | None:
    """Why the agent that answered cannot measure for this harness, or None: its Python is too
    old, or it ran a harness other than the copied package (one installed on the host)."""
    if tuple(hello["python"][:2]) < MIN_AGENT_PYTHON:
        return f"its Python is {'.'.join(map(str, hello['python']))}"
    if not str(hello["harness"]).startswith(package):
        return f"it ran the harness at {hello['harness']}, not the copy"
    return None


def open_agent(host: SshHost, python: str, package: CopiedFile) -> AgentChannel:
    """The agent started on the host from the copied package, and checked: the host's Python is
    new enough, has psutil, and runs the copy (not some other harness). One line naming the host
    and why, otherwise."""
    copy = f"{host.bin_dir}/{package.name}"
    command = shlex.join(agent_argv(python, copy, f"{host.spec.work_dir.rstrip('/')}/agent"))

    async def start() -> asyncssh.SSHClientProcess:
        return await host.connection.create_process(command)

    try:
        process = _Loop.call(start(), COMMAND_TIMEOUT_SECONDS)
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        raise HarnessError(f"{host.label}: starting the agent failed: {exc!r}") from exc
    channel = AgentChannel(host, process)
    try:
        hello = channel.call({"op": "hello"})["value"]
    except (ConnectionError, TimeoutError, ValueError, KeyError, asyncssh.Error, OSError) as exc:
        channel.close()
        raise HarnessError(
            f"{host.label}: {python} cannot run the harness's agent ({exc}); it needs Python "
            f"{'.'.join(map(str, MIN_AGENT_PYTHON))}+ with psutil ([server] python)"
        ) from exc
    problem = agent_problem(hello, copy)
    if problem:
        channel.close()
        raise HarnessError(f"{host.label}: the harness's agent cannot run there: {problem}")
    return channel
