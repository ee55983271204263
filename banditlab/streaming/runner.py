"""Run a streaming algorithm many times on a :class:`~banditlab.envs.streaming.StreamingBandit`.

Each run resets the env (a fresh stream order) and the algorithm from its own pair of seeds
and plays the ``STREAMING`` loop (:func:`banditlab.streaming.kernels.run_stream`).
"""

from __future__ import annotations

import copy
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from banditlab._seeding import SeedLike, make_rng, spawn_run_seeds
from banditlab._validation import Integer
from banditlab.envs.streaming import (
    C_NEXT,
    C_PEAK_EXCL,
    C_PEAK_INCL,
    C_PULLS,
    C_UNCOUNTED,
    StreamingBandit,
    StreamingMemoryError,
    stream_error_message,
)
from banditlab.errors import IncompatibleEnvError
from banditlab.parallel import check_n_jobs, parallel_map
from banditlab.streaming.algorithms import StreamingAlgorithm
from banditlab.streaming.kernels import run_stream

__all__ = ["StreamingResults", "run_one", "run_streaming"]


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
    arm, explore = run_stream(algorithm.params, env.kernel_arrays(),
                              env.kernel_state(), env.np_random, rng)
    msg = stream_error_message(env.kernel_arrays(), env.kernel_state(), algorithm.name)
    if msg is not None:
        raise StreamingMemoryError(msg + " (the algorithm broke the streaming model)")
    return int(arm), int(explore)


def _seeded_run(algorithm: StreamingAlgorithm, env: StreamingBandit,
                seeds: tuple[int, int]) -> tuple[float, ...]:
    """One run (a task of :func:`~banditlab.parallel.parallel_map`): its outcome row."""
    arm, explore = run_one(algorithm, env, seeds[0], seeds[1])
    c = env.kernel_state().counters
    return (env.regret, int(c[C_PULLS]), int(c[C_UNCOUNTED]), explore, int(c[C_PEAK_EXCL]),
            int(c[C_PEAK_INCL]), int(c[C_NEXT]),
            env.best_mean - float(env.kernel_arrays().means[arm]))


def run_streaming(algorithm: StreamingAlgorithm, env: StreamingBandit, *, n_runs: int = 1,
                  seed: SeedLike = None, n_jobs: int | None = None,
                  progress: bool | None = None) -> StreamingResults:
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
    n_jobs : None, -1 or int >= 1, optional
        Worker processes, as everywhere in banditlab (:mod:`banditlab.parallel`): ``None``
        runs here unless the batch is expected to take more than about 2 s; results do not
        depend on it.
    progress : bool, optional
        A progress bar over runs; default: when the batch is expected to take over 2 s.

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
    check_n_jobs(n_jobs, owner)
    need = algorithm.memory_budget(env.n_arms)
    if env.memory < need:
        raise IncompatibleEnvError(
            f"{owner}: {algorithm.name} stores up to {need} arms besides the buffer with "
            f"{env.n_arms} arms, but the env's memory budget is {env.memory}.")
    entropy, seeds = spawn_run_seeds(seed, n_runs, owner=owner)
    start = time.perf_counter()
    job = functools.partial(_seeded_run, copy.deepcopy(algorithm), copy.deepcopy(env))
    rows = parallel_map(job, seeds, n_jobs=n_jobs, progress=progress, desc=algorithm.name,
                        unit="run", owner=owner)
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
