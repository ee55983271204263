"""Statistics for checking guarantees from finitely many runs, with explicit error rates.

Each check fails (raises :class:`AssertionError` with the numbers in the message) only when the
data are unlikely under the guarantee: if the guarantee holds, a check fails with probability
at most ``fail_prob``. The tests run them with fixed seeds, so they are deterministic, and pair
each with a canary that must fail the same check.

References
----------
W. Hoeffding. Probability inequalities for sums of bounded random variables. JASA 58, 1963.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from banditlab._validation import Array, Integer, Real

__all__ = ["assert_mean_below", "assert_rate_below", "hoeffding_slack", "loglog_slope"]


def hoeffding_slack(n: int, width: float, fail_prob: float) -> float:
    """``width * sqrt(ln(1 / fail_prob) / (2 n))``.

    For i.i.d. samples in an interval of length ``width``, the sample mean exceeds the true
    mean by more than this with probability at most ``fail_prob`` (Hoeffding, 1963, Thm 2).
    """
    owner = "hoeffding_slack"
    n = Integer(1, None).check(n, "n", owner)
    width = Real(0.0, None).check(width, "width", owner)
    p = Real(0.0, 1.0, closed="neither").check(fail_prob, "fail_prob", owner)
    return float(width * math.sqrt(math.log(1.0 / p) / (2.0 * n)))


def assert_mean_below(samples: Any, bound: float, per_run_max: float, fail_prob: float, *,
                      per_run_min: float = 0.0, what: str = "mean") -> float:
    """Check that the expectation of i.i.d. ``samples`` is at most ``bound``.

    Each sample must lie in ``[per_run_min, per_run_max]`` (e.g. a run's pseudo-regret lies in
    ``[0, T * max gap]``). The check fails when ``mean(samples) > bound + slack`` with the
    one-sided Hoeffding slack of :func:`hoeffding_slack`; if ``E[sample] <= bound`` this happens
    with probability at most ``fail_prob``.

    Returns
    -------
    float
        The margin ``bound + slack - mean`` (non-negative when the check passes).

    Raises
    ------
    AssertionError
        When the mean is above ``bound + slack``.
    ValueError
        When an argument is invalid or a sample lies outside ``[per_run_min, per_run_max]``.
    """
    owner = "assert_mean_below"
    x = Array(1).check(samples, "samples", owner)
    b = Real().check(bound, "bound", owner)
    hi = Real().check(per_run_max, "per_run_max", owner)
    lo = Real(None, hi).check(per_run_min, "per_run_min", owner)
    p = Real(0.0, 1.0, closed="neither").check(fail_prob, "fail_prob", owner)
    # A relative tolerance of 1e-9 absorbs rounding in sums of per-round regret.
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    if x.min() < lo - tol or x.max() > hi + tol:
        raise ValueError(f"{owner}: 'samples' must have entries in [{lo!r}, {hi!r}] (the range "
                         f"the slack assumes); got min {x.min()!r} and max {x.max()!r}.")
    slack = hoeffding_slack(x.shape[0], hi - lo, p)
    mean = float(x.mean())
    if mean > b + slack:
        raise AssertionError(
            f"{what} {mean:.6g} over {x.shape[0]} runs exceeds the bound {b:.6g} plus the "
            f"Hoeffding slack {slack:.6g} (samples in [{lo:.6g}, {hi:.6g}], fail_prob={p:g}).")
    return b + slack - mean


def assert_rate_below(failures: int, n: int, bound: float, fail_prob: float, *,
                      what: str = "error rate") -> float:
    """One-sided binomial test that a failure probability is at most ``bound``.

    With ``failures`` out of ``n`` independent trials, the check fails when
    ``P(Binomial(n, bound) >= failures) < fail_prob``; if the true probability is at most
    ``bound`` this happens with probability at most ``fail_prob``. A bound of 1 or more always
    passes.

    Returns
    -------
    float
        The p-value ``P(Binomial(n, min(bound, 1)) >= failures)``.
    """
    owner = "assert_rate_below"
    n = Integer(1, None).check(n, "n", owner)
    k = Integer(0, n).check(failures, "failures", owner)
    b = Real(0.0, None).check(bound, "bound", owner)
    p = Real(0.0, 1.0, closed="neither").check(fail_prob, "fail_prob", owner)
    pvalue = 1.0 if k == 0 else float(stats.binom.sf(k - 1, n, min(b, 1.0)))
    if pvalue < p:
        raise AssertionError(
            f"{what} {k}/{n} = {k / n:.4g} is above the bound {b:.4g}: one-sided binomial "
            f"p-value {pvalue:.3g} < fail_prob={p:g}.")
    return pvalue


def loglog_slope(t: Any, y: Any) -> float:
    """Least-squares slope of ``log y`` against ``log t``.

    Regret growing like ``t^a`` has slope ``a``; logarithmic regret has slope near 0 at large t
    (``d log(log t) / d log t = 1 / log t``); linear regret has slope 1.
    """
    owner = "loglog_slope"
    tt = Array(1, low=0.0, closed="neither", min_len=2).check(t, "t", owner)
    yy = Array(1, low=0.0, closed="neither", min_len=2).check(y, "y", owner)
    if tt.shape != yy.shape:
        raise ValueError(f"{owner}: 'y' must be an array of shape {tt.shape} (like 't'); "
                         f"got shape {yy.shape}.")
    lt = np.log(tt)
    if np.ptp(lt) == 0.0:
        raise ValueError(f"{owner}: 't' must have at least two distinct entries; "
                         f"got {tt.tolist()!r}.")
    slope = np.polyfit(lt, np.log(yy), 1)[0]
    return float(slope)
