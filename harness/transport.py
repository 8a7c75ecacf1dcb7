"""What a running server's TCP transport does, read from the kernel rather than taken from its code,
so that a difference in configuration between the two languages shows in the results.

- listen backlog: the Send-Q of its LISTEN socket in `ss -ltn` (for a listening socket the kernel
  reports the backlog it applies: what the program asked for, capped at net.core.somaxconn);
- TCP_NODELAY and SO_KEEPALIVE on a connection it accepted: the harness connects, finds the
  server's end of that connection (its inode in /proc/net/tcp, then the descriptor in
  /proc/PID/fd), takes a copy with pidfd_getfd(2) (Linux 5.6+, allowed where ptrace is) and reads
  the options with getsockopt;
- HTTP keep-alive: whether a second request on that connection is answered on it.

What cannot be read is recorded as "not observed (why)", never guessed.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import socket
import subprocess
from pathlib import Path

SYS_PIDFD_GETFD = 438  # the same on every architecture (numbers from 424 on are shared)
TCP_ESTABLISHED = "01"
BACKLOG, NODELAY, KEEPALIVE, HTTP_KEEP_ALIVE = (
    "listen backlog",
    "TCP_NODELAY",
    "SO_KEEPALIVE",
    "HTTP keep-alive",
)


def parse_listen_backlog(ss_output: str, port: int) -> int | None:
    """The Send-Q of the LISTEN socket on `port` in `ss -Hltn` output (State Recv-Q Send-Q Local
    Peer)."""
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "LISTEN" and fields[3].endswith(f":{port}"):
            return int(fields[2])
    return None


def listen_backlog(port: int) -> int | None:
    ss = shutil.which("ss")
    if ss is None:
        return None
    try:
        out = subprocess.run(
            [ss, "-Hltn", f"sport = :{port}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_listen_backlog(out, port)


def socket_inode(tcp_table: str, local_port: int, remote_port: int) -> int | None:
    """The inode of the established IPv4 socket local_port -> remote_port in /proc/net/tcp text."""
    for line in tcp_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_ESTABLISHED:
            continue
        local = int(fields[1].rsplit(":", 1)[1], 16)
        remote = int(fields[2].rsplit(":", 1)[1], 16)
        if (local, remote) == (local_port, remote_port) and fields[9] != "0":
            return int(fields[9])
    return None


def descriptor_of(pid: int, inode: int) -> int | None:
    """The descriptor number under which process `pid` holds socket `inode`."""
    target = f"socket:[{inode}]"
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(entry) == target:
                return int(entry.name)
    return None


def socket_options(pid: int, fd: int) -> tuple[bool, bool]:
    """(TCP_NODELAY, SO_KEEPALIVE) of descriptor `fd` of process `pid`, read on a copy."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"pidfd_getfd: {os.strerror(errno)}")
    finally:
        os.close(pidfd)
    with socket.socket(fileno=copy) as sock:
        nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        keepalive = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    return bool(nodelay), bool(keepalive)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def observe(pid: int, port: int, path: str) -> dict[str, str]:
    """The transport settings of the server `pid` listening on 127.0.0.1:`port`, read while it
    answers two GETs of `path` on one connection."""
    backlog = listen_backlog(port)
    found = {BACKLOG: str(backlog) if backlog is not None else "not observed (ss found no socket)"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5.0)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
        if connection.sock is None:  # the server closed it after one answer
            return {**found, HTTP_KEEP_ALIVE: "off"} | dict.fromkeys(
                (NODELAY, KEEPALIVE), "not observed (the server closed the connection)"
            )
        client_port = connection.sock.getsockname()[1]
        try:
            inode = socket_inode(Path("/proc/net/tcp").read_text(), port, client_port)
            fd = descriptor_of(pid, inode) if inode is not None else None
            if fd is None:
                raise OSError("the server's end of the connection was not found")
            nodelay, keepalive = socket_options(pid, fd)
            found |= {NODELAY: _on_off(nodelay), KEEPALIVE: _on_off(keepalive)}
        except OSError as exc:
            found |= dict.fromkeys((NODELAY, KEEPALIVE), f"not observed ({exc})")
        connection.request("GET", path)
        connection.getresponse().read()
        same = connection.sock is not None and connection.sock.getsockname()[1] == client_port
        found[HTTP_KEEP_ALIVE] = _on_off(same)
    except (OSError, http.client.HTTPException) as exc:
        found.setdefault(HTTP_KEEP_ALIVE, f"not observed ({exc!r})")
        for key in (NODELAY, KEEPALIVE):
            found.setdefault(key, f"not observed ({exc!r})")
    finally:
        connection.close()
    return {key: found[key] for key in (BACKLOG, NODELAY, KEEPALIVE, HTTP_KEEP_ALIVE)}
