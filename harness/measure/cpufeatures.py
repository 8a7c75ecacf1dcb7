"""CPU feature flags: which the workloads' libraries switch code paths on, and what a verdict that
depends on one means on the machine a run measured.

Both sides of some pairs pick their code at run time from the CPU's features: Go's crypto/sha256
and Rust's sha2 both use the SHA-NI instructions when the CPU has `sha_ni`, and otherwise fall
back to different code (Go to AVX2 assembly, sha2 to portable Rust), so a ratio measured on one
CPU does not carry over to another. The machine record keeps every flag /proc/cpuinfo lists
(harness/measure/machine.py); a manifest names the ones its verdict depends on (`cpu_features`).
Pure functions: tested on canned text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# The flags the workloads' libraries are known to select code on (SHA-NI for SHA-256, AVX2 and
# BMI2 for byte search and hashing, AES-NI and PCLMULQDQ for AES-GCM and CRC, AVX-512 for wide
# search): what the report and the machine block show. A trailing "*" matches a prefix.
RELEVANT = ("aes", "avx2", "avx512*", "bmi2", "pclmulqdq", "sha_ni")


def parse_flags(cpuinfo: str) -> tuple[str, ...] | None:
    """The flags of the first processor in /proc/cpuinfo text, sorted; None when it lists none
    (another architecture names them differently, e.g. "Features" on arm64)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return tuple(sorted(set(value.split())))
    return None


def _matches(flag: str, pattern: str) -> bool:
    return flag.startswith(pattern[:-1]) if pattern.endswith("*") else flag == pattern


def relevant(flags: Iterable[str]) -> tuple[str, ...]:
    """The flags among RELEVANT, sorted."""
    return tuple(sorted(f for f in set(flags) if any(_matches(f, p) for p in RELEVANT)))


def describe(flags: tuple[str, ...] | None) -> str:
    """One line for the report and docs: the relevant flags present, and those absent."""
    if flags is None:
        return "not recorded (a results file from before schema 7, or no flags in /proc/cpuinfo)"
    present = relevant(flags)
    absent = [p for p in RELEVANT if not any(_matches(f, p) for f in flags)]
    text = " ".join(present) if present else "none of them"
    return text + (f"; absent: {' '.join(absent)}" if absent else "")


def caveat(workload: str, required: Sequence[str], flags: tuple[str, ...] | None) -> str | None:
    """The caveat beside a verdict that depends on CPU features; None when it depends on none."""
    if not required:
        return None
    if flags is None:
        state = "not recorded for this run"
    else:
        state = ", ".join(f"{f} {'present' if f in flags else 'ABSENT'}" for f in required)
    return (
        f"{workload}: the verdict depends on the CPU feature{'s' if len(required) > 1 else ''} "
        f"{', '.join(required)} ({state} on the measured machine): both sides choose their code "
        "by it at run time, so on a CPU that differs the ratio does not carry over (see the "
        "workload's doc)."
    )
