"""KL-UCB for Bernoulli rewards (Garivier & Cappé, 2011).

Index of arm a after t rounds: the largest q with ``n_a * KL(mean_a || q) <= log t + c log log t``
(Bernoulli KL), found by bisection. Asymptotically optimal for Bernoulli arms (c = 3 in the
analysis; c = 0 is the variant recommended in practice).

References
----------
A. Garivier, O. Cappé. The KL-UCB algorithm for bounded stochastic bandits and beyond.
COLT 2011.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import Integer, Real
from banditlab.kernels.common import argmax_tiebreak, kl_ucb_bernoulli
from banditlab.policies._index import first_unpulled, init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels

__all__ = ["KLUCB"]


class KLUCBParams(NamedTuple):
    c: float           # weight of the log log t term, >= 0
    tol: float         # bisection tolerance, > 0


@njit
def select(params, state, rng):
    a = first_unpulled(state)
    if a >= 0:
        return a
    logt = np.log(state.t)
    budget = logt + params.c * np.log(max(logt, 1.0))
    n = state.counts.shape[0]
    index = state.scratch
    for i in range(n):
        index[i] = kl_ucb_bernoulli(state.sums[i] / state.counts[i], budget / state.counts[i],
                                    params.tol)
    return argmax_tiebreak(index, rng)


class KLUCB(Policy):
    """KL-UCB with the Bernoulli divergence (rewards in [0, 1]).

    Parameters
    ----------
    n_arms : int
    c : float, default 0.0
        Weight of the ``log log t`` term (>= 0).
    tol : float, default 1e-6
        Bisection tolerance of the index (in (0, 0.1]).
    """

    protocol = KARMED
    kernels = register_kernels(KLUCBParams, Kernels(init_counts, select, update_counts))
    constraints = {"n_arms": Integer(1, None), "c": Real(0.0, None),
                   "tol": Real(0.0, 0.1, closed="right")}
    _contract_kwargs = {"c": 0.0}

    def __init__(self, n_arms: int, *, c: float = 0.0, tol: float = 1e-6) -> None:
        v = self._validate(n_arms=n_arms, c=c, tol=tol)
        self.n_arms = v["n_arms"]
        self.params = KLUCBParams(v["c"], v["tol"])
