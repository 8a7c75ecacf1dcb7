"""Where servers run: this machine (LocalServerHost), or a server host reached over SSH
(RemoteServerHost, docs/hosts.md "The server on its own host").

Everything the protocol does to a running server on its own machine goes through a ServerHost:
start it under the measuring launcher, pick a free port, see whether a back end accepts, read its
stderr, read /proc/stat and the server's CPU set, observe its transport. On a remote server host
the same LocalServerHost code does these things there, inside the harness's agent
(harness/servers/agent.py, started over SSH with the server host's python and psutil); the
RemoteServerHost here sends it one JSON line per call and reads one back. So a server's CPU times,
its VmHWM reset and peak, its psutil samples and its GC trace are read on its own host by the
code that reads them on this one, never estimated from outside.

Time base: a remote server's `started` is its start on this machine's perf_counter, from the
agent's "seconds since it started" and the midpoint of the call's round trip; its samples and GC
timestamps are on the server's own time base (the agent's clock), as they are here.

This module imports only the standard library and harness.measure (psutil through the launcher):
the agent runs it on a host that has nothing else installed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from harness.measure.launcher import ServerProcess
from harness.measure.noise import read_cpu_times
from harness.model import CpuTimes, ResourceSample
from harness.servers import transport

LOOPBACK = "127.0.0.1"


class ServerFailure(Exception):
    """The server could not be started or stopped answering; the message says why."""


def free_port(address: str = LOOPBACK) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def accepts(listen: str) -> bool:
    """Whether something accepts a connection at HOST:PORT or unix:PATH."""
    if listen.startswith("unix:"):
        family, target = socket.AF_UNIX, listen[len("unix:") :]
    else:
        host, port = listen.rsplit(":", 1)
        family, target = socket.AF_INET, (host, int(port))
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(target)
        except OSError:
            return False
    return True


def server_cpu_set(pid: int) -> tuple[int, ...] | None:
    """The CPUs the running server may use, read back from the kernel; None once it has gone."""
    try:
        return tuple(sorted(os.sched_getaffinity(pid)))
    except OSError:
        return None


RTT_SAMPLES = 9


def tcp_rtt_seconds(address: str, port: int, samples: int = RTT_SAMPLES) -> float | None:
    """Median time to open a TCP connection to the host (one SYN, SYN-ACK round trip plus the
    kernels' work); None when it could not be measured."""
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        try:
            with socket.create_connection((address, port), timeout=5):
                times.append(time.perf_counter() - start)
        except OSError:
            return None
    return statistics.median(times)


class ServerHost(Protocol):
    """What the server lifecycle and the phase's ServerWatch need of the machine servers run on."""

    name: str
    remote: bool

    def process(
        self,
        launcher: Path,
        argv: Sequence[str],
        env: Mapping[str, str],
        cpus: tuple[int, ...] | None,
        stdout_path: Path,
        stderr_path: Path,
    ) -> ServerProcess: ...

    def free_port(self, address: str) -> int: ...

    def accepts(self, listen: str) -> bool: ...

    def socket_path(self, name: str) -> str: ...

    def remove(self, path: str) -> None: ...

    def read_text(self, path: Path) -> str: ...

    def read_stat(self) -> tuple[CpuTimes, ...] | None: ...

    def cpu_set(self, pid: int) -> tuple[int, ...] | None: ...

    def observe_transport(
        self, pid: int, port: int, path: str, response_path: str | None, address: str
    ) -> dict[str, str]: ...

    def rtt_seconds(self, address: str, port: int) -> float | None: ...


class LocalServerHost:
    """This machine: what the harness has always done."""

    name = "this machine"
    remote = False

    def __init__(self, read_stat: Callable[[], tuple[CpuTimes, ...] | None] = read_cpu_times):
        self._read_stat = read_stat

    def process(self, launcher, argv, env, cpus, stdout_path, stderr_path) -> ServerProcess:
        return ServerProcess(launcher, argv, env, cpus, stdout_path, stderr_path)

    def free_port(self, address: str) -> int:
        return free_port(address)

    def accepts(self, listen: str) -> bool:
        return accepts(listen)

    def socket_path(self, name: str) -> str:
        """In the system's temporary folder, whose short path fits the 107 bytes a socket
        address holds."""
        return os.fspath(Path(tempfile.gettempdir()) / name)

    def remove(self, path: str) -> None:
        Path(path).unlink(missing_ok=True)

    def read_text(self, path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    def read_stat(self) -> tuple[CpuTimes, ...] | None:
        return self._read_stat()

    def cpu_set(self, pid: int) -> tuple[int, ...] | None:
        return server_cpu_set(pid)

    def observe_transport(self, pid, port, path, response_path, address) -> dict[str, str]:
        return transport.observe(pid, port, path, response_path, address)

    def rtt_seconds(self, address: str, port: int) -> float | None:
        return tcp_rtt_seconds(address, port)


LOCAL = LocalServerHost()


class Channel(Protocol):
    """One request line out, one reply line back (remote.AgentChannel over SSH)."""

    def call(self, request: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class RemoteServerHost:
    """A server host reached over SSH, its calls answered by the agent running there.

    `install(local_path) -> remote_path` copies a binary into the host's bin folder (SHA-256
    checked there) the first time it is named; every program the agent starts is such a copy.
    A call that fails (the agent died, the link dropped) is a ServerFailure naming the host, so
    the workload being measured fails with it and the run goes on."""

    remote = True

    def __init__(self, name: str, channel: Channel, install: Callable[[Path], str]):
        self.name = name
        self.channel = channel
        self._install = install
        self._lock = threading.Lock()
        self.lost: str | None = None  # why the channel failed; every later call fails at once

    def call(self, op: str, **fields: Any) -> Any:
        with self._lock:
            if self.lost is not None:  # a reply may still be on its way: never read it as another's
                raise ServerFailure(f"server host {self.name}: {op}: lost earlier ({self.lost})")
            try:
                reply = self.channel.call({"op": op, **fields})
            except Exception as exc:  # the link or the agent: the host is named either way
                self.lost = f"{op}: {exc}"
                raise ServerFailure(f"server host {self.name}: {op}: {exc}") from exc
        if "error" in reply:
            raise ServerFailure(f"server host {self.name}: {op}: {reply['error']}")
        return reply.get("value")

    def timed_call(self, op: str, **fields: Any) -> tuple[Any, float, float]:
        """A call with this machine's perf_counter just before and just after it."""
        before = time.perf_counter()
        value = self.call(op, **fields)
        return value, before, time.perf_counter()

    def process(self, launcher, argv, env, cpus, stdout_path, stderr_path) -> RemoteProcess:
        program = [self._install(Path(argv[0])), *argv[1:]]
        reply, before, after = self.timed_call(
            "spawn",
            launcher=self._install(Path(launcher)),
            argv=program,
            env=dict(env),
            cpus=list(cpus) if cpus is not None else None,
            stdout=stdout_path.name,
            stderr=stderr_path.name,
        )
        process = RemoteProcess(self, reply["id"], reply["pid"], stderr_path)
        # The server's start on this machine's clock, within half the round trip.
        process.started = (before + after) / 2 - reply["since_start"]
        return process

    def free_port(self, address: str) -> int:
        return int(self.call("free_port", address=address))

    def accepts(self, listen: str) -> bool:
        return bool(self.call("accepts", listen=listen))

    def socket_path(self, name: str) -> str:
        return str(self.call("socket_path", name=name))

    def remove(self, path: str) -> None:
        self.call("remove", path=path)

    def read_text(self, path: Path) -> str:
        """A server's output file, fetched (and kept here beside the local run's files)."""
        text = str(self.call("read", name=path.name))
        with contextlib.suppress(OSError):
            path.write_text(text)
        return text

    def read_stat(self) -> tuple[CpuTimes, ...] | None:
        lines = self.call("stat")
        return None if lines is None else tuple(CpuTimes(**line) for line in lines)

    def cpu_set(self, pid: int) -> tuple[int, ...] | None:
        found = self.call("cpu_set", pid=pid)
        return None if found is None else tuple(found)

    def observe_transport(self, pid, port, path, response_path, address) -> dict[str, str]:
        return dict(
            self.call(
                "transport",
                pid=pid,
                port=port,
                path=path,
                response_path=response_path,
                address=address,
            )
        )

    def rtt_seconds(self, address: str, port: int) -> float | None:
        """Measured from the server host, as the load's packets travel."""
        return self.call("rtt", address=address, port=port)

    def stop_all(self) -> int:
        """Every server the agent still runs, stopped: how many there were."""
        return int(self.call("stop_all"))

    def close(self) -> None:
        self.channel.close()


class RemoteProcess:
    """ServerProcess's interface, for a server the agent runs on the server host."""

    def __init__(self, host: RemoteServerHost, process_id: int, pid: int, stderr_path: Path):
        self.host = host
        self.id = process_id
        self.pid = pid
        self.stderr_path = stderr_path
        self.started = 0.0
        self.leftover_processes = 0
        self._last_cpu = (0.0, 0.0)
        self._exit: int | None = None
        self._stopped = False

    def _call(self, method: str, **fields: Any) -> Any:
        return self.host.call("process", id=self.id, method=method, **fields)

    def exit_code(self) -> int | None:
        if self._stopped:
            return self._exit
        return self._call("exit_code")

    def cpu_seconds(self) -> tuple[float, float]:
        if not self._stopped:
            user, system = self._call("cpu_seconds")
            self._last_cpu = (user, system)
        return self._last_cpu

    def rss_bytes(self) -> int:
        return 0 if self._stopped else int(self._call("rss_bytes"))

    def peak_rss_bytes(self) -> int:
        return 0 if self._stopped else int(self._call("peak_rss_bytes"))

    def reset_peak_rss(self) -> bool:
        return False if self._stopped else bool(self._call("reset_peak_rss"))

    def sampler(self, interval_seconds: float) -> RemoteSampler:
        return RemoteSampler(self, interval_seconds)

    def stop(self, grace_seconds: float) -> int | None:
        """Stopped by the agent as ServerProcess.stop stops it here. A host that no longer
        answers cannot stop it: the agent's end of input (or its launchers' parent-death
        signal) does, and the harness's check for processes of its own on the host after the run
        counts what was left."""
        if self._stopped:
            return self._exit
        self._stopped = True
        try:
            reply = self._call("stop", grace=grace_seconds)
        except ServerFailure:
            return None
        self._exit = reply["exit"]
        self.leftover_processes = reply["leftover"]
        return self._exit

    def __enter__(self) -> RemoteProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop(2.0)


class RemoteSampler:
    """The psutil sampler, running beside the server on its host; its samples come back at stop."""

    def __init__(self, process: RemoteProcess, interval_seconds: float):
        self.process = process
        self.interval_seconds = interval_seconds
        self.sampler_id: int | None = None

    def start(self) -> None:
        self.sampler_id = self.process._call("sampler_start", interval=self.interval_seconds)

    def stop(self) -> tuple[ResourceSample, ...]:
        if self.sampler_id is None:
            return ()
        rows = self.process.host.call("sampler_stop", sampler=self.sampler_id)
        return tuple(ResourceSample(**row) for row in rows)


def encode_cpu_times(times: Sequence[CpuTimes] | None) -> list[dict[str, int]] | None:
    return None if times is None else [asdict(t) for t in times]
