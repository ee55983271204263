"""Sequential Halving for fixed-budget best-arm identification (Karnin, Koren & Somekh, 2013).

With budget T and K arms, run ``R = ceil(log2 K)`` rounds. In round r every surviving arm is
pulled ``floor(T / (|S_r| R))`` times (round-robin), and the better half
(``ceil(|S_r| / 2)`` arms, by the empirical means **of that round**, ties at random) survives.
The last survivor is recommended; leftover budget from the floors is spent on it.

Guarantee (Karnin et al., 2013, Theorem 4.1): the probability of not recommending the best arm
is at most ``3 log2(K) exp(-T / (8 log2(K) H2))`` with ``H2 = max_i i / gap_(i)^2`` (gaps sorted
increasingly, the best arm excluded).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, MAX_HORIZON, Integer
from banditlab.policies._bai import count_pull, rank_active, recommend_survivor
from banditlab.policy import Policy
from banditlab.protocols import FIXED_BUDGET_BAI, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["SequentialHalving"]


class SHParams(NamedTuple):
    budget: int        # total pulls T
    n_rounds: int      # ceil(log2 K)


class SHState(NamedTuple):
    active: np.ndarray     # int64[K]; survivors in active[:ctrl[0]], best-ranked first
    ctrl: np.ndarray       # int64[3]; [survivors, pulls per survivor this round, pulls made]
    counts: np.ndarray     # int64[K]; pulls in the current round
    sums: np.ndarray       # float64[K]; rewards in the current round


def init(params: SHParams, n_arms: int) -> SHState:
    ctrl = np.array([n_arms, params.budget // (n_arms * params.n_rounds), 0], dtype=np.int64)
    return SHState(np.arange(n_arms, dtype=np.int64), ctrl, np.zeros(n_arms, np.int64),
                   np.zeros(n_arms))


@njit
def select(params, state, rng):
    n = state.ctrl[0]
    if n > 1 and state.ctrl[2] == state.ctrl[1] * n:
        # The round is over: keep the better half by this round's means (random ties).
        means = np.zeros(state.counts.shape[0])
        for i in range(n):
            a = state.active[i]
            means[a] = state.sums[a] / state.counts[a]
        rank_active(state.active, n, means, rng)
        n = (n + 1) // 2
        state.ctrl[0] = n
        state.ctrl[1] = params.budget // (n * params.n_rounds) if n > 1 else 0
        state.ctrl[2] = 0
        state.counts[:] = 0
        state.sums[:] = 0.0
    if n == 1:
        return state.active[0]
    return state.active[state.ctrl[2] % n]


class SequentialHalving(Policy):
    """Sequential Halving (fixed budget).

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 2).
    budget : int
        Total number of pulls T; at least ``n_arms * ceil(log2 n_arms)`` so that every round
        pulls each survivor at least once. Run it with ``horizon = budget``.

    References
    ----------
    Z. Karnin, T. Koren, O. Somekh. Almost optimal exploration in multi-armed bandits.
    ICML 2013.
    """

    protocol = FIXED_BUDGET_BAI
    kernels = register_kernels(SHParams, Kernels(init, select, count_pull,
                                                 recommend=recommend_survivor))
    constraints = {"n_arms": Integer(2, MAX_ARMS), "budget": Integer(1, MAX_HORIZON)}
    _contract_kwargs = {"budget": 64}
    reward_model = RewardModel.bounded(0.0, 1.0)

    def __init__(self, n_arms: int, *, budget: int) -> None:
        v = self._validate(n_arms=n_arms, budget=budget)
        rounds = math.ceil(math.log2(v["n_arms"]))
        if v["budget"] < v["n_arms"] * rounds:
            raise ValueError(f"SequentialHalving: 'budget' must be an int in "
                             f"[{v['n_arms'] * rounds}, inf) (n_arms * ceil(log2 n_arms)); "
                             f"got {budget!r}.")
        self.n_arms = v["n_arms"]
        self.params = SHParams(v["budget"], rounds)
