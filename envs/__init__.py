"""Environments (``gymnasium.Env`` subclasses), registered under ``banditlab/...`` ids.

>>> import gymnasium, banditlab
>>> env = gymnasium.make("banditlab/BernoulliBandit-v0", means=[0.2, 0.5], horizon=10)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from banditlab.envs.base import BanditEnv, check_action
from banditlab.envs.karmed import (
    AdversarialBandit,
    BernoulliBandit,
    BetaBandit,
    ExponentialBandit,
    GaussianBandit,
    KArmedEnv,
    PoissonBandit,
)
from banditlab.envs.linear import LinearBandit
from banditlab.envs.streaming import StreamingBandit

__all__ = [
    "ENV_REGISTRY",
    "OTHER_ENVS",
    "PROBLEMS",
    "AdversarialBandit",
    "BanditEnv",
    "BernoulliBandit",
    "BetaBandit",
    "ExponentialBandit",
    "GaussianBandit",
    "KArmedEnv",
    "LinearBandit",
    "PoissonBandit",
    "check_action",
    "register_env",
]

#: id -> (class, one-line description, small valid kwargs used by the registry-wide tests)
ENV_REGISTRY: dict[str, tuple[type[BanditEnv], str, dict]] = {}


def register_env(env_id: str, cls: type[BanditEnv], description: str, example: dict, *,
                 vector_entry_point: str | None = None) -> None:
    """Register ``cls`` with gymnasium under ``env_id`` and in :data:`ENV_REGISTRY`.

    ``vector_entry_point`` (``"module:Class"``, imported on first use) is the env's native
    vector env, which ``gymnasium.make_vec(env_id, num_envs=N, ...)`` then returns by default
    (``vectorization_mode="sync"`` still gives a ``SyncVectorEnv``); see
    :mod:`banditlab.envs.vector`.
    """
    ENV_REGISTRY[env_id] = (cls, description, example)
    if env_id not in gym.envs.registry:
        gym.register(id=env_id, entry_point=f"{cls.__module__}:{cls.__name__}",
                     vector_entry_point=vector_entry_point, disable_env_checker=False)


register_env("banditlab/BernoulliBandit-v0", BernoulliBandit,
             "K-armed bandit with Bernoulli rewards", {"means": [0.2, 0.5, 0.7], "horizon": 50},
             vector_entry_point="banditlab.envs.vector:BernoulliVectorEnv")
register_env("banditlab/GaussianBandit-v0", GaussianBandit,
             "K-armed bandit with Gaussian rewards", {"means": [0.0, 0.5], "horizon": 50},
             vector_entry_point="banditlab.envs.vector:GaussianVectorEnv")
register_env("banditlab/BetaBandit-v0", BetaBandit,
             "K-armed bandit with Beta rewards in [0, 1]", {"means": [0.3, 0.6], "horizon": 50},
             vector_entry_point="banditlab.envs.vector:BetaVectorEnv")
register_env("banditlab/PoissonBandit-v0", PoissonBandit,
             "K-armed bandit with Poisson rewards (counts)",
             {"means": [1.0, 2.0, 3.5, 5.0], "horizon": 50},
             vector_entry_point="banditlab.envs.vector:PoissonVectorEnv")
register_env("banditlab/ExponentialBandit-v0", ExponentialBandit,
             "K-armed bandit with exponential rewards (durations)",
             {"means": [0.5, 1.0, 2.0], "horizon": 50},
             vector_entry_point="banditlab.envs.vector:ExponentialVectorEnv")
register_env("banditlab/AdversarialBandit-v0", AdversarialBandit,
             "oblivious adversarial bandit (fixed reward table)",
             {"table": [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9]]},
             vector_entry_point="banditlab.envs.vector:AdversarialVectorEnv")
register_env("banditlab/LinearBandit-v0", LinearBandit,
             "linear/contextual bandit with per-arm features and optional misspecification",
             {"theta": [1.0, -0.5], "n_arms": 4, "horizon": 50})

# -- streaming bandits (issue 3) ------------------------------------------------------------
register_env("banditlab/StreamingBandit-v0", StreamingBandit,
             "single-pass streaming bandit with an enforced arm-memory budget",
             {"means": [0.62, 0.45, 0.71, 0.38, 0.55, 0.82, 0.49, 0.66, 0.41, 0.58],
              "horizon": 10_000, "memory": 2})

# -- episodic and solver-tuning envs --------------------------------------------------------
# Registered with gymnasium and in OTHER_ENVS, not ENV_REGISTRY: ENV_REGISTRY lists the bandit
# envs that run_many and the TOML configs accept (int actions, pseudo-regret oracles), while
# these take ordered lists (cascading) or report solver feedback in ``info`` (SOR tuning).
# Entry points are strings so that ``import banditlab`` does not import their modules.

#: id -> (entry point, one-line description, small valid kwargs for the registry-wide tests)
OTHER_ENVS: dict[str, tuple[str, str, dict]] = {
    "banditlab/CascadingMDP-v0": (
        "banditlab.envs.cascading:CascadingMDP",
        "cascading MDP: ranked lists of items, the user clicks the first attractive one",
        {"attraction": [[0.5, 0.2, 0.1], [0.3, 0.3, 0.6]],
         "rewards": [[1.0, 0.5, 0.2], [0.4, 0.9, 0.7]],
         "transitions": [[[0.5, 0.5]] * 4, [[0.2, 0.8]] * 4], "list_size": 2, "horizon": 3}),
    "banditlab/SORTuning-v0": (
        "banditlab.envs.sor:SORTuningEnv",
        "sequence of linear systems; choose the SOR relaxation omega, cost = iterations",
        {"problem": "shifted_laplacian", "horizon": 5}),
}

for _env_id, (_entry, _, _) in OTHER_ENVS.items():
    if _env_id not in gym.envs.registry:
        gym.register(id=_env_id, entry_point=_entry, disable_env_checker=False)

# -- block coordinate descent test problems (the "envs" of the BLOCK_DESCENT protocol) ------
# Not gymnasium envs: experiment files name them as [[envs]] ids and BCD minimises them
# (banditlab.solvers.bcd_algorithm). Strings, so that reading the table imports no solver.
#: problem id -> (factory "module:function", one-line description, small valid kwargs)
PROBLEMS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "bcd/dataset_a": ("banditlab.solvers.bcd_datasets:dataset_a",
                      "least squares on a sparse scaled Gaussian design (data set A)",
                      {"m": 40, "p": 80}),
    "bcd/dataset_a_l1": ("banditlab.solvers.bcd_datasets:dataset_a_l1",
                         "non-negative L1-regularised least squares (data set A-L1)",
                         {"m": 40, "p": 80}),
    "bcd/dataset_b": ("banditlab.solvers.bcd_datasets:dataset_b",
                      "binary logistic regression (data set B)", {"m": 40, "p": 80}),
    "bcd/dataset_c": ("banditlab.solvers.bcd_datasets:dataset_c",
                      "multi-class softmax regression (data set C)",
                      {"m": 40, "p": 20, "n_classes": 3}),
    "bcd/dataset_d": ("banditlab.solvers.bcd_datasets:dataset_d",
                      "label propagation on a lattice (data set D, a sparse quadratic)",
                      {"side": 6, "n_labelled": 5}),
    "bcd/dataset_e": ("banditlab.solvers.bcd_datasets:dataset_e",
                      "label propagation on a two-moons kNN graph (data set E)",
                      {"n_nodes": 60, "n_labelled": 6}),
}
