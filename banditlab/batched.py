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

The copies' generators reach the compiled loop as handles (:mod:`banditlab._fastcall`), and
their states are stored as a struct of arrays: field ``k`` of every copy's ``State`` is one
``(n_copies, ...)`` array, and the loop rebuilds copy ``i``'s ``State`` from views of row ``i``
(no copy) and writes back the fields its ``update`` returns (numbers; arrays updated in place
cost nothing). A step is one call for all copies (``benchmarks/bench_step.py``). A policy's
``State`` must be a NamedTuple of at most :data:`MAX_STATE_FIELDS` arrays and numbers (every
built-in one is).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from numba.extending import overload

from banditlab._fastcall import (
    JIT,
    admitted,
    data_address,
    generator_from_handle,
    rng_handle,
    row_view,
)
from banditlab._jit import njit
from banditlab._seeding import check_seed, make_rng, run_seed_pair
from banditlab._validation import MAX_RUNS, Integer, check_memory
from banditlab.policy import Policy, checked_contexts
from banditlab.protocols import call_select, call_update

__all__ = ["BatchedPolicy"]

_INT64 = np.dtype(np.int64)
_FLOAT64 = np.dtype(np.float64)

#: most fields a policy's State may have (the gather/scatter below are written per arity)
MAX_STATE_FIELDS = 8


# -- struct of arrays: field k of every copy's state is row i of fields[k] ----------------------
def _gather(template, fields, i):
    """The state of copy ``i``: ``type(template)(fields[0][i], fields[1][i], ...)``."""
    return type(template)(*(f[i] for f in fields))


def _scatter(fields, i, state):
    """Store copy ``i``'s new ``state`` into its rows of ``fields``."""
    for f, v in zip(fields, state):
        f[i] = v


def _at(f, i):
    return f[i]


@overload(_at)
def _at_impl(f, i):
    if f.ndim == 1:                      # a number per copy
        return lambda f, i: f[i]
    return lambda f, i: row_view(f, i)   # an array per copy: a view, no reference count


@overload(_gather)
def _gather_impl(template, fields, i):
    cls = template.instance_class
    n = len(fields)
    impls = {
        1: lambda template, fields, i: cls(_at(fields[0], i)),
        2: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i)),
        3: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i),
                                           _at(fields[2], i)),
        4: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i),
                                           _at(fields[2], i), _at(fields[3], i)),
        5: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i),
                                           _at(fields[2], i), _at(fields[3], i),
                                           _at(fields[4], i)),
        6: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i),
                                           _at(fields[2], i), _at(fields[3], i),
                                           _at(fields[4], i), _at(fields[5], i)),
        7: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i),
                                           _at(fields[2], i), _at(fields[3], i),
                                           _at(fields[4], i), _at(fields[5], i),
                                           _at(fields[6], i)),
        8: lambda template, fields, i: cls(_at(fields[0], i), _at(fields[1], i),
                                           _at(fields[2], i), _at(fields[3], i),
                                           _at(fields[4], i), _at(fields[5], i),
                                           _at(fields[6], i), _at(fields[7], i)),
    }
    return impls.get(n)


def _put(f, i, v):
    f[i] = v


@overload(_put, inline="always")
def _put_impl(f, i, v):
    if f.ndim == 1:                      # a number per copy
        def scalar(f, i, v):
            f[i] = v
        return scalar

    def array(f, i, v):                  # an array per copy: nothing to do when updated in place
        if data_address(v) != data_address(f) + i * f.strides[0]:
            f[i] = v
    return array


@overload(_scatter, inline="always")
def _scatter_impl(fields, i, state):
    n = len(fields)

    def impl(fields, i, state):
        _put(fields[0], i, state[0])
        if n > 1:
            _put(fields[1], i, state[1])
        if n > 2:
            _put(fields[2], i, state[2])
        if n > 3:
            _put(fields[3], i, state[3])
        if n > 4:
            _put(fields[4], i, state[4])
        if n > 5:
            _put(fields[5], i, state[5])
        if n > 6:
            _put(fields[6], i, state[6])
        if n > 7:
            _put(fields[7], i, state[7])
    return impl


@njit
def _first_refused(actions, rewards, n_arms, low, high, integer):
    """Index of the first copy whose action is out of range or whose reward is outside
    ``[low, high]`` (finite bounds: NaN and inf fail) or not an integer when ``integer``;
    -1 when every entry is admitted (one pass instead of one NumPy pass per check)."""
    for i in range(actions.shape[0]):
        if not admitted(actions[i], rewards[i], n_arms, low, high, integer):
            return i
    return -1


@njit
def _select_all(params, template, fields, handles, out):
    for i in range(out.shape[0]):
        out[i] = call_select(params, _gather(template, fields, i),
                             generator_from_handle(row_view(handles, i)))


@njit
def _select_all_context(params, template, fields, contexts, handles, out):
    for i in range(out.shape[0]):
        out[i] = call_select(params, _gather(template, fields, i), contexts[i],
                             generator_from_handle(row_view(handles, i)))


@njit
def _update_all(params, template, fields, actions, rewards, admit):
    """Update every copy, or none: the index of the first entry :func:`_first_refused`
    refuses under ``admit = (n_arms, low, high, integer)``, or -1 once all are updated (one
    compiled call per step instead of a check and an update)."""
    bad = _first_refused(actions, rewards, admit[0], admit[1], admit[2], admit[3])
    if bad >= 0:
        return bad
    for i in range(actions.shape[0]):
        _scatter(fields, i, call_update(params, _gather(template, fields, i), actions[i],
                                         rewards[i]))
    return -1


@njit
def _update_all_context(params, template, fields, actions, rewards, admit, contexts):
    """:func:`_update_all` for contextual policies (``contexts`` as given to select)."""
    bad = _first_refused(actions, rewards, admit[0], admit[1], admit[2], admit[3])
    if bad >= 0:
        return bad
    for i in range(actions.shape[0]):
        _scatter(fields, i, call_update(params, _gather(template, fields, i), actions[i],
                                         rewards[i], contexts[i]))
    return -1


def _stack_states(states: list[Any], owner: str) -> tuple[np.ndarray, ...]:
    """Field ``k`` of every state, stacked: ``(n_copies, *shape)`` arrays (numbers become
    1-d arrays of their type). Refuses a State with fields of other kinds."""
    first = states[0]
    names = getattr(type(first), "_fields", None)
    if names is None or not 1 <= len(names) <= MAX_STATE_FIELDS:
        raise TypeError(f"{owner}: the policy's state must be a NamedTuple of 1 to "
                        f"{MAX_STATE_FIELDS} arrays and numbers; got {type(first).__name__}.")
    fields = []
    for k, name in enumerate(names):
        value = first[k]
        if isinstance(value, np.ndarray):
            fields.append(np.ascontiguousarray(np.stack([s[k] for s in states])))
        elif isinstance(value, bool | np.bool_ | numbers.Integral | numbers.Real):
            dtype = np.asarray(value).dtype
            fields.append(np.array([s[k] for s in states], dtype=dtype))
        else:
            raise TypeError(f"{owner}: the policy's state field {name!r} must be an array or "
                            f"a number; got {type(value).__name__}.")
    return tuple(fields)


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
        self._shape: tuple[int, ...] | None = None  # set by reset

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
        init = self.policy.kernels.init
        self._template = init(self.params, *self._dims)
        self.states = _stack_states([init(self.params, *self._dims)
                                     for _ in range(self.n_copies)], f"{self.name}.reset")
        self._contexts: np.ndarray | None = None
        self._entries: dict[Any, Any] = {}
        self._entries_for = None
        self._shape = (self.n_copies,)              # what update's fast path takes
        self._admit: tuple[Any, ...] = (None, None, ())
        return self

    def _entry(self, kernel: Any, args: tuple[Any, ...], strided: tuple[int, ...] = ()
               ) -> Any:
        """``kernel``'s compiled entry point for ``args``, resolved once per reset (and again
        if ``params`` is replaced): calling it skips the dispatcher's typing of the state
        tuple, about 1.5 µs per call. The states, the handles and what select makes are
        C-contiguous arrays of fixed dtypes, so their types stay those of the first call; the
        arguments at the positions ``strided`` (update's actions and rewards, which come from
        the caller) are compiled as 1-d arrays of any strides, so a view or a read-only
        array of the right dtype is read correctly too."""
        if self._entries_for is not self.params:
            self._entries, self._entries_for = {}, self.params
        entry = self._entries.get(kernel)
        if entry is None:
            sig = [numba.typeof(a) for a in args]
            for k in strided:
                sig[k] = numba.types.Array(sig[k].dtype, 1, "A")
            entry = kernel.compile(tuple(sig))
            self._entries[kernel] = entry
        return entry

    def state(self, i: int) -> Any:
        """The state of copy ``i`` (a copy of the policy's ``State`` NamedTuple)."""
        self._require_state("state")
        k = int(Integer(0, self.n_copies - 1).check(i, "i", f"{self.name}.state"))
        values = [f[k].copy() if f.ndim > 1 else f[k].item() for f in self.states]
        return type(self._template)(*values)

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
            args = (self.params, self._template, self.states, ctx, self.handles, out)
            self._entry(_select_all_context, args)(*args)
        else:
            args = (self.params, self._template, self.states, self.handles, out)
            self._entry(_select_all, args)(*args)
        return out

    def update(self, actions: Any, rewards: Any, obs: Any = None) -> None:
        """Feed back every copy's reward: ``actions`` ints in [0, n_arms), ``rewards`` finite
        floats within the policy's reward model, both of shape ``(n_copies,)``. Nothing is
        updated when any entry is refused."""
        # the common case first: int64 actions and float64 rewards of shape (n_copies,), as
        # select and a vector env return them, go to the compiled call as they are (it takes
        # any strides and checks every value); anything else is checked and converted here
        if not (type(actions) is np.ndarray and type(rewards) is np.ndarray
                and actions.dtype is _INT64 and rewards.dtype is _FLOAT64
                and actions.shape == self._shape and rewards.shape == self._shape):
            self._require_state("update")
            a, r = self._checked_arrays(actions, rewards)
            # uint64 beyond int64 turns negative here: refused as out of range below
            actions, rewards = a.astype(np.int64, copy=False), r.astype(np.float64, copy=False)
        else:
            a, r = actions, rewards
        policy = self.policy
        model, checked, admit = policy.reward_model, policy.check_rewards, self._admit
        if admit[0] is not model or admit[1] is not checked:     # set, or replaced since
            admit = self._admit = (model, checked,
                                   (self.n_arms, *model.compiled_bounds(checked)))
        if self.contextual:
            if self._contexts is None:
                raise RuntimeError(f"{self.name}.update: call select(obs) before update().")
            args = (self.params, self._template, self.states, actions, rewards, admit[2],
                    self._contexts)
            refused = self._entry(_update_all_context, args, strided=(3, 4))(*args)
        else:
            args = (self.params, self._template, self.states, actions, rewards, admit[2])
            refused = self._entry(_update_all, args, strided=(3, 4))(*args)
        if refused >= 0:
            self._refuse(f"{self.name}.update", a, r)       # as given: the message quotes them

    def _checked_arrays(self, actions: Any, rewards: Any) -> tuple[np.ndarray, np.ndarray]:
        """``actions`` and ``rewards`` as arrays of shape ``(n_copies,)`` of ints, and of
        ints or floats; TypeError or ValueError when they are of another kind or shape."""
        n = self.n_copies
        try:
            a = np.asarray(actions)
        except (TypeError, ValueError) as exc:       # ragged nesting, say
            raise TypeError(f"{self.name}.update: 'actions' must be an int array of shape "
                            f"({n},); got {type(actions).__name__} ({exc}).") from None
        try:
            r = np.asarray(rewards)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{self.name}.update: 'rewards' must be a finite float array of "
                            f"shape ({n},); got {type(rewards).__name__} ({exc}).") from None
        if a.dtype.kind not in "iu" or a.shape != (n,) or r.dtype.kind not in "iuf" \
                or r.shape != (n,):
            self._refuse_arrays(a, r)
        return a, r

    def _refuse_arrays(self, a: np.ndarray, r: np.ndarray) -> None:
        """Raise the error for ``actions`` or ``rewards`` of the wrong kind or shape (the
        message is built only then: a step does not pay for it)."""
        owner, n = f"{self.name}.update", self.n_copies
        if a.dtype.kind not in "iu":
            raise TypeError(f"{owner}: 'actions' must be an int array of shape ({n},) in "
                            f"[0, {self.n_arms - 1}]; got dtype {a.dtype}.")
        if a.shape != (n,):
            raise ValueError(f"{owner}: 'actions' must have shape ({n},); got {a.shape}.")
        if r.dtype.kind not in "iuf":
            raise TypeError(f"{owner}: 'rewards' must be a finite float array of shape "
                            f"({n},); got dtype {r.dtype}.")
        raise ValueError(f"{owner}: 'rewards' must have shape ({n},); got {r.shape}.")

    def _refuse(self, owner: str, a: np.ndarray, r: np.ndarray) -> None:
        """Raise the error for the first refused entry (the compiled check found one)."""
        if a.min() < 0 or a.max() >= self.n_arms:
            bad = a[(a < 0) | (a >= self.n_arms)][0]
            raise ValueError(f"{owner}: 'actions' must be ints in [0, {self.n_arms - 1}]; "
                             f"got {bad}.")
        if not np.all(np.isfinite(r)):
            raise ValueError(f"{owner}: 'rewards' must be finite floats; got "
                             f"{float(r[~np.isfinite(r)][0])!r}.")
        model = self.policy.reward_model
        ok = model.admits_all(r)
        raise ValueError(f"{owner}: 'rewards' must be {model.admitted()} "
                         f"({self.policy.name} assumes {model.describe()}); got "
                         f"{float(r[~ok][0])!r}. Set check_rewards = False on the "
                         "policy to feed it anyway.")
