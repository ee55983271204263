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
        best, best_i, n_ties, tie = reservoir_step(values[i], i, best, best_i, n_ties)
        if tie and rng.random() * n_ties < 1.0:
            best_i = i
    return best_i


@njit(inline="always")
def reservoir_step(v, i, best, best_i, n_ties):
    """One step of :func:`argmax_tiebreak`'s scan: value ``v`` of index ``i`` against the
    running ``(best, best_i, n_ties)``. Returns the new triple and whether ``v`` tied the
    maximum, in which case the caller draws: ``i`` replaces ``best_i`` when
    ``rng.random() * n_ties < 1``.

    The generator is not an argument on purpose: a compiled helper that takes it makes Numba
    take and release a reference to it at every call, and in this loop those atomic counts
    cost 8 times the comparisons (UCB1's kernel engine went from about 40 to 300 ns per pull).
    """
    if v > best:
        return v, i, 1, False
    if v == best:
        return best, best_i, n_ties + 1, True
    return best, best_i, n_ties, False


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


#: bound on the rounding error of a computed divergence, relative to the sizes of its terms
#: (each term is within a few units in the last place, about 1e-16, of its exact value)
_DIV_ERR = 1e-12


@njit
def _div_value(divergence, p, q):
    """The divergence at ``q`` as the bisection of :func:`kl_ucb_index` computes it (``p``: the
    mean, clipped as there), and a bound on its distance to the exact divergence.

    The exact divergence (of the clipped arguments) is nondecreasing in ``q >= p``, so a value
    ``> level + 2 err`` at ``q`` means that the bisection finds its divergence above ``level``
    at every point ``>= q``, and a value ``< level - 2 err`` means below or at ``level`` at every
    point in ``[p, q]``.
    """
    if divergence == DIV_BERNOULLI:
        # both terms are at most about 35 in absolute value (arguments clipped at 1e-15)
        return kl_bernoulli(p, q), _DIV_ERR
    if divergence == DIV_POISSON:
        f = kl_poisson(p, q)
        return f, _DIV_ERR * (abs(f) + 2.0 * (q + p))
    f = kl_exponential(p, q)
    return f, _DIV_ERR * (abs(f) + 2.0 * (p / q + 1.0))


@njit
def _kl_ucb_bracket(divergence, mean, level, tol):
    """Two points ``a < z`` around the root of the KL-UCB index (Bernoulli, Poisson or
    exponential divergence), certified for the bisection of :func:`kl_ucb_index`.

    Returns ``(ok, p, lo, hi, a, z)``: ``p`` the clipped mean, ``(lo, hi)`` the bisection's
    starting bracket, and, when ``ok``, points where the divergence the bisection computes is
    certainly ``<= level`` (at every midpoint ``<= a``) and certainly ``> level`` (at every
    midpoint ``>= z``). Newton's method (from above the root, where the convex divergence makes
    it monotone; in ``r = p / q`` for the exponential divergence, convex there) brings ``q``
    within ``tol / 100`` of the root; ``a`` and ``z`` are certified by one evaluation each
    (:func:`_div_value`: below ``level`` minus twice the rounding bound at ``a``, above
    ``level`` plus twice it at ``z``; ``z`` is usually Newton's last point). ``ok`` is False
    for any input outside the ranges this is argued for, or a certification that fails.
    """
    nan = np.nan
    if not (level > 0.0 and np.isfinite(level) and np.isfinite(mean)) or \
            divergence == DIV_GAUSSIAN:
        return False, nan, nan, nan, nan, nan
    if divergence == DIV_BERNOULLI:
        if not (0.0 <= mean < 1.0 - _KL_EPS):
            return False, nan, nan, nan, nan, nan
        p = max(mean, _KL_EPS)           # the mean as kl_bernoulli clips it
        lo = mean
        hi = 1.0
        # root <= p + sqrt(2 level V) for V the largest u (1 - u) on [p, root] (Pinsker-type
        # bound from d(p, q) = int_p^q (u - p) / (u (1 - u)) du), and u1 = p + sqrt(level / 2)
        u1 = p + np.sqrt(0.5 * level)
        if p >= 0.5:
            vmax = p * (1.0 - p)
        elif u1 >= 0.5:
            vmax = 0.25
        else:
            vmax = u1 * (1.0 - u1)
        q = p + np.sqrt(2.0 * level * vmax)
        if q > 0.5 * (1.0 + p):
            # far from p: d(p, q) >= -H(p) - (1 - p) log(1 - q) (drop -p log q >= 0), so the
            # root is at most 1 - exp(-(level + H(p)) / (1 - p)), close to it when q is near 1
            ent = -p * np.log(p) - (1.0 - p) * np.log(1.0 - p)
            q = min(q, 1.0 - np.exp(-(level + ent) / (1.0 - p)))
        else:
            # near p: the inverse of d(p, p + x) = x^2 / (2 V) - x^3 V' / (3 V^2) + ... with
            # V = p (1 - p), to second order (a start only; Newton's first step lands above)
            q = min(q, p + np.sqrt(2.0 * level * p * (1.0 - p)) + level * (1.0 - 2.0 * p) / 1.5)
        q = min(q, 1.0 - 1e-7)
    elif divergence == DIV_POISSON:
        p = max(mean, 0.0)
        if p <= 0.0:
            return False, nan, nan, nan, nan, nan
        lo = p
        hi = p + level + np.sqrt(level * level + 2.0 * p * level)
        # the bracket's end, or the second-order inverse (V = q) if lower
        q = min(hi, p + np.sqrt(2.0 * p * level) + level / 1.5)
    else:
        p = max(mean, _POS_EPS)
        lo = p
        hi = p * np.exp(min(level + 1.0, 700.0))
        # a lower bound of the root in r = p / q: d = r - 1 - log r >= (1 - r)^2 / 2
        r_lo = max(p / hi, 1.0 - np.sqrt(2.0 * level))
        if not r_lo > 0.0:
            return False, nan, nan, nan, nan, nan
        # ... or the second-order inverse (V = q^2) if lower
        q = min(p / r_lo, p * (1.0 + np.sqrt(2.0 * level) + level / 0.75))
    if not (q > p and np.isfinite(q)):
        return False, nan, nan, nan, nan, nan
    z = np.inf                           # smallest point certified above the root
    for it in range(60):
        f, err = _div_value(divergence, p, q)
        g = f - level
        if g > 2.0 * err:
            z = min(z, q)
        elif it > 0 and not g > 0.0:
            break                        # at the root within rounding (Newton came from above)
        if divergence == DIV_BERNOULLI:
            step = g * q * (1.0 - q) / (q - p)
        elif divergence == DIV_POISSON:
            step = g * q / (q - p)
        else:
            r = p / q
            if not r < 1.0:
                break
            r_new = r + g * r / (1.0 - r)
            if not r_new > 0.0:
                break
            step = q - p / r_new
        q_new = q - step
        if not (q_new > p and np.isfinite(q_new)) or (divergence == DIV_BERNOULLI
                                                      and not q_new < 1.0 - 1e-7):
            break
        q = q_new
        if abs(step) <= 1e-2 * tol * max(1.0, q):
            break                        # quadratic convergence: q is far closer than that
    # q: the estimate of the root (any q is safe: only the certified a and z are used)
    w = 1e-2 * tol * max(1.0, q)
    a = q - w
    if not a > p:
        return False, nan, nan, nan, nan, nan
    f, err = _div_value(divergence, p, a)
    if not f < level - 2.0 * err:
        return False, nan, nan, nan, nan, nan
    if z > q + w:
        zc = q + w
        f, err = _div_value(divergence, p, zc)
        if not f > level + 2.0 * err:
            return False, nan, nan, nan, nan, nan
        z = zc
    return True, p, lo, hi, a, z


@njit
def _kl_ucb_replay(divergence, mean, level, tol, p, lo, hi, a, z):
    """The bisection of :func:`kl_ucb_index` from ``(lo, hi)``, given the certified ``a`` and
    ``z`` of :func:`_kl_ucb_bracket`: its comparison at a midpoint ``>= z`` is "above", at one
    ``<= a`` "below", which the divergence it would compute there gives too; midpoints between
    ``a`` and ``z`` (rarely any) are evaluated as it does. Same iterates, same result."""
    if divergence == DIV_BERNOULLI:
        # no early return: kl_bernoulli(mean, 1.0) > level, as 1.0 >= z or both clip to
        # 1 - 1e-15; then 200 halvings as there
        for _ in range(200):
            if hi - lo <= tol:
                break
            mid = 0.5 * (lo + hi)
            if a < mid < z:              # rarely: the comparison the bisection makes
                up = kl_bernoulli(mean, mid) > level
            else:
                up = mid >= z
            # written as selects (no branch on the unpredictable outcome)
            hi = mid if up else hi
            lo = lo if up else mid
        return 0.5 * (lo + hi)
    for _ in range(64):                  # the bracket of kl_ucb_index, widened as there
        if hi >= z:
            break
        if _kl(divergence, p, hi) > level or not np.isfinite(hi):
            break
        lo = hi
        hi = 2.0 * hi
    for _ in range(2200):
        if hi - lo <= tol * max(1.0, lo):
            break
        mid = 0.5 * (lo + hi)
        if a < mid < z:
            up = _kl(divergence, p, mid) > level
        else:
            up = mid >= z
        hi = mid if up else hi
        lo = lo if up else mid
    return 0.5 * (lo + hi)


@njit
def _kl_ucb_index_fast(divergence, mean, level, sigma, tol):
    """:func:`kl_ucb_index`, bit for bit, with a few divergence evaluations instead of one per
    halving: :func:`_kl_ucb_bracket`, then :func:`_kl_ucb_replay`; anything the bracket is not
    argued for goes to :func:`kl_ucb_index` itself."""
    ok, p, lo, hi, a, z = _kl_ucb_bracket(divergence, mean, level, tol)
    if not ok:
        return kl_ucb_index(divergence, mean, level, sigma, tol)
    return _kl_ucb_replay(divergence, mean, level, tol, p, lo, hi, a, z)


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

    Arms are scanned in order with the reservoir rule of :func:`argmax_tiebreak`. The running
    maximum is known exactly or, when no tie was possible, only between certified bounds. An
    arm whose index is certainly below its lower bound (:func:`_certainly_below`, one divergence
    evaluation) cannot change the choice or draw a uniform there, so its index is not solved.
    Every other arm gets the certified points ``a < root < z`` of :func:`_kl_ucb_bracket`; its
    index is then strictly between ``a - tol s`` and ``z + tol s`` (``s = max(1, point)`` for
    the Poisson and exponential divergences, 1 for Bernoulli), since the bisection stops within
    ``tol s`` and keeps its midpoints ``<= a`` below and ``>= z`` above. An interval entirely
    above the running maximum's makes the arm the new maximum with no draw, as the reservoir
    rule does with a larger value; entirely below, nothing happens. Only overlapping intervals
    (indices within about ``2 tol`` of each other: ties included) need the exact values: the
    bisection is replayed (:func:`_kl_ucb_replay`), the running maximum solved
    (:func:`_kl_ucb_index_fast`) if it was not, and the reservoir rule applied to them. Both
    are equal to the bit to what :func:`kl_ucb_index` computes (as are the Gaussian and any
    index :func:`_kl_ucb_bracket` is not argued for, solved by it), so the choice and the random
    draws are those of solving every index (bit-identical trajectories).

    Solving first the index most likely to win and pruning every arm against it would not be
    the same: :func:`argmax_tiebreak` also draws a uniform where an index ties the running
    maximum of the indices before it, even one below the final maximum, so the arms before the
    winner are scanned as they come.
    """
    best_i = 0
    n_ties = 0
    if divergence == DIV_GAUSSIAN:
        best = -np.inf
        for i in range(counts.shape[0]):
            v = kl_ucb_index(divergence, sums[i] / counts[i], budget / counts[i], sigma, tol)
            best, best_i, n_ties, tie = reservoir_step(v, i, best, best_i, n_ties)
            if tie and rng.random() * n_ties < 1.0:
                best_i = i
        return best_i
    # the running maximum is in [lo_b, hi_b]; exact: lo_b == hi_b is its value
    lo_b = -np.inf
    hi_b = -np.inf
    exact = True
    for i in range(counts.shape[0]):
        n = counts[i]
        mean = sums[i] / n
        level = budget / n
        if level > 0.0 and n_ties > 0 and _certainly_below(divergence, mean, level, tol, lo_b):
            continue
        ok, p, lo, hi, a, z = _kl_ucb_bracket(divergence, mean, level, tol)
        if ok:
            lo_i = a - tol * max(1.0, a)         # lo_i < index < hi_i
            hi_i = z + tol * max(1.0, z)
            if n_ties == 0 or lo_i > hi_b:       # certainly above (any finite beats -inf)
                lo_b, hi_b, exact, best_i, n_ties = lo_i, hi_i, False, i, 1
                continue
            if hi_i < lo_b:                      # certainly below
                continue
            v = _kl_ucb_replay(divergence, mean, level, tol, p, lo, hi, a, z)
        else:
            v = kl_ucb_index(divergence, mean, level, sigma, tol)
        if not exact:
            nb = counts[best_i]
            lo_b = _kl_ucb_index_fast(divergence, sums[best_i] / nb, budget / nb, sigma, tol)
        best, best_i, n_ties, tie = reservoir_step(v, i, lo_b, best_i, n_ties)
        if tie and rng.random() * n_ties < 1.0:
            best_i = i
        lo_b = best
        hi_b = best
        exact = True
    return best_i
