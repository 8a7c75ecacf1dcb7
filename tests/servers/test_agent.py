"""The server host's agent (harness/servers/agent.py) driven through RemoteServerHost, the
client the harness uses for a server host of its own. Here the agent runs on this machine from
the same copied package (remote.agent_package) and boot line (remote.AGENT_BOOT) the harness
sends over SSH; only the channel is a pipe instead of an SSH session (tests/servers/
test_hosts_e2e.py runs it over SSH in a network namespace)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
import scripted
from builders import build_record

from harness.config import load_manifest
from harness.model import BuildRecord
from harness.servers import hosting, lifecycle, remote
from harness.servers.drive import ServerWatch
from harness.servers.hosting import RemoteServerHost, ServerFailure
from harness.servers.protocol import default_settings

STAND_IN = r"""
import os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass
    def do_GET(self):
        body = b"ok" if self.path == "/health" else b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

sys.stderr.write("gc 1 @0.010s 1%: 0.01+0.1+0.01 ms clock, 0.01+0/0.1/0+0.01 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 1 P\n")
sys.stderr.write("stand-in says hello\n")
sys.stderr.flush()
ballast = bytearray(32 * 1024 * 1024)
address = os.environ.get("HARNESS_LISTEN_ADDRESS") or "127.0.0.1"
ThreadingHTTPServer((address, int(sys.argv[2])), Handler).serve_forever()
"""


class PipeChannel:
    """The agent on this machine, its stdin/stdout as the channel."""

    def __init__(self, package: Path, folder: Path, python: str = sys.executable):
        self.process = subprocess.Popen(
            remote.agent_argv(python, str(package), str(folder)),  # what SSH runs there
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def call(self, request):
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise ConnectionError(f"the agent ended: {self.process.stderr.read()[-300:]}")
        return json.loads(line)

    def close(self):
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def agent(tmp_path):
    package = remote.agent_package(tmp_path / "bin")
    channel = PipeChannel(package, tmp_path / "agent")
    installed: list[Path] = []

    def install(local: Path) -> str:
        installed.append(local)
        return str(local)

    host = RemoteServerHost("lab-server", channel, install)
    host.installed = installed  # type: ignore[attr-defined]
    yield host
    if channel.process.poll() is None:
        channel.close()


def workload(tmp_path: Path):
    folder = scripted.add_stand_in_server(tmp_path, STAND_IN)
    return load_manifest(folder / "hello-http.toml"), folder


def build_of(folder: Path, impl) -> BuildRecord:
    binary = folder / impl.lang / "hello-http" / "run"
    return replace(build_record(impl.lang, workload="hello-http"), binary_path=str(binary))


def test_the_package_is_reproducible_and_the_agent_runs_the_copy(tmp_path, agent):
    stale = tmp_path / "other" / "harness-agent-000000000000.zip"  # an older harness's
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    again = remote.agent_package(tmp_path / "other")
    first = next((tmp_path / "bin").glob("harness-agent-*.zip"))
    assert first.name == again.name and first.read_bytes() == again.read_bytes()
    assert list(again.parent.iterdir()) == [again]
    hello = agent.call("hello")
    assert hello["harness"].startswith(str(first))  # the copy, not the installed harness
    assert remote.agent_problem(hello, str(first)) is None
    assert hello["psutil"] == psutil.__version__
    # What open_agent refuses: an old Python, or a harness installed there instead of the copy.
    assert remote.agent_problem({**hello, "python": [3, 9, 2]}, str(first)) == (
        "its Python is 3.9.2"
    )
    installed = {**hello, "harness": "/usr/lib/python3/dist-packages/harness/__init__.py"}
    assert remote.agent_problem(installed, str(first)) == (
        "it ran the harness at /usr/lib/python3/dist-packages/harness/__init__.py, not the copy"
    )


def test_a_server_started_through_the_agent_is_measured_there(tmp_path, agent, launcher):
    work, folder = workload(tmp_path)
    impl = work.implementations[0]
    settings = default_settings("quick", "oha", None, None)
    run_dir = tmp_path / "local"
    run_dir.mkdir()
    before = time.perf_counter()
    server = lifecycle.start(
        launcher, settings, work, impl, build_of(folder, impl), {}, run_dir, host=agent
    )
    after = time.perf_counter()
    try:
        assert set(agent.installed) == {Path(launcher), Path(build_of(folder, impl).binary_path)}
        assert lifecycle.http_call(server.base_url + "/hello")[2] == b"hello"
        process = server.process
        # The pid is the server's own on its host: the launcher forked it there.
        assert psutil.Process(process.pid).cmdline()[1].endswith("stand-in.py")
        # Its start on this machine's clock (from the agent's own, within half a round trip).
        assert before <= process.started <= after
        watch = ServerWatch(server, 0.05, agent.read_stat)
        assert watch.server_cpus == tuple(sorted(psutil.Process(process.pid).cpu_affinity()))
        watch.begin()
        assert watch.peak_reset is True
        time.sleep(0.4)
        watch.end()
        assert watch.alive and watch.death is None
        assert watch.stat_before and watch.stat_after  # the host's /proc/stat, both ends
        assert len(watch.samples) >= 3
        assert all(s.rss_bytes > 30 * 1024 * 1024 for s in watch.samples)  # the ballast
        # The samples sit on the server's time base, around the watch's window (the sampler
        # starts first, a few calls before the window opens).
        times = [s.t_seconds for s in watch.samples]
        assert watch.start - 0.05 <= times[0] and times[-1] <= watch.start + watch.elapsed, times
        assert process.peak_rss_bytes() > 30 * 1024 * 1024
        assert process.cpu_seconds()[0] > 0
        assert "stand-in says hello" in server.stderr_tail()
        assert "gc 1 @" not in server.stderr_tail()  # GC lines left out of a tail, as here
        assert "gc 1 @" in agent.read_text(server.stderr_path)
        # The transport read there is what the same code reads here (same machine in this test).
        asked = (process.pid, server.port, "/health", "/hello", hosting.LOOPBACK)
        there, here = agent.observe_transport(*asked), hosting.LOCAL.observe_transport(*asked)
        assert there.pop("threads").startswith(("1: python", "2: python"))  # handler threads
        here.pop("threads")
        assert there == here
        assert agent.observe_transport(*asked)["HTTP keep-alive"] == "off"  # HTTP/1.0 stand-in
    finally:
        code = server.stop(2.0)
    assert code is not None and server.process.leftover_processes == 0
    assert (
        not psutil.pid_exists(server.process.pid)
        or psutil.Process(server.process.pid).status() == psutil.STATUS_ZOMBIE
    )


def test_a_failed_request_is_its_answer_and_the_agent_goes_on(agent):
    with pytest.raises(ServerFailure, match=r"server host lab-server: read: .*not a file name"):
        agent.call("read", name="../../etc/passwd")
    with pytest.raises(ServerFailure, match="unknown request 'launch-missiles'"):
        agent.call("launch-missiles")
    assert agent.free_port("127.0.0.1") > 0


def test_end_of_input_stops_every_server_the_agent_runs(tmp_path, agent, launcher):
    work, folder = workload(tmp_path)
    impl = work.implementations[0]
    settings = default_settings("quick", "oha", None, None)
    server = lifecycle.start(
        launcher, settings, work, impl, build_of(folder, impl), {}, tmp_path, host=agent
    )
    pid = server.process.pid
    assert psutil.pid_exists(pid)
    agent.close()  # the harness's channel closes (or its SSH connection drops)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the server outlived its agent"
        time.sleep(0.05)


def test_a_dead_agent_fails_the_call_naming_the_host_and_a_stop_does_not_raise(
    tmp_path, agent, launcher
):
    work, folder = workload(tmp_path)
    impl = work.implementations[0]
    settings = default_settings("quick", "oha", None, None)
    server = lifecycle.start(
        launcher, settings, work, impl, build_of(folder, impl), {}, tmp_path, host=agent
    )
    agent.channel.process.kill()
    agent.channel.process.wait()
    with pytest.raises(ServerFailure, match=r"^server host lab-server: process: "):
        server.process.exit_code()
    # Later calls fail at once, never reading a late reply as theirs.
    with pytest.raises(
        ServerFailure, match=r"^server host lab-server: stat: lost earlier \(process: "
    ):
        agent.read_stat()
    assert server.stop(1.0) is None  # nothing to ask any more; the launcher's death signal acts
    deadline = time.monotonic() + 10
    pid = server.process.pid
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the server outlived its killed agent"
        time.sleep(0.05)
