"""Gymnasium wrappers are honoured: the kernel engine runs only behind transparent ones."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import banditlab as bl
from banditlab.errors import IncompatibleEnvError


def _env(horizon: int = 300) -> bl.BernoulliBandit:
    return bl.BernoulliBandit(np.linspace(0.1, 0.9, 5), horizon=horizon)


def _python(env: gym.Env, **kw) -> bl.Results:
    return bl.run_many(bl.UCB(5), env, n_runs=2, seed=0, engine="python", **kw)


@pytest.mark.parametrize("wrap", [
    lambda e: gym.wrappers.TransformReward(e, lambda r: 1.0 - r),
    lambda e: gym.wrappers.ClipReward(e, 0.0, 0.5),
    lambda e: gym.wrappers.RecordEpisodeStatistics(e),
], ids=["TransformReward", "ClipReward", "RecordEpisodeStatistics"])
def test_auto_steps_through_wrappers_and_kernel_refuses(wrap) -> None:
    w = wrap(_env())
    auto = bl.run_many(bl.UCB(5), w, n_runs=2, seed=0)
    assert auto.engine == "python"
    assert auto.regret.tobytes() == _python(wrap(_env())).regret.tobytes()
    name = type(w).__name__
    with pytest.raises(IncompatibleEnvError, match=rf"engine='kernel' runs the unwrapped "
                                                   rf"BernoulliBandit and would ignore the "
                                                   rf"wrapper\(s\) {name}"):
        bl.run_many(bl.UCB(5), w, n_runs=2, seed=0, engine="kernel")


def test_a_reward_transform_changes_what_the_policy_learns() -> None:
    plain = bl.run_many(bl.UCB(5), _env(), n_runs=2, seed=0)
    flipped = bl.run_many(bl.UCB(5), gym.wrappers.TransformReward(_env(), lambda r: 1.0 - r),
                          n_runs=2, seed=0)
    # learning 1 - r, UCB prefers the worst arm: regret (unwrapped oracle) is far larger
    assert flipped.final_regret().min() > 3 * plain.final_regret().max()


def test_time_limit_sets_the_horizon() -> None:
    res = bl.run_many(bl.UCB(5), gym.wrappers.TimeLimit(_env(1000), 100), n_runs=2, seed=0)
    assert (res.horizon, res.engine) == (100, "python")
    assert res.regret.tobytes() == bl.run_many(bl.UCB(5), _env(100), n_runs=2, seed=0,
                                               engine="python").regret.tobytes()
    with pytest.raises(ValueError, match=r"run_many: 'horizon' must be an int in \[1, 100\]"):
        bl.run_many(bl.UCB(5), gym.wrappers.TimeLimit(_env(1000), 100), 500, seed=0)


def test_the_wrappers_of_gymnasium_make_keep_the_kernel_engine() -> None:
    made = gym.make("banditlab/BernoulliBandit-v0", means=np.linspace(0.1, 0.9, 5), horizon=300)
    assert bl.runner.active_wrappers(made) == []
    res = bl.run_many(bl.UCB(5), made, n_runs=2, seed=0)
    assert res.engine == "kernel"
    assert res.regret.tobytes() == bl.run_many(bl.UCB(5), _env(), n_runs=2, seed=0,
                                               engine="python").regret.tobytes()
    # with max_episode_steps, make adds a TimeLimit: the Python engine and that horizon
    limited = gym.make("banditlab/BernoulliBandit-v0", means=np.linspace(0.1, 0.9, 5),
                       horizon=300, max_episode_steps=50)
    res = bl.run_many(bl.UCB(5), limited, n_runs=2, seed=0)
    assert (res.engine, res.horizon) == ("python", 50)
