"""End to end for server workloads: the real Go and Rust http-json servers (built with the harness's
Builder, cached in .cache/) under the real oha, with very short phases; then `harness run`
interrupted with SIGINT and SIGTERM while servers and load generators are running.

Processes and ports are identified by the ports this test's harness handed out, never by name
alone: other runs on the machine may use the same binaries at the same time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from hdrh.histogram import HdrHistogram

from harness import config
from harness.analysis.replicates import rate_summaries, replicate_ratio
from harness.build.builder import Builder
from harness.measure.launcher import SubprocessExecutor, available_cpus, ensure_launcher
from harness.measure.race import RACE_BUILD
from harness.model import RunConfig
from harness.servers import hosting, lifecycle, loadgen, transport
from harness.servers.protocol import ServerRunner, default_settings

ROOT = Path(__file__).resolve().parents[2]
NAME = "http-json"
FRACTIONS = (0.25, 0.5)
# the binaries come from the suite's one shared build (tests/conftest.py)
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("workspace_build")]


@pytest.fixture(scope="module")
def workload():
    return config.load_workloads(ROOT / "workloads")[NAME]


@pytest.fixture(scope="module")
def builds(workload):
    builder = Builder(ROOT / ".cache")
    records = {impl.key: builder.build(workload, impl) for impl in workload.implementations}
    for record in records.values():
        assert record.ok, record.error
    return records


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


# What both servers' shared code sets up (workloads/go/internal/serve, crates/serve): the kernel's
# maximum backlog, Nagle off, no TCP keep-alive probes, HTTP/1.1 keep-alive.
EXPECTED_TRANSPORT = {
    "listen backlog": str(somaxconn()),
    "TCP_NODELAY": "on",
    "SO_KEEPALIVE": "off",
    "HTTP keep-alive": "on",
}


def cpus() -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """(server CPUs, load-generator CPUs): one each, as the harness does on a 2-core machine."""
    available = available_cpus()
    return ((available[-1],), (available[0],)) if len(available) >= 2 else (None, None)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def processes_using(ports: set[int], binaries: set[str]) -> list[psutil.Process]:
    """Live servers started with `--port P`, and oha processes aimed at 127.0.0.1:P, P in ports."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if not cmdline or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        is_server = cmdline[0] in binaries and any(
            cmdline[i] == "--port" and int(cmdline[i + 1]) in ports for i in range(len(cmdline) - 1)
        )
        is_oha = os.path.basename(cmdline[0]) == "oha" and any(
            f"127.0.0.1:{port}/" in arg for arg in cmdline for port in ports
        )
        if is_server or is_oha:
            found.append(proc)
    return found


def check_latency(phase) -> None:
    lat = phase.latency
    assert lat is not None and lat.count > 0, phase
    assert 0 < lat.p50_seconds <= lat.p90_seconds <= lat.p99_seconds <= lat.p999_seconds
    assert lat.p999_seconds <= lat.max_seconds
    counts = phase.request_counts
    assert counts is not None and counts.without_duration == counts.unexpected_status == 0
    assert lat.count == phase.requests == counts.expected_status + counts.unsent
    decoded = HdrHistogram.decode(phase.latency_histogram.encode("ascii"))
    assert decoded.get_total_count() == lat.count
    assert phase.latency_windows and sum(w.count for w in phase.latency_windows) == lat.count


def test_quick_run_of_the_real_servers(workload, builds, tmp_path, monkeypatch):
    ports: list[int] = []
    real_free_port = lifecycle.free_port

    def recording_free_port(address: str = "127.0.0.1") -> int:
        ports.append(real_free_port(address))
        return ports[-1]

    monkeypatch.setattr(hosting, "free_port", recording_free_port)
    server_cpus, loadgen_cpus = cpus()
    settings = dataclasses.replace(
        default_settings("quick", f"oha {loadgen.OHA_VERSION}", server_cpus, loadgen_cpus),
        warmup_seconds=1.0,
        probe_seconds=2.0,
        min_phase_seconds=1.5,
        max_phase_seconds=1.5,
        rate_fractions=FRACTIONS,
    )
    run_config = RunConfig(
        size="quick",
        repetitions=1,
        warmups=0,
        timeout_seconds=60.0,
        cpu_affinity=server_cpus,
        sample_interval_seconds=0.1,
        workloads=(NAME,),
        server=settings,
        order="latin",
    )
    runner = ServerRunner(
        loadgen.find_oha(ROOT / "tools"), settings, tmp_path, ensure_launcher(ROOT / ".cache")
    )
    messages: list[str] = []
    result = runner(
        workload,
        builds,
        None,
        run_config,
        SubprocessExecutor(ensure_launcher(ROOT / ".cache")),
        messages.append,
    )

    assert result.status == "ok", result.error
    assert result.kind == "server" and result.error is None
    assert re.fullmatch(r"[0-9a-f]{16}", result.reference_checksum or "")  # equal answers
    go, rust = result.result_for("go/default"), result.result_for("rust/default")
    assert go.status == "ok", go.error
    assert rust.status == "ok", rust.error
    n = str(len(server_cpus or available_cpus()))  # one worker per server CPU
    assert go.parallelism == {"HARNESS_CPUS": n, "GOMAXPROCS": n}
    assert rust.parallelism == {
        "HARNESS_CPUS": n,
        "TOKIO_WORKER_THREADS": n,
        "RAYON_NUM_THREADS": n,
    }
    shared = {
        lang: {k: t.transport[k] for k in EXPECTED_TRANSPORT}
        for lang, t in (("go", go), ("rust", rust))
    }
    assert shared == {"go": EXPECTED_TRANSPORT, "rust": EXPECTED_TRANSPORT}
    # a quick answer (10 records, 1,929 B) fits Go's 4 KiB buffer: one segment on both sides
    one = "1 (GET /records?n=10, 1,929 B body)"
    assert go.transport[transport.SEGMENTS] == rust.transport[transport.SEGMENTS] == one
    assert re.fullmatch(r"2: rust-http-json- ×1, tokio-rt-worker ×1", rust.transport["threads"])

    saturations = {}
    rates = result.offered_rates_rps
    for impl in (go, rust):
        assert impl.idle_rss_bytes and impl.idle_rss_bytes > 0
        # The selection pass's probe, then 2 replicates (quick): rates ascending, then
        # descending; a quick run closes no replicate with a probe of its own (full runs do).
        assert [(p.phase, p.replicate) for p in impl.phases] == [
            ("saturation", None),
            *((f"rate={r:g}", 1) for r in rates),
            *((f"rate={r:g}", 2) for r in reversed(rates)),
        ]
        for phase in impl.phases:
            assert phase.ok, phase.error
            check_latency(phase)
            assert phase.achieved_rps > 0
            assert phase.errors == 0
            # GET and POST streams alike
            assert phase.status_counts == {"200": phase.request_counts.expected_status}
            assert phase.server_peak_rss_bytes > 0
            assert phase.server_samples
            # One window: oha's own span, inside the harness's time around oha.
            assert 0 < phase.duration_seconds < (phase.loadgen_wall_seconds or 0)
            end = phase.started_at_seconds + phase.duration_seconds
            if impl.lang == "go":
                assert isinstance(phase.gc_cycles, tuple)
                assert all(phase.started_at_seconds <= c.at_seconds <= end for c in phase.gc_cycles)
            else:
                assert phase.gc_cycles is None
        saturation = impl.phases[0]
        assert saturation.offered_rps is None
        saturations[impl.key] = saturation.achieved_rps
        # Per rate: both replicates, a median with a CI over them.
        summaries = rate_summaries(impl)
        assert [s.offered_rps for s in summaries] == sorted(rates)
        for summary in summaries:
            # A replicate the hypervisor stalled (steal over 1 %) is set aside, not lost.
            aside = [int(x.split()[1].rstrip(":")) for x in summary.set_aside]
            assert sorted((*summary.replicates, *aside)) == [1, 2]
            p99 = summary.latency["p99"]
            assert len(p99.values) == len(summary.replicates)
            if len(p99.values) == 2:
                assert p99.ci_low is not None and p99.ci_low <= p99.median <= p99.ci_high

    # The same offered rates for both languages: fractions of the slower one's saturation.
    slowest = min(saturations.values())
    assert rates == tuple(float(round(f * slowest)) for f in FRACTIONS)
    assert result.rates_source.startswith("fractions ")
    ratio = replicate_ratio(go, rust, "latency_p50_seconds", min(rates))
    # paired over the replicates both sides kept (a steal-disturbed one is set aside)
    kept = [
        {s.offered_rps: set(s.replicates) for s in rate_summaries(impl)}[min(rates)]
        for impl in (go, rust)
    ]
    common = len(kept[0] & kept[1])
    assert (ratio.rounds if ratio else 0) == common and (ratio is None or ratio.ratio > 0)
    assert common >= 1 or any(s.set_aside for s in rate_summaries(go) + rate_summaries(rust))
    assert any("saturation" in m for m in messages)

    # Nothing left: no server or oha of this run alive, no port listening, no child process.
    assert len(ports) == 6  # each language: once to probe, once per replicate
    binaries = {b.binary_path for b in builds.values()}
    assert processes_using(set(ports), binaries) == []
    assert [p for p in ports if listening(p)] == []
    assert psutil.Process().children(recursive=True) == []


# --- the same transport on both sides -----------------------------------------------------------


def listen_send_q(port: int) -> int:
    """Send-Q of the LISTEN socket on `port` in `ss -ltn`: for a listening socket, its backlog."""
    out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True, check=True).stdout
    (line,) = [
        line
        for line in out.splitlines()
        if line.startswith("LISTEN") and line.split()[3] == f"127.0.0.1:{port}"
    ]
    return int(line.split()[2])


@pytest.mark.parametrize("name", ["http-json", "kv-cache"])
def test_go_and_rust_servers_listen_and_accept_alike(name, tmp_path):
    """Each real server, started as the harness starts it: the kernel's view of its listen backlog
    (ss), and TCP_NODELAY / SO_KEEPALIVE on a connection it accepted, read on its own socket."""
    workload = config.load_workloads(ROOT / "workloads")[name]
    builder = Builder(ROOT / ".cache")
    settings = default_settings("quick", f"oha {loadgen.OHA_VERSION}", None, None)
    runner = ServerRunner(
        loadgen.find_oha(ROOT / "tools"), settings, tmp_path, ensure_launcher(ROOT / ".cache")
    )
    backlogs, observed = {}, {}
    for lang in ("go", "rust"):
        impl = workload.default_for(lang)
        build = builder.build(workload, impl)
        assert build.ok, build.error
        running = runner.start(workload, impl, build, workload.params["quick"], tmp_path)
        with running.process:
            backlogs[lang] = listen_send_q(running.port)
            observed[lang] = transport.observe(running.process.pid, running.port, "/health")
    assert backlogs == {"go": somaxconn(), "rust": somaxconn()}
    shared = {lang: {k: found[k] for k in EXPECTED_TRANSPORT} for lang, found in observed.items()}
    assert shared == {"go": EXPECTED_TRANSPORT, "rust": EXPECTED_TRANSPORT}


# What differs, by the frameworks' defaults, as workloads/docs/http-json.md discloses it: Go's
# net/http writes a body larger than its 4 KiB connection buffer in two writes (two segments with
# TCP_NODELAY), hyper in one writev; tokio's multi-thread runtime runs one worker per server CPU
# beside the main thread (axum's accept loop); Go's threads all carry the program's name.
DISCLOSED_SEGMENTS = {
    "go": "2 (GET /records?n=50, 9,592 B body)",
    "rust": "1 (GET /records?n=50, 9,592 B body)",
}
NO_HEADER_TIMEOUT_WITHIN_SECONDS = 10.5  # Go's servers had ReadHeaderTimeout 10 s until 2026-12-03


def test_transport_differences_are_the_disclosed_ones(tmp_path):
    """The live http-json servers: how many segments a 9.7 KB answer leaves in (TCP_INFO on the
    server's own socket), which threads they run, and that neither closes a connection whose
    request headers are still incomplete after 10.5 s (no header-read timeout on either side;
    Go had one of 10 s). Both servers run at once, so the wait is paid once (~11 s)."""
    workload = config.load_workloads(ROOT / "workloads")[NAME]
    builder = Builder(ROOT / ".cache")
    settings = default_settings("quick", f"oha {loadgen.OHA_VERSION}", None, None)
    runner = ServerRunner(
        loadgen.find_oha(ROOT / "tools"), settings, tmp_path, ensure_launcher(ROOT / ".cache")
    )
    with contextlib.ExitStack() as stack:
        servers, partial, observed = {}, {}, {}
        for lang in ("go", "rust"):
            impl = workload.default_for(lang)
            build = builder.build(workload, impl)
            assert build.ok, build.error
            servers[lang] = runner.start(workload, impl, build, workload.params["quick"], tmp_path)
            stack.enter_context(servers[lang].process)
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", servers[lang].port)))
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line yet
            partial[lang] = sock
        started = time.monotonic()
        workers = {  # one worker per CPU the server was given (unpinned here: all of them)
            lang: len(os.sched_getaffinity(server.process.pid)) for lang, server in servers.items()
        }
        for lang, server in servers.items():
            observed[lang] = transport.observe(
                server.process.pid, server.port, "/health", "/records?n=50"
            )
        time.sleep(max(0.0, NO_HEADER_TIMEOUT_WITHIN_SECONDS - (time.monotonic() - started)))
        answers = {}
        for lang, sock in partial.items():
            sock.settimeout(5.0)
            sock.sendall(b"\r\n")  # the request completes now: a server that kept it answers
            answers[lang] = sock.recv(64)
    assert {lang: found[transport.SEGMENTS] for lang, found in observed.items()} == (
        DISCLOSED_SEGMENTS
    )
    n = workers["rust"]  # the main thread runs axum's accept loop, beside n tokio workers
    assert observed["rust"]["threads"] == f"{n + 1}: rust-http-json- ×1, tokio-rt-worker ×{n}"
    assert re.fullmatch(r"\d+: go-http-json-\w* ×\d+", observed["go"]["threads"])
    assert {lang: a.split(b"\r\n", 1)[0] for lang, a in answers.items()} == {
        "go": b"HTTP/1.1 200 OK",
        "rust": b"HTTP/1.1 200 OK",
    }


# --- interrupting `harness run` ------------------------------------------------------------------


def _reset_sigint() -> None:
    # A shell running us in the background may have set SIGINT to "ignore", which a child
    # inherits (and Python then installs no KeyboardInterrupt handler): restore the default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _oha_running(seen, fixed_rate: bool) -> bool:
    return any(
        # `oha --version` (the harness describing its load generator at start) sends no load
        os.path.basename(cmd[0]) == "oha"
        and "--version" not in cmd
        and (not fixed_rate or "-q" in cmd)
        for cmd in seen.values()
    )


@pytest.mark.parametrize(
    ("sig", "fixed_rate", "race_check"),
    [
        pytest.param(signal.SIGINT, False, False, id="SIGINT-during-saturation-probe"),
        pytest.param(signal.SIGTERM, True, False, id="SIGTERM-during-fixed-rate-stage"),
        # the race check's closed-loop load on the race-built server comes before any measuring
        pytest.param(signal.SIGINT, False, True, id="SIGINT-during-race-check"),
    ],
)
def test_interrupted_run_stops_servers_and_load_and_saves_results(
    workload, builds, tmp_path, sig, fixed_rate, race_check
):
    results_dir = tmp_path / "results"
    if race_check:  # built here (then a cache hit for the harness): its path names the server
        race_build = Builder(ROOT / ".cache", flavour=RACE_BUILD).build(
            workload, workload.default_for("go")
        )
        assert race_build.ok, race_build.error
        binaries = {race_build.binary_path}
    else:
        binaries = {b.binary_path for b in builds.values()}
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("wb") as stderr:
        harness = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness",
                "--results-dir",
                str(results_dir),
                "run",
                "--size",
                "quick",
                "--workloads",
                NAME,
                "--race-check" if race_check else "--no-race-check",
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            preexec_fn=_reset_sigint,
        )
    seen: dict[tuple[int, float], list[str]] = {}  # (pid, create time) -> cmdline

    def watch() -> None:
        try:
            descendants = psutil.Process(harness.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for proc in descendants:
            with contextlib.suppress(psutil.Error):  # it exited meanwhile
                cmdline = proc.cmdline()
                if cmdline:  # empty for a zombie; keep what it was started as
                    seen[(proc.pid, proc.create_time())] = cmdline

    try:
        deadline = time.monotonic() + 60
        while harness.poll() is None and time.monotonic() < deadline:
            watch()
            if _oha_running(seen, fixed_rate):
                break
            time.sleep(0.05)
        assert harness.poll() is None, stderr_path.read_text()[-3000:]
        assert _oha_running(seen, fixed_rate), "no load generator started within 60 s"
        servers = {key: cmd for key, cmd in seen.items() if cmd and cmd[0] in binaries}
        assert servers, f"no server process seen: {list(seen.values())}"
        ports = {int(cmd[cmd.index("--port") + 1]) for cmd in servers.values()}
        assert any(listening(p) for p in ports)  # a server is up while the load runs

        harness.send_signal(sig)
        signalled = time.monotonic()
        while harness.poll() is None and time.monotonic() - signalled < 20:
            watch()  # anything started after the signal must be stopped too
            time.sleep(0.05)
        assert harness.poll() is not None, "harness still running 20 s after the signal"
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
    text = stderr_path.read_text()
    assert harness.returncode == 130, text[-3000:]
    assert "interrupted" in text

    # Every server, launcher and oha the harness started is gone (pid + start time, so a reused
    # pid is not mistaken for one of them) ...
    def still_alive(pid: int, created: float) -> bool:
        try:
            proc = psutil.Process(pid)
            return proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 5  # orphans are reaped by init, not by us
    left = list(seen)
    while left and time.monotonic() < deadline:
        left = [key for key in left if still_alive(*key)]
        time.sleep(0.05)
    assert not left, [seen[key] for key in left]
    # ... nothing uses or listens on its ports ...
    assert processes_using(ports, binaries) == []
    assert [p for p in ports if listening(p)] == []
    # ... and, the only workload being cut short, nothing is saved: a run that measured nothing
    # writes no file and never becomes latest.json (store.py).
    assert "harness: interrupted before any workload was measured; nothing saved" in text
    assert not results_dir.exists() or list(results_dir.glob("*.json")) == []
