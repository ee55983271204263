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

_FLOAT64 = np.dtype(np.float64)
#: attributes whose replacement makes the step box stale (Policy.__setattr__ drops it)
_BOXED = frozenset({"params", "rng", "reward_model", "check_rewards"})


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
    @property
    def check_rewards(self) -> bool:
        """Whether :meth:`update` refuses rewards outside ``reward_model`` (set False to opt
        out); default True."""
        return bool(self.__dict__.get("_check_rewards", True))

    @check_rewards.setter
    def check_rewards(self, value: bool) -> None:
        self.__dict__["_check_rewards"] = value         # __setattr__ dropped the box

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

    # -- params, rng and state: the step box holds them between steps -----------------------
    @property
    def params(self) -> Any:
        """Validated hyperparameters (immutable NamedTuple); replacing them re-boxes."""
        try:
            return self.__dict__["_params"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute "
                                 "'params' yet.") from None

    @params.setter
    def params(self, value: Any) -> None:
        self.__dict__["_params"] = value                # __setattr__ dropped the box

    @property
    def rng(self) -> np.random.Generator:
        """The policy's own random stream (after :meth:`reset`); replacing it re-boxes."""
        try:
            return self.__dict__["_rng"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'rng'; "
                                 "call reset(seed=...) first.") from None

    @rng.setter
    def rng(self, value: np.random.Generator) -> None:
        self.__dict__["_rng"] = value                   # __setattr__ dropped the box

    @property
    def state(self) -> Any:
        """The algorithm's state (a NamedTuple). Between steps of the step API it lives in
        compiled code (:class:`banditlab._fastcall.StepBox`); reading it here brings it back."""
        fast = self.__dict__.get("_fastcall")
        if fast is not None and fast[6]:            # steps were taken since the last read
            self.__dict__["_state"] = fast[7](fast[2])
            fast[6] = False
        try:
            return self.__dict__["_state"]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'state'; "
                                 "call reset(seed=...) first.") from None

    @state.setter
    def state(self, value: Any) -> None:
        self.__dict__["_state"] = value
        self.__dict__.pop("_fastcall", None)        # the next step boxes the new state

    def __getstate__(self) -> dict[str, Any]:
        self._sync_from_box()                       # the current state and features
        out = dict(self.__dict__)
        out.pop("_fastcall", None)                  # addresses of this process
        return out

    def __reduce_ex__(self, protocol: Any) -> Any:
        # every copy (shallow or deep) and pickle leaves the step box behind, also for a
        # subclass whose own __getstate__ copies the whole __dict__: the box holds addresses
        # of this process, and two policies sharing one would step the same state
        self._sync_from_box()
        rv = super().__reduce_ex__(protocol)
        if isinstance(rv, tuple) and len(rv) > 2 and isinstance(rv[2], dict) \
                and "_fastcall" in rv[2]:
            state = {k: v for k, v in rv[2].items() if k != "_fastcall"}
            rv = (*rv[:2], state, *rv[3:])
        return rv

    def __setstate__(self, state: dict[str, Any]) -> None:
        # policies pickled before params, rng and state became properties
        for key in ("params", "rng", "state", "check_rewards"):
            if key in state:
                state[f"_{key}"] = state.pop(key)
        self.__dict__.update(state)

    def __setattr__(self, name: str, value: Any) -> None:
        # the one place that invalidates the step box: it holds the params, the generator's
        # handle and the reward bounds that reward_model and check_rewards set (a new state
        # is handled by the state setter, which must not sync the old state back first)
        if name in _BOXED:
            self._drop_box()
        object.__setattr__(self, name, value)

    def _fast(self) -> list[Any] | None:
        """``[rng, params, box, handle, select, update, dirty, read_state, contextual,
        read_context, context_shape]``: the step box and compiled entry points for the
        current argument types (:mod:`banditlab._fastcall`), dropped (:meth:`_drop_box`)
        whenever ``rng``, ``params``, ``state``, ``reward_model`` or ``check_rewards`` is
        replaced and rebuilt on the next step. ``dirty``: steps were taken since the state
        was last read back. The box holds what ``update`` checks: the admitted rewards'
        finite bounds (inf and NaN fail them), whether only integers are admitted, and the
        action range. None where kernels are not compiled (NUMBA_DISABLE_JIT=1, Python
        kernels) or where ``update`` returns a state of another type than it takes."""
        fast = self.__dict__.get("_fastcall")
        if fast is not None:
            return fast
        if not (_fastcall.JIT and hasattr(self.kernels.select, "compile")
                and hasattr(self.kernels.update, "compile")):
            return None
        state = self.state                           # synced from a box being replaced
        handle = _fastcall.rng_handle(self.rng)
        contextual = self.protocol.contextual
        last = self.__dict__.get("_last_context") if contextual else None
        context = (None if not contextual else
                   last if last is not None else np.zeros(self._dims(), dtype=np.float64))
        low, high, integer = self.reward_model.compiled_bounds(self.check_rewards)
        built = _fastcall.box_entry_points(
            self.params, state, handle, low=low, high=high, integer=integer,
            n_arms=self.n_arms, context=context, ready=last is not None)
        if built is None:
            return None
        box, select, update, read, read_context = built
        # a plain list: CPython's fast indexing is for exact lists only (a list subclass
        # cost UCB1's step API about 14% more per decision); copies and pickles never carry
        # it (__getstate__, __reduce_ex__)
        fast = [self.rng, self.params, box, handle, select, update, False, read, contextual,
                read_context, self._dims() if contextual else None]
        self.__dict__["_fastcall"] = fast
        return fast

    def _sync_from_box(self) -> None:
        """Bring the state and, for contextual policies, the last features back from the box."""
        fast = self.__dict__.get("_fastcall")
        if fast is None:
            return
        if "_state" in self.__dict__:
            self.__dict__["_state"] = self.state
        if fast[9] is not None:
            ready, context = fast[9](fast[2])
            self.__dict__["_last_context"] = context if ready else None

    def _drop_box(self) -> None:
        """Forget the step box (after bringing its state back)."""
        self._sync_from_box()
        self.__dict__.pop("_fastcall", None)

    def select(self, obs: Any = None) -> int:
        """Choose an action. For contextual policies ``obs`` is the feature matrix."""
        # the common cases first: a step box that is current, and for contextual policies a
        # float64 array of the right shape (the box refuses other layouts and non-finite
        # entries, which the checked path then copies or reports)
        fast = self.__dict__.get("_fastcall")     # dropped whenever params, rng or state change
        if fast is not None:
            if not fast[8]:
                return fast[4]()
            if type(obs) is np.ndarray and obs.dtype is _FLOAT64 and obs.shape == fast[10]:
                arm = fast[4](obs)
                if arm >= 0:
                    return arm
        return self._select_checked(obs)

    def _select_checked(self, obs: Any) -> int:
        self._require_state("select")
        if self.protocol.contextual:
            ctx = checked_contexts(obs, self._dims(), "(n_arms, n_features)",
                                   f"{self.name}.select")
            fast = self._fast()
            if fast is not None:                 # the box keeps its own copy of ctx
                arm = int(fast[4](ctx))
                if arm < 0:                      # checked_contexts admits what the box does
                    raise RuntimeError(f"{self.name}.select: the step box refused features "
                                       "that the checks admitted; please report this.")
                return arm
            self._last_context = ctx.copy()
            return int(self.kernels.select(self.params, self.state, ctx, self.rng))
        fast = self._fast()
        if fast is not None:
            return int(fast[4]())
        return int(self.kernels.select(self.params, self.state, self.rng))

    def update(self, action: int, reward: float, obs: Any = None) -> None:
        """Feed back the reward of ``action``. ``obs`` is the *next* observation.

        Contextual policies learn from the context given to the last :meth:`select` (a copy
        taken there: changing that array afterwards changes nothing); the next observation is
        not used by the built-in policies.
        """
        # the common case first: a step box that is current, an int action and a float reward
        # (what select returns and envs give); the box checks the action range and that the
        # reward is finite and admitted (check_rewards), and refuses with no change otherwise
        fast = self.__dict__.get("_fastcall")     # dropped whenever params, rng or state change
        if fast is not None and type(action) is int and type(reward) is float:
            try:
                if fast[5](action, reward):
                    fast[6] = True
                    return
            except OverflowError:                 # an int beyond int64: out of range anyway
                pass
        self._update_checked(action, reward)

    def _update_checked(self, action: Any, reward: Any) -> None:
        self._require_state("update")
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
        contextual = self.protocol.contextual
        fast = self._fast()
        if fast is not None:
            if fast[5](arm, r):
                fast[6] = True
                return
            if not contextual:     # the box checks what the lines above checked
                raise RuntimeError(f"{self.name}.update: the step box refused an update that "
                                   "the checks admitted; please report this.")
        elif not contextual:
            self.state = self.kernels.update(self.params, self.state, arm, r)
            return
        elif self._last_context is not None:
            self.state = self.kernels.update(self.params, self.state, arm, r,
                                             self._last_context)
            return
        raise RuntimeError(f"{self.name}.update: call select(obs) before update().")

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
