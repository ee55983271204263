"""Run a streaming algorithm many times on a :class:`~banditlab.envs.streaming.StreamingBandit`.

Each run resets the env (a fresh stream order) and the algorithm from its own pair of seeds
and plays the ``STREAMING`` loop (:func:`banditlab.streaming.kernels.run_stream`).
"""

from __future__ import annotations

import copy
import functools
import time

import numpy as np

from banditlab._seeding import SeedLike, make_rng, spawn_run_seeds
from banditlab._validation import MAX_RUNS, Integer, _got, check_memory
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
from banditlab.results import Results, library_versions
from banditlab.streaming.algorithms import StreamingAlgorithm
from banditlab.streaming.kernels import run_stream

__all__ = ["run_one", "run_streaming"]


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
                  progress: bool | None = None) -> Results:
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
    Results
        ``regret`` is ``(n_runs, 1)``: the pseudo-regret at the horizon (the env accounts
        for it once, at the end). Per-run columns: ``pulls_used`` (pulls counted against the
        horizon, ``== horizon`` for every clean algorithm), ``uncounted`` (extra pulls of
        legacy accounting), ``explore_pulls``, ``peak_memory`` (stored arms besides the
        buffer), ``peak_memory_incl_buffer``, ``arms_read`` and ``commit_gap`` (the gap
        ``mu* - mu`` of the committed arm). Batch scalars: ``n_arms``, ``memory_budget``,
        ``eps``.
    """
    owner = "run_streaming"
    if not isinstance(algorithm, StreamingAlgorithm):
        raise TypeError(f"{owner}: 'algorithm' must be a StreamingAlgorithm; "
                        f"got {type(algorithm).__name__} {_got(algorithm)}.")
    if not isinstance(env, StreamingBandit):
        raise TypeError(f"{owner}: 'env' must be a StreamingBandit; got {type(env).__name__} "
                        f"{_got(env)}.")
    n_runs = int(Integer(1, MAX_RUNS).check(n_runs, "n_runs", owner))
    # the seeds and the eight per-run columns of every run are held at once
    check_memory(8.0 * 12 * n_runs, f"n_runs={n_runs} (12 numbers per run)", owner)
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
    n = len(rows)
    names = ("pulls_used", "uncounted", "explore_pulls", "peak_memory",
             "peak_memory_incl_buffer", "arms_read")
    per_run = {name: np.array(col, dtype=np.int64) for name, col in zip(names, cols[1:7],
                                                                         strict=True)}
    per_run["commit_gap"] = np.array(cols[7], dtype=np.float64)
    return Results(
        policy=algorithm.name, policy_params=algorithm.get_params(), env=type(env).__name__,
        env_params=env.env_params, horizon=env.horizon,
        checkpoints=np.array([env.horizon], dtype=np.int64),
        regret=np.array(cols[0], dtype=np.float64).reshape(n, 1),
        pulls=np.zeros((n, 0), dtype=np.int64), recommendations=np.full(n, -1, np.int64),
        best_arm=-1, seed_entropy=entropy, engine="kernel", wall_time_s=wall,
        versions=library_versions(), protocol=algorithm.protocol.name, per_run=per_run,
        info={"n_arms": env.n_arms, "memory_budget": need,
              "eps": algorithm.eps_for(env.n_arms, env.horizon)})
