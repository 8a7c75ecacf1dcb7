"""Small pure statistical functions over sequences of raw samples; scipy does the work.

Each function names its method so a reader can check it:
- location: median; spread: median absolute deviation (scaled to sigma) and the coefficient of
  variation (sample standard deviation / mean);
- confidence intervals: percentile bootstrap (scipy.stats.bootstrap), fixed seed for reproducible
  reports; percentile rather than BCa because BCa's jackknife degenerates on tied medians;
- difference between two samples: Mann-Whitney U, two-sided (as benchstat and asv do), for samples
  measured apart (separately stored runs);
- paired samples (two programs measured in the same interleaved rounds): the per-round ratio,
  its median, a percentile-bootstrap CI that resamples rounds, and the Wilcoxon signed-rank test on
  the log ratios, two-sided (exact for small n);
- few replicates (server phases: 2-10 replicates, each a percentile of 10^4-10^5 requests): Student's
  t-test on log values, paired (one-sample on the log ratios) or Welch's for separate runs. The
  signed-rank test's smallest p with n pairs is 2 / 2**n (0.0625 for 5), so it could never call a
  5-replicate difference; a percentile of that many requests is close to log-normal, which the
  t-test needs;
- many verdicts at once: Benjamini-Hochberg false-discovery-rate adjusted p-values
  (scipy.stats.false_discovery_control);
- outliers: modified z-score on the MAD (Iglewicz and Hoaglin), |z| > 3.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20260101
MODIFIED_Z_THRESHOLD = 3.5
ALPHA = 0.05  # significance level of every test the harness reports


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def median(values: Sequence[float]) -> float:
    return float(np.median(values))


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation, scaled by 1.4826 to estimate sigma for normal data."""
    return float(sps.median_abs_deviation(values, scale="normal"))


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Sample standard deviation over the mean; None when undefined (n < 2 or mean 0)."""
    if len(values) < 2 or float(np.mean(values)) == 0:
        return None
    return float(np.std(values, ddof=1) / np.mean(values))


def _bootstrap(data: tuple[np.ndarray, ...], statistic) -> Interval | None:
    if any(len(d) < 2 for d in data):
        return None
    if all(np.all(d == d[0]) for d in data):
        value = float(statistic(*data, axis=-1))
        return Interval(value, value)
    result = sps.bootstrap(
        data,
        statistic,
        confidence_level=CONFIDENCE,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        vectorized=True,
        paired=False,
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return Interval(float(result.confidence_interval.low), float(result.confidence_interval.high))


def median_ci(values: Sequence[float]) -> Interval | None:
    """95 % percentile-bootstrap interval of the median; None with fewer than 2 values."""
    return _bootstrap((np.asarray(values, dtype=float),), lambda x, axis: np.median(x, axis=axis))


def ratio_of_medians_ci(
    numerator: Sequence[float], denominator: Sequence[float]
) -> Interval | None:
    """95 % bootstrap interval of median(numerator) / median(denominator), samples resampled
    independently (the runs are not paired)."""

    def statistic(x, y, axis):
        return np.median(x, axis=axis) / np.median(y, axis=axis)

    return _bootstrap(
        (np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)), statistic
    )


def mann_whitney_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided Mann-Whitney U p-value; None when either side has fewer than 2 values."""
    if len(a) < 2 or len(b) < 2:
        return None
    return float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> tuple[float, ...]:
    """Round-by-round numerator / denominator of two aligned samples (same rounds, same order)."""
    if len(numerator) != len(denominator):
        raise ValueError("paired samples must have the same length")
    return tuple(float(x) / float(y) for x, y in zip(numerator, denominator, strict=True))


def wilcoxon_p(ratios: Sequence[float]) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of log(ratio) against 0; None under 2 rounds.

    Logs make a 10 % slowdown and a 10 % speed-up symmetric. Identical samples give 1."""
    if len(ratios) < 2:
        return None
    logs = np.log(np.asarray(ratios, dtype=float))
    if np.all(logs == 0):
        return 1.0
    return float(sps.wilcoxon(logs, alternative="two-sided").pvalue)


def log_t_p(ratios: Sequence[float]) -> float | None:
    """Two-sided one-sample t-test p-value of log(ratio) against 0 (the paired t-test on logs);
    None under 2 ratios or when the logs have no spread but are not all 0 (t undefined)."""
    if len(ratios) < 2:
        return None
    logs = np.log(np.asarray(ratios, dtype=float))
    if np.all(logs == 0):
        return 1.0
    if np.all(logs == logs[0]):
        return None
    return float(sps.ttest_1samp(logs, 0.0).pvalue)


def welch_log_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided Welch t-test p-value between log(a) and log(b) (separately measured replicates);
    None when either side has fewer than 2 values or both have no spread."""
    if len(a) < 2 or len(b) < 2:
        return None
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    if np.ptp(la) == 0 and np.ptp(lb) == 0:
        return 1.0 if la[0] == lb[0] else None
    return float(sps.ttest_ind(la, lb, equal_var=False).pvalue)


def smallest_wilcoxon_p(rounds: int) -> float:
    """The smallest two-sided exact signed-rank p-value `rounds` pairs can give (all differences of
    one sign): 2 / 2**n; 1 under 2 rounds."""
    return 1.0 if rounds < 2 else min(1.0, 2.0 / 2**rounds)


def fdr_adjusted(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg adjusted p-values, in the input order (empty in, empty out)."""
    if not p_values:
        return ()
    return tuple(float(p) for p in sps.false_discovery_control(np.asarray(p_values), method="bh"))


def relative_half_width(estimate: float, interval: Interval | None) -> float | None:
    """Half the interval's width relative to the estimate: 0.02 means "within ±2 %"."""
    if interval is None or estimate == 0:
        return None
    return (interval.high - interval.low) / 2 / abs(estimate)


def outlier_indices(values: Sequence[float]) -> tuple[int, ...]:
    """Indices whose modified z-score 0.6745 (x - median) / MAD exceeds 3.5 in magnitude."""
    sigma = mad(values) if len(values) >= 3 else 0.0  # 1.4826 * MAD, i.e. MAD / 0.6745
    if sigma == 0:
        return ()
    center = median(values)
    return tuple(
        i for i, x in enumerate(values) if abs((x - center) / sigma) > MODIFIED_Z_THRESHOLD
    )
