"""The public contract suite, ``banditlab.testing.check_algorithm``, on every registered
algorithm of every protocol, with canaries showing that each kind of check can fail."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import banditlab as bl
from banditlab.policies.ucb import UCB, UCBParams
from banditlab.registry import ALGORITHMS
from banditlab.testing import check_algorithm, check_env
from tests.contracts._growing_state import GrowingState


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_registered_algorithm_passes_the_contract(name: str) -> None:
    check_algorithm(ALGORITHMS[name], max_examples=8)


class StepDiverges(UCB):
    """Canary: its step API plays another arm than its kernel does."""

    def select(self, obs: Any = None) -> int:
        return (super().select(obs) + 1) % self.n_arms


class SkipsValidation(UCB):
    """Canary: accepts any alpha without validating it."""

    def __init__(self, n_arms: int, *, alpha: float = 2.0) -> None:
        self._init_kwargs = {"n_arms": n_arms, "alpha": alpha}
        self.n_arms = n_arms
        self.params = UCBParams(float(alpha) if isinstance(alpha, int | float) else 2.0, 0.5)


class ForgetsOnPickle(UCB):
    """Canary: loses its state when pickled."""

    def __getstate__(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        if "_state" in out:             # where Policy keeps the state (a property)
            out["_state"] = self.kernels.init(self.params, self.n_arms)
        return out


@pytest.mark.parametrize(("canary", "match"), [
    (StepDiverges, "differ"),
    (GrowingState, "the state changed structure"),
    (SkipsValidation, "was accepted"),
    (ForgetsOnPickle, "state.t differs"),
])
def test_canaries_fail_the_contract(canary: type, match: str) -> None:
    with pytest.raises(AssertionError, match=match):
        check_algorithm(canary, max_examples=8)


def test_check_algorithm_rejects_non_algorithms() -> None:
    with pytest.raises(TypeError, match=r"check_algorithm: 'cls' must be a subclass of "
                                        r"banditlab\.agent\.Agent; got <class 'int'>\."):
        check_algorithm(int)


@pytest.mark.parametrize("env", [
    bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=30),
    bl.GaussianBandit([0.0, 1.0], sigma=0.5, horizon=20),
    bl.AdversarialBandit(np.random.default_rng(0).random((25, 3))),
    bl.LinearBandit([0.5, -0.2], n_arms=3, horizon=15),
], ids=["bernoulli", "gaussian", "adversarial", "linear"])
def test_check_env_passes_on_builtin_envs(env: Any) -> None:
    check_env(env)


class IgnoresSeed(bl.BernoulliBandit):
    """Canary: reset draws fresh entropy whatever the seed."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        return super().reset(seed=None, options=options)


def test_check_env_canary_an_env_that_ignores_its_seed() -> None:
    # gymnasium's own checker already notices; banditlab's rollout comparison would too
    with pytest.raises(AssertionError, match="seed"):
        check_env(IgnoresSeed([0.5, 0.5, 0.5], horizon=200), n_steps=200)


class EndsEarly(bl.BernoulliBandit):
    """Canary: truncates its episode one round before its declared horizon."""

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated or self._t == self.horizon - 1, info


def test_check_env_canary_an_episode_shorter_than_the_horizon() -> None:
    with pytest.raises(AssertionError, match="episode ended after 9 steps; horizon is 10"):
        check_env(EndsEarly([0.5, 0.6], horizon=10))
