"""Uniform exploration: round-robin or i.i.d. uniform arms (the no-learning baseline).

Pseudo-regret is linear in T: ``T * mean(gaps)``. It is the canary of the theory checks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Options
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["Uniform"]

_MODES = ("round_robin", "random")


class UniformParams(NamedTuple):
    mode: int          # 0: round-robin, 1: uniform at random


class UniformState(NamedTuple):
    t: int             # rounds played
    n_arms: int


def init(params: UniformParams, n_arms: int) -> UniformState:
    return UniformState(0, n_arms)


@njit
def select(params, state, rng):
    if params.mode == 0:
        return state.t % state.n_arms
    return rng.integers(0, state.n_arms)


@njit
def update(params, state, arm, reward):
    return UniformState(state.t + 1, state.n_arms)


@njit
def action_probabilities(params, state):
    p = np.zeros(state.n_arms)
    if params.mode == 0:
        p[state.t % state.n_arms] = 1.0
    else:
        p[:] = 1.0 / state.n_arms
    return p


class Uniform(Policy):
    """Uniform exploration.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    mode : {'round_robin', 'random'}, default 'round_robin'
        Cycle through the arms in order, or draw each arm uniformly at random.
    """

    protocol = KARMED
    kernels = register_kernels(UniformParams, Kernels(init, select, update,
                                                      action_probabilities=action_probabilities))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "mode": Options(_MODES)}
    _contract_kwargs = {"mode": "random"}
    reward_model = RewardModel.any()

    def __init__(self, n_arms: int, *, mode: str = "round_robin") -> None:
        v = self._validate(n_arms=n_arms, mode=mode)
        self.n_arms = v["n_arms"]
        self.params = UniformParams(_MODES.index(v["mode"]))
