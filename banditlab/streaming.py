"""Single-pass streaming bandit algorithms (Wang, ICML 2023): kernels, shells and a runner.

The streaming protocol differs from ``KARMED``: the algorithm reads arms from a stream, may pull
only the arms it stores, and must respect an arm-memory budget
(:class:`banditlab.envs.streaming.StreamingBandit`). Each algorithm is one ``@njit`` kernel
that drives the environment's own kernels (:func:`~banditlab.envs.streaming.stream_read`,
:func:`~banditlab.envs.streaming.stream_pull`, :func:`~banditlab.envs.streaming.stream_discard`)
on the environment's state arrays, so the memory model, the horizon and the regret are accounted
for once, by the environment, on both the kernel path and the Python/gymnasium path.

Algorithms (spec ``streaming_mab`` section 2; every batch size is rounded up, and the last batch
is truncated so that **exactly** ``T`` pulls are made):

``StreamingUniformExploration`` (UE, the benchmark)
    ``ceil((T/K)^(2/3) (ln T)^(1/3))`` pulls per arm, keep the best, commit. Memory 1.
``NaiveEpsBest`` (NAIVE)
    ``ceil(ln K / eps^2)`` pulls per arm, keep the best, commit. Memory 1.
``GameOfArms``
    King-challenger with budgets (the author code's ``Game_of_Arms_regret_min``) plus the
    side procedure on a random sub-stream. Memory 2. The gap-oracle re-estimate of a new king
    (quirk Q1) only with ``oracle_gap=True``; the default sets the king's estimate to its
    measured mean.
``LevelAlgorithm``
    The code's level family with schedules ``'log'``, ``'loglog'`` and ``'logstar'``
    (the log* schedule is the Aggressive-Selective-Promotion-like one). Memory: number of
    levels. ``legacy_accounting=True`` reproduces quirks Q2-Q4.

All use ``eps = (K/T)^(1/3)`` (capped at 1) unless ``eps`` is given.

References
----------
C. Wang. Tight regret bounds for single-pass streaming multi-armed bandits. ICML 2023
(arXiv:2306.02208); author code ``jhwjhw0123/streaming-regret-minimization-MABs``.
S. Assadi and C. Wang. Exploration with limited memory. STOC 2020.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from banditlab._jit import njit
from banditlab._seeding import SeedLike, make_rng, spawn_run_seeds
from banditlab._validation import Boolean, Constraint, Integer, Options, Real, validate
from banditlab.envs.streaming import (
    C_ERR,
    C_NEXT,
    C_PEAK_EXCL,
    C_PEAK_INCL,
    C_PULLS,
    C_UNCOUNTED,
    StreamingBandit,
    StreamingMemoryError,
    stream_discard,
    stream_error_message,
    stream_pull,
    stream_pull_charged,
    stream_read,
    stream_remaining,
)
from banditlab.errors import IncompatibleEnvError

__all__ = [
    "ALGORITHMS",
    "GameOfArms",
    "LevelAlgorithm",
    "NaiveEpsBest",
    "StreamParams",
    "StreamingAlgorithm",
    "StreamingResults",
    "StreamingUniformExploration",
    "default_eps",
    "level_schedule",
    "run_streaming",
    "run_streaming_kernel",
]

# algorithm codes
UE, NAIVE, GOA, LEVEL = 0, 1, 2, 3
# level schedules
LOG, LOGLOG, LOGSTAR = 0, 1, 2
_SCHEDULES = {"log": LOG, "loglog": LOGLOG, "logstar": LOGSTAR}


class StreamParams(NamedTuple):
    """Hyperparameters of a streaming algorithm, as its kernel sees them."""

    algorithm: int    # UE, NAIVE, GOA or LEVEL
    eps: float        # accuracy; <= 0 means the default (K/T)^(1/3)
    schedule: int     # LOG, LOGLOG or LOGSTAR (LEVEL only)
    oracle_gap: int   # 1: GOA re-estimates a new king with the true gap (quirk Q1)
    legacy: int       # 1: LEVEL reproduces the author code's accounting quirks Q2-Q4


# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------
@njit
def default_eps(n_arms, horizon):
    """``min(1, (K/T)^(1/3))``."""
    e = (n_arms / horizon) ** (1.0 / 3.0)
    return 1.0 if e > 1.0 else e


@njit
def _eps(params, env):
    if params.eps > 0.0:
        return params.eps
    return default_eps(env.means.shape[0], env.horizon)


@njit
def _batch(x, remaining):
    """``ceil(x)`` pulls, at least 1, at most ``remaining`` (x may be huge or inf)."""
    if x >= float(remaining):
        return remaining
    b = np.int64(math.ceil(x))
    if b < 1:
        b = 1
    return b if b < remaining else remaining


@njit
def _single_pass_max(env, st, rng, per_arm):
    """UE / NAIVE exploration: ``ceil(per_arm)`` pulls per arm, keep the best; the king.

    Reading stops when a full batch no longer fits in the horizon (spec 2.1 line 4).
    """
    b = _batch(per_arm, env.horizon)
    king = 0
    best = stream_pull(env, st, 0, _batch(per_arm, stream_remaining(env, st)), rng)
    while stream_remaining(env, st) >= b:
        h = stream_read(env, st)
        if h < 0:
            break
        x = stream_pull(env, st, h, b, rng)
        if x > best:
            stream_discard(env, st, king)
            king = h
            best = x
        else:
            stream_discard(env, st, h)
    return king


@njit
def _game_of_arms(params, env, st, env_rng, rng):
    """King-challenger with budgets plus the side procedure (spec 2.4(b)); the arm to commit.

    When a challenger survives all ``L`` levels the author code raises an error; here it is
    crowned with its last (largest-sample) estimate as the king's value [PROPOSED].
    """
    k = env.means.shape[0]
    eps = _eps(params, env)
    inv = 1.0 / (eps * eps)
    full_cap = 10.0 * k * inv
    b0 = 1.2 * inv
    b_inc = inv
    lnk = math.log(k) if k > 1 else 0.0
    n_lev = 1
    if lnk > 1.0:
        n_lev = max(1, math.floor(10.0 * math.log(lnk)))
    n_frac = max(1.0, lnk * inv)
    p_frac = 1.0 if lnk <= 1.5 else 1.5 / lnk
    king = 0
    frac = 0
    budget = b0
    king_est = eps / 2.0
    full = 0
    frac_est = stream_pull(env, st, 0, _batch(n_frac, stream_remaining(env, st)), env_rng)
    while stream_remaining(env, st) > 0:
        c = stream_read(env, st)
        if c < 0:
            break
        if full <= full_cap:
            budget += b_inc
            outcome = 2          # 0: lost, 1: crowned, 2: survived all levels, 3: out of pulls
            y = 0.0
            for lev in range(n_lev):
                if stream_remaining(env, st) == 0:
                    outcome = 3
                    break
                s = (2.0 ** lev) * inv
                if budget < s:
                    n = _batch(b0, stream_remaining(env, st))
                    x = stream_pull(env, st, c, n, env_rng)
                    full += n
                    if params.oracle_gap == 1:
                        x = min(max(x, king_est + env.gap / 2.0), 1.0)
                    old = king
                    king = c
                    king_est = x
                    budget = b0
                    if old != frac:
                        stream_discard(env, st, old)
                    outcome = 1
                    break
                n = _batch(s, stream_remaining(env, st))
                y = stream_pull(env, st, c, n, env_rng)
                full += n
                budget -= s
                if king_est - eps / 5.0 >= y:
                    outcome = 0
                    break
            if outcome == 2:
                old = king
                king = c
                king_est = y
                budget = b0
                if old != frac:
                    stream_discard(env, st, old)
        if stream_remaining(env, st) > 0 and rng.random() < p_frac:
            z = stream_pull(env, st, c, _batch(n_frac, stream_remaining(env, st)), env_rng)
            if z > frac_est:
                old = frac
                frac = c
                frac_est = z
                if old != king:
                    stream_discard(env, st, old)
        if c != king and c != frac:
            stream_discard(env, st, c)
    return king if full <= full_cap else frac


@njit
def level_schedule(schedule, n_arms, eps):
    """Per-level batch sizes and pull caps ``(batch float64[L], cap float64[L])`` (spec 2.5(b)).

    The top level never promotes (its cap is ``inf``). Values may exceed any horizon; pulls
    are truncated to what is left.
    """
    inv = 1.0 / (eps * eps)
    lnk = math.log(n_arms) if n_arms > 1 else 0.0
    if schedule == LOG:
        n_lev = max(1, math.floor(lnk))
    elif schedule == LOGLOG:
        n_lev = 1
        if lnk > 1.0:
            n_lev = max(1, math.floor(math.log(lnk)) + 1)
    else:
        n_lev = 1
        v = float(n_arms)
        while True:
            v = math.log(v) if v > 0.0 else -1.0
            n_lev += 1
            if v < 1.0:
                break
    batch = np.empty(n_lev)
    cap = np.empty(n_lev)
    if schedule == LOGSTAR:
        r_prev = 0.0
        r = 2.0
        for lev in range(n_lev):
            if lev == 0:
                batch[0] = math.ceil(inv)
                cap[0] = math.ceil(4.0 * inv)
            else:
                x = r * inv
                batch[lev] = 1e20 if x >= 1e20 else math.ceil(x)
                expo = r - r_prev          # arms examined before promotion: 2^(R_l - R_{l-1})
                cap[lev] = math.ceil((2.0 ** expo) * batch[lev]) if expo < 60.0 \
                    else 1e10 * batch[lev]
            r_prev = r
            r = 2.0 ** r if r < 1000.0 else np.inf
    else:
        mult = 6.0 if schedule == LOG else 10.0
        for lev in range(n_lev):
            batch[lev] = math.ceil((1.2 ** lev) * inv)
            cap[lev] = math.ceil(mult * batch[lev])
        if schedule == LOGLOG:
            batch[n_lev - 1] = math.ceil(max(1.0, lnk) * inv)
    cap[n_lev - 1] = np.inf
    return batch, cap


@njit
def _levels(params, env, st, env_rng):
    """Level algorithm (spec 2.5(b), clean version unless ``params.legacy``); the arm to commit.

    An arm entering level ``l`` gets ``batch[l]`` pulls and is compared with the level's king
    (the loser is discarded). When the pulls spent at level ``l`` reach ``cap[l]`` the king is
    promoted to level ``l + 1`` and level ``l`` is emptied. At the end of the stream every
    remaining king gets ``batch[0]`` fresh pulls (if the horizon allows) and the best is
    committed; without enough pulls left, the king of the highest occupied level is committed.

    Legacy accounting: Q2 charges a challenger's pulls at its king's mean; Q4 makes the pulls of
    a promoted arm entering an empty level uncounted (they add regret, not horizon usage);
    Q3 commits to the highest occupied level whose fresh mean is > 0.
    """
    eps = _eps(params, env)
    batch, cap = level_schedule(params.schedule, env.means.shape[0], eps)
    n_lev = batch.shape[0]
    kings = np.full(n_lev, -1, np.int64)
    vals = np.zeros(n_lev)
    spent = np.zeros(n_lev)
    a = 0
    while True:
        lev = 0
        while stream_remaining(env, st) > 0 and st.counters[C_ERR] == 0:
            n = _batch(batch[lev], stream_remaining(env, st))
            if kings[lev] < 0:
                counted = 0 if (params.legacy == 1 and lev > 0) else 1
                x = stream_pull_charged(env, st, a, n, a, counted, env_rng)
                kings[lev] = a
                vals[lev] = x
            else:
                charge = kings[lev] if params.legacy == 1 else a
                x = stream_pull_charged(env, st, a, n, charge, 1, env_rng)
                if x > vals[lev]:
                    stream_discard(env, st, kings[lev])
                    kings[lev] = a
                    vals[lev] = x
                else:
                    stream_discard(env, st, a)
            spent[lev] += n
            if lev < n_lev - 1 and spent[lev] >= cap[lev] and stream_remaining(env, st) > 0:
                a = kings[lev]
                kings[lev] = -1
                spent[lev] = 0.0
                lev += 1
            else:
                break
        if stream_remaining(env, st) == 0:
            break
        a = stream_read(env, st)
        if a < 0:
            break
    # final selection among the remaining kings
    n_occ = 0
    top = -1
    for lev in range(n_lev):
        if kings[lev] >= 0:
            n_occ += 1
            top = lev
    if n_occ <= 1 or st.counters[C_ERR] != 0:
        return kings[top] if top >= 0 else 0
    if float(stream_remaining(env, st)) < n_occ * batch[0]:
        return kings[top]
    nb = np.int64(batch[0])
    best = -1.0
    choice = kings[top]
    for lev in range(n_lev):
        if kings[lev] >= 0:
            x = stream_pull(env, st, kings[lev], nb, env_rng)
            if params.legacy == 1:
                if x > 0.0:
                    choice = kings[lev]      # Q3: the last (highest) level with a mean > 0
            elif x > best:
                best = x
                choice = kings[lev]
    return choice


@njit
def run_streaming_kernel(params, env, st, env_rng, rng):
    """One run: explore with ``params.algorithm``, then commit every remaining pull.

    Returns ``(committed_arm, exploration_pulls)``. All accounting is in ``st``.
    """
    k = env.means.shape[0]
    t = env.horizon
    if params.algorithm == UE:
        per_arm = (t / k) ** (2.0 / 3.0) * math.log(t) ** (1.0 / 3.0)
        king = _single_pass_max(env, st, env_rng, per_arm)
    elif params.algorithm == NAIVE:
        eps = _eps(params, env)
        per_arm = math.log(k) / (eps * eps)
        king = _single_pass_max(env, st, env_rng, per_arm)
    elif params.algorithm == GOA:
        king = _game_of_arms(params, env, st, env_rng, rng)
    else:
        king = _levels(params, env, st, env_rng)
    explore = st.counters[C_PULLS]
    rem = stream_remaining(env, st)
    if rem > 0:
        stream_pull(env, st, king, rem, env_rng)
    return king, explore


# ------------------------------------------------------------------------------------------
# shells
# ------------------------------------------------------------------------------------------
_EPS = Real(0.0, 1.0, closed="right", allow_none=True)


class StreamingAlgorithm:
    """Base shell of the streaming algorithms: validated hyperparameters and the memory budget.

    Subclasses set ``constraints`` and build ``params`` (a :class:`StreamParams`) in
    ``__init__``; the logic is in :func:`run_streaming_kernel`.
    """

    constraints: ClassVar[dict[str, Constraint]] = {}
    params: StreamParams

    def _validate(self, **values: Any) -> dict[str, Any]:
        out = validate(type(self).__name__, self.constraints, values)
        self._init_kwargs = dict(values)
        return out

    @property
    def name(self) -> str:
        """Display name (class name, plus the schedule for level algorithms)."""
        return type(self).__name__

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments as given."""
        return dict(self._init_kwargs)

    def memory_budget(self, n_arms: int) -> int:
        """Arms stored besides the buffer that the algorithm needs with ``n_arms`` arms."""
        k = int(Integer(1, None).check(n_arms, "n_arms", f"{self.name}.memory_budget"))
        return min(k, self._budget(k))

    def _budget(self, n_arms: int) -> int:
        return 1

    def eps_for(self, n_arms: int, horizon: int) -> float:
        """The accuracy used for ``n_arms`` arms and horizon ``horizon``."""
        return self.params.eps if self.params.eps > 0 else float(default_eps(n_arms, horizon))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._init_kwargs.items())
        return f"{type(self).__name__}({args})"


class StreamingUniformExploration(StreamingAlgorithm):
    """Streaming uniform exploration (the benchmark): ``(T/K)^(2/3) (ln T)^(1/3)`` pulls per arm.

    Keeps the arm with the best empirical mean (one stored arm besides the buffer), then
    commits. Guarantee: ``E[R_T] = O(K^(1/3) T^(2/3) log^(1/3) T)`` (Wang, 2023).

    The author code's first-arm quirk (threshold starting at 0) is not reproduced: the first
    arm's estimate is used.
    """

    def __init__(self) -> None:
        self._validate()
        self.params = StreamParams(UE, -1.0, 0, 0, 0)


class NaiveEpsBest(StreamingAlgorithm):
    """Single-arm-memory eps-best arm then commit: ``ceil(ln K / eps^2)`` pulls per arm.

    Parameters
    ----------
    eps : float in (0, 1], optional
        Accuracy; default ``(K/T)^(1/3)``.

    Notes
    -----
    Guarantee: ``E[R_T] = O(K^(1/3) T^(2/3) log K)`` with one stored arm (Wang, 2023, arXiv v1).
    """

    constraints = {"eps": _EPS}

    def __init__(self, *, eps: float | None = None) -> None:
        v = self._validate(eps=eps)
        self.params = StreamParams(NAIVE, -1.0 if v["eps"] is None else v["eps"], 0, 0, 0)


class GameOfArms(StreamingAlgorithm):
    """King-challenger "Game of Arms" with budgets, as run in the paper's experiments.

    Parameters
    ----------
    eps : float in (0, 1], optional
        Accuracy; default ``(K/T)^(1/3)``.
    oracle_gap : bool, default False
        Re-estimate a newly crowned king as ``min(max(x, king_est + Delta/2), 1)`` with the
        true best-vs-second gap ``Delta`` (author code, quirk Q1). The default uses the
        measured mean ``x``, which needs no oracle.

    Notes
    -----
    Memory: two stored arms besides the buffer (the king and the side procedure's arm).
    Constants as in the author code: cap ``10 K/eps^2``, initial budget ``1.2/eps^2``,
    ``1/eps^2`` added per arrival, ``floor(10 ln ln K)`` levels of ``2^l/eps^2`` pulls, side
    procedure with ``ln K/eps^2`` pulls at rate ``1.5/ln K``. Reconstruction; see the module
    docstring of :mod:`banditlab.streaming` and spec section 2.4.
    """

    constraints = {"eps": _EPS, "oracle_gap": Boolean()}

    def __init__(self, *, eps: float | None = None, oracle_gap: bool = False) -> None:
        v = self._validate(eps=eps, oracle_gap=oracle_gap)
        self.params = StreamParams(GOA, -1.0 if v["eps"] is None else v["eps"], 0,
                                   int(v["oracle_gap"]), 0)

    def _budget(self, n_arms: int) -> int:
        return 2


class LevelAlgorithm(StreamingAlgorithm):
    """Level algorithms with ``log``, ``loglog`` or ``logstar`` schedules (spec 2.5(b)).

    Parameters
    ----------
    schedule : {'log', 'loglog', 'logstar'}, default 'logstar'
        ``'logstar'`` is the Aggressive-Selective-Promotion-like schedule with about
        ``log* K`` levels (towers ``R_{l+1} = 2^{R_l}``).
    eps : float in (0, 1], optional
        Accuracy; default ``(K/T)^(1/3)``.
    legacy_accounting : bool, default False
        Reproduce the author code's accounting quirks: Q2 (challenger pulls charged at the
        king's mean), Q3 (final choice: highest occupied level with a positive mean) and Q4
        (pulls of a promoted arm entering an empty level charged to regret but not to the
        horizon, so total pulls exceed ``T``). Q4's trigger is our reading of the code.

    Notes
    -----
    Memory: one king per level (``level_schedule``) besides the buffer. Expected regret
    ``O(K^(1/3) T^(2/3))`` is claimed for the ASP-based algorithm (Wang, 2023).
    """

    constraints = {"schedule": Options(tuple(_SCHEDULES)), "eps": _EPS,
                   "legacy_accounting": Boolean()}

    def __init__(self, *, schedule: str = "logstar", eps: float | None = None,
                 legacy_accounting: bool = False) -> None:
        v = self._validate(schedule=schedule, eps=eps, legacy_accounting=legacy_accounting)
        self.schedule = v["schedule"]
        self.params = StreamParams(LEVEL, -1.0 if v["eps"] is None else v["eps"],
                                   _SCHEDULES[self.schedule], 0, int(v["legacy_accounting"]))

    @property
    def name(self) -> str:
        tag = "-legacy" if self.params.legacy else ""
        return f"Level[{self.schedule}]{tag}"

    def _budget(self, n_arms: int) -> int:
        batch, _ = level_schedule(self.params.schedule, n_arms, 0.5)
        return int(batch.shape[0])


#: the paper's comparison, by short name
ALGORITHMS: dict[str, Any] = {
    "UE": StreamingUniformExploration,
    "NAIVE": NaiveEpsBest,
    "GoA": GameOfArms,
    "log": lambda **kw: LevelAlgorithm(schedule="log", **kw),
    "loglog": lambda **kw: LevelAlgorithm(schedule="loglog", **kw),
    "log*": lambda **kw: LevelAlgorithm(schedule="logstar", **kw),
}


# ------------------------------------------------------------------------------------------
# runner
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamingResults:
    """Per-run outcomes of one streaming algorithm on one instance.

    Arrays have shape ``(n_runs,)``. ``regret`` is the pseudo-regret, ``pulls`` the pulls
    counted against the horizon (``== horizon`` for every clean algorithm), ``uncounted`` the
    extra pulls of legacy accounting, ``peak_memory`` the peak number of stored arms besides
    the buffer, ``commit_gap`` the gap ``mu* - mu`` of the committed arm.
    """

    algorithm: str
    algorithm_params: dict
    env_params: dict
    n_arms: int
    horizon: int
    memory_budget: int
    eps: float
    regret: np.ndarray
    pulls: np.ndarray
    uncounted: np.ndarray
    explore_pulls: np.ndarray
    peak_memory: np.ndarray
    peak_memory_incl_buffer: np.ndarray
    arms_read: np.ndarray
    commit_gap: np.ndarray
    seed_entropy: Any
    wall_time_s: float
    extra: dict = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return int(self.regret.shape[0])

    def mean_regret(self) -> float:
        """Mean pseudo-regret over runs."""
        return float(self.regret.mean())

    def sem_regret(self) -> float:
        """Standard error of the mean regret (0 for a single run)."""
        n = self.n_runs
        return float(self.regret.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0

    def to_frame(self) -> pd.DataFrame:
        """One row per run."""
        return pd.DataFrame({
            "algorithm": self.algorithm, "n_arms": self.n_arms, "horizon": self.horizon,
            "eps": self.eps, "memory_budget": self.memory_budget, "run": np.arange(self.n_runs),
            "regret": self.regret, "pulls": self.pulls, "uncounted": self.uncounted,
            "explore_pulls": self.explore_pulls, "peak_memory": self.peak_memory,
            "peak_memory_incl_buffer": self.peak_memory_incl_buffer,
            "arms_read": self.arms_read, "commit_gap": self.commit_gap})


def run_one(algorithm: StreamingAlgorithm, env: StreamingBandit, env_seed: int,
            alg_seed: int) -> tuple[int, int]:
    """Reset ``env`` with ``env_seed`` and play one run on the kernel path.

    Returns ``(committed_arm, exploration_pulls)``; the env holds the final accounting.
    Raises :class:`StreamingMemoryError` if the algorithm broke the streaming model (a bug).
    """
    env.reset(seed=env_seed)
    rng = make_rng(alg_seed)
    arm, explore = run_streaming_kernel(algorithm.params, env.kernel_arrays(),
                                        env.kernel_state(), env.np_random, rng)
    msg = stream_error_message(env.kernel_arrays(), env.kernel_state(), algorithm.name)
    if msg is not None:
        raise StreamingMemoryError(msg + " (the algorithm broke the streaming model)")
    return int(arm), int(explore)


def _chunk(algorithm: StreamingAlgorithm, env: StreamingBandit,
           seeds: list[tuple[int, int]]) -> list[tuple[float, ...]]:
    out = []
    for es, ps in seeds:
        arm, explore = run_one(algorithm, env, es, ps)
        c = env.kernel_state().counters
        out.append((env.regret, int(c[C_PULLS]), int(c[C_UNCOUNTED]), explore,
                    int(c[C_PEAK_EXCL]), int(c[C_PEAK_INCL]), int(c[C_NEXT]),
                    env.best_mean - float(env.kernel_arrays().means[arm])))
    return out


def run_streaming(algorithm: StreamingAlgorithm, env: StreamingBandit, *, n_runs: int = 1,
                  seed: SeedLike = None, n_jobs: int | None = None) -> StreamingResults:
    """Run ``algorithm`` ``n_runs`` times on ``env`` (fresh stream order per run).

    Parameters
    ----------
    algorithm : StreamingAlgorithm
    env : StreamingBandit
        Its ``memory`` budget must be at least ``algorithm.memory_budget(n_arms)``.
    n_runs : int, default 1
    seed : None, int or SeedSequence
        Root of the seed tree (run ``i`` gets the same env and algorithm seeds whatever
        ``n_jobs``).
    n_jobs : int, optional
        Worker processes (default 1).

    Returns
    -------
    StreamingResults
    """
    owner = "run_streaming"
    if not isinstance(algorithm, StreamingAlgorithm):
        raise TypeError(f"{owner}: 'algorithm' must be a StreamingAlgorithm; "
                        f"got {type(algorithm).__name__}.")
    if not isinstance(env, StreamingBandit):
        raise TypeError(f"{owner}: 'env' must be a StreamingBandit; got {type(env).__name__}.")
    n_runs = int(Integer(1, None).check(n_runs, "n_runs", owner))
    n_jobs = int(Integer(1, None, allow_none=True).check(n_jobs, "n_jobs", owner) or 1)
    need = algorithm.memory_budget(env.n_arms)
    if env.memory < need:
        raise IncompatibleEnvError(
            f"{owner}: {algorithm.name} stores up to {need} arms besides the buffer with "
            f"{env.n_arms} arms, but the env's memory budget is {env.memory}.")
    entropy, seeds = spawn_run_seeds(seed, n_runs, owner=owner)
    start = time.perf_counter()
    n_jobs = min(n_jobs, n_runs)
    if n_jobs == 1:
        rows = _chunk(algorithm, env, seeds)
    else:
        bounds = np.linspace(0, n_runs, n_jobs + 1).round().astype(int)
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
            parts = [pool.submit(_chunk, algorithm, env, seeds[lo:hi])
                     for lo, hi in itertools.pairwise(bounds) if hi > lo]
            rows = [r for p in parts for r in p.result()]
    wall = time.perf_counter() - start
    cols = list(zip(*rows))
    return StreamingResults(
        algorithm=algorithm.name, algorithm_params=algorithm.get_params(),
        env_params=env.env_params, n_arms=env.n_arms, horizon=env.horizon, memory_budget=need,
        eps=algorithm.eps_for(env.n_arms, env.horizon),
        regret=np.array(cols[0], dtype=np.float64), pulls=np.array(cols[1], dtype=np.int64),
        uncounted=np.array(cols[2], dtype=np.int64),
        explore_pulls=np.array(cols[3], dtype=np.int64),
        peak_memory=np.array(cols[4], dtype=np.int64),
        peak_memory_incl_buffer=np.array(cols[5], dtype=np.int64),
        arms_read=np.array(cols[6], dtype=np.int64),
        commit_gap=np.array(cols[7], dtype=np.float64),
        seed_entropy=entropy, wall_time_s=wall)
