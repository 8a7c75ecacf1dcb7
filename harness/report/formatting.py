"""Numbers and verdicts to short human strings, shared by the report, the text exporters and the
console; the units themselves (seconds, sizes, rates, shares) come from `harness.analysis.units`.

Formatting never rounds a value away in storage: it only decides how many digits a reader sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from harness.analysis.summaries import HIGHER_IS_BETTER, Comparison, too_few_to_test
from harness.analysis.units import percent, rate, seconds, size

__all__ = [  # the units are part of what formatting offers its readers
    "md_escape",
    "metric_value",
    "percent",
    "rate",
    "ratio_with_ci",
    "requests_rate",
    "seconds",
    "size",
    "uncalled",
    "verdict",
    "with_ci",
]

_LANG_NAMES = {"go": "Go", "rust": "Rust"}


def metric_value(value: float | None, unit: str) -> str:
    if unit == "s":
        return seconds(value)
    if unit == "bytes":
        return size(value)
    if unit.endswith("/s"):
        return rate(value, unit)
    if unit == "ratio":
        return percent(value)
    if value is None:
        return "–"
    return f"{value:.0f}" if unit == "count" else f"{value:.4g}"


def ratio_with_ci(ratio: float, low: float | None, high: float | None) -> str:
    if math.isnan(ratio):
        return "–"
    if low is None or high is None:
        return f"{ratio:.2f}×"
    return f"{ratio:.2f}× [{low:.2f}, {high:.2f}]"


def with_ci(
    value: float, low: float | None, high: float | None, fmt: Callable[[float | None], str]
) -> str:
    """ "1.23 ms [1.10, 1.41]": a median with its 95 % CI in one unit; the value alone without one.
    The bounds drop the unit when it is the value's ("ms", "µs", "s", "MiB")."""
    shown = fmt(value)
    if low is None or high is None:
        return shown
    unit = shown.rsplit(" ", 1)[1] if " " in shown else ""
    bounds = [fmt(low), fmt(high)]
    if unit and all(b.endswith(" " + unit) for b in bounds):
        bounds = [b.removesuffix(" " + unit) for b in bounds]
    return f"{shown} [{bounds[0]}, {bounds[1]}]"


def requests_rate(value: float | None) -> str:
    """Requests per second as the server tables show them: "12,345"."""
    return "–" if value is None else f"{value:,.0f}"


def uncalled(testable: bool, n: int, samples: str = "rounds") -> str:
    """The words for a ratio not called significant, in every reader (report, brief, console
    summary, Markdown, server tables): "no significant difference" only when its test could have
    called one with the `n` rounds (or replicates) it had (stats.testable); otherwise "too few
    rounds to test (n = 5)", beside which the ratio and its CI are still shown."""
    return "no significant difference" if testable else too_few_to_test(n, samples)


def verdict(comparison: Comparison) -> str:
    """A plain sentence fragment: who is better on this metric and by how much, that nobody is,
    or that the rounds were too few to tell."""
    if not comparison.significant or comparison.better is None:
        return uncalled(comparison.testable, comparison.rounds)
    factor = comparison.ratio if comparison.ratio >= 1 else 1 / comparison.ratio
    quality = {
        "wall_seconds": "faster",
        "work_seconds": "faster",
        "cpu_seconds": "less CPU",
        "peak_rss_bytes": "less memory",
        "throughput": "higher throughput",
    }.get(comparison.metric, "better" if comparison.metric in HIGHER_IS_BETTER else "lower")
    return f"{_LANG_NAMES[comparison.better]} {factor:.2f}× {quality}"


def md_escape(text: str) -> str:
    """Keep user text from breaking a Markdown table or injecting markup."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", " ")
    )
