"""The go+rust hybrid, analysed: what one call across the cgo boundary costs, from which call
grain calling Rust pays, and how the hybrid's throughput sits beside pure Go and pure Rust.

Nothing here measures; everything comes from the raw repetitions of a run. A hybrid is an
implementation whose build record names a linked Rust crate (`BuildRecord.links`).

Methods (each a small function over raw values, statistics from stats.py):

- **Per-call time** at grain G: a repetition's `extra.g<G>_cpu_seconds / g<G>_calls` (the
  sha256-calls programs time every grain separately), in nanoseconds: the process's CPU time
  (getrusage) when all three programs report it, else the wall clock (`g<G>_seconds`). Why CPU
  time first: on a shared machine another process on the measured CPU stretches the wall clock
  of whichever program it interrupts, and how the scheduler shares the CPU differs between a
  one-thread Rust process and a Go process with runtime threads; CPU time counts only the work
  (a Go program's runtime threads included, which is part of what the hybrid costs).
- **Boundary overhead** at grain G: the Go->Rust program's per-call time minus the Rust-only
  program's, paired by round (both ran in the same interleaved round); the estimate is the median
  of the paired differences with a 95 % percentile-bootstrap CI that resamples rounds
  (stats.median_ci). Both run the same Rust code per call, so the difference is the cgo call plus
  Go's loop around it. The headline is the smallest grain: the hash is cheapest there, so the
  difference is least buried in the hashing's own noise.
- **Break-even grain**: where the Go->Rust per-call time stops exceeding Go-only's. With
  d(G) = median hybrid - median Go per call at each grain, in grain order, the break-even is the
  first crossing from d > 0 to d <= 0, linearly interpolated between the two grains around it:
  G* = G1 + d1 (G2 - G1) / (d1 - d2). d <= 0 at the smallest grain means calling Rust pays at
  every grain measured; d > 0 at every grain means it never does within them.
- **Parts**: the whole timed work (`work_seconds`) and each part a program times on its own
  (sha256's small messages and large buffer, `extra.<part>_seconds`): the hybrid's time over pure
  Rust's, paired by round (analysis.paired_ratio), checked against the target of being within
  5 % of pure Rust (the CI's upper end at most 1.05).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.analysis import stats
from harness.analysis.stats import PairedRatio, paired_ratio
from harness.model import ImplementationResult, Run, WorkloadResult

GRAIN_KEY = re.compile(r"^g(\d+)_seconds$")
PART_KEY = re.compile(r"^([a-z][a-z0-9]*)_seconds$")
PART_TARGET_RATIO = 1.05  # the target: the hybrid within 5 % of pure Rust on a part
GO, RUST = "go/default", "rust/default"


@dataclass(frozen=True)
class Estimate:
    """A median with its 95 % bootstrap CI (None under 2 values) over `n` values."""

    value: float
    low: float | None
    high: float | None
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


BreakEven = Literal["crossing", "every grain", "no grain"]
Clock = Literal["cpu", "wall"]
CLOCK_WORDS = {"cpu": "CPU time", "wall": "wall time"}


@dataclass(frozen=True)
class GrainRow:
    grain_bytes: int
    ns_per_call: dict[str, float]  # implementation key -> median over its repetitions
    overhead_ns: Estimate | None  # hybrid - Rust-only, paired by round
    versus_go_ns: Estimate | None  # hybrid - Go-only, paired by round


@dataclass(frozen=True)
class CallCosts:
    """The micro-sweep of one workload with a hybrid: per grain, and the two headline figures."""

    workload: str
    hybrid: str  # the hybrid's key
    clock: Clock  # which time per call the rows hold
    rows: tuple[GrainRow, ...]
    overhead_ns: Estimate | None  # at the smallest grain
    break_even: BreakEven
    break_even_bytes: float | None  # set for "crossing"


@dataclass(frozen=True)
class PartRatio:
    part: str  # "large", "small"
    hybrid: str
    medians_seconds: dict[str, float]  # key -> median part time
    versus_rust: PairedRatio | None

    @property
    def within_target(self) -> bool | None:
        """The CI's upper end at most 1.05 (None without a CI): the target holds with 95 %
        confidence, not just at the median."""
        if self.versus_rust is None or self.versus_rust.ci_high is None:
            return None
        return self.versus_rust.ci_high <= PART_TARGET_RATIO


# --- pure functions over numbers -----------------------------------------------------------------


def paired_difference(a: Mapping[int, float], b: Mapping[int, float]) -> Estimate | None:
    """a - b over the rounds both have: the median difference and its bootstrap CI."""
    rounds = sorted(a.keys() & b.keys())
    if not rounds:
        return None
    differences = [a[r] - b[r] for r in rounds]
    ci = stats.median_ci(differences)
    return Estimate(
        stats.median(differences),
        ci.low if ci else None,
        ci.high if ci else None,
        len(differences),
    )


def break_even(
    grains: Sequence[int], hybrid_ns: Sequence[float], go_ns: Sequence[float]
) -> tuple[BreakEven, float | None]:
    """Where calling Rust from Go starts to pay (module docstring): the first grain, linearly
    interpolated, at which the hybrid's per-call time stops exceeding Go-only's."""
    if not grains or not (len(grains) == len(hybrid_ns) == len(go_ns)):
        raise ValueError("break_even needs one hybrid and one Go time per grain")
    if list(grains) != sorted(set(grains)):
        raise ValueError("grains must be distinct and ascending")
    d = [h - g for h, g in zip(hybrid_ns, go_ns, strict=True)]
    if d[0] <= 0:
        return "every grain", None
    for i in range(1, len(d)):
        if d[i] <= 0:
            g1, g2, d1, d2 = grains[i - 1], grains[i], d[i - 1], d[i]
            return "crossing", g1 + d1 * (g2 - g1) / (d1 - d2)
    return "no grain", None


# --- over results --------------------------------------------------------------------------------


def hybrids(workload: WorkloadResult) -> tuple[ImplementationResult, ...]:
    """The workload's go+rust implementations (built or not)."""
    return tuple(r for r in workload.implementations if r.build.links is not None)


def _per_round(result: ImplementationResult, value) -> dict[int, float]:
    """round -> value(repetition's extra), over the successful repetitions that have one."""
    return _rep_values(result, lambda rep: value(rep.extra))


def _rep_values(result: ImplementationResult, value) -> dict[int, float]:
    out = {}
    for rep in result.repetitions:
        if rep.ok:
            v = value(rep)
            if v is not None:
                out[rep.rep] = v
    return out


def _seconds_key(grain: int, clock: Clock) -> str:
    return f"g{grain}_cpu_seconds" if clock == "cpu" else f"g{grain}_seconds"


def ns_per_call(
    result: ImplementationResult, grain: int, clock: Clock = "wall"
) -> dict[int, float]:
    """round -> nanoseconds per call at `grain`, from the repetition's own timing."""

    def value(extra: Mapping[str, float]) -> float | None:
        seconds, calls = extra.get(_seconds_key(grain, clock)), extra.get(f"g{grain}_calls")
        return None if seconds is None or not calls else seconds / calls * 1e9

    return _per_round(result, value)


def clock_of(results: Sequence[ImplementationResult], grains: Sequence[int]) -> Clock:
    """ "cpu" when every successful repetition of every program reports CPU time at every grain."""
    reps = [rep for r in results for rep in r.repetitions if rep.ok]
    if reps and all(_seconds_key(g, "cpu") in rep.extra for rep in reps for g in grains):
        return "cpu"
    return "wall"


def grains_of(result: ImplementationResult) -> tuple[int, ...]:
    """The grains a micro-sweep program reported, ascending."""
    found = {
        int(m.group(1))
        for rep in result.repetitions
        if rep.ok
        for key in rep.extra
        if (m := GRAIN_KEY.match(key))
    }
    return tuple(sorted(found))


def _ok(result: ImplementationResult | None) -> bool:
    return result is not None and result.status == "ok"


def call_costs(workload: WorkloadResult) -> tuple[CallCosts, ...]:
    """One CallCosts per hybrid of a micro-sweep workload whose Go, Rust and hybrid all ran."""
    go, rust = workload.result_for(GO), workload.result_for(RUST)
    if not (_ok(go) and _ok(rust)):
        return ()
    assert go is not None and rust is not None
    found = []
    for hybrid in hybrids(workload):
        grains = grains_of(hybrid) if _ok(hybrid) else ()
        grains = tuple(g for g in grains if g in grains_of(go) and g in grains_of(rust))
        if not grains:
            continue
        clock = clock_of((go, rust, hybrid), grains)
        rows = []
        for grain in grains:
            per = {r.key: ns_per_call(r, grain, clock) for r in (go, rust, hybrid)}
            rows.append(
                GrainRow(
                    grain_bytes=grain,
                    ns_per_call={k: stats.median(list(v.values())) for k, v in per.items()},
                    overhead_ns=paired_difference(per[hybrid.key], per[RUST]),
                    versus_go_ns=paired_difference(per[hybrid.key], per[GO]),
                )
            )
        kind, at = break_even(
            grains,
            [r.ns_per_call[hybrid.key] for r in rows],
            [r.ns_per_call[GO] for r in rows],
        )
        found.append(
            CallCosts(
                workload=workload.name,
                hybrid=hybrid.key,
                clock=clock,
                rows=tuple(rows),
                overhead_ns=rows[0].overhead_ns,
                break_even=kind,
                break_even_bytes=at,
            )
        )
    return tuple(found)


WHOLE = "whole work"  # the part name of work_seconds: the program's whole timed work


def _part_seconds(part: str):
    """A repetition's time for `part`: work_seconds for the whole work, else the extra."""
    if part == WHOLE:
        return lambda rep: rep.work_seconds
    key = f"{part}_seconds"
    return lambda rep: rep.extra.get(key)


def part_ratios(workload: WorkloadResult) -> tuple[PartRatio, ...]:
    """Per hybrid, for its whole work (work_seconds) and each timed part (extra
    `<part>_seconds`, grains excluded), the hybrid's time over pure Rust's, paired by round."""
    go, rust = workload.result_for(GO), workload.result_for(RUST)
    if not _ok(rust):
        return ()
    assert rust is not None
    found = []
    for hybrid in hybrids(workload):
        if not _ok(hybrid):
            continue
        parts = sorted(
            {
                m.group(1)
                for rep in hybrid.repetitions
                if rep.ok
                for key in rep.extra
                if (m := PART_KEY.match(key)) and not GRAIN_KEY.match(key)
            }
        )
        for part in (WHOLE, *parts):
            per = {
                r.key: _rep_values(r, _part_seconds(part))
                for r in (go, rust, hybrid)
                if _ok(r) and r is not None
            }
            if not per.get(RUST) or not per.get(hybrid.key):
                continue
            found.append(
                PartRatio(
                    part=part,
                    hybrid=hybrid.key,
                    medians_seconds={k: stats.median(list(v.values())) for k, v in per.items()},
                    versus_rust=paired_ratio(per[hybrid.key], per[RUST]),
                )
            )
    return tuple(found)


@dataclass(frozen=True)
class HybridAnalysis:
    call_costs: tuple[CallCosts, ...]
    parts: dict[str, tuple[PartRatio, ...]]  # workload -> its hybrids' parts
    workloads: tuple[str, ...]  # every workload with a hybrid implementation


def analyse_hybrids(run: Run) -> HybridAnalysis:
    with_hybrid = [w for w in run.workloads if hybrids(w)]
    return HybridAnalysis(
        call_costs=tuple(c for w in with_hybrid for c in call_costs(w)),
        parts={w.name: part_ratios(w) for w in with_hybrid if part_ratios(w)},
        workloads=tuple(w.name for w in with_hybrid),
    )


# --- sentences (the Hybrid section and the decision matrix quote the same ones) ------------------


def nanoseconds(value: float | None) -> str:
    """A per-call time: "52.1 ns", "1,234 ns", "59.2 µs"."""
    if value is None:
        return "–"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.3g} µs" if abs(value) < 1e6 else f"{value / 1e6:.3g} ms"
    return f"{value:,.0f} ns" if abs(value) >= 100 else f"{value:.3g} ns"


def estimate_text(estimate: Estimate | None) -> str:
    """ "52.1 ns [48.0, 57.3]" (95 % CI in brackets), or the value alone without a CI."""
    if estimate is None:
        return "–"
    shown = nanoseconds(estimate.value)
    if estimate.low is None or estimate.high is None:
        return shown
    low, high = nanoseconds(estimate.low), nanoseconds(estimate.high)
    unit = shown.rsplit(" ", 1)[1]
    if low.endswith(" " + unit) and high.endswith(" " + unit):
        low, high = low.removesuffix(" " + unit), high.removesuffix(" " + unit)
    return f"{shown} [{low}, {high}]"


def _bytes(value: float) -> str:
    return f"{value:,.0f} B" if value < 10_000 else f"{value / 1024:,.1f} KiB"


def overhead_sentence(costs: CallCosts) -> str | None:
    if costs.overhead_ns is None:
        return None
    grain = costs.rows[0].grain_bytes
    return (
        f"A call from Go into Rust through cgo costs {estimate_text(costs.overhead_ns)} more "
        f"{CLOCK_WORDS[costs.clock]} than the same Rust call made from Rust ({costs.workload}, "
        f"{grain} B per call, median of {costs.overhead_ns.n} rounds' paired differences, 95 % "
        "bootstrap CI)."
    )


def break_even_sentence(costs: CallCosts) -> str:
    grains = [r.grain_bytes for r in costs.rows]
    span = f"{_bytes(grains[0])} to {_bytes(grains[-1])} per call"
    if costs.break_even == "every grain":
        return (
            f"Calling Rust paid at every grain measured ({span}): {costs.hybrid} was no slower "
            "per call than go/default even at the smallest."
        )
    if costs.break_even == "no grain":
        return (
            f"Calling Rust never paid at the grains measured ({span}): {costs.hybrid} was slower "
            "per call than go/default at every one, so no break-even exists within them."
        )
    assert costs.break_even_bytes is not None
    return (
        f"Break-even grain: about {_bytes(costs.break_even_bytes)} per call — from there "
        f"{costs.hybrid} is no slower per call than go/default ({CLOCK_WORDS[costs.clock]}, "
        f"medians, linearly interpolated between the measured grains; {span} measured)."
    )


def part_sentence(workload: str, part: PartRatio) -> str | None:
    ratio = part.versus_rust
    if ratio is None:
        return None
    shown = f"{ratio.ratio:.3f}×"
    if ratio.ci_low is not None and ratio.ci_high is not None:
        shown += f" [{ratio.ci_low:.3f}, {ratio.ci_high:.3f}]"
    verdict = {
        True: "within the 5 % target (the whole CI is at most 1.05×)",
        False: "not shown to be within 5 % (the CI reaches past 1.05×)",
        None: "too few rounds for a CI",
    }[part.within_target]
    return (
        f"{workload}, {part.part}{'' if part.part == WHOLE else ' part'}: {part.hybrid} takes "
        f"{shown} pure Rust's time "
        f"(paired by round) — {verdict}."
    )


def headline_sentences(analysis: HybridAnalysis) -> tuple[str, ...]:
    """The measured figures the report states and the decision matrix cites."""
    sentences: list[str] = []
    for costs in analysis.call_costs:
        sentence = overhead_sentence(costs)
        if sentence:
            sentences.append(sentence)
        sentences.append(break_even_sentence(costs))
    for workload, parts in analysis.parts.items():
        for part in parts:
            sentence = part_sentence(workload, part)
            if sentence:
                sentences.append(sentence)
    return tuple(sentences)
