"""A server's life: start it on a free port of its listen address (127.0.0.1, or the server
host's address when load comes from other hosts), wait until /health answers, fetch request
bodies and a digest of its answers, stop it.

Every start goes through the measuring launcher (measure.ServerProcess), which pins the server,
records its resource use, and on stop kills anything it left running; a server that exits before
it is ready, or never gets ready, is a ServerFailure carrying its stderr tail.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.measure import cpus as program_cpus
from harness.measure.launcher import ServerProcess, leftover_message
from harness.measure.launcher import stderr_tail as launcher_stderr_tail
from harness.measure.runner import argv_for
from harness.model import BuildRecord, Implementation, ServerSettings, Workload


class ServerFailure(Exception):
    """The server could not be started or stopped answering; the message says why."""


LOOPBACK = "127.0.0.1"
# The binary contract's variable for the address to listen on (workloads/README.md).
LISTEN_ADDRESS_VARIABLE = "HARNESS_LISTEN_ADDRESS"


def free_port(address: str = LOOPBACK) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def url_host(address: str) -> str:
    """An address as a URL's host: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


def stderr_tail(path: Path) -> str:
    """The end of a server's stderr, Go's gctrace lines left out."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return launcher_stderr_tail(text)


def fill(template: str, params: Mapping[str, object]) -> str:
    return template.format_map({k: str(v) for k, v in params.items()})


def http_call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 5.0,
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()
    except http.client.HTTPException as exc:  # e.g. a server dying mid-answer (IncompleteRead)
        raise OSError(f"{method} {url}: {exc!r}") from exc


@dataclass
class RunningServer:
    process: ServerProcess
    port: int
    stderr_path: Path
    address: str = LOOPBACK  # where it listens (ServerSettings.listen_address)

    @property
    def base_url(self) -> str:
        return f"http://{url_host(self.address)}:{self.port}"

    def stderr_tail(self) -> str:
        return stderr_tail(self.stderr_path)


def note_leftovers(errors: dict[str, str], key: str, process: ServerProcess) -> None:
    """A stopped server that left processes running fails its implementation."""
    if process.leftover_processes:
        left = leftover_message(process.leftover_processes)
        errors[key] = f"{errors[key]}; {left}" if key in errors else left


def environment(
    impl: Implementation, parallelism: int, listen_address: str = LOOPBACK
) -> dict[str, str]:
    """The binary contract's CPU settings, one N for both runtimes (workloads/README.md):
    HARNESS_CPUS for every program, GOMAXPROCS for Go, TOKIO_WORKER_THREADS and RAYON_NUM_THREADS
    so the Rust pools' own defaults agree; Go's GC traced for the pauses; the listen address when
    it is not 127.0.0.1 (so a one-machine server's environment is what it always was); a sweep's
    runtime setting (impl.env) over all of them."""
    traced = {"GODEBUG": "gctrace=1"} if impl.lang == "go" else {}
    listen = {LISTEN_ADDRESS_VARIABLE: listen_address} if listen_address != LOOPBACK else {}
    return {
        **program_cpus.variables(impl.lang, parallelism),
        **traced,
        **listen,
        **dict(impl.env),
    }


def start(
    launcher: Path,
    settings: ServerSettings,
    workload: Workload,
    impl: Implementation,
    build: BuildRecord,
    params: Mapping[str, object],
    folder: Path,
) -> RunningServer:
    """A server answering /health, or ServerFailure (it exited, or was not ready in time: then it
    is stopped, and whatever it left running is killed and named)."""
    address = settings.listen_address
    port = free_port(address)
    argv = argv_for(workload, build.binary_path or "", params, None, port=port)
    stderr_path = folder / f"{impl.lang}-{impl.variant}-{port}.stderr"
    process = ServerProcess(
        launcher,
        argv,
        environment(impl, settings.parallelism, address),
        settings.server_cpus,
        folder / f"{impl.lang}-{impl.variant}-{port}.stdout",
        stderr_path,
    )
    server = RunningServer(process, port, stderr_path, address)
    deadline = time.monotonic() + settings.ready_timeout_seconds
    assert workload.server is not None
    health = server.base_url + workload.server.health
    while True:
        code = process.exit_code()
        if code is not None:
            process.stop(0)
            left = process.leftover_processes
            raise ServerFailure(
                f"server exited with status {code} before it was ready: "
                f"{stderr_tail(stderr_path) or '(no stderr)'}"
                + (f"; {leftover_message(left)}" if left else "")
            )
        try:
            if http_call(health, timeout=1.0)[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.stop(settings.stop_grace_seconds)
            raise ServerFailure(
                f"server not ready on {health} after "
                f"{settings.ready_timeout_seconds:g} s: {stderr_tail(stderr_path)}"
            )
        time.sleep(0.05)


def request_bodies(
    workload: Workload, server: RunningServer, params: Mapping[str, object]
) -> dict[str, bytes | None]:
    """Each stream's body: literal, or the server's own answer to `body_from` (same bytes on both
    sides once the digests agree)."""
    assert workload.server is not None
    bodies: dict[str, bytes | None] = {}
    for stream in workload.server.requests:
        if stream.body_from:
            bodies[stream.name] = http_call(server.base_url + fill(stream.body_from, params))[2]
        else:
            bodies[stream.name] = stream.body.encode() if stream.body is not None else None
    return bodies


def response_digest(
    workload: Workload,
    server: RunningServer,
    params: Mapping[str, object],
    bodies: Mapping[str, bytes | None],
) -> str:
    """A digest of status, content type and body of each check request: equal digests mean
    byte-identical answers."""
    assert workload.server is not None
    digest = hashlib.sha256()
    for stream in workload.server.requests:
        if stream.rand_regex:
            continue  # regex paths are checked by the phases' status counts instead
        status, content_type, body = http_call(
            server.base_url + fill(stream.path, params),
            stream.method,
            bodies[stream.name],
            stream.content_type,
        )
        digest.update(f"{stream.name} {status} {content_type}\n".encode() + body + b"\n")
    for path in workload.server.checks:
        status, content_type, body = http_call(server.base_url + fill(path, params))
        digest.update(f"{path} {status} {content_type}\n".encode() + body + b"\n")
    return digest.hexdigest()[:16]
