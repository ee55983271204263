"""Reward models: what a policy's guarantee assumes and what an env produces.

Every built-in policy declares, as ``policy.reward_model``, the reward model its guarantee
needs; every built-in env declares, as ``env.reward_model``, the model of the rewards it draws.
:func:`banditlab.run_many`, :func:`banditlab.run`, sweeps and experiment files refuse a pair
that does not fit (:func:`check_reward_models`) and name the policies that fit the env; pass
``check_rewards=False`` (``check_rewards = false`` in a file, ``--no-check-rewards`` on the
command line) to run such a pair anyway. In the step API, ``policy.update`` refuses a reward
outside the policy's declared range (set ``policy.check_rewards = False`` to feed it anyway).

Kinds
-----
========================  ========================================================  ========
kind                      a policy that declares it needs                            env side
========================  ========================================================  ========
``"any"``                 nothing (no reward assumption)                            --
``"bounded"``             rewards in ``[low, high]``                                 yes
``"bernoulli"``           rewards in ``{0, 1}``                                      yes
``"subgaussian"``         ``sigma``-sub-Gaussian noise around each arm's mean         --
``"gaussian"``            --                                                         yes
``"poisson"``             Poisson rewards (the divergence of KL-UCB-Poisson)         yes
``"exponential"``         exponential rewards (the divergence of KL-UCB-exp)         yes
``"unknown"``             --                                                         yes
========================  ========================================================  ========

An env's rewards are ``sigma``-sub-Gaussian with ``sigma`` its :attr:`RewardModel.sigma`:
Gaussian noise of standard deviation ``s`` gives ``s``; rewards in ``[a, b]`` give
``(b - a) / 2`` (Hoeffding's lemma), so Bernoulli rewards are 1/2-sub-Gaussian; Poisson and
exponential rewards are not sub-Gaussian (``sigma = inf``). An env whose rewards the library
cannot know (a user's env that declares nothing, or any env behind a wrapper that may change
rewards) is ``"unknown"``: the pair is not refused, and the step API's range check is the
guard at run time. Whether rewards are stochastic or chosen by an adversary is not checked:
an oblivious adversary's table in [0, 1] is ``"bounded"``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from banditlab.errors import IncompatibleEnvError

__all__ = [
    "RewardModel",
    "RewardModelError",
    "check_reward_models",
    "env_reward_model",
    "fits",
    "fitting_policies",
]

_POLICY_KINDS = ("any", "bounded", "bernoulli", "subgaussian", "poisson", "exponential")
_ENV_KINDS = ("bounded", "bernoulli", "gaussian", "poisson", "exponential", "unknown")


class RewardModelError(IncompatibleEnvError, ValueError):
    """A policy whose reward assumption the env's rewards do not satisfy.

    Attributes ``policy_model``, ``env_model`` and ``fitting`` (constructor calls of the
    policies that fit the env) carry the fields of the message.
    """

    def __init__(self, message: str, policy_model: RewardModel, env_model: RewardModel,
                 fitting: list[str]) -> None:
        super().__init__(message)
        self.policy_model = policy_model
        self.env_model = env_model
        self.fitting = fitting


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class RewardModel:
    """A reward model: ``kind``, the range ``[low, high]`` and the sub-Gaussian scale ``sigma``.

    Build one with the constructors (:meth:`any`, :meth:`bounded`, :meth:`bernoulli`,
    :meth:`subgaussian`, :meth:`gaussian`, :meth:`poisson`, :meth:`exponential`,
    :meth:`unknown`) rather than by hand.
    """

    kind: str
    low: float = -math.inf
    high: float = math.inf
    sigma: float = math.inf

    def __post_init__(self) -> None:
        if self.kind not in _POLICY_KINDS + _ENV_KINDS:
            raise ValueError(f"RewardModel: 'kind' must be one of "
                             f"{sorted(set(_POLICY_KINDS + _ENV_KINDS))}; got {self.kind!r}.")
        if not self.low <= self.high:
            raise ValueError(f"RewardModel: 'low' must be <= 'high'; got low={self.low!r}, "
                             f"high={self.high!r}.")
        if not self.sigma >= 0.0:
            raise ValueError(f"RewardModel: 'sigma' must be a float in [0, inf]; "
                             f"got {self.sigma!r}.")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def any(cls) -> RewardModel:
        """No assumption (a policy side only)."""
        return cls("any")

    @classmethod
    def bounded(cls, low: float, high: float) -> RewardModel:
        """Rewards in ``[low, high]`` (hence ``(high - low) / 2``-sub-Gaussian)."""
        return cls("bounded", float(low), float(high), (float(high) - float(low)) / 2.0)

    @classmethod
    def bernoulli(cls) -> RewardModel:
        """Rewards in ``{0, 1}``."""
        return cls("bernoulli", 0.0, 1.0, 0.5)

    @classmethod
    def subgaussian(cls, sigma: float) -> RewardModel:
        """``sigma``-sub-Gaussian noise around each arm's mean (a policy side only)."""
        return cls("subgaussian", sigma=float(sigma))

    @classmethod
    def gaussian(cls, sigma: float) -> RewardModel:
        """Gaussian noise with standard deviation at most ``sigma`` (an env side only)."""
        return cls("gaussian", sigma=float(sigma))

    @classmethod
    def poisson(cls) -> RewardModel:
        """Poisson rewards (non-negative integers)."""
        return cls("poisson", 0.0)

    @classmethod
    def exponential(cls) -> RewardModel:
        """Exponential rewards (non-negative reals)."""
        return cls("exponential", 0.0)

    @classmethod
    def unknown(cls) -> RewardModel:
        """Rewards the library cannot know (an env side only)."""
        return cls("unknown")

    # -- queries --------------------------------------------------------------------------
    def describe(self) -> str:
        """A phrase such as ``'rewards in [0, 1]'`` or ``'1/2-sub-Gaussian rewards'``."""
        if self.kind == "any":
            return "any rewards"
        if self.kind == "unknown":
            return "rewards of unknown model"
        if self.kind == "bounded":
            return f"rewards in [{_num(self.low)}, {_num(self.high)}]"
        if self.kind == "bernoulli":
            return "Bernoulli rewards (in {0, 1})"
        if self.kind == "subgaussian":
            return f"{_num(self.sigma)}-sub-Gaussian rewards"
        if self.kind == "gaussian":
            return f"Gaussian rewards with sigma up to {_num(self.sigma)}"
        return f"{self.kind} rewards"

    def admits(self, reward: float) -> bool:
        """Whether one observed reward is possible under this model (the step-API check)."""
        if not self.low <= reward <= self.high:
            return False
        if self.kind in ("bernoulli", "poisson"):
            return float(reward).is_integer()
        return True

    def compiled_bounds(self, checked: bool = True) -> tuple[float, float, bool]:
        """What the compiled step-API checks compare a reward with: finite bounds ``(low,
        high)`` (so that inf and NaN fail them) and whether only integers are admitted; with
        ``checked`` False (a policy's ``check_rewards`` off), every finite float."""
        big = sys.float_info.max
        if not checked:
            return -big, big, False
        return (float(max(self.low, -big)), float(min(self.high, big)),
                self.kind in ("bernoulli", "poisson"))

    def admits_all(self, rewards: np.ndarray) -> np.ndarray:
        """:meth:`admits` for every entry of a float array (the batched step-API check)."""
        ok = (rewards >= self.low) & (rewards <= self.high)
        if self.kind in ("bernoulli", "poisson"):
            ok &= rewards == np.floor(rewards)
        return ok

    def admitted(self) -> str:
        """The set :meth:`admits` accepts, as a phrase (for error messages)."""
        if self.kind == "bernoulli":
            return "0 or 1"
        if self.kind == "poisson":
            return "a non-negative integer"
        if math.isinf(self.low) and math.isinf(self.high):
            return "any finite float"
        if math.isinf(self.high):
            return f"a float >= {_num(self.low)}"
        return f"a float in [{_num(self.low)}, {_num(self.high)}]"


def fits(required: RewardModel, produced: RewardModel) -> bool:
    """Whether rewards of the model ``produced`` (an env's) satisfy ``required`` (a policy's)."""
    if required.kind == "any" or produced.kind == "unknown":
        return True
    if required.kind == "bounded":
        return required.low <= produced.low and produced.high <= required.high
    if required.kind == "subgaussian":
        return produced.sigma <= required.sigma
    # bernoulli, poisson, exponential: the divergence or posterior is exact for that family only
    return produced.kind == required.kind


def env_reward_model(env: gym.Env) -> RewardModel:
    """The reward model of ``env`` as the policy sees it.

    ``unknown`` behind a wrapper that may change rewards (any wrapper other than those
    :data:`banditlab.runner.TRANSPARENT_WRAPPERS` lists) or when the env declares none.
    """
    from banditlab.runner import active_wrappers

    if active_wrappers(env):
        return RewardModel.unknown()
    model = getattr(env.unwrapped, "reward_model", None)
    return model if isinstance(model, RewardModel) else RewardModel.unknown()


#: stands for the env's sub-Gaussian scale in a policy class's ``reward_variants``
ENV_SIGMA = "<env sigma>"


def _candidates(cls: type, env: gym.Env) -> list[dict[str, Any]]:
    variants = getattr(cls, "reward_variants", ({},))
    sigma = env_reward_model(env).sigma
    out = []
    for variant in variants:
        kw = dict(variant)
        if any(v == ENV_SIGMA for v in kw.values()):
            if not math.isfinite(sigma) or sigma <= 0.0:
                continue
            kw = {k: (sigma if v == ENV_SIGMA else v) for k, v in kw.items()}
        out.append(kw)
    return out


def fitting_policies(env: gym.Env, protocol: Any) -> list[str]:
    """Constructor calls (``'UCB(sigma=2)'``) of the registered policies that fit ``env``.

    For each policy of ``protocol``, the class's ``reward_variants`` (keyword arguments to try,
    in order; default: only the defaults) are instantiated with the env's dimensions, and the
    first whose declared model fits the env's is listed.
    """
    import inspect

    from banditlab.registry import algorithms

    produced = env_reward_model(env)
    base = env.unwrapped
    names = []
    for name, cls in algorithms(protocol).items():
        params = inspect.signature(cls.__init__).parameters
        dims: dict[str, Any] = {}
        if "n_features" in params:
            dims["n_features"] = int(env.observation_space.shape[1])
        if "horizon" in params and params["horizon"].default is inspect.Parameter.empty:
            dims["horizon"] = int(getattr(base, "horizon", 1000))
        for kw in _candidates(cls, env):
            try:
                policy = cls(int(base.n_arms), **dims, **kw)
            except (TypeError, ValueError):
                continue
            if fits(policy.reward_model, produced):
                args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
                names.append(f"{name}({args})")
                break
    return names


def check_reward_models(policy: Any, env: gym.Env, owner: str, *,
                        opt_out: str = "Pass check_rewards=False") -> None:
    """Raise :class:`RewardModelError` unless ``env``'s rewards fit ``policy``'s model.

    ``opt_out`` starts the message's last sentence: how the caller's user runs the pair anyway.
    """
    required = getattr(policy, "reward_model", RewardModel.any())
    produced = env_reward_model(env)
    if fits(required, produced):
        return
    fitting = fitting_policies(env, policy.protocol)
    env_name = type(env.unwrapped).__name__
    raise RewardModelError(
        f"{owner}: {policy!r} assumes {required.describe()}; {env_name} has "
        f"{produced.describe()}. Policies that fit this env: {', '.join(fitting) or 'none'}. "
        f"{opt_out} to run this pair anyway.", required, produced, fitting)
