"""How a metric grows along a sweep: per point the median with its 95 % CI, and for a numeric
parameter axis the growth exponent, the slope of log(metric) on log(parameter), with its CI.

The exponent is the Theil-Sen slope over every repetition at every point (scipy.stats.theilslopes,
with its 95 % interval): robust to the outlying repetitions this machine produces, and with no
assumption that the noise is normal. "Go json time grows as size^1.02 [0.98, 1.05]" reads: double
the input, and the time doubles, give or take 2-5 %.

Pure functions over measured values; the report and the CSV export call them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from harness.analysis import stats
from harness.analysis.stats import ALPHA

MIN_POINTS_FOR_EXPONENT = 3  # two points always lie on a line: no CI could say otherwise


@dataclass(frozen=True)
class Exponent:
    slope: float
    ci_low: float
    ci_high: float
    points: int  # distinct axis values
    samples: int  # (value, metric) pairs fitted


@dataclass(frozen=True)
class PointEstimate:
    """One implementation's metric at one sweep point."""

    value: str  # the axis value as given ("200", "off", "512MiB")
    numeric: float | None
    median: float
    ci_low: float | None
    ci_high: float | None
    n: int


def point_estimate(value: str, numeric: float | None, samples: Sequence[float]) -> PointEstimate:
    ci = stats.median_ci(list(samples))
    return PointEstimate(
        value=value,
        numeric=numeric,
        median=stats.median(list(samples)),
        ci_low=ci.low if ci else None,
        ci_high=ci.high if ci else None,
        n=len(samples),
    )


def growth_exponent(pairs: Sequence[tuple[float, float]]) -> Exponent | None:
    """Theil-Sen slope of log(metric) on log(x) with its 95 % CI, from (x, metric) pairs; None
    with fewer than MIN_POINTS_FOR_EXPONENT distinct positive x values. Pairs with a value that
    is not positive are left out (a log needs it)."""
    kept = [(x, y) for x, y in pairs if x > 0 and y > 0]
    points = len({x for x, _ in kept})
    if points < MIN_POINTS_FOR_EXPONENT:
        return None
    if len({y for _, y in kept}) == 1:
        # A flat metric (a streaming program's peak RSS): the slope is 0, and theilslopes' interval
        # would be NaN, its variance formula having every value tied.
        return Exponent(0.0, 0.0, 0.0, points, len(kept))
    log_x = np.log([x for x, _ in kept])
    log_y = np.log([y for _, y in kept])
    slope, _, low, high = scipy_stats.theilslopes(log_y, log_x, alpha=1 - ALPHA)
    return Exponent(float(slope), float(low), float(high), points, len(kept))


def exponent_text(found: Exponent | None) -> str:
    if found is None:
        return f"no exponent (fewer than {MIN_POINTS_FOR_EXPONENT} numeric points)"
    return f"^{found.slope:.2f} [{found.ci_low:.2f}, {found.ci_high:.2f}]"
