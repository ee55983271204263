"""Kernels shared by the fixed-budget best-arm identification policies."""

from __future__ import annotations

import numpy as np

from banditlab._jit import njit

__all__ = ["best_active", "count_pull", "rank_active", "recommend_survivor"]


@njit
def rank_active(active, n_active, scores, rng):
    """Reorder ``active[:n_active]`` by decreasing score, ties in uniformly random order.

    A Fisher–Yates shuffle with ``rng`` followed by a stable sort on the scores.
    """
    for i in range(n_active - 1, 0, -1):
        j = rng.integers(0, i + 1)
        tmp = active[i]
        active[i] = active[j]
        active[j] = tmp
    keys = np.empty(n_active)
    for i in range(n_active):
        keys[i] = -scores[active[i]]
    order = np.argsort(keys, kind="mergesort")
    ranked = active[:n_active][order]
    active[:n_active] = ranked


@njit
def best_active(active, n_active, counts, sums):
    """Active arm with the largest empirical mean (lowest position on ties); -1 if none pulled."""
    best = -np.inf
    best_a = active[0]
    for i in range(n_active):
        a = active[i]
        if counts[a] > 0:
            m = sums[a] / counts[a]
            if m > best:
                best = m
                best_a = a
    return best_a


@njit
def count_pull(params, state, arm, reward):
    """``update`` of the phase-based BAI policies: counts, sums and pulls made this phase."""
    state.counts[arm] += 1
    state.sums[arm] += reward
    state.ctrl[2] += 1
    return state


@njit
def recommend_survivor(params, state):
    """``recommend``: the last survivor, or the best empirical mean among the survivors."""
    if state.ctrl[0] == 1:
        return state.active[0]
    return best_active(state.active, state.ctrl[0], state.counts, state.sums)
