"""Closed-form guarantees of the built-in algorithms, each with its source.

Every function validates its input with banditlab's message template and returns a float. The
bounds are used by the statistical theory checks (see :mod:`banditlab.theory_checks.stats`):
a measured mean (over independent runs) must lie below the bound up to an explicit
concentration slack, and a canary that violates the assumptions must fail the same check.

References
----------
P. Auer, N. Cesa-Bianchi, P. Fischer. Finite-time analysis of the multiarmed bandit problem.
Machine Learning 47, 235–256, 2002.

S. Bubeck, N. Cesa-Bianchi. Regret analysis of stochastic and nonstochastic multi-armed bandit
problems. Foundations and Trends in Machine Learning 5(1), 1–122, 2012.

J.-Y. Audibert, S. Bubeck. Minimax policies for adversarial and stochastic bandits. COLT 2009.

J.-Y. Audibert, S. Bubeck. Best arm identification in multi-armed bandits. COLT 2010.

Z. Karnin, T. Koren, O. Somekh. Almost optimal exploration in multi-armed bandits. ICML 2013.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from banditlab._validation import Array, Integer, Real

__all__ = [
    "exp3_eta",
    "exp3_regret_bound",
    "hardness_h1",
    "hardness_h2",
    "moss_regret_bound",
    "sequential_halving_error_bound",
    "successive_rejects_error_bound",
    "ucb1_regret_bound",
    "ucb_regret_bound",
]


def _means(means: Any, owner: str, *, min_len: int = 1) -> np.ndarray:
    return Array(1, low=0.0, high=1.0, min_len=min_len).check(means, "means", owner)


def _sorted_gaps(means: Any, owner: str) -> np.ndarray:
    """Gaps of the non-best arms, increasing; the best arm must be unique."""
    m = _means(means, owner)
    if m.shape[0] < 2:
        raise ValueError(f"{owner}: 'means' must be a 1-d array of floats with at least 2 "
                         f"entries; got shape {m.shape}.")
    order = np.sort(m)[::-1]
    gaps = order[0] - order[1:]
    if gaps[0] <= 0.0:
        raise ValueError(f"{owner}: 'means' must have a unique largest entry (the bound "
                         f"needs a positive smallest gap); got {m.tolist()!r}.")
    return gaps


def ucb1_regret_bound(means: Any, horizon: int) -> float:
    """Upper bound on the expected pseudo-regret of UCB1 after ``horizon`` rounds.

    Auer, Cesa-Bianchi & Fischer (2002), Theorem 1, for rewards in [0, 1] and the index
    ``mean_a + sqrt(2 ln t / n_a)`` (``UCB(alpha=2)``)::

        E[R_T] <= sum_{a: gap_a > 0} 8 ln(T) / gap_a + (1 + pi^2 / 3) sum_a gap_a

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Expected rewards in [0, 1].
    horizon : int
        T >= 1.
    """
    owner = "ucb1_regret_bound"
    m = _means(means, owner)
    t = Integer(1, None).check(horizon, "horizon", owner)
    gaps = m.max() - m
    pos = gaps[gaps > 0.0]
    return float(np.sum(8.0 * math.log(t) / pos) + (1.0 + math.pi ** 2 / 3.0) * np.sum(pos))


def ucb_regret_bound(means: Any, horizon: int, sigma: float) -> float:
    """Upper bound on the expected pseudo-regret of ``UCB(alpha=2, sigma=sigma)``.

    For ``sigma``-sub-Gaussian rewards and the index ``mean_a + 2 sigma sqrt(2 ln t / n_a)``::

        E[R_T] <= sum_{a: gap_a > 0} 32 sigma^2 ln(T) / gap_a + (1 + pi^2 / 3) sum_a gap_a

    This is the proof of Auer, Cesa-Bianchi & Fischer (2002), Theorem 1, with Hoeffding's
    inequality replaced by the sub-Gaussian tail ``exp(-n eps^2 / (2 sigma^2))``: the bonus
    keeps every deviation probability at ``t^-4``, and a suboptimal arm stops being played
    once ``n_a >= 32 sigma^2 ln T / gap_a^2``. ``sigma = 1/2`` gives
    :func:`ucb1_regret_bound` (rewards in [0, 1] are 1/2-sub-Gaussian).

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Expected rewards (any finite reals).
    horizon : int
        T >= 1.
    sigma : float
        Sub-Gaussian scale of the rewards (> 0).
    """
    owner = "ucb_regret_bound"
    m = Array(1).check(means, "means", owner)
    t = Integer(1, None).check(horizon, "horizon", owner)
    s = Real(0.0, None, closed="neither").check(sigma, "sigma", owner)
    gaps = m.max() - m
    pos = gaps[gaps > 0.0]
    return float(np.sum(32.0 * s * s * math.log(t) / pos)
                 + (1.0 + math.pi ** 2 / 3.0) * np.sum(pos))


def moss_regret_bound(n_arms: int, horizon: int) -> float:
    """Upper bound ``49 sqrt(T K)`` on the expected pseudo-regret of MOSS.

    Audibert & Bubeck (2009), Theorem 5: for rewards in [0, 1], MOSS tuned for the horizon T
    has ``E[R_T] <= 49 sqrt(T K)`` on every instance (a distribution-free bound).
    """
    owner = "moss_regret_bound"
    k = Integer(1, None).check(n_arms, "n_arms", owner)
    t = Integer(1, None).check(horizon, "horizon", owner)
    return 49.0 * math.sqrt(t * k)


def exp3_eta(n_arms: int, horizon: int) -> float:
    """The learning rate ``sqrt(2 ln K / (T K))`` of :func:`exp3_regret_bound`."""
    owner = "exp3_eta"
    k = Integer(2, None).check(n_arms, "n_arms", owner)
    t = Integer(1, None).check(horizon, "horizon", owner)
    return math.sqrt(2.0 * math.log(k) / (t * k))


def exp3_regret_bound(n_arms: int, horizon: int) -> float:
    """Upper bound ``sqrt(2 T K ln K)`` on the pseudo-regret of EXP3.

    Bubeck & Cesa-Bianchi (2012), Theorem 3.1: EXP3 (loss-based, importance-weighted loss
    estimates, rewards in [0, 1]) with ``eta = sqrt(2 ln K / (T K))`` has pseudo-regret at most
    ``sqrt(2 T K ln K)`` against any oblivious reward sequence, stochastic ones included.
    """
    owner = "exp3_regret_bound"
    k = Integer(2, None).check(n_arms, "n_arms", owner)
    t = Integer(1, None).check(horizon, "horizon", owner)
    return math.sqrt(2.0 * t * k * math.log(k))


def hardness_h1(means: Any) -> float:
    """``H1 = sum_i gap_(i)^-2`` with the best arm's gap set to the smallest positive gap.

    Audibert & Bubeck (2010), §2 (the convention ``gap_(1) = gap_(2)``).
    """
    gaps = _sorted_gaps(means, "hardness_h1")
    return float(np.sum(1.0 / gaps ** 2) + 1.0 / gaps[0] ** 2)


def hardness_h2(means: Any) -> float:
    """``H2 = max_i i gap_(i)^-2`` over arms ordered by increasing gap (best arm first).

    Audibert & Bubeck (2010), §2, also used by Karnin et al. (2013). The best arm is ``i = 1``
    with ``gap_(1) = gap_(2)``, so its term never attains the maximum; the non-best arm with the
    j-th smallest gap has rank ``i = j + 1``.
    """
    gaps = _sorted_gaps(means, "hardness_h2")
    ranks = np.arange(2, gaps.shape[0] + 2, dtype=np.float64)
    return float(np.max(ranks / gaps ** 2))


def sequential_halving_error_bound(means: Any, budget: int) -> float:
    """Bound ``3 log2(K) exp(-T / (8 log2(K) H2))`` on Sequential Halving's error probability.

    Karnin, Koren & Somekh (2013), Theorem 4.1, for rewards in [0, 1] (the probability that the
    recommended arm is not the best one). Returned unclipped (it may exceed 1).
    """
    owner = "sequential_halving_error_bound"
    m = _means(means, owner, min_len=2)
    t = Integer(1, None).check(budget, "budget", owner)
    log2k = math.log2(m.shape[0])
    return 3.0 * log2k * math.exp(-t / (8.0 * log2k * hardness_h2(m)))


def successive_rejects_error_bound(means: Any, budget: int) -> float:
    """Bound ``K (K - 1) / 2 exp(-(T - K) / (logbar(K) H2))`` for Successive Rejects.

    Audibert & Bubeck (2010), Theorem 2, with ``logbar(K) = 1/2 + sum_{i=2}^K 1/i``.
    """
    owner = "successive_rejects_error_bound"
    m = _means(means, owner, min_len=2)
    k = m.shape[0]
    t = Integer(k, None).check(budget, "budget", owner)
    logbar = 0.5 + sum(1.0 / i for i in range(2, k + 1))
    return k * (k - 1) / 2.0 * math.exp(-(t - k) / (logbar * hardness_h2(m)))
