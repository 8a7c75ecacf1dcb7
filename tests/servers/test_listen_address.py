"""Servers listen where the harness says (HARNESS_LISTEN_ADDRESS, the binary contract): 127.0.0.1
on one machine, the server host's address when load comes from other hosts (docs/hosts.md).

The real Go and Rust servers are started through the lifecycle on 127.0.0.2 (a loopback address
that is not 127.0.0.1) and on ::1; each program run by hand shows the "listening" line and the
one-line error for an address that is not an IP literal."""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import subprocess
from pathlib import Path

import pytest

from harness import config
from harness.build.builder import Builder
from harness.measure.launcher import ensure_launcher
from harness.measure.runner import argv_for
from harness.model import Implementation
from harness.servers import lifecycle, transport
from harness.servers.protocol import default_settings

ROOT = Path(__file__).resolve().parents[2]
GO = Implementation(lang="go", variant="default", path="x", library="x")
SERVER_WORKLOADS = ("http-json", "kv-cache")  # every manifest with a [server] table

# /proc/net/tcp6 (Linux 6.1): the server's end of a connection to [::1]:40123 from port 51000.
PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:9CBB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1
   1: 00000000000000000000000001000000:9CBB 00000000000000000000000001000000:C738 01 00000000:00000000 00:00000000 00000000     0        0 333 1
"""


def test_the_variable_is_set_only_off_loopback():
    assert lifecycle.LISTEN_ADDRESS_VARIABLE not in lifecycle.environment(GO, 1)
    assert lifecycle.LISTEN_ADDRESS_VARIABLE not in lifecycle.environment(GO, 1, "127.0.0.1")
    assert lifecycle.environment(GO, 1, "127.0.0.1") == lifecycle.environment(GO, 1)
    env = lifecycle.environment(GO, 1, "10.201.1.1")
    assert env[lifecycle.LISTEN_ADDRESS_VARIABLE] == "10.201.1.1"
    assert lifecycle.environment(GO, 1, "::1")[lifecycle.LISTEN_ADDRESS_VARIABLE] == "::1"


def test_base_urls_bracket_ipv6():
    server = lifecycle.RunningServer(process=None, port=8080, stderr_path=Path("x"), address="::1")  # type: ignore[arg-type]
    assert server.base_url == "http://[::1]:8080"
    assert lifecycle.RunningServer(None, 80, Path("x")).base_url == "http://127.0.0.1:80"  # type: ignore[arg-type]
    ten = lifecycle.RunningServer(None, 80, Path("x"), "10.201.1.1")  # type: ignore[arg-type]
    assert ten.base_url == "http://10.201.1.1:80"


def test_free_port_is_free_on_the_address_it_is_asked_for():
    for address, family in (("127.0.0.2", socket.AF_INET), ("::1", socket.AF_INET6)):
        port = lifecycle.free_port(address)
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((address, port))  # would raise if free_port had looked elsewhere


def test_transport_reads_the_table_of_the_address_family():
    assert transport.tcp_table_of("127.0.0.2") == "/proc/net/tcp"
    assert transport.tcp_table_of("::1") == "/proc/net/tcp6"
    assert transport.socket_inode(PROC_NET_TCP6, 40123, 51000) == 333  # 0x9CBB, 0xC738


def answers(address: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((address, port)) == 0


def built(workload_name: str, lang: str):
    workload = config.load_workloads(ROOT / "workloads")[workload_name]
    impl = workload.default_for(lang)
    build = Builder(ROOT / ".cache").build(workload, impl)  # a hit: the suite's workspace build
    assert build.ok, build.error
    return workload, impl, build


@pytest.mark.e2e
@pytest.mark.usefixtures("workspace_build")
@pytest.mark.parametrize("address", ["127.0.0.2", "::1"])
@pytest.mark.parametrize("lang", ["go", "rust"])
def test_real_servers_listen_on_the_address_they_are_given(lang, address, tmp_path):
    workload, impl, build = built("http-json", lang)
    settings = dataclasses.replace(
        default_settings("quick", "oha", None, None), listen_address=address
    )
    params = workload.params["quick"]
    server = lifecycle.start(
        ensure_launcher(ROOT / ".cache"), settings, workload, impl, build, params, tmp_path
    )
    with server.process:
        assert server.base_url == f"http://{lifecycle.url_host(address)}:{server.port}"
        assert lifecycle.http_call(server.base_url + "/health")[:3] == (
            200,
            "text/plain; charset=utf-8",
            b"ok",
        )
        assert answers(address, server.port)
        assert not answers("127.0.0.1", server.port)  # listening there only
        found = transport.observe(server.process.pid, server.port, "/health", None, address)
        assert found[transport.NODELAY] == "on", found  # its end found in the family's table
        stdout = tmp_path / f"{lang}-default-{server.port}.stdout"
        assert stdout.read_text() == f"listening {lifecycle.url_host(address)}:{server.port}\n"


def first_line(argv: list[str], env: dict[str, str]) -> tuple[str, str]:
    """The program's first stdout line (its "listening" line), then it is stopped; its stderr."""
    proc = subprocess.Popen(
        argv,
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30.0)
        line = proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
    finally:
        proc.terminate()
        stderr = proc.communicate(timeout=10)[1]
    return line, stderr


@pytest.mark.e2e
@pytest.mark.usefixtures("workspace_build")
@pytest.mark.parametrize("lang", ["go", "rust"])
@pytest.mark.parametrize("workload_name", SERVER_WORKLOADS)
def test_every_server_program_follows_the_variable(workload_name, lang):
    workload, _, build = built(workload_name, lang)
    argv = argv_for(workload, build.binary_path or "", workload.params["quick"], None, port=0)
    for env in ({}, {lifecycle.LISTEN_ADDRESS_VARIABLE: ""}):  # unset or empty: 127.0.0.1
        line, stderr = first_line(argv, env)
        assert line.startswith("listening 127.0.0.1:"), (line, stderr)
    line, stderr = first_line(argv, {lifecycle.LISTEN_ADDRESS_VARIABLE: "::1"})
    assert line.startswith("listening [::1]:"), (line, stderr)

    bad = subprocess.run(
        argv,
        env={lifecycle.LISTEN_ADDRESS_VARIABLE: "server.example"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0
    assert bad.stdout == ""  # it never said it was listening
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1, bad.stderr
    assert lines[0] == (
        f'{workload_name}: HARNESS_LISTEN_ADDRESS="server.example" is not an IP address'
    )
