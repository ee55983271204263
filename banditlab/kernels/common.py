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
    "KL_CERT_COLUMNS",
    "argmax_tiebreak",
    "categorical",
    "kl_bernoulli",
    "kl_exponential",
    "kl_poisson",
    "kl_ucb_argmax",
    "kl_ucb_bernoulli",
    "kl_ucb_certificates",
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
    No branch either: the selects below compile to conditional moves. Where the maximum sits
    differs from one call to the next (``BatchedPolicy`` steps a thousand copies, each with
    its own leader) a branch on ``v > best`` was mispredicted so often that UCB1's batched
    ``select`` cost about 115 ns per copy; without it, about 90.
    """
    gt = v > best
    eq = v == best
    return (v if gt else best), (i if gt else best_i), (1 if gt else n_ties + np.int64(eq)), eq


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
def _kl_ucb_start(divergence, mean, level):
    """Where the KL-UCB index of ``mean`` at ``level`` is bracketed (Bernoulli, Poisson or
    exponential divergence).

    Returns ``(ok, p, lo, hi, q)``: ``p`` the mean as the bisection of :func:`kl_ucb_index`
    clips it, ``(lo, hi)`` the bisection's starting bracket and ``q`` a starting point for
    Newton's method above ``p``. ``ok`` is False for any input outside the ranges the
    certificates of :func:`_kl_ucb_certify` are argued for (the Gaussian divergence, a level
    that is not positive and finite, a Bernoulli mean of 1, a Poisson mean of 0, ...).
    """
    nan = np.nan
    if not (level > 0.0 and np.isfinite(level) and np.isfinite(mean)) or \
            divergence == DIV_GAUSSIAN:
        return False, nan, nan, nan, nan
    if divergence == DIV_BERNOULLI:
        if not (0.0 <= mean < 1.0 - _KL_EPS):
            return False, nan, nan, nan, nan
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
            return False, nan, nan, nan, nan
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
            return False, nan, nan, nan, nan
        # ... or the second-order inverse (V = q^2) if lower
        q = min(p / r_lo, p * (1.0 + np.sqrt(2.0 * level) + level / 0.75))
    if not (q > p and np.isfinite(q)):
        return False, nan, nan, nan, nan
    return True, p, lo, hi, q


@njit
def _kl_ucb_certify(divergence, p, level, tol, q, margin):
    """Certified points ``a < z`` around the root of the KL-UCB index, for the bisection of
    :func:`kl_ucb_index` (``p``, ``level``: as :func:`_kl_ucb_start` returned them).

    Returns ``(ok, a, fa, ea, z, fz, ez)``: when ``ok``, the divergence the bisection computes
    is certainly ``<= level`` at every midpoint ``<= a`` and certainly ``> level`` at every
    midpoint ``>= z``; ``(fa, ea)`` and ``(fz, ez)`` are :func:`_div_value` at ``a`` and ``z``,
    which certify them as long as ``fa < level' - 2 ea`` and ``fz > level' + 2 ez``: at any
    other level of the same mean too (:func:`kl_ucb_argmax` keeps them between rounds).

    Newton's method from ``q`` (any point above ``p``: the divergence is convex in ``q``, in
    ``r = p / q`` for the exponential divergence, so its first step lands above the root and
    the next ones decrease to it) brings ``q`` within ``tol / 100`` of the root; ``a = q - w``
    and ``z = q + max(w, margin tol max(1, q))`` (``w = tol max(1, q) / 100``; ``z``: Newton's
    last point if that one fails) are certified by one evaluation each: below ``level`` minus
    twice the rounding bound at ``a``, above ``level`` plus twice it at ``z``. A margin keeps
    ``z`` certified while the level grows; it costs only replays of a few more midpoints in
    :func:`_kl_ucb_replay`. ``ok`` is False where a certification fails.
    """
    nan = np.nan
    z = np.inf                           # smallest point certified above the root
    fz = np.nan
    ez = np.nan
    for it in range(60):
        f, err = _div_value(divergence, p, q)
        g = f - level
        if g > 2.0 * err and q < z:
            z, fz, ez = q, f, err
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
        return False, nan, nan, nan, nan, nan, nan
    fa, ea = _div_value(divergence, p, a)
    if not fa < level - 2.0 * ea:
        return False, nan, nan, nan, nan, nan, nan
    zc = q + max(w, margin * tol * max(1.0, q))
    if zc != z and (divergence != DIV_BERNOULLI or zc < 1.0 - 1e-7):
        f, err = _div_value(divergence, p, zc)
        if f > level + 2.0 * err:
            z, fz, ez = zc, f, err
    if not z < np.inf:
        return False, nan, nan, nan, nan, nan, nan
    return True, a, fa, ea, z, fz, ez


@njit
def _kl_ucb_replay(divergence, mean, level, tol, p, lo, hi, a, z):
    """The bisection of :func:`kl_ucb_index` from ``(lo, hi)``, given the certified ``a`` and
    ``z`` of :func:`_kl_ucb_certify`: its comparison at a midpoint ``>= z`` is "above", at one
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


#: columns of a row of :func:`kl_ucb_argmax`'s certificates: the arm's count, sum and
#: divergence when they were made, then ``a``, ``fa``, ``ea``, ``z``, ``fz``, ``ez`` of
#: :func:`_kl_ucb_certify` (``a = -inf`` when only ``z`` is known)
_CN, _CS, _CD, _CA, _CFA, _CEA, _CZ, _CFZ, _CEZ = range(9)
KL_CERT_COLUMNS = 9
#: margin of a fresh upper certificate, in units of ``tol max(1, q)`` (see _kl_ucb_certify)
_Z_MARGIN = 16.0


def kl_ucb_certificates(n_arms: int) -> np.ndarray:
    """An empty certificate table for :func:`kl_ucb_argmax` (no row matches any arm)."""
    return np.full((n_arms, KL_CERT_COLUMNS), np.nan)


# _store, _tighten and _kl_ucb_replay_at are plain calls, not inlined into kl_ucb_argmax by
# Numba: each inlined copy was typed and lowered again (about 1 s more to compile KL-UCB) and
# LLVM inlines what pays anyway (the same per-pull cost either way, benchmarks/bench_klucb.py)
@njit
def _store(certs, i, n, s, divergence, a, fa, ea, z, fz, ez):
    certs[i, _CN] = n
    certs[i, _CS] = s
    certs[i, _CD] = divergence
    certs[i, _CA] = a
    certs[i, _CFA] = fa
    certs[i, _CEA] = ea
    certs[i, _CZ] = z
    certs[i, _CFZ] = fz
    certs[i, _CEZ] = ez


#: a bracket wider than this many ``tol max(1, z)`` is remade before a replay
_LOOSE = _Z_MARGIN + 2.0


@njit
def _tighten(divergence, n, s, level, tol, certs, i):
    """Remake row ``i`` of the certificates (count ``n``, sum ``s``, valid at ``level``) with
    the tightest bracket, Newton from its ``z``; whether it was remade."""
    ok, p, _lo, _hi, _q = _kl_ucb_start(divergence, s / n, level)
    if not ok:
        return False
    ok, a, fa, ea, z, fz, ez = _kl_ucb_certify(divergence, p, level, tol, certs[i, _CZ], 0.0)
    if ok:
        _store(certs, i, n, s, divergence, a, fa, ea, z, fz, ez)
    return ok


@njit
def _kl_ucb_replay_at(divergence, mean, level, tol, a, z):
    """:func:`_kl_ucb_replay` of the index of ``mean`` at ``level`` with the certified ``a``
    and ``z`` (the bisection's start recomputed)."""
    _ok, p, lo, hi, _q = _kl_ucb_start(divergence, mean, level)
    return _kl_ucb_replay(divergence, mean, level, tol, p, lo, hi, a, z)


@njit
def kl_ucb_argmax(divergence, sums, counts, budget, sigma, tol, rng, certs):
    """The arm :func:`argmax_tiebreak` picks among the KL-UCB indices, solving few of them.

    Arms are scanned in order with the reservoir rule of :func:`argmax_tiebreak`. The running
    maximum is known exactly or, when no tie was possible, only between certified bounds.
    Every arm's index is bracketed by points certified for the bisection of
    :func:`kl_ucb_index` (:func:`_kl_ucb_certify`: ``a`` below, ``z`` above the root), so it
    lies strictly between ``a - tol s`` and ``z + tol s`` (``s = max(1, point)`` for the
    Poisson and exponential divergences, 1 for Bernoulli): the bisection stops within
    ``tol s`` and keeps its midpoints ``<= a`` below and ``>= z`` above. An interval entirely
    above the running maximum's makes the arm the new maximum with no draw, as the reservoir
    rule does with a larger value; entirely below, nothing happens. Only overlapping intervals
    (indices within a few ``tol`` of each other: ties included) need the exact values: the
    bisection is replayed (:func:`_kl_ucb_replay`) for the arm and, if it was not, for the
    running maximum, and the reservoir rule applied to them (an arm with the count and sum of
    the running maximum has its index: a tie, with the rule's draw and no work). Replays equal
    to the bit what :func:`kl_ucb_index` computes (as do the Gaussian indices and any index
    outside the ranges :func:`_kl_ucb_start` is argued for, solved by it), so the choice and
    the random draws are those of solving every index (bit-identical trajectories).

    ``certs`` (float64, ``(n_arms, KL_CERT_COLUMNS)``, from :func:`kl_ucb_certificates`) keeps
    each arm's certificates between calls, with the count, sum and divergence they were made
    for and the divergence values that certify them. A certificate made at one level holds at
    another exactly when its stored value is still on the right side of it (the level grows
    with ``t``: ``a`` stays valid until the arm is pulled, ``z`` until its index passes it), so
    most arms cost a lookup. An arm without a valid ``z`` is first tested against the running
    maximum by one divergence evaluation (below it: the tested point becomes its ``z``);
    otherwise Newton's method restarts from its last ``z``; a bracket left wide that way is
    remade tight before any replay. The table is a cache: its contents never change the result
    (any row that does not certify the arm's current count, sum and level is remade), only the
    work. On the benchmark of ``benchmarks/bench_klucb.py`` this brings a pull from about 30
    to about 6 times UCB1's cost.

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
    held = 0           # an arm with the running maximum's index whose row certifies it
    for i in range(counts.shape[0]):
        n = counts[i]
        s = sums[i]
        mean = s / n
        level = budget / n
        if n_ties > 0 and n == counts[held] and s == sums[held] and np.isfinite(s):
            # the count and sum of the running maximum: the same index, a tie
            n_ties += 1
            if rng.random() * n_ties < 1.0:
                best_i = i
            continue
        hit = certs[i, _CN] == n and certs[i, _CS] == s and certs[i, _CD] == divergence
        have_a = hit and certs[i, _CFA] < level - 2.0 * certs[i, _CEA]
        have_z = hit and certs[i, _CFZ] > level + 2.0 * certs[i, _CEZ]
        if have_z and n_ties > 0:
            z = certs[i, _CZ]
            if z + tol * max(1.0, z) < lo_b:
                continue                         # certainly below, from the table
        solved = False
        if not (have_a and have_z and certs[i, _CA] > -np.inf):
            ok, p, _lo, _hi, q = _kl_ucb_start(divergence, mean, level)
            if ok and n_ties > 0 and not have_z and np.isfinite(lo_b):
                # one evaluation against the running maximum: above level there, the index
                # is certainly below it, and the point is a z for later rounds
                x = lo_b - 2.0 * tol * max(1.0, lo_b)   # stays below lo_b - tol s
                if x > p and (divergence != DIV_BERNOULLI or x < 1.0):
                    f, err = _div_value(divergence, p, x)
                    if f > level + 2.0 * err:
                        if have_a:
                            a, fa, ea = certs[i, _CA], certs[i, _CFA], certs[i, _CEA]
                        else:
                            a, fa, ea = -np.inf, -np.inf, 0.0
                        _store(certs, i, n, s, divergence, a, fa, ea, x, f, err)
                        continue
            if ok:
                zo = certs[i, _CZ]
                if hit and zo > p and np.isfinite(zo) and (divergence != DIV_BERNOULLI
                                                           or zo < 1.0 - 1e-7):
                    q = zo                       # Newton from the last z: near the root
                ok, a, fa, ea, z, fz, ez = _kl_ucb_certify(divergence, p, level, tol, q,
                                                           _Z_MARGIN)
                if ok:
                    _store(certs, i, n, s, divergence, a, fa, ea, z, fz, ez)
            if not ok:
                v = kl_ucb_index(divergence, mean, level, sigma, tol)
                solved = True
        if not solved:
            decided = 0
            for _ in range(2):                   # again after tightening loose brackets
                a = certs[i, _CA]
                z = certs[i, _CZ]
                lo_i = a - tol * max(1.0, a)     # lo_i < index < hi_i
                hi_i = z + tol * max(1.0, z)
                if n_ties == 0 or lo_i > hi_b:   # certainly above (any finite beats -inf)
                    decided = 1
                    break
                if hi_i < lo_b:                  # certainly below
                    decided = 2
                    break
                # undecided: a bracket wider than a fresh one (a z of the one-evaluation
                # test, an old a) is remade tight, Newton from its z, before any replay
                tightened = False
                if z - a > _LOOSE * tol * max(1.0, z):
                    tightened = _tighten(divergence, n, s, level, tol, certs, i)
                if not exact:
                    ab = certs[held, _CA]
                    zb = certs[held, _CZ]
                    if zb - ab > _LOOSE * tol * max(1.0, zb):
                        nb = counts[held]
                        if _tighten(divergence, nb, sums[held], budget / nb, tol, certs, held):
                            tightened = True
                            ab = certs[held, _CA]
                            zb = certs[held, _CZ]
                            lo_b = ab - tol * max(1.0, ab)
                            hi_b = zb + tol * max(1.0, zb)
                if not tightened:
                    break
            if decided == 1:
                lo_b, hi_b, exact, best_i, n_ties, held = lo_i, hi_i, False, i, 1, i
                continue
            if decided == 2:
                continue
            v = _kl_ucb_replay_at(divergence, mean, level, tol, a, z)
        if not exact:
            nb = counts[held]
            lo_b = _kl_ucb_replay_at(divergence, sums[held] / nb, budget / nb, tol,
                                     certs[held, _CA], certs[held, _CZ])
        best, best_i, n_ties, tie = reservoir_step(v, i, lo_b, best_i, n_ties)
        if tie and rng.random() * n_ties < 1.0:
            best_i = i
        held = best_i
        lo_b = best
        hi_b = best
        exact = True
    return best_i
