"""Shared helpers of the sweep tests: a small grid and an env that fails on demand."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import gymnasium as gym

from banditlab.envs import BernoulliBandit

FLAKY_ID = "sweeptest/FlakyBandit-v0"


class FlakyBandit(BernoulliBandit):
    """A Bernoulli bandit whose ``reset`` fails while the file ``marker`` does not exist.

    ``mode='raise'``: raise RuntimeError; ``mode='kill'``: create the marker, then SIGKILL the
    process it runs in (a worker dying mid-task).
    """

    def __init__(self, means, *, marker: str, mode: str = "raise", horizon: int = 1000):
        super().__init__(means, horizon=horizon)
        self.marker, self.mode = marker, mode

    def reset(self, *, seed=None, options=None):
        if not Path(self.marker).exists():
            if self.mode == "kill":
                Path(self.marker).touch()
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"marker {self.marker} is missing")
        return super().reset(seed=seed, options=options)


if FLAKY_ID not in gym.envs.registry:
    gym.register(id=FLAKY_ID, entry_point=FlakyBandit, disable_env_checker=True)


def small_grid(**changes):
    grid = {"seed": 7, "n_seeds": 4, "horizon": [60, 120], "checkpoints": 10,
            "policies": [{"name": "UCB", "grid": {"alpha": [0.5, 2.0]}},
                         {"name": "ThompsonSampling"}],
            "envs": [{"id": "banditlab/BernoulliBandit-v0",
                      "kwargs": {"means": [0.2, 0.5, 0.7]}}]}
    grid.update(changes)
    return grid
