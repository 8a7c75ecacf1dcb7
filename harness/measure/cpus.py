"""How many CPUs a measured program gets, and how both runtimes are told the same number.

The contract (workloads/README.md "CPUs and workers"): a program runs on a set of N CPUs (its
affinity, set before it starts) and sees `HARNESS_CPUS=N`; beside it each runtime's own variable
carries N (GOMAXPROCS for Go, RAYON_NUM_THREADS and TOKIO_WORKER_THREADS for Rust), so a pool left
at its default agrees. What the program did is read back, never assumed: the workers it reports
(`extra.workers`) and the CPUs its live process was allowed (psutil, in launcher.Sampler). A
program that ran otherwise than it was told fails, because its figure would be set beside the
other language's at a CPU count it did not use.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.errors import HarnessError

CPUS_VARIABLE = "HARNESS_CPUS"
RUNTIME_VARIABLES = {"go": ("GOMAXPROCS",), "rust": ("RAYON_NUM_THREADS", "TOKIO_WORKER_THREADS")}
WORKERS_FIELD = "workers"  # the result line's extra field a concurrent program reports


def counts_up_to(available: int) -> tuple[int, ...]:
    """The CPU counts a `cpus = "each"` workload is measured at: 1, 2, 4, ... below the machine's
    count, then the count itself (1, 2 here; 1, 2, 4, 6 on six CPUs)."""
    counts, n = [], 1
    while n < available:
        counts.append(n)
        n *= 2
    return (*counts, available)


def last_cpus(count: int, available: Sequence[int], option: str = "--cpus") -> tuple[int, ...]:
    """The last `count` of the available CPUs (the harness keeps to the first ones); refused,
    in one line naming `option`, when the machine has fewer or `count` is not a positive count."""
    if count < 1:
        raise HarnessError(f"{option}: a program needs at least 1 CPU, got {count}")
    if count > len(available):
        raise HarnessError(
            f"{option}: {count} CPUs asked, but this process may use {len(available)} "
            f"({', '.join(map(str, available))})"
        )
    return tuple(sorted(available)[-count:])


def variables(lang: str, count: int) -> dict[str, str]:
    """The variables that tell a program of `lang` to use `count` workers (servers: one per
    server CPU, servers/lifecycle.py)."""
    n = str(count)
    return {CPUS_VARIABLE: n, **{name: n for name in RUNTIME_VARIABLES.get(lang, ())}}


def environment(lang: str, cpus: tuple[int, ...] | None) -> dict[str, str]:
    """The variables that tell a program of `lang` how many CPUs it has; none when unpinned."""
    return {} if cpus is None else variables(lang, len(cpus))


def told_workers(env: dict[str, str], cpus: tuple[int, ...] | None) -> int | None:
    """The worker count a program was told: its CPUs, unless a sweep point set GOMAXPROCS."""
    if "GOMAXPROCS" in env and env["GOMAXPROCS"].isdigit():
        return int(env["GOMAXPROCS"])
    return None if cpus is None else len(cpus)


def mismatch(
    cpus: tuple[int, ...] | None,
    extra: dict[str, float],
    allowed: tuple[int, ...] | None,
    told: int | None = None,
) -> str | None:
    """Why a run did not use the CPUs it was given (None: it did, or nothing says otherwise).
    `told`: the workers it was told to use (default: one per CPU)."""
    if cpus is None:
        return None
    told = len(cpus) if told is None else told
    workers = extra.get(WORKERS_FIELD)
    if workers is not None and workers != told:
        setting = f"{CPUS_VARIABLE}={len(cpus)}" if told == len(cpus) else f"GOMAXPROCS={told}"
        return (
            f"ignores its CPU setting: given {len(cpus)} CPU(s) ({setting}), "
            f"it reported {workers:g} workers"
        )
    if allowed is not None and tuple(sorted(allowed)) != tuple(sorted(cpus)):
        return (
            f"ran on CPUs {', '.join(map(str, allowed))}, not the "
            f"{', '.join(map(str, cpus))} it was given"
        )
    return None
