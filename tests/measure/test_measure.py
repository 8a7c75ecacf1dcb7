"""Real processes, kept small and quick: the launcher, exact rusage, timeouts, pinning, sampling."""

import os
import resource
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from harness.measure.launcher import SubprocessExecutor, ensure_launcher, parse_launcher_report

MB = 1_000_000
MIB = 1 << 20

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler"
)


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    launcher = ensure_launcher(tmp_path_factory.mktemp("cache"))
    return SubprocessExecutor(launcher)


def run(executor, argv, timeout=20.0, cpus=None, interval=0.0, env=None):
    return executor.run(
        argv,
        env=env or {},
        cpus=cpus,
        timeout_seconds=timeout,
        sample_interval_seconds=interval,
    )


def test_ensure_launcher_is_cached(tmp_path):
    first = ensure_launcher(tmp_path)
    assert first.exists() and os.access(first, os.X_OK)
    mtime = first.stat().st_mtime_ns
    assert ensure_launcher(tmp_path) == first
    assert first.stat().st_mtime_ns == mtime
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no temp file left


def test_parse_launcher_report():
    report = parse_launcher_report(
        "pid=42\n"  # written at the fork, for servers
        "pid=42 status=256 wall_ns=1500000000 utime_us=250000 stime_us=1000 maxrss_kib=2048"
        " leftover=3\n"
    )
    assert report.pid == 42
    assert report.wait_status == 256
    assert report.wall_seconds == 1.5
    assert report.user_seconds == 0.25
    assert report.sys_seconds == 0.001
    assert report.peak_rss_bytes == 2 * MIB
    assert report.leftover_processes == 3
    assert parse_launcher_report("pid=42\n") is None  # the program has not been reaped yet
    assert parse_launcher_report("pid=42 status=0") is None
    assert parse_launcher_report("") is None


def test_peak_rss_of_an_allocating_child(executor):
    code = "import sys; b = b'x' * (100 * 1024 * 1024); sys.stdout.write(str(len(b)))"
    out = run(executor, [sys.executable, "-c", code])
    assert out.exit_code == 0
    assert out.stdout == str(100 * MIB)
    assert 100 * MB < out.peak_rss_bytes < 200 * MB
    assert out.user_seconds + out.sys_seconds > 0
    assert out.wall_seconds > 0


def test_peak_rss_is_not_inherited_from_a_large_harness(executor):
    ballast = b"y" * (256 * MIB)  # make this process's own peak large, touched
    own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert own_peak > 256 * MIB  # a child forked straight from here would report at least this
    out = run(executor, ["/bin/true"])
    del ballast
    assert out.exit_code == 0
    assert 0 < out.peak_rss_bytes < 20 * MB


def test_exit_codes_propagate(executor):
    assert run(executor, ["/bin/sh", "-c", "exit 3"]).exit_code == 3
    assert run(executor, ["/bin/false"]).exit_code == 1
    killed = run(executor, ["/bin/sh", "-c", "kill -9 $$"])
    assert killed.exit_code == -9
    assert not killed.timed_out


def test_stdout_stderr_and_env(executor):
    out = run(
        executor,
        ["/bin/sh", "-c", 'echo "out $GORUST_TEST"; echo err >&2'],
        env={"GORUST_TEST": "value"},
    )
    assert out.stdout == "out value\n"
    assert out.stderr == "err\n"


def test_missing_program(executor):
    out = run(executor, ["/nonexistent/program"])
    assert out.exit_code == 127
    assert "cannot execute /nonexistent/program" in out.stderr
    assert not out.timed_out


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group_members(pgid):
    members = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def test_timeout_kills_the_whole_process_group(executor):
    # sh prints its parent (the launcher, which leads the group), itself and the background grandchild
    script = "echo $PPID $$; sleep 30 & echo $!; sleep 30"
    start = time.monotonic()
    out = run(executor, ["/bin/sh", "-c", script], timeout=0.5)
    assert time.monotonic() - start < 20  # not a speed check: it must not wait for sleep 30
    assert out.timed_out
    assert out.exit_code == -9
    pgid, sh_pid, grandchild = (int(x) for x in out.stdout.split())
    assert os.getpgid(0) != pgid
    deadline = time.monotonic() + 5
    while (
        _group_members(pgid) or _alive(sh_pid) or _alive(grandchild)
    ) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(sh_pid)
    assert not _alive(grandchild)
    assert _group_members(pgid) == []


def test_cpu_pinning_is_honoured(executor):
    available = sorted(os.sched_getaffinity(0))
    code = "import os; print(sorted(os.sched_getaffinity(0)))"
    target = available[-1]
    out = run(executor, [sys.executable, "-c", code], cpus=(target,))
    assert out.stdout.strip() == f"[{target}]"
    assert sorted(os.sched_getaffinity(0)) == available  # the harness thread is restored
    unpinned = run(executor, [sys.executable, "-c", code])
    assert unpinned.stdout.strip() == str(available)


def test_samples_are_collected(executor):
    out = run(executor, ["/bin/sleep", "0.5"], interval=0.05)
    assert out.exit_code == 0
    assert len(out.samples) >= 3  # ~10 expected over 0.5 s
    times = [s.t_seconds for s in out.samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(s.rss_bytes > 0 for s in out.samples)
    assert times[-1] < out.wall_seconds + 1


def test_no_samples_when_interval_zero(executor):
    assert run(executor, ["/bin/true"]).samples == ()


def test_the_live_process_is_read_back_its_cpus_and_most_threads(executor):
    """What Repetition.allowed_cpus and threads record: the program's own affinity and its
    peak thread count, read from the running process (a Python program starting 3 threads)."""
    cpus = tuple(sorted(os.sched_getaffinity(0)))
    code = (
        "import threading, time\n"
        "ts = [threading.Thread(target=time.sleep, args=(0.6,)) for _ in range(3)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]"
    )
    out = run(executor, [sys.executable, "-c", code], cpus=cpus, interval=0.05)
    assert out.exit_code == 0
    assert out.allowed_cpus == cpus
    assert out.threads == 4  # the main thread and its three
    one = run(executor, ["/bin/sleep", "0.3"], cpus=cpus[-1:], interval=0.05)
    assert one.allowed_cpus == cpus[-1:] and one.threads == 1


def test_the_launcher_starts_the_program_at_the_agreed_instant(tmp_path):
    """--start-at: load generators on several hosts start when each host's clock reaches one
    instant; the report says when this one did, on this host's clock."""
    launcher = ensure_launcher(tmp_path / "cache")
    at = time.time() + 0.4
    report_path = tmp_path / "report"
    done = subprocess.run(
        [str(launcher), f"--start-at={round(at * 1e9)}", str(report_path), "true"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    report = parse_launcher_report(report_path.read_text())
    assert report is not None and report.started_unix_seconds is not None
    assert at <= report.started_unix_seconds < at + 0.05
    refused = subprocess.run(
        [str(launcher), "--start-at=soon", str(report_path), "true"], capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert "--start-at needs nanoseconds since the epoch" in refused.stderr
