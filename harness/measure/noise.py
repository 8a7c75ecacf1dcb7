"""Noise readings: what the machine was doing while a run measured, read from /proc and /sys.

Like `pyperf system show`, it reads the CPU frequency governor and clock, SMT, transparent huge
pages, ASLR, isolated CPUs, boost and the load average (`read_system_state`). A file it cannot read
gives None, never an error, because a VM or a container hides most of them.

/proc/stat gives each CPU's time in clock ticks (`read_cpu_times`); `start_cpu_window` reads it and
this process's CPU time around a run. What those readings mean (steal, other load, drift, position
effects, warnings) is derived in `harness.analysis.noise`, from what was recorded, so a stored run
is judged the same way later. The readings themselves (`SystemState`, `CpuState`, `CpuTimes`) are
stored with the results, so they live in model.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.model import CpuState, CpuTimes, CpuWindow, SystemState

SYS_CPU = "sys/devices/system/cpu"

FLAG = re.compile(r"[a-z_]+")  # isolcpus=managed_irq,domain,2-3


def _read(root: Path, relative: str) -> str | None:
    try:
        return (root / relative).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def parse_cpu_list(text: str) -> tuple[int, ...] | None:
    """The kernel's CPU list format ("0-2,5"); "" and "(null)" are no CPUs; None if malformed."""
    cpus: set[int] = set()
    for part in text.strip(" \x00\n").split(","):
        if part in ("", "(null)"):
            continue
        first, _, last = part.partition("-")
        try:
            cpus.update(range(int(first), int(last or first) + 1))
        except ValueError:
            return None
    return tuple(sorted(cpus))


def _cpus_set_aside(root: Path, sysfs_name: str, boot_parameter: str) -> tuple[int, ...] | None:
    """The kernel's own list in sysfs (as pyperf reads it), else the boot parameter."""
    listed = _read(root, f"{SYS_CPU}/{sysfs_name}")
    if listed is not None:
        return parse_cpu_list(listed)
    cmdline = _read(root, "proc/cmdline")
    if cmdline is None:
        return None
    match = re.search(rf"(?:^|\s){boot_parameter}=(\S+)", cmdline)
    if match is None:
        return ()
    return parse_cpu_list(",".join(p for p in match.group(1).split(",") if not FLAG.fullmatch(p)))


def parse_cpuinfo_mhz(text: str) -> dict[int, float | None]:
    """Each processor's "cpu MHz" (x86 shows one, arm64 does not)."""
    mhz: dict[int, float | None] = {}
    cpu: int | None = None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "processor":
            cpu = int(value)
            mhz[cpu] = None
        elif name.strip() == "cpu MHz" and cpu is not None:
            mhz[cpu] = float(value)
    return mhz


def _load_average(text: str) -> tuple[float, float, float] | None:
    try:
        one, five, fifteen = (float(f) for f in text.split()[:3])
    except ValueError:  # also fewer than three fields
        return None
    return one, five, fifteen


def _cpu_state(root: Path, cpu: int, cpuinfo_mhz: Mapping[int, float | None]) -> CpuState:
    base = f"{SYS_CPU}/cpu{cpu}/cpufreq"
    cur_khz = _number(_read(root, f"{base}/scaling_cur_freq"))
    max_khz = _number(_read(root, f"{base}/cpuinfo_max_freq"))
    cur_mhz, source = (cur_khz / 1000, "cpufreq") if cur_khz is not None else (None, None)
    if cur_mhz is None and cpuinfo_mhz.get(cpu) is not None:
        cur_mhz, source = cpuinfo_mhz[cpu], "cpuinfo"
    return CpuState(
        cpu=cpu,
        driver=_read(root, f"{base}/scaling_driver"),
        governor=_read(root, f"{base}/scaling_governor"),
        cur_mhz=cur_mhz,
        max_mhz=max_khz / 1000 if max_khz is not None else None,
        cur_mhz_source=source,
    )


def read_system_state(root: Path | str = "/") -> SystemState:
    """A snapshot of the settings that make timings noisy; `root` lets tests pass a fixture tree."""
    root = Path(root)
    try:
        sys_cpus = {int(p.name[3:]) for p in (root / SYS_CPU).glob("cpu[0-9]*") if p.is_dir()}
    except (OSError, ValueError):
        sys_cpus = set()
    try:
        cpuinfo_mhz = parse_cpuinfo_mhz(_read(root, "proc/cpuinfo") or "")
    except ValueError:
        cpuinfo_mhz = {}
    flag = {"1": True, "0": False}
    thp = re.search(r"\[(\w+)\]", _read(root, "sys/kernel/mm/transparent_hugepage/enabled") or "")
    aslr = _number(_read(root, "proc/sys/kernel/randomize_va_space"))
    boost = flag.get(_read(root, f"{SYS_CPU}/cpufreq/boost") or "")
    if boost is None:  # intel_pstate has no cpufreq/boost
        no_turbo = flag.get(_read(root, f"{SYS_CPU}/intel_pstate/no_turbo") or "")
        boost = None if no_turbo is None else not no_turbo
    return SystemState(
        cpus=tuple(_cpu_state(root, c, cpuinfo_mhz) for c in sorted(sys_cpus | set(cpuinfo_mhz))),
        smt_active=flag.get(_read(root, f"{SYS_CPU}/smt/active") or ""),
        smt_control=_read(root, f"{SYS_CPU}/smt/control"),
        transparent_hugepages=thp.group(1) if thp else None,
        aslr=int(aslr) if aslr is not None else None,
        load_average=_load_average(_read(root, "proc/loadavg") or ""),
        isolated_cpus=_cpus_set_aside(root, "isolated", "isolcpus"),
        nohz_full_cpus=_cpus_set_aside(root, "nohz_full", "nohz_full"),
        boost=boost,
    )


def parse_proc_stat(text: str) -> tuple[CpuTimes, ...]:
    """The per-CPU lines (cpu0, cpu1, ...); the aggregate "cpu" line is their sum and is skipped."""
    times = []
    for line in text.splitlines():
        name, *fields = line.split() or [""]
        if re.fullmatch(r"cpu\d+", name):
            ticks = [int(f) for f in fields[:8]] + [0] * (8 - len(fields))  # old kernels: fewer
            times.append(CpuTimes(int(name[3:]), *ticks))
    return tuple(times)


def read_cpu_times(root: Path | str = "/") -> tuple[CpuTimes, ...] | None:
    text = _read(Path(root), "proc/stat")
    try:
        return parse_proc_stat(text) if text is not None else None
    except ValueError:
        return None


StatReader = Callable[[], tuple[CpuTimes, ...] | None]

CpuClock = Callable[[], tuple[float, float]]


def process_cpu_seconds() -> tuple[float, float]:
    """This process's own CPU seconds and its reaped children's (os.times user + system). The
    children's figure includes what their own reaped descendants used, as wait4 accounts it."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


def start_cpu_window(
    read_stat: StatReader = read_cpu_times, cpu_clock: CpuClock = process_cpu_seconds
) -> Callable[[], CpuWindow | None]:
    """Read /proc/stat and this process's CPU time now; the function returned reads both again
    and gives the window between them (None where /proc/stat cannot be read)."""
    before, (own_before, children_before) = read_stat(), cpu_clock()

    def close() -> CpuWindow | None:
        (own_after, children_after), after = cpu_clock(), read_stat()
        if before is None or after is None:
            return None
        return CpuWindow(
            before=before,
            after=after,
            harness_cpu_seconds=own_after - own_before,
            children_cpu_seconds=children_after - children_before,
        )

    return close
