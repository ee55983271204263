"""Successive Rejects for fixed-budget best-arm identification (Audibert & Bubeck, 2010).

With budget T and K arms, let ``logbar(K) = 1/2 + sum_{i=2}^K 1/i`` and
``n_k = ceil((T - K) / (logbar(K) (K + 1 - k)))`` for k = 1..K-1 (``n_0 = 0``). In phase k every
surviving arm is pulled until it has ``n_k`` samples; then the arm with the lowest empirical mean
(all its samples; ties at random) is rejected. The survivor of phase K-1 is recommended;
leftover budget is spent on it.

Guarantee (Audibert & Bubeck, 2010, Theorem 2): the error probability is at most
``K (K - 1) / 2 * exp(-(T - K) / (logbar(K) H2))`` with ``H2 = max_i i / gap_(i)^2``.
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

__all__ = ["SuccessiveRejects"]


class SRParams(NamedTuple):
    budget: int            # total pulls T


class SRState(NamedTuple):
    active: np.ndarray     # int64[K]; survivors in active[:ctrl[0]]
    ctrl: np.ndarray       # int64[3]; [survivors, phase k (1-based), pulls made this phase]
    n_k: np.ndarray        # int64[K]; n_k[k] samples per survivor at the end of phase k
    counts: np.ndarray     # int64[K]
    sums: np.ndarray       # float64[K]


def sample_schedule(budget: int, n_arms: int) -> np.ndarray:
    """``n_k`` for k = 0..K-1 (``n_0 = 0``), as in Audibert & Bubeck (2010)."""
    logbar = 0.5 + sum(1.0 / i for i in range(2, n_arms + 1))
    n_k = np.zeros(n_arms, dtype=np.int64)
    for k in range(1, n_arms):
        n_k[k] = math.ceil((budget - n_arms) / (logbar * (n_arms + 1 - k)))
    return n_k


def init(params: SRParams, n_arms: int) -> SRState:
    return SRState(np.arange(n_arms, dtype=np.int64), np.array([n_arms, 1, 0], dtype=np.int64),
                   sample_schedule(params.budget, n_arms), np.zeros(n_arms, np.int64),
                   np.zeros(n_arms))


@njit
def select(params, state, rng):
    n = state.ctrl[0]
    # End every finished phase (a phase may ask for no new pulls when the budget is small).
    while n > 1 and state.ctrl[2] >= (state.n_k[state.ctrl[1]] - state.n_k[state.ctrl[1] - 1]) * n:
        means = np.zeros(state.counts.shape[0])
        for i in range(n):
            a = state.active[i]
            means[a] = state.sums[a] / state.counts[a] if state.counts[a] > 0 else 0.0
        rank_active(state.active, n, means, rng)
        n -= 1
        state.ctrl[0] = n
        state.ctrl[1] += 1
        state.ctrl[2] = 0
    if n == 1:
        return state.active[0]
    return state.active[state.ctrl[2] % n]


class SuccessiveRejects(Policy):
    """Successive Rejects (fixed budget).

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 2).
    budget : int
        Total number of pulls T (>= n_arms). Run it with ``horizon = budget``.

    References
    ----------
    J.-Y. Audibert, S. Bubeck. Best arm identification in multi-armed bandits. COLT 2010.
    """

    protocol = FIXED_BUDGET_BAI
    kernels = register_kernels(SRParams, Kernels(init, select, count_pull,
                                                 recommend=recommend_survivor))
    constraints = {"n_arms": Integer(2, MAX_ARMS), "budget": Integer(1, MAX_HORIZON)}
    _contract_kwargs = {"budget": 60}
    reward_model = RewardModel.bounded(0.0, 1.0)

    def __init__(self, n_arms: int, *, budget: int) -> None:
        v = self._validate(n_arms=n_arms, budget=budget)
        if v["budget"] < v["n_arms"]:
            raise ValueError(f"SuccessiveRejects: 'budget' must be an int in "
                             f"[{v['n_arms']}, inf) (at least n_arms); got {budget!r}.")
        self.n_arms = v["n_arms"]
        self.params = SRParams(v["budget"])
