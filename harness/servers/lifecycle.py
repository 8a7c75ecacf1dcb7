"""A server's life: start it on a free port of its listen address (127.0.0.1, or the server
host's address when load comes from other hosts), wait until /health answers, fetch request
bodies and a digest of its answers, stop it.

A server with a back end (BackendSpec: the Rust service behind a Go front, the fixed upstream
behind a proxy) is a pair: the back end starts first, on 127.0.0.1 or a unix socket, and must
accept a connection before the front starts with HARNESS_BACKEND=PROTOCOL:ADDRESS (and its
{backend} argument); the pair is stopped front first, and either one dying is the pair failing,
named by which.

Every start goes through the measuring launcher (measure.ServerProcess), which pins the server,
records its resource use, and on stop kills anything it left running; a server that exits before
it is ready, or never gets ready, is a ServerFailure carrying its stderr tail.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.measure import cpus as program_cpus
from harness.measure.launcher import ServerProcess, leftover_message
from harness.measure.launcher import stderr_tail as launcher_stderr_tail
from harness.measure.runner import argv_for
from harness.model import BackendSpec, BuildRecord, Implementation, ServerSettings, Workload
from harness.servers.hosting import LOCAL, LOOPBACK, ServerFailure, ServerHost, free_port

__all__ = ["LOOPBACK", "ServerFailure", "free_port"]  # where callers have always found them
# The binary contract's variable for the address to listen on (workloads/README.md).
LISTEN_ADDRESS_VARIABLE = "HARNESS_LISTEN_ADDRESS"
# The binary contract's variable that tells a front where its back end is: PROTOCOL:ADDRESS, e.g.
# grpc:127.0.0.1:41234 or grpc:unix:/tmp/gorust-….sock (workloads/README.md).
BACKEND_VARIABLE = "HARNESS_BACKEND"


def url_host(address: str) -> str:
    """An address as a URL's host: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


def stderr_tail(path: Path, host: ServerHost = LOCAL) -> str:
    """The end of a server's stderr, Go's gctrace lines left out."""
    try:
        return launcher_stderr_tail(host.read_text(path))
    except ServerFailure:  # the host cannot be asked any more: say so rather than hide the cause
        return "(stderr not readable: the server host did not answer)"


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
class RunningBackend:
    """A back end a front calls, running: where it listens (127.0.0.1:PORT or unix:PATH)."""

    spec: BackendSpec
    process: ServerProcess
    listen: str
    stderr_path: Path
    socket_path: str | None = None  # a unix socket's file (on its host), removed at stop
    host: ServerHost = field(default=LOCAL, repr=False)

    @property
    def port(self) -> int | None:
        return None if self.socket_path else int(self.listen.rsplit(":", 1)[1])

    def stderr_tail(self) -> str:
        return stderr_tail(self.stderr_path, self.host)

    def stop(self, grace_seconds: float) -> int | None:
        code = self.process.stop(grace_seconds)
        if self.socket_path is not None:
            self.host.remove(self.socket_path)
        return code


@dataclass
class RunningServer:
    process: ServerProcess
    port: int
    stderr_path: Path
    address: str = LOOPBACK  # where it listens (ServerSettings.listen_address)
    backend: RunningBackend | None = None
    host: ServerHost = field(default=LOCAL, repr=False)  # the machine it runs on

    @property
    def base_url(self) -> str:
        return f"http://{url_host(self.address)}:{self.port}"

    def stderr_tail(self) -> str:
        """The front's stderr tail, and a back end's when it has one to say."""
        tail = stderr_tail(self.stderr_path, self.host)
        if self.backend is not None and (back := self.backend.stderr_tail()):
            tail = f"{tail} | back end {self.backend.spec.name}: {back}"
        return tail

    def death(self) -> str | None:
        """Which process of the server has exited, in words; None while all run."""
        code = self.process.exit_code()
        if code is not None:
            return f"exit {code}"
        if self.backend is not None:
            code = self.backend.process.exit_code()
            if code is not None:
                return f"its back end {self.backend.spec.name} exited with status {code}"
        return None

    @property
    def leftover_processes(self) -> int:
        back = self.backend.process.leftover_processes if self.backend else 0
        return self.process.leftover_processes + back

    def stop(self, grace_seconds: float) -> int | None:
        """Front first (so it never sees its back end vanish mid-request), then the back end."""
        try:
            return self.process.stop(grace_seconds)
        finally:
            if self.backend is not None:
                self.backend.stop(grace_seconds)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop(2.0)


def note_leftovers(
    errors: dict[str, str], key: str, process: ServerProcess | RunningServer
) -> None:
    """A stopped server (or pair) that left processes running fails its implementation."""
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


def backend_cpus(settings: ServerSettings, spec: BackendSpec) -> tuple[int, ...] | None:
    """ "server": the front's CPUs; "apart": the load generator's (BackendSpec.cpus)."""
    return settings.server_cpus if spec.cpus == "server" else settings.loadgen_cpus


def start_backend(
    launcher: Path,
    settings: ServerSettings,
    spec: BackendSpec,
    build: BuildRecord,
    params: Mapping[str, object],
    folder: Path,
    host: ServerHost = LOCAL,
) -> RunningBackend:
    """A back end accepting connections on its host, or ServerFailure naming it (it failed to
    build, exited, or did not accept in time: then it is stopped). A unix socket lives in the
    host's temporary folder (ServerHost.socket_path)."""
    if not build.ok or not build.binary_path:
        raise ServerFailure(
            f"back end {spec.name} ({spec.key}) did not build: {build.error or 'no binary'}"
        )
    socket_path = None
    if spec.transport == "unix":
        name = f"gorust-{os.getpid()}-{spec.name}-{secrets.token_hex(4)}.sock"
        socket_path = host.socket_path(name)
        listen = f"unix:{socket_path}"
    else:
        port = host.free_port(LOOPBACK)
        listen = f"{LOOPBACK}:{port}"
    values = {**{k: str(v) for k, v in params.items()}, "listen": listen}
    if socket_path is None:
        values["port"] = str(port)
    argv = [build.binary_path, *(arg.format_map(values) for arg in spec.args)]
    cpus = backend_cpus(settings, spec)
    workers = len(cpus) if cpus else settings.parallelism
    tag = f"backend-{spec.name}-{secrets.token_hex(3)}"
    stderr_path = folder / f"{tag}.stderr"
    process = host.process(
        launcher,
        argv,
        environment(spec.implementation, workers),
        cpus,
        folder / f"{tag}.stdout",
        stderr_path,
    )
    backend = RunningBackend(spec, process, listen, stderr_path, socket_path, host)
    deadline = time.monotonic() + settings.ready_timeout_seconds
    while not host.accepts(listen):
        code = process.exit_code()
        if code is not None or time.monotonic() > deadline:
            backend.stop(0 if code is not None else settings.stop_grace_seconds)
            left = process.leftover_processes
            why = (
                f"exited with status {code} before it accepted a connection"
                if code is not None
                else f"accepted no connection on {listen} in {settings.ready_timeout_seconds:g} s"
            )
            raise ServerFailure(
                f"back end {spec.name} {why}: {backend.stderr_tail() or '(no stderr)'}"
                + (f"; {leftover_message(left)}" if left else "")
            )
        time.sleep(0.02)
    return backend


def start(
    launcher: Path,
    settings: ServerSettings,
    workload: Workload,
    impl: Implementation,
    build: BuildRecord,
    params: Mapping[str, object],
    folder: Path,
    backend_build: BuildRecord | None = None,
    host: ServerHost = LOCAL,
) -> RunningServer:
    """A server answering /health, or ServerFailure (it exited, or was not ready in time: then it
    is stopped, and whatever it left running is killed and named). With a back end
    (workload.backend_of), the back end first; `backend_build` is its build. `host`: the
    machine it runs on (hosting.RemoteServerHost for a server host of its own)."""
    spec = workload.backend_of(impl)
    backend = None
    if spec is not None:
        if backend_build is None:
            raise ServerFailure(f"back end {spec.name} ({spec.key}) was not built")
        backend = start_backend(launcher, settings, spec, backend_build, params, folder, host)
    try:
        return _start_front(
            launcher, settings, workload, impl, build, params, folder, backend, host
        )
    except BaseException:
        if backend is not None:
            backend.stop(settings.stop_grace_seconds)
        raise


def _start_front(
    launcher: Path,
    settings: ServerSettings,
    workload: Workload,
    impl: Implementation,
    build: BuildRecord,
    params: Mapping[str, object],
    folder: Path,
    backend: RunningBackend | None,
    host: ServerHost,
) -> RunningServer:
    address = settings.listen_address
    port = host.free_port(address)
    argv = argv_for(
        workload,
        build.binary_path or "",
        params,
        None,
        port=port,
        backend=backend.listen if backend else None,
    )
    stderr_path = folder / f"{impl.lang}-{impl.variant}-{port}.stderr"
    env = environment(impl, settings.parallelism, address)
    if backend is not None:
        env[BACKEND_VARIABLE] = f"{backend.spec.protocol}:{backend.listen}"
    process = host.process(
        launcher,
        argv,
        env,
        settings.server_cpus,
        folder / f"{impl.lang}-{impl.variant}-{port}.stdout",
        stderr_path,
    )
    server = RunningServer(process, port, stderr_path, address, backend, host)
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
                f"{stderr_tail(stderr_path, host) or '(no stderr)'}"
                + (f"; {leftover_message(left)}" if left else "")
            )
        if backend is not None and (code := backend.process.exit_code()) is not None:
            process.stop(settings.stop_grace_seconds)
            raise ServerFailure(
                f"back end {backend.spec.name} exited with status {code} before its front was "
                f"ready: {backend.stderr_tail() or '(no stderr)'}"
            )
        try:
            if http_call(health, timeout=1.0)[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.stop(settings.stop_grace_seconds)  # start() stops its back end
            raise ServerFailure(
                f"server not ready on {health} after "
                f"{settings.ready_timeout_seconds:g} s: {stderr_tail(stderr_path, host)}"
            )
        time.sleep(0.05)


def request_bodies(
    workload: Workload,
    server: RunningServer,
    params: Mapping[str, object],
    input_path: str | None = None,
) -> dict[str, bytes | None]:
    """Each stream's body: literal, the workload's generated input (`body_input`, the same file
    for every implementation), or the server's own answer to `body_from` (same bytes on both
    sides once the digests agree)."""
    assert workload.server is not None
    bodies: dict[str, bytes | None] = {}
    for stream in workload.server.requests:
        if stream.body_input:
            if input_path is None:
                raise ServerFailure(f"{stream.name}: body_input, but the workload has no input")
            bodies[stream.name] = Path(input_path).read_bytes()
        elif stream.body_from:
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
