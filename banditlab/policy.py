"""``Policy``: the step API of the bandit protocols (K-armed, contextual, fixed-budget BAI).

A thin subclass of :class:`banditlab.agent.Agent` (validation, params, seeding, pickling and
``repr`` live there, once for every learner). Subclasses declare ``protocol``, ``kernels``,
``constraints`` and ``_contract_kwargs`` and implement ``__init__`` (validate, then set
``n_arms`` and ``params``). ``select``, ``update``, ``recommend`` here call the kernels, so the
step-by-step API and the whole-trajectory engine run the same code.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from banditlab import _fastcall
from banditlab.agent import Agent
from banditlab.protocols import FIXED_BUDGET_BAI
from banditlab.reward_models import RewardModel

__all__ = ["Policy", "checked_contexts"]


def checked_contexts(obs: Any, want: tuple[int, ...], layout: str, owner: str) -> np.ndarray:
    """``obs`` as a C-contiguous float64 array of shape ``want`` (named ``layout`` in errors):
    bool, complex, str and object arrays, other shapes and non-finite entries are refused
    (one NaN would poison a contextual policy's estimates for good)."""
    raw = np.asarray(obs)
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{owner}: 'obs' must be a finite real array of shape {want} "
                        f"{layout}; got dtype {raw.dtype}.")
    ctx = np.ascontiguousarray(raw, dtype=np.float64)
    if ctx.shape != want:
        raise ValueError(f"{owner}: 'obs' must be an array of shape {want} {layout}; got "
                         f"shape {ctx.shape}.")
    if not np.all(np.isfinite(ctx)):
        raise ValueError(f"{owner}: 'obs' must be a finite real array of shape {want}; got "
                         "non-finite entries.")
    return ctx


class Policy(Agent):
    """Base class of all bandit policies (thin stateful shell over Numba kernels).

    Usage follows the gymnasium loop::

        policy.reset(seed=0)
        obs, _ = env.reset(seed=1)
        for t in range(horizon):
            action = policy.select(obs)
            obs, reward, terminated, truncated, _ = env.step(action)
            policy.update(action, reward, obs)

    Attributes
    ----------
    params : NamedTuple
        Validated hyperparameters (immutable). Use :meth:`with_params` to change them.
    state : NamedTuple
        The algorithm's state after :meth:`reset`.
    rng : numpy.random.Generator
        The policy's own random stream, created by :meth:`reset`.
    reward_model : RewardModel
        The reward model the policy's guarantee needs; :func:`banditlab.run_many` refuses an
        env whose rewards do not fit it (see :mod:`banditlab.reward_models`).
    check_rewards : bool
        Whether :meth:`update` refuses a reward outside ``reward_model`` (default True).
    """

    n_arms: int
    #: the reward model the policy's guarantee needs (see :mod:`banditlab.reward_models`);
    #: built-in policies declare it, as a class attribute or in ``__init__`` when it depends
    #: on the parameters
    reward_model: RewardModel = RewardModel.any()
    #: keyword arguments to try, in order, when listing the policies that fit an env
    #: (:func:`banditlab.reward_models.fitting_policies`)
    reward_variants: tuple[dict[str, Any], ...] = ({},)
    #: whether :meth:`update` refuses rewards outside ``reward_model`` (set False to opt out)
    check_rewards: bool = True

    def _dims(self) -> tuple[int, ...]:
        if self.protocol.contextual:
            return (self.n_arms, int(self._coerced["n_features"]))
        return (self.n_arms,)

    def _state_nbytes(self) -> tuple[float, str]:
        # index policies keep a few float64/int64 arrays per arm; contextual ones a d x d matrix
        n = float(self.n_arms)
        if self.protocol.contextual:
            d = float(self._dims()[1])
            return 8.0 * (8.0 * n + d * d + 4.0 * d), f"n_arms={self.n_arms}, n_features={int(d)}"
        return 8.0 * 8.0 * n, f"n_arms={self.n_arms}"

    # -- interaction ----------------------------------------------------------------------
    def _on_reset(self) -> None:
        self._last_context: np.ndarray | None = None

    def _fast(self) -> list[Any] | None:
        """``[rng, params, state, handle, select, update, stable]``: the compiled entry points
        for the current argument types (:mod:`banditlab._fastcall`), re-typed whenever
        ``rng``, ``params`` or ``state`` is an object this policy did not produce itself;
        None where kernels are not compiled (NUMBA_DISABLE_JIT=1, Python kernels)."""
        fast = self.__dict__.get("_fastcall")
        if (fast is not None and fast[0] is self.rng and fast[1] is self.params
                and fast[2] is self.state):
            return fast
        if not (_fastcall.JIT and hasattr(self.kernels.select, "compile")
                and hasattr(self.kernels.update, "compile")):
            return None
        handle = _fastcall.rng_handle(self.rng)
        context = (np.zeros(self._dims(), dtype=np.float64) if self.protocol.contextual
                   else None)
        select, update, stable = _fastcall.entry_points(self.params, self.state, handle,
                                                        context)
        fast = _fastcall.Calls([self.rng, self.params, self.state, handle, select, update,
                                stable])
        self.__dict__["_fastcall"] = fast
        return fast

    def select(self, obs: Any = None) -> int:
        """Choose an action. For contextual policies ``obs`` is the feature matrix."""
        self._require_state("select")
        if self.protocol.contextual:
            ctx = checked_contexts(obs, self._dims(), "(n_arms, n_features)",
                                   f"{self.name}.select")
            self._last_context = ctx
            fast = self._fast()
            if fast is not None:
                return int(fast[4](self.params, self.state, ctx, fast[3]))
            return int(self.kernels.select(self.params, self.state, ctx, self.rng))
        fast = self._fast()
        if fast is not None:
            return int(fast[4](self.params, self.state, fast[3]))
        return int(self.kernels.select(self.params, self.state, self.rng))

    def update(self, action: int, reward: float, obs: Any = None) -> None:
        """Feed back the reward of ``action``. ``obs`` is the *next* observation.

        Contextual policies learn from the context given to the last :meth:`select`; the next
        observation is not used by the built-in policies.
        """
        self._require_state("update")
        # exact int / float (what select returns and envs give) take the short path
        arm = action if type(action) is int else self._coerce_action(action)
        if not 0 <= arm < self.n_arms:
            raise ValueError(f"{self.name}.update: 'action' must be an int in "
                             f"[0, {self.n_arms - 1}]; got {action!r}.")
        r = reward if type(reward) is float else self._coerce_reward(reward)
        if r - r != 0.0:                                  # inf or NaN
            raise ValueError(f"{self.name}.update: 'reward' must be a finite float; "
                             f"got {reward!r}.")
        if self.check_rewards and not self.reward_model.admits(r):
            model = self.reward_model
            raise ValueError(f"{self.name}.update: 'reward' must be {model.admitted()} "
                             f"({self.name} assumes {model.describe()}); got {reward!r}. Set "
                             f"check_rewards = False on the policy to feed it anyway.")
        if self.protocol.contextual:
            if self._last_context is None:
                raise RuntimeError(f"{self.name}.update: call select(obs) before update().")
            args: tuple[Any, ...] = (self.params, self.state, arm, r, self._last_context)
        else:
            args = (self.params, self.state, arm, r)
        fast = self._fast()
        if fast is None:
            self.state = self.kernels.update(*args)
            return
        self.state = fast[5](*args)
        if fast[6]:                 # the kernel returns its input's type: no re-typing needed
            fast[2] = self.state

    def _coerce_action(self, action: Any) -> int:
        if isinstance(action, np.ndarray) and action.ndim == 0:
            action = action.item()
        if isinstance(action, bool) or not isinstance(action, numbers.Integral):
            raise TypeError(f"{self.name}.update: 'action' must be an int in "
                            f"[0, {self.n_arms - 1}]; got {type(action).__name__} {action!r}.")
        return int(action)

    def _coerce_reward(self, reward: Any) -> float:
        if isinstance(reward, np.ndarray) and reward.ndim == 0:
            reward = reward.item()
        if isinstance(reward, bool) or not isinstance(reward, numbers.Real):
            raise TypeError(f"{self.name}.update: 'reward' must be a finite float; got "
                            f"{type(reward).__name__} {reward!r}.")
        return float(reward)

    def recommend(self) -> int:
        """Best-arm identification policies: the arm recommended now (after the budget)."""
        if self.kernels.recommend is None:
            raise AttributeError(f"{self.name} is not a best-arm identification policy "
                                 f"(protocol {self.protocol.name}); it has no recommend().")
        self._require_state("recommend")
        return int(self.kernels.recommend(self.params, self.state))

    def action_probabilities(self) -> np.ndarray:
        """Randomised policies: the distribution of the next action, ``(n_arms,)``."""
        if self.kernels.action_probabilities is None:
            raise AttributeError(f"{self.name} does not expose action probabilities.")
        self._require_state("action_probabilities")
        return np.asarray(self.kernels.action_probabilities(self.params, self.state))

    @property
    def is_bai(self) -> bool:
        """Whether this is a fixed-budget best-arm identification policy."""
        return self.protocol is FIXED_BUDGET_BAI
