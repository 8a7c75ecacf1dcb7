"""Test hosts on one machine: network namespaces with their own sshd (docs/hosts.md, "Testing
here").

Each lab host is a network namespace with a veth pair to the root namespace (its own /24 in
10.201.0.0/16; the root side is its gateway), loopback up, and an OpenSSH sshd listening on its
address with a host key, an authorized key and a known_hosts line made for the lab: the harness's
SSH client checks host keys as it would anywhere. The root namespace is the server host: every
namespace reaches `Lab.server_address` through its default route.

Several labs may run at once on this machine (other test runs): subnets are chosen and taken
under one lock file, after reading every address in use, and names carry the creating pid and a
per-process counter. A lab's names carry that pid, so a lab left by a killed test run is swept by
the next one.

Traffic goes only to the lab's addresses. Teardown always runs (an exception or Ctrl-C in the
body included, and a Ctrl-C during teardown waits until it is done): every process in each
namespace is killed, the namespaces are deleted (which deletes their veths), and that they are
gone is checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
# Names: gr<pid hex>-<lab hex>-<host hex>; the root-side veth is "v" + that, and an interface
# name has at most 15 characters (IFNAMSIZ - 1), so a namespace name has at most 14.
PREFIX = "gr"
NAME_MAX = 14
_NAME = re.compile(rf"{PREFIX}([0-9a-f]+)-[0-9a-f]+-[0-9a-f]+")
_LEGACY_NAME = re.compile(r"grh(\d+)-\d+-\d+")  # the first version's names (decimal pid)
LOCK = Path("/run/lock/gorust-netns-lab.lock")
READY_SECONDS = 10.0  # sshd listening, else the lab fails with its log
SUBNET = "10.201"
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


def _toml(value: object) -> str:
    """A TOML basic string or integer list (JSON's escapes are TOML's for these)."""
    return json.dumps(os.fspath(value) if isinstance(value, Path) else value)


def _ssh_lines(host: LabHost) -> list[str]:
    return [
        f"address = {_toml(host.address)}",
        f"user = {_toml(host.user)}",
        f"port = {host.port}",
        f"key_file = {_toml(host.key_file.resolve())}",
        f"known_hosts = {_toml(host.known_hosts.resolve())}",
    ]


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
        processes: int = 1,
        server_host: LabHost | None = None,
        python: str = sys.executable,
    ) -> str:
        """The hosts inventory (docs/hosts.md) of this lab, with absolute paths. `server_host`:
        one of the lab's hosts is the server host (of its own, reached over SSH; its agent runs
        `python`), the others are load hosts (the lab must be `routed`)."""
        root = work_dir_root or self.folder / "remote"
        if server_host is None:
            lines = ["[server]", f"address = {_toml(self.server_address)}"]
        else:
            lines = ["[server]", f"name = {_toml(server_host.name)}"]
            lines += _ssh_lines(server_host)
            lines += [
                f"work_dir = {_toml((root / server_host.name).resolve())}",
                f"python = {_toml(python)}",
            ]
        if server_cpus is not None:
            lines.append(f"cpus = {_toml(list(server_cpus))}")
        for host in self.hosts:
            if host == server_host:
                continue
            lines += ["", "[[load]]", f"name = {_toml(host.name)}", *_ssh_lines(host)]
            if load_cpus is not None:
                lines.append(f"cpus = {_toml(list(load_cpus))}")
            if processes != 1:
                lines.append(f"processes = {processes}")
            lines.append(f"work_dir = {_toml((root / host.name).resolve())}")
        return "\n".join(lines) + "\n"

    def namespace_pids(self, host: LabHost) -> list[int]:
        return namespace_pids(host.namespace)

    def kill_host(self, host: LabHost) -> None:
        """Every process in the host's namespace killed, sshd included: a host that dies."""
        kill_namespace(host.namespace)

    def exists(self) -> bool:
        """Whether any of the lab's namespaces or root-side veths is still there."""
        names = set(namespaces())
        return any(h.namespace in names or _link_exists(_veth(h.namespace)) for h in self.hosts)


def lab_unavailable() -> str | None:
    """Why a lab cannot be made here, or None (tests skip with it, or fail under CI=1)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not Path(SSHD).exists():
        return f"{SSHD} missing (make test installs openssh-server)"
    return None


def processes_mentioning(folder: Path) -> list[int]:
    """Pids whose command line names `folder`: the lab's sshds (their config lives there)."""
    needle = os.fsencode(folder)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def _run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


def _ip(*args: str, namespace: str | None = None, check: bool = True) -> str:
    prefix = ["ip"] if namespace is None else ["ip", "-n", namespace]
    return _run([*prefix, *args], check).stdout


def namespaces() -> list[str]:
    return [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]


def namespace_pids(namespace: str) -> list[int]:
    done = _run(["ip", "netns", "pids", namespace], check=False)
    return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []


def kill_namespace(namespace: str) -> None:
    """SIGKILL every process in the namespace until none is left (bounded: 2.5 s)."""
    for _ in range(250):
        pids = namespace_pids(namespace)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    raise RuntimeError(
        f"namespace {namespace}: processes survive SIGKILL: {namespace_pids(namespace)}"
    )


def lab_names(pid: int, lab_no: int, count: int) -> list[str]:
    """The namespace names of a lab: the creating pid (for the sweep), the lab, the host."""
    names = [f"{PREFIX}{pid:x}-{lab_no:x}-{i:x}" for i in range(1, count + 1)]
    if any(len(n) > NAME_MAX for n in names):
        raise RuntimeError(f"lab names longer than {NAME_MAX} characters: {names}")
    return names


def _veth(namespace: str) -> str:
    return f"v{namespace}"


def _link_exists(name: str) -> bool:
    return _run(["ip", "link", "show", name], check=False).returncode == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _creator(name: str) -> int | None:
    """The pid a lab name encodes, or None when it is not a lab's name."""
    if found := _NAME.fullmatch(name):
        return int(found.group(1), 16)
    if found := _LEGACY_NAME.fullmatch(name):
        return int(found.group(1))
    return None


def sweep_stale() -> list[str]:
    """Namespaces (and stray root-side veths) of labs whose creating process is gone: a test run
    that was killed before its teardown. Returns what it removed."""
    removed = []
    for name in namespaces():
        pid = _creator(name)
        if pid is not None and not _alive(pid):
            _remove(name)
            removed.append(name)
    for line in _ip("-o", "link", "show", "type", "veth").splitlines():
        link = line.split(":")[1].strip().split("@")[0]
        pid = _creator(link[1:]) if link.startswith("v") else None
        if pid is not None and not _alive(pid):
            _ip("link", "del", link, check=False)
            removed.append(link)
    return removed


def _remove(namespace: str) -> None:
    kill_namespace(namespace)
    _ip("netns", "del", namespace, check=False)
    if _link_exists(_veth(namespace)):
        _ip("link", "del", _veth(namespace), check=False)


def _free_subnets(count: int) -> list[int]:
    """Third octets of 10.201.x.0/24 that no interface here uses (call under the lock)."""
    used = {int(m) for m in re.findall(rf"inet {SUBNET}\.(\d+)\.", _ip("-o", "addr"))}
    free = [x for x in range(1, 255) if x not in used]
    if len(free) < count:
        raise RuntimeError(f"only {len(free)} free {SUBNET}.x.0/24 subnets, {count} wanted")
    return free[:count]


def _keygen(path: Path) -> None:
    for old in (path, Path(f"{path}.pub")):
        old.unlink(missing_ok=True)  # ssh-keygen would ask before overwriting
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gorust-lab", "-f", str(path)])


def _wait_listening(address: str, port: int, daemon: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and daemon.poll() is None:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((address, port)) == 0:
                return
        time.sleep(0.02)
    state = (
        f"exited with status {daemon.returncode}"
        if daemon.poll() is not None
        else f"not listening after {READY_SECONDS:g} s"
    )
    raise RuntimeError(
        f"sshd for {address}:{port} {state}: {log.read_text(errors='replace')[-800:].strip()}"
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
                "StrictModes no",  # the lab folder is a test's tmp_path, not ~/.ssh
                "UseDNS no",
                "PrintMotd no",
                # No SFTP subsystem: the harness copies over the command channel
                # (docs/hosts.md), and the e2e tests prove it needs nothing more.
            ]
        )
        + "\n"
    )
    return config


def _add_host(namespace: str, octet: int) -> tuple[str, str]:
    """The namespace, its veth pair (the peer is eth0 inside), addresses and default route."""
    gateway, address = f"{SUBNET}.{octet}.1", f"{SUBNET}.{octet}.2"
    veth = _veth(namespace)
    _ip("netns", "add", namespace)
    _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace)
    _ip("addr", "add", f"{gateway}/24", "dev", veth)
    _ip("link", "set", veth, "up")
    _ip("addr", "add", f"{address}/24", "dev", "eth0", namespace=namespace)
    _ip("link", "set", "eth0", "up", namespace=namespace)
    _ip("link", "set", "lo", "up", namespace=namespace)
    _ip("route", "add", "default", "via", gateway, namespace=namespace)
    return address, gateway


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ctrl-C waits until the block is done, then is raised (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def _teardown(made: Sequence[str], daemons: Sequence[subprocess.Popen]) -> None:
    with _interrupts_deferred():
        for namespace in made:
            _remove(namespace)
        for daemon in daemons:
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.wait(timeout=5)  # reaped: no zombie sshd
        present = set(namespaces())
        left = [n for n in made if n in present or _link_exists(_veth(n))]
    if left:
        raise RuntimeError(f"lab namespaces or veths left behind: {left}")


@contextlib.contextmanager
def netns_lab(count: int, folder: Path, routed: bool = False) -> Iterator[Lab]:
    """`count` load hosts in network namespaces, each with its own sshd; removed on exit.
    `routed`: the root namespace forwards between the lab's hosts (forwarding on the lab's own
    veths only, which go with them), so one host can be the server host the others load."""
    if reason := lab_unavailable():
        raise RuntimeError(f"cannot make a netns lab: {reason}")
    names = lab_names(os.getpid(), next(_labs), count)
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
    key = folder / "id_ed25519"
    _keygen(key)
    authorized = folder / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text())
    made: list[str] = []
    daemons: list[subprocess.Popen] = []
    try:
        hosts = []
        LOCK.parent.mkdir(parents=True, exist_ok=True)
        with LOCK.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # subnets are chosen and taken as one step
            sweep_stale()
            for index, (namespace, octet) in enumerate(
                zip(names, _free_subnets(count), strict=True), 1
            ):
                made.append(namespace)  # before it exists: an interrupt here still removes it
                address, gateway = _add_host(namespace, octet)
                if routed:
                    Path(f"/proc/sys/net/ipv4/conf/{_veth(namespace)}/forwarding").write_text("1")
                name = f"load-{index}"
                host_key = folder / f"host-key-{name}"
                _keygen(host_key)
                known = folder / f"known_hosts-{name}"
                kind, public = Path(f"{host_key}.pub").read_text().split()[:2]
                known.write_text(f"{address} {kind} {public}\n")
                hosts.append(LabHost(name, namespace, address, gateway, 22, "root", key, known))
        logs = []
        for host in hosts:
            config = _sshd_config(
                folder, host.name, host.address, folder / f"host-key-{host.name}", authorized
            )
            log = folder / f"sshd-{host.name}.log"
            logs.append(log)
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
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        for host, daemon, log in zip(hosts, daemons, logs, strict=True):
            _wait_listening(host.address, host.port, daemon, log)
        yield Lab(folder=folder, server_address=hosts[0].gateway, hosts=tuple(hosts))
    finally:
        _teardown(made, daemons)
