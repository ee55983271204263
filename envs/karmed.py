"""Stochastic and adversarial K-armed bandit environments."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from banditlab._validation import MAX_HORIZON, Array, Integer, Real
from banditlab.envs.base import BanditEnv, check_action
from banditlab.envs.kernels import (
    ADVERSARIAL,
    BERNOULLI,
    BETA,
    EXPONENTIAL,
    GAUSSIAN,
    POISSON,
    BernoulliArrays,
    KArmedArrays,
    as_python,
    karmed_best_mean,
    karmed_mean,
    karmed_reward,
)
from banditlab.reward_models import RewardModel

_reward = as_python(karmed_reward)
_mean = as_python(karmed_mean)
_best_mean = as_python(karmed_best_mean)

__all__ = [
    "AdversarialBandit",
    "BernoulliBandit",
    "BetaBandit",
    "ExponentialBandit",
    "GaussianBandit",
    "KArmedEnv",
    "PoissonBandit",
]


#: largest magnitude of a mean or noise scale of the unbounded envs: 1e100 x (2**62 rounds) x
#: (a few sums) stays far below the float64 limit 1.8e308, so regret and estimates stay finite
MAX_ABS_REWARD = 1e100


class KArmedEnv(BanditEnv):
    """Common shell of the K-armed envs: the arrays live in a :class:`KArmedArrays`.

    Observation: always ``0`` (``Discrete(1)``); a K-armed bandit has no context. Action: the
    arm, an int in ``[0, n_arms)``. Reward: drawn by :func:`banditlab.envs.kernels.karmed_reward`
    from ``self.np_random``, the generator that ``reset(seed=...)`` creates.
    """

    family = "karmed"

    def _setup(self, arrays: KArmedArrays, horizon: int, params: dict[str, Any]) -> None:
        super().__init__()
        self._arrays = arrays
        self.n_arms = int(arrays.means.shape[0])
        self.horizon = horizon
        self._params = params
        self.action_space = gym.spaces.Discrete(self.n_arms)
        self.observation_space = gym.spaces.Discrete(1)

    @property
    def means(self) -> np.ndarray:
        """Expected reward of each arm, ``(n_arms,)`` (a copy)."""
        return self._arrays.means.copy()

    @property
    def reward_model(self) -> RewardModel:
        """The model of the rewards this env draws (see :mod:`banditlab.reward_models`)."""
        kind = self._arrays.kind
        if kind == BERNOULLI:
            return RewardModel.bernoulli()
        if kind == GAUSSIAN:
            return RewardModel.gaussian(float(self._arrays.scale_a.max()))
        if kind == POISSON:
            return RewardModel.poisson()
        if kind == EXPONENTIAL:
            return RewardModel.exponential()
        return RewardModel.bounded(0.0, 1.0)   # BETA, and ADVERSARIAL tables in [0, 1]

    @property
    def best_arm(self) -> int:
        """The optimal arm (the best fixed arm in hindsight for an adversarial table)."""
        return int(self._arrays.best_arm)

    @property
    def gaps(self) -> np.ndarray:
        """Suboptimality gaps ``best_mean - means``, ``(n_arms,)``."""
        return self._arrays.best_mean - self._arrays.means

    def kernel_arrays(self) -> KArmedArrays:
        """The env as plain arrays for the kernel engine."""
        return self._arrays

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._start_episode()
        return 0, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        arm = check_action(action, self.n_arms, type(self).__name__)
        if self._done:
            self._advance()  # raises: the episode has ended
        reward = float(_reward(self._arrays, arm, self._t, self.np_random))
        truncated = self._advance()
        return 0, reward, False, truncated, {}

    def expected_reward(self, action: int) -> float:
        arm = check_action(action, self.n_arms, type(self).__name__)
        return float(_mean(self._arrays, arm, min(self._t, self.horizon - 1)))

    def optimal_expected_reward(self) -> float:
        return float(_best_mean(self._arrays, min(self._t, self.horizon - 1)))


def _arrays(kind: int, means: np.ndarray, a: np.ndarray | None = None,
            b: np.ndarray | None = None, table: np.ndarray | None = None) -> KArmedArrays:
    k = means.shape[0]
    a = np.zeros(k) if a is None else np.ascontiguousarray(a, dtype=np.float64)
    b = np.zeros(k) if b is None else np.ascontiguousarray(b, dtype=np.float64)
    table = np.zeros((0, k)) if table is None else table
    if kind == ADVERSARIAL:
        best = int(np.argmax(table.sum(axis=0)))
    else:
        best = int(np.argmax(means))
    # Bernoulli has a class of its own: kernels compiled for it hold the Bernoulli draw only
    cls = BernoulliArrays if kind == BERNOULLI else KArmedArrays
    return cls(int(kind), means, a, b, table, best, float(means[best]))


class BernoulliBandit(KArmedEnv):
    """K arms with Bernoulli rewards of means ``means``.

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Success probabilities, each in [0, 1]; at least one arm.
    horizon : int, default 1000
        Rounds per episode; the last step returns ``truncated=True``.
    """

    constraints = {"means": Array(1, low=0.0, high=1.0), "horizon": Integer(1, MAX_HORIZON)}

    def __init__(self, means: Any, *, horizon: int = 1000) -> None:
        v = self._validate(means=means, horizon=horizon)
        self._setup(_arrays(BERNOULLI, v["means"]), v["horizon"], v)


class GaussianBandit(KArmedEnv):
    """K arms with Gaussian rewards ``N(means[a], sigma[a]^2)``.

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Each in [-1e100, 1e100] (:data:`MAX_ABS_REWARD`), so that regret summed over any
        supported horizon stays finite.
    sigma : float or array-like of shape (n_arms,), default 1.0
        Noise standard deviations, each in (0, 1e100].
    horizon : int, default 1000
    """

    constraints = {"means": Array(1, low=-MAX_ABS_REWARD, high=MAX_ABS_REWARD),
                   "sigma": Array(1, low=0.0, high=MAX_ABS_REWARD, closed="right"),
                   "horizon": Integer(1, MAX_HORIZON)}

    def __init__(self, means: Any, *, sigma: Any = 1.0, horizon: int = 1000) -> None:
        v = self._validate(means=means, horizon=horizon)
        if np.ndim(sigma) == 0:
            scalar = Real(0.0, MAX_ABS_REWARD, closed="right").check(sigma, "sigma",
                                                                     "GaussianBandit")
            v["sigma"] = np.full(v["means"].shape, scalar)
        else:
            v["sigma"] = self._validate(sigma=sigma)["sigma"]
        if v["sigma"].shape != v["means"].shape:
            raise ValueError(f"GaussianBandit: 'sigma' must be a float > 0 or an array of shape "
                             f"{v['means'].shape}; got shape {v['sigma'].shape}.")
        self._setup(_arrays(GAUSSIAN, v["means"], v["sigma"]), v["horizon"], v)


#: smallest Beta shape parameter accepted. Below about 0.02, NumPy's Beta sampler (Johnk's
#: method) can underflow to 0/0 and switches to a log-space branch that Numba's does not have,
#: so the two engines would draw different rewards; from 0.1 on, U ** (1 / shape) >= 2**-530
#: never underflows for a uniform U >= 2**-53, and both samplers take the same branches.
MIN_BETA_SHAPE = 0.1


class BetaBandit(KArmedEnv):
    """K arms with rewards in [0, 1] drawn from ``Beta(c * means[a], c * (1 - means[a]))``.

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Expected rewards, each in (0, 1).
    concentration : float, default 2.0
        ``c`` above (> 0); larger means less noise. ``c = 2`` with mean 1/2 is uniform. Both
        shapes must be at least :data:`MIN_BETA_SHAPE` (0.1), where the kernel and Python
        engines sample Beta draws identically.
    horizon : int, default 1000
    """

    constraints = {"means": Array(1, low=0.0, high=1.0, closed="neither"),
                   "concentration": Real(0.0, None, closed="neither"),
                   "horizon": Integer(1, MAX_HORIZON)}

    def __init__(self, means: Any, *, concentration: float = 2.0, horizon: int = 1000) -> None:
        v = self._validate(means=means, concentration=concentration, horizon=horizon)
        m, c = v["means"], v["concentration"]
        shape = float(c * min(m.min(), 1.0 - m.max()))
        if not shape >= MIN_BETA_SHAPE:
            raise ValueError(
                f"BetaBandit: 'concentration' must make both Beta shapes at least "
                f"{MIN_BETA_SHAPE} (concentration * min(means, 1 - means) >= {MIN_BETA_SHAPE}); "
                f"got concentration={concentration!r}, which gives a smallest shape of "
                f"{shape:.3g}.")
        self._setup(_arrays(BETA, m, c * m, c * (1.0 - m)), v["horizon"], v)


class AdversarialBandit(KArmedEnv):
    """An oblivious adversary: a fixed reward table ``table[t, a]`` in [0, 1].

    Regret is measured against the best fixed arm in hindsight (largest column sum), so
    ``expected_reward(a)`` at round t is ``table[t, a]`` and the comparator is
    ``table[t, best_arm]``. ``horizon`` is the number of rows of the table.

    Parameters
    ----------
    table : array-like of shape (horizon, n_arms)
        Rewards in [0, 1].
    """

    constraints = {"table": Array(2, low=0.0, high=1.0)}

    def __init__(self, table: Any) -> None:
        v = self._validate(table=table)
        tab = v["table"]
        self._setup(_arrays(ADVERSARIAL, tab.mean(axis=0), table=tab), int(tab.shape[0]), v)


class PoissonBandit(KArmedEnv):
    """K arms with Poisson rewards of means (rates) ``means``: counts, such as clicks per hour.

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Poisson rates, each in [0, 1e6].
    horizon : int, default 1000
    """

    constraints = {"means": Array(1, low=0.0, high=1e6), "horizon": Integer(1, MAX_HORIZON)}

    def __init__(self, means: Any, *, horizon: int = 1000) -> None:
        v = self._validate(means=means, horizon=horizon)
        self._setup(_arrays(POISSON, v["means"]), v["horizon"], v)


class ExponentialBandit(KArmedEnv):
    """K arms with exponential rewards of means ``means``: waiting or service times, say.

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Means (the scales ``1 / rate``), each in (0, 1e6].
    horizon : int, default 1000
    """

    constraints = {"means": Array(1, low=0.0, high=1e6, closed="right"),
                   "horizon": Integer(1, MAX_HORIZON)}

    def __init__(self, means: Any, *, horizon: int = 1000) -> None:
        v = self._validate(means=means, horizon=horizon)
        self._setup(_arrays(EXPONENTIAL, v["means"]), v["horizon"], v)
