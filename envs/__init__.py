"""Environments (``gymnasium.Env`` subclasses), registered under ``banditlab/...`` ids.

>>> import gymnasium, banditlab
>>> env = gymnasium.make("banditlab/BernoulliBandit-v0", means=[0.2, 0.5], horizon=10)
"""

from __future__ import annotations

import gymnasium as gym

from banditlab.envs.base import BanditEnv, check_action
from banditlab.envs.karmed import (
    AdversarialBandit,
    BernoulliBandit,
    BetaBandit,
    GaussianBandit,
    KArmedEnv,
)
from banditlab.envs.linear import LinearBandit
from banditlab.envs.streaming import StreamingBandit

__all__ = [
    "ENV_REGISTRY",
    "AdversarialBandit",
    "BanditEnv",
    "BernoulliBandit",
    "BetaBandit",
    "GaussianBandit",
    "KArmedEnv",
    "LinearBandit",
    "check_action",
    "register_env",
]

#: id -> (class, one-line description, small valid kwargs used by the registry-wide tests)
ENV_REGISTRY: dict[str, tuple[type[BanditEnv], str, dict]] = {}


def register_env(env_id: str, cls: type[BanditEnv], description: str, example: dict) -> None:
    """Register ``cls`` with gymnasium under ``env_id`` and in :data:`ENV_REGISTRY`."""
    ENV_REGISTRY[env_id] = (cls, description, example)
    if env_id not in gym.envs.registry:
        gym.register(id=env_id, entry_point=f"{cls.__module__}:{cls.__name__}",
                     disable_env_checker=False)


register_env("banditlab/BernoulliBandit-v0", BernoulliBandit,
             "K-armed bandit with Bernoulli rewards", {"means": [0.2, 0.5, 0.7], "horizon": 50})
register_env("banditlab/GaussianBandit-v0", GaussianBandit,
             "K-armed bandit with Gaussian rewards", {"means": [0.0, 0.5], "horizon": 50})
register_env("banditlab/BetaBandit-v0", BetaBandit,
             "K-armed bandit with Beta rewards in [0, 1]", {"means": [0.3, 0.6], "horizon": 50})
register_env("banditlab/AdversarialBandit-v0", AdversarialBandit,
             "oblivious adversarial bandit (fixed reward table)",
             {"table": [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9]]})
register_env("banditlab/LinearBandit-v0", LinearBandit,
             "linear/contextual bandit with per-arm features and optional misspecification",
             {"theta": [1.0, -0.5], "n_arms": 4, "horizon": 50})

# -- streaming bandits (issue 3) ------------------------------------------------------------
register_env("banditlab/StreamingBandit-v0", StreamingBandit,
             "single-pass streaming bandit with an enforced arm-memory budget",
             {"means": [0.5], "horizon": 1000, "memory": 1})

# -- cascading MDPs (issue 4) ---------------------------------------------------------------
# Registered with gymnasium only (not ENV_REGISTRY, whose contract tests assume bandit envs
# with int actions and empty info): actions are ordered lists and info carries the feedback.
if "banditlab/CascadingMDP-v0" not in gym.envs.registry:
    gym.register(id="banditlab/CascadingMDP-v0",
                 entry_point="banditlab.envs.cascading:CascadingMDP", disable_env_checker=False)

# -- SOR / SSOR-PCG omega tuning (issue 5) ----------------------------------------------------
# Registered with gymnasium only (not ENV_REGISTRY, whose contract tests assume bandit envs
# with empty info): info carries the solver feedback (iterations, omega, converged).
if "banditlab/SORTuning-v0" not in gym.envs.registry:
    gym.register(id="banditlab/SORTuning-v0", entry_point="banditlab.envs.sor:SORTuningEnv",
                 disable_env_checker=False)
