"""Single-pass streaming multi-armed bandit environment with an enforced arm-memory budget.

Arms arrive one at a time in a single pass (Wang, 2023; Assadi and Wang, 2020). Only *stored*
arms can be pulled; an arm that is discarded is gone for good, and an arm that has not arrived
yet cannot be pulled. The memory cost is the number of stored arms. Following Assadi and Wang,
the arm that has just arrived (the *buffer*) is counted separately: the budget ``memory`` bounds
the number of stored arms **besides** the buffer, so a "single-arm-memory" algorithm runs with
``memory=1``.

Conventions of this implementation (spec ``streaming_mab`` section 1.2, PROPOSED there):

* ``reset`` delivers the first arrival: arm ``0`` of the stream is in the buffer and is the
  observation. :meth:`StreamingBandit.read_next_arm` reads the following ones and returns
  ``None`` (``-1`` in kernels) at the end of the stream.
* Arm handles are stream positions ``0 .. K-1``. With ``shuffle=True`` (the default, as in the
  paper's experiments) ``reset`` shuffles the means into a fresh stream order.
* ``pull(arm, n)`` makes ``n`` pulls in one batch and returns their empirical mean. Bernoulli
  rewards are drawn exactly as ``Binomial(n, mu) / n`` (O(1) per batch whatever ``n``), so
  horizons of ``1e12`` and beyond are simulated in O(K) operations. The published code's
  Gaussian approximation (``mu + N(0, (2/sqrt(n))^2)`` for ``n > 1e5``) is available with
  ``legacy_gaussian_approx=True``.
* Exactly ``horizon`` pulls are available; a batch that would exceed them is an error
  (gymnasium's ``step`` clips it to the pulls left instead, see :class:`StreamingBandit`).
* Pseudo-regret ``sum (mu* - mu_arm) * n`` is accumulated at every pull.
* The budget is checked when an arm is read: reading with more than ``memory`` other arms
  stored is an error. Peak memory is reported both excluding and including the buffer.

All bookkeeping lives in the ``@njit`` kernels below (:func:`stream_read`, :func:`stream_pull`,
:func:`stream_discard`), which the Python methods and the algorithms of
:mod:`banditlab.streaming` call on the same state arrays. Kernels never raise: a forbidden
operation leaves the state unchanged, records an error code and makes every later operation a
no-op (reads return ``-1``); the Python front turns the code into an exception with a clear
message (:func:`stream_error_message`).

References
----------
C. Wang. Tight regret bounds for single-pass streaming multi-armed bandits. ICML 2023.
S. Assadi and C. Wang. Exploration with limited memory: streaming algorithms for coin tossing,
noisy comparisons, and multi-armed bandits. STOC 2020.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from numba.extending import overload

from banditlab._jit import njit
from banditlab._seeding import SeedLike, as_seed_sequence
from banditlab._validation import Boolean, Integer, Real
from banditlab.envs.base import BanditEnv
from banditlab.limits import short_repr

__all__ = [
    "DISCARD",
    "MAX_HORIZON",
    "PULL",
    "READ",
    "LegacyStreamArrays",
    "StreamArrays",
    "StreamState",
    "StreamingBandit",
    "StreamingMemoryError",
    "clear_cut_means",
    "hard_instance_means",
    "mix_in_means",
    "new_stream_state",
    "stream_discard",
    "stream_error_message",
    "stream_pull",
    "stream_read",
]

#: operation codes of the step API and of the recorded trace
READ, PULL, DISCARD = 0, 1, 2
#: largest supported horizon (int64 counters with room to spare)
MAX_HORIZON = 2**62

# indices into StreamState.counters
C_NEXT = 0        # next stream position to read
C_NSTORED = 1     # number of stored arms (buffer included)
C_BUFFER = 2      # handle of the buffer arm (most recently read), -1 once it is discarded
C_PEAK_EXCL = 3   # peak number of stored arms besides the buffer
C_PEAK_INCL = 4   # peak number of stored arms, buffer included
C_PULLS = 5       # pulls used (counted against the horizon)
C_ERR = 6         # error code (0: none)
C_ERR_ARM = 7     # arm involved in the error
C_ERR_N = 8       # batch size or count involved in the error
C_UNCOUNTED = 9   # pulls made outside the horizon (legacy accounting quirk Q4 only)
C_NTRACE = 10     # operations recorded so far (may exceed the trace capacity)
N_COUNTERS = 11

# error codes
E_RANGE, E_UNREAD, E_DISCARDED, E_MEMORY, E_HORIZON, E_BATCH = 1, 2, 3, 4, 5, 6

#: batches up to this size are drawn exactly under legacy_gaussian_approx (author code)
LEGACY_EXACT_MAX = 100_000


class StreamArrays(NamedTuple):
    """The fixed description of a streaming instance, as kernels see it."""

    means: np.ndarray   # float64[K]; mean of each arm, in stream order
    best_mean: float    # max(means)
    gap: float          # best mean minus second-best mean (0 for K = 1); oracle quantity
    horizon: int        # total pulls available
    memory: int         # budget: stored arms besides the buffer
    legacy_gauss: int   # 1 (in a LegacyStreamArrays only): Gaussian approximation > 1e5 pulls


# An env with ``legacy_gaussian_approx`` describes itself with a class of its own, so that a
# kernel compiled for any other env draws its batches with the exact Binomial only and neither
# compiles nor carries NumPy's normal sampler (Numba types each NamedTuple class as its own
# type; the class is read when compiling, as for the K-armed Bernoulli envs).
class LegacyStreamArrays(StreamArrays):
    """:class:`StreamArrays` of an env with ``legacy_gaussian_approx`` (``legacy_gauss == 1``)."""

    __slots__ = ()


class StreamState(NamedTuple):
    """Mutable bookkeeping of one episode (arrays mutated in place by the kernels)."""

    counters: np.ndarray   # int64[N_COUNTERS]; see the C_* indices
    stored: np.ndarray     # int64[memory + 1]; handles of stored arms (first n_stored entries)
    regret: np.ndarray     # float64[1]; cumulative pseudo-regret
    trace_ops: np.ndarray  # int64[cap, 4]; (op, arm, n, counted) of each operation
    trace_val: np.ndarray  # float64[cap]; returned handle (READ) or empirical mean (PULL)


class StreamingMemoryError(RuntimeError):
    """An operation that the streaming model forbids (unread/discarded arm, budget, horizon)."""


def new_stream_state(memory: int, trace: int = 0) -> StreamState:
    """A fresh state with the first arm (handle 0) read into the buffer.

    Parameters
    ----------
    memory : int
        Budget of stored arms besides the buffer.
    trace : int, default 0
        Capacity of the operation trace (0 records nothing).
    """
    counters = np.zeros(N_COUNTERS, np.int64)
    stored = np.full(memory + 1, -1, np.int64)
    counters[C_NEXT] = 1
    counters[C_NSTORED] = 1
    counters[C_BUFFER] = 0
    counters[C_PEAK_INCL] = 1
    stored[0] = 0
    return StreamState(counters, stored, np.zeros(1), np.zeros((trace, 4), np.int64),
                       np.zeros(trace))


# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------
@njit
def _record(st, op, arm, n, counted, value):
    k = st.counters[C_NTRACE]
    if k < st.trace_val.shape[0]:
        st.trace_ops[k, 0] = op
        st.trace_ops[k, 1] = arm
        st.trace_ops[k, 2] = n
        st.trace_ops[k, 3] = counted
        st.trace_val[k] = value
    st.counters[C_NTRACE] = k + 1


@njit
def _fail(st, code, arm, n):
    st.counters[C_ERR] = code
    st.counters[C_ERR_ARM] = arm
    st.counters[C_ERR_N] = n


@njit
def _slot(st, arm):
    for i in range(st.counters[C_NSTORED]):
        if st.stored[i] == arm:
            return i
    return -1


@njit
def _check_pullable(env, st, arm):
    """0 when ``arm`` is stored; otherwise records the error and returns its code."""
    if arm < 0 or arm >= env.means.shape[0]:
        _fail(st, E_RANGE, arm, 0)
        return E_RANGE
    if arm >= st.counters[C_NEXT]:
        _fail(st, E_UNREAD, arm, 0)
        return E_UNREAD
    if _slot(st, arm) < 0:
        _fail(st, E_DISCARDED, arm, 0)
        return E_DISCARDED
    return 0


@njit
def stream_read(env, st):
    """Read the next arm into the buffer; its handle, or -1 at the end of the stream.

    Fails with ``E_MEMORY`` (state unchanged) when more than ``env.memory`` arms besides the
    new buffer would be stored. After any error it returns -1 without doing anything.
    """
    c = st.counters
    if c[C_ERR] != 0:
        return -1
    nxt = c[C_NEXT]
    if nxt >= env.means.shape[0]:
        _record(st, 0, -1, 0, 1, -1.0)
        return -1
    held = c[C_NSTORED]          # all currently stored arms are "besides" the new buffer
    if held > env.memory:
        _fail(st, E_MEMORY, nxt, held)
        return -1
    st.stored[held] = nxt
    c[C_NSTORED] = held + 1
    c[C_BUFFER] = nxt
    c[C_NEXT] = nxt + 1
    if held > c[C_PEAK_EXCL]:
        c[C_PEAK_EXCL] = held
    if held + 1 > c[C_PEAK_INCL]:
        c[C_PEAK_INCL] = held + 1
    _record(st, 0, nxt, 0, 1, float(nxt))
    return nxt


@njit(inline="always")
def _draw_exact(env, mu, n, rng):
    return rng.binomial(n, mu) / float(n)


@njit(inline="always")
def _draw_legacy(env, mu, n, rng):
    if env.legacy_gauss == 1 and n > LEGACY_EXACT_MAX:
        return mu + (2.0 / np.sqrt(float(n))) * rng.standard_normal()
    return _draw_exact(env, mu, n, rng)


def _draw_mean(env, mu, n, rng):
    """Empirical mean of ``n`` pulls of an arm of mean ``mu`` (in Python: by ``legacy_gauss``)."""
    return _draw_legacy(env, mu, n, rng)


@overload(_draw_mean, inline="always")
def _draw_mean_compiled(env, mu, n, rng):
    # the exact draw alone unless the env's class is LegacyStreamArrays
    draw = (_draw_legacy if getattr(env, "instance_class", None) is LegacyStreamArrays
            else _draw_exact)
    return lambda env, mu, n, rng: draw(env, mu, n, rng)


@njit
def stream_pull_charged(env, st, arm, n, charge_arm, counted, rng):
    """``n`` pulls of ``arm``; regret charged at ``charge_arm``'s mean; ``counted`` 0 or 1.

    Only the legacy accounting of :mod:`banditlab.streaming` uses ``charge_arm != arm``
    (quirk Q2) or ``counted == 0`` (quirk Q4: pulls outside the horizon). Returns the empirical
    mean, or NaN after an error (state unchanged by the failing call).
    """
    c = st.counters
    if c[C_ERR] != 0:
        return np.nan
    if n < 1:
        _fail(st, E_BATCH, arm, n)
        return np.nan
    if _check_pullable(env, st, arm) != 0:
        return np.nan
    if counted == 1 and n > env.horizon - c[C_PULLS]:
        _fail(st, E_HORIZON, arm, n)
        return np.nan
    x = _draw_mean(env, env.means[arm], n, rng)
    st.regret[0] += (env.best_mean - env.means[charge_arm]) * float(n)
    if counted == 1:
        c[C_PULLS] += n
    else:
        c[C_UNCOUNTED] += n
    _record(st, 1, arm, n, counted, x)
    return x


@njit
def stream_pull(env, st, arm, n, rng):
    """``n`` pulls of the stored ``arm``: their empirical mean (NaN after an error)."""
    return stream_pull_charged(env, st, arm, n, arm, 1, rng)


@njit
def stream_discard(env, st, arm):
    """Drop the stored ``arm`` for good. Returns 0, or the error code (state unchanged)."""
    c = st.counters
    if c[C_ERR] != 0:
        return c[C_ERR]
    code = _check_pullable(env, st, arm)
    if code != 0:
        return code
    i = _slot(st, arm)
    last = c[C_NSTORED] - 1
    st.stored[i] = st.stored[last]
    st.stored[last] = -1
    c[C_NSTORED] = last
    if c[C_BUFFER] == arm:
        c[C_BUFFER] = -1
    _record(st, 2, arm, 0, 1, 0.0)
    return 0


@njit
def _top2(means):
    """Largest and second-largest entries (the largest twice when K = 1), without a copy."""
    best = -np.inf
    second = -np.inf
    for x in means:
        if x > best:
            second = best
            best = x
        elif x > second:
            second = x
    return best, (best if second == -np.inf else second)


@njit
def stream_remaining(env, st):
    """Pulls left in the horizon."""
    return env.horizon - st.counters[C_PULLS]


# ------------------------------------------------------------------------------------------
# Python front
# ------------------------------------------------------------------------------------------
def stream_error_message(arrays: StreamArrays, state: StreamState, owner: str) -> str | None:
    """The message of the error recorded in ``state``, or None if there is none."""
    c = state.counters
    code = int(c[C_ERR])
    if code == 0:
        return None
    return _error_text(arrays, state, owner, code, int(c[C_ERR_ARM]), int(c[C_ERR_N]))


def _error_text(arrays: StreamArrays, state: StreamState, owner: str, code: int, arm: int,
                n: int) -> str:
    c = state.counters
    k = int(arrays.means.shape[0])
    if code == E_RANGE:
        return f"{owner}: arm {arm} does not exist; handles are stream positions in [0, {k - 1}]."
    if code == E_UNREAD:
        return (f"{owner}: arm {arm} has not been read yet (the stream is at position "
                f"{int(c[C_NEXT])}); only stored arms can be pulled or discarded.")
    if code == E_DISCARDED:
        return (f"{owner}: arm {arm} was discarded; a discarded arm is gone for good in the "
                "single-pass streaming model.")
    if code == E_MEMORY:
        return (f"{owner}: reading arm {arm} would store {n} arms besides the buffer, above the "
                f"memory budget of {arrays.memory}; discard an arm first.")
    if code == E_HORIZON:
        left = arrays.horizon - int(c[C_PULLS])
        return (f"{owner}: pulling arm {arm} {n} times exceeds the horizon: only {left} of "
                f"horizon={arrays.horizon} pulls are left.")
    if code == E_BATCH:
        return f"{owner}: 'n' must be an int in [1, inf); got {n}."
    return f"{owner}: unknown streaming error code {code}."


def _scalar(x: Any) -> Any:
    """``x.item()`` for a 0-d array (what gymnasium's ``Box`` samples), else ``x``."""
    return x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x


def _means_array(means: Any, owner: str) -> np.ndarray:
    """Vectorised check of a means array (entries in [0, 1]); returns a float64 copy."""
    if isinstance(means, str | bytes | dict) or means is None:
        raise TypeError(f"{owner}: 'means' must be a 1-d array of floats with entries in "
                        f"[0, 1]; got {type(means).__name__} {means!r}.")
    arr = np.asarray(means)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{owner}: 'means' must be a 1-d array of floats with entries in "
                        f"[0, 1]; got an array of dtype {arr.dtype}.")
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"{owner}: 'means' must be a 1-d array of floats with entries in "
                         f"[0, 1] (non-empty); got shape {arr.shape}.")
    out = np.array(arr, dtype=np.float64, order="C", copy=True)
    lo, hi = out.min(), out.max()             # NaN propagates, so it fails the test below
    if not (lo >= 0.0 and hi <= 1.0):
        bad = ~((out >= 0.0) & (out <= 1.0))
        raise ValueError(f"{owner}: 'means' must be a 1-d array of floats with entries in "
                         f"[0, 1]; got an entry equal to {float(out[np.argmax(bad)])!r}.")
    return out


class StreamingBandit(BanditEnv):
    """Single-pass streaming bandit with Bernoulli arms and an enforced memory budget.

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Bernoulli means in [0, 1] (use :func:`clear_cut_means`, :func:`mix_in_means` or
        :func:`hard_instance_means` for the paper's instances).
    horizon : int
        Total number of pulls ``T``, in ``[1, 2**62]``.
    memory : int, optional
        Maximum number of stored arms besides the buffer, in ``[0, n_arms]``. Default
        ``n_arms`` (no effective limit; peak memory is still reported).
    shuffle : bool, default True
        Shuffle the arms into a fresh stream order at every ``reset`` (as in the paper).
    legacy_gaussian_approx : bool, default False
        Reproduce the author code's reward model: batches above ``1e5`` pulls return
        ``mu + N(0, (2/sqrt(n))^2)`` instead of the exact Binomial mean.

    Notes
    -----
    Python API (each call goes through the shared kernels): :meth:`read_next_arm`,
    :meth:`pull`, :meth:`discard`, and the reports :attr:`pulls_used`, :attr:`regret`,
    :attr:`peak_memory` (besides the buffer), :attr:`peak_memory_incl_buffer`,
    :attr:`stored_arms`.

    Gymnasium API: an action is ``(op, slot, n)``, an element of ``Tuple((Discrete(3),
    Discrete(memory + 1), Box(1, horizon, (), int64)))``:

    * ``op``: ``0`` reads the next arm, ``1`` pulls, ``2`` discards;
    * ``slot`` designates the stored arm to pull or discard. With the stored arms listed in
      stream order (:attr:`stored_arms`, also ``info["stored_arms"]``), slot ``s`` is the arm
      ``stored_arms[s % len(stored_arms)]``: every slot designates a stored arm as soon as one
      is stored. :meth:`slot_of` gives the slot of an arm handle;
    * ``n``: a pull makes ``min(n, pulls_left)`` pulls in one batch (``info["pulls"]``).

    ``slot`` and ``n`` are ignored where they do not apply. The observation is the handle
    returned by a read (``-1`` at the end of the stream), else the handle of the arm in the
    buffer (``-1`` when it was discarded); the reward of a pull is the sum of its rewards (0
    otherwise). ``truncated`` is True once the horizon is used up (reads and discards remain
    possible); ``terminated`` is True once no pull can ever be made again (the stream has ended
    and every arm was discarded; only reads, returning -1, remain legal).

    Illegal actions: ``reset`` and every ``step`` return ``info["action_mask"]``
    (:meth:`action_mask`), with which ``env.action_space.sample(mask=info["action_mask"])``
    draws legal actions only. ``step`` raises :class:`StreamingMemoryError`, leaving the state
    unchanged, for the actions of the space that the streaming model forbids in the current
    state, which are exactly those the mask excludes: a read while ``memory + 1`` arms are
    stored (the buffer included) and the stream has not ended; a pull or a discard while no
    arm is stored; a pull once the horizon is used up. It raises ``TypeError`` or
    ``ValueError`` for an action outside the space (``op`` not in ``{0, 1, 2}``, ``slot`` not
    an int in ``[0, memory]``, ``n`` not an int in ``[1, horizon]``).

    References
    ----------
    C. Wang. Tight regret bounds for single-pass streaming multi-armed bandits. ICML 2023.
    """

    family = "streaming"
    constraints = {"horizon": Integer(1, MAX_HORIZON), "shuffle": Boolean(),
                   "legacy_gaussian_approx": Boolean()}

    def __init__(self, means: Any, *, horizon: int, memory: int | None = None,
                 shuffle: bool = True, legacy_gaussian_approx: bool = False) -> None:
        super().__init__()
        owner = type(self).__name__
        base = _means_array(means, owner)
        v = self._validate(horizon=horizon, shuffle=shuffle,
                           legacy_gaussian_approx=legacy_gaussian_approx)
        k = int(base.shape[0])
        mem = k if memory is None else Integer(0, k).check(memory, "memory", owner)
        self.n_arms = k
        self.horizon = int(v["horizon"])
        self.memory = int(mem)
        self.shuffle = bool(v["shuffle"])
        self._base = base
        self._stream = base if not self.shuffle else base.copy()
        best, second = _top2(base)
        legacy = bool(v["legacy_gaussian_approx"])
        self._arrays = (LegacyStreamArrays if legacy else StreamArrays)(
            self._stream, float(best), float(best - second), self.horizon, self.memory,
            int(legacy))
        self._params = {"n_arms": k, "horizon": self.horizon, "memory": self.memory,
                        "shuffle": self.shuffle,
                        "legacy_gaussian_approx": bool(v["legacy_gaussian_approx"])}
        self._trace_cap = 0
        self._state = new_stream_state(self.memory)
        self.action_space = gym.spaces.Tuple((
            gym.spaces.Discrete(3), gym.spaces.Discrete(self.memory + 1),
            gym.spaces.Box(low=1, high=self.horizon, shape=(), dtype=np.int64)))
        self.observation_space = gym.spaces.Discrete(k + 1, start=-1)

    # -- reports ----------------------------------------------------------------------------
    @property
    def means(self) -> np.ndarray:
        """Means in the current stream order, ``(n_arms,)`` (a copy)."""
        return self._stream.copy()

    @property
    def reward_model(self) -> Any:
        """A step's reward is the sum of a batch of at most ``horizon`` Bernoulli rewards: in
        ``[0, horizon]``. Under ``legacy_gaussian_approx`` a batch of n > 1e5 pulls adds
        Gaussian noise of standard deviation ``2 sqrt(n)``, so rewards are unbounded."""
        from banditlab.reward_models import RewardModel

        if self._params["legacy_gaussian_approx"]:
            return RewardModel.gaussian(2.0 * math.sqrt(self.horizon))
        return RewardModel.bounded(0.0, float(self.horizon))

    @property
    def best_mean(self) -> float:
        """``mu* = max(means)``."""
        return self._arrays.best_mean

    @property
    def gap(self) -> float:
        """Best minus second-best mean (an oracle quantity)."""
        return self._arrays.gap

    @property
    def pulls_used(self) -> int:
        """Pulls made so far (counted against the horizon)."""
        return int(self._state.counters[C_PULLS])

    @property
    def pulls_left(self) -> int:
        """``horizon - pulls_used``."""
        return self.horizon - self.pulls_used

    @property
    def regret(self) -> float:
        """Cumulative pseudo-regret ``sum (mu* - mu_arm) * n`` over all pulls."""
        return float(self._state.regret[0])

    @property
    def peak_memory(self) -> int:
        """Peak number of stored arms besides the buffer (``stored_excl_buffer_max``)."""
        return int(self._state.counters[C_PEAK_EXCL])

    @property
    def peak_memory_incl_buffer(self) -> int:
        """Peak number of stored arms, buffer included (``stored_incl_buffer_max``)."""
        return int(self._state.counters[C_PEAK_INCL])

    @property
    def arms_read(self) -> int:
        """Number of arms read from the stream so far."""
        return int(self._state.counters[C_NEXT])

    @property
    def buffer_arm(self) -> int | None:
        """Handle of the arm in the buffer (the most recent arrival), if still stored."""
        b = int(self._state.counters[C_BUFFER])
        return None if b < 0 else b

    @property
    def stored_arms(self) -> list[int]:
        """Handles of the stored arms (buffer included), sorted."""
        n = int(self._state.counters[C_NSTORED])
        return sorted(int(a) for a in self._state.stored[:n])

    # -- kernel access ----------------------------------------------------------------------
    def kernel_arrays(self) -> StreamArrays:
        """The instance as plain arrays for the kernels."""
        return self._arrays

    def kernel_state(self) -> StreamState:
        """The live episode state (the kernels mutate it in place)."""
        return self._state

    def set_trace(self, capacity: int) -> None:
        """Record up to ``capacity`` operations from the next ``reset`` on (0: off)."""
        self._trace_cap = int(Integer(0, None).check(capacity, "capacity", type(self).__name__))

    def trace(self) -> tuple[np.ndarray, np.ndarray]:
        """The recorded operations ``(ops int64[m, 4], values float64[m])``.

        Each row of ``ops`` is ``(op, arm, n, counted)``; ``values`` holds the handle read
        (``READ``, -1 at the end of the stream) or the empirical mean (``PULL``).
        """
        m = min(int(self._state.counters[C_NTRACE]), self._state.trace_val.shape[0])
        return self._state.trace_ops[:m].copy(), self._state.trace_val[:m].copy()

    def raise_if_error(self, owner: str | None = None) -> None:
        """Raise :class:`StreamingMemoryError` if the state holds an error (then clear it)."""
        msg = stream_error_message(self._arrays, self._state, owner or type(self).__name__)
        if msg is not None:
            self._state.counters[C_ERR] = 0
            raise StreamingMemoryError(msg)

    # -- episode ----------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[int, dict[str, Any]]:
        """Start a new pass: reshuffle (if ``shuffle``) and deliver the first arm (handle 0).

        ``info`` holds ``"action_mask"`` and ``"stored_arms"`` (see the class notes).
        """
        super().reset(seed=seed)
        if self.shuffle:
            self._stream[:] = self._base
            self.np_random.shuffle(self._stream)
        self._state = new_stream_state(self.memory, self._trace_cap)
        self._done = False
        return 0, self._info()

    def _require_reset(self, what: str) -> None:
        if self._np_random is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: call reset(seed=...) first.")

    def _arm(self, arm: Any, what: str) -> int:
        owner = f"{type(self).__name__}.{what}"
        if isinstance(arm, np.ndarray) and arm.ndim == 0:
            arm = arm.item()
        if isinstance(arm, bool) or not isinstance(arm, numbers.Integral):
            raise TypeError(f"{owner}: 'arm' must be an int in [0, {self.n_arms - 1}]; "
                            f"got {type(arm).__name__} {arm!r}.")
        return int(arm)

    def _read(self, owner: str) -> int | None:
        h = int(stream_read(self._arrays, self._state))
        self.raise_if_error(owner)
        return None if h < 0 else h

    def _pull(self, arm: int, n: int, owner: str) -> float:
        x = float(stream_pull(self._arrays, self._state, arm, n, self.np_random))
        self.raise_if_error(owner)
        return x

    def _discard(self, arm: int, owner: str) -> None:
        stream_discard(self._arrays, self._state, arm)
        self.raise_if_error(owner)

    def read_next_arm(self) -> int | None:
        """Read the next arm into the buffer: its handle, or None at the end of the stream."""
        self._require_reset("read_next_arm")
        return self._read(f"{type(self).__name__}.read_next_arm")

    def pull(self, arm: int, n: int = 1) -> float:
        """Pull the stored ``arm`` ``n`` times; returns the empirical mean of the rewards."""
        self._require_reset("pull")
        owner = f"{type(self).__name__}.pull"
        a = self._arm(arm, "pull")
        nn = int(Integer(1, MAX_HORIZON).check(_scalar(n), "n", owner))
        return self._pull(a, nn, owner)

    def discard(self, arm: int) -> None:
        """Drop the stored ``arm`` for good."""
        self._require_reset("discard")
        self._discard(self._arm(arm, "discard"), f"{type(self).__name__}.discard")

    # -- gymnasium API ----------------------------------------------------------------------
    def action_mask(self) -> tuple[np.ndarray, np.ndarray, None]:
        """The legal actions of ``step`` now, as a mask for ``action_space.sample(mask=...)``.

        Returns ``(ops, slots, None)``: ``ops`` is ``int8[3]``, 1 where the operation is legal;
        ``slots`` is ``int8[memory + 1]``, 1 for the slots ``0 .. len(stored_arms) - 1`` (one per
        stored arm; slot 0 alone when no arm is stored, where only a read is legal and it
        ignores the slot); ``None`` for ``n`` (``Box`` takes no mask; every ``n`` is legal since
        a pull is clipped to the pulls left). Each part allows at least one value and every
        combination it allows is legal (the class notes list the illegal actions).
        """
        self._require_reset("action_mask")
        c = self._state.counters
        held = int(c[C_NSTORED])
        ops = np.zeros(3, np.int8)
        ops[READ] = held <= self.memory or int(c[C_NEXT]) >= self.n_arms
        ops[PULL] = held >= 1 and self.pulls_left >= 1
        ops[DISCARD] = held >= 1
        slots = np.zeros(self.memory + 1, np.int8)
        slots[:max(held, 1)] = 1
        return ops, slots, None

    def slot_of(self, arm: int) -> int:
        """The ``slot`` of ``step``'s actions that designates the stored ``arm`` (a handle).

        Raises :class:`StreamingMemoryError` if ``arm`` is not stored (not read yet, discarded
        or out of range).
        """
        self._require_reset("slot_of")
        owner = f"{type(self).__name__}.slot_of"
        a = self._arm(arm, "slot_of")
        arms = self.stored_arms
        if a in arms:
            return arms.index(a)
        code = (E_RANGE if not 0 <= a < self.n_arms else E_UNREAD if a >= self.arms_read
                else E_DISCARDED)
        raise StreamingMemoryError(_error_text(self._arrays, self._state, owner, code, a, 0))

    def _info(self, pulls: int | None = None) -> dict[str, Any]:
        info: dict[str, Any] = {"action_mask": self.action_mask(),
                                "stored_arms": np.array(self.stored_arms, np.int64)}
        if pulls is not None:
            info["pulls"] = pulls
        return info

    @staticmethod
    def _action_part(action: Any, part: Any, name: str, rule: Integer, owner: str) -> int:
        """One part of ``step``'s action, checked by ``rule``; the error names the action
        and shows it whole, then says which part is wrong."""
        try:
            return int(rule.check(_scalar(part), name, owner))
        except (TypeError, ValueError) as exc:
            detail = str(exc).removeprefix(f"{owner}: ")
            raise type(exc)(f"{owner}: 'action' {short_repr(action)} is outside the action "
                            f"space: {detail}") from None

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Apply ``(op, slot, n)``; see the class notes.

        ``info`` holds ``"action_mask"`` (of the new state), ``"stored_arms"`` (slot order) and
        ``"pulls"`` (the pulls made by this step).
        """
        self._require_reset("step")
        owner = f"{type(self).__name__}.step"
        try:
            op, slot, n = action
        except (TypeError, ValueError):
            raise TypeError(f"{owner}: 'action' must be a tuple (op, slot, n) with op in "
                            f"{{0: read, 1: pull, 2: discard}}, slot in [0, {self.memory}] and n "
                            f"in [1, {self.horizon}]; got {action!r}.") from None
        # every part must lie in the action space, also where the op does not use it
        op = self._action_part(action, op, "op", Integer(0, 2), owner)
        s = self._action_part(action, slot, "slot", Integer(0, self.memory), owner)
        nn = self._action_part(action, n, "n", Integer(1, self.horizon), owner)
        reward, pulls = 0.0, 0
        obs = None
        if op == READ:
            h = self._read(owner)
            obs = -1 if h is None else h
        else:
            arms = self.stored_arms
            if not arms:
                then = ("read the next arm first" if self.arms_read < self.n_arms
                        else "the stream has ended, so only reads (returning -1) remain")
                name = "pull" if op == PULL else "discard"
                raise StreamingMemoryError(f"{owner}: op {op} ({name}) needs a stored arm, but "
                                           f"every arm read so far was discarded; {then}.")
            arm = arms[s % len(arms)]
            if op == PULL:
                left = self.pulls_left
                pulls = min(nn, left) if left > 0 else nn   # 0 left: the kernel's horizon error
                reward = self._pull(arm, pulls, owner) * pulls
            else:
                self._discard(arm, owner)
        truncated = self.pulls_left == 0
        terminated = self.arms_read == self.n_arms and not self.stored_arms
        self._done = truncated or terminated
        if obs is None:
            b = self.buffer_arm
            obs = -1 if b is None else b
        return obs, float(reward), terminated, bool(truncated), self._info(pulls)

    def expected_reward(self, action: int) -> float:
        """Mean of the arm at stream position ``action``."""
        return float(self._stream[self._arm(action, "expected_reward")])

    def optimal_expected_reward(self) -> float:
        """``mu*``."""
        return self.best_mean


# ------------------------------------------------------------------------------------------
# instance generators (the paper's settings)
# ------------------------------------------------------------------------------------------
def _k(n_arms: Any, owner: str, low: int = 1) -> int:
    return int(Integer(low, None).check(n_arms, "n_arms", owner))


def clear_cut_means(n_arms: int, *, seed: SeedLike = None) -> np.ndarray:
    """The ``clear_cut`` setting: one arm of mean 0.82 and ``n_arms - 1`` arms from
    ``Normal(0.5, 0.1)`` truncated to ``[0, 0.8]`` (author code, ``clear_cut_setting``).

    The best arm is the last entry; environments shuffle the order.
    """
    owner = "clear_cut_means"
    k = _k(n_arms, owner, 2)
    rng = np.random.default_rng(as_seed_sequence(seed, owner=owner))
    out = np.empty(k)
    out[-1] = 0.82
    body = out[:-1]
    body[:] = rng.normal(0.5, 0.1, size=k - 1)
    bad = np.flatnonzero((body < 0.0) | (body > 0.8))
    while bad.size:                      # rejection sampling of the truncated normal
        body[bad] = rng.normal(0.5, 0.1, size=bad.size)
        bad = bad[(body[bad] < 0.0) | (body[bad] > 0.8)]
    return out


def mix_in_means(n_arms: int, *, seed: SeedLike = None) -> np.ndarray:
    """The ``mix_in`` setting: ``n_arms`` means i.i.d. Uniform[0, 1] (author code)."""
    owner = "mix_in_means"
    k = _k(n_arms, owner)
    return np.random.default_rng(as_seed_sequence(seed, owner=owner)).random(k)


def hard_instance_means(n_arms: int, horizon: int, *, scale: float = 1.0,
                        seed: SeedLike = None) -> np.ndarray:
    """Lower-bound hard instance: every arm 1/2 except one, at a uniformly random position,
    with mean ``1/2 + scale * (K/T)^(1/3)`` (capped at 1).

    The constant of the lower bound was not retrieved (spec section 3.1, RECALL); ``scale``
    sets the Theta(.) constant.
    """
    owner = "hard_instance_means"
    k = _k(n_arms, owner, 2)
    t = int(Integer(1, MAX_HORIZON).check(horizon, "horizon", owner))
    s = Real(0.0, None, closed="neither").check(scale, "scale", owner)
    rng = np.random.default_rng(as_seed_sequence(seed, owner=owner))
    out = np.full(k, 0.5)
    out[int(rng.integers(k))] = min(1.0, 0.5 + s * math.pow(k / t, 1.0 / 3.0))
    return out
