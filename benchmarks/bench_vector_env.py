"""Cost per copy and step of the native vector env (issue 14 part 3), against the alternatives.

Workload: K = 10 arms, Bernoulli rewards with means ``linspace(0.1, 0.9, 10)``, ``N`` copies
(N = 1, 100, 1,000), one episode of ``T`` rounds per copy (no autoreset inside the timing).

``(i) vector env``
    ``gymnasium.make_vec("banditlab/BernoulliBandit-v0", num_envs=N, ...)`` (the native
    :class:`banditlab.envs.vector.BernoulliVectorEnv`): ``T`` calls of ``step(actions)`` with
    actions drawn before timing.
``(ii) BatchedPolicy + vector env``
    ``BatchedPolicy(UCB(10), N)`` driving the vector env from a Python loop:
    ``select()``, ``step(actions)``, ``update(actions, rewards)`` per round.
``(iii) kernel engine``
    ``run_many(UCB(10), BernoulliBandit(...), n_runs=N, engine="kernel", n_jobs=1)``: the same
    N runs of UCB1 over ``T`` rounds, each trajectory in one compiled loop; per pull.
``(iv) SyncVectorEnv``
    ``gymnasium.make_vec(..., vectorization_mode="sync")``: gymnasium's for-loop over N single
    envs; fewer rounds (``max(20, T_SYNC // N)``), the cost per copy and step does not depend
    on them.

Everything is warmed up first (kernels compiled or loaded from the cache), each timing is the
minimum of ``--repeats`` repetitions (the machine is shared and noisy), and reported in ns per
copy and step (per pull for the kernel engine). Ratios: ``sync / vec`` is the speed-up of the
native vector env over gymnasium's SyncVectorEnv; ``loop / kernel`` is how far the Python loop
of (ii) is from the kernel engine doing the same work.

Run ``python benchmarks/bench_vector_env.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np

import banditlab as bl
from banditlab.batched import BatchedPolicy

ENV_ID = "banditlab/BernoulliBandit-v0"
K = 10
MEANS = np.linspace(0.1, 0.9, K).tolist()


def _actions(n: int, steps: int) -> list[np.ndarray]:
    table = np.random.default_rng(0).integers(0, K, size=(steps, n))
    return [np.ascontiguousarray(row) for row in table]


def _seconds_per_step(env: gym.vector.VectorEnv, n: int, steps: int) -> float:
    """Seconds per copy and step of ``steps`` calls of ``env.step`` with drawn actions."""
    env.reset(seed=0)
    actions = _actions(n, steps)
    step = env.step
    start = time.perf_counter()
    for a in actions:
        step(a)
    return (time.perf_counter() - start) / (n * steps)


def vector_env(n: int, steps: int) -> float:
    """(i): seconds per copy and step of the native vector env alone."""
    return _seconds_per_step(gym.make_vec(ENV_ID, num_envs=n, means=MEANS, horizon=steps),
                             n, steps)


def batched_loop(n: int, steps: int) -> float:
    """(ii): seconds per copy and step of BatchedPolicy(UCB) + the vector env."""
    env = gym.make_vec(ENV_ID, num_envs=n, means=MEANS, horizon=steps)
    batch = BatchedPolicy(bl.UCB(K), n).reset(seed=0)
    env.reset(seed=0)
    select, update, step = batch.select, batch.update, env.step
    start = time.perf_counter()
    for _ in range(steps):
        actions = select()
        _, rewards, _, _, _ = step(actions)
        update(actions, rewards)
    return (time.perf_counter() - start) / (n * steps)


def kernel_engine(n: int, steps: int) -> float:
    """(iii): seconds per pull of run_many(engine="kernel"), N runs of ``steps`` rounds."""
    env = bl.envs.BernoulliBandit(MEANS, horizon=steps)
    start = time.perf_counter()
    bl.run_many(bl.UCB(K), env, n_runs=n, seed=0, engine="kernel", n_jobs=1, progress=False)
    return (time.perf_counter() - start) / (n * steps)


def sync_vector_env(n: int, steps: int) -> float:
    """(iv): seconds per copy and step of gymnasium's SyncVectorEnv over N single envs."""
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="sync", means=MEANS,
                       horizon=steps)
    return _seconds_per_step(env, n, steps)


def best_of(fn, n: int, steps: int, repeats: int) -> float:
    return min(fn(n, steps) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2000, help="rounds T of (i)-(iii)")
    parser.add_argument("--sync-steps", type=int, default=20_000,
                        help="copy-steps budget T_SYNC of (iv)")
    args = parser.parse_args()
    steps, sync_budget, repeats = args.steps, args.sync_steps, args.repeats
    if args.quick:
        steps, sync_budget, repeats = 200, 2000, 1
    sizes = (1, 100, 1000)

    for fn in (vector_env, batched_loop, kernel_engine, sync_vector_env):   # warm-up
        for n in sizes:
            fn(n, 20)

    print(f"K={K} Bernoulli arms, T={steps} rounds ((iv): max(20, {sync_budget} // N)), "
          f"min of {repeats} repeats; load average {os.getloadavg()[0]:.2f}")
    header = (f"{'N':>6} | {'(i) vec':>9} | {'(ii) loop':>9} | {'(iii) kernel':>12} | "
              f"{'(iv) sync':>9} | {'sync/vec':>8} | {'loop/kernel':>11} | {'loop/vec':>8}")
    print("ns per copy and step (per pull for (iii))")
    print(header)
    print("-" * len(header))
    for n in sizes:
        vec = best_of(vector_env, n, steps, repeats)
        loop = best_of(batched_loop, n, steps, repeats)
        kern = best_of(kernel_engine, n, steps, repeats)
        sync = best_of(sync_vector_env, n, max(20, sync_budget // n), repeats)
        print(f"{n:>6} | {vec * 1e9:>9.1f} | {loop * 1e9:>9.1f} | {kern * 1e9:>12.1f} | "
              f"{sync * 1e9:>9.1f} | {sync / vec:>8.1f} | {loop / kern:>11.2f} | "
              f"{loop / vec:>8.2f}")


if __name__ == "__main__":
    main()
