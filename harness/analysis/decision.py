"""The decision matrix: the team's 1–5 scores on five categories, weighed into a lean (Go, Rust or
hybrid), with the run's measurements attached as evidence where the benchmarks can speak.

Why scores come from the team and never from the harness: three of the five categories (time to
market, memory-safety criticality, the team's Rust experience) are judgements about the project and
the people, which no benchmark measures. The harness contributes evidence beside the scores, and
says so plainly where it has none. The rule is documented with examples in docs/decision-matrix.md.

Weighting: each category has a direction (which language a HIGH score favours). Its contribution is
    weight x (score - 3) x (+1 if a high score favours Rust, -1 if it favours Go)
so 3 is neutral, positive pulls toward Rust, negative toward Go; weights are 1–3 (default 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from harness.analysis import stats, units
from harness.analysis.boundary import BoundaryAnalysis
from harness.analysis.boundary import headline_sentences as boundary_sentences
from harness.analysis.capacity import CapacityProjection, describe_load
from harness.analysis.hybrid import HybridAnalysis, headline_sentences
from harness.analysis.summaries import WorkloadAnalysis
from harness.config import read_toml, reject_unknown_keys
from harness.errors import HarnessError
from harness.model import DEFAULT_VARIANT, ImplementationResult

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEAM_PATH = ROOT / "config" / "team.toml"
EXAMPLE_TEAM_PATH = ROOT / "config" / "team.example.toml"

Lean = Literal["Go", "Rust", "hybrid"]


@dataclass(frozen=True)
class Category:
    name: str  # the TOML key
    title: str  # for headings
    label: str  # for sentences
    high_favours: Literal["go", "rust"]
    question: str  # what the score answers, for the report


CATEGORIES: tuple[Category, ...] = (
    Category(
        "time_to_market",
        "Time-to-market pressure",
        "time-to-market pressure",
        "go",
        "How urgent is delivery; how much does iteration speed matter?",
    ),
    Category(
        "latency_determinism",
        "Latency determinism requirement",
        "the latency determinism requirement",
        "rust",
        "How strict are tail-latency and pause budgets?",
    ),
    Category(
        "memory_safety",
        "Memory-safety criticality",
        "memory-safety criticality",
        "rust",
        "How costly is a memory or data-race bug?",
    ),
    Category(
        "rust_experience",
        "Team Rust experience",
        "the team's Rust experience",
        "rust",
        "How fluent is the team in Rust (and can it hire and mentor)?",
    ),
    Category(
        "resource_cost",
        "Resource-cost pressure",
        "resource-cost pressure",
        "rust",
        "How much do CPU and memory cost at the projected scale?",
    ),
)
CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)
NEUTRAL_SCORE = 3
SCORE_RANGE = (1, 5)
WEIGHT_RANGE = (1, 3)

# The lean rule (docs/decision-matrix.md):
STRONG_PULL = 2  # a side's summed pull at least this: as much as one category at an extreme
CONFLICT_RATIO = 2.0  # "both ways" only when neither side outweighs the other more than 2:1
CLEAR_MARGIN = 2  # |net| at least this picks a language outright; below it is near-neutral
HOT_PATH_COST_RATIO = 1.2  # a measured hot path: Go's projected cost >= 1.2x Rust's

NO_EVIDENCE = "no benchmark evidence — team judgement"


# --- team scores ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamConfig:
    source: str
    scores: dict[str, int]  # every category
    weights: dict[str, int]  # every category (1 unless the file says otherwise)
    # The team's p99 latency budget (the report's Scaling section: which Go runtime setting meets
    # it); None: not given, the report's default applies.
    p99_budget_ms: float | None = None


def _int_in(table: Mapping, key: str, bounds: tuple[int, int], where: str, what: str) -> int:
    value = table[key]
    low, high = bounds
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise HarnessError(f"{where}: field '{key}' must be {what} {low}–{high}, got {value!r}")
    return value


def _table(data: Mapping, key: str, where: str) -> Mapping:
    value = data[key]
    if not isinstance(value, dict):
        raise HarnessError(f"{where}: field '{key}' must be a table [{key}]")
    reject_unknown_keys(value, CATEGORY_NAMES, f"{where} [{key}]")
    return value


def _budget(data: Mapping, where: str) -> float | None:
    """p99_budget_ms: a positive number of milliseconds, or absent."""
    if "p99_budget_ms" not in data:
        return None
    value = data["p99_budget_ms"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise HarnessError(
            f"{where}: field 'p99_budget_ms' must be a number of milliseconds above 0, "
            f"got {value!r}"
        )
    return float(value)


def parse_team_config(data: Mapping, where: str) -> TeamConfig:
    """Validate parsed TOML: [scores] with all five integers 1–5, optional [weights] 1–3 and an
    optional top-level p99_budget_ms."""
    reject_unknown_keys(data, ("scores", "weights", "p99_budget_ms"), f"{where} (top level)")
    if "scores" not in data:
        raise HarnessError(f"{where}: missing table [scores]")
    score_table = _table(data, "scores", where)
    scores = {}
    for name in CATEGORY_NAMES:
        if name not in score_table:
            raise HarnessError(f"{where} [scores]: missing field '{name}'")
        scores[name] = _int_in(score_table, name, SCORE_RANGE, f"{where} [scores]", "an integer")
    weight_table = _table(data, "weights", where) if "weights" in data else {}
    weights = {
        name: _int_in(weight_table, name, WEIGHT_RANGE, f"{where} [weights]", "an integer")
        if name in weight_table
        else 1
        for name in CATEGORY_NAMES
    }
    return TeamConfig(
        source=where, scores=scores, weights=weights, p99_budget_ms=_budget(data, where)
    )


def load_team_config(
    path: Path | None, default_path: Path = DEFAULT_TEAM_PATH
) -> TeamConfig | None:
    """`path` (--team FILE) must exist; without it, `default_path` is used if present, else None."""
    if path is None:
        if not default_path.is_file():
            return None
        path = default_path
    data = read_toml(path, "team scores")
    return parse_team_config(data, str(path))


# --- evidence from the run -----------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryEvidence:
    category: str
    measured: bool  # False: the benchmarks say nothing about this category
    summary: str  # one sentence, used in the reasons
    lines: tuple[str, ...] = ()  # the detail behind it, one fact a line


@dataclass(frozen=True)
class TailAtRate:
    """One server workload's latency spread at its headline rate (replicates.headline_rate), as
    medians over replicates."""

    workload: str
    offered_rps: float
    go_p50_seconds: float
    go_p999_seconds: float
    rust_p50_seconds: float
    rust_p999_seconds: float
    caveats: tuple[str, ...]  # the replicates' flags, e.g. "replicate 2: p99.9 from 20000 ..."
    replicate_count: int = 1  # the latencies are medians over this many replicates per side

    @property
    def go_tail_ratio(self) -> float:
        return self.go_p999_seconds / self.go_p50_seconds

    @property
    def rust_tail_ratio(self) -> float:
        return self.rust_p999_seconds / self.rust_p50_seconds

    def describe(self) -> str:
        s = units.seconds
        return (
            f"{self.workload} at {self.offered_rps:g} req/s: p99.9 Go {s(self.go_p999_seconds)} "
            f"vs Rust {s(self.rust_p999_seconds)}, p99.9/p50 Go {self.go_tail_ratio:.3g}× vs "
            f"Rust {self.rust_tail_ratio:.3g}×"
            + (
                f" (medians over {self.replicate_count} replicates)"
                if self.replicate_count > 1
                else ""
            )
        )


@dataclass(frozen=True)
class GcPause:
    """Go's largest stop-the-world GC pause in the run (wall clock)."""

    seconds: float
    workload: str
    pauses: int  # how many pauses it is the largest of


def _both_ok(
    analysis: WorkloadAnalysis,
) -> tuple[ImplementationResult, ImplementationResult] | None:
    result = analysis.result
    go = result.result_for(f"go/{DEFAULT_VARIANT}")
    rust = result.result_for(f"rust/{DEFAULT_VARIANT}")
    if result.status == "checksum_mismatch" or not (go and rust):
        return None
    return (go, rust) if go.status == "ok" and rust.status == "ok" else None


def server_tails(analyses: Sequence[WorkloadAnalysis]) -> tuple[TailAtRate, ...]:
    """Per server workload: both defaults' p50 and p99.9, medians over replicates, at the rate the
    summary quotes (replicates.headline_rate: every replicate on both sides usable)."""
    tails = []
    for analysis in analyses:
        pair = _both_ok(analysis) if analysis.result.kind == "server" else None
        server = analysis.server
        if pair is None or server is None or server.headline_rate is None:
            continue
        go, rust = pair
        rate = server.headline_rate
        g, r = server.rate(go.key, rate), server.rate(rust.key, rate)
        if (
            g is None
            or r is None
            or not all(
                p in s.latency and s.latency[p].median > 0 for s in (g, r) for p in ("p50", "p999")
            )
        ):
            continue
        tails.append(
            TailAtRate(
                workload=analysis.result.name,
                offered_rps=rate,
                go_p50_seconds=g.latency["p50"].median,
                go_p999_seconds=g.latency["p999"].median,
                rust_p50_seconds=r.latency["p50"].median,
                rust_p999_seconds=r.latency["p999"].median,
                caveats=tuple(f"Go: {f}" for f in g.flags) + tuple(f"Rust: {f}" for f in r.flags),
                replicate_count=min(len(g.replicates), len(r.replicates)),
            )
        )
    return tuple(tails)


def largest_go_pause(analyses: Sequence[WorkloadAnalysis]) -> GcPause | None:
    """Over Go defaults' successful batch repetitions and fixed-rate server replicates."""
    pauses: list[tuple[float, str]] = []
    for analysis in analyses:
        result = analysis.result
        if result.status == "checksum_mismatch":
            continue
        if result.kind == "server":
            phases = (
                analysis.server.gc_phases.get(f"go/{DEFAULT_VARIANT}", ())
                if analysis.server
                else ()
            )
            pauses += [(c.pause_seconds, result.name) for p in phases for c in p.gc_cycles or ()]
        else:
            summary = analysis.summary_for(f"go/{DEFAULT_VARIANT}")
            if summary is not None:
                pauses += [(p, result.name) for p in summary.gc_pauses_seconds]
    if not pauses:
        return None
    worst, where = max(pauses)
    return GcPause(seconds=worst, workload=where, pauses=len(pauses))


def latency_evidence(analyses: Sequence[WorkloadAnalysis]) -> CategoryEvidence:
    """Servers' tail spread at their headline rates, and Go's largest GC pause."""
    tails = server_tails(analyses)
    pause = largest_go_pause(analyses)
    lines = [t.describe() + (f" [{'; '.join(t.caveats)}]" if t.caveats else "") for t in tails]
    pieces = [t.describe() for t in tails]
    if pause is not None:
        lines.append(
            f"largest Go GC pause (stop-the-world, wall clock): {units.seconds(pause.seconds)} "
            f"in {pause.workload}, the largest of {pause.pauses} pauses across batch repetitions "
            "and fixed-rate server phases"
        )
        pieces.append(f"largest Go GC pause {units.seconds(pause.seconds)} ({pause.workload})")
    if not pieces:
        return CategoryEvidence("latency_determinism", False, "no benchmark evidence in this run")
    return CategoryEvidence("latency_determinism", True, "; ".join(pieces), tuple(lines))


def cost_evidence(capacity: CapacityProjection | None) -> tuple[CategoryEvidence, dict[str, float]]:
    """The capacity projection's Go/Rust monthly cost ratio per workload."""
    if capacity is None:
        return CategoryEvidence("resource_cost", False, "no capacity projection was made"), {}
    ratios: dict[str, float] = {}
    lines = []
    for row in capacity.workloads:
        if row.go_rust_cost_ratio is None:
            lines.append(f"{row.workload}: not measured")
            continue
        ratios[row.workload] = row.go_rust_cost_ratio
        assert row.go.total_cost_per_month is not None
        assert row.rust.total_cost_per_month is not None
        lines.append(
            f"{row.workload}: at {describe_load(row.target_load, row.unit)} projected monthly cost Go "
            f"{row.go.total_cost_per_month:.2f} vs Rust {row.rust.total_cost_per_month:.2f} "
            f"(Go/Rust {row.go_rust_cost_ratio:.2f}×; {row.go.cores} vs {row.rust.cores} cores)"
        )
    if not ratios:
        return (
            CategoryEvidence(
                "resource_cost",
                False,
                "no workload had a measured Go and Rust projection",
                tuple(lines),
            ),
            {},
        )
    listed = ", ".join(f"{name} {ratio:.2f}×" for name, ratio in ratios.items())
    summary = (
        f"projected Go/Rust monthly cost at the target loads: {listed} (> 1: Rust cheaper; "
        f"example prices from {capacity.config.source})"
    )
    return CategoryEvidence("resource_cost", True, summary, tuple(lines)), ratios


def build_evidence(analyses: Sequence[WorkloadAnalysis]) -> CategoryEvidence:
    """Clean and incremental build times, if the build records carry them (optional fields)."""
    lines = []
    clean: dict[str, list[float]] = {"go": [], "rust": []}
    incremental: dict[str, list[float]] = {"go": [], "rust": []}
    for analysis in analyses:
        parts = []
        for field_name, store in (
            ("clean_build_seconds", clean),
            ("incremental_build_seconds", incremental),
        ):
            values = {}
            for lang in ("go", "rust"):
                result = analysis.result.result_for(f"{lang}/{DEFAULT_VARIANT}")
                value = getattr(result.build, field_name, None) if result else None
                if isinstance(value, int | float):
                    values[lang] = float(value)
            if len(values) == 2:
                for lang, value in values.items():
                    store[lang].append(value)
                label = field_name.removesuffix("_build_seconds")
                parts.append(
                    f"{label} build Go {units.seconds(values['go'])} vs Rust "
                    f"{units.seconds(values['rust'])}"
                )
        if parts:
            lines.append(f"{analysis.result.name}: " + "; ".join(parts))
    if not lines:
        return CategoryEvidence(
            "time_to_market", False, "no benchmark evidence (the run records no build times)"
        )
    pieces = [
        f"median {label} build Go {units.seconds(stats.median(store['go']))} vs Rust "
        f"{units.seconds(stats.median(store['rust']))}"
        for label, store in (("clean", clean), ("incremental", incremental))
        if store["go"]
    ]
    summary = "; ".join(pieces) + " (build speed is one part of time to market)"
    return CategoryEvidence("time_to_market", True, summary, tuple(lines))


@dataclass(frozen=True)
class Evidence:
    categories: dict[str, CategoryEvidence]  # every category
    cost_ratios: dict[str, float]  # workload -> projected Go/Rust monthly cost (measured pairs)
    server_tails: tuple[TailAtRate, ...] = ()
    largest_go_pause: GcPause | None = None
    # What a measured go+rust hybrid showed (harness/analysis/hybrid.py): the boundary's cost per call,
    # the break-even grain, the hybrid beside pure Rust; () when the run measured no hybrid.
    hybrid: tuple[str, ...] = ()
    # What a front beside a Rust service, and a proxy, showed (harness/analysis/boundary.py):
    # which boundary cost least per request, its cost against cgo, the break-even grain.
    boundary: tuple[str, ...] = ()

    @property
    def hot_paths(self) -> tuple[str, ...]:
        """Workloads where Go's projected cost is at least 1.2x Rust's: measured hot paths."""
        return tuple(w for w, r in self.cost_ratios.items() if r >= HOT_PATH_COST_RATIO)


def collect_evidence(
    analyses: Sequence[WorkloadAnalysis],
    capacity: CapacityProjection | None = None,
    hybrid: HybridAnalysis | None = None,
    boundary: BoundaryAnalysis | None = None,
) -> Evidence:
    """Evidence for every category from the analysed run (and the capacity projection, and the
    hybrid's measured costs)."""
    resource, ratios = cost_evidence(capacity)
    categories = {
        "time_to_market": build_evidence(analyses),
        "latency_determinism": latency_evidence(analyses),
        "memory_safety": CategoryEvidence("memory_safety", False, NO_EVIDENCE),
        "rust_experience": CategoryEvidence("rust_experience", False, NO_EVIDENCE),
        "resource_cost": resource,
    }
    return Evidence(
        categories=categories,
        cost_ratios=ratios,
        server_tails=server_tails(analyses),
        largest_go_pause=largest_go_pause(analyses),
        hybrid=headline_sentences(hybrid) if hybrid is not None else (),
        boundary=boundary_sentences(boundary) if boundary is not None else (),
    )


def with_extra_lines(evidence: Evidence, lines: Mapping[str, str]) -> Evidence:
    """The evidence with one more line in each named category (e.g. the CPU profile's measured GC,
    runtime and allocator shares); the scores are unchanged."""
    categories = {
        name: replace(e, lines=(*e.lines, lines[name])) if name in lines else e
        for name, e in evidence.categories.items()
    }
    return replace(evidence, categories=categories)


# --- the decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryScore:
    category: str
    title: str
    label: str
    score: int
    weight: int
    high_favours: str  # "Go" | "Rust": the language a high score favours
    contribution: int  # + toward Rust, − toward Go
    pull: str  # "Rust" | "Go" | "neutral"
    evidence: CategoryEvidence


@dataclass(frozen=True)
class Decision:
    scored: bool  # False: no team scores were given; only `message` and `evidence` are meaningful
    source: str | None
    categories: tuple[CategoryScore, ...]  # in CATEGORIES order
    ranking: tuple[str, ...]  # categories by |contribution|, largest first (ties: CATEGORIES order)
    dominant: tuple[str, ...]  # those sharing the largest non-zero |contribution|
    rust_pull: int
    go_pull: int
    net: int  # rust_pull − go_pull
    lean: Lean | None
    reasons: tuple[str, ...]  # plain sentences
    evidence: Evidence
    message: str | None = None


_LANG = {"go": "Go", "rust": "Rust"}


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def score_category(
    category: Category, score: int, weight: int, evidence: CategoryEvidence
) -> CategoryScore:
    sign = 1 if category.high_favours == "rust" else -1
    contribution = weight * (score - NEUTRAL_SCORE) * sign
    pull = "Rust" if contribution > 0 else "Go" if contribution < 0 else "neutral"
    return CategoryScore(
        category=category.name,
        title=category.title,
        label=category.label,
        score=score,
        weight=weight,
        high_favours=_LANG[category.high_favours],
        contribution=contribution,
        pull=pull,
        evidence=evidence,
    )


def choose_lean(
    rust_pull: int, go_pull: int, resource_cost: int, hot_paths: Sequence[str]
) -> tuple[Lean, str]:
    """The documented rule, in order; returns the lean and the sentence that explains it."""
    net = rust_pull - go_pull
    weaker, stronger = sorted((rust_pull, go_pull))
    if weaker >= STRONG_PULL and stronger <= CONFLICT_RATIO * weaker:
        return "hybrid", (
            f"Strong pulls both ways (Rust {rust_pull}, Go {go_pull}): the signals conflict, so "
            "split by subsystem — Go for orchestration, API gateways and control services, Rust "
            "for the measured hot paths, joined at service boundaries (HTTP/gRPC) or queues."
        )
    if net >= CLEAR_MARGIN:
        return "Rust", f"The Rust pull ({rust_pull}) exceeds the Go pull ({go_pull}) by {net}."
    if net <= -CLEAR_MARGIN:
        return "Go", f"The Go pull ({go_pull}) exceeds the Rust pull ({rust_pull}) by {-net}."
    if resource_cost > 0 and hot_paths:
        return "hybrid", (
            f"The scores are near-neutral (net {net:+d}), but resource-cost pressure pulls toward "
            f"Rust and the capacity projection puts Go's cost at {HOT_PATH_COST_RATIO:g}× Rust's "
            f"or more on {_and(hot_paths)}: Go for orchestration and control services, Rust for "
            "those hot paths."
        )
    return "Go", (
        f"The scores are near-neutral (net {net:+d}) with no measured hot path to extract: start "
        "with Go for delivery speed, and move a hot path to Rust once profiling proves the need."
    )


def hybrid_reason(evidence: Evidence) -> str:
    """What this run measured of the hybrid the lean recommends, or that it measured none."""
    if not evidence.hybrid and not evidence.boundary:
        return (
            "This run measured no go+rust hybrid, so the cost of the boundary is not known here: "
            "the json, sha256 and sha256-calls workloads measure a Go program calling Rust "
            "through cgo, json-service a Go front calling a Rust service over gRPC or HTTP."
        )
    parts = []
    if evidence.hybrid:
        parts.append(
            "Measured hybrid (Go calling Rust in-process through cgo): " + " ".join(evidence.hybrid)
        )
    if evidence.boundary:
        parts.append("Across a service boundary: " + " ".join(evidence.boundary))
    return " ".join(parts)


def _not_scored(evidence: Evidence) -> Decision:
    example = EXAMPLE_TEAM_PATH.relative_to(ROOT)
    team = DEFAULT_TEAM_PATH.relative_to(ROOT)
    message = (
        "No team scores were given, so the matrix has no lean: the harness measures, the team "
        f"judges. Copy {example} to {team} and score each category 1–5 (3 = neutral), or pass "
        "--team FILE. The evidence below is what the benchmarks can contribute."
    )
    return Decision(
        scored=False,
        source=None,
        categories=(),
        ranking=(),
        dominant=(),
        rust_pull=0,
        go_pull=0,
        net=0,
        lean=None,
        reasons=(message,),
        evidence=evidence,
        message=message,
    )


def decide(team: TeamConfig | None, evidence: Evidence) -> Decision:
    """Weigh the team's scores into a lean; without scores, say so and explain how to give them."""
    if team is None:
        return _not_scored(evidence)
    rows = tuple(
        score_category(c, team.scores[c.name], team.weights[c.name], evidence.categories[c.name])
        for c in CATEGORIES
    )
    order = {c.name: i for i, c in enumerate(CATEGORIES)}
    ranked = sorted(rows, key=lambda r: (-abs(r.contribution), order[r.category]))
    top = abs(ranked[0].contribution)
    dominant = tuple(r.category for r in ranked if top > 0 and abs(r.contribution) == top)
    rust_pull = sum(r.contribution for r in rows if r.contribution > 0)
    go_pull = -sum(r.contribution for r in rows if r.contribution < 0)
    resource = next(r for r in rows if r.category == "resource_cost")
    lean, rule = choose_lean(rust_pull, go_pull, resource.contribution, evidence.hot_paths)

    reasons = [f"Lean: {lean}. {rule}"]
    if dominant:
        rows_on_top = [r for r in ranked if r.category in dominant]
        sides = {r.pull for r in rows_on_top}
        side = f"toward {sides.pop()}" if len(sides) == 1 else "in opposite directions"
        size = f"{abs(rows_on_top[0].contribution)}" + (" each" if len(rows_on_top) > 1 else "")
        reasons.append(
            f"Dominant: {_and([r.label for r in rows_on_top])} ({size}, pulling {side})."
        )
    for row in ranked:
        if row.contribution == 0:
            continue
        weight = f" at weight {row.weight}" if row.weight != 1 else ""
        reasons.append(
            f"{row.title} scored {row.score} of 5{weight}, pulling toward {row.pull} by "
            f"{abs(row.contribution)}. Evidence: {row.evidence.summary}."
        )
    neutral = [r.label for r in rows if r.contribution == 0]
    if neutral:
        reasons.append(f"Scored 3 (neutral): {_and(neutral)}.")
    if lean == "hybrid":
        reasons.append(hybrid_reason(evidence))
    if lean == "Go" and evidence.hot_paths:
        reasons.append(
            f"The capacity projection puts Go's cost at {HOT_PATH_COST_RATIO:g}× Rust's or more "
            f"on {_and(evidence.hot_paths)}: candidates to extract into Rust once profiling of "
            "the real system confirms they are hot."
        )
    return Decision(
        scored=True,
        source=team.source,
        categories=rows,
        ranking=tuple(r.category for r in ranked),
        dominant=dominant,
        rust_pull=rust_pull,
        go_pull=go_pull,
        net=rust_pull - go_pull,
        lean=lean,
        reasons=tuple(reasons),
        evidence=evidence,
    )
