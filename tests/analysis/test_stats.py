import math

import numpy as np
import pytest

from harness.analysis import stats
from harness.analysis.stats import Interval


def test_median_odd_and_even():
    assert stats.median([3.0, 1.0, 2.0]) == 2.0
    assert stats.median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_mad_is_scaled_to_sigma():
    # median 3; absolute deviations 2, 1, 0, 1, 97 -> median 1; scaled by 1 / Phi^-1(0.75)
    assert stats.mad([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(1.482602218505602, rel=1e-12)


def test_mad_of_constant_is_zero():
    assert stats.mad([5.0, 5.0, 5.0]) == 0.0


def test_coefficient_of_variation_uses_sample_sd():
    values = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    # mean 5; squared deviations 9+1+1+1+0+0+4+16 = 32; sample variance 32/7
    expected = math.sqrt(32 / 7) / 5
    assert stats.coefficient_of_variation(values) == pytest.approx(expected, rel=1e-12)
    # ddof=0 would give sqrt(32/8)/5 = 0.4: make sure that is not what we get
    assert stats.coefficient_of_variation(values) != pytest.approx(0.4)


def test_coefficient_of_variation_undefined_cases():
    assert stats.coefficient_of_variation([1.0]) is None
    assert stats.coefficient_of_variation([]) is None
    assert stats.coefficient_of_variation([-1.0, 1.0]) is None  # mean 0


def test_median_ci_contains_median():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    ci = stats.median_ci(values)
    assert ci is not None
    assert ci.low <= 5.5 <= ci.high
    assert ci.low < ci.high
    # a bootstrap median of these values can never leave the data's range
    assert ci.low >= 1.0 and ci.high <= 10.0


def test_median_ci_is_reproducible():
    values = [1.3, 0.2, 5.1, 2.2, 3.9, 4.4]
    assert stats.median_ci(values) == stats.median_ci(values)


def test_median_ci_none_for_fewer_than_two():
    assert stats.median_ci([1.0]) is None
    assert stats.median_ci([]) is None


def test_median_ci_constant_input_zero_width():
    assert stats.median_ci([2.5, 2.5, 2.5, 2.5]) == Interval(2.5, 2.5)


def test_ratio_of_medians_ci_around_ratio():
    b = [1.0, 1.1, 0.9, 1.05, 0.95]
    a = [2 * x for x in b]
    ci = stats.ratio_of_medians_ci(a, b)
    assert ci is not None
    assert ci.low < 2.0 < ci.high
    # resampled medians of a lie in [1.8, 2.2] and of b in [0.9, 1.1]
    assert ci.low >= 1.8 / 1.1
    assert ci.high <= 2.2 / 0.9


def test_ratio_of_medians_ci_degenerate_and_small():
    assert stats.ratio_of_medians_ci([4.0, 4.0, 4.0], [2.0, 2.0]) == Interval(2.0, 2.0)
    assert stats.ratio_of_medians_ci([4.0], [2.0, 2.0]) is None
    assert stats.ratio_of_medians_ci([4.0, 4.0], [2.0]) is None


def _normal_approx_p(u, n1, n2):
    """Two-sided Mann-Whitney p, normal approximation with continuity correction, no ties."""
    mean = n1 * n2 / 2
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    z = (abs(u - mean) - 0.5) / sd
    return math.erfc(z / math.sqrt(2))


def test_mann_whitney_separated_samples():
    a = [float(x) for x in range(1, 11)]
    b = [float(x) for x in range(11, 21)]
    p = stats.mann_whitney_p(a, b)
    assert p is not None
    assert p < 0.001
    assert p == pytest.approx(_normal_approx_p(0, 10, 10), rel=1e-6)  # 1.83e-4


def test_mann_whitney_overlapping_samples():
    a = [float(x) for x in range(1, 20, 2)]  # odd
    b = [float(x) for x in range(2, 21, 2)]  # even: U = 0+1+...+9 = 45
    p = stats.mann_whitney_p(a, b)
    assert p == pytest.approx(_normal_approx_p(45, 10, 10), rel=1e-6)  # 0.734
    assert p > 0.5
    assert stats.mann_whitney_p(a, a) == pytest.approx(1.0)


def test_mann_whitney_too_small():
    assert stats.mann_whitney_p([1.0], [2.0, 3.0]) is None
    assert stats.mann_whitney_p([1.0, 2.0], []) is None


def test_outlier_indices_one_obvious_outlier():
    # median 12, deviations 2,1,0,1,88 -> MAD 1; z(100) = 0.6745 * 88 = 59.4
    assert stats.outlier_indices([10.0, 11.0, 12.0, 13.0, 100.0]) == (4,)


def test_outlier_threshold_3_5():
    # sorted: 4.9 8 9 9 10 10 10 11 11 12 15.3 -> median 10
    # |deviations| sorted: 0 0 0 1 1 1 1 2 2 5.1 5.3 -> MAD 1
    # z(15.3) = 0.6745 * 5.3 = 3.575 > 3.5 (outlier); z(4.9) = 0.6745 * 5.1 = 3.440 (not)
    values = [8.0, 9.0, 15.3, 9.0, 10.0, 10.0, 4.9, 10.0, 11.0, 11.0, 12.0]
    assert stats.outlier_indices(values) == (2,)


def test_outlier_indices_degenerate():
    assert stats.outlier_indices([1.0, 100.0]) == ()  # fewer than 3
    assert stats.outlier_indices([5.0, 5.0, 5.0, 5.0, 50.0]) == ()  # MAD 0


def test_paired_ratios_round_by_round():
    assert stats.paired_ratios([2.0, 3.0], [1.0, 4.0]) == (2.0, 0.75)
    with pytest.raises(ValueError):
        stats.paired_ratios([1.0], [1.0, 2.0])


def test_wilcoxon_p_exact_and_degenerate():
    # all six log ratios positive, distinct: exact two-sided p = 2 / 2**6
    assert stats.wilcoxon_p([1.01, 1.02, 1.03, 1.04, 1.05, 1.06]) == pytest.approx(2 / 64)
    assert stats.wilcoxon_p([1.0, 1.0, 1.0]) == 1.0
    assert stats.wilcoxon_p([1.1]) is None
    assert stats.smallest_wilcoxon_p(10) == pytest.approx(2 / 1024)
    assert stats.smallest_wilcoxon_p(1) == 1.0


def test_whether_a_test_can_reach_significance_is_asked_of_the_test():
    # the exact signed-rank test: smallest p = 2 / 2**n, 0.0625 at 5 rounds, 0.03125 at 6
    assert stats.smallest_possible_p(stats.wilcoxon_p, 5) == pytest.approx(2 / 32)
    assert [stats.testable(stats.wilcoxon_p, n) for n in (1, 2, 5, 6, 20)] == [
        False,
        False,
        False,
        True,
        True,
    ]
    # the t-test on logs (server replicates): any 2 can reach it, one cannot (no p at all)
    assert [stats.testable(stats.log_t_p, n) for n in (1, 2, 3)] == [False, True, True]
    # and paired_ratio records it: a 250x ratio over 5 rounds has a CI far from 1, but no test
    five = stats.paired_ratio({r: 250.0 + r for r in range(5)}, {r: 1.0 for r in range(5)})
    assert five is not None and five.ci_low > 200 and not five.testable and not five.significant
    replicates = stats.paired_ratio({0: 2.0, 1: 2.1}, {0: 1.0, 1: 1.0}, test=stats.log_t_p)
    assert replicates is not None and replicates.testable


def test_fdr_adjusted_benjamini_hochberg_by_hand():
    # sorted p 0.01, 0.04, 0.5 (m = 3): 0.01 * 3/1, 0.04 * 3/2, 0.5 * 3/3
    assert stats.fdr_adjusted([0.04, 0.5, 0.01]) == pytest.approx((0.06, 0.5, 0.03))
    assert stats.fdr_adjusted([]) == ()


def test_relative_half_width():
    assert stats.relative_half_width(2.0, stats.Interval(1.9, 2.1)) == pytest.approx(0.05)
    assert stats.relative_half_width(2.0, None) is None


# --- minimum detectable change ---------------------------------------------------------------


def _alternating(n: int, sample_sd: float) -> list[float]:
    """n ratios whose logs are +a, -a, ... (mean 0) with sample standard deviation `sample_sd`."""
    a = sample_sd * math.sqrt((n - 1) / n)
    return [math.exp(a if i % 2 else -a) for i in range(n)]


def test_paired_t_detectable_change_matches_the_power_tables():
    # One-sample t, two-sided alpha 0.05, n = 10: 80 % power needs an effect of 0.9941 standard
    # deviations (G*Power). Log sd 0.02 -> the smallest detectable log shift is 0.019882.
    ratios = _alternating(10, 0.02)
    found = stats.smallest_detectable_change(lambda c: stats.paired_t_power(ratios, c, 0.05))
    assert found == pytest.approx(math.expm1(0.9941 * 0.02), abs=stats.DETECTABLE_RESOLUTION)


def test_welch_detectable_change_matches_the_power_tables():
    # Two samples of 6, equal sds: Welch's df is 10, as Student's; 80 % power at alpha 0.05 needs
    # d = 1.7955 (noncentral t, as G*Power). Log sd 0.1 a side -> a log shift of 0.17955.
    base = _alternating(6, 0.1)
    found = stats.smallest_detectable_change(lambda c: stats.welch_t_power(base, base, c, 0.05))
    assert found == pytest.approx(math.expm1(0.17955), abs=0.001)
    # a higher-is-better metric's bad direction is down: 1 - exp(-0.2024)
    down = stats.smallest_detectable_change(
        lambda c: stats.welch_t_power(base, base, c, 0.05), worse_is_lower=True
    )
    assert down == pytest.approx(-math.expm1(-0.17955), abs=0.001)


def test_six_rounds_under_twelve_verdicts_cannot_detect_anything():
    """The issue's case: 6 paired rounds give a smallest signed-rank p of 2 / 2**6 = 0.031, above
    0.05 / 12 = 0.0042, so no change of any size could be called."""
    ratios = _alternating(6, 0.01)
    assert stats.signed_rank_power(ratios, 1.0, 0.05 / 12) == 0.0
    assert (
        stats.smallest_detectable_change(lambda c: stats.signed_rank_power(ratios, c, 0.05 / 12))
        is None
    )
    alone = stats.smallest_detectable_change(lambda c: stats.signed_rank_power(ratios, c, 0.05))
    assert alone is not None  # one verdict at 0.05: 0.031 can be reached


def test_without_spread_any_change_is_detectable_by_ranks():
    # identical rounds: every shifted resample is all-positive, p = 2 / 2**8 < 0.05
    found = stats.smallest_detectable_change(lambda c: stats.signed_rank_power([1.0] * 8, c, 0.05))
    assert found <= 2 * stats.DETECTABLE_RESOLUTION


def test_simulated_signed_rank_agrees_with_the_t_test_on_normal_rounds():
    """For normal log ratios the signed-rank test is 95.5 % as efficient as the t-test, so their
    detectable changes should be close; averaged over 20 samples of 20 rounds, within 15 %."""
    rng = np.random.default_rng(7)
    ranks, ts = [], []
    for _ in range(20):
        ratios = list(np.exp(rng.normal(0, 0.02, 20)))
        for found, power in ((ranks, stats.signed_rank_power), (ts, stats.paired_t_power)):
            found.append(
                stats.smallest_detectable_change(
                    lambda c, power=power, ratios=ratios: power(ratios, c, 0.01)
                )
            )
    assert np.mean(ranks) == pytest.approx(np.mean(ts), rel=0.15)


def test_mann_whitney_power_needs_enough_repetitions():
    # 3 vs 3: the smallest two-sided p is 2 / C(6, 3) = 0.1 >= 0.05, whatever the shift
    assert stats.mann_whitney_power([1.0, 1.1, 1.2], [1.0, 1.1, 1.2], 5.0, 0.05) == 0.0
    tight = [1.0 + 0.001 * i for i in range(10)]
    found = stats.smallest_detectable_change(
        lambda c: stats.mann_whitney_power(tight, tight, c, 0.05)
    )
    assert 0 < found < 0.01  # a 0.9 % spread hides nothing above 1 %
