"""The test lab itself (tests/netns_hosts.py), for real: SSH (asyncssh) reaches each namespace
with its key and its host key checked, each command runs inside its own namespace, hosts reach
the server address, a killed host has no process left, the inventory is one the harness reads,
and everything is gone afterwards, also when the body fails or is interrupted."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path

import asyncssh
import pytest
from netns_hosts import (
    NAME_MAX,
    LabHost,
    _interrupts_deferred,
    lab_names,
    lab_unavailable,
    namespaces,
    netns_lab,
    processes_mentioning,
)

from harness import config

ROOT = Path(__file__).resolve().parents[2]
# Under CI=1 a missing sshd or root fails here (netns_lab says why) instead of skipping.
needs_lab = pytest.mark.skipif(
    lab_unavailable() is not None and not os.environ.get("CI"), reason=lab_unavailable() or ""
)


async def _run(host: LabHost, *commands: str) -> list[str]:
    """Each command's stdout, over one connection that checks the host key."""
    async with asyncssh.connect(
        host.address,
        port=host.port,
        username=host.user,
        client_keys=[str(host.key_file)],
        known_hosts=str(host.known_hosts),
        agent_path=None,
        connect_timeout=5,
    ) as connection:
        return [(await connection.run(c, check=True, timeout=5)).stdout for c in commands]


def run(host: LabHost, *commands: str) -> list[str]:
    return asyncio.run(_run(host, *commands))


@needs_lab
def test_each_host_is_its_own_namespace_reached_over_ssh(tmp_path):
    folder = tmp_path / "lab"
    with netns_lab(2, folder) as lab:
        first, second = lab.hosts
        assert len({first.address, second.address, lab.server_address}) == 3
        assert first.key_file.stat().st_mode & 0o777 == 0o600
        mine = os.readlink("/proc/self/ns/net")
        seen = {}
        with socket.create_server((lab.server_address, 0)) as listener:
            listener.settimeout(10)
            port = listener.getsockname()[1]
            peers = []
            thread = threading.Thread(target=lambda: peers.append(listener.accept()[1][0]))
            thread.start()  # one connection, then the thread ends
            for host, other in ((first, second), (second, first)):
                reach = [f"bash -c 'exec 3<>/dev/tcp/{lab.server_address}/{port}'"]
                addresses, netns, *_ = run(
                    host,
                    "ip -o addr",
                    "readlink /proc/self/ns/net",
                    *(reach if host is second else []),
                )
                assert f"inet {host.address}/24" in addresses
                assert other.address not in addresses and lab.server_address not in addresses
                seen[host.name] = netns.strip()
            thread.join(timeout=10)
        assert peers == [second.address]  # host 2 reached the server address, from its own
        assert len({mine, *seen.values()}) == 3  # two namespaces, neither the root one

        assert lab.namespace_pids(second)  # its sshd
        lab.kill_host(second)
        assert lab.namespace_pids(second) == []
        assert lab.namespace_pids(first) != []  # the other host lives on
        with pytest.raises(OSError):
            run(second, "true")
    assert not lab.exists()
    assert not {first.namespace, second.namespace} & set(namespaces())
    assert processes_mentioning(folder) == []  # no sshd of the lab runs


@needs_lab
def test_a_host_key_other_than_the_hosts_is_refused(tmp_path):
    with netns_lab(1, tmp_path / "lab") as lab:
        (host,) = lab.hosts
        other = tmp_path / "other-key"
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True
        )
        kind, key = Path(f"{other}.pub").read_text().split()[:2]
        host.known_hosts.write_text(f"{host.address} {kind} {key}\n")
        with pytest.raises(asyncssh.HostKeyNotVerifiable):
            run(host, "true")


@needs_lab
@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_the_lab_is_removed_when_the_body_fails(tmp_path, failure):
    folder = tmp_path / "lab"
    with pytest.raises(failure), netns_lab(2, folder) as lab:
        assert lab.exists() and processes_mentioning(folder)
        raise failure("the test failed")
    assert not lab.exists()
    assert processes_mentioning(folder) == []


@needs_lab
def test_the_inventory_is_one_the_harness_reads(tmp_path):
    with netns_lab(2, tmp_path / "lab") as lab:
        path = tmp_path / "hosts.toml"
        path.write_text(lab.inventory_toml(server_cpus=[0], load_cpus=[1], work_dir_root=tmp_path))
        inventory = config.load_inventory(path)
        assert inventory.server_address == lab.server_address
        assert inventory.server_cpus == (0,)
        assert [
            (h.name, h.address, h.user, h.port, h.key_file, h.known_hosts, h.cpus, h.work_dir)
            for h in inventory.load
        ] == [
            (
                h.name,
                h.address,
                "root",
                22,
                str(h.key_file),
                str(h.known_hosts),
                (1,),
                str(tmp_path / h.name),
            )
            for h in lab.hosts
        ]


@needs_lab
def test_a_lab_left_by_a_dead_test_run_is_swept_by_the_next(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid names the stale lab: a run killed before its teardown
    (stale, stray) = lab_names(dead.pid, 1, 2)
    subprocess.run(["ip", "netns", "add", stale], check=True)
    subprocess.run(
        ["ip", "link", "add", f"v{stray}", "type", "veth", "peer", "name", f"p{stray}"],
        check=True,
    )  # a veth whose namespace was never made
    try:
        with netns_lab(1, tmp_path / "lab"):
            assert stale not in namespaces()
            assert subprocess.run(["ip", "link", "show", f"v{stray}"]).returncode != 0
    finally:
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)
        subprocess.run(["ip", "link", "del", f"v{stray}"], capture_output=True)


def test_names_fit_an_interface_name_for_any_pid():
    """Linux pids go up to 2**22; a veth name ("v" + the namespace's) has at most 15 characters."""
    names = lab_names(2**22 - 1, 0xFFF, 15)
    assert max(len(n) for n in names) <= NAME_MAX == 14
    assert len(set(names)) == 15
    with pytest.raises(RuntimeError, match="longer than 14"):
        lab_names(2**22 - 1, 0xFFFF, 1)


def test_make_test_installs_openssh_server_when_sshd_is_missing(tmp_path):
    """A fresh Debian machine has no sshd: `make test` (and `.ci/run`, which runs it) installs it,
    and does nothing when it is there. apt-get is a stand-in here that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    (bin_dir / "apt-get").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def make_sshd(sshd: Path) -> str:
        log.unlink(missing_ok=True)
        done = subprocess.run(
            ["make", "-s", "sshd", f"SSHD={sshd}"], cwd=ROOT, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr
        return log.read_text() if log.exists() else ""

    calls = make_sshd(tmp_path / "no-sshd")
    assert calls.splitlines()[0] == "update -qq"
    assert calls.splitlines()[1] == "install -y -qq openssh-server iproute2"
    present = tmp_path / "sshd"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    assert make_sshd(present) == ""  # idempotent: installed once, then nothing
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^SSHD := /usr/sbin/sshd$", makefile, re.M)
    # `make test` installs the Debian packages (sshd among them) before pytest
    assert re.search(r"^test:\n\t.*\btest-packages\b", makefile, re.M)
    assert re.search(r"^test-packages:\n\t.*\bsshd\b", makefile, re.M)
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")


def test_a_ctrl_c_during_teardown_waits_until_it_is_done():
    """Teardown runs under `_interrupts_deferred`: a Ctrl-C there cannot leave half a lab."""
    finished = []
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when run in the background (nohup, CI)
    with pytest.raises(KeyboardInterrupt), _interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        finished.append(True)  # reached: the interrupt waited
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back
