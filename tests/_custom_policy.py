"""A policy and an env written the way a user would, for the extension-point tests.

Importable as ``tests._custom_policy`` (experiment files name the policy by import path).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

import banditlab as bl


class SlidingWindowUCB(bl.PythonPolicy):
    """UCB over the last ``window`` rounds (Garivier & Moulines, 2011), in plain Python."""

    constraints = {"n_arms": bl.Integer(1, None), "window": bl.Integer(1, None),
                   "alpha": bl.Real(0.0, None, closed="neither")}

    def __init__(self, n_arms: int, *, window: int = 100, alpha: float = 2.0) -> None:
        super().__init__(n_arms, window=window, alpha=alpha)

    def reset_state(self) -> None:
        self.recent: deque[tuple[int, float]] = deque(maxlen=self.params["window"])
        self.t = 0

    def select(self, obs: Any = None) -> int:
        counts = np.zeros(self.n_arms)
        sums = np.zeros(self.n_arms)
        for arm, reward in self.recent:
            counts[arm] += 1
            sums[arm] += reward
        if np.any(counts == 0):                   # ties among unplayed arms: self.rng
            return int(self.rng.choice(np.flatnonzero(counts == 0)))
        bonus = np.sqrt(self.params["alpha"] * np.log(min(self.t, len(self.recent))) / counts)
        return int(np.argmax(sums / counts + bonus))

    def update(self, action: int, reward: float, obs: Any = None) -> None:
        self.recent.append((int(action), float(reward)))
        self.t += 1


class SwitchingBandit(bl.BanditEnv):
    """Bernoulli arms whose means switch to ``means_after`` at round ``switch``."""

    def __init__(self, means: Any, means_after: Any, *, switch: int, horizon: int) -> None:
        super().__init__(means=list(means), means_after=list(means_after), switch=switch,
                         horizon=horizon)
        self.before = np.asarray(means, dtype=float)
        self.after = np.asarray(means_after, dtype=float)
        self.n_arms, self.horizon, self.switch = len(self.before), horizon, switch
        self.action_space = gym.spaces.Discrete(self.n_arms)
        self.observation_space = gym.spaces.Discrete(1)

    def _means(self) -> np.ndarray:
        return self.before if self.round < self.switch else self.after

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        super().reset(seed=seed)
        self.round = 0
        return 0, {}

    def step(self, action: Any) -> Any:
        reward = float(self.np_random.random() < self._means()[int(action)])
        self.round += 1
        return 0, reward, False, self.round >= self.horizon, {}

    def expected_reward(self, action: int) -> float:
        return float(self._means()[int(action)])

    def optimal_expected_reward(self) -> float:
        return float(self._means().max())
