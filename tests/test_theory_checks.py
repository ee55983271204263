"""The bounds and statistics of ``banditlab.theory_checks`` on hand-computed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from banditlab.theory_checks import (
    assert_mean_below,
    assert_rate_below,
    exp3_eta,
    exp3_regret_bound,
    hardness_h1,
    hardness_h2,
    hoeffding_slack,
    loglog_slope,
    sequential_halving_error_bound,
    successive_rejects_error_bound,
    ucb1_regret_bound,
)


def test_ucb1_bound_by_hand() -> None:
    # gaps 0.5 and 0.25 (and 0 for the best arm)
    t = 7
    want = 8 * math.log(t) * (1 / 0.5 + 1 / 0.25) + (1 + math.pi ** 2 / 3) * (0.5 + 0.25)
    assert ucb1_regret_bound([0.25, 0.75, 0.5], t) == pytest.approx(want, rel=1e-15)
    assert ucb1_regret_bound([0.5, 0.5], 100) == 0.0  # no suboptimal arm, no regret


def test_exp3_bound_and_eta() -> None:
    assert exp3_regret_bound(4, 1000) == pytest.approx(math.sqrt(2 * 1000 * 4 * math.log(4)))
    assert exp3_eta(4, 1000) == pytest.approx(math.sqrt(2 * math.log(4) / 4000))
    with pytest.raises(ValueError, match=r"^exp3_regret_bound: 'n_arms' must be an int in "
                                         r"\[2, inf\); got 1\.$"):
        exp3_regret_bound(1, 10)


def brute_h2(means: list[float]) -> float:
    """H2 straight from the definition: arms ranked by mean, gap_(1) := gap_(2)."""
    ranked = sorted(means, reverse=True)
    gaps = [ranked[0] - m for m in ranked]
    gaps[0] = gaps[1]
    return max((i + 1) / g ** 2 for i, g in enumerate(gaps))


@pytest.mark.parametrize("means", [[0.9, 0.4, 0.4, 0.4], [0.1, 0.5, 0.45, 0.2],
                                   [0.7, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1, 0.05], [0.6, 0.3]])
def test_hardness_measures(means: list[float]) -> None:
    assert hardness_h2(means) == pytest.approx(brute_h2(means), rel=1e-12)
    ranked = sorted(means, reverse=True)
    gaps = [ranked[0] - m for m in ranked[1:]]
    assert hardness_h1(means) == pytest.approx(sum(g ** -2 for g in gaps) + gaps[0] ** -2)
    # Audibert & Bubeck (2010): H2 <= H1 <= log(2K) H2
    h1, h2 = hardness_h1(means), hardness_h2(means)
    assert h2 <= h1 * (1 + 1e-12) and h1 <= math.log(2 * len(means)) * h2 * (1 + 1e-12)


def test_bai_bounds_by_hand() -> None:
    means = [0.9, 0.4, 0.4, 0.4]  # H2 = 4 / 0.25 = 16
    assert hardness_h2(means) == pytest.approx(16.0)
    t = 2000
    assert sequential_halving_error_bound(means, t) == pytest.approx(
        3 * 2 * math.exp(-t / (8 * 2 * 16)))
    logbar = 0.5 + 1 / 2 + 1 / 3 + 1 / 4
    assert successive_rejects_error_bound(means, t) == pytest.approx(
        6 * math.exp(-(t - 4) / (logbar * 16)))
    # more budget, smaller bound
    assert sequential_halving_error_bound(means, 4000) < sequential_halving_error_bound(means, t)
    with pytest.raises(ValueError, match=r"'means' must have a unique largest entry"):
        hardness_h2([0.5, 0.5, 0.1])
    with pytest.raises(ValueError, match=r"^sequential_halving_error_bound: 'means' must be a "
                                         r"1-d array of floats with at least 2 entries"):
        sequential_halving_error_bound([0.5], 10)


def test_hoeffding_slack_by_hand() -> None:
    assert hoeffding_slack(50, 2.0, 0.01) == pytest.approx(2 * math.sqrt(math.log(100) / 100))
    with pytest.raises(ValueError, match=r"^hoeffding_slack: 'fail_prob' must be a float in "
                                         r"\(0, 1\); got 0\.$"):
        hoeffding_slack(10, 1.0, 0)


def test_assert_mean_below_passes_and_fails() -> None:
    x = np.full(100, 5.0)
    slack = hoeffding_slack(100, 10.0, 0.01)
    margin = assert_mean_below(x, 5.0, per_run_max=10.0, fail_prob=0.01)
    assert margin == pytest.approx(slack)
    assert_mean_below(x, 5.0 - slack * 0.99, per_run_max=10.0, fail_prob=0.01)
    with pytest.raises(AssertionError, match=r"mean 5 over 100 runs exceeds the bound .* plus "
                                             r"the Hoeffding slack"):
        assert_mean_below(x, 5.0 - slack * 1.01, per_run_max=10.0, fail_prob=0.01)
    with pytest.raises(ValueError, match=r"^assert_mean_below: 'samples' must have entries in "
                                         r"\[0\.0, 10\.0\]"):
        assert_mean_below([11.0, 1.0], 5.0, per_run_max=10.0, fail_prob=0.01)
    # a negative range is allowed (regret against a fixed arm on an adversarial table)
    assert_mean_below([-3.0, 1.0], 0.0, per_run_min=-5.0, per_run_max=5.0, fail_prob=0.1)
    with pytest.raises(ValueError, match=r"'per_run_min' must be a float in \(-inf, 1\]"):
        assert_mean_below([0.5], 1.0, per_run_min=2.0, per_run_max=1.0, fail_prob=0.1)


def test_assert_mean_below_false_alarm_rate() -> None:
    """Under the null (mean exactly at the bound) the check fails at most fail_prob of the time."""
    gen = np.random.default_rng(0)
    fail_prob, trials = 0.05, 2000
    samples = gen.random((trials, 40))  # uniform on [0, 1], mean 0.5
    fails = 0
    for row in samples:
        try:
            assert_mean_below(row, 0.5, per_run_max=1.0, fail_prob=fail_prob)
        except AssertionError:
            fails += 1
    # a binomial upper quantile: a correct check stays below it except with prob. 1e-6
    assert fails <= stats.binom.isf(1e-6, trials, fail_prob)


def test_assert_rate_below() -> None:
    assert assert_rate_below(0, 100, 0.0, 0.01) == 1.0
    p = assert_rate_below(3, 100, 0.05, 0.01)
    assert p == pytest.approx(stats.binom.sf(2, 100, 0.05))
    with pytest.raises(AssertionError, match=r"error rate 20/100 = 0\.2 is above the bound "
                                             r"0\.05: one-sided binomial p-value"):
        assert_rate_below(20, 100, 0.05, 0.01)
    with pytest.raises(AssertionError):
        assert_rate_below(1, 100, 0.0, 0.01)  # any failure contradicts a zero bound
    assert_rate_below(100, 100, 1.5, 0.01)  # a vacuous bound always passes
    with pytest.raises(ValueError, match=r"^assert_rate_below: 'failures' must be an int in "
                                         r"\[0, 10\]; got 11\.$"):
        assert_rate_below(11, 10, 0.1, 0.01)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0, 2.0])
def test_loglog_slope_of_powers(power: float) -> None:
    t = np.geomspace(1, 1e4, 30)
    assert loglog_slope(t, 3.0 * t ** power) == pytest.approx(power, abs=1e-10)


def test_loglog_slope_of_a_logarithm_is_small() -> None:
    t = np.geomspace(1e3, 1e5, 30)
    assert 0.0 < loglog_slope(t, np.log(t)) < 1 / math.log(1e3)


@pytest.mark.parametrize(("t", "y", "pattern"), [
    ([1.0, 2.0], [1.0, 0.0], r"loglog_slope: 'y' must be a 1-d array of floats with at least 2 "
                             r"entries per axis with entries in \(0, inf\)"),
    ([1.0], [1.0], r"loglog_slope: 't' must be"),
    ([1.0, 2.0, 3.0], [1.0, 2.0], r"loglog_slope: 'y' must be an array of shape \(3,\)"),
    ([2.0, 2.0], [1.0, 2.0], r"loglog_slope: 't' must have at least two distinct entries"),
])
def test_loglog_slope_rejects(t: list[float], y: list[float], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        loglog_slope(t, y)


def test_every_bound_validates_means() -> None:
    for fn, extra in itertools.product(
            (ucb1_regret_bound, sequential_halving_error_bound, successive_rejects_error_bound),
            ((10,),)):
        with pytest.raises(ValueError, match=rf"^{fn.__name__}: 'means' must be .*in \[0, 1\]"):
            fn([0.5, 1.5], *extra)
        with pytest.raises(TypeError, match=rf"^{fn.__name__}: 'means' must be"):
            fn("abc", *extra)
