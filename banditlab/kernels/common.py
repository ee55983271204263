"""Numba kernels shared by policies.

All functions are module-level ``@njit`` functions (:mod:`banditlab._jit`) on numbers and
contiguous arrays (no jitclass, no function arguments), so they load from the on-disk cache in
a new process.
"""

from __future__ import annotations

import numpy as np

from banditlab._jit import njit

__all__ = [
    "DIV_BERNOULLI",
    "DIV_EXPONENTIAL",
    "DIV_GAUSSIAN",
    "DIV_POISSON",
    "argmax_tiebreak",
    "categorical",
    "kl_bernoulli",
    "kl_exponential",
    "kl_poisson",
    "kl_ucb_argmax",
    "kl_ucb_bernoulli",
    "kl_ucb_index",
]

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
        best, best_i, n_ties = reservoir_step(values[i], i, best, best_i, n_ties, rng)
    return best_i


@njit(inline="always")
def reservoir_step(v, i, best, best_i, n_ties, rng):
    """One step of :func:`argmax_tiebreak`'s scan: value ``v`` of index ``i`` against the
    running ``(best, best_i, n_ties)``; a uniform is drawn only on a tie."""
    if v > best:
        return v, i, 1
    if v == best:
        n_ties += 1
        if rng.random() * n_ties < 1.0:
            best_i = i
    return best, best_i, n_ties


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
    for _ in range(200):         # 200 halvings of [0, 1] reach adjacent doubles
        if hi - lo <= tol:
            break
        mid = 0.5 * (lo + hi)
        if kl_bernoulli(mean, mid) > level:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


#: divergences of KL-UCB (``KLUCBParams.divergence``)
DIV_BERNOULLI, DIV_GAUSSIAN, DIV_POISSON, DIV_EXPONENTIAL = 0, 1, 2, 3
#: smallest mean the Poisson and exponential divergences are evaluated at
_POS_EPS = 1e-300


@njit
def kl_poisson(p, q):
    """KL(Poisson(p) || Poisson(q)) = q - p + p log(p / q), for p >= 0, q > 0."""
    if p <= 0.0:
        return q
    return q - p + p * np.log(p / q)


@njit
def kl_exponential(p, q):
    """KL between exponential laws of means p and q (> 0): p / q - 1 - log(p / q)."""
    r = p / q
    return r - 1.0 - np.log(r)


@njit
def _kl(divergence, p, q):
    if divergence == DIV_POISSON:
        return kl_poisson(p, q)
    return kl_exponential(p, q)


@njit
def kl_ucb_index(divergence, mean, level, sigma, tol):
    """The KL-UCB index: the largest q >= mean with ``KL(mean || q) <= level``.

    ``level = (log t + c log log t) / n``. Gaussian divergence ``(q - mean)^2 / (2 sigma^2)``:
    the closed form ``mean + sigma sqrt(2 level)``. Bernoulli: :func:`kl_ucb_bernoulli` on
    [mean, 1] with absolute tolerance ``tol``. Poisson and exponential: a bracket known to
    hold the index (widened by doubling if needed), then bisection until its width is at most
    ``tol * max(1, lower end)``; means are clipped to ``>= 0`` (Poisson) or ``> 0``
    (exponential), the supports of the families.
    """
    if divergence == DIV_BERNOULLI:
        return kl_ucb_bernoulli(mean, level, tol)
    if level <= 0.0:
        return mean
    if divergence == DIV_GAUSSIAN:
        return mean + sigma * np.sqrt(2.0 * level)
    if divergence == DIV_POISSON:
        p = max(mean, 0.0)
        # KL_Poisson(p, q) >= (q - p)^2 / (2 q) for q >= p: this q has divergence >= level
        hi = p + level + np.sqrt(level * level + 2.0 * p * level)
    else:
        p = max(mean, _POS_EPS)
        # p / q - 1 >= -1, so log(q / p) <= level + 1 wherever the divergence is <= level
        hi = p * np.exp(min(level + 1.0, 700.0))
    lo = p
    for _ in range(64):                  # safety net: the brackets above already hold
        if _kl(divergence, p, hi) > level or not np.isfinite(hi):
            break
        lo = hi
        hi = 2.0 * hi
    for _ in range(2200):                # halvings from 1e300 down to 1e-300 at most
        if hi - lo <= tol * max(1.0, lo):
            break
        mid = 0.5 * (lo + hi)
        if _kl(divergence, p, mid) > level:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


@njit
def _certainly_below(divergence, mean, level, tol, best):
    """Whether :func:`kl_ucb_index` (Bernoulli, Poisson or exponential) is certainly < ``best``.

    One divergence evaluation at ``x = best - tol * scale``: if it exceeds ``level``, the root
    is below ``x``, and the bisection's result, within ``tol * scale / 2`` of the root (plus
    rounding far below ``tol``), is below ``best``. ``False`` means "not certain" only.
    """
    if not np.isfinite(best):
        return False
    if divergence == DIV_BERNOULLI:
        x = best - tol
        if not (mean < x < 1.0):
            return False
        return kl_bernoulli(mean, x) > level
    if divergence == DIV_POISSON:
        p = max(mean, 0.0)
    else:
        p = max(mean, _POS_EPS)
    x = best - tol * max(1.0, best)
    if not x > p:
        return False
    return _kl(divergence, p, x) > level


@njit
def kl_ucb_argmax(divergence, sums, counts, budget, sigma, tol, rng):
    """The arm :func:`argmax_tiebreak` picks among the KL-UCB indices, solving few of them.

    Arms are scanned in order with the reservoir rule of :func:`argmax_tiebreak`; an arm whose
    index is certainly below the running maximum (:func:`_certainly_below`, one divergence
    evaluation) cannot change the choice or draw a uniform there, so its index is not solved.
    Every other index is computed exactly as :func:`kl_ucb_index` computes it, so the choice and
    the random draws are those of solving every index (bit-identical trajectories).
    """
    best = -np.inf
    best_i = 0
    n_ties = 0
    for i in range(counts.shape[0]):
        n = counts[i]
        mean = sums[i] / n
        level = budget / n
        if divergence != DIV_GAUSSIAN and level > 0.0 and n_ties > 0 and \
                _certainly_below(divergence, mean, level, tol, best):
            continue
        v = kl_ucb_index(divergence, mean, level, sigma, tol)
        best, best_i, n_ties = reservoir_step(v, i, best, best_i, n_ties, rng)
    return best_i
