"""Numbers to short human strings, shared by the report and the text exporters.

Formatting never rounds a value away in storage: it only decides how many digits a reader sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from harness.analysis.summaries import HIGHER_IS_BETTER, Comparison

_LANG_NAMES = {"go": "Go", "rust": "Rust"}


def _digits(value: float) -> str:
    """Three significant digits without switching to exponent notation (1000, not 1e+03)."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    if value == 0:
        return "0 s"
    if abs(value) < 1e-3:
        return f"{_digits(value * 1e6)} µs"
    if abs(value) < 1:
        return f"{_digits(value * 1e3)} ms"
    return f"{_digits(value)} s"


def size(value: float | None) -> str:
    if value is None:
        return "–"
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= factor:
            return f"{_digits(value / factor)} {unit}"
    return f"{value:.0f} B"


def rate(value: float | None, unit: str) -> str:
    """bytes/s as MB/s (10^6, as throughput is usually quoted); items/s with SI prefixes."""
    if value is None:
        return "–"
    if unit.startswith("bytes"):
        return f"{value / 1e6:.4g} MB/s"
    for prefix, factor in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= factor:
            return f"{value / factor:.3g} {prefix}items/s"
    return f"{value:.3g} items/s"


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


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


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


def verdict(comparison: Comparison) -> str:
    """A plain sentence fragment: who is better on this metric and by how much, or that nobody is."""
    if not comparison.significant or comparison.better is None:
        return "no significant difference"
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
