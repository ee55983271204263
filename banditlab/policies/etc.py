"""Explore-then-commit: m pulls of every arm in round-robin order, then the best empirical arm.

With ``m`` tuned to the gap, regret is ``O(K log T / gap)`` (Lattimore & Szepesvári, 2020,
Theorem 6.1 gives ``R_T <= m sum gap + (T - mK) sum gap exp(-m gap^2 / 4)`` for 1-subgaussian
rewards).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, MAX_HORIZON, Integer
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["ExploreThenCommit"]


class ETCParams(NamedTuple):
    m: int             # exploration pulls per arm, >= 1


class ETCState(NamedTuple):
    t: int
    counts: np.ndarray     # int64[n_arms]
    sums: np.ndarray       # float64[n_arms]
    committed: int         # committed arm, -1 while exploring


def init(params: ETCParams, n_arms: int) -> ETCState:
    return ETCState(0, np.zeros(n_arms, np.int64), np.zeros(n_arms), -1)


@njit
def select(params, state, rng):
    n = state.counts.shape[0]
    if state.t < params.m * n:
        return state.t % n
    if state.committed >= 0:
        return state.committed
    return argmax_tiebreak(state.sums / state.counts, rng)


@njit
def update(params, state, arm, reward):
    state.counts[arm] += 1
    state.sums[arm] += reward
    committed = state.committed
    if committed < 0 and state.t >= params.m * state.counts.shape[0]:
        committed = arm  # the first post-exploration choice is the commitment
    return ETCState(state.t + 1, state.counts, state.sums, committed)


class ExploreThenCommit(Policy):
    """Explore-then-commit.

    Parameters
    ----------
    n_arms : int
    m : int, default 10
        Pulls of every arm before committing, in [1, 2**62 // n_arms]: the exploration phase,
        ``m * n_arms`` rounds, is counted in int64 and may not exceed the largest horizon
        (``MAX_HORIZON`` = 2**62).

    References
    ----------
    T. Lattimore, C. Szepesvári. Bandit Algorithms, Cambridge University Press, 2020, ch. 6.
    """

    protocol = KARMED
    kernels = register_kernels(ETCParams, Kernels(init, select, update))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "m": Integer(1, MAX_HORIZON)}
    _contract_kwargs = {"m": 3}
    # Lattimore & Szepesvari (2020), Theorem 6.1: 1-sub-Gaussian rewards
    reward_model = RewardModel.subgaussian(1.0)

    def __init__(self, n_arms: int, *, m: int = 10) -> None:
        v = self._validate(n_arms=n_arms, m=m)
        self.n_arms = v["n_arms"]
        if v["m"] * self.n_arms > MAX_HORIZON:
            raise ValueError(f"ExploreThenCommit: 'm' must be an int in "
                             f"[1, {MAX_HORIZON // self.n_arms}] (m * n_arms exploration rounds, "
                             f"at most 2**62, with n_arms={self.n_arms}); got {m!r}.")
        self.params = ETCParams(v["m"])
