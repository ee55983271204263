"""Epsilon-greedy, with a constant or a decaying exploration rate.

After each arm has been pulled once, explore (a uniform arm) with probability ``eps_t`` and
otherwise play the best empirical mean (ties at random). ``schedule='decaying'`` uses
``eps_t = min(1, epsilon * n_arms / t)``, the epsilon_n-greedy rule of Auer et al. (2002),
which has logarithmic regret when ``epsilon`` is large enough relative to the smallest gap.
"""

from __future__ import annotations

from typing import NamedTuple

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Options, Real
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policies._index import first_unpulled, init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["EpsilonGreedy"]

_SCHEDULES = ("constant", "decaying")


class EpsilonGreedyParams(NamedTuple):
    epsilon: float     # exploration rate (constant) or scale (decaying)
    decaying: int      # 0: constant rate, 1: epsilon * K / t


@njit
def select(params, state, rng):
    a = first_unpulled(state)
    if a >= 0:
        return a
    n = state.counts.shape[0]
    eps = params.epsilon
    if params.decaying == 1:
        eps = min(1.0, params.epsilon * n / state.t)
    if rng.random() < eps:
        return rng.integers(0, n)
    means = state.scratch
    for i in range(n):
        means[i] = state.sums[i] / state.counts[i]
    return argmax_tiebreak(means, rng)


class EpsilonGreedy(Policy):
    """Epsilon-greedy.

    Parameters
    ----------
    n_arms : int
    epsilon : float, default 0.1
        Exploration probability in [0, 1] (``'constant'``) or scale > 0 (``'decaying'``).
    schedule : {'constant', 'decaying'}, default 'constant'

    References
    ----------
    R. Sutton, A. Barto. Reinforcement Learning: An Introduction, 2nd ed., 2018, §2.2;
    P. Auer et al. (2002), epsilon_n-greedy.
    """

    protocol = KARMED
    kernels = register_kernels(EpsilonGreedyParams, Kernels(init_counts, select, update_counts))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "epsilon": Real(0.0, None),
                   "schedule": Options(_SCHEDULES)}
    _contract_kwargs = {"epsilon": 0.2}

    def __init__(self, n_arms: int, *, epsilon: float = 0.1, schedule: str = "constant") -> None:
        v = self._validate(n_arms=n_arms, epsilon=epsilon, schedule=schedule)
        if v["schedule"] == "constant" and v["epsilon"] > 1.0:
            raise ValueError(f"EpsilonGreedy: 'epsilon' must be a float in [0, 1] with "
                             f"schedule='constant'; got {epsilon!r}.")
        self.n_arms = v["n_arms"]
        self.params = EpsilonGreedyParams(v["epsilon"], _SCHEDULES.index(v["schedule"]))
        # the decaying schedule's guarantee (Auer et al., 2002, Theorem 3) is for [0, 1]
        self.reward_model = (RewardModel.any() if v["schedule"] == "constant"
                             else RewardModel.bounded(0.0, 1.0))
