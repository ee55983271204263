"""MOSS: the minimax optimal strategy in the stochastic case (Audibert & Bubeck, 2009).

Index of arm a after n_a pulls, for horizon T and K arms:
``mean_a + sqrt(max(log(T / (K n_a)), 0) / n_a)``; each arm is pulled once first and ties are
broken uniformly at random. Unlike UCB1 the bonus vanishes once an arm has more than ``T / K``
pulls, which removes the ``sqrt(log T)`` factor from the worst-case regret.

Guarantee (Audibert & Bubeck, 2009, Theorem 5): for rewards in [0, 1],
``sup E[R_T] <= 49 sqrt(T K)`` over all such instances
(:func:`banditlab.theory_checks.moss_regret_bound`).

References
----------
J.-Y. Audibert, S. Bubeck. Minimax policies for adversarial and stochastic bandits. COLT 2009.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, MAX_HORIZON, Integer
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policies._index import init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["MOSS"]


class MOSSParams(NamedTuple):
    horizon: int       # T, the number of rounds the policy is tuned for, >= 1


@njit
def select(params, state, rng):
    index = state.scratch
    k = index.shape[0]
    scale = params.horizon / k
    for i in range(k):
        n = state.counts[i]
        if n == 0:
            return i  # pull every arm once first, lowest index first
        inv_n = 1.0 / n
        index[i] = state.sums[i] * inv_n + np.sqrt(max(np.log(scale * inv_n), 0.0) * inv_n)
    return argmax_tiebreak(index, rng)


class MOSS(Policy):
    """MOSS for stochastic K-armed bandits with rewards in [0, 1] and a known horizon.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    horizon : int
        The horizon T the index is tuned for (>= 1); in experiment files and sweeps it is
        filled in from the run's horizon.

    Guarantee
    ---------
    ``E[R_T] <= 49 sqrt(T K)`` for rewards in [0, 1] (Audibert & Bubeck, 2009, Theorem 5).
    """

    protocol = KARMED
    kernels = register_kernels(MOSSParams, Kernels(init_counts, select, update_counts))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "horizon": Integer(1, MAX_HORIZON)}
    _contract_kwargs = {"horizon": 100}
    reward_model = RewardModel.bounded(0.0, 1.0)

    def __init__(self, n_arms: int, *, horizon: int) -> None:
        v = self._validate(n_arms=n_arms, horizon=horizon)
        self.n_arms = v["n_arms"]
        self.params = MOSSParams(v["horizon"])
