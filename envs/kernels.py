"""Numba kernels of the built-in bandit environments.

The Python ``step`` methods and the kernel engine call these same functions with the same
generator, so both engines see identical rewards. Each stochastic K-armed family draws a fixed
amount of randomness per step whatever the arm (one uniform for Bernoulli, one standard normal
for Gaussian), so two policies run with the same env seed face common random numbers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit

__all__ = [
    "ADVERSARIAL",
    "BERNOULLI",
    "BETA",
    "EXPONENTIAL",
    "GAUSSIAN",
    "POISSON",
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


@njit(inline="always")
def karmed_reward(env, arm, t, rng):
    """Reward of ``arm`` at round ``t`` (0-based), drawing the noise from ``rng``."""
    if env.kind == BERNOULLI:
        return 1.0 if rng.random() < env.means[arm] else 0.0
    if env.kind == GAUSSIAN:
        return env.means[arm] + env.scale_a[arm] * rng.standard_normal()
    if env.kind == BETA:
        return rng.beta(env.scale_a[arm], env.scale_b[arm])
    if env.kind == POISSON:
        return float(rng.poisson(env.means[arm]))
    if env.kind == EXPONENTIAL:
        return rng.exponential(env.means[arm])
    return env.table[t, arm]


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
