"""The machine a run measured, as rows: the report's methodology shows them, and
`harness machine RESULTS` prints them as a Markdown block for the workload docs, so a doc describes
the machine its figures came from out of the record, not from memory.

A doc holds the block between BEGIN and END markers exactly as the command printed it;
tests/report/test_machine_block.py checks every doc's block against this format.
"""

from __future__ import annotations

import re

from harness.build import environment as buildenv
from harness.measure import cpufeatures
from harness.model import Run
from harness.report import formatting

BEGIN = "<!-- machine block: printed by `python -m harness machine {run_id}`; do not edit -->"
END = "<!-- /machine block -->"
_BEGIN_PATTERN = re.compile(
    r"^<!-- machine block: printed by `python -m harness machine (?P<run_id>\S+)`; do not edit -->$"
)


def machine_rows(run: Run) -> list[tuple[str, str]]:
    """What a reader needs to know about the hardware and toolchains before quoting a ratio."""
    m = run.machine
    return [
        ("CPU", f"{m.cpu_model} ({m.cpu_count} logical CPUs)"),
        ("CPU features the workloads' libraries select code by", cpufeatures.describe(m.cpu_flags)),
        ("Memory", formatting.size(m.memory_bytes)),
        ("Kernel / OS", f"{m.kernel} / {m.os}"),
        ("Go", m.go_version or "not found"),
        ("Go garbage collector", go_collector(run)),
        ("Rust", f"{m.rustc_version or 'not found'}; {m.cargo_version or ''}"),
    ]


def go_collector(run: Run) -> str:
    """Which collector the run's Go binaries were built with, from the experiments their build
    records say the toolchain enabled (Go 1.26 turned on Green Tea by default)."""
    found = {
        i.build.environment.get(buildenv.GO_EXPERIMENTS)
        for w in run.workloads
        for i in w.implementations
        if i.lang == "go" and i.build.ok
    } - {None, "unknown"}
    if not found:
        return "not recorded (no Go build record of schema 7 or later)"
    if len(found) > 1:
        return "differs between builds: " + " | ".join(sorted(str(f) for f in found))
    experiments = str(found.pop()).split()
    if "greenteagc" in experiments:
        return "Green Tea (GOEXPERIMENT greenteagc on, as the toolchain built it)"
    return "the classic concurrent mark-sweep collector (GOEXPERIMENT greenteagc off)"


def render(run: Run) -> str:
    """The block for a workload doc: the markers, the run, and machine_rows as a table."""
    return format_block(run.run_id, run.started_at, run.config.size, machine_rows(run))


def format_block(run_id: str, started: str, size: str, rows: list[tuple[str, str]]) -> str:
    lines = [
        BEGIN.format(run_id=run_id),
        f"Measured in run `{run_id}` (started {started}, size {size}):",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {name} | {value.replace('|', '/')} |" for name, value in rows),
        END,
    ]
    return "\n".join(lines) + "\n"


_HEADER = re.compile(
    r"^Measured in run `(?P<run_id>\S+)` \(started (?P<started>\S+), size (?P<size>\w+)\):$"
)
_ROW = re.compile(r"^\| (?P<name>[^|]+) \| (?P<value>[^|]*) \|$")


def parse_block(block: str) -> tuple[str, str, str, list[tuple[str, str]]]:
    """The run id, start, size and rows of a block as format_block writes it; ValueError on any
    line that is not in that format (so format_block(*parse_block(b)) == b for a valid block)."""
    lines = block.splitlines()
    begin = _BEGIN_PATTERN.match(lines[0]) if lines else None
    header = _HEADER.match(lines[1]) if len(lines) > 5 else None
    if (
        begin is None
        or header is None
        or begin["run_id"] != header["run_id"]
        or lines[2:5] != ["", "| machine | |", "|---|---|"]
        or lines[-1] != END
    ):
        raise ValueError("machine block: the lines after BEGIN are not the rendered format")
    rows = []
    for line in lines[5:-1]:
        row = _ROW.match(line)
        if row is None:
            raise ValueError(f"machine block: not a table row: {line!r}")
        rows.append((row["name"], row["value"]))
    return header["run_id"], header["started"], header["size"], rows


def blocks_in(text: str) -> list[str]:
    """Every block in a document, BEGIN to END; a BEGIN without END is a ValueError."""
    found = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if _BEGIN_PATTERN.match(lines[i].rstrip("\n")) is None:
            i += 1
            continue
        end = next((j for j in range(i, len(lines)) if lines[j].rstrip("\n") == END), None)
        if end is None:
            raise ValueError(f"line {i + 1}: machine block without {END}")
        found.append("".join(lines[i : end + 1]))
        i = end + 1
    return found
