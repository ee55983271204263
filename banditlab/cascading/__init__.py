"""Cascading reinforcement learning (Du, Srikant & Chen, ICLR 2024).

The ``EPISODIC`` and ``EPISODIC_BPI`` protocols: an agent plans a ranked list per step and
state for each episode and learns from the user's clicks. Split by role:

* :mod:`banditlab.cascading.kernels`: the agents' ``plan``/``update`` kernels and the two loops;
* :mod:`banditlab.cascading.algorithms`: the shells (CascadingVI and its ablations,
  CascadingBPI, AdaptVI, AdaptBPI) and the oracle fronts (BestPerm, value iteration);
* :mod:`banditlab.cascading.runner`: :func:`run_episodes`, many seeded runs.

The environment and the model's kernels are in :mod:`banditlab.envs.cascading` and
:mod:`banditlab.envs.cascading_kernels`.
"""

from __future__ import annotations

from banditlab.cascading.algorithms import (
    AdaptBPI,
    AdaptVI,
    BPIResult,
    CascadingAgent,
    CascadingBPI,
    CascadingVI,
    CascadingVIBonus,
    CascadingVIBothHoeffding,
    CascadingVIOracle,
    best_list_brute_force,
    best_perm,
    enumerate_lists,
    evaluate_policy,
    list_value_of,
    value_iteration,
)
from banditlab.cascading.runner import run_episodes

__all__ = [
    "AdaptBPI",
    "AdaptVI",
    "BPIResult",
    "CascadingAgent",
    "CascadingBPI",
    "CascadingVI",
    "CascadingVIBonus",
    "CascadingVIBothHoeffding",
    "CascadingVIOracle",
    "best_list_brute_force",
    "best_perm",
    "enumerate_lists",
    "evaluate_policy",
    "list_value_of",
    "run_episodes",
    "value_iteration",
]
