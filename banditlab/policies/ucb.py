"""UCB1 with an exploration scale (Auer, Cesa-Bianchi & Fischer, 2002).

Index of arm a after t rounds: ``mean_a + sqrt(alpha * log(t) / n_a)``; each arm is pulled
once first and ties are broken uniformly at random. ``alpha = 2`` is UCB1 as analysed in
Auer et al. (2002), Theorem 1: for rewards in [0, 1],
``E[R_T] <= sum_{a: gap_a > 0} 8 log(T) / gap_a + (1 + pi^2 / 3) sum_a gap_a``.

References
----------
P. Auer, N. Cesa-Bianchi, P. Fischer. Finite-time analysis of the multiarmed bandit problem.
Machine Learning 47, 235–256, 2002.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import Integer, Real
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policies._index import init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels

__all__ = ["UCB"]


class UCBParams(NamedTuple):
    alpha: float       # exploration scale, > 0


@njit
def select(params, state, rng):
    bonus = params.alpha * np.log(max(state.t, 1))
    index = state.scratch
    for i in range(index.shape[0]):
        n = state.counts[i]
        if n == 0:
            return i  # pull every arm once first, lowest index first
        inv_n = 1.0 / n
        index[i] = state.sums[i] * inv_n + np.sqrt(bonus * inv_n)
    return argmax_tiebreak(index, rng)


class UCB(Policy):
    """UCB1 for stochastic K-armed bandits with rewards in [0, 1].

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 1).
    alpha : float, default 2.0
        Exploration scale (> 0); 2.0 gives UCB1's ``sqrt(2 log t / n)`` bonus.

    Guarantee
    ---------
    ``alpha=2``: ``E[R_T] <= sum 8 log T / gap + (1 + pi^2/3) sum gap`` (Auer et al., 2002).
    """

    protocol = KARMED
    kernels = register_kernels(UCBParams, Kernels(init_counts, select, update_counts))
    constraints = {"n_arms": Integer(1, None), "alpha": Real(0.0, None, closed="neither")}
    _contract_kwargs = {"alpha": 2.0}

    def __init__(self, n_arms: int, *, alpha: float = 2.0) -> None:
        v = self._validate(n_arms=n_arms, alpha=alpha)
        self.n_arms = v["n_arms"]
        self.params = UCBParams(v["alpha"])
