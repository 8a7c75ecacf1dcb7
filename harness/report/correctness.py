"""The report's correctness block: per implementation of a concurrent workload, what its freedom
from data races rests on (templates/correctness.html.j2 only loops over it).

Go: the race detector's verdict on one quick-size run of the race-built program
(harness/measure/race.py): clean, DATA RACE with the first report, not run (why), or failed (why).
Rust: no run-time check exists to report; the block says what the guarantee is (the compiler's
Send/Sync checks of safe code) and how much of the implementation's own source steps outside it
(its `unsafe`, counted; dependencies not).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model import RaceCheck, Run, UnsafeCount
from harness.report import formatting

GO_NOTE = (
    "Go: each Go program of a concurrent workload is built once more with go build -race (cgo "
    "on; the measured binary stays the normal build) and run once at quick size before it is "
    "measured: a batch program on the quick input, a server for a short closed-loop phase of its "
    "manifest's request streams. The detector reports races that happen in that run: "
    "\u201cclean\u201d covers only the code paths it exercised, not every path the program has. A "
    "race fails the implementation, and no figure of it is reported."
)
RUST_NOTE = (
    "Rust: there is no run-time check. Safe Rust cannot share a value between threads unless "
    "its type is Send (to move) or Sync (to share), and the compiler checks that before the "
    "program exists; the guarantee stops at unsafe code, so the unsafe in each implementation's "
    "own source files is counted (blocks, functions, impls, traits, extern blocks, attributes). "
    "Dependencies (tokio, axum, rayon, the standard library) are not counted."
)
RACE_WORDS = {
    "clean": "race detector: clean",
    "race": "race detector: DATA RACE",
    "not run": "race detector: not run",
    "failed": "race detector: check failed",
}


@dataclass(frozen=True)
class CorrectnessRow:
    workload: str
    key: str
    verdict: str  # "race detector: clean", "compiler-checked Send/Sync; unsafe in own source: 0"
    detail: str  # what ran and what it cost, or why not, or what was counted
    report: str  # the detector's first report, as printed ("" unless a race)
    failed: bool  # a race: shown as a failure


@dataclass(frozen=True)
class CorrectnessBlock:
    present: bool  # some workload of the run was checked
    rows: tuple[CorrectnessRow, ...]
    go_note: str = GO_NOTE
    rust_note: str = RUST_NOTE


def _race_row(workload: str, check: RaceCheck) -> CorrectnessRow:
    verdict = RACE_WORDS[check.status]
    if check.status in ("not run", "failed"):
        detail = check.reason or ""
    else:
        cached = " (cached)" if check.build_cached else ""
        detail = (
            f"{check.exercised}; race build {formatting.seconds(check.build_seconds)}{cached}, "
            f"run {formatting.seconds(check.run_seconds)}"
        )
    return CorrectnessRow(
        workload=workload,
        key=check.key,
        verdict=verdict,
        detail=detail,
        report=check.report or "",
        failed=check.status == "race",
    )


# operations.count_unsafe's kinds, in words (singular, plural)
KIND_WORDS = {
    "block": ("unsafe block", "unsafe blocks"),
    "fn": ("unsafe fn", "unsafe fns"),
    "impl": ("unsafe impl", "unsafe impls"),
    "trait": ("unsafe trait", "unsafe traits"),
    "extern": ("unsafe extern block", "unsafe extern blocks"),
    "attribute": ("unsafe attribute", "unsafe attributes"),
    "other": ("other use", "other uses"),
    "file": ("file", "files"),
}


def _plural(n: int, kind: str) -> str:
    singular, plural = KIND_WORDS.get(kind, (kind, kind))
    return f"{n} {singular if n == 1 else plural}"


def _unsafe_row(workload: str, count: UnsafeCount) -> CorrectnessRow:
    if count.count is None:
        return CorrectnessRow(
            workload=workload,
            key=count.key,
            verdict="compiler-checked Send/Sync; unsafe in own source: not counted",
            detail=count.reason or "",
            report="",
            failed=False,
        )
    kinds = ", ".join(_plural(n, kind) for kind, n in sorted(count.by_kind.items()) if n)
    return CorrectnessRow(
        workload=workload,
        key=count.key,
        verdict=f"compiler-checked Send/Sync; unsafe in own source: {count.count}",
        detail=(f"{kinds}; " if kinds else "")
        + f"in {_plural(len(count.files), 'file')} ({', '.join(count.files)}); "
        "dependencies not counted",
        report="",
        failed=False,
    )


def correctness_block(run: Run) -> CorrectnessBlock:
    """A row per checked implementation, Go's race checks then Rust's unsafe counts per workload."""
    rows: list[CorrectnessRow] = []
    for w in run.workloads:
        rows += [_race_row(w.name, check) for check in w.race_checks]
        rows += [_unsafe_row(w.name, count) for count in w.unsafe_counts]
    return CorrectnessBlock(present=bool(rows), rows=tuple(rows))
