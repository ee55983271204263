"""Run a cascading agent for many episodes and seeds (the ``EPISODIC`` protocol).

:func:`run_episodes` plays each run on the kernel engine (the one episodic loop,
:func:`banditlab.cascading.kernels.run_episodes_kernel`) or on the equivalent gymnasium loop
calling the same kernels, and records the exact value of every played policy, hence the regret.
"""

from __future__ import annotations

import copy
import functools
import time
from typing import Any

import numpy as np

from banditlab._jit import callee_of
from banditlab._seeding import SeedLike, spawn_run_seeds
from banditlab._validation import MAX_HORIZON, MAX_RUNS, Integer, Options, _got, check_memory
from banditlab.cascading.algorithms import CascadingAgent
from banditlab.cascading.kernels import _play_episode, run_episodes_kernel
from banditlab.envs.cascading import CascadingMDP
from banditlab.envs.cascading_kernels import policy_evaluation_kernel
from banditlab.parallel import CompileBeside, check_n_jobs, check_progress, parallel_map
from banditlab.results import Results, library_versions

__all__ = ["run_episodes"]


def _python_episodes(agent: CascadingAgent, env: Any, base: CascadingMDP, n_episodes: int
                     ) -> tuple[np.ndarray, ...]:
    values, upper, lower, returns = (np.empty(n_episodes) for _ in range(4))
    a = base.kernel_arrays()
    for e in range(n_episodes):
        policy = agent.plan()
        values[e] = policy_evaluation_kernel(a.q, a.r, a.p, policy)[0, a.s1]
        upper[e], lower[e] = agent.upper_value, agent.lower_value
        s, _ = env.reset()
        total = 0.0
        for h in range(base.horizon):
            action = agent.select(h, s)
            s_next, reward, _, _, info = env.step(action)
            agent.update(h, s, action, info["position"], s_next, reward)
            total += reward
            s = s_next
        returns[e] = total
    return values, upper, lower, returns


def _one_run(agent: CascadingAgent, env: Any, n_episodes: int, env_seed: int, agent_seed: int,
             engine: str) -> tuple[Any, ...]:
    base = env.unwrapped
    start = time.perf_counter()
    env.reset(seed=env_seed)
    agent.reset(seed=agent_seed)
    if engine == "kernel":
        values, upper, lower, returns, state = run_episodes_kernel(
            agent.params, agent.state, base.kernel_arrays(), base.np_random, n_episodes, 0)
        agent.state = state
        agent.episode = n_episodes
    else:
        values, upper, lower, returns = _python_episodes(agent, env, base, n_episodes)
    return values, upper, lower, returns, time.perf_counter() - start


def _seeded_run(agent: CascadingAgent, env: Any, n_episodes: int, engine: str,
                seeds: tuple[int, int]) -> tuple[Any, ...]:
    """One run (a task of :func:`~banditlab.parallel.parallel_map`)."""
    return _one_run(agent, env, n_episodes, seeds[0], seeds[1], engine)


def _kernels_beside(agent: CascadingAgent, base: CascadingMDP) -> list[tuple[Any, tuple]]:
    """The kernel calls of a first run that do not depend on the agent's planner: the exact
    evaluation of the played policy and the episode loop (which the trajectory loop calls
    after planning) and value iteration for ``V*`` (after the runs).
    :class:`~banditlab.parallel.CompileBeside` compiles them in a helper process while this
    one compiles the planner, the largest of the kernels."""
    probe = copy.deepcopy(agent)
    probe.reset(seed=0)
    params, state, arrays = probe.params, probe.state, base.kernel_arrays()
    return [(callee_of(policy_evaluation_kernel), (arrays.q, arrays.r, arrays.p, state.policy)),
            (callee_of(_play_episode), (params, state, arrays, state.policy, base.np_random)),
            base.oracle_call()]


def run_episodes(agent: CascadingAgent, env: CascadingMDP, n_episodes: int, *, n_runs: int = 1,
                 seed: SeedLike = None, engine: str = "kernel", n_jobs: int | None = None,
                 progress: bool | None = None) -> Results:
    """Run ``n_runs`` independent runs of ``n_episodes`` episodes and record exact values.

    Parameters
    ----------
    agent : CascadingAgent
    env : CascadingMDP (possibly wrapped by ``gymnasium.make``)
    n_episodes : int
        ``K``.
    n_runs : int, default 1
    seed : None, int or SeedSequence
        Root of the seed tree: run i resets the env and the agent with its own pair of seeds.
    engine : {'kernel', 'python'}, default 'kernel'
        The whole run in one Numba loop, or the gymnasium loop calling the same kernels (the
        two give identical results).
    n_jobs : None, -1 or int >= 1, optional
        Worker processes, as everywhere in banditlab (:mod:`banditlab.parallel`): ``None``
        runs here unless the batch is expected to take more than about 2 s, then one process
        per core; ``-1`` all cores; ``k`` at most k. Results do not depend on it.
    progress : bool, optional
        Show a tqdm progress bar over runs (on stderr); default: when the batch is expected
        to take more than about 2 s.

    Returns
    -------
    Results
        Checkpoints are the episodes ``1..n_episodes`` (``x_label='episode'``); ``regret`` is
        the cumulative regret ``sum_k (V* - V^{pi_k})``. Traces, ``(n_runs, n_episodes)``
        each: ``values`` (the exact value ``V^{pi_k}_1(s1)`` of each played policy), ``upper``
        and ``lower`` (the agent's optimistic and pessimistic values at ``s1``, ``nan`` if it
        has none) and ``returns`` (realised). Per run: ``run_time_s`` (planning, playing and
        evaluation). Batch scalar: ``optimal_value`` ``V*_1(s1)``.
    """
    owner = "run_episodes"
    if not isinstance(agent, CascadingAgent):
        raise TypeError(f"{owner}: 'agent' must be a CascadingAgent; got "
                        f"{type(agent).__name__} {_got(agent)}.")
    base = agent.check_env(env, owner)
    n_episodes = int(Integer(1, MAX_HORIZON).check(n_episodes, "n_episodes", owner))
    n_runs = int(Integer(1, MAX_RUNS).check(n_runs, "n_runs", owner))
    # four traces (values, upper, lower, returns) and the regret per episode, of every run
    check_memory(8.0 * 5 * n_runs * (n_episodes + 1),
                 f"n_runs={n_runs} x n_episodes={n_episodes} x 5 traces", owner)
    engine = Options(("kernel", "python")).check(engine, "engine", owner)
    check_n_jobs(n_jobs, owner)
    check_progress(progress, owner)
    start = time.perf_counter()
    entropy, seeds = spawn_run_seeds(seed, n_runs, owner=owner)
    # copies: runs reset them, and the caller's agent and env stay untouched
    job = functools.partial(_seeded_run, copy.deepcopy(agent), copy.deepcopy(env), n_episodes,
                            engine)
    with CompileBeside(_kernels_beside(agent, base) if engine == "kernel" else []):
        out = parallel_map(job, seeds, n_jobs=n_jobs, progress=progress, desc=agent.name,
                           unit="run", owner=owner)
        wall = time.perf_counter() - start
        optimal = base.optimal_value()
    values = np.stack([o[0] for o in out])
    return Results(
        policy=agent.name, policy_params=agent.get_params(), env=type(base).__name__,
        env_params=base.env_params, horizon=n_episodes,
        checkpoints=np.arange(1, n_episodes + 1, dtype=np.int64),
        regret=np.cumsum(optimal - values, axis=1),
        pulls=np.zeros((n_runs, 0), dtype=np.int64),
        recommendations=np.full(n_runs, -1, np.int64), best_arm=-1, seed_entropy=entropy,
        engine=engine, wall_time_s=wall, versions=library_versions(),
        protocol=agent.protocol.name, x_label="episode",
        traces={"values": values, "upper": np.stack([o[1] for o in out]),
                "lower": np.stack([o[2] for o in out]), "returns": np.stack([o[3] for o in out])},
        per_run={"run_time_s": np.array([o[4] for o in out])},
        info={"optimal_value": optimal})
