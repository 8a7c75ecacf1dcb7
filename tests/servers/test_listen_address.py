"""Servers listen where the harness says (HARNESS_LISTEN_ADDRESS, the binary contract): 127.0.0.1
on one machine, the server host's address when load comes from other hosts (docs/hosts.md)."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
from pathlib import Path

import pytest

from harness import config
from harness.build.builder import Builder
from harness.measure.launcher import ensure_launcher
from harness.model import Implementation
from harness.servers import lifecycle
from harness.servers.protocol import default_settings

ROOT = Path(__file__).resolve().parents[2]
GO = Implementation(lang="go", variant="default", path="x", library="x")


def test_the_variable_is_set_only_off_loopback():
    assert lifecycle.LISTEN_ADDRESS_VARIABLE not in lifecycle.environment(GO, 1)
    assert lifecycle.LISTEN_ADDRESS_VARIABLE not in lifecycle.environment(GO, 1, "127.0.0.1")
    env = lifecycle.environment(GO, 1, "10.201.1.1")
    assert env[lifecycle.LISTEN_ADDRESS_VARIABLE] == "10.201.1.1"


def test_base_urls_bracket_ipv6():
    server = lifecycle.RunningServer(process=None, port=8080, stderr_path=Path("x"), address="::1")  # type: ignore[arg-type]
    assert server.base_url == "http://[::1]:8080"
    assert lifecycle.RunningServer(None, 80, Path("x")).base_url == "http://127.0.0.1:80"  # type: ignore[arg-type]


def answers(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((address, port)) == 0


@pytest.mark.e2e
@pytest.mark.usefixtures("workspace_build")
@pytest.mark.parametrize("lang", ["go", "rust"])
def test_real_servers_listen_on_the_address_they_are_given(lang, tmp_path):
    workload = config.load_workloads(ROOT / "workloads")["http-json"]
    impl = workload.default_for(lang)
    build = Builder(ROOT / ".cache").build(workload, impl)
    assert build.ok, build.error
    settings = dataclasses.replace(
        default_settings("quick", "oha", None, None), listen_address="127.0.0.2"
    )
    params = workload.params["quick"]
    server = lifecycle.start(
        ensure_launcher(ROOT / ".cache"), settings, workload, impl, build, params, tmp_path
    )
    with server.process:
        assert server.base_url.startswith("http://127.0.0.2:")
        assert lifecycle.http_call(server.base_url + "/health")[0] == 200
        assert not answers("127.0.0.1", server.port)  # listening there only

    bad = subprocess.run(
        [build.binary_path or "", "--port", "0"],
        env={lifecycle.LISTEN_ADDRESS_VARIABLE: "server.example"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "HARNESS_LISTEN_ADDRESS" in lines[0], bad.stderr
    assert '"server.example" is not an IP address' in lines[0]
