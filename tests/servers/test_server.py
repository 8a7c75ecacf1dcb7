"""harness.server with real processes but no real Go/Rust servers: a tiny Python HTTP server script
stands in for the built binary, and the real oha drives it at low rates with short phases.

Every test checks afterwards (autouse fixture) that no child process of the test process is left
and that every port the harness handed out is closed again.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest
from builders import build_record, gc_cycle, server_phase

from harness.analysis.phases import headline_exclusions, is_headline
from harness.analysis.replicates import rate_summaries
from harness.measure.launcher import SubprocessExecutor, available_cpus
from harness.model import (
    CpuTimes,
    Implementation,
    RequestStream,
    RunConfig,
    ServerSpec,
    Workload,
)
from harness.servers import hosting, lifecycle, loadgen
from harness.servers.lifecycle import ServerFailure
from harness.servers.protocol import ServerRunner as _ServerRunner
from harness.servers.protocol import choose_rates, default_settings, rate_order

ROOT = Path(__file__).resolve().parents[2]

# No /proc/stat unless a test gives one: real steal over 1 % in a 1 s phase would set a replicate
# aside and change what these tests count.
ServerRunner = functools.partial(_ServerRunner, read_stat=lambda: None)

# The stand-in server. MODE and STATE are filled in per script; STATE is a folder where the script
# records its pid (one line per start, so the line count is the start number) and any child's pid.
FAKE_SERVER = r"""#!{python}
import json, os, signal, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = {mode!r}
STATE = {state!r}
DIE_AFTER = {die_after!r}  # die-second-start: seconds after the first load request

args = sys.argv[1:]
if args[:1] != ["--port"] or len(args) != 2:
    print(f"fake-server: usage: --port PORT (got {{args}})", file=sys.stderr)
    sys.exit(2)
port = int(args[1])
with open(os.path.join(STATE, "starts"), "a") as f:
    f.write(f"{{os.getpid()}}\n")
with open(os.path.join(STATE, "starts")) as f:
    start_number = len(f.read().splitlines())

if MODE == "exit" or (MODE == "exit-third-start" and start_number == 3):
    print("fake-server: cannot load records table: /nonexistent/records.db", file=sys.stderr)
    sys.exit(3)
if MODE == "hang":  # never binds; ignores SIGTERM; has a child of its own
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(os.path.join(STATE, "child"), "w") as f:
        f.write(str(child.pid))
    print("fake-server: loading...", file=sys.stderr, flush=True)
    time.sleep(600)
    sys.exit(0)

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
first_load = []
served = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.answer(200, b"ok", "text/plain; charset=utf-8")
        with lock:
            now = time.monotonic()
            first_load.append(now)
            if MODE == "die-first" or (
                # The second start is the first of the fixed-rate stage: warm-up (0.5 s), then
                # the first rate phase (1 s). DIE_AFTER 0.9 crashes in the middle of that phase.
                MODE == "die-second-start"
                and start_number == 2
                and now - first_load[0] >= DIE_AFTER
            ):
                print("fake-server: panic: index out of range", file=sys.stderr, flush=True)
                os._exit(7)
            served.append(now)
            count = len(served)
        if self.path.startswith("/records"):
            if MODE == "flaky" and count % 4 == 0:  # every 4th load request fails
                return self.answer(500, b"internal error", "text/plain")
            if MODE == "balloon" and count == 1:  # a 200 MB peak at the first load request
                ballast = b"x" * 200_000_000
                del ballast
            time.sleep(0.005)  # caps throughput: about 200 req/s per connection
            return self.answer(200, json.dumps([{{"id": 1}}]).encode(), "application/json")
        return self.answer(404, b"not found", "text/plain")


try:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
except OSError as exc:
    print(f"fake-server: listen tcp 127.0.0.1:{{port}}: {{exc}}", file=sys.stderr)
    sys.exit(1)
httpd.daemon_threads = True
print(f"listening 127.0.0.1:{{port}}", flush=True)
httpd.serve_forever()
"""


def fake_server(folder: Path, mode: str, die_after: float = 0.9) -> Path:
    """An executable stand-in server; its state folder is `<script>.state`."""
    script = folder / f"fake-server-{mode}"
    state = script.with_suffix(".state")
    state.mkdir(parents=True, exist_ok=True)
    script.write_text(
        FAKE_SERVER.format(python=sys.executable, mode=mode, state=str(state), die_after=die_after)
    )
    script.chmod(0o755)
    return script


def starts_of(script: Path) -> list[int]:
    """The pid of each start of the script, in order."""
    starts = script.with_suffix(".state") / "starts"
    return [int(line) for line in starts.read_text().split()] if starts.exists() else []


WORKLOAD = Workload(
    name="fake-http",
    category="server",
    kind="server",
    description="a stand-in server",
    throughput="items",
    args=("--port", "{port}"),
    input=None,
    params={"quick": {"records": 3}, "full": {"records": 3}},
    implementations=(
        Implementation(lang="go", variant="default", path="fake", library="stand-in"),
        Implementation(lang="rust", variant="default", path="fake", library="stand-in"),
    ),
    manifest_path="workloads/fake-http.toml",
    server=ServerSpec(
        health="/health",
        requests=(
            RequestStream(
                name="get", method="GET", path="/records?n={records}", share=1.0, expect_status=200
            ),
        ),
    ),
)
GO, RUST = WORKLOAD.implementations


def settings(**overrides):
    base = dataclasses.replace(
        default_settings("quick", f"oha {loadgen.OHA_VERSION}", None, None),
        connections=2,
        warmup_seconds=0.5,
        probe_seconds=1.0,
        min_phase_seconds=1.0,
        max_phase_seconds=1.0,
        rate_fractions=(0.5,),
        ready_timeout_seconds=10.0,
        stop_grace_seconds=1.0,
        replicates=1,
        replicate_probe_seconds=0.0,
    )
    return dataclasses.replace(base, **overrides)


def run_config(server_settings) -> RunConfig:
    return RunConfig(
        size="quick",
        repetitions=1,
        warmups=0,
        timeout_seconds=30.0,
        cpu_affinity=None,
        sample_interval_seconds=0.1,
        workloads=(WORKLOAD.name,),
        server=server_settings,
        order="latin",
        seed=1,
    )


def builds_for(go_script: Path, rust_script: Path):
    return {
        GO.key: dataclasses.replace(
            build_record("go", workload=WORKLOAD.name), binary_path=str(go_script)
        ),
        RUST.key: dataclasses.replace(
            build_record("rust", workload=WORKLOAD.name), binary_path=str(rust_script)
        ),
    }


@pytest.fixture(scope="module")
def executor(launcher) -> SubprocessExecutor:
    return SubprocessExecutor(launcher)


def wait_gone(pids, timeout=5.0) -> list[int]:
    """The pids still alive (and not zombies) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _alive(p)]
        if alive:
            time.sleep(0.05)
    return alive


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(autouse=True)
def ports(monkeypatch):
    """Records every port the harness hands out; afterwards: no child left, every port closed."""
    handed_out: list[int] = []
    real_free_port = lifecycle.free_port

    def recording_free_port(address: str = "127.0.0.1") -> int:
        port = real_free_port(address)
        handed_out.append(port)
        return port

    monkeypatch.setattr(hosting, "free_port", recording_free_port)
    yield handed_out
    me = psutil.Process()
    left = wait_gone([c.pid for c in me.children(recursive=True)], timeout=3.0)
    for pid in left:  # do not leak into the next test, but still fail this one
        os.kill(pid, signal.SIGKILL)
    assert not left, f"child processes left behind: {left}"
    assert not [p for p in handed_out if listening(p)], f"ports still listening: {handed_out}"


# --- start-up failures ---------------------------------------------------------------------------


def test_server_exiting_at_start_raises_with_status_and_stderr(tmp_path, oha, launcher, ports):
    runner = ServerRunner(oha, settings(), tmp_path, launcher)
    script = fake_server(tmp_path, "exit")
    build = builds_for(script, script)[GO.key]
    with pytest.raises(ServerFailure) as failure:
        runner.start(WORKLOAD, GO, build, WORKLOAD.params["quick"], tmp_path)
    message = str(failure.value)
    assert "status 3" in message
    assert "cannot load records table: /nonexistent/records.db" in message
    assert len(starts_of(script)) == 1
    assert len(ports) == 1


def test_start_failure_of_one_language_still_measures_the_other(
    tmp_path, oha, launcher, executor, ports
):
    runner = ServerRunner(oha, settings(), tmp_path, launcher)
    broken, working = fake_server(tmp_path, "exit"), fake_server(tmp_path, "ok")
    messages: list[str] = []
    result = runner(
        WORKLOAD,
        builds_for(broken, working),
        None,
        run_config(runner.settings),
        executor,
        messages.append,
    )
    go, rust = result.result_for(GO.key), result.result_for(RUST.key)
    assert go.status == "failed"
    assert "status 3" in go.error and "/nonexistent/records.db" in go.error
    assert go.phases == ()
    assert len(starts_of(broken)) == 1  # tried once, not again for the fixed-rate stage

    assert rust.status == "ok", rust.error
    saturation, *rated = rust.phases
    assert saturation.phase == "saturation"
    assert [p.phase for p in rated] == [f"rate={r:g}" for r in result.offered_rates_rps]
    assert saturation.ok and saturation.offered_rps is None and saturation.requests > 0
    # The rates come from the one saturation measured, and are still run.
    assert result.offered_rates_rps == (round(0.5 * saturation.achieved_rps),)
    assert [p.offered_rps for p in rated] == list(result.offered_rates_rps)
    assert all(p.ok and p.latency is not None and p.latency.count > 0 for p in rated)
    # Unpinned (these settings pin nothing): one worker per CPU the harness may use.
    n = str(len(available_cpus()))
    assert rust.parallelism == {
        "HARNESS_CPUS": n,
        "TOKIO_WORKER_THREADS": n,
        "RAYON_NUM_THREADS": n,
    }
    # What the stand-in's transport did, as observed: socketserver listens with a backlog of 5 and
    # leaves Nagle's algorithm on; http.server keeps HTTP/1.1 connections alive.
    # Its threads (main + one per connection) and the segments of one answer of the primary GET
    # (http.server writes the header and the body separately) are observed too.
    seen = dict(rust.transport)
    segments = seen.pop("TCP segments per response")
    assert re.fullmatch(r"[12] \(GET /records\?n=3, 11 B body\)", segments), segments
    assert seen == {
        "listen backlog": "5",
        "TCP_NODELAY": "off",
        "SO_KEEPALIVE": "off",
        "HTTP keep-alive": "on",
        "threads": "2: fake-server-ok ×2",
    }
    assert go.transport == {}  # never started
    assert len(starts_of(working)) == 2  # once per stage

    assert result.status == "failed"  # a default implementation failed
    assert GO.key in result.error and "status 3" in result.error
    assert result.reference_checksum is not None  # Rust's answers
    assert any("status 3" in m for m in messages)


def test_port_in_use_is_a_clear_error(tmp_path, oha, launcher, monkeypatch, ports):
    with socket.socket() as occupier:
        occupier.bind(("127.0.0.1", 0))
        occupier.listen()
        port = occupier.getsockname()[1]
        ports.append(port)
        monkeypatch.setattr(hosting, "free_port", lambda address="127.0.0.1": port)
        runner = ServerRunner(oha, settings(), tmp_path, launcher)
        script = fake_server(tmp_path, "ok")
        with pytest.raises(ServerFailure) as failure:
            runner.start(WORKLOAD, GO, builds_for(script, script)[GO.key], {"records": 3}, tmp_path)
    message = str(failure.value)
    assert "status 1" in message
    assert f"127.0.0.1:{port}" in message and "Address already in use" in message


def test_server_that_never_gets_ready_is_killed_after_the_timeout(tmp_path, oha, launcher, ports):
    runner = ServerRunner(
        oha, settings(ready_timeout_seconds=1.5, stop_grace_seconds=0.5), tmp_path, launcher
    )
    script = fake_server(tmp_path, "hang")
    began = time.monotonic()
    with pytest.raises(ServerFailure) as failure:
        runner.start(WORKLOAD, GO, builds_for(script, script)[GO.key], {"records": 3}, tmp_path)
    waited = time.monotonic() - began
    message = str(failure.value)
    assert "not ready" in message and "/health" in message and "1.5 s" in message
    assert "fake-server: loading..." in message  # the stderr tail
    assert waited >= 1.5  # it was given the whole timeout
    (pid,) = starts_of(script)
    child = int((script.with_suffix(".state") / "child").read_text())
    # The server ignored SIGTERM, so it took the SIGKILL; the launcher killed its child with it.
    assert wait_gone([pid, child]) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# --- death under load ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "die_after",
    [
        pytest.param(0.9, id="during-the-phase"),
        pytest.param(0.0, id="during-its-warmup"),  # the phase then starts with a dead server
    ],
)
def test_server_dying_under_load_fails_the_phase_and_later_phases_still_run(
    tmp_path, oha, launcher, executor, ports, die_after
):
    runner = ServerRunner(oha, settings(rate_fractions=(0.4, 0.5)), tmp_path, launcher)
    dying = fake_server(tmp_path, "die-second-start", die_after)
    steady = fake_server(tmp_path, "ok")
    messages: list[str] = []
    result = runner(
        WORKLOAD,
        builds_for(dying, steady),
        None,
        run_config(runner.settings),
        executor,
        messages.append,
    )
    go, rust = result.result_for(GO.key), result.result_for(RUST.key)
    assert len(result.offered_rates_rps) == 2

    assert [p.phase for p in go.phases] == [
        "saturation",
        *(f"rate={r:g}" for r in result.offered_rates_rps),
    ]
    saturation, died, after = go.phases
    assert saturation.ok
    assert not died.ok
    assert "server died under load (exit 7)" in died.error
    assert "panic: index out of range" in died.error  # the server's stderr tail
    if die_after:
        assert died.requests > 0  # it answered for a while, then died within the phase
    else:
        # Dead before the phase: every request refused, counted, and none timed.
        counts = died.request_counts
        assert counts is not None and counts.other_errors == died.requests == died.errors > 0
        assert died.latency is None
    # The runner started a new server for the next phase, which ran normally.
    assert len(starts_of(dying)) == 3
    assert after.ok, after.error
    assert after.latency is not None and after.latency.count > 0
    assert any("FAILED: server died under load" in m for m in messages)

    assert rust.status == "ok"
    assert [p.offered_rps for p in rust.phases[1:]] == list(result.offered_rates_rps)
    assert all(p.ok for p in rust.phases)


def test_server_dying_right_after_start_fails_only_that_language(
    tmp_path, oha, launcher, executor, ports
):
    runner = ServerRunner(oha, settings(), tmp_path, launcher)
    dying, steady = fake_server(tmp_path, "die-first"), fake_server(tmp_path, "ok")
    result = runner(
        WORKLOAD,
        builds_for(dying, steady),
        None,
        run_config(runner.settings),
        executor,
        lambda _: None,
    )
    go, rust = result.result_for(GO.key), result.result_for(RUST.key)
    assert go.status == "failed"
    assert "server stopped answering" in go.error
    assert "panic: index out of range" in go.error  # its stderr tail
    assert go.phases == ()
    assert len(starts_of(dying)) == 1  # not restarted for the fixed-rate stage
    assert rust.status == "ok", rust.error
    assert len(rust.phases) == 2 and all(p.ok for p in rust.phases)
    assert result.status == "failed"


# --- every request counted, one time base, the phase's own peak ----------------------------------


def phases_on_one_server(runner, script, rate, duration, executor, folder, count=1):
    """`count` phases at `rate` on one start of `script` (the Go slot), no warm-up, no probe."""
    params = WORKLOAD.params["quick"]
    server = runner.start(WORKLOAD, GO, builds_for(script, script)[GO.key], params, folder)
    with server.process:
        bodies = runner.request_bodies(WORKLOAD, server, params)
        return [
            runner.run_phase(
                f"rate={rate:g}",
                WORKLOAD,
                GO,
                server,
                params,
                bodies,
                rate,
                duration,
                run_config(runner.settings),
                executor,
                folder,
            )
            for _ in range(count)
        ]


def test_unexpected_statuses_are_timed_counted_and_keep_the_phase_out(
    tmp_path, oha, launcher, executor, ports
):
    runner = ServerRunner(oha, settings(), tmp_path, launcher)
    (phase,) = phases_on_one_server(
        runner, fake_server(tmp_path, "flaky"), 100.0, 1.5, executor, tmp_path
    )
    counts = phase.request_counts
    assert phase.ok, phase.error
    assert counts is not None and counts.unexpected_status > 0
    assert phase.status_counts["500"] == counts.unexpected_status == phase.errors
    # Every answer is in the distribution, the 500s included, at the time they took.
    assert phase.latency is not None
    assert phase.latency.count == counts.expected_status + counts.unexpected_status + counts.unsent
    assert phase.requests == phase.latency.count + counts.without_duration
    assert f"{phase.errors} failed requests (unexpected status {phase.errors})" in phase.flags
    assert f"{phase.errors} failed requests" in headline_exclusions(phase)


def test_requests_never_sent_before_the_deadline_enter_the_latencies(
    tmp_path, oha, launcher, executor, ports
):
    # One connection to a server that answers ~200 req/s, offered 1000 req/s for 1 s: most of the
    # schedule is still queued in oha when the phase ends, and oha drops it without a word.
    runner = ServerRunner(oha, settings(connections=1), tmp_path, launcher)
    (phase,) = phases_on_one_server(
        runner, fake_server(tmp_path, "ok"), 1000.0, 1.0, executor, tmp_path
    )
    counts = phase.request_counts
    assert counts is not None and counts.unsent > 300, counts
    answered = counts.expected_status + counts.unexpected_status
    assert answered + counts.without_duration + counts.unsent == phase.requests
    assert phase.latency is not None and phase.latency.count == answered + counts.unsent
    assert any("never sent" in f for f in phase.flags)
    assert not is_headline(phase)  # it also fell behind the offered rate


def test_a_phase_has_its_own_window_and_its_own_peak_rss(tmp_path, oha, launcher, executor, ports):
    # The first load request makes a 200 MB peak, freed at once; the next phase on the same server
    # must not inherit it (VmHWM is per process, so it is reset at each phase's start).
    runner = ServerRunner(oha, settings(), tmp_path, launcher)
    first, second = phases_on_one_server(
        runner, fake_server(tmp_path, "balloon"), 20.0, 1.0, executor, tmp_path, count=2
    )
    assert first.ok and second.ok, (first.error, second.error)
    assert first.server_peak_rss_bytes > 200_000_000
    assert second.server_peak_rss_bytes < 100_000_000
    assert not any("VmHWM" in f for f in first.flags + second.flags)
    for phase in (first, second):
        # The window is oha's own span (-z 1 s and the last answers), shorter than the harness's
        # time around oha, which adds its start-up and its database write.
        assert phase.loadgen_wall_seconds is not None
        assert 1.0 <= phase.duration_seconds < phase.loadgen_wall_seconds
        assert phase.achieved_rps == pytest.approx(
            phase.status_counts["200"] / phase.duration_seconds
        )


# --- replicates ----------------------------------------------------------------------------------


def replicate_lines(messages: list[str]) -> list[tuple[str, int]]:
    """(implementation, replicate) of each replicate's first progress line, in the order run."""
    seen: list[tuple[str, int]] = []
    for m in messages:
        found = re.match(r"fake-http (\S+) replicate (\d+)/", m)
        if found and (found[1], int(found[2])) not in seen:
            seen.append((found[1], int(found[2])))
    return seen


def test_every_rate_is_replicated_on_a_fresh_server_in_counterbalanced_order(
    tmp_path, oha, launcher, executor, ports
):
    runner = ServerRunner(
        oha,
        settings(replicates=3, replicate_probe_seconds=0.5, rate_fractions=(0.3, 0.5)),
        tmp_path,
        launcher,
    )
    go_script, rust_script = fake_server(tmp_path / "go", "ok"), fake_server(tmp_path / "rs", "ok")
    messages: list[str] = []
    result = runner(
        WORKLOAD,
        builds_for(go_script, rust_script),
        None,
        run_config(runner.settings),
        executor,
        messages.append,
    )
    low, high = result.offered_rates_rps
    assert low < high
    assert result.rates_source.startswith("fractions 0.3, 0.5 of the slowest default's")
    for impl, script in (
        (result.result_for(GO.key), go_script),
        (result.result_for(RUST.key), rust_script),
    ):
        assert impl.status == "ok", impl.error
        # The selection pass's probe, then per replicate: the rates (ascending in odd replicates,
        # descending in even ones) and a closed-loop probe.
        assert [(p.phase, p.replicate) for p in impl.phases] == [
            ("saturation", None),
            (f"rate={low:g}", 1),
            (f"rate={high:g}", 1),
            ("saturation", 1),
            (f"rate={high:g}", 2),
            (f"rate={low:g}", 2),
            ("saturation", 2),
            (f"rate={low:g}", 3),
            (f"rate={high:g}", 3),
            ("saturation", 3),
        ]
        assert all(p.ok for p in impl.phases), [p.error for p in impl.phases]
        assert len(starts_of(script)) == 1 + 3  # the selection pass, then one per replicate
    # Go and Rust alternate: ABBA over replicates, whichever starts.
    order = replicate_lines(messages)
    assert [r for _, r in order] == [1, 1, 2, 2, 3, 3]
    firsts = [order[0][0], order[2][0], order[4][0]]
    assert firsts[0] != firsts[1] and firsts[1] != firsts[2]


class ScriptedDriver:
    """Stands in for drive.PhaseDriver: no load generator; every phase "achieves" its offered rate
    (a closed-loop probe 1000 req/s) and is recorded, so the protocol's schedule is seen alone."""

    def __init__(self, settings):
        self.settings, self.oha = settings, Path("/nonexistent/oha")
        self.asked: list[tuple[str, str, int | None]] = []

    def phase_seconds(self, rate):
        return 1.0

    def run_phase(
        self, phase, workload, impl, server, params, bodies, rate, duration, config, executor,
        folder, replicate=None,
    ):  # fmt: skip
        self.asked.append((impl.key, phase, replicate))
        return dataclasses.replace(
            server_phase(rate, rate or 1000.0, p50=0.001, p999=0.004),
            phase=phase,
            replicate=replicate,
        )


def test_the_protocol_runs_through_a_scripted_driver_without_a_load_generator(
    tmp_path, launcher, executor, ports
):
    # The same schedule as above, each replicate on a fresh (stand-in) server, with no oha at all.
    config = settings(replicates=2, replicate_probe_seconds=0.5, rate_fractions=(0.3, 0.5))
    driver = ScriptedDriver(config)
    runner = ServerRunner(driver.oha, config, tmp_path, launcher, driver=driver)
    go_script, rust_script = fake_server(tmp_path / "go", "ok"), fake_server(tmp_path / "rs", "ok")
    result = runner(
        WORKLOAD, builds_for(go_script, rust_script), None, run_config(config), executor
    )
    assert result.offered_rates_rps == (300.0, 500.0)  # 0.3 and 0.5 of the probes' 1000 req/s
    for key, script in ((GO.key, go_script), (RUST.key, rust_script)):
        impl = result.result_for(key)
        assert impl.status == "ok", impl.error
        assert [(p.phase, p.replicate) for p in impl.phases] == [
            ("saturation", None),
            ("rate=300", 1),
            ("rate=500", 1),
            ("saturation", 1),
            ("rate=500", 2),
            ("rate=300", 2),
            ("saturation", 2),
        ]
        assert len(starts_of(script)) == 1 + 2
        asked = [(phase, r) for k, phase, r in driver.asked if k == key and phase != "warmup"]
        assert asked == [(p.phase, p.replicate) for p in impl.phases]


class StealOnce:
    """/proc/stat as a machine would show it, with real time as idle ticks, where the hypervisor
    steals 5 % of one phase: the n-th window of at least a second between a phase's two readings
    (the workload's own window is read first and last; warm-ups are shorter than a second)."""

    def __init__(self, disturbed_window: int):
        self.calls = 0
        self.steal = 0
        self.long_windows = 0
        self.disturbed_window = disturbed_window
        self.last = time.monotonic()

    def __call__(self) -> tuple[CpuTimes, ...]:
        now = time.monotonic()
        self.calls += 1
        # Calls 2, 3 are one phase's before/after, 4, 5 the next, ...: an "after" closes a window.
        if self.calls > 1 and self.calls % 2 == 1 and now - self.last >= 1.0:
            self.long_windows += 1
            if self.long_windows == self.disturbed_window:
                self.steal += round(0.05 * (now - self.last) * 100)
        self.last = now
        ticks = round(now * 100)
        return (CpuTimes(0, 0, 0, 0, ticks, 0, 0, 0, self.steal),)


def test_a_replicate_disturbed_by_steal_is_set_aside_and_an_extra_one_measured(
    tmp_path, oha, launcher, executor, ports
):
    # Long windows in order: Go's probe, Rust's probe (the selection pass), then replicate 1's
    # rate phases in the schedule's order. The third is the first implementation's replicate 1.
    stat = StealOnce(disturbed_window=3)
    runner = ServerRunner(
        oha,
        settings(replicates=1, extra_replicates=2),
        tmp_path,
        launcher,
        read_stat=stat,
    )
    script = fake_server(tmp_path, "ok")
    messages: list[str] = []
    result = runner(
        WORKLOAD,
        builds_for(script, script),
        None,
        run_config(runner.settings),
        executor,
        messages.append,
    )
    first = replicate_lines(messages)[0][0]
    (rate,) = result.offered_rates_rps
    disturbed = result.result_for(first)
    rated = [p for p in disturbed.phases if p.replicate is not None]
    assert [p.replicate for p in rated] == [1, 2]  # one extra replicate, then enough
    assert rated[0].steal_share == pytest.approx(0.05 / 1.05, abs=0.005)
    assert any("CPU steal" in f for f in rated[0].flags)
    assert rated[1].steal_share == 0.0
    (summary,) = rate_summaries(disturbed)
    assert summary.replicates == (2,) and summary.usable
    assert re.match(
        r"replicate 1: CPU steal [45]\.\d% of the phase's CPU time", summary.set_aside[0]
    )
    other = result.result_for(RUST.key if first == GO.key else GO.key)
    assert [p.replicate for p in other.phases if p.replicate] == [1, 2]  # rounds stay whole
    assert any(
        f"extra replicate 2 ({first} @ {rate:g} req/s: 0 of 1 undisturbed)" in m for m in messages
    )


def test_fixed_rates_are_used_as_given_and_recorded(tmp_path, oha, launcher, executor, ports):
    runner = ServerRunner(oha, settings(rates_rps=(30.0, 60.0)), tmp_path, launcher)
    script = fake_server(tmp_path, "ok")
    result = runner(
        WORKLOAD, builds_for(script, script), None, run_config(runner.settings), executor
    )
    assert result.offered_rates_rps == (30.0, 60.0)
    assert result.rates_source == "fixed on the command line (--rates)"
    go = result.result_for(GO.key)
    assert [p.offered_rps for p in go.phases if p.replicate] == [30.0, 60.0]


def test_a_replicate_whose_server_will_not_start_fails_alone(
    tmp_path, oha, launcher, executor, ports
):
    # Start 1 is the selection pass, start 2 replicate 1; start 3 (replicate 2) exits at once.
    runner = ServerRunner(oha, settings(replicates=3), tmp_path, launcher)
    broken, steady = fake_server(tmp_path / "go", "exit-third-start"), fake_server(tmp_path, "ok")
    messages: list[str] = []
    result = runner(
        WORKLOAD,
        builds_for(broken, steady),
        None,
        run_config(runner.settings),
        executor,
        messages.append,
    )
    go = result.result_for(GO.key)
    assert go.status == "ok", go.error
    by_replicate = {p.replicate: p for p in go.phases if p.replicate}
    assert by_replicate[1].ok and by_replicate[3].ok
    failed = by_replicate[2]
    assert not failed.ok and failed.latency is None
    assert "replicate 2: server exited with status 3 before it was ready" in failed.error
    assert "cannot load records table" in failed.error  # its stderr tail
    (summary,) = rate_summaries(go)
    assert not summary.usable
    assert summary.exclusions[0].startswith("replicate 2: the phase failed")
    assert summary.replicates == (1, 2, 3)
    assert result.status == "ok"
    assert any("replicate 2/3: server exited with status 3" in m for m in messages)


def test_rates_come_from_the_command_line_then_the_manifest_then_the_probes():
    probe = dataclasses.replace(server_phase(None, 1000.0), phase="saturation")
    slow = dataclasses.replace(probe, achieved_rps=800.0)
    chosen = choose_rates(
        WORKLOAD,
        "quick",
        settings(rate_fractions=(0.5, 0.75)),
        {GO.key: probe, RUST.key: slow},
        (GO.key, RUST.key),
    )
    assert chosen == (
        (400.0, 600.0),
        "fractions 0.5, 0.75 of the slowest default's closed-loop "
        "saturation (rust/default: 800 req/s in a 1 s probe)",
    )
    pinned = dataclasses.replace(
        WORKLOAD, server=dataclasses.replace(WORKLOAD.server, rates_rps={"quick": (100.0, 200.0)})
    )
    assert choose_rates(pinned, "quick", settings(), {}, ()) == (
        (100.0, 200.0),
        "fixed in workloads/fake-http.toml ([server.rates] quick)",
    )
    assert choose_rates(pinned, "full", settings(), {}, ())[0] == ()
    assert choose_rates(pinned, "quick", settings(rates_rps=(5.0,)), {}, ()) == (
        (5.0,),
        "fixed on the command line (--rates)",
    )
    assert rate_order((3.0, 1.0, 2.0), 1) == (1.0, 2.0, 3.0)
    assert rate_order((3.0, 1.0, 2.0), 2) == (3.0, 2.0, 1.0)


def test_a_go_phase_records_the_gc_cycles_it_had_to_contain_and_is_kept_out_with_fewer(
    tmp_path, oha, launcher, executor, ports
):
    """kv-cache's `[server] min_gc_cycles`: the real phase driver records the requirement on a Go
    phase (here the stand-in in the Go slot, which prints no gctrace, so 0 cycles) and the phase
    is flagged and never a headline; a Rust phase carries no requirement."""
    workload = dataclasses.replace(
        WORKLOAD, server=dataclasses.replace(WORKLOAD.server, min_gc_cycles=2)
    )
    runner = ServerRunner(oha, settings(), tmp_path, launcher)
    script = fake_server(tmp_path, "ok")
    params = workload.params["quick"]
    found = {}
    for impl in (GO, RUST):
        server = runner.start(
            workload, impl, builds_for(script, script)[impl.key], params, tmp_path
        )
        with server.process:
            bodies = runner.request_bodies(workload, server, params)
            found[impl.lang] = runner.run_phase(
                "rate=100",
                workload,
                impl,
                server,
                params,
                bodies,
                100.0,
                1.0,
                run_config(runner.settings),
                executor,
                tmp_path,
            )
    go, rust = found["go"], found["rust"]
    assert go.ok and rust.ok, (go.error, rust.error)
    assert (go.gc_cycles, go.gc_cycles_required) == ((), 2)
    reason = "contained 0 Go GC cycles (< 2): its latencies are Go's between-collection ones only"
    assert reason in go.flags and reason in headline_exclusions(go)
    assert (rust.gc_cycles, rust.gc_cycles_required) == (None, None)
    assert not any("GC" in r for r in headline_exclusions(rust))


class GcScriptedDriver(ScriptedDriver):
    """The scripted driver with a Go collector: the Go saturation probes hold 4 GC cycles in their
    10,000 requests (1,000 req/s for 10 s, one cycle per 2,500 requests), and every fixed-rate
    phase carries the requirement as the real driver records it. It keeps the seconds each phase
    was asked to run."""

    def __init__(self, settings):
        super().__init__(settings)
        self.seconds: dict[tuple[str, str, int | None], float] = {}

    def run_phase(
        self, phase, workload, impl, server, params, bodies, rate, duration, config, executor,
        folder, replicate=None,
    ):  # fmt: skip
        found = super().run_phase(
            phase, workload, impl, server, params, bodies, rate, duration, config, executor,
            folder, replicate,
        )  # fmt: skip
        self.seconds[(impl.key, phase, replicate)] = duration
        if impl.lang != "go":
            return found
        gc = tuple(gc_cycle(n) for n in range(1, 5)) if rate is None else (gc_cycle(1),)
        return dataclasses.replace(
            found,
            gc_cycles=gc,
            gc_cycles_required=None if rate is None else workload.server.min_gc_cycles,
        )


def test_fixed_rate_phases_are_sized_from_the_go_probes_gc_rate_alike_for_both_languages(
    tmp_path, launcher, executor, ports
):
    # Rates 300 and 500 (0.3 and 0.5 of the probes' 1,000 req/s). 2 cycles x 1.5 at one cycle per
    # 2,500 requests: 7,500 requests, 25 s at 300 req/s (over the 20 s cap) and 15 s at 500.
    workload = dataclasses.replace(
        WORKLOAD, server=dataclasses.replace(WORKLOAD.server, min_gc_cycles=2)
    )
    config = settings(replicates=2, rate_fractions=(0.3, 0.5), gc_phase_cap_seconds=20.0)
    driver = GcScriptedDriver(config)
    runner = ServerRunner(driver.oha, config, tmp_path, launcher, driver=driver)
    script = fake_server(tmp_path, "ok")
    messages: list[str] = []
    result = runner(
        workload, builds_for(script, script), None, run_config(config), executor, messages.append
    )
    assert result.offered_rates_rps == (300.0, 500.0)
    asked = {
        (key, phase): seconds
        for (key, phase, replicate), seconds in driver.seconds.items()
        if replicate is not None and phase.startswith("rate=")
    }
    assert asked == {
        (GO.key, "rate=300"): 20.0,
        (GO.key, "rate=500"): 15.0,
        (RUST.key, "rate=300"): 20.0,
        (RUST.key, "rate=500"): 15.0,
    }
    sizing = result.phase_sizing
    assert sizing is not None and sizing.gc_rate_from == GO.key
    assert sizing.gc_cycles_per_request == pytest.approx(1 / 2500)
    assert [(p.offered_rps, p.seconds, p.capped) for p in sizing.lengths] == [
        (300.0, 20.0, True),
        (500.0, 15.0, False),
    ]
    assert sizing.lengths[0].gc_seconds_needed == pytest.approx(25.0)
    # Said before the first replicate ran: where things run, and the phase lengths.
    first = next(n for n, m in enumerate(messages) if " replicate 1/2" in m)
    said = [m for m in messages[:first] if m.startswith("fake-http: ")]
    every = ",".join(map(str, available_cpus()))
    assert (
        f"fake-http: servers on CPU(s) {every} (unpinned), {len(available_cpus())} worker(s) on "
        f"both runtimes; load generator on CPU(s) {every} (unpinned); server and load generator "
        f"shared CPU(s) {every}: the load generator's CPU time competed with the server's, and "
        "every phase records it"
    ) in said
    assert any("phases sized at least 2 x 1.5 Go GC cycles" in m for m in said)
    assert any(
        m.startswith("fake-http: 300 req/s: 2 x 1.5 cycles need 25 s, over the 20 s") for m in said
    )
    # The capped rate's Go phases are marked; its Rust phases and the other rate's are not.
    capped = "phase capped at 20 s: the probe's GC rate asks for 25 s to hold 2 x 1.5 GC cycles"
    for impl in result.implementations:
        for phase in impl.phases:
            if phase.replicate is None or phase.offered_rps is None:
                continue
            marked = impl.lang == "go" and phase.offered_rps == 300.0
            assert (capped in phase.flags) == marked, (impl.key, phase.phase, phase.flags)


def test_every_phase_records_both_cpu_sets_and_is_flagged_where_they_share_one(
    tmp_path, oha, launcher, executor, ports
):
    """Unpinned, server and load generator may use every CPU: the phase reads the server's CPUs
    back, records the load generator's and the ones they shared, which is no exclusion. On CPUs
    apart (a 2-CPU machine or larger) nothing is shared."""
    available = available_cpus()
    cases = [(None, None, available)]
    if len(available) >= 2:
        cases.append(((available[-1],), (available[0],), ()))
    for server_cpus, loadgen_cpus, shared in cases:
        runner = ServerRunner(
            oha, settings(server_cpus=server_cpus, loadgen_cpus=loadgen_cpus), tmp_path, launcher
        )
        script = fake_server(tmp_path, "ok")
        params = WORKLOAD.params["quick"]
        server = runner.start(WORKLOAD, GO, builds_for(script, script)[GO.key], params, tmp_path)
        with server.process:
            bodies = runner.request_bodies(WORKLOAD, server, params)
            phase = runner.run_phase(
                "rate=100", WORKLOAD, GO, server, params, bodies, 100.0, 1.0,
                run_config(runner.settings), executor, tmp_path,
            )  # fmt: skip
            server.process.stop(1.0)
        assert phase.ok, phase.error
        assert phase.server_cpus == (server_cpus or available)  # read back from the server
        assert phase.loadgen_cpus == (loadgen_cpus or available)
        assert phase.shared_cpus == shared
        # shown beside the phase from the record (report), never among its per-replicate flags
        assert not any("shared" in f for f in phase.flags), phase.flags
        assert not any("shared" in r for r in headline_exclusions(phase))
