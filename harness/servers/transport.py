"""What a running server's TCP transport does, read from the kernel rather than taken from its code,
so that a difference in configuration between the two languages shows in the results.

- listen backlog: the Send-Q of its LISTEN socket in `ss -ltn` (for a listening socket the kernel
  reports the backlog it applies: what the program asked for, capped at net.core.somaxconn);
- TCP_NODELAY and SO_KEEPALIVE on a connection it accepted: the harness connects, finds the
  server's end of that connection (its inode in /proc/net/tcp, then the descriptor in
  /proc/PID/fd), takes a copy with pidfd_getfd(2) (Linux 5.6+, allowed where ptrace is) and reads
  the options with getsockopt;
- HTTP keep-alive: whether a second request on that connection is answered on it;
- TCP segments per response: the kernel's count of data segments the server's socket sent
  (TCP_INFO tcpi_data_segs_out, read on the same copy) around one GET of the workload's primary
  path. With TCP_NODELAY on, each write the server makes leaves as its own segment on loopback, so
  this shows how a framework writes a response: Go's net/http sends a body larger than its 4 KiB
  connection buffer in two writes, hyper in one writev;
- threads: the server's threads by name (/proc/PID/task/*/comm) once it is ready: tokio's
  multi-thread runtime runs its workers ("tokio-rt-worker") beside the main thread, which runs
  axum's accept loop; Go's threads all carry the program's name.

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
BACKLOG, NODELAY, KEEPALIVE, HTTP_KEEP_ALIVE, SEGMENTS, THREADS = (
    "listen backlog",
    "TCP_NODELAY",
    "SO_KEEPALIVE",
    "HTTP keep-alive",
    "TCP segments per response",
    "threads",
)
KEYS = (BACKLOG, NODELAY, KEEPALIVE, HTTP_KEEP_ALIVE, SEGMENTS, THREADS)
# struct tcp_info (linux/tcp.h): __u32 tcpi_data_segs_out sits at byte 156 (Linux 4.6+)
TCP_INFO_DATA_SEGS_OUT = 156
TCP_INFO_SIZE = 160


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
    """The inode of the established socket local_port -> remote_port in /proc/net/tcp (IPv4) or
    /proc/net/tcp6 (IPv6) text: both end each address in ":PORT" (hex)."""
    for line in tcp_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != TCP_ESTABLISHED:
            continue
        local = int(fields[1].rsplit(":", 1)[1], 16)
        remote = int(fields[2].rsplit(":", 1)[1], 16)
        if (local, remote) == (local_port, remote_port) and fields[9] != "0":
            return int(fields[9])
    return None


def tcp_table_of(address: str) -> str:
    """The kernel's table of TCP sockets of `address`'s family (a server on ::1 is in tcp6)."""
    return "/proc/net/tcp6" if ":" in address else "/proc/net/tcp"


def descriptor_of(pid: int, inode: int) -> int | None:
    """The descriptor number under which process `pid` holds socket `inode`."""
    target = f"socket:[{inode}]"
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(entry) == target:
                return int(entry.name)
    return None


def copy_socket(pid: int, fd: int) -> socket.socket:
    """A socket object for a duplicate of descriptor `fd` of process `pid` (pidfd_getfd): options
    read on it are the server's own, as is its TCP_INFO."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"pidfd_getfd: {os.strerror(errno)}")
    finally:
        os.close(pidfd)
    return socket.socket(fileno=copy)


def socket_options(pid: int, fd: int) -> tuple[bool, bool]:
    """(TCP_NODELAY, SO_KEEPALIVE) of descriptor `fd` of process `pid`, read on a copy."""
    with copy_socket(pid, fd) as sock:
        nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        keepalive = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    return bool(nodelay), bool(keepalive)


def data_segments_out(sock: socket.socket) -> int | None:
    """The kernel's count of data segments `sock` has sent (TCP_INFO), None if it is too old."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
    if len(info) < TCP_INFO_SIZE:
        return None
    return int.from_bytes(info[TCP_INFO_DATA_SEGS_OUT : TCP_INFO_DATA_SEGS_OUT + 4], "little")


def thread_names(pid: int) -> str:
    """ "2: http-json ×1, tokio-rt-worker ×1": the process's threads counted by name."""
    names: dict[str, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            names[name] = names.get(name, 0) + 1
    listed = ", ".join(f"{name} ×{count}" for name, count in sorted(names.items()))
    return f"{sum(names.values())}: {listed}"


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def observe(
    pid: int, port: int, path: str, response_path: str | None = None, address: str = "127.0.0.1"
) -> dict[str, str]:
    """The transport settings of the server `pid` listening on `address`:`port`, read while it
    answers two GETs of `path` on one connection, then one GET of `response_path` (the workload's
    primary GET, whose writes are counted; `path` again when None)."""
    backlog = listen_backlog(port)
    found = {BACKLOG: str(backlog) if backlog is not None else "not observed (ss found no socket)"}
    connection = http.client.HTTPConnection(address, port, timeout=5.0)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
        found[THREADS] = thread_names(pid)  # once it answers: ready, its runtime started
        if connection.sock is None:  # the server closed it after one answer
            closed = dict.fromkeys(
                (NODELAY, KEEPALIVE, SEGMENTS), "not observed (the server closed the connection)"
            )
            return {**found, HTTP_KEEP_ALIVE: "off", **closed}
        client_port = connection.sock.getsockname()[1]
        try:
            inode = socket_inode(Path(tcp_table_of(address)).read_text(), port, client_port)
            fd = descriptor_of(pid, inode) if inode is not None else None
            if fd is None:
                raise OSError("the server's end of the connection was not found")
            server_end = copy_socket(pid, fd)
        except OSError as exc:
            found |= dict.fromkeys((NODELAY, KEEPALIVE, SEGMENTS), f"not observed ({exc})")
            server_end = None
        with server_end or contextlib.nullcontext():
            if server_end is not None:
                nodelay = server_end.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                keepalive = server_end.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
                found |= {NODELAY: _on_off(bool(nodelay)), KEEPALIVE: _on_off(bool(keepalive))}
            connection.request("GET", path)
            connection.getresponse().read()
            same = connection.sock is not None and connection.sock.getsockname()[1] == client_port
            found[HTTP_KEEP_ALIVE] = _on_off(same)
            if server_end is not None and same:
                found[SEGMENTS] = _segments(connection, server_end, response_path or path)
    except (OSError, http.client.HTTPException) as exc:
        for key in (HTTP_KEEP_ALIVE, NODELAY, KEEPALIVE, SEGMENTS, THREADS):
            found.setdefault(key, f"not observed ({exc!r})")
    finally:
        connection.close()
    found.setdefault(SEGMENTS, "not observed (no second request on the connection)")
    return {key: found[key] for key in KEYS}


def _segments(connection: http.client.HTTPConnection, server_end: socket.socket, path: str) -> str:
    """ "2 (GET PATH, 9,700 B body)": data segments the server sent for one answer."""
    before = data_segments_out(server_end)
    connection.request("GET", path)
    body = connection.getresponse().read()
    after = data_segments_out(server_end)
    if before is None or after is None:
        return "not observed (TCP_INFO without tcpi_data_segs_out)"
    return f"{after - before} (GET {path}, {len(body):,} B body)"
