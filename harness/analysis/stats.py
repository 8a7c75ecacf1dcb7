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

import functools
import math
from collections.abc import Callable, Sequence
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


def smallest_possible_p(test: Callable[[Sequence[float]], float | None], n: int) -> float:
    """The smallest p-value `test` (a paired test on ratios: wilcoxon_p, log_t_p) can give `n`
    ratios, asked of the test itself: its p for the most extreme sample of that size, every ratio
    above 1, all distinct and nearly equal (a rank test then sees every sign alike, a t-test a
    mean far beyond its spread). 1 when the test gives no p (under 2 ratios). Whether a verdict
    could have been called at all rests on this, so no rule of thumb ("6 rounds") stands in."""
    return _smallest_possible_p(test, n)


@functools.cache
def _smallest_possible_p(test: Callable[[Sequence[float]], float | None], n: int) -> float:
    extreme = [math.exp(1.0 + i * 1e-6) for i in range(n)]
    p = test(extreme) if n > 0 else None
    return 1.0 if p is None or math.isnan(p) else p


def testable(test: Callable[[Sequence[float]], float | None], n: int) -> bool:
    """True when `test` over `n` paired ratios can reach p < ALPHA at all; False (the exact
    signed-rank test over 5 rounds, whose smallest p is 2 / 2**5 = 0.0625) means "no significant
    difference" would be untrue: the data could not have shown one."""
    return smallest_possible_p(test, n) < ALPHA


def smallest_possible_p_apart(
    test: Callable[[Sequence[float], Sequence[float]], float | None], n_a: int, n_b: int
) -> float:
    """As smallest_possible_p for a test of two samples measured apart (mann_whitney_p,
    welch_log_p): its p for complete separation, each side's values distinct and nearly equal."""
    return _smallest_possible_p_apart(test, n_a, n_b)


@functools.cache
def _smallest_possible_p_apart(
    test: Callable[[Sequence[float], Sequence[float]], float | None], n_a: int, n_b: int
) -> float:
    a = [1.0 + i * 1e-6 for i in range(n_a)]
    b = [math.e * (1.0 + i * 1e-6) for i in range(n_b)]
    p = test(a, b) if n_a > 0 and n_b > 0 else None
    return 1.0 if p is None or math.isnan(p) else p


def smallest_wilcoxon_p(rounds: int) -> float:
    """The smallest two-sided exact signed-rank p-value `rounds` pairs can give (all differences of
    one sign): 2 / 2**n; 1 under 2 rounds. Asked of scipy (smallest_possible_p)."""
    return smallest_possible_p(wilcoxon_p, rounds)


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


# --- power: the smallest change a test could have called ----------------------------------------
#
# A verdict of "no significant change" means something only if the test could have seen a change of
# the size that matters. The minimum detectable change (MDC) is the smallest true relative change
# that the verdict's own test, with the rounds (or replicates) it had, their observed spread and the
# comparison's adjustment, calls with probability POWER. Rank tests: by simulation, resampling the
# observed log values after centring them on their Hodges-Lehmann location (the spread stays, the effect goes), then
# shifting by the change. t-tests on logs: analytically, from the noncentral t distribution with
# the observed standard deviation (the t-test's own normal model).

POWER = 0.80
POWER_SIMULATIONS = 1000
POWER_SEED = 20261206
# The search stops when the change is known to within this much (relative: 0.0005 = 0.05 %).
DETECTABLE_RESOLUTION = 0.0005
LARGEST_DETECTABLE = 10.0  # a change of +1000 %: beyond it, "nothing is detectable"

SIMULATED_SIGNED_RANK = (
    f"simulated: {POWER_SIMULATIONS} resamples of the centred per-round log ratios, signed-rank"
)
SIMULATED_MANN_WHITNEY = (
    f"simulated: {POWER_SIMULATIONS} resamples of each side's centred logs, Mann-Whitney U"
)
ANALYTIC_PAIRED_T = "analytic: noncentral t from the per-replicate log ratios' spread"
ANALYTIC_WELCH_T = "analytic: noncentral t from each side's log spread (Welch)"


def _centred_logs(values: Sequence[float]) -> np.ndarray:
    """Log values minus their Hodges-Lehmann location (the median of all pairwise means): the
    location rank tests answer to, so a skewed sample centred on it carries no effect of its own
    (centred on the plain median, a skewed one kept a residual shift the test would count)."""
    logs = np.log(np.asarray(values, dtype=float))
    upper = np.triu_indices(len(logs))
    walsh = (logs[upper[0]] + logs[upper[1]]) / 2
    return logs - np.median(walsh)


TIE_BREAK = 1e-9  # log units: far below any measured spread


def _resampled(centred: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """POWER_SIMULATIONS resamples (with replacement) of `centred`. A resample repeats values, and
    scipy's rank tests answer ties in small samples with a permutation test per row (minutes for a
    thousand rows), so a tie-breaking jitter far below the spread keeps them on the exact path."""
    shape = (POWER_SIMULATIONS, len(centred))
    return centred[rng.integers(0, len(centred), size=shape)] + rng.normal(0, TIE_BREAK, shape)


def signed_rank_power(ratios: Sequence[float], change: float, alpha: float) -> float:
    """P(two-sided signed-rank p < alpha) for paired ratios like `ratios` whose true median moved
    by `change` (head / base - 1): the rounds' spread is resampled, the effect is shifted in."""
    if smallest_wilcoxon_p(len(ratios)) >= alpha:
        return 0.0
    null = _resampled(_centred_logs(ratios), np.random.default_rng(POWER_SEED))
    shifted = null + np.log1p(change)
    p = sps.wilcoxon(shifted, axis=1, alternative="two-sided").pvalue
    return float(np.mean(np.nan_to_num(p, nan=1.0) < alpha))


def mann_whitney_power(
    base: Sequence[float], head: Sequence[float], change: float, alpha: float
) -> float:
    """P(two-sided Mann-Whitney p < alpha) for two samples like these whose medians differ by
    `change`: each side's spread is resampled on its own, the head shifted."""
    n_base, n_head = len(base), len(head)
    if min(n_base, n_head) < 2 or 2 / math.comb(n_base + n_head, n_base) >= alpha:
        return 0.0
    rng = np.random.default_rng(POWER_SEED)
    before = _resampled(_centred_logs(base), rng)
    after = _resampled(_centred_logs(head), rng) + np.log1p(change)
    p = sps.mannwhitneyu(after, before, axis=1, alternative="two-sided").pvalue
    return float(np.mean(np.nan_to_num(p, nan=1.0) < alpha))


def _t_power(shift: float, scale: float, df: float, alpha: float) -> float:
    """Two-sided t-test power when the true effect is `shift` and its standard error `scale`."""
    if df < 1 or not scale > 0:
        return 0.0
    critical = sps.t.ppf(1 - alpha / 2, df)
    nc = shift / scale
    return float(sps.nct.sf(critical, df, nc) + sps.nct.cdf(-critical, df, nc))


def paired_t_power(ratios: Sequence[float], change: float, alpha: float) -> float:
    """Power of the one-sample t-test on log ratios (stats.log_t_p) for a true change `change`,
    with the observed standard deviation of the log ratios."""
    n = len(ratios)
    if n < 2:
        return 0.0
    sd = float(np.std(np.log(np.asarray(ratios, dtype=float)), ddof=1))
    return _t_power(math.log1p(change), sd / math.sqrt(n), n - 1, alpha)


def welch_t_power(
    base: Sequence[float], head: Sequence[float], change: float, alpha: float
) -> float:
    """Power of Welch's t-test on logs (stats.welch_log_p) for a true change `change`, with each
    side's observed log standard deviation and the Welch-Satterthwaite degrees of freedom."""
    if len(base) < 2 or len(head) < 2:
        return 0.0
    va = float(np.var(np.log(np.asarray(base, dtype=float)), ddof=1)) / len(base)
    vb = float(np.var(np.log(np.asarray(head, dtype=float)), ddof=1)) / len(head)
    if va + vb == 0:
        return 0.0
    df = (va + vb) ** 2 / (va**2 / (len(base) - 1) + vb**2 / (len(head) - 1))
    return _t_power(math.log1p(change), math.sqrt(va + vb), df, alpha)


def smallest_detectable_change(
    power_at: Callable[[float], float], worse_is_lower: bool = False
) -> float | None:
    """The smallest |change| in the bad direction (up for times, down when `worse_is_lower`) whose
    power (`power_at(change)`) reaches POWER; None when even LARGEST_DETECTABLE does not. Power
    grows with the change, so a bisection on the log of the ratio finds it."""

    def change_of(log_shift: float) -> float:
        return math.expm1(-log_shift if worse_is_lower else log_shift)

    top = math.log1p(LARGEST_DETECTABLE)
    if power_at(change_of(top)) < POWER:
        return None
    low, high = 0.0, 0.01
    while high < top and power_at(change_of(high)) < POWER:
        low, high = high, min(top, high * 2)
    while high - low > DETECTABLE_RESOLUTION:
        middle = (low + high) / 2
        if power_at(change_of(middle)) >= POWER:
            high = middle
        else:
            low = middle
    return abs(change_of(high))


@dataclass(frozen=True)
class PairedRatio:
    """numerator / denominator over the rounds both ran in: median per-round ratio, 95 % CI from
    resampling rounds, Wilcoxon signed-rank p-value."""

    ratio: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    rounds: int
    # Whether the test, with this many rounds, could reach p < ALPHA at all (smallest_possible_p):
    # False means too few rounds to test, never "no difference".
    testable: bool = True

    @property
    def half_width(self) -> float | None:
        """The CI's half-width relative to the ratio (0.02 = ±2 %)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return relative_half_width(self.ratio, Interval(self.ci_low, self.ci_high))

    @property
    def significant(self) -> bool:
        """The harness's one rule for calling a difference: the CI excludes 1 and p < ALPHA."""
        if self.ci_low is None or self.ci_high is None or self.p_value is None:
            return False
        return (self.ci_low > 1 or self.ci_high < 1) and self.p_value < ALPHA


def paired_ratio(
    numerator: dict[int, float],
    denominator: dict[int, float],
    test: Callable[[Sequence[float]], float | None] = wilcoxon_p,
) -> PairedRatio | None:
    """The paired ratio over the rounds present on both sides; None without a common round or
    with a zero denominator. `test` gives the p-value from the ratios: the signed-rank test for
    rounds, the t-test on logs for a few server replicates (stats.log_t_p)."""
    rounds = sorted(numerator.keys() & denominator.keys())
    if not rounds or any(denominator[r] == 0 for r in rounds):
        return None
    ratios = paired_ratios([numerator[r] for r in rounds], [denominator[r] for r in rounds])
    ci = median_ci(ratios)  # resamples whole rounds, so pairs stay paired
    p_value = test(ratios)
    return PairedRatio(
        ratio=median(ratios),
        ci_low=ci.low if ci else None,
        ci_high=ci.high if ci else None,
        p_value=None if p_value is None or math.isnan(p_value) else p_value,
        rounds=len(rounds),
        testable=testable(test, len(rounds)),
    )
