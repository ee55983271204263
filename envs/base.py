"""Base class of banditlab's environments: a ``gymnasium.Env`` with oracle quantities."""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from banditlab._validation import Constraint, validate

__all__ = ["BanditEnv", "check_action"]


def check_action(action: Any, n_actions: int, owner: str) -> int:
    """Validate a discrete action (an int or 0-d integer array in ``[0, n_actions)``)."""
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action.item()
    if isinstance(action, bool) or not isinstance(action, numbers.Integral):
        raise TypeError(f"{owner}.step: 'action' must be an int in [0, {n_actions - 1}]; "
                        f"got {type(action).__name__} {action!r}.")
    a = int(action)
    if not 0 <= a < n_actions:
        raise ValueError(f"{owner}.step: 'action' must be an int in [0, {n_actions - 1}]; "
                         f"got {a}.")
    return a


class BanditEnv(gym.Env):
    """A bandit environment: one episode is one run of ``horizon`` rounds.

    ``step`` returns ``truncated=True`` on the last round and never ``terminated``. Oracle
    quantities for pseudo-regret are methods, not ``info`` entries:
    :meth:`expected_reward` (of an action, at the current round and context) and
    :meth:`optimal_expected_reward`. Environments that can run inside Numba kernels implement
    :meth:`kernel_arrays` and set ``family`` (``"karmed"`` or ``"linear"``).

    Writing your own (it then runs with :func:`banditlab.run_many` on the Python engine):
    call ``super().__init__(**params)`` with the constructor arguments (they identify the env
    in results), set ``n_arms``, ``horizon``, ``action_space`` and ``observation_space``; in
    ``reset`` call ``super().reset(seed=seed)`` (which seeds ``self.np_random``, the one
    generator to draw from); count rounds yourself and return ``truncated=True`` after
    ``horizon`` steps; define the two oracle methods; and declare :attr:`reward_model`.
    ``notebooks/custom_policy.ipynb`` writes one; :func:`banditlab.testing.check_env` checks it.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}
    family: ClassVar[str | None] = None
    constraints: ClassVar[dict[str, Constraint]] = {}

    n_arms: int
    horizon: int

    def __init__(self, **params: Any) -> None:
        self._t = 0
        self._done = True
        self._params = dict(params)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> Any:
        """Seed ``self.np_random`` (``seed``: None or an int >= 0, checked here). Subclasses
        call this first, then start their episode and return ``(obs, info)``."""
        from banditlab._seeding import check_seed

        super().reset(seed=check_seed(seed, f"{type(self).__name__}.reset"), options=options)

    # -- validation -------------------------------------------------------------------------
    def _validate(self, **values: Any) -> dict[str, Any]:
        return validate(type(self).__name__, self.constraints, values)

    @property
    def env_params(self) -> dict[str, Any]:
        """The constructor arguments, as JSON-friendly values (for results metadata)."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in getattr(self, "_params", {}).items()}

    @property
    def t(self) -> int:
        """Rounds played in the current episode."""
        return self._t

    def _start_episode(self) -> None:
        self._t = 0
        self._done = False

    def _advance(self) -> bool:
        if self._done:
            raise RuntimeError(f"{type(self).__name__}.step: the episode has ended "
                               f"(horizon={self.horizon}); call reset() first.")
        self._t += 1
        truncated = self._t >= self.horizon
        self._done = truncated
        return truncated

    @property
    def reward_model(self) -> Any:
        """The model of the rewards this env draws (:class:`banditlab.reward_models.RewardModel`).

        ``unknown`` unless a subclass declares it; declare it in your own env (for example
        ``RewardModel.bounded(0.0, 1.0)``) so that :func:`banditlab.run_many` can refuse
        policies whose assumption your rewards break.
        """
        from banditlab.reward_models import RewardModel

        return RewardModel.unknown()

    # -- oracle -----------------------------------------------------------------------------
    def expected_reward(self, action: int) -> float:
        """Expected reward of ``action`` at the current round (and context)."""
        raise AttributeError(f"{type(self).__name__} defines no expected_reward()")

    def optimal_expected_reward(self) -> float:
        """Expected reward of the comparator at the current round (and context)."""
        raise AttributeError(f"{type(self).__name__} defines no optimal_expected_reward()")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.env_params.items())
        return f"{type(self).__name__}({args})"
