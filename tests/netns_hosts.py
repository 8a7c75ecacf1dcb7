"""Test hosts on one machine: network namespaces with their own sshd (docs/hosts.md, "Testing
here").

Each lab host is a network namespace with a veth pair to the root namespace (its own /24 in
10.201.0.0/16; the root side is its gateway), loopback up, and an OpenSSH sshd listening on its
address with a host key, an authorized key and a known_hosts line made for the lab: the harness's
SSH client checks host keys as it would anywhere. The root namespace is the server host: every
namespace reaches `Lab.server_address` through its default route.

Traffic goes only to the lab's addresses. Teardown always runs (an exception or Ctrl-C in the
body included): every process in each namespace is killed, the namespaces are deleted (which
deletes their veths), and that they are gone is checked. A lab's names carry the pid that made
it, so a lab left by a killed test run is swept by the next one.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
PREFIX = "grh"  # namespace and veth names: grh<pid>-<lab>-<host>, at most 15 characters
LOCK = Path("/run/lock/gorust-netns-lab.lock")
READY_SECONDS = 10.0
_labs = itertools.count(1)


@dataclass(frozen=True)
class LabHost:
    name: str  # "load-1", "load-2", ...
    namespace: str
    address: str  # namespace side of its veth
    gateway: str  # root-namespace side (the namespace's default route)
    port: int
    user: str
    key_file: Path  # private key (0600) this host's sshd accepts
    known_hosts: Path  # this host's host key for its address


@dataclass(frozen=True)
class Lab:
    folder: Path
    server_address: str  # a root-namespace address every namespace reaches
    hosts: tuple[LabHost, ...]

    def inventory_toml(
        self,
        *,
        server_cpus: Sequence[int] | None = None,
        load_cpus: Sequence[int] | None = None,
        work_dir_root: Path | None = None,
    ) -> str:
        """The hosts inventory (docs/hosts.md) of this lab."""
        lines = ["[server]", f'address = "{self.server_address}"']
        if server_cpus is not None:
            lines.append(f"cpus = {list(server_cpus)}")
        root = work_dir_root or self.folder / "remote"
        for host in self.hosts:
            lines += [
                "",
                "[[load]]",
                f'name = "{host.name}"',
                f'address = "{host.address}"',
                f'user = "{host.user}"',
                f"port = {host.port}",
                f'key_file = "{host.key_file}"',
                f'known_hosts = "{host.known_hosts}"',
                f'work_dir = "{root / host.name}"',
            ]
            if load_cpus is not None:
                lines.append(f"cpus = {list(load_cpus)}")
        return "\n".join(lines) + "\n"

    def namespace_pids(self, host: LabHost) -> list[int]:
        return namespace_pids(host.namespace)

    def kill_host(self, host: LabHost) -> None:
        """Every process in the host's namespace killed, sshd included: a host that dies."""
        kill_namespace(host.namespace)

    def exists(self) -> bool:
        names = set(namespaces())
        return any(h.namespace in names for h in self.hosts) or any(
            _link_exists(_veth(h.namespace)) for h in self.hosts
        )


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    argv = ["ip", *args] if namespace is None else ["ip", "netns", "exec", namespace, "ip", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def namespaces() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def namespace_pids(namespace: str) -> list[int]:
    done = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=20
    )
    return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []


def kill_namespace(namespace: str) -> None:
    for _ in range(50):
        pids = namespace_pids(namespace)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    raise RuntimeError(
        f"namespace {namespace}: processes survive SIGKILL: {namespace_pids(namespace)}"
    )


def _veth(namespace: str) -> str:
    return f"v{namespace}"[:15]


def _link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> None:
    """Namespaces of labs whose creating process is gone (a killed test run)."""
    for name in namespaces():
        found = re.fullmatch(rf"{PREFIX}(\d+)-\d+-\d+", name)
        if found and not _alive(int(found.group(1))):
            _remove(name)


def _remove(namespace: str) -> None:
    kill_namespace(namespace)
    _ip("netns", "del", namespace, check=False)
    if _link_exists(_veth(namespace)):
        _ip("link", "del", _veth(namespace), check=False)


def _free_subnets(count: int) -> list[int]:
    """Third octets of 10.201.x.0/24 that no interface here uses."""
    used = {int(m) for m in re.findall(r"inet 10\.201\.(\d+)\.", _ip("-o", "addr"))}
    free = [x for x in range(1, 255) if x not in used]
    if len(free) < count:
        raise RuntimeError("no free 10.201.x.0/24 subnet left for a lab host")
    return free[:count]


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gorust-lab", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _wait_listening(address: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((address, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(
        f"sshd on {address}:{port} not listening after {READY_SECONDS:g} s: "
        f"{log.read_text(errors='replace')[-500:]}"
    )


def _sshd_config(folder: Path, host: str, address: str, host_key: Path, authorized: Path) -> Path:
    config = folder / f"sshd-{host}.conf"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {address}",
                f"HostKey {host_key}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {folder / f'sshd-{host}.pid'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "UseDNS no",
                "PrintMotd no",
                "Subsystem sftp internal-sftp",
            ]
        )
        + "\n"
    )
    return config


@contextlib.contextmanager
def netns_lab(count: int, folder: Path) -> Iterator[Lab]:
    """`count` load hosts in network namespaces, each with its own sshd; removed on exit."""
    if not Path(SSHD).exists():
        raise RuntimeError(f"{SSHD} missing: `make test` installs openssh-server")
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
    key = folder / "id_ed25519"
    _keygen(key)
    authorized = folder / "authorized_keys"
    authorized.write_text((folder / "id_ed25519.pub").read_text())
    lab_no = next(_labs)
    made: list[str] = []
    daemons: list[subprocess.Popen] = []
    try:
        LOCK.parent.mkdir(parents=True, exist_ok=True)
        with LOCK.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # subnets are chosen and taken as one step
            sweep_stale()
            hosts = []
            for index, octet in enumerate(_free_subnets(count), 1):
                namespace = f"{PREFIX}{os.getpid()}-{lab_no}-{index}"
                veth, peer = _veth(namespace), f"p{namespace}"[:15]
                gateway, address = f"10.201.{octet}.1", f"10.201.{octet}.2"
                _ip("netns", "add", namespace)
                made.append(namespace)
                _ip("link", "add", veth, "type", "veth", "peer", "name", peer)
                _ip("link", "set", peer, "netns", namespace)
                _ip("addr", "add", f"{gateway}/24", "dev", veth)
                _ip("link", "set", veth, "up")
                _ip("addr", "add", f"{address}/24", "dev", peer, namespace=namespace)
                _ip("link", "set", peer, "up", namespace=namespace)
                _ip("link", "set", "lo", "up", namespace=namespace)
                _ip("route", "add", "default", "via", gateway, namespace=namespace)
                name = f"load-{index}"
                host_key = folder / f"host-key-{name}"
                _keygen(host_key)
                known = folder / f"known_hosts-{name}"
                known.write_text(
                    f"{address} {' '.join(Path(f'{host_key}.pub').read_text().split()[:2])}\n"
                )
                hosts.append(LabHost(name, namespace, address, gateway, 22, "root", key, known))
        for host in hosts:
            config = _sshd_config(
                folder, host.name, host.address, folder / f"host-key-{host.name}", authorized
            )
            log = folder / f"sshd-{host.name}.log"
            with log.open("wb") as out:
                daemons.append(
                    subprocess.Popen(
                        [
                            "ip",
                            "netns",
                            "exec",
                            host.namespace,
                            SSHD,
                            "-D",
                            "-e",
                            "-f",
                            str(config),
                        ],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            _wait_listening(host.address, host.port, log)
        yield Lab(folder=folder, server_address=hosts[0].gateway, hosts=tuple(hosts))
    finally:
        for namespace in made:
            _remove(namespace)
        for daemon in daemons:
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(timeout=5)
        left = [n for n in made if n in namespaces() or _link_exists(_veth(n))]
        if left:
            raise RuntimeError(f"lab namespaces or veths left behind: {left}")
