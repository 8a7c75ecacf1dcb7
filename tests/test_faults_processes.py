"""Faults: processes that outlive the program that started them (issue 10, item 3).

Every test runs tiny shell, Python or C programs through the real launcher and the real executor
or server lifecycle. Each escaped process sleeps for its own odd number of seconds, so a survivor
is found by its command line and can only have come from that test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
from builders import build_record

from harness.errors import HarnessError
from harness.measure import launcher as measure
from harness.measure.launcher import ServerProcess, SubprocessExecutor, ensure_launcher
from harness.measure.runner import to_repetition
from harness.model import (
    Implementation,
    RequestStream,
    RunConfig,
    ServerSpec,
    Workload,
)
from harness.servers import loadgen
from harness.servers.lifecycle import ServerFailure
from harness.servers.protocol import ServerRunner, default_settings

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler"
)

RESULT = '{"checksum": "c", "items": 1, "bytes": 1, "work_seconds": 0.001}'
# Waits until the background job $1 has become `sleep` (so it has called setsid and exec'd).
WAIT_EXEC = 'wait_exec() { while [ "$(cat /proc/$1/comm 2>/dev/null)" != sleep ]; do :; done; }'


@pytest.fixture(scope="module")
def launcher(tmp_path_factory) -> Path:
    return ensure_launcher(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def executor(launcher) -> SubprocessExecutor:
    return SubprocessExecutor(launcher)


def run(executor, argv, timeout=20.0):
    return executor.run(argv, env={}, cpus=None, timeout_seconds=timeout, sample_interval_seconds=0)


def sleeping(seconds: int) -> list[int]:
    """Pids of live `sleep SECONDS` processes, anywhere on the machine."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["cmdline"] == ["sleep", str(seconds)] and proc.info["status"] != "zombie":
            found.append(proc.pid)
    return found


@pytest.fixture
def no_sleepers():
    """Fails a test (and cleans up) if any `sleep 10NN` it may have started is still running."""
    yield
    left = [pid for seconds in range(1001, 1020) for pid in sleeping(seconds)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running: {left}"


# --- batch ---------------------------------------------------------------------------------------


def test_setsid_children_fail_the_repetition_and_are_killed(executor, no_sleepers):
    script = f"""{WAIT_EXEC}
    for i in 1 2 3 4; do setsid sleep 1001 & wait_exec $!; done
    echo '{RESULT}'"""
    out = run(executor, ["/bin/sh", "-c", script])
    assert out.exit_code == 0 and out.leftover_processes == 4
    # The launcher has killed and reaped them before it exited: nothing to wait for.
    assert sleeping(1001) == []
    rep = to_repetition(1, "rust", out, timeout_seconds=20.0)
    assert not rep.ok
    assert rep.error == "left 4 processes running (killed)"


DOUBLE_FORK = f"""
import os, time
r, w = os.pipe()
if os.fork() == 0:  # the classic daemon: fork, setsid, fork again, the middle one exits
    os.setsid()
    grandchild = os.fork()
    if grandchild == 0:
        os.execvp("sleep", ["sleep", "1002"])
    os.write(w, str(grandchild).encode())
    os._exit(0)
os.wait()  # the middle process is gone: the daemon is an orphan in its own session
daemon = int(os.read(r, 32))
while open(f"/proc/{{daemon}}/comm").read().strip() != "sleep":
    time.sleep(0.001)
print({RESULT!r})
"""


def test_double_forked_daemon_is_caught_reported_and_killed(executor, no_sleepers):
    out = run(executor, [sys.executable, "-c", DOUBLE_FORK])
    assert out.exit_code == 0, out.stderr
    assert out.leftover_processes == 1
    assert sleeping(1002) == []
    assert to_repetition(1, "go", out, 20.0).error == "left 1 process running (killed)"


SELF_RUSAGE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static void busy(size_t bytes, unsigned long loops) {
    volatile char *block = malloc(bytes);
    for (size_t i = 0; i < bytes; i += 4096) block[i] = 1;  /* volatile: every page touched */
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < loops; i++) spin += i;
}

/* With an argument, first leaves a hog behind: 128 MiB and some CPU, in a session of its own. */
int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        int ready[2];
        if (pipe(ready) != 0) return 2;
        if (fork() == 0) {
            setsid();
            busy(128u << 20, 300000000UL);
            if (write(ready[1], "x", 1) != 1) _exit(2);
            for (;;) pause();
        }
        char x;
        if (read(ready[0], &x, 1) != 1) return 2;
    }
    busy(32u << 20, 100000000UL);
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    char line[256];  /* no stdio buffer: nothing is allocated after the reading */
    int n = snprintf(line, sizeof line,
        "{\"checksum\": \"c\", \"items\": 1, \"bytes\": 1, \"work_seconds\": 0.1, "
        "\"extra\": {\"maxrss_kib\": %ld, \"utime_us\": %ld}}\n",
        self.ru_maxrss, (long)(self.ru_utime.tv_sec * 1000000L + self.ru_utime.tv_usec));
    _exit(write(1, line, n) == n ? 0 : 1);  /* _exit: libc's exit path would fault in more pages */
}
"""


@pytest.fixture(scope="module")
def self_rusage(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("self-rusage")
    (folder / "self_rusage.c").write_text(SELF_RUSAGE)
    binary = folder / "self_rusage"
    subprocess.run(["cc", "-O1", "-o", str(binary), str(folder / "self_rusage.c")], check=True)
    return binary


def assert_own_rusage(out, extra) -> None:
    """wait4's figures are the program's own: the peak it read itself (to within the pages its exit
    faults in) and its CPU time plus only its exit."""
    own_peak = int(extra["maxrss_kib"]) * 1024
    assert own_peak <= out.peak_rss_bytes < own_peak + (1 << 20)
    assert out.peak_rss_bytes > 32 << 20
    own_user = extra["utime_us"] / 1e6
    assert own_user <= out.user_seconds < own_user + 0.05


def test_a_clean_program_leaves_nothing_and_keeps_its_exact_rusage(executor, self_rusage):
    out = run(executor, [str(self_rusage)])
    assert out.exit_code == 0 and out.leftover_processes == 0
    rep = to_repetition(1, "rust", out, 20.0)
    assert rep.ok and rep.error is None
    assert_own_rusage(out, rep.extra)


def test_what_a_leftover_used_is_not_counted_as_the_programs(executor, self_rusage):
    out = run(executor, [str(self_rusage), "leave-a-hog"])
    assert out.leftover_processes == 1
    extra = json.loads(out.stdout)["extra"]
    assert_own_rusage(out, extra)  # not the hog's 128 MiB and 0.3 s, which the launcher reaped
    assert out.peak_rss_bytes < 100 << 20


def test_timeout_kills_escaped_children_too(executor, no_sleepers):
    script = f"{WAIT_EXEC}\nsetsid sleep 1003 & wait_exec $!\nsleep 1004 & wait_exec $!\nsleep 1005; exit"
    began = time.monotonic()
    out = run(executor, ["/bin/sh", "-c", script], timeout=1.0)
    assert time.monotonic() - began < 1.0 + measure.LAUNCHER_GRACE_SECONDS
    assert out.timed_out and out.exit_code == -signal.SIGKILL
    assert out.leftover_processes == 3  # counted, though the timeout is the failure reported
    assert sleeping(1003) == [] and sleeping(1004) == [] and sleeping(1005) == []
    assert to_repetition(1, "go", out, 1.0).error.startswith("timed out after 1 s")


class Interrupted(Exception):
    pass


def test_interrupt_while_waiting_kills_escaped_children(executor, no_sleepers):
    def interrupt(*_):
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, interrupt)
    script = f"{WAIT_EXEC}\nsetsid sleep 1006 & wait_exec $!\nsleep 1007"
    pinger = threading.Timer(
        0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGUSR1)
    )
    pinger.start()
    try:
        with pytest.raises(Interrupted):
            run(executor, ["/bin/sh", "-c", script])
    finally:
        pinger.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert sleeping(1006) == [] and sleeping(1007) == []
    assert psutil.Process().children() == []  # the launcher was reaped too


def test_kill_all_children_reaches_escaped_children(executor, no_sleepers):
    script = f"{WAIT_EXEC}\nsetsid sleep 1008 & wait_exec $!\necho started >&2\nsleep 1009"
    outcomes = []
    worker = threading.Thread(
        target=lambda: outcomes.append(run(executor, ["/bin/sh", "-c", script]))
    )
    worker.start()
    deadline = time.monotonic() + 10
    while not (sleeping(1008) and sleeping(1009)) and time.monotonic() < deadline:
        time.sleep(0.01)
    measure.kill_all_children()  # what `harness` does on Ctrl-C and at exit
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert outcomes[0].exit_code == -signal.SIGKILL
    assert sleeping(1008) == [] and sleeping(1009) == []


HARNESS = """
import sys
from pathlib import Path
from harness.measure.launcher import SubprocessExecutor
script = sys.argv[2]
SubprocessExecutor(Path(sys.argv[1])).run(
    ["/bin/sh", "-c", script], env={}, cpus=None, timeout_seconds=60, sample_interval_seconds=0
)
"""


def test_a_sigkilled_harness_leaves_nothing_running(launcher, no_sleepers):
    script = f"{WAIT_EXEC}\nsetsid sleep 1010 & wait_exec $!\nsleep 1011"
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(launcher), script], cwd=ROOT, env=os.environ
    )
    deadline = time.monotonic() + 20
    while not (sleeping(1010) and sleeping(1011)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sleeping(1010) and sleeping(1011)
    harness.kill()  # no atexit, no handler: the launcher's PDEATHSIG does the clean-up
    harness.wait()
    deadline = time.monotonic() + 5
    while (sleeping(1010) or sleeping(1011)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sleeping(1010) == [] and sleeping(1011) == []


# --- servers -------------------------------------------------------------------------------------


def test_server_process_reports_and_kills_its_setsid_child(launcher, tmp_path, no_sleepers):
    script = f"{WAIT_EXEC}\nsetsid sleep 1012 & wait_exec $!\nexec sleep 1013"
    server = ServerProcess(
        launcher, ["/bin/sh", "-c", script], {}, None, tmp_path / "out", tmp_path / "err"
    )
    with server:
        deadline = time.monotonic() + 10
        while not sleeping(1013) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sleeping(1013) == [server.pid]  # `pid` is the server's, not the launcher's
        assert server.exit_code() is None
        assert server.stop(grace_seconds=5.0) == -signal.SIGTERM  # it stopped on SIGTERM
    assert server.leftover_processes == 1
    assert sleeping(1012) == [] and sleeping(1013) == []


HTTP_SERVER = """#!{python}
import os, subprocess, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECONDS, DAEMONISE = {seconds!r}, {daemonise!r}
if SECONDS:  # a helper in a session of its own, as `setsid` starts one
    child = subprocess.Popen(["sleep", str(SECONDS)], start_new_session=True)
    while open(f"/proc/{{child.pid}}/comm").read().strip() != "sleep":
        time.sleep(0.001)
if DAEMONISE:  # the parent returns at once, as a daemon's does; the child would serve
    sys.exit(0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_GET(self):
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


httpd = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
httpd.daemon_threads = True
httpd.serve_forever()
"""

WORKLOAD = Workload(
    name="leaky-http",
    category="server",
    kind="server",
    description="a stand-in server that starts a process in a new session",
    throughput="items",
    args=("--port", "{port}"),
    input=None,
    params={"quick": {}, "full": {}},
    implementations=(
        Implementation(lang="go", variant="default", path="fake", library="stand-in"),
        Implementation(lang="rust", variant="default", path="fake", library="stand-in"),
    ),
    manifest_path="workloads/leaky-http.toml",
    server=ServerSpec(
        health="/health",
        requests=(RequestStream(name="get", method="GET", path="/", share=1.0, expect_status=200),),
    ),
)
GO, RUST = WORKLOAD.implementations


def http_server(folder: Path, seconds: int | None, daemonise: bool = False) -> Path:
    """A stand-in server; with `seconds` it first starts `sleep SECONDS` in a new session."""
    script = folder / f"server-{seconds}"
    script.write_text(
        textwrap.dedent(HTTP_SERVER).format(
            python=sys.executable, seconds=seconds, daemonise=daemonise
        )
    )
    script.chmod(0o755)
    return script


def server_settings():
    return dataclasses.replace(
        default_settings("quick", f"oha {loadgen.OHA_VERSION}", None, None),
        connections=2,
        warmup_seconds=0.3,
        probe_seconds=0.5,
        rate_fractions=(0.5,),
        min_phase_seconds=1.0,
        max_phase_seconds=1.0,
        ready_timeout_seconds=10.0,
        stop_grace_seconds=2.0,
    )


def builds(go_script: Path, rust_script: Path):
    return {
        impl.key: dataclasses.replace(
            build_record(impl.lang, workload=WORKLOAD.name), binary_path=str(script)
        )
        for impl, script in ((GO, go_script), (RUST, rust_script))
    }


def test_a_daemonising_server_fails_at_start_naming_what_it_left(launcher, tmp_path, no_sleepers):
    runner = ServerRunner(tmp_path / "no-oha", server_settings(), tmp_path, launcher)
    script = http_server(tmp_path, 1014, daemonise=True)
    with pytest.raises(ServerFailure) as failure:
        runner.start(WORKLOAD, GO, builds(script, script)[GO.key], {}, tmp_path)
    assert str(failure.value) == (
        "server exited with status 0 before it was ready: (no stderr); "
        "left 1 process running (killed)"
    )
    assert sleeping(1014) == []


def test_a_server_leaving_a_setsid_child_fails_and_the_child_is_killed(
    launcher, tmp_path, no_sleepers
):
    try:
        oha = loadgen.find_oha(ROOT / "tools")
    except HarnessError:
        pytest.skip("needs the load generator oha (make deps)")
    runner = ServerRunner(oha, server_settings(), tmp_path, launcher)
    clean, leaky = http_server(tmp_path, None), http_server(tmp_path, 1015)
    config = RunConfig(
        size="quick",
        repetitions=1,
        warmups=0,
        timeout_seconds=30.0,
        cpu_affinity=None,
        sample_interval_seconds=0.1,
        workloads=(WORKLOAD.name,),
        server=runner.settings,
    )
    result = runner(WORKLOAD, builds(leaky, clean), None, config, SubprocessExecutor(launcher))
    go = result.result_for(GO.key)
    assert go.status == "failed"
    assert go.error == "left 1 process running (killed)"
    assert [p.phase for p in go.phases] == ["saturation"]  # not run again at the fixed rates
    assert sleeping(1015) == []
    assert result.result_for(RUST.key).status == "ok"
    assert result.status == "failed"
