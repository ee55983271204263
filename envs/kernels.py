"""Numba kernels of the built-in bandit environments.

The Python ``step`` methods and the kernel engine call these same functions with the same
generator, so both engines see identical rewards. Each stochastic K-armed family draws a fixed
amount of randomness per step whatever the arm (one uniform for Bernoulli, one standard normal
for Gaussian), so two policies run with the same env seed face common random numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import overload

from banditlab._jit import njit

__all__ = [
    "ADVERSARIAL",
    "BERNOULLI",
    "BETA",
    "EXPONENTIAL",
    "GAUSSIAN",
    "POISSON",
    "BernoulliArrays",
    "KArmedArrays",
    "LinearArrays",
    "as_python",
    "karmed_best_mean",
    "karmed_gap",
    "karmed_mean",
    "karmed_reward",
    "linear_best_mean",
    "linear_context",
    "linear_mean",
    "linear_reward",
]

BERNOULLI = 0
GAUSSIAN = 1
BETA = 2
ADVERSARIAL = 3
POISSON = 4
EXPONENTIAL = 5


def as_python(kernel):
    """The plain-Python body of an ``@njit`` kernel (the kernel itself when JIT is disabled).

    Calling a compiled kernel from Python costs ~2 µs of argument unboxing, ~15 µs when a
    ``Generator`` is passed. The Python ``step`` of the K-armed envs therefore runs the same
    source as the kernel engine through the interpreter: one source of truth, and the draws are
    the same because Numba reproduces NumPy's ``Generator`` streams exactly (the engine-equality
    tests check this for every env family).
    """
    return getattr(kernel, "py_func", kernel)


class KArmedArrays(NamedTuple):
    """Plain-array description of a K-armed env, as the kernels see it."""

    kind: int            # BERNOULLI, GAUSSIAN, BETA, ADVERSARIAL, POISSON or EXPONENTIAL
    means: np.ndarray    # float64[K]; expected rewards (for ADVERSARIAL: mean over the table)
    scale_a: np.ndarray  # float64[K]; Gaussian: noise sd; Beta: first shape parameter
    scale_b: np.ndarray  # float64[K]; Beta: second shape parameter (unused otherwise)
    table: np.ndarray    # float64[T, K]; ADVERSARIAL reward table (shape (0, K) otherwise)
    best_arm: int        # arm with the largest mean (for ADVERSARIAL: largest column sum)
    best_mean: float     # means[best_arm]


class LinearArrays(NamedTuple):
    """Plain-array description of a linear (contextual) bandit."""

    theta: np.ndarray      # float64[d]; unknown parameter
    features: np.ndarray   # float64[K, d]; fixed arm features (used when draw_features == 0)
    misspec: np.ndarray    # float64[K]; additive misspecification of each arm's mean
    noise_sd: float        # sd of the Gaussian reward noise
    draw_features: int     # 1: fresh unit-norm Gaussian features every round; 0: fixed


# -- the Bernoulli family has a class of its own --------------------------------------------
# Numba types each NamedTuple class as its own type, so a kernel compiled for a Bernoulli env
# (a BernoulliArrays) draws its rewards with the Bernoulli code only: it neither compiles nor
# carries NumPy's Beta, Poisson, normal or exponential samplers, which every kernel compiled
# for the plain KArmedArrays does (each family behind a branch on ``kind``). Only Bernoulli,
# the family of most runs, gets its own class: one class per family would compile every
# policy's loop once per family it meets, which cost the test suite about half as much again
# (88 loops instead of 15 on its contract tests) for what the other families would gain.
class BernoulliArrays(KArmedArrays):
    """:class:`KArmedArrays` of a Bernoulli env (``kind == BERNOULLI``)."""

    __slots__ = ()


@njit(inline="always")
def _draw_bernoulli(env, arm, t, rng):
    return 1.0 if rng.random() < env.means[arm] else 0.0


@njit(inline="always")
def _draw_gaussian(env, arm, t, rng):
    return env.means[arm] + env.scale_a[arm] * rng.standard_normal()


@njit(inline="always")
def _draw_beta(env, arm, t, rng):
    return rng.beta(env.scale_a[arm], env.scale_b[arm])


@njit(inline="always")
def _draw_table(env, arm, t, rng):
    return env.table[t, arm]


@njit(inline="always")
def _draw_poisson(env, arm, t, rng):
    return float(rng.poisson(env.means[arm]))


@njit(inline="always")
def _draw_exponential(env, arm, t, rng):
    return rng.exponential(env.means[arm])


_DRAWS = {BERNOULLI: _draw_bernoulli, GAUSSIAN: _draw_gaussian, BETA: _draw_beta,
          ADVERSARIAL: _draw_table, POISSON: _draw_poisson, EXPONENTIAL: _draw_exponential}
_PY_DRAWS = {kind: as_python(draw) for kind, draw in _DRAWS.items()}


@njit(inline="always")
def _draw_any(env, arm, t, rng):
    if env.kind == BERNOULLI:
        return _draw_bernoulli(env, arm, t, rng)
    if env.kind == GAUSSIAN:
        return _draw_gaussian(env, arm, t, rng)
    if env.kind == BETA:
        return _draw_beta(env, arm, t, rng)
    if env.kind == POISSON:
        return _draw_poisson(env, arm, t, rng)
    if env.kind == EXPONENTIAL:
        return _draw_exponential(env, arm, t, rng)
    return _draw_table(env, arm, t, rng)


def _draw(env, arm, t, rng):
    """The draw of ``env``'s family (in Python: looked up by ``kind``)."""
    return _PY_DRAWS.get(env.kind, _PY_DRAWS[ADVERSARIAL])(env, arm, t, rng)


@overload(_draw, inline="always")
def _draw_compiled(env, arm, t, rng):
    # the Bernoulli draw alone for a BernoulliArrays; else every family behind a branch
    cls = getattr(env, "instance_class", None)
    draw = _draw_bernoulli if cls is BernoulliArrays else _draw_any
    return lambda env, arm, t, rng: draw(env, arm, t, rng)


@njit(inline="always")
def karmed_reward(env, arm, t, rng):
    """Reward of ``arm`` at round ``t`` (0-based), drawing the noise from ``rng``.

    Bernoulli: one uniform; Gaussian: one standard normal; Beta, Poisson, exponential: NumPy's
    sampler of the law; a reward table: its entry, no draw. Compiled for a
    :class:`BernoulliArrays`, the kernel holds the Bernoulli draw only.
    """
    return _draw(env, arm, t, rng)


@njit
def karmed_mean(env, arm, t):
    """Expected reward of ``arm`` at round ``t`` (the table entry for an oblivious adversary)."""
    if env.kind == ADVERSARIAL:
        return env.table[t, arm]
    return env.means[arm]


@njit
def karmed_best_mean(env, t):
    """Expected reward of the comparator at round ``t``: the best arm (in hindsight for tables)."""
    if env.kind == ADVERSARIAL:
        return env.table[t, env.best_arm]
    return env.best_mean


@njit
def karmed_gap(env, arm, t):
    """Pseudo-regret of pulling ``arm`` at round ``t``:
    ``karmed_best_mean(env, t) - karmed_mean(env, arm, t)``, the same two reads and one
    subtraction (so the Python engine, which subtracts the env's two oracle methods, gets the
    same bits).

    The kernel engine's loop calls this one plain function rather than the two above: with
    them, Numba took an extra reference to each of the env's four arrays around every round
    (about 11 ns per step on UCB1, a fifth of the loop, measured in one process against this
    form; see benchmarks/README.md).
    """
    if env.kind == ADVERSARIAL:
        return env.table[t, env.best_arm] - env.table[t, arm]
    return env.best_mean - env.means[arm]


@njit
def linear_context(env, rng, out):
    """Write this round's arm features into ``out`` (float64[K, d])."""
    n_arms, dim = out.shape
    if env.draw_features == 0:
        out[:, :] = env.features
        return
    for a in range(n_arms):
        norm = 0.0
        for j in range(dim):
            z = rng.standard_normal()
            out[a, j] = z
            norm += z * z
        norm = np.sqrt(norm)
        if norm > 0.0:
            for j in range(dim):
                out[a, j] /= norm


@njit
def linear_mean(env, context, arm):
    """Expected reward <theta, x_arm> + misspec[arm], summed in index order."""
    s = 0.0
    for j in range(env.theta.shape[0]):
        s += env.theta[j] * context[arm, j]
    return s + env.misspec[arm]


@njit
def linear_best_mean(env, context):
    """Largest expected reward over the arms of ``context``."""
    best = -np.inf
    for a in range(context.shape[0]):
        m = linear_mean(env, context, a)
        if m > best:
            best = m
    return best


@njit
def linear_reward(env, context, arm, rng):
    """Noisy reward: expected reward plus one Gaussian draw (drawn even when noise_sd == 0)."""
    return linear_mean(env, context, arm) + env.noise_sd * rng.standard_normal()
