"""Quantities to short human strings: seconds, sizes, rates and shares.

They sit in analysis because the analysis states some findings as sentences (the decision matrix's
evidence, the capacity projection's basis), and the report, the exporters and the console write the
same quantities the same way (`harness.report.formatting` builds on these). Formatting never rounds
a value away in storage: it only decides how many digits a reader sees.
"""

from __future__ import annotations

import math


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


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"
