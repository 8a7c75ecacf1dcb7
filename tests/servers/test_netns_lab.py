"""The test lab itself (tests/netns_hosts.py): SSH reaches each namespace with its key and its
host key checked, each command runs inside its own namespace, hosts reach the server address,
and everything is gone afterwards, also when the body fails."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from netns_hosts import namespaces, netns_lab

from harness.errors import HarnessError
from harness.model import LoadHostSpec
from harness.servers import remote

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("sshd", path="/usr/sbin:/usr/bin") is None,
    reason="needs root and sshd (make test installs openssh-server)",
)


def spec(host) -> LoadHostSpec:
    return LoadHostSpec(
        name=host.name,
        address=host.address,
        user=host.user,
        port=host.port,
        key_file=str(host.key_file),
        known_hosts=str(host.known_hosts),
    )


def test_each_host_is_its_own_namespace_reached_over_ssh(tmp_path):
    with netns_lab(2, tmp_path / "lab") as lab:
        first, second = lab.hosts
        with socket.create_server((lab.server_address, 0)) as listener:
            port = listener.getsockname()[1]
            accepted = []
            thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0].close()))
            thread.start()
            for host, other in ((first, second), (second, first)):
                connected = remote.connect(spec(host), "lab")
                try:
                    addresses = connected.run(["ip", "-o", "addr"]).stdout
                    assert host.address in addresses and other.address not in addresses
                    if host is second:  # reaches the server host's address (one connection)
                        reach = connected.run(
                            ["bash", "-c", f"exec 3<>/dev/tcp/{lab.server_address}/{port}"]
                        )
                        assert reach.exit_status == 0, reach.stderr
                finally:
                    connected.close()
            thread.join(timeout=5)
            assert len(accepted) == 1
        lab.kill_host(second)
        assert lab.namespace_pids(second) == []
        assert lab.namespace_pids(first) != []  # its sshd still runs
    assert not lab.exists()
    assert not [n for n in namespaces() if n in {first.namespace, second.namespace}]


def test_a_wrong_host_key_is_refused(tmp_path):
    with netns_lab(1, tmp_path / "lab") as lab:
        (host,) = lab.hosts
        other = tmp_path / "other-key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
        kind, key = Path(f"{other}.pub").read_text().split()[:2]
        host.known_hosts.write_text(f"{host.address} {kind} {key}\n")
        with pytest.raises(HarnessError, match=r"lab \[\[load\]\] load-1: cannot reach root@"):
            remote.connect(spec(host), "lab")


def test_the_lab_is_removed_when_the_body_fails(tmp_path):
    with (
        pytest.raises(RuntimeError, match="the test failed"),
        netns_lab(1, tmp_path / "lab") as lab,
    ):
        assert lab.exists()
        raise RuntimeError("the test failed")
    assert not lab.exists()
