"""UCB1 with an exploration scale and a sub-Gaussian noise scale (Auer et al., 2002).

Index of arm a after t rounds: ``mean_a + 2 sigma sqrt(alpha * log(t) / n_a)``; each arm is
pulled once first and ties are broken uniformly at random. ``alpha = 2``, ``sigma = 1/2`` is
UCB1 as analysed in Auer et al. (2002), Theorem 1: for rewards in [0, 1],
``E[R_T] <= sum_{a: gap_a > 0} 8 log(T) / gap_a + (1 + pi^2 / 3) sum_a gap_a``.

Rewards in [0, 1] are 1/2-sub-Gaussian (Hoeffding's lemma), and the proof of Theorem 1 uses
only the tail ``P(mean - mu >= eps) <= exp(-n eps^2 / (2 sigma^2))``; with the bonus scaled by
``2 sigma`` the same steps give, for ``sigma``-sub-Gaussian rewards and ``alpha = 2``,
``E[R_T] <= sum 32 sigma^2 log(T) / gap_a + (1 + pi^2 / 3) sum gap_a``
(:func:`banditlab.theory_checks.ucb_regret_bound`).

References
----------
P. Auer, N. Cesa-Bianchi, P. Fischer. Finite-time analysis of the multiarmed bandit problem.
Machine Learning 47, 235–256, 2002.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Real
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policies._index import init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import ENV_SIGMA, RewardModel

__all__ = ["UCB"]


class UCBParams(NamedTuple):
    alpha: float       # exploration scale, > 0
    sigma: float       # sub-Gaussian scale of the rewards, > 0


@njit
def select(params, state, rng):
    bonus = params.alpha * np.log(max(state.t, 1))
    scale = 2.0 * params.sigma  # 1.0 for rewards in [0, 1]: the bits of plain UCB1
    index = state.scratch
    for i in range(index.shape[0]):
        n = state.counts[i]
        if n == 0:
            return i  # pull every arm once first, lowest index first
        inv_n = 1.0 / n
        width = np.sqrt(bonus * inv_n)
        # (log 1 = 0: no bonus, also when 2 * sigma overflows to inf)
        index[i] = state.sums[i] * inv_n + (scale * width if width > 0.0 else 0.0)
    return argmax_tiebreak(index, rng)


class UCB(Policy):
    """UCB1 for stochastic K-armed bandits with sigma-sub-Gaussian rewards.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    alpha : float, default 2.0
        Exploration scale (> 0); 2.0 gives UCB1's ``sqrt(2 log t / n)`` bonus.
    sigma : float, default 0.5
        Sub-Gaussian scale of the reward noise (> 0). 0.5 covers every reward in [0, 1]
        (UCB1); use the noise standard deviation for Gaussian rewards.

    Guarantee
    ---------
    ``alpha=2``: ``E[R_T] <= sum 32 sigma^2 log T / gap + (1 + pi^2/3) sum gap``; with
    ``sigma = 1/2`` this is Auer et al. (2002), Theorem 1.
    """

    protocol = KARMED
    kernels = register_kernels(UCBParams, Kernels(init_counts, select, update_counts))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "alpha": Real(0.0, None, closed="neither"),
                   "sigma": Real(0.0, None, closed="neither")}
    _contract_kwargs = {"alpha": 2.0}
    reward_variants = ({}, {"sigma": ENV_SIGMA})

    def __init__(self, n_arms: int, *, alpha: float = 2.0, sigma: float = 0.5) -> None:
        v = self._validate(n_arms=n_arms, alpha=alpha, sigma=sigma)
        self.n_arms = v["n_arms"]
        self.params = UCBParams(v["alpha"], v["sigma"])
        self.reward_model = RewardModel.subgaussian(v["sigma"])
