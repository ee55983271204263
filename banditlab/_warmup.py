"""Compile (or load from the on-disk cache) the kernels of every system, or of some, up front.

The first call of an entry point in a fresh install compiles the kernels it reaches; later
processes load them from the cache. :func:`warmup` (and ``banditlab warmup [SYSTEM ...]``)
pays that cost once, for example while building a container image or before timing anything:
it runs each system's public entry points on tiny instances, on every engine, so that every
kernel they reach is compiled and cached. Results are not affected.

Systems: ``bandits`` (every registered K-armed, contextual and fixed-budget BAI policy, on the
kernel and Python engines), ``streaming``, ``cascading``, ``sor_tuning`` and ``bcd``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["SYSTEMS", "warmup"]


def _bandits(reverse: bool = False) -> None:
    """Every registered policy on both engines (in reverse registry order with ``reverse``:
    two processes warming one cache at once then compile different policies first)."""
    from banditlab.envs import BernoulliBandit, LinearBandit
    from banditlab.policies import REGISTRY
    from banditlab.runner import run

    classes = list(REGISTRY.values())
    for cls in reversed(classes) if reverse else classes:
        kwargs = dict(cls._contract_kwargs)
        if cls.protocol.contextual:
            env = LinearBandit([0.5, -0.5], n_arms=3, horizon=8)
            kwargs.setdefault("n_features", 2)
        else:
            env = BernoulliBandit([0.2, 0.4, 0.6, 0.8], horizon=8)
        if "budget" in cls.constraints:
            kwargs.setdefault("budget", 8)
        policy = cls(env.n_arms, **kwargs)
        for engine in ("kernel", "python"):
            run(policy, env, 8, seed=0, engine=engine)


def _streaming() -> None:
    from banditlab.envs.streaming import StreamingBandit, clear_cut_means
    from banditlab.protocols import STREAMING
    from banditlab.registry import algorithms
    from banditlab.streaming import run_streaming

    means = clear_cut_means(20, seed=0)
    for cls in algorithms(STREAMING).values():
        algorithm = cls(**cls._contract_kwargs)
        env = StreamingBandit(means, horizon=10_000, memory=algorithm.memory_budget(20))
        run_streaming(algorithm, env, seed=0, n_jobs=1, progress=False)


def _cascading() -> None:
    from banditlab.cascading import run_episodes
    from banditlab.envs.cascading import random_cascading_mdp
    from banditlab.protocols import EPISODIC, EPISODIC_BPI
    from banditlab.registry import algorithms

    env = random_cascading_mdp(2, 4, 2, 2, seed=0)
    for cls in algorithms(EPISODIC).values():
        agent = cls.for_env(env, **cls._contract_kwargs)
        for engine in ("kernel", "python"):
            run_episodes(agent, env, 3, seed=0, engine=engine, n_jobs=1, progress=False)
    for cls in algorithms(EPISODIC_BPI).values():
        cls.for_env(env, **cls._contract_kwargs).with_params(max_episodes=3).identify(env,
                                                                                      seed=0)


def _sor_tuning() -> None:
    from banditlab.solvers import poisson_2d
    from banditlab.sor_tuning import LEARNERS, OmegaTuner, make_learner, run_on_table
    from banditlab.sor_tuning.runner import shifted_cost_table

    table = shifted_cost_table("low", 3, m=4, seed=0)
    for name in LEARNERS:
        run_on_table(make_learner(name, table.omegas.shape[0]), table, seed=0, n_jobs=1,
                     progress=False)
    A = poisson_2d(4)
    for solver in ("sor", "ssor_pcg"):
        OmegaTuner(solver=solver, seed=0).solve(A, np.ones(A.shape[0]))


def _bcd() -> None:
    from banditlab.solvers import L1LeastSquares, LeastSquares, bcd

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 6)), rng.standard_normal(20)
    bcd(LeastSquares(X, y), block_size=2, max_iter=3)
    bcd(L1LeastSquares(X, y, lam=0.1), update="prox_gradient", block_size=2, max_iter=3)


#: every system and what compiles it, in the order warmup runs them
SYSTEMS: dict[str, Callable[[], None]] = {
    "bandits": _bandits,
    "streaming": _streaming,
    "cascading": _cascading,
    "sor_tuning": _sor_tuning,
    "bcd": _bcd,
}


def _timed(name: str) -> float:
    """Warm system ``name``; the seconds it took (a task of :func:`warmup`'s workers)."""
    start = time.perf_counter()
    SYSTEMS[name]()
    return time.perf_counter() - start


def warmup(*systems: str, progress: bool | None = None, n_jobs: int | None = 1
           ) -> dict[str, float]:
    """Compile or load the kernels of ``systems`` (all of them when none is given).

    Parameters
    ----------
    *systems : str
        Names among :data:`SYSTEMS`.
    progress : bool, optional
        A progress bar over systems (on stderr); default: shown.
    n_jobs : None, -1 or int >= 1, default 1
        ``1``: every system in this process, one after the other (its kernels are then loaded
        here as well). Otherwise the systems are shared among worker processes
        (:mod:`banditlab.parallel`: ``k`` at most k, ``-1`` or ``None`` one per core), which
        compile into the on-disk cache at the same time: on two cores a whole warmup takes
        about half as long (``bandits`` alone is about half of the work). Useless where no
        cache location is writable (the workers' kernels die with them).

    Returns
    -------
    dict
        Seconds spent per system (near zero for a system already in the cache), in the order
        of ``systems``.
    """
    from banditlab._validation import Options
    from banditlab.parallel import check_n_jobs, parallel_map

    names = list(systems) or list(SYSTEMS)
    for name in names:
        Options(tuple(SYSTEMS)).check(name, "systems", "warmup")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"warmup: 'progress' must be a bool or None; got {progress!r}.")
    n_jobs = check_n_jobs(n_jobs, "warmup")
    if n_jobs != 1:
        # one system per submission, largest first (SYSTEMS order): workers stay busy
        order = sorted(names, key=list(SYSTEMS).index)
        seconds = parallel_map(_timed, order, n_jobs=n_jobs, progress=progress is not False,
                               desc="warmup", unit="system", chunksize=1, isolate=True,
                               owner="warmup")
        spent_by_name = dict(zip(order, seconds, strict=True))
        return {name: spent_by_name[name] for name in names}
    bar = None
    if progress is not False:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc="warmup", unit="system")
    spent = {}
    try:
        for name in names:
            if bar is not None:
                bar.set_postfix_str(name)
            spent[name] = _timed(name)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return spent
