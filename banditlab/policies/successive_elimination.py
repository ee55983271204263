"""Successive elimination (Even-Dar, Mannor & Mansour, 2006), regret-minimisation form.

Active arms are pulled in round-robin order. After every complete round, in which each active
arm has ``n`` samples, arm a is eliminated when ``mean_a + r_n < max_b mean_b - r_n`` with
``r_n = sqrt(log(4 K n^2 / delta) / (2 n))`` (rewards in [0, 1]); with probability at least
``1 - delta`` the best arm is never eliminated. Once one arm is left it is played forever.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Real
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["SuccessiveElimination"]


class SEParams(NamedTuple):
    delta: float           # confidence, in (0, 1)


class SEState(NamedTuple):
    active: np.ndarray     # int64[n_arms]; active arm ids in active[:n_active]
    n_active: int
    pos: int               # position in the current round
    counts: np.ndarray     # int64[n_arms]
    sums: np.ndarray       # float64[n_arms]


def init(params: SEParams, n_arms: int) -> SEState:
    return SEState(np.arange(n_arms, dtype=np.int64), n_arms, 0, np.zeros(n_arms, np.int64),
                   np.zeros(n_arms))


@njit
def select(params, state, rng):
    return state.active[state.pos]


@njit
def update(params, state, arm, reward):
    state.counts[arm] += 1
    state.sums[arm] += reward
    pos = state.pos + 1
    n_active = state.n_active
    if pos == n_active:
        pos = 0
        if n_active > 1:
            k = state.counts.shape[0]
            n = state.counts[state.active[0]]
            radius = np.sqrt(np.log(4.0 * k * n * n / params.delta) / (2.0 * n))
            best = -np.inf
            for i in range(n_active):
                a = state.active[i]
                best = max(best, state.sums[a] / n)
            kept = 0
            for i in range(n_active):
                a = state.active[i]
                if state.sums[a] / n + radius >= best - radius:
                    state.active[kept] = a
                    kept += 1
            n_active = kept
    return SEState(state.active, n_active, pos, state.counts, state.sums)


class SuccessiveElimination(Policy):
    """Successive elimination for stochastic bandits with rewards in [0, 1].

    Parameters
    ----------
    n_arms : int
    delta : float, default 0.05
        Confidence level in (0, 1).

    References
    ----------
    E. Even-Dar, S. Mannor, Y. Mansour. Action elimination and stopping conditions for the
    multi-armed bandit and reinforcement learning problems. JMLR 7, 2006.
    """

    protocol = KARMED
    kernels = register_kernels(SEParams, Kernels(init, select, update))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "delta": Real(0.0, 1.0, closed="neither")}
    _contract_kwargs = {"delta": 0.1}
    reward_model = RewardModel.bounded(0.0, 1.0)

    def __init__(self, n_arms: int, *, delta: float = 0.05) -> None:
        v = self._validate(n_arms=n_arms, delta=delta)
        self.n_arms = v["n_arms"]
        self.params = SEParams(v["delta"])
