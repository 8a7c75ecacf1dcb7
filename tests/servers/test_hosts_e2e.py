"""`harness run --hosts` for real: load hosts are network namespaces with their own sshd
(tests/netns_hosts.py), reached over SSH with keys and host keys made for the test; the server
runs here, listening on the lab's address, or on a namespace of its own through the harness's
agent there. Only the Go/Rust build is replaced (a stand-in server script), so the SSH, copy,
agent, agreed start, merge and clean-up paths are the product's own."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import psutil
import pytest
import scripted
from netns_hosts import lab_unavailable, netns_lab

from harness.servers import loadgen

ROOT = Path(__file__).resolve().parents[2]
# Under CI a missing sshd fails the tests instead of skipping them.
pytestmark = pytest.mark.skipif(
    lab_unavailable() is not None and not os.environ.get("CI"), reason=lab_unavailable() or ""
)

# Listens where the harness says (HARNESS_LISTEN_ADDRESS), answers in one write (no Nagle stall).
STAND_IN = r"""
import os, socketserver, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *_):
        pass
    def do_GET(self):
        body = b"ok" if self.path == "/health" else b"hello from the stand-in"
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
        )

class Server(ThreadingHTTPServer):
    request_queue_size = 1024  # socketserver's 5 would drop the load generator's SYNs

    def server_bind(self):
        # HTTPServer's own asks DNS for its address's name (socket.getfqdn): in a namespace with
        # no resolver that waits 10 s for the timeouts.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

address = os.environ.get("HARNESS_LISTEN_ADDRESS") or "127.0.0.1"
httpd = Server((address, int(sys.argv[2])), Handler)
httpd.daemon_threads = True
print(f"listening {address}:{sys.argv[2]}", flush=True)
httpd.serve_forever()
"""


def workloads(tmp_path: Path) -> Path:
    return scripted.add_stand_in_server(tmp_path, STAND_IN)


def run_argv(tmp_path: Path, inventory: Path, rates: str = "40") -> list[str]:
    return [
        *scripted.common_args(tmp_path, ROOT / ".cache"),
        "run",
        "--workloads",
        "hello-http",
        "--size",
        "quick",
        "--rates",
        rates,
        "--replicates",
        "1",
        "--phase-seconds",
        "2",
        "--no-race-check",
        "--hosts",
        str(inventory),
    ]


def ours_in(lab, host) -> list[str]:
    """Processes of the harness's (its copied binaries) running in a lab host's namespace."""
    found = []
    for pid in lab.namespace_pids(host):
        try:
            cmdline = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if any(mark in cmdline for mark in ("/bin/oha", "gorust-spawn", "harness-agent-")):
            found.append(cmdline)
    return found


def saved_run(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "results" / "latest.json").read_text())


def phases_measured(workload: dict) -> list[dict]:
    return [
        p
        for impl in workload["implementations"]
        for p in impl["phases"]
        if p["offered_rps"] is not None and p["replicate"] is not None
    ]


def run_killing_mid_phase(tmp_path, monkeypatch, lab, inventory, loaded, victim):
    """`harness run --hosts`, killing `victim` (every process in its namespace) half a second
    after `loaded` is seen running its load generator: (exit code, the saved run)."""
    killed = threading.Event()

    def kill_when_loaded() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed.is_set():
            if any("/bin/oha" in c and "-q" in c for c in ours_in(lab, loaded)):
                time.sleep(0.5)  # mid-phase
                lab.kill_host(victim)
                killed.set()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_when_loaded, daemon=True)
    watcher.start()
    code = scripted.run_cli(run_argv(tmp_path, inventory), monkeypatch)
    watcher.join(timeout=5)
    assert killed.is_set(), f"{loaded.name} was never seen under load"
    return code, saved_run(tmp_path)


def test_a_load_host_that_dies_mid_phase_fails_its_phases_and_leaves_nothing(tmp_path, monkeypatch):
    workloads(tmp_path)
    with netns_lab(2, tmp_path / "lab") as lab:
        inventory = tmp_path / "hosts.toml"
        inventory.write_text(lab.inventory_toml(work_dir_root=tmp_path / "remote"))
        victim = lab.hosts[1]
        code, run = run_killing_mid_phase(tmp_path, monkeypatch, lab, inventory, victim, victim)
        # The servers ran here, listening on the lab's address of this machine.
        assert [h["role"] for h in run["topology"]["hosts"]] == ["server", "load", "load"]
        assert run["topology"]["hosts"][0]["address"] == lab.server_address
        assert run["topology"]["hosts"][0]["machine"] is None  # the run's own Machine is it
        assert run["config"]["server"]["listen_address"] == lab.server_address
        (workload,) = run["workloads"]
        assert code != 0
        phases = [p for impl in workload["implementations"] for p in impl["phases"]]
        failed = [p for p in phases if not p["ok"]]
        assert failed
        assert all("load host load-2" in (p["error"] or "") for p in failed), [
            p["error"] for p in failed
        ]
        assert run["topology"]["left_running"] is None  # load-2 could not be asked any more
        for host in lab.hosts:
            assert ours_in(lab, host) == []
        assert lab.namespace_pids(victim) == []
    assert not lab.exists()


def test_the_server_on_a_host_of_its_own_load_from_two_hosts_over_ssh(tmp_path, monkeypatch):
    """Server host load-1 (a namespace reached over SSH, the agent measuring there), load from
    load-2 and load-3 at rate/2 each: every role on a machine of its own, this one only
    orchestrating. (A server on this machine with load from other hosts is the same load path;
    the load host death test below runs it.)"""
    workloads(tmp_path)
    with netns_lab(3, tmp_path / "lab", routed=True) as lab:
        server_host, *load_hosts = lab.hosts
        inventory = tmp_path / "hosts.toml"
        inventory.write_text(
            lab.inventory_toml(work_dir_root=tmp_path / "remote", server_host=server_host)
        )
        code = scripted.run_cli(run_argv(tmp_path, inventory), monkeypatch)
        run = saved_run(tmp_path)
        (workload,) = run["workloads"]
        assert code == 0, workload.get("error")

        topology = run["topology"]
        server, *loads = topology["hosts"]
        assert (server["role"], server["name"], server["address"]) == (
            "server",
            "load-1",
            server_host.address,
        )
        assert server["machine"]["cpu_count"] == os.cpu_count() and server["rtt_seconds"]
        copied = {c["name"] for c in server["copied"]}
        assert "gorust-spawn" in copied
        assert any(n.startswith("harness-agent-") and n.endswith(".zip") for n in copied)
        assert any(n.endswith("-run") for n in copied), copied  # the server programs
        oha = loadgen.find_oha(ROOT / "tools")
        digest = hashlib.sha256(oha.read_bytes()).hexdigest()
        for record, host in zip(loads, load_hosts, strict=True):
            assert (record["role"], record["address"]) == ("load", host.address)
            assert {c["name"]: c["sha256"] for c in record["copied"]}["oha"] == digest
            assert record["machine"]["cpu_count"] == os.cpu_count()
            assert record["rtt_seconds"] is not None  # measured from the server host
        assert topology["left_running"] == 0
        # Servers listened on the server host's address: only a process in its namespace can.
        assert run["config"]["server"]["listen_address"] == server_host.address
        assert run["config"]["server"]["server_cpus"] == list(range(os.cpu_count() or 1))

        fixed = phases_measured(workload)
        assert fixed, workload
        for phase in fixed:
            assert phase["ok"], phase["error"]
            shares = phase["load_hosts"]
            assert [s["host"] for s in shares] == ["load-2", "load-3"]
            assert all(s["offered_rps"] == 20.0 for s in shares)
            assert (
                sum(s["responses"] for s in shares) + phase["request_counts"]["unsent"]
                == (phase["latency"]["count"])
            )
            for share in shares:
                assert (
                    abs(share["clock_offset_seconds"]) <= share["clock_uncertainty_seconds"] + 1e-3
                )
                assert share["left_running"] == 0
            # Read on the server host by the agent: CPU over the window, the phase's own peak.
            assert phase["server_user_seconds"] + phase["server_sys_seconds"] > 0
            assert phase["server_peak_rss_bytes"] > 0
            assert phase["server_samples"], "no psutil samples came back from the server host"
        for host in lab.hosts:
            assert ours_in(lab, host) == []
    assert not lab.exists()


def test_a_server_host_that_dies_mid_phase_fails_what_is_left_and_leaves_nothing(
    tmp_path, monkeypatch
):
    workloads(tmp_path)
    with netns_lab(2, tmp_path / "lab", routed=True) as lab:
        server_host, load_host = lab.hosts
        inventory = tmp_path / "hosts.toml"
        inventory.write_text(
            lab.inventory_toml(work_dir_root=tmp_path / "remote", server_host=server_host)
        )
        code, run = run_killing_mid_phase(
            tmp_path, monkeypatch, lab, inventory, load_host, server_host
        )
        (workload,) = run["workloads"]
        assert code != 0
        failed = [p for impl in workload["implementations"] for p in impl["phases"] if not p["ok"]]
        assert failed
        assert all(
            "server host load-1" in (p["error"] or "") or "server died" in (p["error"] or "")
            for p in failed
        ), [p["error"] for p in failed]
        assert run["topology"]["left_running"] is None  # load-1 could not be asked any more
        for host in lab.hosts:
            assert ours_in(lab, host) == []
        assert lab.namespace_pids(server_host) == []
    assert not lab.exists()


def test_a_server_host_whose_python_cannot_run_the_agent_is_refused_in_one_line(
    tmp_path, monkeypatch, capsys
):
    workloads(tmp_path)
    with netns_lab(2, tmp_path / "lab", routed=True) as lab:
        inventory = tmp_path / "hosts.toml"
        inventory.write_text(
            lab.inventory_toml(
                work_dir_root=tmp_path / "remote",
                server_host=lab.hosts[0],
                python="/nowhere/python3",
            )
        )
        code = scripted.run_cli(run_argv(tmp_path, inventory), monkeypatch)
        err = capsys.readouterr().err
        assert code != 0
        lines = [line for line in err.splitlines() if "server host load-1" in line]
        assert lines and "/nowhere/python3 cannot run the harness's agent" in lines[0], err
        assert "Python 3.11+ with psutil" in lines[0]
        assert not (tmp_path / "results" / "latest.json").exists()  # refused before measuring
        for host in lab.hosts:
            assert ours_in(lab, host) == []
    assert not lab.exists()
