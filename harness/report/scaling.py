"""The report's Scaling section, computed: which sweep points form each curve, their medians with
95 % CIs, the growth exponents and every sentence. No charts and no markup here: sections.py draws
the curves this module describes (ChartSpec) and the template lays the tables out.

One block per (workload, axis) of the run's sweep points, points in axis order:
- "size": a workload parameter of a batch workload. The x axis is the size the binary reported
  doing (bytes or items, as its throughput counts), not the parameter: binarytrees' depth says
  little on a log axis, the trees it allocated do, and json's tweets and polygons grow together.
- "setting": a Go runtime setting (GOGC, GOMEMLIMIT, GOMAXPROCS) of a batch workload. Only Go
  changes; Rust runs unchanged at every point, so the spread of its medians is the run's noise.
- "server": any axis of a server workload: p99 and peak RSS at each fixed offered rate and, for a
  runtime setting, which Go point meets the team's p99 budget.

A point or implementation that failed is listed as failed, never as a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from harness.analysis import replicates, stats
from harness.analysis.decision import TeamConfig
from harness.analysis.replicates import Estimate, RateSummary
from harness.analysis.scaling import PointEstimate, exponent_text, growth_exponent, point_estimate
from harness.analysis.summaries import metric_values, repetition_metrics
from harness.config import RUNTIME_SETTINGS
from harness.measure import sweep
from harness.model import DEFAULT_VARIANT, Repetition, Run, WorkloadResult
from harness.report import formatting

GO, RUST = "go/default", "rust/default"
LANG_NAMES = {GO: "Go", RUST: "Rust"}
DEFAULT_P99_BUDGET_MS = 10.0
MIB = float(1 << 20)

Kind = Literal["size", "setting", "server"]
Point = tuple[float, float, float | None, float | None]  # x, median, CI low, CI high


@dataclass(frozen=True)
class Budget:
    """The p99 budget a server sweep's Go points are held to, and where it came from."""

    seconds: float
    source: str


def budget_of(team: TeamConfig | None) -> Budget:
    if team is not None and team.p99_budget_ms is not None:
        return Budget(team.p99_budget_ms / 1e3, f"from p99_budget_ms in {team.source}")
    where = "no team file, --team" if team is None else f"{team.source} sets no p99_budget_ms"
    return Budget(DEFAULT_P99_BUDGET_MS / 1e3, f"the default ({where})")


@dataclass(frozen=True)
class Block:
    """The measured points of one sweep: one workload along one axis, in axis order."""

    workload: str
    axis: str
    kind: Kind
    points: tuple[WorkloadResult, ...]


def blocks(run: Run) -> tuple[Block, ...]:
    """Every (workload, axis) swept in the run, in the order the run first lists it."""
    by_name = {w.name: w for w in run.workloads}
    found = sweep.points_by_workload({w.name: w.sweep for w in run.workloads if w.sweep})
    result = []
    for (workload, axis), names in found.items():
        points = tuple(by_name[n] for n in names)
        if points[0].kind == "server":
            kind: Kind = "server"
        else:
            kind = "setting" if axis in RUNTIME_SETTINGS else "size"
        result.append(Block(workload, axis, kind, points))
    return tuple(result)


# --- what each implementation measured at a point -------------------------------------------------

GROWTH_METRICS = ("work_seconds", "peak_rss_bytes", "gc_count", "gc_pause_total_seconds")


def failure(point: WorkloadResult, key: str) -> str | None:
    """Why `key` has no numbers at this point (the workload's checksums diverged, it failed, it
    is absent); None when it has some."""
    impl = point.result_for(key)
    if impl is None:
        return "not measured"
    if point.status == "checksum_mismatch" or impl.status != "ok":
        return "failed"
    if point.kind == "batch" and not any(r.ok for r in impl.repetitions):
        return "failed"
    return None


def reported_size(rep: Repetition, throughput: str) -> float | None:
    """The work the binary reported doing: bytes or items, as the workload's throughput counts."""
    value = rep.bytes if throughput == "bytes" else rep.items
    return float(value) if value else None


def estimates(point: WorkloadResult, key: str) -> dict[str, PointEstimate]:
    """metric -> median and CI over `key`'s successful repetitions at this point, "size" for the
    reported size; {} when it has no numbers."""
    impl = point.result_for(key)
    if impl is None or failure(point, key) is not None or point.sweep is None:
        return {}
    where = (point.sweep.value, point.sweep.numeric)
    found = {
        name: point_estimate(*where, values)
        for name, (_, values) in metric_values(impl, point.throughput).items()
        if name in GROWTH_METRICS
    }
    sizes = [
        size
        for rep in impl.repetitions
        if rep.ok and (size := reported_size(rep, point.throughput)) is not None
    ]
    if sizes:
        found["size"] = point_estimate(*where, sizes)
    return found


def exponent_pairs(
    points: Sequence[WorkloadResult], key: str, metric: str
) -> list[tuple[float, float]]:
    """(reported size, metric) of every successful repetition of `key` at every point with
    numbers: what the growth exponent is fitted to."""
    pairs = []
    for point in points:
        impl = point.result_for(key)
        if impl is None or failure(point, key) is not None:
            continue
        for rep in impl.repetitions:
            size = reported_size(rep, point.throughput) if rep.ok else None
            if size is None:
                continue
            values = {m.name: m.value for m in repetition_metrics(rep, point.throughput)}
            if metric in values:
                pairs.append((size, values[metric]))
    return pairs


# --- what the section shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """A chart to draw: per series the (x, median, CI low, CI high) points in display units."""

    title: str
    alt: str
    x_label: str
    y_label: str
    series: dict[str, tuple[Point, ...]]
    light: tuple[str, ...] = ()  # labelled variants: lighter lines
    log_x: bool = False
    log_y: bool = False
    x_ticks: tuple[tuple[float, str], ...] = ()  # the axis values where they label the x axis
    reference: tuple[float, str] | None = None  # a horizontal line (the p99 budget) and its label


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    failed: bool  # the point failed: its cells say "failed" where there are no numbers
    note: str = ""  # why it failed, what is not usable


@dataclass(frozen=True)
class BlockView:
    anchor: str
    title: str
    settings: tuple[str, ...]  # linked and fixed settings, who a runtime setting applies to
    order: str  # the shuffled order the points were measured in
    sentences: tuple[str, ...]
    caption: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    charts: tuple[ChartSpec, ...]


# Work time and peak memory, Go beside Rust, in every batch block's table.
_METRIC_HEADERS = (
    "Go work time",
    "Rust work time",
    "Go/Rust",
    "Go peak RSS",
    "Rust peak RSS",
    "Go/Rust",
)


def _framing(block: Block) -> dict[str, object]:
    """The fields every kind of block shares: its anchor, title, settings and measuring order."""
    return {
        "anchor": f"scaling-{block.workload}-{block.axis}",
        "title": f"{block.workload} over {block.axis} ({KIND_TITLES[block.kind]})",
        "settings": settings_lines(block),
        "order": order_note(block),
    }


@dataclass(frozen=True)
class ScalingView:
    notes: tuple[str, ...]  # how to read the section (empty when there are no blocks)
    blocks: tuple[BlockView, ...]


KIND_TITLES = {
    "size": "workload parameter",
    "setting": "Go runtime setting",
    "server": "server",
}


def _with_ci(found: PointEstimate | Estimate | None, fmt: Callable[[float | None], str]) -> str:
    if found is None:
        return "–"
    return formatting.with_ci(found.median, found.ci_low, found.ci_high, fmt)


def _sentence_case(text: str) -> str:
    """ "GC cycles", "peak RSS" at the start of a sentence (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "–"
    return f"{numerator / denominator:.2f}×"


def _point_name(point: WorkloadResult) -> str:
    assert point.sweep is not None
    return f"{point.sweep.axis}={point.sweep.value}"


def settings_lines(block: Block) -> tuple[str, ...]:
    """Who the axis applies to, the settings moving with it and those fixed for every point."""
    first = block.points[0].sweep
    assert first is not None
    lines = []
    if block.axis in RUNTIME_SETTINGS:
        lines.append(
            f"{block.axis} applies to Go only; Rust runs unchanged at every point, as the "
            "reference (the spread of its medians across the points is the run's noise)."
        )
    for name, _ in first.linked:
        values = [dict(p.sweep.linked).get(name, "–") for p in block.points if p.sweep]
        lines.append(f"{name} moves with {block.axis}: {', '.join(values)}.")
    if first.fixed:
        fixed = ", ".join(
            f"{k}={v}" + (" (Go only)" if k in RUNTIME_SETTINGS else "") for k, v in first.fixed
        )
        lines.append(f"Fixed at every point: {fixed}.")
    return tuple(lines)


def order_note(block: Block) -> str:
    """Points are shown in axis order but were measured shuffled: say in which order."""
    measured = sorted(block.points, key=lambda p: p.sweep.run_order if p.sweep else 0)
    shown = ", ".join(p.sweep.value for p in measured if p.sweep)
    return (
        f"Shown in axis order; measured in a shuffled order ({block.axis} = {shown}) so that drift "
        "over the sweep's minutes does not fold into the curve as a trend along the axis."
    )


def _keys(block: Block) -> list[str]:
    """Go and Rust defaults first, then every labelled variant measured at some point."""
    keys = [GO, RUST]
    for point in block.points:
        for impl in point.implementations:
            if impl.key not in keys:
                keys.append(impl.key)
    return keys


def _linked_cells(point: WorkloadResult) -> tuple[str, ...]:
    assert point.sweep is not None
    return (point.sweep.value, *(v for _, v in point.sweep.linked))


def _axis_headers(block: Block) -> tuple[str, ...]:
    first = block.points[0].sweep
    assert first is not None
    return (block.axis, *(name for name, _ in first.linked))


def _point_note(point: WorkloadResult) -> str:
    if point.status == "ok":
        return ""
    return f"{point.status.replace('_', ' ')}: {point.error or 'no error recorded'}"


def _x_positions(block: Block) -> tuple[list[float], bool, tuple[tuple[float, str], ...]]:
    """x per point for an axis drawn as itself: its numbers on a log axis when every point has
    one, else evenly spaced in axis order (a categorical axis: 'off' has no place on a scale)."""
    numbers = [p.sweep.numeric if p.sweep else None for p in block.points]
    values = [p.sweep.value if p.sweep else "" for p in block.points]
    if all(n is not None and n > 0 for n in numbers):
        xs = [float(n) for n in numbers if n is not None]
        return xs, True, tuple(zip(xs, values, strict=True))
    xs = [float(i) for i in range(len(block.points))]
    return xs, False, tuple(zip(xs, values, strict=True))


def _time_unit(values: Sequence[float]) -> tuple[float, str]:
    """Milliseconds when every value is under a second, else seconds."""
    return (1e3, "ms") if values and max(values) < 1 else (1.0, "s")


@dataclass(frozen=True)
class MetricInfo:
    label: str  # "work time"
    fmt: Callable[[float | None], str]


METRIC_INFO = {
    "work_seconds": MetricInfo("work time", formatting.seconds),
    "peak_rss_bytes": MetricInfo("peak memory", formatting.size),
    "gc_count": MetricInfo("GC cycles", _count),
    "gc_pause_total_seconds": MetricInfo("GC pause total", formatting.seconds),
}


def _axis_label(metric: str, values: Sequence[float], log: bool) -> tuple[float, str]:
    """The display scale and y label of a metric's chart."""
    suffix = ", log" if log else ""
    if metric == "peak_rss_bytes":
        return 1 / MIB, f"peak RSS (MiB{suffix})"
    if metric == "gc_count":
        return 1.0, f"GC cycles{' (log)' if log else ''}"
    scale, unit = _time_unit(values)
    return scale, f"{METRIC_INFO[metric].label} ({unit}{suffix})"


def _curve(
    found: Sequence[dict[str, PointEstimate]], xs: Sequence[float | None], metric: str
) -> list[tuple[float, PointEstimate]]:
    return [
        (x, table[metric])
        for table, x in zip(found, xs, strict=True)
        if x is not None and metric in table
    ]


def _chart(
    title: str,
    alt: str,
    x_label: str,
    metric: str,
    curves: dict[str, list[tuple[float, PointEstimate]]],
    log_x: bool,
    log_y: bool,
    x_ticks: tuple[tuple[float, str], ...] = (),
) -> ChartSpec | None:
    """One metric's chart in display units; None when no series has a point."""
    curves = {label: points for label, points in curves.items() if points}
    if not curves:
        return None
    medians = [e.median for points in curves.values() for _, e in points]
    scale, y_label = _axis_label(metric, medians, log_y)
    series = {
        label: tuple(
            (
                x,
                e.median * scale,
                None if e.ci_low is None else e.ci_low * scale,
                None if e.ci_high is None else e.ci_high * scale,
            )
            for x, e in points
        )
        for label, points in curves.items()
    }
    return ChartSpec(
        title=title,
        alt=alt,
        x_label=x_label,
        y_label=y_label,
        series=series,
        light=tuple(label for label in series if not label.endswith("/" + DEFAULT_VARIANT)),
        log_x=log_x,
        log_y=log_y,
        x_ticks=x_ticks,
    )


def _size_text(found: dict[str, dict[str, PointEstimate]], throughput: str) -> str:
    """The reported size at a point: one figure when Go and Rust agree, both when they differ."""
    fmt = formatting.size if throughput == "bytes" else (lambda v: f"{_count(v)} items")
    sizes = {key: found[key]["size"].median for key in (GO, RUST) if "size" in found[key]}
    if not sizes:
        return "not reported"
    if len(set(sizes.values())) == 1:
        return fmt(next(iter(sizes.values())))
    return " · ".join(f"{LANG_NAMES[k]} {fmt(v)}" for k, v in sizes.items())


def _metric_cells(
    found: dict[str, dict[str, PointEstimate]], point: WorkloadResult, metric: str
) -> list[str]:
    """Go and Rust (median [CI], or why none) and the Go/Rust ratio of medians."""
    fmt = METRIC_INFO[metric].fmt
    cells = []
    for key in (GO, RUST):
        why = failure(point, key)
        cells.append(why if why else _with_ci(found[key].get(metric), fmt))
    go, rust = (found[key].get(metric) for key in (GO, RUST))
    cells.append(_ratio(go.median if go else None, rust.median if rust else None))
    return cells


def exponent_sentence(
    workload: str, key: str, metric: str, pairs: Sequence[tuple[float, float]]
) -> str:
    """ "Go json work time grows as size^1.02 [0.98, 1.05] (12 repetitions at 4 points)." """
    found = growth_exponent(pairs)
    subject = f"{LANG_NAMES[key]} {workload} {METRIC_INFO[metric].label}"
    if found is None:
        return f"{subject}: {exponent_text(None)}."
    return (
        f"{subject} grows as size{exponent_text(found)} ({found.samples} repetitions at "
        f"{found.points} points)."
    )


def size_block(block: Block) -> BlockView:
    """A parameter of a batch workload: work time and peak memory against the reported size."""
    keys = _keys(block)
    found = [{key: estimates(p, key) for key in keys} for p in block.points]
    throughput = block.points[0].throughput
    rows = tuple(
        Row(
            cells=(
                *_linked_cells(point),
                _size_text(table, throughput),
                *_metric_cells(table, point, "work_seconds"),
                *_metric_cells(table, point, "peak_rss_bytes"),
            ),
            failed=point.status != "ok",
            note=_point_note(point),
        )
        for point, table in zip(block.points, found, strict=True)
    )
    sentences = tuple(
        exponent_sentence(block.workload, key, metric, exponent_pairs(block.points, key, metric))
        for key in (GO, RUST)
        for metric in ("work_seconds", "peak_rss_bytes")
    )
    unit = "bytes" if throughput == "bytes" else "items"
    x_label = "bytes processed (MiB, log)" if throughput == "bytes" else "items processed (log)"
    x_scale = 1 / MIB if throughput == "bytes" else 1.0
    charts = []
    for metric in ("work_seconds", "peak_rss_bytes"):
        curves = {}
        for key in keys:
            sizes = [t[key]["size"].median * x_scale if "size" in t[key] else None for t in found]
            curves[key] = _curve([t[key] for t in found], sizes, metric)
        label = METRIC_INFO[metric].label
        chart = _chart(
            f"{block.workload}: {label} against size ({block.axis} sweep)",
            f"{_sentence_case(label)} of each implementation of {block.workload} against the "
            f"{unit} it reported processing, log-log, one point per {block.axis} value: the "
            "median over repetitions with its 95 % CI as error bars; labelled variants are the "
            "lighter lines. The table lists every value.",
            x_label,
            metric,
            curves,
            log_x=True,
            log_y=True,
        )
        if chart:
            charts.append(chart)
    return BlockView(
        **_framing(block),
        sentences=sentences,
        caption=(
            f"{block.workload} per {block.axis} point: the size the binary reported, then Go and "
            "Rust medians over repetitions [95 % CI] and the Go/Rust ratio of medians"
        ),
        headers=(
            *_axis_headers(block),
            f"size ({unit} reported)",
            *_METRIC_HEADERS,
        ),
        rows=rows,
        charts=tuple(charts),
    )


def _spread_sentences(
    block: Block, found: Sequence[dict[str, dict[str, PointEstimate]]], metric: str
) -> list[str]:
    """Go's lowest and highest point, and Rust's spread across points (its noise floor)."""
    info = METRIC_INFO[metric]
    sentences = []
    go = [(p, t[GO][metric]) for p, t in zip(block.points, found, strict=True) if metric in t[GO]]
    if len(go) >= 2:
        low = min(go, key=lambda x: x[1].median)
        high = max(go, key=lambda x: x[1].median)
        sentences.append(
            f"Go {info.label}: lowest at {_point_name(low[0])} ({_with_ci(low[1], info.fmt)}), "
            f"highest at {_point_name(high[0])} ({_with_ci(high[1], info.fmt)})."
        )
    rust = [t[RUST][metric].median for t in found if metric in t[RUST]]
    if len(rust) >= 2:
        middle = stats.median(rust)
        spread = (max(rust) - min(rust)) / middle if middle else 0.0
        sentences.append(
            f"Rust {info.label}, unchanged at every point, spans {info.fmt(min(rust))}–"
            f"{info.fmt(max(rust))} across the {len(rust)} points ({formatting.percent(spread)} "
            "of its median): differences between Go's points smaller than that are within the "
            "run's noise."
        )
    return sentences


def setting_block(block: Block) -> BlockView:
    """A Go runtime setting of a batch workload: Go per point, Rust as the unchanged reference."""
    keys = _keys(block)
    found = [{key: estimates(p, key) for key in keys} for p in block.points]
    has_gc = any("gc_count" in t[GO] for t in found)
    rows = []
    for point, table in zip(block.points, found, strict=True):
        gc = []
        if has_gc:
            why = failure(point, GO)
            gc = [
                why or _with_ci(table[GO].get(m), METRIC_INFO[m].fmt)
                for m in ("gc_count", "gc_pause_total_seconds")
            ]
        rows.append(
            Row(
                cells=(
                    *_linked_cells(point),
                    *_metric_cells(table, point, "work_seconds"),
                    *_metric_cells(table, point, "peak_rss_bytes"),
                    *gc,
                ),
                failed=point.status != "ok",
                note=_point_note(point),
            )
        )
    xs, log_x, ticks = _x_positions(block)
    metrics = ["work_seconds", "peak_rss_bytes"]
    if has_gc:
        metrics += ["gc_count", "gc_pause_total_seconds"]
    charts = []
    for metric in metrics:
        shown = [k for k in keys if k.startswith("go/")] if metric.startswith("gc_") else keys
        curves = {key: _curve([t[key] for t in found], xs, metric) for key in shown}
        label = METRIC_INFO[metric].label
        chart = _chart(
            f"{block.workload}: {label} per {block.axis}",
            f"{_sentence_case(label)} of {block.workload} at each {block.axis} point in axis order"
            + (" (log scale)" if log_x else "")
            + ": the median over repetitions with its 95 % CI as error bars. "
            + (
                "Go only (Rust has no GC)."
                if metric.startswith("gc_")
                else "Rust runs unchanged at every point: its line is the reference and its "
                "spread the noise."
            ),
            block.axis,
            metric,
            curves,
            log_x=log_x,
            log_y=False,
            x_ticks=ticks,
        )
        if chart:
            charts.append(chart)
    sentences = [
        s for m in ("work_seconds", "peak_rss_bytes") for s in _spread_sentences(block, found, m)
    ]
    return BlockView(
        **_framing(block),
        sentences=tuple(sentences),
        caption=(
            f"{block.workload} per {block.axis} point: Go and Rust medians over repetitions "
            "[95 % CI], the Go/Rust ratio of medians"
            + (", and Go's GC cycles and total GC pause per run" if has_gc else "")
        ),
        headers=(
            *_axis_headers(block),
            *_METRIC_HEADERS,
            *(("Go GC cycles", "Go GC pause total") if has_gc else ()),
        ),
        rows=tuple(rows),
        charts=tuple(charts),
    )


# --- servers --------------------------------------------------------------------------------------


def rate_summary(point: WorkloadResult, key: str, rate: float) -> RateSummary | None:
    """`key`'s replicates at `rate` at this point; None when it failed or did not measure it."""
    impl = point.result_for(key)
    if impl is None or failure(point, key) is not None:
        return None
    return next((s for s in replicates.rate_summaries(impl) if s.offered_rps == rate), None)


def meets_budget(found: RateSummary | None, budget: float) -> tuple[bool, str]:
    """Whether a rate's replicates keep p99 within `budget` seconds, and why (not): every
    replicate usable and the upper bound of the p99's 95 % CI below the budget."""
    if found is None:
        return False, "failed"
    p99 = found.latency.get("p99")
    if p99 is None:
        return False, "no p99"
    if not found.usable:
        return False, "not usable"
    if p99.ci_high is None:
        return False, "one replicate: no CI"
    shown = formatting.seconds(p99.ci_high)
    if p99.ci_high >= budget:
        return False, f"CI upper bound {shown} ≥ {formatting.seconds(budget)}"
    return True, f"CI upper bound {shown} < {formatting.seconds(budget)}"


def _p99_cell(found: RateSummary | None, why: str | None) -> str:
    if found is None:
        return why or "not measured"
    text = _with_ci(found.latency.get("p99"), formatting.seconds)
    return text if found.usable else f"{text} (not usable)"


def _rss_cell(found: RateSummary | None, why: str | None) -> str:
    if found is None:
        return why or "not measured"
    return _with_ci(found.server_peak_rss_bytes, formatting.size)


def budget_sentence(block: Block, rate: float, budget: float) -> str:
    """The GC-tuning answer at one offered rate: the Go point that meets the p99 budget with the
    least memory, beside Rust at the same point; or that none does, and the closest one."""
    go = [(p, rate_summary(p, GO, rate)) for p in block.points]
    met = [(p, s) for p, s in go if s is not None and meets_budget(s, budget)[0]]
    shown_budget = formatting.seconds(budget)
    lead = f"At {rate:,.0f} req/s"
    if met:
        point, found = min(met, key=lambda m: m[1].server_peak_rss_bytes.median)
        rust = rate_summary(point, RUST, rate)
        rss = found.server_peak_rss_bytes.median
        beside = (
            f", {rss / rust.server_peak_rss_bytes.median:.1f}× Rust's "
            f"{formatting.size(rust.server_peak_rss_bytes.median)}"
            if rust is not None and rust.server_peak_rss_bytes.median
            else " (Rust has no numbers at this point)"
        )
        sentence = (
            f"{lead}, Go meets a p99 budget of {shown_budget} at {_point_name(point)} (p99 "
            f"{_with_ci(found.latency['p99'], formatting.seconds)}) with peak RSS "
            f"{formatting.size(rss)}{beside}"
        )
        if len(met) > 1:
            sentence += (
                f"; {len(met)} of {len(block.points)} points meet it "
                f"({', '.join(p.sweep.value for p, _ in met if p.sweep)}), this one with the "
                "least peak RSS"
            )
    else:
        candidates = [(p, s) for p, s in go if s is not None and "p99" in s.latency]
        usable = [(p, s) for p, s in candidates if s.usable]
        pool = usable or candidates
        if pool:
            point, found = min(pool, key=lambda m: m[1].latency["p99"].median)
            rust = rate_summary(point, RUST, rate)
            rust_p99 = rust.latency.get("p99") if rust is not None else None
            best = (
                f"best: {_point_name(point)}, p99 "
                f"{_with_ci(found.latency['p99'], formatting.seconds)}, "
                f"{meets_budget(found, budget)[1]}; Rust there "
                + (_with_ci(rust_p99, formatting.seconds) if rust_p99 else "not measured")
            )
        else:
            best = "no Go point has a p99 at this rate"
        sentence = f"{lead}, no Go point meets a p99 budget of {shown_budget} ({best})"
    failed = [p.sweep.value for p, s in go if s is None and p.sweep and failure(p, GO)]
    missing = [p.sweep.value for p, s in go if s is None and p.sweep and not failure(p, GO)]
    if failed:
        sentence += f". Failed, no numbers: {block.axis} = {', '.join(failed)}"
    if missing:
        sentence += f". Not measured at this rate: {block.axis} = {', '.join(missing)}"
    return sentence + "."


def cores_sentence(block: Block) -> str:
    """How many server cores the GC-tuning answer was measured with, from each point's recorded
    worker settings (HARNESS_CPUS; GOMAXPROCS in files before it, unless that is the axis). Go's
    collector gives its background mark a quarter of GOMAXPROCS: with one core the mark has none
    of its own and takes the core the requests need, so a one-core answer is said to be one."""
    counts: set[str | None] = set()
    for point in block.points:
        impl = point.result_for(GO)
        if impl is None:
            continue
        found = impl.parallelism.get("HARNESS_CPUS")
        if found is None and block.axis != "GOMAXPROCS":
            found = impl.parallelism.get("GOMAXPROCS")
        counts.add(found)
    if not counts or None in counts:
        return (
            "The server's core count is not recorded at every point: the answer holds for the "
            "setup it was measured in, which this run does not say."
        )
    if counts == {"1"}:
        return (
            "Measured with one server core (GOMAXPROCS=1): Go's background mark workers had no "
            "core of their own and took the one the requests needed, so the answer may not hold "
            "for a Go service on more cores."
        )
    if len(counts) == 1:
        (n,) = counts
        return f"Measured with {n} server cores (GOMAXPROCS={n}; the same worker count for Rust)."
    shown = ", ".join(sorted((c for c in counts if c is not None), key=int))
    return f"Measured with {shown} server cores at different points: compare points of one count."


def server_block(block: Block, budget: Budget) -> BlockView:
    """A server workload along any axis: p99 and peak RSS per fixed rate, Go beside Rust, and for
    a runtime setting the budget answer per rate."""
    rates = sorted(
        {
            rate
            for point in block.points
            for key in (GO, RUST)
            if (impl := point.result_for(key)) is not None and failure(point, key) is None
            for rate in replicates.rates_of(impl)
        }
    )
    rows = []
    for rate in rates:
        for point in block.points:
            go, rust = (rate_summary(point, key, rate) for key in (GO, RUST))
            go_why, rust_why = failure(point, GO), failure(point, RUST)
            met, why = meets_budget(go, budget.seconds)
            notes = [_point_note(point)] if point.status != "ok" else []
            for key, found in ((GO, go), (RUST, rust)):
                if found is not None and found.exclusions:
                    notes.append(f"{key} not usable: {'; '.join(found.exclusions)}")
            rows.append(
                Row(
                    cells=(
                        f"{rate:,.0f}",
                        *_linked_cells(point),
                        _p99_cell(go, go_why),
                        _p99_cell(rust, rust_why),
                        _rss_cell(go, go_why),
                        _rss_cell(rust, rust_why),
                        f"{'yes' if met else 'no'} ({why})"
                        if go is not None
                        else go_why or "not measured",
                    ),
                    failed=point.status != "ok",
                    note="; ".join(notes),
                )
            )
    xs, log_x, ticks = _x_positions(block)
    charts = []
    for metric, title in (("p99", "p99 latency"), ("rss", "server peak RSS")):
        series: dict[str, tuple[Point, ...]] = {}
        for rate in rates:
            for key in (GO, RUST):
                points = []
                for point, x in zip(block.points, xs, strict=True):
                    found = rate_summary(point, key, rate)
                    if found is None or not found.usable:
                        continue
                    value = (
                        found.latency.get("p99") if metric == "p99" else found.server_peak_rss_bytes
                    )
                    if value is not None:
                        scale = 1e3 if metric == "p99" else 1 / MIB
                        points.append(
                            (
                                x,
                                value.median * scale,
                                None if value.ci_low is None else value.ci_low * scale,
                                None if value.ci_high is None else value.ci_high * scale,
                            )
                        )
                if points:
                    series[f"{key} {rate:,.0f} req/s"] = tuple(points)
        if not series:
            continue
        charts.append(
            ChartSpec(
                title=f"{block.workload}: {title} per {block.axis}",
                alt=(
                    f"{_sentence_case(title)} of {block.workload} at each {block.axis} point in "
                    "axis order, one line per implementation and offered rate: the median over "
                    "replicates with its 95 % CI as error bars, usable rates only"
                    + (
                        f"; the horizontal line is the p99 budget of "
                        f"{formatting.seconds(budget.seconds)}"
                        if metric == "p99"
                        else ""
                    )
                    + ". The table lists every value."
                ),
                x_label=block.axis,
                y_label="p99 (ms, log)" if metric == "p99" else "peak RSS (MiB)",
                series=series,
                log_x=log_x,
                log_y=metric == "p99",
                x_ticks=ticks,
                reference=(
                    (budget.seconds * 1e3, f"p99 budget {formatting.seconds(budget.seconds)}")
                    if metric == "p99"
                    else None
                ),
            )
        )
    if block.axis in RUNTIME_SETTINGS:
        sentences = (
            cores_sentence(block),
            *(budget_sentence(block, rate, budget.seconds) for rate in rates),
        )
    else:
        sentences = (
            f"The last column says whether Go's p99 stays within the budget of "
            f"{formatting.seconds(budget.seconds)} at each {block.axis} point; the GC-tuning "
            "answer is given for sweeps of a Go runtime setting.",
        )
    return BlockView(
        **_framing(block),
        sentences=sentences,
        caption=(
            f"{block.workload} per offered rate and {block.axis} point: p99 latency and the "
            "server's peak RSS, medians over replicates [95 % CI]; Go within the p99 budget "
            f"of {formatting.seconds(budget.seconds)} when every replicate is usable and the "
            "p99's CI upper bound is below it"
        ),
        headers=(
            "offered req/s",
            *_axis_headers(block),
            "Go p99",
            "Rust p99",
            "Go peak RSS",
            "Rust peak RSS",
            "Go within budget",
        ),
        rows=tuple(rows),
        charts=tuple(charts),
    )


def scaling(run: Run, budget: Budget) -> ScalingView:
    """The section: one view per sweep in the run, and how to read them; empty without sweeps."""
    found = blocks(run)
    views = []
    for block in found:
        if block.kind == "size":
            views.append(size_block(block))
        elif block.kind == "setting":
            views.append(setting_block(block))
        else:
            views.append(server_block(block, budget))
    if not found:
        return ScalingView((), ())
    notes = [
        "Each point is an ordinary workload of this run, named workload@axis=value, with its own "
        "section below; here the points of each sweep sit side by side in axis order. Figures "
        "are medians with their 95 % bootstrap CI (the error bars in the charts); a point or "
        "implementation that failed is listed as failed, never as a number."
    ]
    if any(b.kind == "size" for b in found):
        notes.append(
            "For a workload parameter the x axis is the size the binary reported processing "
            "(bytes or items, as its throughput counts), on log-log axes. The growth exponent is "
            "the Theil-Sen slope of log(metric) on log(size) over every successful repetition at "
            "every point, with its 95 % CI: size^1 grows in proportion, size^2 quadratically."
        )
    if any(b.kind == "server" for b in found):
        notes.append(
            f"p99 budget: {formatting.seconds(budget.seconds)}, {budget.source}. A Go point "
            "meets it at a rate only when every replicate there is usable and the upper bound of "
            "its p99's 95 % CI is below the budget; of the points that meet it, the one with the "
            "least peak RSS is named."
        )
    return ScalingView(tuple(notes), tuple(views))
