"""Whole-trajectory loops of the kernel engine, one per protocol.

Each loop is a skeleton with no algorithm logic: the policy's ``select``/``update`` kernels
(reached through the compile-time dispatch of :mod:`banditlab.protocols`) and the env's reward
kernels do all the work, so the Python engine, which calls the same kernels one step at a
time, gives bit-identical trajectories.
"""

from __future__ import annotations

import numpy as np

from banditlab._jit import njit
from banditlab.envs.kernels import (
    karmed_gap,
    karmed_reward,
    linear_best_mean,
    linear_context,
    linear_mean,
    linear_reward,
)
from banditlab.protocols import call_select, call_update

__all__ = ["run_contextual", "run_karmed"]


@njit
def run_karmed(params, state, rng, env, env_rng, horizon, checkpoints):
    """Play ``horizon`` rounds of a K-armed env.

    Returns ``(regret, pulls, state)``: cumulative pseudo-regret at each ``checkpoints`` entry
    (rounds, increasing, 1-based), pull counts ``int64[K]`` and the final policy state.
    """
    regret = np.zeros(checkpoints.shape[0])
    pulls = np.zeros(env.means.shape[0], np.int64)
    acc = 0.0
    j = 0
    for t in range(horizon):
        arm = call_select(params, state, rng)
        reward = karmed_reward(env, arm, t, env_rng)
        state = call_update(params, state, arm, reward)
        pulls[arm] += 1
        acc += karmed_gap(env, arm, t)
        while j < checkpoints.shape[0] and checkpoints[j] == t + 1:
            regret[j] = acc
            j += 1
    return regret, pulls, state


@njit
def run_contextual(params, state, rng, env, context, env_rng, horizon, checkpoints):
    """Play ``horizon`` rounds of a linear env from round 0's ``context`` (overwritten).

    Later contexts are drawn from ``env_rng`` exactly as the env's ``step`` draws them.
    """
    n_arms = context.shape[0]
    regret = np.zeros(checkpoints.shape[0])
    pulls = np.zeros(n_arms, np.int64)
    acc = 0.0
    j = 0
    for t in range(horizon):
        arm = call_select(params, state, context, rng)
        reward = linear_reward(env, context, arm, env_rng)
        state = call_update(params, state, arm, reward, context)
        pulls[arm] += 1
        acc += linear_best_mean(env, context) - linear_mean(env, context, arm)
        while j < checkpoints.shape[0] and checkpoints[j] == t + 1:
            regret[j] = acc
            j += 1
        if t + 1 < horizon:
            linear_context(env, env_rng, context)
    return regret, pulls, state


