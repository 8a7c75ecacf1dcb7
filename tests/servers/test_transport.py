"""harness.transport: reading ss and /proc/net/tcp output, and observing a real socket of this
process's own child (a tiny Python server) with pidfd_getfd."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from harness.servers import transport

# `ss -Hltn` as iproute2 6.1 prints it: State Recv-Q Send-Q Local:Port Peer:Port.
SS_LISTEN = """\
LISTEN 0      4096       127.0.0.1:40123      0.0.0.0:*
LISTEN 0      128        127.0.0.1:40124      0.0.0.0:*
LISTEN 0      511           [::1]:40125         [::]:*
"""

# /proc/net/tcp: the server's end (local 127.0.0.1:40123, peer :51000) is line 2; the client's end
# and a listening socket (state 0A) must not be taken for it.
PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:9CBB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1
   1: 0100007F:C738 0100007F:9CBB 01 00000000:00000000 00:00000000 00000000     0        0 222 1
   2: 0100007F:9CBB 0100007F:C738 01 00000000:00000000 00:00000000 00000000     0        0 333 1
   3: 0100007F:9CBB 0100007F:C739 06 00000000:00000000 03:00000FA3 00000000     0        0 0 3
"""


def test_parse_listen_backlog_reads_send_q_of_the_port():
    assert transport.parse_listen_backlog(SS_LISTEN, 40123) == 4096
    assert transport.parse_listen_backlog(SS_LISTEN, 40124) == 128
    assert transport.parse_listen_backlog(SS_LISTEN, 40125) == 511
    assert transport.parse_listen_backlog(SS_LISTEN, 4012) is None  # no port is a suffix match
    assert transport.parse_listen_backlog("", 40123) is None


def test_socket_inode_finds_the_servers_end_of_an_established_connection():
    assert transport.socket_inode(PROC_NET_TCP, 40123, 51000) == 333  # 0x9CBB, 0xC738
    assert transport.socket_inode(PROC_NET_TCP, 51000, 40123) == 222  # the client's end
    assert transport.socket_inode(PROC_NET_TCP, 40123, 51001) is None  # TIME_WAIT, no inode


SERVER = """
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(17)
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(sys.argv[1]))
conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(sys.argv[2]))
print("set", flush=True)
time.sleep(30)
"""


@pytest.mark.parametrize(("nodelay", "keepalive"), [(1, 0), (0, 1)])
def test_socket_options_are_read_on_the_other_process_own_socket(nodelay, keepalive):
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(nodelay), str(keepalive)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        assert transport.listen_backlog(port) == 17
        with socket.create_connection(("127.0.0.1", port)) as client:
            assert child.stdout.readline() == "set\n"
            client_port = client.getsockname()[1]
            with open("/proc/net/tcp") as table:
                inode = transport.socket_inode(table.read(), port, client_port)
            assert inode is not None
            fd = transport.descriptor_of(child.pid, inode)
            assert fd is not None
            assert transport.socket_options(child.pid, fd) == (bool(nodelay), bool(keepalive))
    finally:
        child.kill()
        child.wait()


def test_observe_says_what_it_could_not_read():
    # Nothing listens on a port just freed: every setting says so instead of guessing.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    time.sleep(0.01)
    found = transport.observe(1, port, "/health")
    assert list(found) == [
        "listen backlog",
        "TCP_NODELAY",
        "SO_KEEPALIVE",
        "HTTP keep-alive",
        "TCP segments per response",
        "threads",
    ]
    assert all(value.startswith("not observed") for value in found.values()), found
