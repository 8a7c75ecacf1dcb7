"""The http-json servers' transport differences, measured on live servers (the table in
workloads/docs/http-json.md "Transport differences"). Run from the repository root:

    python benchmarks/transport_probe.py GO_BINARY RUST_BINARY [RATE]

(the binaries: `python -m harness build --workloads http-json`, then .cache/bin/go-http-json-* and
rust-http-json-*). Per server, pinned to CPU 1 with GOMAXPROCS=1 / TOKIO_WORKER_THREADS=1: what
harness/servers/transport.py records (segments per 9.7 KB answer, threads), the write syscalls of one
answer (strace, if installed), CPU per thread over 5 s of open-loop load at RATE req/s (oha on
CPU 0, default 3000), and how long an incomplete request header is kept open (up to 35 s).
A diagnostic for people, not a test: tests/servers/test_server_e2e.py holds the servers to the table.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
from harness.servers import transport

OHA = Path("tools/bin/oha")
PATH = "/records?n=50"
REQUEST = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(binary: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "GOMAXPROCS": "1", "TOKIO_WORKER_THREADS": "1"}
    argv = ["taskset", "-c", "1", binary, "--port", str(port)]
    server = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    server.stdout.readline()  # "listening ADDR": ready
    return server, port


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) per thread, keyed "name[tid]"."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[f"{name}[{task.name}]"] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def writes_of_one_answer(pid: int, port: int, folder: Path) -> list[str]:
    if shutil.which("strace") is None:
        return ["strace not installed"]
    log = folder / f"strace-{pid}.txt"
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(REQUEST)
        time.sleep(0.2)
        client.recv(1 << 20)  # warm: the connection exists before tracing starts
        trace = ["strace", "-f", "-qq", "-p", str(pid), "-o", str(log)]
        tracer = subprocess.Popen(
            [*trace, "-e", "trace=write,writev,sendto,sendmsg"], stderr=subprocess.DEVNULL
        )
        time.sleep(1.0)  # attached to every thread
        client.sendall(REQUEST)
        time.sleep(0.3)
        client.recv(1 << 20)
        time.sleep(0.3)
        tracer.send_signal(signal.SIGINT)
        tracer.wait()
    calls = re.compile(r"\b(write|writev|sendto|sendmsg)\(")
    return [
        re.sub(r'"[^"]*"(\.\.\.)?', '"…"', line)[:160]
        for line in log.read_text().splitlines()
        if calls.search(line)
    ]


def cpu_under_load(pid: int, port: int, rate: int) -> tuple[dict[str, float], str]:
    before = thread_cpu(pid)
    argv = ["taskset", "-c", "0", str(OHA), "--no-tui", "-z", "5s", "-q", str(rate)]
    argv += ["--latency-correction", "-c", "50", "--worker-threads", "1", "--output-format"]
    argv += ["json", f"http://127.0.0.1:{port}{PATH}"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    after = thread_cpu(pid)
    try:
        summary = json.loads(done.stdout)["summary"]
        load = f"{summary['requestsPerSec']:.0f} req/s, success {summary['successRate']:.3f}"
    except (json.JSONDecodeError, KeyError):
        load = f"oha failed: {done.stderr[-300:]}"
    return {k: round(v - before.get(k, 0.0), 2) for k, v in after.items()}, load


def header_kept_open(port: int, limit: float = 35.0) -> str:
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
        client.settimeout(limit)
        started = time.monotonic()
        try:
            data = client.recv(1024)
        except TimeoutError:
            return f"still open after {limit:.0f} s"
    return f"closed after {time.monotonic() - started:.1f} s ({data[:40]!r})"


def main() -> None:
    go, rust = sys.argv[1], sys.argv[2]
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    for lang, binary in (("go", go), ("rust", rust)):
        server, port = start(binary)
        try:
            print(f"== {lang} {binary}")
            print("recorded:", transport.observe(server.pid, port, "/health", PATH))
            print("write calls of one answer:", *writes_of_one_answer(server.pid, port, folder))
            per_thread, load = cpu_under_load(server.pid, port, rate)
            print(f"CPU s per thread, 5 s at {rate} req/s GET {PATH} ({load}):", per_thread)
            print("incomplete request header:", header_kept_open(port))
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
