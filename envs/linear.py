"""Linear (contextual) bandit with per-arm features and an optional misspecification term."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from banditlab._validation import MAX_ARMS, MAX_HORIZON, Array, Integer, Real
from banditlab.envs.base import BanditEnv, check_action
from banditlab.envs.kernels import (
    LinearArrays,
    linear_best_mean,
    linear_context,
    linear_mean,
    linear_reward,
)
from banditlab.reward_models import RewardModel

__all__ = ["LinearBandit"]


#: largest magnitude of an entry of theta, a feature, a misspecification or the noise scale:
#: products of two such entries summed over features and over 2**62 rounds stay finite
_BIG = 1e100


class LinearBandit(BanditEnv):
    """Linear bandit: reward of arm a is ``<theta, x_a> + misspec[a] + noise_sd * N(0, 1)``.

    The observation of each round is the feature matrix ``float64[n_arms, n_features]`` (the
    context). Features are either fixed (``features`` given) or drawn afresh every round
    (``features=None``): each row i.i.d. standard Gaussian normalised to unit length.

    Parameters
    ----------
    theta : array-like of shape (n_features,)
        The unknown parameter.
    features : array-like of shape (n_arms, n_features), optional
        Fixed arm features. When omitted, ``n_arms`` is required and features are drawn per round.
    n_arms : int, optional
        Number of arms when features are drawn per round.
    misspec : array-like of shape (n_arms,), optional
        Additive deviation of each arm's mean from the linear model (default zero): the
        misspecification term ``eta_a`` of a misspecified linear bandit, whose size
        ``max |eta_a|`` is the misspecification level.
    noise_sd : float, default 0.1
        Standard deviation of the Gaussian reward noise (>= 0).

    Every entry of ``theta``, ``features`` and ``misspec``, and ``noise_sd``, is at most 1e100
    in magnitude, so that means, rewards and regret sums stay finite.
    horizon : int, default 1000
    """

    family = "linear"
    constraints = {
        "theta": Array(1, low=-_BIG, high=_BIG),
        "features": Array(2, low=-_BIG, high=_BIG, allow_none=True),
        "n_arms": Integer(1, MAX_ARMS, allow_none=True),
        "misspec": Array(1, low=-_BIG, high=_BIG, allow_none=True),
        "noise_sd": Real(0.0, _BIG),
        "horizon": Integer(1, MAX_HORIZON),
    }

    def __init__(self, theta: Any, *, features: Any = None, n_arms: int | None = None,
                 misspec: Any = None, noise_sd: float = 0.1, horizon: int = 1000) -> None:
        super().__init__()
        v = self._validate(theta=theta, features=features, n_arms=n_arms, misspec=misspec,
                           noise_sd=noise_sd, horizon=horizon)
        dim = v["theta"].shape[0]
        if v["features"] is None:
            if v["n_arms"] is None:
                raise ValueError("LinearBandit: 'n_arms' must be an int in [1, inf) when "
                                 "'features' is None; got None.")
            k = v["n_arms"]
            feats = np.zeros((k, dim))
        else:
            feats = v["features"]
            k = feats.shape[0]
            if feats.shape[1] != dim:
                raise ValueError(f"LinearBandit: 'features' must have {dim} columns (the length "
                                 f"of 'theta'); got shape {feats.shape}.")
            if v["n_arms"] is not None and v["n_arms"] != k:
                raise ValueError(f"LinearBandit: 'n_arms' must equal the number of rows of "
                                 f"'features' ({k}); got {v['n_arms']}.")
        mis = np.zeros(k) if v["misspec"] is None else v["misspec"]
        if mis.shape != (k,):
            raise ValueError(f"LinearBandit: 'misspec' must be an array of shape ({k},); "
                             f"got shape {mis.shape}.")
        self._arrays = LinearArrays(v["theta"], feats, mis, float(v["noise_sd"]),
                                    int(v["features"] is None))
        self.n_arms, self.n_features, self.horizon = k, dim, v["horizon"]
        self._params = v
        self._context = np.zeros((k, dim))
        self.action_space = gym.spaces.Discrete(k)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(k, dim), dtype=np.float64)

    @property
    def best_arm(self) -> int:
        """The optimal arm for fixed features; -1 when features are drawn per round."""
        if self._arrays.draw_features:
            return -1
        return int(np.argmax([linear_mean(self._arrays, self._arrays.features, a)
                              for a in range(self.n_arms)]))

    def kernel_arrays(self) -> LinearArrays:
        """The env as plain arrays for the kernel engine."""
        return self._arrays

    @property
    def context(self) -> np.ndarray:
        """The current round's features, ``(n_arms, n_features)`` (a copy)."""
        return self._context.copy()

    @property
    def reward_model(self) -> RewardModel:
        """Gaussian noise of standard deviation ``noise_sd`` around the linear means."""
        return RewardModel.gaussian(float(self._arrays.noise_sd))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._start_episode()
        linear_context(self._arrays, self.np_random, self._context)
        return self._context.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        arm = check_action(action, self.n_arms, "LinearBandit")
        if self._done:
            self._advance()  # raises: the episode has ended
        reward = float(linear_reward(self._arrays, self._context, arm, self.np_random))
        truncated = self._advance()
        if not truncated:
            linear_context(self._arrays, self.np_random, self._context)
        return self._context.copy(), reward, False, truncated, {}

    def expected_reward(self, action: int) -> float:
        arm = check_action(action, self.n_arms, "LinearBandit")
        return float(linear_mean(self._arrays, self._context, arm))

    def optimal_expected_reward(self) -> float:
        return float(linear_best_mean(self._arrays, self._context))
