"""``BatchedPolicy``: N independent copies of one policy, stepped in one compiled call.

A simulator that runs many independent learners (one per user, per cell, per replicate) calls
``select`` once for all of them and ``update`` once with all their rewards::

    batch = BatchedPolicy(UCB(10), n_copies=1000).reset(seed=0)
    actions = batch.select()                 # int64[1000]
    batch.update(actions, rewards)           # rewards: float[1000]

Copy ``i`` is exactly the single policy: its state comes from the policy's ``init`` kernel and
its generator from its own seed, and each step calls the policy's own ``select``/``update``
kernels (:mod:`banditlab.protocols`), so copy ``i`` reset with seed ``s_i`` takes the actions
``policy.reset(seed=s_i)`` takes on the same rewards (tested for every registered K-armed,
fixed-budget and contextual policy). ``reset(seed=s)`` with one int gives copy ``i`` the policy
seed of run ``i`` of :func:`banditlab.run_many` with seed ``s`` (:mod:`banditlab._seeding`); a
sequence of ``n_copies`` ints gives each copy its own.

The copies' generators reach the compiled loop as handles (:mod:`banditlab._fastcall`) and
their states live in one ``numba.typed.List``, so a step costs one call for all copies instead
of ``n_copies`` (``benchmarks/bench_step.py``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import typed

from banditlab._fastcall import JIT, generator_from_handle, rng_handle
from banditlab._jit import njit
from banditlab._seeding import check_seed, make_rng, run_seed_pair
from banditlab._validation import MAX_RUNS, Integer, check_memory
from banditlab.policy import Policy, checked_contexts
from banditlab.protocols import call_select, call_update

__all__ = ["BatchedPolicy"]


@njit
def _select_all(params, states, handles, out):
    for i in range(len(states)):
        out[i] = call_select(params, states[i], generator_from_handle(handles[i]))


@njit
def _select_all_context(params, states, contexts, handles, out):
    for i in range(len(states)):
        out[i] = call_select(params, states[i], contexts[i], generator_from_handle(handles[i]))


@njit
def _update_all(params, states, actions, rewards):
    for i in range(len(states)):
        states[i] = call_update(params, states[i], actions[i], rewards[i])


@njit
def _update_all_context(params, states, actions, rewards, contexts):
    for i in range(len(states)):
        states[i] = call_update(params, states[i], actions[i], rewards[i], contexts[i])


class BatchedPolicy:
    """``n_copies`` independent copies of ``policy`` (K-armed, fixed-budget or contextual).

    Parameters
    ----------
    policy : Policy
        A built-in or registered policy with compiled kernels; its parameters are shared by
        every copy (it is not modified).
    n_copies : int
        Number of copies, in [1, 2**31].
    """

    def __init__(self, policy: Policy, n_copies: int) -> None:
        if not isinstance(policy, Policy) or isinstance(policy.params, dict):
            raise TypeError(f"BatchedPolicy: 'policy' must be a Policy with compiled kernels "
                            f"(a built-in or registered policy); got {type(policy).__name__}.")
        if not JIT:
            raise RuntimeError("BatchedPolicy: needs compiled kernels; unset "
                               "NUMBA_DISABLE_JIT.")
        self.n_copies = int(Integer(1, MAX_RUNS).check(n_copies, "n_copies", "BatchedPolicy"))
        self.policy = policy
        self.n_arms = policy.n_arms
        self.params = policy.params
        self.contextual = policy.protocol.contextual
        self._dims = policy._dims()

    @property
    def name(self) -> str:
        return f"BatchedPolicy({self.policy.name}, n_copies={self.n_copies})"

    def __repr__(self) -> str:
        return f"BatchedPolicy({self.policy!r}, n_copies={self.n_copies})"

    # -- state ------------------------------------------------------------------------------
    def _copy_seeds(self, seed: Any) -> list[int | None]:
        owner = f"{self.name}.reset"
        if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
            root = check_seed(seed, owner)
            if root is None:
                root = int(np.random.SeedSequence().entropy)
            return [run_seed_pair(root, i)[1] for i in range(self.n_copies)]
        if isinstance(seed, (str, bytes)) or not isinstance(seed, Sequence | np.ndarray):
            raise TypeError(f"{owner}: 'seed' must be None, an int in [0, inf) or a sequence "
                            f"of {self.n_copies} such ints; got {type(seed).__name__} {seed!r}.")
        seeds = list(seed)
        if len(seeds) != self.n_copies:
            raise ValueError(f"{owner}: 'seed' must hold one seed per copy ({self.n_copies}); "
                             f"got {len(seeds)}.")
        return [check_seed(s, owner) for s in seeds]

    def reset(self, *, seed: Any = None) -> BatchedPolicy:
        """Fresh states and generators: copy ``i`` as ``policy.reset(seed=seeds[i])``."""
        est = self.policy._state_nbytes()          # before anything per copy is made
        if est is not None:
            check_memory(est[0] * self.n_copies, f"{self.n_copies} copies, {est[1]}",
                         f"{self.name}.reset")
        seeds = self._copy_seeds(seed)
        self.rngs = [make_rng(s) for s in seeds]
        self.handles = np.stack([rng_handle(r) for r in self.rngs])
        states = typed.List()
        for _ in range(self.n_copies):
            states.append(self.policy.kernels.init(self.params, *self._dims))
        self.states = states
        self._contexts: np.ndarray | None = None
        self._actions = np.empty(self.n_copies, dtype=np.int64)
        return self

    def state(self, i: int) -> Any:
        """The state of copy ``i`` (a copy of the policy's ``State`` NamedTuple)."""
        self._require_state("state")
        k = int(Integer(0, self.n_copies - 1).check(i, "i", f"{self.name}.state"))
        return self.states[k]

    def _require_state(self, what: str) -> None:
        if not hasattr(self, "states"):
            raise RuntimeError(f"{self.name}.{what}: call reset(seed=...) first.")

    # -- interaction ------------------------------------------------------------------------
    def select(self, obs: Any = None) -> np.ndarray:
        """Every copy's action, ``int64[n_copies]``. Contextual policies take ``obs`` of shape
        ``(n_copies, n_arms, n_features)``."""
        self._require_state("select")
        out = np.empty(self.n_copies, dtype=np.int64)
        if self.contextual:
            ctx = checked_contexts(obs, (self.n_copies, *self._dims),
                                   "(n_copies, n_arms, n_features)", f"{self.name}.select")
            self._contexts = ctx
            _select_all_context(self.params, self.states, ctx, self.handles, out)
        else:
            _select_all(self.params, self.states, self.handles, out)
        return out

    def update(self, actions: Any, rewards: Any, obs: Any = None) -> None:
        """Feed back every copy's reward: ``actions`` ints in [0, n_arms), ``rewards`` finite
        floats within the policy's reward model, both of shape ``(n_copies,)``."""
        self._require_state("update")
        owner, n = f"{self.name}.update", self.n_copies
        a = np.asarray(actions)
        if a.dtype.kind not in "iu":
            raise TypeError(f"{owner}: 'actions' must be an int array of shape ({n},) in "
                            f"[0, {self.n_arms - 1}]; got dtype {a.dtype}.")
        if a.shape != (n,):
            raise ValueError(f"{owner}: 'actions' must have shape ({n},); got {a.shape}.")
        if a.size and (a.min() < 0 or a.max() >= self.n_arms):
            bad = a[(a < 0) | (a >= self.n_arms)][0]
            raise ValueError(f"{owner}: 'actions' must be ints in [0, {self.n_arms - 1}]; "
                             f"got {bad}.")
        r = np.asarray(rewards)
        if r.dtype.kind not in "iuf":
            raise TypeError(f"{owner}: 'rewards' must be a finite float array of shape "
                            f"({n},); got dtype {r.dtype}.")
        if r.shape != (n,):
            raise ValueError(f"{owner}: 'rewards' must have shape ({n},); got {r.shape}.")
        r = np.ascontiguousarray(r, dtype=np.float64)
        if not np.all(np.isfinite(r)):
            raise ValueError(f"{owner}: 'rewards' must be finite floats; got "
                             f"{float(r[~np.isfinite(r)][0])!r}.")
        model = self.policy.reward_model
        if self.policy.check_rewards:
            ok = model.admits_all(r)
            if not ok.all():
                raise ValueError(f"{owner}: 'rewards' must be {model.admitted()} "
                                 f"({self.policy.name} assumes {model.describe()}); got "
                                 f"{float(r[~ok][0])!r}. Set check_rewards = False on the "
                                 "policy to feed it anyway.")
        acts = np.ascontiguousarray(a, dtype=np.int64)
        if self.contextual:
            if self._contexts is None:
                raise RuntimeError(f"{owner}: call select(obs) before update().")
            _update_all_context(self.params, self.states, acts, r, self._contexts)
        else:
            _update_all(self.params, self.states, acts, r)
