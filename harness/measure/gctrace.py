"""Parse Go's GODEBUG=gctrace=1 output into GC cycles.

Line format (runtime package docs, "subject to change"):

    gc # @#s #%: #+#+# ms clock, #+#/#/#+# ms cpu, #->#-># MB, # MB goal, ... # P [(forced)]

The three clock numbers are STW sweep termination, concurrent mark and STW mark termination: the
pause of a cycle is the first plus the third. The five CPU numbers (sweep termination, assist,
background, idle, mark termination) add up to the cycle's GC CPU. Heap sizes are printed in MiB
(the runtime shifts by 20) although labelled MB. Lines that look like a GC line but do not parse are
returned, not guessed at, so a format change is visible instead of silently undercounted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.model import GcCycle

_NUM = r"(\d+(?:\.\d+)?)"
GC_LINE = re.compile(
    rf"^gc (\d+) @{_NUM}s \d+%: {_NUM}\+{_NUM}\+{_NUM} ms clock, "
    rf"{_NUM}\+{_NUM}/{_NUM}/{_NUM}\+{_NUM} ms cpu, (\d+)->(\d+)->(\d+) MB"
)
LOOKS_LIKE_GC = re.compile(r"^gc \d+ @")
MIB = 1 << 20


@dataclass(frozen=True)
class GcTrace:
    cycles: tuple[GcCycle, ...]
    unrecognised_lines: tuple[str, ...]


def parse_gctrace(stderr: str) -> GcTrace:
    cycles: list[GcCycle] = []
    unrecognised: list[str] = []
    lines = stderr.splitlines()
    if lines and not stderr.endswith("\n"):
        # The runtime prints a trace line in several writes; a program that exits during a GC
        # cycle can leave the last one cut off. That cycle is incomplete, not a format change.
        lines = lines[:-1]
    for raw in lines:
        line = raw.strip()
        match = GC_LINE.match(line)
        if match is None:
            if LOOKS_LIKE_GC.match(line):
                unrecognised.append(line)
            continue
        g = match.groups()
        sweep_term_ms, mark_ms, mark_term_ms = float(g[2]), float(g[3]), float(g[4])
        cpu_ms = sum(float(x) for x in g[5:10])
        cycles.append(
            GcCycle(
                number=int(g[0]),
                at_seconds=float(g[1]),
                pause_seconds=(sweep_term_ms + mark_term_ms) / 1000,
                concurrent_mark_seconds=mark_ms / 1000,
                cpu_seconds=cpu_ms / 1000,
                heap_start_bytes=int(g[10]) * MIB,
                heap_end_bytes=int(g[11]) * MIB,
                heap_live_bytes=int(g[12]) * MIB,
                forced=line.endswith("(forced)"),
            )
        )
    return GcTrace(cycles=tuple(cycles), unrecognised_lines=tuple(unrecognised))
