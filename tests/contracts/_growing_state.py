"""A canary algorithm for the state-stability check: its scratch array grows every round.

Engines agree (both run the same kernels); only the state's structure changes. Kept in a
module of its own so that its kernels are cached like any user's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import Integer
from banditlab.policies._index import CountsState, init_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels


class GrowingParams(NamedTuple):
    unused: float


@njit
def select(params, state, rng):
    return state.t % state.counts.shape[0]


@njit
def update(params, state, arm, reward):
    state.counts[arm] += 1
    state.sums[arm] += reward
    grown = np.zeros(state.scratch.shape[0] + 1)
    return CountsState(state.t + 1, state.counts, state.sums, grown)


class GrowingState(Policy):
    """Canary: round robin whose state grows every round."""

    protocol = KARMED
    kernels = register_kernels(GrowingParams, Kernels(init_counts, select, update), KARMED)
    constraints = {"n_arms": Integer(1, None)}

    def __init__(self, n_arms: int) -> None:
        v = self._validate(n_arms=n_arms)
        self.n_arms = v["n_arms"]
        self.params = GrowingParams(0.0)
