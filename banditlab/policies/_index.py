"""State and kernels shared by the index policies (empirical counts and sums)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit

__all__ = ["CountsState", "first_unpulled", "init_counts", "update_counts"]


class CountsState(NamedTuple):
    t: int                 # rounds played
    counts: np.ndarray     # int64[n_arms]; pulls per arm
    sums: np.ndarray       # float64[n_arms]; summed rewards per arm
    scratch: np.ndarray    # float64[n_arms]; workspace for indices (no allocation per round)


def init_counts(params: object, n_arms: int) -> CountsState:
    return CountsState(0, np.zeros(n_arms, np.int64), np.zeros(n_arms), np.zeros(n_arms))


@njit
def first_unpulled(state):
    """The lowest-index arm never pulled, or -1 (index policies pull each arm once first)."""
    for a in range(state.counts.shape[0]):
        if state.counts[a] == 0:
            return a
    return -1


@njit
def update_counts(params, state, arm, reward):
    state.counts[arm] += 1
    state.sums[arm] += reward
    return CountsState(state.t + 1, state.counts, state.sums, state.scratch)
