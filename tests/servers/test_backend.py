"""Servers beside a back end (BackendSpec), through the real protocol with real processes: a tiny
Python front forwards every request to a tiny Python back end named by HARNESS_BACKEND, and the
real oha drives the front. What a proxy workload promises (workloads/docs/tcp-proxy.md,
docs/servers.md "Back ends"): the back end starts first and is measured beside the front; each
rate also runs straight to the back end in the same replicate; a front that changes bytes in
passing fails; a back end that never accepts, exits or dies mid-phase fails the front's phases,
named; nothing is left running or listening, and a unix socket's file is gone afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import pytest
from builders import build_record
from test_server import (  # the stand-in server tests' fixtures and settings
    executor,  # noqa: F401  (a fixture)
    ports,  # noqa: F401  (an autouse fixture: no child left, no port listening)
    run_config,
    settings,
    wait_gone,
)

from harness import config
from harness.errors import HarnessError
from harness.model import (
    BackendSpec,
    Implementation,
    RequestStream,
    ServerSpec,
    Workload,
)
from harness.servers import lifecycle
from harness.servers.lifecycle import ServerFailure
from harness.servers.protocol import ServerRunner as _ServerRunner

ServerRunner = functools.partial(_ServerRunner, read_stat=lambda: None)

BACK_END = r"""#!{python}
import os, signal, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = {mode!r}
STATE = {state!r}
args = sys.argv[1:]
with open(os.path.join(STATE, "starts"), "a") as f:
    f.write(f"{{os.getpid()}}\n")
with open(os.path.join(STATE, "starts")) as f:
    start_number = len(f.read().splitlines())
# die-once: the first pair of the replicates (after both selection passes) dies under load.
dies = MODE == "die-once" and start_number >= 3 and not os.path.exists(os.path.join(STATE, "died"))
if args[:1] != ["--listen"] or len(args) != 2:
    print(f"fake-backend: usage: --listen ADDRESS (got {{args}})", file=sys.stderr)
    sys.exit(2)
listen = args[1]
if MODE == "exit":
    print("fake-backend: cannot open model file /nonexistent/model.bin", file=sys.stderr)
    sys.exit(4)
if MODE == "hang":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("fake-backend: warming caches...", file=sys.stderr, flush=True)
    time.sleep(600)
def stopped(*_):
    with open(os.path.join(STATE, "stopped"), "w") as f:
        f.write(str(time.monotonic_ns()))
    os._exit(0)


signal.signal(signal.SIGTERM, stopped)
served = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def address_string(self):
        return "unix" if isinstance(self.client_address, str) else super().address_string()

    def do_GET(self):
        if self.path != "/health":
            served.append(time.monotonic())
            if dies and len(served) > 30:
                open(os.path.join(STATE, "died"), "w").close()
                print("fake-backend: fatal: out of file descriptors", file=sys.stderr, flush=True)
                os._exit(9)
        body = b"ok" if self.path == "/health" else f"answer to {{self.path}}".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class UnixServer(ThreadingHTTPServer):
    address_family = socket.AF_UNIX

    def server_bind(self):
        self.socket.bind(self.server_address)
        self.server_name, self.server_port = "unix", 0


if listen.startswith("unix:"):
    httpd = UnixServer(listen[len("unix:"):], Handler)
else:
    host, port = listen.rsplit(":", 1)
    httpd = ThreadingHTTPServer((host, int(port)), Handler)
httpd.daemon_threads = True
print(f"listening {{listen}}", flush=True)
httpd.serve_forever()
"""

FRONT = r"""#!{python}
import http.client, os, signal, socket, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = {mode!r}
STATE = {state!r}
port = int(sys.argv[sys.argv.index("--port") + 1])
backend = os.environ.get("HARNESS_BACKEND", "")
with open(STATE, "w") as f:
    f.write(f"{{backend}}\n{{' '.join(sys.argv[1:])}}\n")
protocol, _, address = backend.partition(":")
if protocol != "http":
    print(f"fake-front: HARNESS_BACKEND={{backend!r}} is not http:ADDRESS", file=sys.stderr)
    sys.exit(2)
def stopped(*_):
    with open(STATE + ".stopped", "w") as f:
        f.write(str(time.monotonic_ns()))
    os._exit(0)


signal.signal(signal.SIGTERM, stopped)


class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(address[len("unix:"):])


def connection():
    if address.startswith("unix:"):
        return UnixConnection("localhost", timeout=5)
    host, back_port = address.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(back_port), timeout=5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        try:
            upstream = connection()
            upstream.request("GET", self.path)
            answer = upstream.getresponse()
            status, body = answer.status, answer.read()
            upstream.close()
        except OSError as exc:
            status, body = 502, f"back end: {{exc}}".encode()
        if MODE == "alter" and self.path != "/health":
            body = body.upper()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
httpd.daemon_threads = True
print(f"listening 127.0.0.1:{{port}}", flush=True)
httpd.serve_forever()
"""


def script(folder: Path, template: str, name: str, **values) -> Path:
    path = folder / name
    if template is BACK_END:
        values["state"] = str(folder / f"{name}.state")
        (folder / f"{name}.state").mkdir()
    path.write_text(template.format(python=sys.executable, **values))
    path.chmod(0o755)
    return path


def pair_workload(transport: str = "tcp", direct: bool = True) -> Workload:
    backend = BackendSpec(
        name="upstream",
        implementation=Implementation(
            lang="rust", variant="backend-upstream", path="fake-backend", library="stand-in"
        ),
        args=("--listen", "{listen}"),
        transport=transport,
        protocol="http",
        cpus="apart",
    )
    return Workload(
        name="fake-proxy",
        category="server",
        kind="server",
        description="a stand-in front and back end",
        throughput="items",
        args=("--port", "{port}", "--upstream", "{backend}"),
        input=None,
        params={"quick": {"records": 3}, "full": {"records": 3}},
        implementations=(
            Implementation(lang="go", variant="default", path="fake-front", library="stand-in"),
            Implementation(lang="rust", variant="default", path="fake-front", library="stand-in"),
        ),
        manifest_path="workloads/fake-proxy.toml",
        server=ServerSpec(
            health="/health",
            requests=(
                RequestStream(
                    name="get",
                    method="GET",
                    path="/items?n={records}",
                    share=1.0,
                    expect_status=200,
                ),
            ),
            backend="upstream",
            direct_phases=direct,
        ),
        backends=(backend,),
    )


def builds(workload: Workload, go_front: Path, rust_front: Path, backend: Path) -> dict:
    go, rust = workload.implementations
    return {
        go.key: dataclasses.replace(build_record("go"), binary_path=str(go_front)),
        rust.key: dataclasses.replace(build_record("rust"), binary_path=str(rust_front)),
        workload.backends[0].key: dataclasses.replace(
            build_record("rust"), binary_path=str(backend)
        ),
    }


def pair_settings(**overrides):
    # The stand-ins are slow Python servers: fixed low rates keep every phase well below them.
    return settings(rates_rps=(100.0,), replicates=2, **overrides)


# --- one pair through the whole protocol ---------------------------------------------------------


def test_a_pair_is_measured_together_with_direct_phases_paired_by_replicate(
    tmp_path,
    oha,
    launcher,
    executor,  # noqa: F811
):
    workload = pair_workload()
    front_state = tmp_path / "front.state"
    front = script(tmp_path, FRONT, "front", mode="ok", state=str(front_state))
    backend = script(tmp_path, BACK_END, "backend", mode="ok")
    runner = ServerRunner(oha, pair_settings(), tmp_path, launcher)
    result = runner(
        workload,
        builds(workload, front, front, backend),
        None,
        run_config(runner.settings),
        executor,
    )
    assert result.status == "ok", result.error
    # The front was told where its back end listens, in its environment and its {backend}.
    told, argv = front_state.read_text().splitlines()
    assert told.startswith("http:127.0.0.1:")
    assert argv.endswith("--upstream " + told.removeprefix("http:"))
    for impl in result.implementations:
        assert impl.status == "ok", impl.error
        assert impl.backend is not None and impl.backend.name == "upstream"
        assert impl.backend.cpus_policy == "apart" and impl.backend.protocol == "http"
        assert impl.backend.idle_rss_bytes and impl.backend.idle_rss_bytes > 0
        rated = [p for p in impl.phases if p.replicate is not None and p.offered_rps]
        assert [(p.replicate, p.offered_rps) for p in rated] == [(1, 100.0), (2, 100.0)]
        for phase in rated:
            # The back end worked for every request the front answered, so it used CPU.
            assert phase.backend_user_seconds is not None
            assert phase.backend_user_seconds + phase.backend_sys_seconds > 0
            assert phase.backend_peak_rss_bytes and phase.backend_peak_rss_bytes > 0
        # The same rate straight to the back end, once per replicate, the back end measured.
        direct = impl.direct_phases
        assert [(p.phase, p.replicate) for p in direct] == [
            ("direct rate=100", 1),
            ("direct rate=100", 2),
        ]
        assert all(p.ok and p.latency is not None and p.latency.count > 0 for p in direct)
        assert all(p.backend_user_seconds is None for p in direct)  # no back end behind it


def test_a_front_that_changes_bytes_in_passing_fails(tmp_path, oha, launcher, executor):  # noqa: F811
    workload = pair_workload()
    honest = script(tmp_path, FRONT, "honest", mode="ok", state=str(tmp_path / "h.state"))
    altering = script(tmp_path, FRONT, "altering", mode="alter", state=str(tmp_path / "a.state"))
    backend = script(tmp_path, BACK_END, "backend", mode="ok")
    runner = ServerRunner(oha, pair_settings(), tmp_path, launcher)
    result = runner(
        workload,
        builds(workload, altering, honest, backend),
        None,
        run_config(runner.settings),
        executor,
    )
    go, rust = result.implementations
    assert go.status == "failed"
    assert "bytes changed in passing" in go.error
    assert rust.status == "ok", rust.error


# --- a back end that fails -----------------------------------------------------------------------


def test_a_back_end_that_exits_at_start_fails_its_front_with_its_stderr(
    tmp_path,
    oha,
    launcher,
    ports,  # noqa: F811
):
    workload = pair_workload()
    front = script(tmp_path, FRONT, "front", mode="ok", state=str(tmp_path / "f.state"))
    backend = script(tmp_path, BACK_END, "backend", mode="exit")
    runner = ServerRunner(oha, pair_settings(), tmp_path, launcher)
    go = workload.implementations[0]
    record = builds(workload, front, front, backend)
    with pytest.raises(ServerFailure) as failure:
        runner.start(workload, go, record[go.key], {}, tmp_path, record["rust/backend-upstream"])
    message = str(failure.value)
    assert "back end upstream exited with status 4" in message
    assert "/nonexistent/model.bin" in message
    assert not (tmp_path / "f.state").exists()  # the front never started


def test_a_back_end_that_never_accepts_is_stopped_and_named(tmp_path, oha, launcher):
    workload = pair_workload()
    front = script(tmp_path, FRONT, "front", mode="ok", state=str(tmp_path / "f.state"))
    backend = script(tmp_path, BACK_END, "backend", mode="hang")
    runner = ServerRunner(
        oha, pair_settings(ready_timeout_seconds=1.0, stop_grace_seconds=0.5), tmp_path, launcher
    )
    go = workload.implementations[0]
    record = builds(workload, front, front, backend)
    with pytest.raises(ServerFailure) as failure:
        runner.start(workload, go, record[go.key], {}, tmp_path, record["rust/backend-upstream"])
    assert "back end upstream accepted no connection" in str(failure.value)
    assert "warming caches" in str(failure.value)  # its stderr tail


def test_a_back_end_dying_mid_phase_fails_that_phase_naming_it_and_the_rest_goes_on(
    tmp_path,
    oha,
    launcher,
    executor,  # noqa: F811
):
    workload = pair_workload(direct=False)
    front = script(tmp_path, FRONT, "front", mode="ok", state=str(tmp_path / "f.state"))
    dying = script(tmp_path, BACK_END, "dying", mode="die-once")
    runner = ServerRunner(oha, pair_settings(), tmp_path, launcher)
    record = builds(workload, front, front, dying)
    result = runner(workload, record, None, run_config(runner.settings), executor)
    failed = [
        (impl.key, p)
        for impl in result.implementations
        for p in impl.phases
        if p.error and p.replicate is not None
    ]
    assert len(failed) == 1, [(k, p.error) for k, p in failed]
    key, phase = failed[0]
    assert phase.replicate == 1
    assert "server died under load (its back end upstream exited with status 9)" in phase.error
    assert "out of file descriptors" in phase.error  # the back end's stderr tail
    # The other replicate of that front, on a fresh pair, and the other front were measured.
    impl = result.result_for(key)
    assert [p.ok for p in impl.phases if p.replicate == 2] == [True]


def test_a_unix_socket_back_end_is_reached_stopped_after_its_front_and_its_file_removed(
    tmp_path, oha, launcher
):
    workload = pair_workload(transport="unix", direct=False)
    front_state = tmp_path / "front.state"
    front = script(tmp_path, FRONT, "front", mode="ok", state=str(front_state))
    backend = script(tmp_path, BACK_END, "backend", mode="ok")
    runner = ServerRunner(oha, pair_settings(), tmp_path, launcher)
    go = workload.implementations[0]
    record = builds(workload, front, front, backend)
    server = runner.start(
        workload, go, record[go.key], {}, tmp_path, record["rust/backend-upstream"]
    )
    with server:
        assert server.backend is not None and server.backend.socket_path is not None
        socket_file = Path(server.backend.socket_path)
        assert socket_file.is_socket()
        status, _, body = lifecycle.http_call(server.base_url + "/items?n=3")
        assert (status, body) == (200, b"answer to /items?n=3")
        pids = [server.process.pid, server.backend.process.pid]
    assert front_state.read_text().startswith(f"http:unix:{socket_file}")
    assert not socket_file.exists()
    assert wait_gone(pids) == []
    # Stopped front first: its SIGTERM came before its back end's (CLOCK_MONOTONIC, one clock).
    front_stopped = int((tmp_path / "front.state.stopped").read_text())
    backend_stopped = int((tmp_path / "backend.state" / "stopped").read_text())
    assert front_stopped < backend_stopped


# --- the manifest --------------------------------------------------------------------------------

MANIFEST = """
name = "pair"
category = "server"
kind = "server"
description = "d"
throughput = "items"
args = ["--port", "{port}", "--upstream", "{backend}"]
[params.full]
n = 1
[params.quick]
n = 1
[backends.upstream]
lang = "rust"
path = "http-json"
library = "l"
args = ["--port", "{port}"]
protocol = "http"
[server]
health = "/health"
backend = "upstream"
direct_phases = true
[[server.requests]]
name = "get"
method = "GET"
path = "/x"
share = 1.0
expect_status = 200
[[implementations]]
lang = "go"
path = "p"
library = "l"
[[implementations]]
lang = "rust"
path = "p"
library = "l"
"""


def error_for(text: str) -> str:
    import tomllib

    with pytest.raises(HarnessError) as failure:
        config.parse_manifest(tomllib.loads(text), Path("workloads/pair.toml"))
    return str(failure.value)


def test_the_manifest_declares_back_ends():
    import tomllib

    workload = config.parse_manifest(tomllib.loads(MANIFEST), Path("workloads/pair.toml"))
    (backend,) = workload.backends
    assert backend.key == "rust/backend-upstream" and backend.cpus == "server"
    assert all(workload.backend_of(i) == backend for i in workload.implementations)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('backend = "upstream"\ndirect', 'backend = "upstrem"\ndirect', "names 'upstrem'"),
        ('args = ["--port", "{port}"]', 'args = ["--quiet"]', "where it listens"),
        ('protocol = "http"', 'protocol = "grpc"', "direct_phases needs every implementation"),
        ('backend = "upstream"\ndirect', "direct", "uses {backend} but go/default"),
        ('protocol = "http"', 'protocol = "http"\nport = 1', "unknown field 'port'"),
    ],
)
def test_bad_back_end_declarations_are_one_line_errors(old, new, message):
    assert old in MANIFEST
    error = error_for(MANIFEST.replace(old, new, 1))
    assert message in error and "\n" not in error


def test_the_tcp_proxy_manifest_pairs_every_proxy_with_one_back_end():
    workload = config.load_manifest(
        Path(__file__).resolve().parents[2] / "workloads/tcp-proxy.toml"
    )
    backends = {workload.backend_of(i) for i in workload.implementations}
    assert len(backends) == 1
    (backend,) = backends
    assert backend.cpus == "apart" and backend.implementation.path == "http-json"
    assert workload.server.direct_phases
