"""The report's first page: what was compared, every Go/Rust ratio on one chart, and a handful of
sentences picked from the data, for a reader who gives the report one minute.

Why a separate module: the selection is a set of small pure functions over `RatioMark`s, so each
rule (largest difference, what would surprise a reader, how the tally reads) is tested on
hand-made marks without a run, a template or a chart. The HTML report and the Markdown brief
(`harness export --brief`) both render the one `Brief` built here, so they never disagree.

Every ratio is one the rest of the report already states: batch pairs are `analysis.compare`
(paired by round, CI and Wilcoxon), servers are `replicates.replicate_ratio` at
`replicates.headline_rate` and on the closed-loop saturation (paired by replicate). A workload
that failed or whose outputs diverged gets a line saying so, never a ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from harness.analysis import noise, replicates, stats
from harness.analysis.bundle import RunAnalysis
from harness.analysis.decision import Decision
from harness.analysis.noise import RunNoise
from harness.analysis.summaries import (
    HIGHER_IS_BETTER,
    SATURATION_METRIC,
    WorkloadAnalysis,
    compare,
)
from harness.model import ImplementationResult, Run
from harness.report import charts, formatting
from harness.report import topology as topology_report
from harness.report.charts import Chart, RatioPoint

GO, RUST = "go/default", "rust/default"
HEADLINE_BATCH_METRICS = ("wall_seconds", "cpu_seconds", "peak_rss_bytes")
P99 = "latency_p99_seconds"
SATURATION = SATURATION_METRIC
METRIC_LABELS = {
    "wall_seconds": "wall time",
    "cpu_seconds": "CPU time",
    "peak_rss_bytes": "peak memory",
    P99: "p99 latency",
    SATURATION: "saturation",
}
# What the better side has, per metric: "Rust 2.81× faster", "Go 1.30× less memory".
BETTER_WORDS = {
    "wall_seconds": "faster",
    "cpu_seconds": "less CPU",
    "peak_rss_bytes": "less memory",
    P99: "lower p99",
    SATURATION: "higher saturation",
}
MAX_SENTENCES = 5
LANG_NAMES = {"go": "Go", "rust": "Rust"}


@dataclass(frozen=True)
class RatioMark:
    """One Go/Rust ratio on the overview: a default pair's, or a labelled variant's against the
    other language's default (a lighter mark)."""

    workload: str
    metric: str  # a key of METRIC_LABELS
    ratio: float  # Go / Rust
    ci_low: float | None
    ci_high: float | None
    significant: bool
    pair: str = f"{GO} vs {RUST}"
    variant: bool = False
    where: str = ""  # "at 4,500 req/s" for a server's p99
    rounds: int = 0  # paired rounds (batch) or replicates (servers) behind the ratio
    testable: bool = True  # the test could reach p < 0.05 with that many (stats.testable)
    samples: str = "rounds"  # what `rounds` counts: "rounds" | "replicates"

    @property
    def better(self) -> str | None:
        """ "go" | "rust" when significant, else None."""
        if not self.significant:
            return None
        go_higher = self.ratio > 1
        return "go" if go_higher == (self.metric in HIGHER_IS_BETTER) else "rust"

    @property
    def tested(self) -> bool:
        """False when the test could not have called a difference with the rounds it had (5
        rounds for the signed-rank test; one round or replicate, which has no CI either)."""
        return self.testable and self.ci_low is not None and self.ci_high is not None

    @property
    def untested_words(self) -> str:
        """ "too few rounds to test (n = 5)": the one wording (formatting.uncalled)."""
        return formatting.uncalled(False, self.rounds, self.samples)

    @property
    def factor(self) -> float:
        """How many times better the better side is (≥ 1), whoever it is."""
        return self.ratio if self.ratio >= 1 else 1 / self.ratio

    @property
    def label(self) -> str:
        return f"{self.workload} {METRIC_LABELS[self.metric]}" + (
            f" {self.where}" if self.where else ""
        )


# --- marks from the analysed run ------------------------------------------------------------


def _ok(impl: ImplementationResult | None) -> bool:
    return impl is not None and impl.status == "ok"


def batch_marks(a: WorkloadAnalysis) -> list[RatioMark]:
    """The default pair's wall, CPU and peak-memory ratios, then every ok labelled variant against
    the other language's default on the same metrics (same rounds, so the pairing holds)."""
    w = a.result
    if w.status != "ok" or w.kind == "server":
        return []
    marks = [
        RatioMark(
            w.name,
            c.metric,
            c.ratio,
            c.ci_low,
            c.ci_high,
            c.significant,
            rounds=c.rounds,
            testable=c.testable,
        )
        for c in a.comparisons
        if c.metric in HEADLINE_BATCH_METRICS
    ]
    go, rust = w.result_for(GO), w.result_for(RUST)
    if not _ok(go) or not _ok(rust):
        return marks
    assert go is not None and rust is not None
    for impl in w.implementations:
        if impl.variant == "default" or impl.status != "ok" or impl.lang not in LANG_NAMES:
            continue
        numerator, denominator = (impl, rust) if impl.lang == "go" else (go, impl)
        summary = a.summary_for(impl.key)
        for metric in HEADLINE_BATCH_METRICS:
            if summary is None or metric not in summary.metrics:
                continue
            c = compare(metric, summary.metrics[metric].unit, numerator, denominator, w.throughput)
            if c is not None:
                marks.append(
                    RatioMark(
                        w.name,
                        metric,
                        c.ratio,
                        c.ci_low,
                        c.ci_high,
                        c.significant,
                        pair=f"{numerator.key} vs {denominator.key}",
                        variant=True,
                        rounds=c.rounds,
                        testable=c.testable,
                    )
                )
    return marks


def server_marks(a: WorkloadAnalysis) -> list[RatioMark]:
    """p99 at the headline rate (the highest rate every replicate on both sides held, capped
    below saturation) and the closed-loop saturation, each paired by replicate."""
    w, server = a.result, a.server
    if w.status != "ok" or server is None:
        return []
    marks = []
    rate = server.headline_rate
    paired = server.p99_ratios.get(rate) if rate is not None else None
    if rate is not None and paired is not None:
        marks.append(
            RatioMark(
                w.name,
                P99,
                paired.ratio,
                paired.ci_low,
                paired.ci_high,
                paired.significant,
                where=f"at {rate:,.0f} req/s",
                rounds=paired.rounds,
                testable=paired.testable,
                samples="replicates",
            )
        )
    paired = server.saturation_ratio
    if paired is not None:
        marks.append(
            RatioMark(
                w.name,
                SATURATION,
                paired.ratio,
                paired.ci_low,
                paired.ci_high,
                paired.significant,
                rounds=paired.rounds,
                testable=paired.testable,
                samples="replicates",
            )
        )
    return marks


def overview_marks(analyses: Sequence[WorkloadAnalysis]) -> tuple[RatioMark, ...]:
    """Every mark of the run, in the run's workload order."""
    return tuple(m for a in analyses for m in (*batch_marks(a), *server_marks(a)))


def defaults(marks: Sequence[RatioMark]) -> list[RatioMark]:
    return [m for m in marks if not m.variant]


# --- failures and the nothing-to-compare cases ----------------------------------------------------


def failure_lines(analyses: Sequence[WorkloadAnalysis]) -> tuple[str, ...]:
    """A failed or diverging workload, and a failed or diverging labelled variant, as a line with
    its reason and no figure: "gzip: checksum mismatch — rust/default printed ff, ..."."""
    lines = []
    for a in analyses:
        w = a.result
        if w.status != "ok":
            lines.append(f"{w.name}: {_status_and_reason(w.status, w.error)}")
            continue
        for impl in w.implementations:
            if impl.status != "ok":
                lines.append(f"{w.name} {impl.key}: {_status_and_reason(impl.status, impl.error)}")
    return tuple(lines)


def _status_and_reason(status: str, error: str | None) -> str:
    """ "checksum mismatch: rust/default printed ff, ..." once, though the error repeats it."""
    words = status.replace("_", " ")
    reason = error or "no reason recorded"
    return reason if reason.startswith(words) else f"{words} — {reason}"


GAP_REASONS = {
    P99: "no rate every replicate on both sides held",
    SATURATION: "no replicate in which both sides' closed-loop probe was kept",
}
BATCH_GAP_REASON = "no round in which both defaults succeeded"


def gap_lines(analyses: Sequence[WorkloadAnalysis], marks: Sequence[RatioMark]) -> tuple[str, ...]:
    """An ok workload missing a mark the chart would have, with the reason: only one language's
    default, no round both defaults finished, a server with no rate every replicate on both
    sides held (no p99 ratio) or no kept probe on both sides (no saturation ratio). Said, so a
    shorter chart is not read as a complete one."""
    lines = []
    for a in analyses:
        w = a.result
        if w.status != "ok":
            continue
        go, rust = w.result_for(GO), w.result_for(RUST)
        if go is None or rust is None:
            only = "Go" if rust is None else "Rust"
            lines.append(f"{w.name}: only {only} has a default here, nothing to compare.")
            continue
        present = {m.metric for m in defaults(marks) if m.workload == w.name}
        if w.kind != "server":
            missing = [METRIC_LABELS[m] for m in HEADLINE_BATCH_METRICS if m not in present]
            if missing:
                lines.append(
                    f"{w.name}: no Go/Rust {' or '.join(missing)} ratio ({BATCH_GAP_REASON})."
                )
            continue
        probed = bool(replicates.saturation_probes(go) and replicates.saturation_probes(rust))
        for metric in (P99, SATURATION):
            if metric not in present:
                reason = GAP_REASONS[metric]
                if metric == SATURATION and not probed:
                    reason = "no closed-loop probe was measured on both sides"
                lines.append(f"{w.name}: no Go/Rust {METRIC_LABELS[metric]} ratio ({reason}).")
    return tuple(lines)


def few_rounds_sentence(run: Run) -> str | None:
    """When the batch pairs' test (the exact two-sided signed-rank test, whose smallest p is
    2 / 2^n) cannot reach p < 0.05 with the rounds run (5 or fewer), no batch ratio can be called:
    say so before a reader wonders. Asked of the test itself (stats.smallest_possible_p)."""
    found = [w.rounds.rounds for w in run.workloads if w.rounds is not None and w.kind != "server"]
    rounds = max(found) if found else run.config.repetitions
    if not any(w.kind != "server" for w in run.workloads) or stats.testable(
        stats.wilcoxon_p, rounds
    ):
        return None
    smallest = stats.smallest_possible_p(stats.wilcoxon_p, rounds)
    return (
        f"With {rounds} rounds the smallest possible signed-rank p is {smallest:.2g}, so no "
        "batch difference can be called: read these ratios as indications (a full run can call them)."
    )


def measured_languages(run: Run) -> tuple[str, ...]:
    """Languages with at least one ok implementation, in a fixed order."""
    found = {impl.lang for w in run.workloads for impl in w.implementations if impl.status == "ok"}
    return tuple(sorted(found))


def nothing_to_compare(run: Run, marks: Sequence[RatioMark]) -> str | None:
    """Why the overview has no mark, or None when it has one."""
    if defaults(marks):
        return None
    langs = measured_languages(run)
    if len(langs) == 1:
        only = LANG_NAMES.get(langs[0], langs[0])
        return f"Nothing to compare: only {only} was measured."
    if not langs:
        return "Nothing to compare: no implementation produced a result."
    return "Nothing to compare: no workload has a usable Go and Rust default pair."


# --- the sentences --------------------------------------------------------------------------------


def ratio_text(m: RatioMark) -> str:
    return f"Go/Rust {formatting.ratio_with_ci(m.ratio, m.ci_low, m.ci_high)}"


def reading(m: RatioMark) -> str:
    """ "Rust 2.81× faster", "no significant difference" or, where the test could not have called
    one, "too few rounds to test (n = 5)" (formatting.uncalled, as every other reader words it)."""
    if m.better is None:
        return formatting.uncalled(m.tested, m.rounds, m.samples)
    return f"{LANG_NAMES[m.better]} {_factor(m.factor)}× {BETTER_WORDS[m.metric]}"


def _factor(factor: float) -> str:
    """Two decimals, three below 1.1, so a significant 0.1 % is not shown as "1.00× less"."""
    return f"{factor:.2f}" if factor >= 1.1 else f"{factor:.3f}"


def tally_sentence(marks: Sequence[RatioMark]) -> str | None:
    """How the default pairs' comparisons split, so the picked sentences are read in proportion."""
    found = defaults(marks)
    if not found:
        return None
    rust = sum(1 for m in found if m.better == "rust")
    go = sum(1 for m in found if m.better == "go")
    untested_marks = [m for m in found if not m.tested and m.better is None]
    untested = len(untested_marks)
    none = len(found) - rust - go - untested
    kinds = {m.untested_words for m in untested_marks}
    why = kinds.pop() if len(kinds) == 1 else "too few rounds or replicates to test"
    single = f"{untested} {'has' if untested == 1 else 'have'} {why}" if untested else ""
    if untested == len(found):
        subject = (
            "The Go/Rust comparison has"
            if untested == 1
            else f"All {untested} Go/Rust comparisons have"
        )
        return f"{subject} {why}: the ratios and intervals are shown as indications, not verdicts."
    if rust + go == 0:
        return (
            f"None of the {len(found)} Go/Rust comparisons shows a significant difference "
            "(the interval excludes 1 and p < 0.05)" + (f"; {single}." if single else ".")
        )
    plural = "s" if len(found) > 1 else ""
    parts = [f"Rust is ahead on {rust}", f"Go on {go}"]
    parts.append(f"{none} show{'s' if none == 1 else ''} no significant difference")
    if single:
        parts.append(single)
    return (
        f"Of {len(found)} Go/Rust comparison{plural}, "
        + ", ".join(parts[:-1])
        + (f", and {parts[-1]}.")
    )


def largest(marks: Sequence[RatioMark], count: int = 2) -> list[RatioMark]:
    """The significant default marks with the largest factor, at most one per workload (the
    second-largest difference of one workload says less than another workload's largest)."""
    picked: list[RatioMark] = []
    for m in sorted(
        (m for m in defaults(marks) if m.significant), key=lambda m: -abs(math.log(m.ratio))
    ):
        if all(p.workload != m.workload for p in picked):
            picked.append(m)
        if len(picked) == count:
            break
    return picked


def largest_sentences(marks: Sequence[RatioMark], count: int = 2) -> list[str]:
    found = largest(marks, count)
    lead = ("Largest difference", "Next largest")
    return [
        f"{lead[min(i, 1)]}: {m.label}, {reading(m)} ({ratio_text(m)})."
        for i, m in enumerate(found)
    ]


def go_ahead(marks: Sequence[RatioMark]) -> RatioMark | None:
    """The largest significant default mark where Go is the better side: the reader's prior is
    that Rust wins compute and memory, so this is the first thing worth pointing at."""
    found = [m for m in defaults(marks) if m.better == "go"]
    return max(found, key=lambda m: m.factor) if found else None


def split_workload(marks: Sequence[RatioMark]) -> tuple[RatioMark, RatioMark] | None:
    """A workload whose significant default marks point to different languages (Rust faster,
    Go less memory): the one-line verdict would hide it. The pair with the largest factors."""
    best: tuple[RatioMark, RatioMark] | None = None
    workloads = dict.fromkeys(m.workload for m in defaults(marks))
    for name in workloads:
        found = [m for m in defaults(marks) if m.workload == name and m.better is not None]
        rust = [m for m in found if m.better == "rust"]
        go = [m for m in found if m.better == "go"]
        if rust and go:
            pair = (max(rust, key=lambda m: m.factor), max(go, key=lambda m: m.factor))
            if best is None or min(p.factor for p in pair) > min(p.factor for p in best):
                best = pair
    return best


def variant_flip(marks: Sequence[RatioMark]) -> tuple[RatioMark, RatioMark] | None:
    """A labelled variant that reverses its default pair's significant verdict (Go's klauspost
    gzip beats Rust's default where Go's default lost): the library, not the language, decided.
    The (default, variant) pair with the largest variant factor."""
    by_row = {(m.workload, m.metric): m for m in defaults(marks) if m.better is not None}
    flips = [
        (by_row[(m.workload, m.metric)], m)
        for m in marks
        if m.variant
        and m.better is not None
        and (m.workload, m.metric) in by_row
        and by_row[(m.workload, m.metric)].better != m.better
    ]
    return max(flips, key=lambda f: f[1].factor) if flips else None


def surprise_sentences(
    marks: Sequence[RatioMark], already: Sequence[RatioMark] = (), count: int = 2
) -> list[str]:
    """The surprises in a fixed order of interest: Go ahead, a workload that splits, a variant
    that flips the verdict; none repeats a mark in `already`."""
    sentences = []
    seen = {(m.workload, m.metric) for m in already}
    ahead = go_ahead(marks)
    if ahead is not None and (ahead.workload, ahead.metric) not in seen:
        sentences.append(f"Go ahead: {ahead.label}, {reading(ahead)} ({ratio_text(ahead)}).")
        seen.add((ahead.workload, ahead.metric))
    split = split_workload(marks)
    if split is not None and not all((m.workload, m.metric) in seen for m in split):
        rust, go = split
        sentences.append(
            f"{rust.workload} splits: Rust {_factor(rust.factor)}× {BETTER_WORDS[rust.metric]}, "
            f"Go {_factor(go.factor)}× {BETTER_WORDS[go.metric]}."
        )
    flip = variant_flip(marks)
    if flip is not None:
        default, variant = flip
        sentences.append(
            f"A library choice reverses {default.label}: the defaults give {reading(default)}, "
            f"{variant.pair} gives {reading(variant)} ({ratio_text(variant)})."
        )
    return sentences[:count]


def largest_uncalled(marks: Sequence[RatioMark]) -> str | None:
    """With nothing significant, the largest point estimate, said to be uncalled: what a longer
    run might settle, never a verdict."""
    found = defaults(marks)
    if not found or any(m.significant for m in found):
        return None
    m = max(found, key=lambda m: abs(math.log(m.ratio)))
    if m.tested:
        return f"The largest point estimate, {m.label} ({ratio_text(m)}), is not significant."
    return f"The largest point estimate, {m.label} ({ratio_text(m)}): {m.untested_words}."


def select_sentences(marks: Sequence[RatioMark]) -> tuple[str, ...]:
    """The tally, the largest differences, then the surprises; at most MAX_SENTENCES."""
    tally = tally_sentence(marks)
    if tally is None:
        return ()
    sentences = [tally, *largest_sentences(marks)]
    sentences += surprise_sentences(marks, largest(marks))
    uncalled = largest_uncalled(marks)
    if uncalled:
        sentences.append(uncalled)
    return tuple(sentences[:MAX_SENTENCES])


# --- the rest of the page ------------------------------------------------------------------------


def rounds_text(run: Run) -> str:
    """ "10–40 rounds (adaptive)": the rounds the batch workloads ran, else the configured number."""
    found = [w.rounds.rounds for w in run.workloads if w.rounds is not None]
    adaptive = " (adaptive)" if run.config.stopping is not None else ""
    if not found:
        return f"{run.config.repetitions} rounds{adaptive}"
    low, high = min(found), max(found)
    return (f"{low} rounds" if low == high else f"{low}–{high} rounds") + adaptive


def compared_rows(run: Run) -> tuple[tuple[str, str], ...]:
    """What was compared, in four short rows."""
    m, c = run.machine, run.config
    rounds = rounds_text(run)
    when = f"{run.started_at[:10]} {run.started_at[11:16]}".strip()  # ISO 8601 as recorded
    return (
        ("Machine", f"{m.cpu_model}, {m.cpu_count} CPUs, {formatting.size(m.memory_bytes)}"),
        ("Toolchains", f"{m.go_version or 'Go not found'}; {m.rustc_version or 'rustc not found'}"),
        ("Size", f"{c.size}, {rounds}, {len(run.workloads)} workloads"),
        ("Date", when + ("" if run.status == "complete" else f" (run {run.status})")),
    )


def noise_text(found: RunNoise, analyses: Sequence[WorkloadAnalysis]) -> str:
    """The run's noise state in one line: the recorded readings (noise.summary_line), how many
    warnings the Noise section lists and how many series have a wall-time CV above 5 %."""
    line = noise.summary_line(found) or "no noise readings recorded"
    warnings = len(found.warnings)
    noisy = sum(
        1
        for a in analyses
        for s in a.implementations
        if "wall_seconds" in s.metrics and s.metrics["wall_seconds"].noisy
    )
    parts = [
        f"{warnings} noise warning{'s' if warnings != 1 else ''}" if warnings else "no warnings",
        f"{noisy} series with wall-time CV above 5 %" if noisy else "no series above 5 % CV",
    ]
    return f"{line}; " + ", ".join(parts) + "."


def decision_text(decision: Decision | None) -> str | None:
    """The matrix's lean and dominant categories, only when the team gave scores."""
    if decision is None or not decision.scored or decision.lean is None:
        return None
    dominant = [c.title for c in decision.categories if c.category in decision.dominant]
    tail = f"; dominant: {', '.join(dominant)}" if dominant else "; no category dominates"
    return (
        f"Decision matrix (team scores from {decision.source}): lean {decision.lean}{tail} "
        f"(Rust pull {decision.rust_pull}, Go pull {decision.go_pull})."
    )


@dataclass(frozen=True)
class Brief:
    """The first page, formatted, for both the HTML report and the Markdown export."""

    compared: tuple[tuple[str, str], ...]
    marks: tuple[RatioMark, ...]
    nothing: str | None  # why there is no chart
    sentences: tuple[str, ...]
    failures: tuple[str, ...]
    gaps: tuple[str, ...]  # ok workloads with a mark missing (gap_lines)
    noise: str
    decision: str | None
    topology: str | None = None  # where load came from, when other hosts sent it (--hosts)


def build_brief(analysis: RunAnalysis) -> Brief:
    """The first page from the run's one analysis pass (the HTML report and the Markdown brief
    both come through here, so they cannot disagree)."""
    run, analyses = analysis.run, analysis.workloads
    marks = overview_marks(analyses)
    return Brief(
        compared=compared_rows(run),
        marks=marks,
        nothing=nothing_to_compare(run, marks),
        sentences=_with_rounds_note(select_sentences(marks), few_rounds_sentence(run)),
        failures=failure_lines(analyses),
        gaps=gap_lines(analyses, marks) if defaults(marks) else (),
        noise=noise_text(analysis.noise, analyses),
        decision=decision_text(analysis.decision),
        topology=topology_report.brief_sentence(analysis.topology),
    )


def _with_rounds_note(sentences: tuple[str, ...], note: str | None) -> tuple[str, ...]:
    """The rounds note right after the tally, within MAX_SENTENCES."""
    if note is None or not sentences:
        return sentences
    return (sentences[0], note, *sentences[1:])[:MAX_SENTENCES]


def chart_points(marks: Sequence[RatioMark]) -> list[RatioPoint]:
    """The marks as charts.overview draws them: one row per workload and metric."""
    return [
        RatioPoint(
            group=m.workload,
            row=METRIC_LABELS[m.metric] + (" ↑" if m.metric in HIGHER_IS_BETTER else ""),
            ratio=m.ratio,
            low=m.ci_low,
            high=m.ci_high,
            significant=m.significant,
            better=m.better,
            light=m.variant,
            untested=not m.tested,
        )
        for m in marks
    ]


CHART_TITLE = "Go / Rust ratio of every default pair (log scale)"
CHART_ALT = (
    "Dot-and-interval chart, one row per workload and metric: the Go/Rust ratio (median over "
    "paired rounds or replicates) with its 95 % interval on a log axis, 1× marked. Filled marks "
    "are significant, coloured by the better language; hollow grey marks are not significant ("
    "labelled untested where the rounds were too few for the test to call any difference); "
    "lighter small marks are labelled variants against the other language's default. ↑ marks a "
    "metric where higher is better (saturation). The table below lists every value."
)


def overview_svg(brief: Brief) -> str | None:
    """The overview chart as SVG, None when there is nothing to compare."""
    if brief.nothing is not None:
        return None
    return charts.overview(chart_points(brief.marks))


def overview_png(brief: Brief) -> bytes | None:
    if brief.nothing is not None:
        return None
    return charts.overview_png(chart_points(brief.marks))


def table_rows(brief: Brief) -> list[dict[str, str]]:
    """Every mark as text: the chart's values for readers who cannot see it, and for Markdown."""
    return [
        {
            "workload": m.workload,
            "metric": METRIC_LABELS[m.metric] + (f" ({m.where})" if m.where else ""),
            "pair": m.pair,
            "ratio": formatting.ratio_with_ci(m.ratio, m.ci_low, m.ci_high),
            "reading": reading(m),
            "variant": "variant" if m.variant else "default",
        }
        for m in brief.marks
    ]


def markdown(brief: Brief, title: str, image: str | None) -> str:
    """The brief as Markdown for a PR comment or a design document; `image` is the chart file's
    name next to it (None: no chart)."""
    md = formatting.md_escape
    lines = [f"## {md(title)}", ""]
    lines += [f"- **{name}:** {md(value)}" for name, value in brief.compared]
    lines.append("")
    if brief.topology:
        lines += [md(brief.topology), ""]
    if brief.nothing is not None:
        lines += [f"**{md(brief.nothing)}**", ""]
    elif image is not None:
        lines += [f"![{CHART_TITLE}]({image})", ""]
    lines += [f"{i}. {md(s)}" for i, s in enumerate(brief.sentences, start=1)]
    if brief.sentences:
        lines.append("")
    if brief.failures:
        lines += ["**Failed (no figures):**", ""]
        lines += [f"- FAILED {md(f)}" for f in brief.failures]
        lines.append("")
    lines += [f"- {md(gap)}" for gap in brief.gaps]
    if brief.gaps:
        lines.append("")
    lines += [f"**Noise:** {md(brief.noise)}", ""]
    if brief.decision:
        lines += [f"**{md(brief.decision)}**", ""]
    rows = [r for r in table_rows(brief) if r["variant"] == "default"]
    if rows:
        lines += [
            "| workload | metric | Go/Rust (95% CI) | reading |",
            "|---|---|---|---|",
            *(
                f"| {md(r['workload'])} | {md(r['metric'])} | {r['ratio']} | {md(r['reading'])} |"
                for r in rows
            ),
            "",
        ]
    return "\n".join(lines)


def html_context(brief: Brief) -> dict:
    """The brief as the template shows it: strings, and the chart as SVG markup charts.py drew
    from numbers (the only unescaped markup)."""
    svg = overview_svg(brief)
    found = defaults(brief.marks)
    return {
        "compared": list(brief.compared),
        "topology": brief.topology,
        "chart": None if svg is None else Chart(title=CHART_TITLE, alt=CHART_ALT, svg=Markup(svg)),
        "nothing": brief.nothing,
        "sentences": list(brief.sentences),
        "failures": list(brief.failures),
        "gaps": list(brief.gaps),
        "noise": brief.noise,
        "decision": brief.decision,
        "rows": table_rows(brief),
        "row_count": str(len(brief.marks)),
        "marks": str(len(found)),
    }
