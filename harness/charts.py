"""Charts as inline SVG strings: the only matplotlib user (Agg backend, no display needed).

Each chart function takes plain numbers and returns SVG text; the report embeds it, so the HTML stays
one self-contained file. Text stays text (svg.fonttype none) to keep files small and searchable.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

plt.rcParams.update(
    {"svg.fonttype": "none", "font.size": 9, "figure.dpi": 100, "svg.hashsalt": "gorust"}
)  # stable ids: same data, same SVG
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
