"""Native vector versions of the K-armed envs: ``num_envs`` copies stepped in one compiled call.

``gymnasium.make_vec("banditlab/BernoulliBandit-v0", num_envs=N, means=..., horizon=...)``
(the default vectorization mode picks these classes, as does
``vectorization_mode="vector_entry_point"``) returns a :class:`KArmedVectorEnv` for the env's
reward family: :class:`BernoulliVectorEnv`, :class:`GaussianVectorEnv`, :class:`BetaVectorEnv`,
:class:`PoissonVectorEnv`, :class:`ExponentialVectorEnv` or :class:`AdversarialVectorEnv`.
Every copy shares the env's parameters (the keyword arguments of the single env, validated by
it) and has its own generator, round counter and episode.

**Bit-identity.** Copy ``i`` is exactly the single env: ``step`` draws its reward with the same
kernel (:func:`banditlab.envs.kernels.karmed_reward`) from a generator built as the single
env's ``np_random`` is, so after ``reset(seed=seeds)`` copy ``i`` returns the rewards and
truncation flags of ``gymnasium.make(env_id, **kwargs)`` reset with ``seed=seeds[i]`` and given
the same actions, bit for bit, across episodes (autoreset keeps the copy's generator, as the
single env's ``reset()`` without a seed does). Seeds follow
:class:`gymnasium.vector.SyncVectorEnv`: ``None`` keeps each copy's generator (fresh entropy
for a copy that has none), an int ``s`` seeds copy ``i`` with ``s + i``, and a sequence of
``num_envs`` ints (or ``None`` entries) seeds each copy. The copies' generators reach the
compiled loop as handles (:mod:`banditlab._fastcall`), so one ``step`` is one call into
compiled code whatever ``num_envs``.

**Autoreset.** ``autoreset_mode`` (recorded in ``metadata["autoreset_mode"]``) is gymnasium's
:class:`~gymnasium.vector.AutoresetMode`, with gymnasium 1.x semantics:

* ``NEXT_STEP`` (default): an episode ends with ``truncated=True`` on its ``horizon``-th step;
  the copy's next ``step`` resets it instead (its action is ignored; observation ``0``, reward
  ``0.0``, ``terminated`` and ``truncated`` False);
* ``SAME_STEP``: the ending step resets the copy at once and reports the final observation in
  ``info["final_obs"]`` and ``info["final_info"]`` (with their ``_``-prefixed masks);
* ``DISABLED``: stepping a copy whose episode has ended raises; reset it with
  ``reset(options={"reset_mask": mask})``.

Observations are always ``0`` (a K-armed bandit has no context): the spaces are gymnasium's
batches (:func:`gymnasium.vector.utils.batch_space`) of ``Discrete(1)`` and
``Discrete(n_arms)``, i.e. ``MultiDiscrete``; actions are ints of shape ``(num_envs,)`` in
``[0, n_arms)``. Episodes never terminate: ``terminated`` is always False.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from banditlab._fastcall import JIT, generator_from_handle, rng_handle
from banditlab._jit import njit
from banditlab._seeding import check_seed
from banditlab._validation import MAX_HORIZON, MAX_RUNS, Integer, check_memory
from banditlab.envs.karmed import (
    AdversarialBandit,
    BernoulliBandit,
    BetaBandit,
    ExponentialBandit,
    GaussianBandit,
    KArmedEnv,
    PoissonBandit,
)
from banditlab.envs.kernels import ADVERSARIAL, karmed_reward

__all__ = [
    "AdversarialVectorEnv",
    "BernoulliVectorEnv",
    "BetaVectorEnv",
    "ExponentialVectorEnv",
    "GaussianVectorEnv",
    "KArmedVectorEnv",
    "PoissonVectorEnv",
]

_NEXT_STEP, _SAME_STEP, _DISABLED = 0, 1, 2
_MODE_CODES = {AutoresetMode.NEXT_STEP: _NEXT_STEP, AutoresetMode.SAME_STEP: _SAME_STEP,
               AutoresetMode.DISABLED: _DISABLED}
#: rough memory of one copy (its Generator, bit generator and seed sequence objects, a handle)
_BYTES_PER_COPY = 2048

if JIT:
    @njit(inline="always")
    def _rng_at(rngs, i):
        """Copy ``i``'s generator, rebuilt from its handle (row ``i`` of ``uint64[N, 6]``)."""
        return generator_from_handle(rngs[i])
else:
    def _rng_at(rngs, i):
        """Copy ``i``'s generator (a list of ``Generator`` objects when JIT is disabled)."""
        return rngs[i]


@njit
def _step_all(env, horizon, rngs, actions, t, pending, mode, rewards, truncated):
    """Step every copy; returns -1, or (before changing anything) the index ``i`` of the first
    action outside ``[0, n_arms)``, or ``-2 - i`` for a copy ``i`` whose episode has ended in
    mode DISABLED. ``pending[i]``: copy ``i``'s episode has ended and it was not reset yet."""
    n_arms = env.means.shape[0]
    n = t.shape[0]
    for i in range(n):
        if actions[i] < 0 or actions[i] >= n_arms:
            return i
    if mode == _DISABLED:
        for i in range(n):
            if pending[i]:
                return -2 - i
    for i in range(n):
        if pending[i]:           # NEXT_STEP: this step is the copy's reset; its action is ignored
            t[i] = 0
            pending[i] = False
            rewards[i] = 0.0
            truncated[i] = False
            continue
        rewards[i] = karmed_reward(env, actions[i], t[i], _rng_at(rngs, i))
        t[i] += 1
        done = t[i] >= horizon
        truncated[i] = done
        if done:
            if mode == _SAME_STEP:
                t[i] = 0
            else:
                pending[i] = True
    return -1


_COMPILED: dict[Any, Any] = {}


def _compiled_step(args: tuple[Any, ...]) -> Any:
    """The compiled entry point of :func:`_step_all` for these argument types (no per-call
    typing of the env's NamedTuple); the plain function when JIT is disabled."""
    if not JIT:
        return _step_all
    import numba

    sig = tuple(numba.typeof(a) for a in args)
    entry = _COMPILED.get(sig)
    if entry is None:
        entry = _COMPILED[sig] = _step_all.compile(sig)
    return entry


class KArmedVectorEnv(VectorEnv):
    """``num_envs`` copies of a K-armed env (:attr:`single_env_class`) in one vector env.

    See the module docstring for the bit-identity guarantee, seeding and autoreset.

    Parameters
    ----------
    num_envs : int, default 1
        Number of copies, in [1, 2**31].
    autoreset_mode : AutoresetMode or str, default AutoresetMode.NEXT_STEP
    max_episode_steps : int, optional
        Truncate episodes after this many steps when it is below the env's horizon, as the
        ``TimeLimit`` wrapper ``gymnasium.make(..., max_episode_steps=m)`` adds does.
    **kwargs
        The single env's parameters (``means``, ``horizon``, ...), shared by every copy and
        validated by the single env's constructor.
    """

    single_env_class: ClassVar[type[KArmedEnv]]
    metadata: dict[str, Any] = {"render_modes": [],
                                "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, *,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 max_episode_steps: int | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        n = int(Integer(1, MAX_RUNS).check(num_envs, "num_envs", owner))
        self.autoreset_mode = self._check_mode(autoreset_mode, owner)
        limit = Integer(1, MAX_HORIZON, allow_none=True).check(max_episode_steps,
                                                                "max_episode_steps", owner)
        single = self.single_env_class(**kwargs)
        check_memory(_BYTES_PER_COPY * n, f"num_envs={n} copies", owner)
        self.num_envs = n
        self._single = single
        self._arrays = single.kernel_arrays()
        self.n_arms = single.n_arms
        self.horizon = single.horizon if limit is None else min(single.horizon, limit)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = None
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)

        self._rngs: list[np.random.Generator | None] = [None] * n
        self._seeds: list[int | None] = [None] * n
        self._handles = np.zeros((n, 6), dtype=np.uint64)
        self._t = np.zeros(n, dtype=np.int64)
        self._pending = np.zeros(n, dtype=np.bool_)
        self._started = False
        self._mode = _MODE_CODES[self.autoreset_mode]
        self._step = self._compile()

    def _compile(self) -> Any:
        n = self.num_envs
        return _compiled_step((self._arrays, self.horizon, self._handles,
                               np.zeros(n, dtype=np.int64), self._t, self._pending, self._mode,
                               np.zeros(n), np.zeros(n, dtype=np.bool_)))

    # Handles are addresses of this process's generators: a copy (pickle, deepcopy) gets its
    # own generators (copied with their states), so it rebuilds its handles from them.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_step"], state["_handles"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._handles = np.zeros((self.num_envs, 6), dtype=np.uint64)
        for i, rng in enumerate(self._rngs):
            if rng is not None:
                self._handles[i] = rng_handle(rng)
        self._step = self._compile()

    @staticmethod
    def _check_mode(mode: Any, owner: str) -> AutoresetMode:
        if isinstance(mode, AutoresetMode):
            return mode
        valid = [m.value for m in AutoresetMode]
        if isinstance(mode, str) and mode in valid:
            return AutoresetMode(mode)
        raise ValueError(f"{owner}: 'autoreset_mode' must be a gymnasium.vector.AutoresetMode "
                         f"or one of {valid}; got {mode!r}.")

    # -- the env's parameters ---------------------------------------------------------------
    @property
    def single_env(self) -> KArmedEnv:
        """The single env every copy is (its parameters; never stepped by this env)."""
        return self._single

    @property
    def env_params(self) -> dict[str, Any]:
        """The single env's constructor arguments (JSON-friendly)."""
        return self._single.env_params

    @property
    def means(self) -> np.ndarray:
        """Expected reward of each arm, ``(n_arms,)`` (a copy)."""
        return self._single.means

    @property
    def best_arm(self) -> int:
        """The optimal arm (the best fixed arm in hindsight for an adversarial table)."""
        return self._single.best_arm

    @property
    def gaps(self) -> np.ndarray:
        """Suboptimality gaps ``best_mean - means``, ``(n_arms,)``."""
        return self._single.gaps

    @property
    def t(self) -> np.ndarray:
        """Rounds played in each copy's current episode, ``int64[num_envs]`` (a copy)."""
        return self._t.copy()

    def _rounds(self) -> np.ndarray:
        return np.minimum(self._t, self.horizon - 1)

    def expected_rewards(self, actions: Any) -> np.ndarray:
        """Each copy's ``expected_reward(actions[i])`` at its current round, ``float64[N]``."""
        a = self._checked_actions(actions, f"{type(self).__name__}.expected_rewards")
        bad = np.flatnonzero((a < 0) | (a >= self.n_arms))
        if bad.size:
            self._raise_range(a, int(bad[0]), f"{type(self).__name__}.expected_rewards")
        if self._arrays.kind == ADVERSARIAL:
            return self._arrays.table[self._rounds(), a]
        return self._arrays.means[a]

    def optimal_expected_rewards(self) -> np.ndarray:
        """Each copy's ``optimal_expected_reward()`` at its current round, ``float64[N]``."""
        if self._arrays.kind == ADVERSARIAL:
            return self._arrays.table[self._rounds(), self._arrays.best_arm]
        return np.full(self.num_envs, self._arrays.best_mean)

    # -- seeding ----------------------------------------------------------------------------
    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:
        """Each copy's generator (as the single env's ``np_random``); after ``reset``."""
        self._require_reset("np_random")
        return tuple(self._rngs)

    @property
    def np_random_seed(self) -> tuple[int | None, ...]:
        """Each copy's seed (the entropy drawn for an unseeded copy); after ``reset``."""
        self._require_reset("np_random_seed")
        return tuple(self._seeds)

    def _copy_seeds(self, seed: Any, owner: str) -> list[int | None]:
        n = self.num_envs
        if seed is None:
            return [None] * n
        if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
            root = check_seed(seed, owner)
            return [root + i for i in range(n)]
        if isinstance(seed, (str, bytes)) or not isinstance(seed, Sequence | np.ndarray):
            raise TypeError(f"{owner}: 'seed' must be None, an int in [0, inf) or a sequence "
                            f"of num_envs ({n}) ints or Nones; got {type(seed).__name__} "
                            f"{seed!r}.")
        seeds = list(seed)
        if len(seeds) != n:
            raise ValueError(f"{owner}: 'seed' must hold one seed per copy (num_envs={n}); "
                             f"got {len(seeds)}.")
        return [check_seed(s, owner) for s in seeds]

    def _reset_mask(self, options: Any, owner: str) -> np.ndarray | None:
        if options is None:
            return None
        if not isinstance(options, dict):
            raise TypeError(f"{owner}: 'options' must be None or a dict; got "
                            f"{type(options).__name__} {options!r}.")
        if "reset_mask" not in options:
            return None
        mask = options["reset_mask"]
        n = self.num_envs
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
            raise TypeError(f"{owner}: options['reset_mask'] must be a numpy bool array of "
                            f"shape ({n},); got {type(mask).__name__} "
                            f"{getattr(mask, 'dtype', '')}".rstrip() + ".")
        if mask.shape != (n,):
            raise ValueError(f"{owner}: options['reset_mask'] must have shape ({n},); got "
                             f"{mask.shape}.")
        if not mask.any():
            raise ValueError(f"{owner}: options['reset_mask'] must select at least one copy; "
                             f"got no True entry.")
        return mask

    # -- the gymnasium API ------------------------------------------------------------------
    def reset(self, *, seed: Any = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode in every copy (or in those of ``options["reset_mask"]``).

        ``seed``: None (keep each copy's generator), an int ``s`` (copy ``i`` gets ``s + i``)
        or a sequence of ``num_envs`` ints or Nones. Returns observations ``int64[num_envs]``
        (all ``0``) and ``{}``.
        """
        owner = f"{type(self).__name__}.reset"
        seeds = self._copy_seeds(seed, owner)
        mask = self._reset_mask(options, owner)
        if not self._started and mask is not None and not mask.all():
            raise RuntimeError(f"{owner}: the first reset must reset every copy; call "
                               f"reset() without options['reset_mask'] first.")
        which = range(self.num_envs) if mask is None else np.flatnonzero(mask).tolist()
        for i in which:
            s = seeds[i]
            if s is not None or self._rngs[i] is None:
                rng, entropy = seeding.np_random(s)
                self._rngs[i], self._seeds[i] = rng, entropy
                self._handles[i] = rng_handle(rng)
        if mask is None:
            self._t[:] = 0
            self._pending[:] = False
        else:
            self._t[mask] = 0
            self._pending[mask] = False
        self._started = True
        return np.zeros(self.num_envs, dtype=np.int64), {}

    def _checked_actions(self, actions: Any, owner: str) -> np.ndarray:
        n, k = self.num_envs, self.n_arms
        if (type(actions) is np.ndarray and actions.dtype == np.int64
                and actions.shape == (n,) and actions.flags.c_contiguous):
            return actions
        try:
            a = actions if isinstance(actions, np.ndarray) else np.asarray(actions)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{owner}: 'actions' must be an int array of shape ({n},) with "
                            f"entries in [0, {k - 1}]; got {type(actions).__name__} "
                            f"({exc}).") from None
        if a.dtype.kind not in "iu":
            raise TypeError(f"{owner}: 'actions' must be an int array of shape ({n},) with "
                            f"entries in [0, {k - 1}]; got dtype {a.dtype}.")
        if a.shape != (n,):
            raise ValueError(f"{owner}: 'actions' must have shape (num_envs,) = ({n},); got "
                             f"{a.shape}.")
        if a.dtype.kind == "u" and a.size and a.max() >= k:
            self._raise_range(a, int(np.flatnonzero(a >= k)[0]), owner)
        return np.ascontiguousarray(a, dtype=np.int64)

    def _raise_range(self, actions: np.ndarray, i: int, owner: str) -> None:
        raise ValueError(f"{owner}: 'actions' must be ints in [0, {self.n_arms - 1}]; got "
                         f"{actions[i]} for copy {i}.")

    def _require_reset(self, what: str) -> None:
        if not self._started:
            raise RuntimeError(f"{type(self).__name__}.{what}: call reset() first.")

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        """Step every copy with its action (ints of shape ``(num_envs,)`` in
        ``[0, n_arms)``); returns ``(obs, rewards, terminated, truncated, info)``: arrays of
        shape ``(num_envs,)`` of dtypes int64, float64, bool and bool, and a dict."""
        owner = f"{type(self).__name__}.step"
        if not self._started:
            self._require_reset("step")
        a = self._checked_actions(actions, owner)
        n = self.num_envs
        rewards = np.empty(n)
        truncated = np.empty(n, dtype=np.bool_)
        code = self._step(self._arrays, self.horizon, self._handles if JIT else self._rngs, a,
                          self._t, self._pending, self._mode, rewards, truncated)
        if code != -1:
            if code >= 0:
                self._raise_range(a, code, owner)
            raise RuntimeError(f"{owner}: the episode of copy {-2 - code} has ended "
                               f"(horizon={self.horizon}) and autoreset_mode is DISABLED; "
                               f"reset it with reset(options={{'reset_mask': mask}}) first.")
        obs = np.zeros(n, dtype=np.int64)
        infos: dict[str, Any] = {}
        if self._mode == _SAME_STEP and truncated.any():
            final_obs = np.full(n, None, dtype=object)
            final_obs[truncated] = 0
            infos = {"final_obs": final_obs, "_final_obs": truncated.copy(),
                     "final_info": {}, "_final_info": truncated.copy()}
        return obs, rewards, np.zeros(n, dtype=np.bool_), truncated, infos

    def __repr__(self) -> str:
        if self.spec is None:
            return f"{type(self).__name__}(num_envs={self.num_envs}, {self._single!r})"
        return f"{type(self).__name__}({self.spec.id}, num_envs={self.num_envs})"


class BernoulliVectorEnv(KArmedVectorEnv):
    """``num_envs`` copies of :class:`~banditlab.envs.BernoulliBandit` (see
    :class:`KArmedVectorEnv`)."""

    single_env_class = BernoulliBandit


class GaussianVectorEnv(KArmedVectorEnv):
    """``num_envs`` copies of :class:`~banditlab.envs.GaussianBandit` (see
    :class:`KArmedVectorEnv`)."""

    single_env_class = GaussianBandit


class BetaVectorEnv(KArmedVectorEnv):
    """``num_envs`` copies of :class:`~banditlab.envs.BetaBandit` (see
    :class:`KArmedVectorEnv`)."""

    single_env_class = BetaBandit


class PoissonVectorEnv(KArmedVectorEnv):
    """``num_envs`` copies of :class:`~banditlab.envs.PoissonBandit` (see
    :class:`KArmedVectorEnv`)."""

    single_env_class = PoissonBandit


class ExponentialVectorEnv(KArmedVectorEnv):
    """``num_envs`` copies of :class:`~banditlab.envs.ExponentialBandit` (see
    :class:`KArmedVectorEnv`)."""

    single_env_class = ExponentialBandit


class AdversarialVectorEnv(KArmedVectorEnv):
    """``num_envs`` copies of :class:`~banditlab.envs.AdversarialBandit` (see
    :class:`KArmedVectorEnv`); every copy plays the same reward table."""

    single_env_class = AdversarialBandit

