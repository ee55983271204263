"""Numba kernels shared by policies.

All functions are module-level ``@njit`` functions (:mod:`banditlab._jit`) on numbers and
contiguous arrays (no jitclass, no function arguments), so they load from the on-disk cache in
a new process.
"""

from __future__ import annotations

import numpy as np

from banditlab._jit import njit

__all__ = ["argmax_tiebreak", "categorical", "kl_bernoulli", "kl_ucb_bernoulli"]

_KL_EPS = 1e-15


@njit
def argmax_tiebreak(values, rng):
    """Index of the maximum of ``values``; ties are broken uniformly at random.

    One pass with the reservoir rule: the i-th tied maximum replaces the current choice with
    probability 1/i. A uniform is drawn from ``rng`` only when a tie is met, so instances
    without ties consume no randomness.
    """
    best = -np.inf
    best_i = 0
    n_ties = 0
    for i in range(values.shape[0]):
        v = values[i]
        if v > best:
            best = v
            best_i = i
            n_ties = 1
        elif v == best:
            n_ties += 1
            if rng.random() * n_ties < 1.0:
                best_i = i
    return best_i


@njit
def categorical(probs, rng):
    """Draw an index from the probability vector ``probs`` with one uniform (inverse CDF).

    Rounding slack in the cumulative sum is assigned to the last index with positive mass.
    """
    u = rng.random()
    acc = 0.0
    last = 0
    for i in range(probs.shape[0]):
        if probs[i] > 0.0:
            last = i
            acc += probs[i]
            if u < acc:
                return i
    return last


@njit
def kl_bernoulli(p, q):
    """Kullback–Leibler divergence KL(Ber(p) || Ber(q)), with p, q clipped to [1e-15, 1-1e-15]."""
    p = min(max(p, _KL_EPS), 1.0 - _KL_EPS)
    q = min(max(q, _KL_EPS), 1.0 - _KL_EPS)
    return p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q))


@njit
def kl_ucb_bernoulli(mean, level, tol):
    """Largest q in [mean, 1] with KL(mean || q) <= level, by bisection to ``tol``.

    This is the KL-UCB index of Garivier & Cappé (2011) for Bernoulli rewards, where
    ``level = (log t + c log log t) / n``.
    """
    if level <= 0.0:
        return mean
    lo = mean
    hi = 1.0
    if kl_bernoulli(mean, hi) <= level:
        return 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if kl_bernoulli(mean, mid) > level:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
