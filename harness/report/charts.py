"""Charts as inline SVG strings: the only matplotlib user (Agg backend, no display needed).

Each chart function takes plain numbers and returns SVG text; the report embeds it, so the HTML stays
one self-contained file. Text stays text (svg.fonttype none) to keep files small and searchable.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from markupsafe import Markup

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import LogFormatter, NullLocator

plt.rcParams.update(
    {"svg.fonttype": "none", "font.size": 9, "figure.dpi": 100, "svg.hashsalt": "gorust"}
)  # stable ids: same data, same SVG


@dataclass(frozen=True)
class Chart:
    """A rendered chart as the report embeds it: SVG markup plus its title and alt text."""

    title: str
    alt: str
    svg: Markup


COLOURS = {"go": "#00add8", "rust": "#b7410e"}


def _colour(label: str) -> str:
    return COLOURS.get(label.split("/")[0], "#666666")


def _to_svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog and doctype: it is inlined in HTML


def distribution(
    title: str, unit_label: str, series: Mapping[str, Sequence[float]], scale: float = 1.0
) -> str:
    """Box plot with every repetition drawn on top (a strip), one row per implementation."""
    labels = list(series)
    figure, axes = plt.subplots(figsize=(7, 0.55 * len(labels) + 1.2))
    data = [[v * scale for v in series[label]] for label in labels]
    axes.boxplot(data, orientation="horizontal", tick_labels=labels, widths=0.5, showfliers=False)
    for row, (label, values) in enumerate(zip(labels, data, strict=True), start=1):
        jitter = [row + 0.12 * ((i % 5) - 2) / 2 for i in range(len(values))]
        axes.scatter(values, jitter, s=12, alpha=0.75, color=_colour(label), zorder=3)
    axes.set_title(title)
    axes.set_xlabel(unit_label)
    axes.grid(axis="x", alpha=0.3)
    axes.invert_yaxis()
    return _to_svg(figure)


def time_series(
    title: str,
    y_label: str,
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    y_scale: float = 1.0,
) -> str:
    """Lines of (t_seconds, value) per implementation on one time axis."""
    figure, axes = plt.subplots(figsize=(7, 3))
    for label, (times, values) in series.items():
        axes.plot(
            times,
            [v * y_scale for v in values],
            label=label,
            color=_colour(label),
            linestyle="-" if label.endswith("/default") else "--",  # variants dashed
            marker="." if len(times) < 30 else None,
            linewidth=1.2,
        )
    axes.set_title(title)
    axes.set_xlabel("time since start (s)")
    axes.set_ylabel(y_label)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    return _to_svg(figure)


def latency_vs_rate(
    title: str, series: Mapping[str, Sequence[tuple[float, float, float, float]]]
) -> str:
    """p50 / p99 / p99.9 latency (ms, log scale) against offered rate, one colour per implementation.
    `series` maps label -> [(offered_rps, p50_s, p99_s, p999_s), ...]."""
    figure, axes = plt.subplots(figsize=(7, 3.6))
    styles = (("p50", "-", "o"), ("p99", "--", "s"), ("p99.9", ":", "^"))
    for label, points in series.items():
        points = sorted(points)
        rates = [p[0] for p in points]
        for index, (name, linestyle, marker) in enumerate(styles, start=1):
            axes.plot(
                rates,
                [p[index] * 1e3 for p in points],
                linestyle=linestyle,
                marker=marker,
                color=_colour(label),
                label=f"{label} {name}",
                markersize=4,
                linewidth=1.2,
            )
    axes.set_yscale("log")
    axes.set_title(title)
    axes.set_xlabel("offered rate (requests/s)")
    axes.set_ylabel("latency (ms, log scale)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="upper left", fontsize=7, ncol=2)
    return _to_svg(figure)


def achieved_vs_offered(title: str, series: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """Achieved against offered rate, with the y = x line a server that keeps up sits on."""
    figure, axes = plt.subplots(figsize=(5, 3.6))
    top = max((max(p) for points in series.values() for p in points), default=1.0)
    axes.plot([0, top], [0, top], color="#999999", linewidth=0.8, label="achieved = offered")
    for label, points in series.items():
        points = sorted(points)
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="o",
            color=_colour(label),
            label=label,
            linewidth=1.2,
        )
    axes.set_title(title)
    axes.set_xlabel("offered rate (requests/s)")
    axes.set_ylabel("achieved rate (requests/s)")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    return _to_svg(figure)


def latency_over_time(
    title: str,
    panels: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float], Sequence[float]]],
) -> str:
    """One panel per implementation: p99 and max latency per window against time, with a vertical
    mark at every GC cycle (Go). panels: label -> (window_t, p99_s, max_s, gc_times)."""
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(7, 2.2 * len(panels)), squeeze=False)
    for axes, (label, (times, p99, worst, gc_times)) in zip(
        axes_list[:, 0], panels.items(), strict=True
    ):
        axes.plot(
            times,
            [v * 1e3 for v in worst],
            color=_colour(label),
            alpha=0.45,
            linewidth=0.9,
            label="max per window",
        )
        axes.plot(
            times,
            [v * 1e3 for v in p99],
            color=_colour(label),
            linewidth=1.4,
            label="p99 per window",
        )
        for index, t in enumerate(gc_times):
            axes.axvline(
                t,
                color="#444444",
                linewidth=0.6,
                linestyle=":",
                label="GC cycle" if index == 0 else None,
            )
        axes.set_yscale("log")
        axes.set_title(f"{label}: {title}", fontsize=9)
        axes.set_ylabel("latency (ms)")
        axes.grid(alpha=0.3, which="both")
        axes.legend(loc="upper right", fontsize=7)
    axes_list[-1, 0].set_xlabel("time since the server started (s)")
    figure.tight_layout()
    return _to_svg(figure)


def pause_histogram(title: str, series: Mapping[str, Sequence[float]]) -> str:
    """Distribution of individual GC pauses (µs, log-spaced bins), one line per source."""
    values = [v for pauses in series.values() for v in pauses if v > 0]
    figure, axes = plt.subplots(figsize=(7, 3))
    if values:
        bins = np.logspace(np.log10(min(values) * 1e6), np.log10(max(values) * 1e6) + 0.01, 30)
        for label, pauses in series.items():
            data = [p * 1e6 for p in pauses if p > 0]
            if data:
                axes.hist(
                    data, bins=bins, histtype="step", linewidth=1.3, label=f"{label} ({len(data)})"
                )
        axes.set_xscale("log")
        axes.legend(loc="upper right", fontsize=7)
    axes.set_title(title)
    axes.set_xlabel("pause (µs, log scale)")
    axes.set_ylabel("GC cycles")
    axes.grid(alpha=0.3)
    return _to_svg(figure)


def trend(
    title: str,
    y_label: str,
    series: Mapping[str, Sequence[tuple[float, float | None, float | None]]],
    x_labels: Sequence[str],
    steps: Sequence[int] = (),
    y_scale: float = 1.0,
) -> str:
    """Median with its CI as error bars per run (x = run order), one line per implementation;
    `steps` are x positions where a significant change happened."""
    figure, axes = plt.subplots(figsize=(7, 3))
    for label, points in series.items():
        xs = list(range(len(points)))
        medians = [p[0] * y_scale for p in points]
        low = [max(0.0, (p[0] - p[1]) * y_scale) if p[1] is not None else 0.0 for p in points]
        high = [max(0.0, (p[2] - p[0]) * y_scale) if p[2] is not None else 0.0 for p in points]
        axes.errorbar(
            xs,
            medians,
            yerr=[low, high],
            marker="o",
            capsize=3,
            color=_colour(label),
            label=label,
            linewidth=1.2,
            markersize=4,
        )
    for index, x in enumerate(steps):
        axes.axvline(
            x,
            color="#cc0000",
            linestyle="--",
            linewidth=0.8,
            label="significant change" if index == 0 else None,
        )
    axes.set_xticks(range(len(x_labels)), x_labels, rotation=30, ha="right", fontsize=7)
    axes.set_title(title)
    axes.set_ylabel(y_label)
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=7)
    return _to_svg(figure)


SWEEP_STYLES = (("o", "-"), ("s", "--"), ("^", ":"), ("D", "-."))


def _plain(text: str) -> str:
    """Text as typed: a '$' in a workload or axis value would otherwise start mathtext."""
    return text.replace("$", r"\$")


def _plain_log_labels(axis) -> None:
    """A log axis labelled 20, 30, 0.5 rather than 2×10^1: easier to read off a chart."""
    axis.set_major_formatter(LogFormatter())
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def sweep_curves(
    title: str,
    x_label: str,
    y_label: str,
    series: Mapping[str, Sequence[tuple[float, float, float | None, float | None]]],
    *,
    log_x: bool = False,
    log_y: bool = False,
    x_ticks: Sequence[tuple[float, str]] = (),
    light: Sequence[str] = (),
    reference: tuple[float, str] | None = None,
) -> str:
    """A metric along a sweep: per series the median at each point with its CI as error bars
    (points are (x, median, low, high)). Series of one language share its colour and differ in
    marker and line; `light` ones (labelled variants) are fainter. `x_ticks` puts the axis values
    on the x axis (categorical positions, or the settings' own numbers); `reference` draws a
    horizontal line, e.g. a latency budget."""
    figure, axes = plt.subplots(figsize=(6.5, 3.4))
    seen: dict[str, int] = {}
    for label, points in series.items():
        colour = _colour(label)
        index = seen.get(colour, 0)
        seen[colour] = index + 1
        marker, linestyle = SWEEP_STYLES[index % len(SWEEP_STYLES)]
        points = sorted(points)
        medians = [p[1] for p in points]
        low = [max(0.0, p[1] - p[2]) if p[2] is not None else 0.0 for p in points]
        high = [max(0.0, p[3] - p[1]) if p[3] is not None else 0.0 for p in points]
        axes.errorbar(
            [p[0] for p in points],
            medians,
            yerr=[low, high],
            marker=marker,
            linestyle=linestyle,
            capsize=3,
            color=colour,
            alpha=0.4 if label in light else 1.0,
            label=_plain(label),
            linewidth=0.9 if label in light else 1.4,
            markersize=4,
        )
    if reference is not None:
        axes.axhline(
            reference[0],
            color="#cc0000",
            linestyle="--",
            linewidth=0.9,
            label=_plain(reference[1]),
        )
    if log_x:
        axes.set_xscale("log")
        _plain_log_labels(axes.xaxis)
    if log_y:
        axes.set_yscale("log")
        _plain_log_labels(axes.yaxis)
    else:
        axes.set_ylim(bottom=0)
    if x_ticks:
        axes.xaxis.set_minor_locator(NullLocator())  # only the axis values label the x axis
        axes.set_xticks([x for x, _ in x_ticks], [_plain(t) for _, t in x_ticks])
    axes.set_title(_plain(title))
    axes.set_xlabel(_plain(x_label))
    axes.set_ylabel(y_label)
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="best", fontsize=7)
    return _to_svg(figure)


# --- CPU profiles (profile_report.py) -----------------------------------------------------------

CATEGORY_COLOURS = {
    "gc_runtime": "#d62728",
    "allocator": "#ff7f0e",
    "kernel": "#7f7f7f",
    "library": "#1f77b4",
    "own": "#2ca02c",
    "other": "#c7c7c7",
}
FLAME_MIN_SHARE = 0.003  # boxes narrower than this share of the samples are left out
FLAME_LABEL_CHARS_PER_UNIT = 200  # characters that fit across the whole width at font size 6


def flame_graph(title: str, rects: Sequence, total: int, labels: Mapping[str, str]) -> str:
    """A flame graph from precomputed boxes (stacks.FlameRect: frame, depth, start, width,
    category): root at the bottom, one row per stack depth, width = samples, coloured by
    category, a frame's name written in its box where it fits."""
    depth = max((r.depth for r in rects), default=0) + 1
    figure, axes = plt.subplots(figsize=(10, min(0.16 * depth + 1.1, 9)))
    by_category: dict[str, list[tuple[float, float, int]]] = {}
    for r in rects:
        by_category.setdefault(r.category, []).append((r.start / total, r.width / total, r.depth))
    for category, boxes in by_category.items():
        for row in sorted({d for _, _, d in boxes}):
            axes.broken_barh(
                [(x, w) for x, w, d in boxes if d == row],
                (row, 0.92),
                facecolors=CATEGORY_COLOURS.get(category, "#999999"),
                edgecolors="white",
                linewidth=0.3,
            )
    for r in rects:
        chars = int(r.width / total * FLAME_LABEL_CHARS_PER_UNIT)
        if chars >= 6:
            text = r.frame if len(r.frame) <= chars else r.frame[: chars - 1] + "…"
            axes.text(
                r.start / total + 0.002,
                r.depth + 0.46,
                _plain(text),
                fontsize=6,
                va="center",
                ha="left",
                clip_on=True,
            )
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=CATEGORY_COLOURS[c])
        for c in CATEGORY_COLOURS
        if c in by_category
    ]
    axes.legend(
        handles,
        [labels.get(c, c) for c in CATEGORY_COLOURS if c in by_category],
        fontsize=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=6,
        frameon=False,
    )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, depth)
    axes.set_yticks([])
    axes.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    axes.set_xlabel("share of samples")
    axes.set_title(_plain(title), pad=22)
    for spine in ("top", "right", "left"):
        axes.spines[spine].set_visible(False)
    return _to_svg(figure)


def category_bars(
    title: str,
    bars: Mapping[str, Mapping[str, float]],
    categories: Sequence[str],
    labels: Mapping[str, str],
) -> str:
    """One stacked horizontal bar per implementation: the shares of its samples by category."""
    names = list(bars)
    figure, axes = plt.subplots(figsize=(7, 0.32 * len(names) + 1.4))
    left = np.zeros(len(names))
    for category in categories:
        values = np.array([bars[n].get(category, 0.0) for n in names])
        axes.barh(
            range(len(names)),
            values,
            left=left,
            color=CATEGORY_COLOURS.get(category, "#999999"),
            label=labels.get(category, category),
            height=0.7,
        )
        for i, (start, value) in enumerate(zip(left, values, strict=True)):
            if value >= 0.06:
                axes.text(start + value / 2, i, f"{value:.0%}", ha="center", va="center", fontsize=6)
        left += values
    axes.set_yticks(range(len(names)), [_plain(n) for n in names])
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    axes.set_xlabel("share of CPU samples")
    axes.set_title(_plain(title))
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=6, frameon=False)
    axes.grid(axis="x", alpha=0.3)
    return _to_svg(figure)


@dataclass(frozen=True)
class RatioPoint:
    """One Go/Rust ratio as the overview draws it: the row it sits on (group = workload, row =
    metric), the ratio with its 95 % CI, whether it is significant, which language is better
    (the colour; None when not significant) and whether it is a labelled variant (light)."""

    group: str
    row: str
    ratio: float
    low: float | None
    high: float | None
    significant: bool
    better: str | None
    light: bool = False
    untested: bool = False  # its test could not have called a difference (too few rounds)


NOT_SIGNIFICANT = "#8a8a8a"
OVERVIEW_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
VARIANT_OFFSET = 0.3  # variants sit just below their row's default mark


def _overview_figure(points: Sequence[RatioPoint]):
    """The dot-and-interval figure. Each mark is its own artist with an SVG id
    (overview-mark-default-N / overview-mark-variant-N), so a test can count them."""
    rows: list[tuple[str, str]] = []
    for p in points:
        if (p.group, p.row) not in rows:
            rows.append((p.group, p.row))
    y_of = {key: index for index, key in enumerate(rows)}
    figure, axes = plt.subplots(figsize=(5.3, 0.19 * len(rows) + 0.9))  # drawn near 1:1 at 1280 px
    groups = list(dict.fromkeys(group for group, _ in rows))
    for index, group in enumerate(groups):  # a light band behind every other workload
        ys = [y for (g, _), y in y_of.items() if g == group]
        if index % 2 == 0:
            axes.axhspan(min(ys) - 0.5, max(ys) + 0.5, color="#f1f1f1", zorder=0, linewidth=0)
    axes.axvline(1.0, color="#333333", linewidth=1.0, zorder=1)
    counts = {"default": 0, "variant": 0}
    for p in sorted(points, key=lambda p: p.light, reverse=True):  # defaults drawn on top
        kind = "variant" if p.light else "default"
        y = y_of[(p.group, p.row)] + (VARIANT_OFFSET if p.light else 0.0)
        colour = _colour(p.better) if p.significant and p.better else NOT_SIGNIFICANT
        alpha = 0.45 if p.light else 1.0
        if p.low is not None and p.high is not None:
            (interval,) = axes.plot(
                [p.low, p.high],
                [y, y],
                color=colour,
                alpha=alpha,
                linewidth=1.0 if p.light else 2.2,
                linestyle="-" if p.significant else (0, (2, 1.5)),
                solid_capstyle="butt",
                zorder=2,
            )
            interval.set_gid(f"overview-interval-{kind}-{counts[kind]}")
        (mark,) = axes.plot(
            [p.ratio],
            [y],
            marker="o",
            markersize=3.5 if p.light else 6,
            markerfacecolor=colour if p.significant else "white",
            markeredgecolor=colour,
            markeredgewidth=1.2,
            alpha=alpha,
            linestyle="none",
            zorder=3,
        )
        mark.set_gid(f"overview-mark-{kind}-{counts[kind]}")
        counts[kind] += 1
    values = [v for p in points for v in (p.ratio, p.low, p.high) if v is not None and v > 0]
    low, high = min([*values, 1.0]) / 1.25, max([*values, 1.0]) * 1.25
    axes.set_xscale("log")
    axes.set_xlim(low, high)
    ticks = [t for t in OVERVIEW_TICKS if low <= t <= high]
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xticks(ticks, [f"{t:g}×" for t in ticks])
    axes.set_yticks(range(len(rows)), [_plain(row) for _, row in rows], fontsize=8)
    for group in groups:  # the workload's name once, left of its first row's label
        first = min(y for (g, _), y in y_of.items() if g == group)
        axes.annotate(
            _plain(group),
            xy=(0, first),
            xycoords=("axes fraction", "data"),
            xytext=(-78, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=8,
            fontweight="bold",
        )
    for p in points:  # the default's value at the right edge, "n.s." when not significant
        if p.light:
            continue
        uncalled = " no CI" if p.low is None else " untested" if p.untested else " n.s."
        axes.annotate(
            f"{p.ratio:.2f}×" + ("" if p.significant else uncalled),
            xy=(1, y_of[(p.group, p.row)]),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
            color="#1a1a1a" if p.significant else NOT_SIGNIFICANT,
        )
    axes.set_ylim(len(rows) - 0.4, -0.6)
    axes.tick_params(axis="y", length=0)
    axes.grid(axis="x", alpha=0.3)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.set_xlabel("Go / Rust (log scale); 1× = equal")
    handles = [
        plt.Line2D([], [], marker="o", color=COLOURS["rust"], label="Rust better (significant)"),
        plt.Line2D([], [], marker="o", color=COLOURS["go"], label="Go better (significant)"),
        plt.Line2D(
            [],
            [],
            marker="o",
            color=NOT_SIGNIFICANT,
            markerfacecolor="white",
            linestyle=(0, (2, 1.5)),
            label="not significant",
        ),
    ]
    if any(p.light for p in points):
        handles.append(
            plt.Line2D(
                [],
                [],
                marker="o",
                markersize=3.5,
                color="#555555",
                alpha=0.45,
                label="labelled variant",
            )
        )
    axes.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(handles),
        fontsize=7,
        frameon=False,
    )
    return figure


def overview(points: Sequence[RatioPoint]) -> str:
    """Every Go/Rust ratio of a run on one log axis, one row per workload and metric (SVG)."""
    return _to_svg(_overview_figure(points))


def overview_png(points: Sequence[RatioPoint]) -> bytes:
    """The same chart as PNG, for a Markdown brief (PR comments take images, not inline SVG)."""
    figure = _overview_figure(points)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
