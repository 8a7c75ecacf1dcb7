"""What the harness reads from a load host and how it decides the host can run this machine's
binaries (harness/servers/remote.py), without a host: the probe's text and the binaries' bytes."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.model import HostMachine, HostSpec
from harness.servers import remote

PROBE = """load-7
x86_64
6.1.0-18-amd64
ldd (Debian GLIBC 2.36-9+deb12u4) 2.36
4
MemTotal:       16318480 kB
tsc
--- cpuinfo
processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx2 sha_ni
--- stat
cpu  100 0 100 1000 0 0 0 10 0 0
cpu0 100 0 100 1000 0 0 0 10 0 0
--- stat
cpu  150 0 150 1150 0 0 0 50 0 0
cpu0 150 0 150 1150 0 0 0 50 0 0
"""


def test_the_probe_reads_like_the_local_machine_record():
    machine = remote.parse_machine(PROBE)
    assert machine.hostname == "load-7"
    assert (machine.arch, machine.kernel, machine.libc) == (
        "x86_64",
        "6.1.0-18-amd64",
        "glibc 2.36",
    )
    assert (machine.cpu_model, machine.cpu_count) == ("AMD EPYC 7B13", 4)
    assert machine.memory_bytes == 16318480 * 1024
    assert machine.cpu_flags == ("avx2", "fpu", "sha_ni", "sse2")
    assert machine.clock_source == "tsc"
    # 40 steal ticks of 40 + 50 + 50 + 150 between the readings
    assert machine.steal_share == pytest.approx(40 / 290)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ldd (Debian GLIBC 2.36-9+deb12u4) 2.36", "glibc 2.36"),
        ("ldd (GNU libc) 2.39", "glibc 2.39"),
        ("musl libc (x86_64)", "musl"),
        ("", "unknown"),
    ],
)
def test_libc_is_named(line, expected):
    assert remote.describe_libc(line) == expected


def host(arch: str | None = None, libc: str = "glibc 2.36") -> HostMachine:
    return HostMachine(
        hostname="h",
        arch=arch or platform.machine(),
        libc=libc,
        cpu_model="x",
        cpu_count=2,
        memory_bytes=1,
        kernel="6",
    )


def binary(tmp_path: Path, *versions: str) -> Path:
    path = tmp_path / "prog"
    path.write_bytes(b"\x7fELF" + b"\0".join(f"GLIBC_{v}".encode() for v in versions))
    return path


def test_a_host_that_cannot_run_the_binaries_is_refused_with_the_reason(tmp_path):
    prog = binary(tmp_path, "2.2.5", "2.34", "2.17")
    assert remote.glibc_needed(prog) == (2, 34)
    assert remote.can_run(host(), [prog]) is None
    assert remote.can_run(host(libc="glibc 2.31"), [prog]) == (
        "it has glibc 2.31; the binaries need glibc 2.34 or newer"
    )
    assert "its C library is musl" in (remote.can_run(host(libc="musl"), [prog]) or "")
    assert "its CPU architecture is riscv64" in (remote.can_run(host("riscv64"), [prog]) or "")


def test_an_unreachable_host_is_one_line_naming_the_inventory_and_host(tmp_path):
    closed = remote.tcp_rtt_seconds("127.0.0.1", 9, samples=1)
    assert closed is None  # nothing listens on the discard port here
    spec = HostSpec(name="load-9", address="127.0.0.1", user="bench", port=9, shares_server=True)
    with pytest.raises(HarnessError) as caught:
        remote.connect_all([spec], "hosts.toml")
    message = str(caught.value)
    assert message.startswith(
        "hosts.toml [[load]] load-9: cannot reach bench@127.0.0.1:9 over SSH ("
    )
    assert "\n" not in message
