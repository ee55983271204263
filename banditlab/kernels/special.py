"""Quantiles of the Beta and normal laws inside Numba kernels (Bayes-UCB's indices).

Numba cannot call SciPy's special functions, so the two upper-tail quantiles Bayes-UCB needs are
computed here from ``math.lgamma`` and ``math.erfc``:

* :func:`betainc` -- the regularised incomplete Beta function ``I_x(a, b)``, from its continued
  fraction (evaluated with the modified Lentz method) on the side of ``x`` where it converges
  fast, and the symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)`` on the other;
* :func:`beta_upper_quantile` -- the ``x`` with ``P(X > x) = q`` for ``X ~ Beta(a, b)``;
* :func:`normal_upper_quantile` -- the ``z`` with ``P(Z > z) = q`` for a standard normal ``Z``.

Both quantiles use Newton's method safeguarded by bisection (the iterate stays inside a bracket
that always holds the root), solving the upper tail directly so that levels such as
``q = 1e-12`` keep their relative precision. The tests compare them with ``scipy.special``.
"""

from __future__ import annotations

import math

from banditlab._jit import njit

__all__ = ["beta_upper_quantile", "betainc", "normal_upper_quantile"]

_TINY = 1e-300
_CF_EPS = 1e-15
_CF_MAX = 100_000


@njit
def _beta_cf(a, b, x):
    """Continued fraction of ``I_x(a, b)`` (modified Lentz); converges for x < (a+1)/(a+b+2)."""
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _CF_MAX):
        m2 = 2.0 * m
        c, d = _lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), c, d)        # even
        h *= d * c
        c, d = _lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), c, d)  # odd
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _CF_EPS:
            break
    return h


@njit(inline="always")
def _lentz_step(aa, c, d):
    """One term ``aa`` of the continued fraction: the updated ``(C, D)`` of Lentz's method."""
    d = 1.0 + aa * d
    if abs(d) < _TINY:
        d = _TINY
    c = 1.0 + aa / c
    if abs(c) < _TINY:
        c = _TINY
    return c, 1.0 / d


@njit
def _log_beta_front(a, b, x):
    """``log(x^a (1-x)^b / B(a, b))``."""
    return (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
            + b * math.log1p(-x))


@njit
def _betainc_pair(a, b, x):
    """``(I_x(a, b), 1 - I_x(a, b))``, each computed without cancellation."""
    if x <= 0.0:
        return 0.0, 1.0
    if x >= 1.0:
        return 1.0, 0.0
    front = math.exp(_log_beta_front(a, b, x))
    if x < (a + 1.0) / (a + b + 2.0):
        lower = front * _beta_cf(a, b, x) / a
        return lower, 1.0 - lower
    upper = front * _beta_cf(b, a, 1.0 - x) / b
    return 1.0 - upper, upper


@njit
def betainc(a, b, x):
    """The regularised incomplete Beta function ``I_x(a, b)`` (a, b > 0, x in [0, 1])."""
    return _betainc_pair(a, b, x)[0]


@njit
def _beta_log_pdf(a, b, x):
    return (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + (a - 1.0) * math.log(x)
            + (b - 1.0) * math.log1p(-x))


@njit
def beta_upper_quantile(a, b, q, tol):
    """The ``x`` with ``P(X > x) = q`` for ``X ~ Beta(a, b)`` (a, b > 0, q in (0, 1)).

    Safeguarded Newton on ``1 - I_x(a, b) - q``; stops when the bracket or the step is below
    ``tol`` (absolute, in x) or after 200 steps.
    """
    lo, hi = 0.0, 1.0
    x = a / (a + b)
    for _ in range(200):
        upper = _betainc_pair(a, b, x)[1]
        f = upper - q                      # decreasing in x
        if f > 0.0:
            lo = x
        else:
            hi = x
        if f == 0.0 or hi - lo <= tol:
            break
        dens = math.exp(_beta_log_pdf(a, b, x)) if 0.0 < x < 1.0 else 0.0
        nxt = x
        step_ok = False
        if dens > 0.0 and math.isfinite(dens):
            nxt = x + f / dens
            step_ok = lo < nxt < hi
            if step_ok and abs(nxt - x) <= tol:
                x = nxt
                break
        x = nxt if step_ok else 0.5 * (lo + hi)
    return x


@njit
def normal_upper_quantile(q, tol):
    """The ``z`` with ``P(Z > z) = q`` for a standard normal ``Z`` (q in (0, 1)).

    Safeguarded Newton on ``erfc(z / sqrt 2) / 2 - q`` inside ``[-40, 40]``.
    """
    lo, hi = -40.0, 40.0
    z = math.sqrt(-2.0 * math.log(q)) if q < 0.5 else 0.0
    for _ in range(200):
        f = 0.5 * math.erfc(z / math.sqrt(2.0)) - q    # decreasing in z
        if f > 0.0:
            lo = z
        else:
            hi = z
        if f == 0.0 or hi - lo <= tol:
            break
        dens = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        nxt = z
        step_ok = False
        if dens > 0.0:
            nxt = z + f / dens
            step_ok = lo < nxt < hi
            if step_ok and abs(nxt - z) <= tol * max(1.0, abs(z)):
                z = nxt
                break
        z = nxt if step_ok else 0.5 * (lo + hi)
    return z
