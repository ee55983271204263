"""Benchmark: BestPerm vs exhaustive search over lists, and CascadingVI episodes per second.

Run ``python benchmarks/bench_cascading.py [--quick]``. Prints three markdown tables (paste
them into ``benchmarks/README_cascading.md``):

1. one oracle call, ``max_A f(A, u, w)`` over lists of at most ``m = 3`` items, as ``N`` grows:
   BestPerm (``O(N m + N log N)``) vs the exhaustive kernel over all ``O(N^3)`` lists (the
   running-time panel of Du, Srikant & Chen, ICLR 2024; both are the same Numba code path
   used by the agents, so this is a like-for-like comparison);
2. one optimistic backward induction (``H = 3``, ``S = 20``, ``m = 3``, statistics of 300
   played episodes): CascadingVI with BestPerm vs CascadingVI-Oracle with exhaustive search;
3. whole episodes per second (plan + play + exact regret bookkeeping) of CascadingVI,
   CascadingVI-Oracle and AdaptVI on synthetic ``S = 20, H = 3, m = 3`` instances; AdaptVI
   with its full backup over all lists (the default, as in the spec) and with the early stop
   at the first list worth the cap (``full_backup=False``: same plans, less work).

Timings are medians over ``repeats`` runs after a warm-up (Numba compilation excluded).
"""

from __future__ import annotations

import argparse
import math
import time
from functools import partial

import numpy as np
from numba import njit

from banditlab.cascading import (
    AdaptVI,
    CascadingVI,
    CascadingVIOracle,
    run_episodes,
)
from banditlab.cascading.kernels import cvi_plan, run_episodes_kernel
from banditlab.envs.cascading import random_cascading_mdp
from banditlab.envs.cascading_kernels import best_list_exhaustive, best_perm_kernel


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


@njit
def _oracle_calls(exhaustive, u, w, w_bot, m, out, calls):
    """``calls`` calls of one oracle in one compiled loop (no Python dispatch per call)."""
    acc = 0.0
    for _ in range(calls):
        if exhaustive:
            acc += best_list_exhaustive(u, u, w, w_bot, m, out)[0]
        else:
            acc += best_perm_kernel(u, w, w_bot, m, u, out)[0]
    return acc


def oracle_table(ns: tuple[int, ...], repeats: int) -> list[str]:
    """Per-call cost inside compiled code, where the agents call the oracles: each timing is
    a loop of calls in Numba divided by the number of calls (a call from Python would add
    about 0.6 us of argument unboxing to both)."""
    m = 3
    rows = ["| N | lists | BestPerm (us) | exhaustive (us) | speed-up | same value |",
            "|---:|---:|---:|---:|---:|:---:|"]
    rng = np.random.default_rng(0)
    for n in ns:
        u, w = rng.random(n), rng.random(n) * 2.0
        w_bot = 0.5
        out = np.full(m, -1, np.int64)
        n_lists = sum(math.perm(n, k) for k in range(1, m + 1))
        bp_calls, ex_calls = 2000, max(10, 200_000 // n_lists)
        bp = partial(_oracle_calls, False, u, w, w_bot, m, out, bp_calls)
        ex = partial(_oracle_calls, True, u, w, w_bot, m, out, ex_calls)
        t_bp = _median_time(bp, max(5, repeats // 10)) / bp_calls
        t_ex = _median_time(ex, max(5, repeats // 10)) / ex_calls
        v_bp = best_perm_kernel(u, w, w_bot, m, u, out)[0]
        v_ex = best_list_exhaustive(u, u, w, w_bot, m, out)[0]
        same = "yes" if abs(v_bp - v_ex) <= 1e-12 else "NO"
        rows.append(f"| {n} | {n_lists} | {1e6 * t_bp:.3f} | {1e6 * t_ex:.2f} | "
                    f"{t_ex / t_bp:.0f}x | {same} |")
    return rows


def plan_table(ns: tuple[int, ...], repeats: int) -> list[str]:
    rows = ["| N | CascadingVI plan (ms) | CascadingVI-Oracle plan (ms) | ratio |",
            "|---:|---:|---:|---:|"]
    for n in ns:
        env = random_cascading_mdp(20, n, 3, 3, seed=n)
        times = []
        for cls in (CascadingVI, CascadingVIOracle):
            agent = cls.for_env(env).reset(seed=0)
            env.reset(seed=1)
            # realistic statistics: 300 episodes played in place on the agent's state
            run_episodes_kernel(agent.params, agent.state, env.kernel_arrays(), env.np_random,
                                300, 0)
            times.append(_median_time(partial(cvi_plan, agent.params, agent.state, 0),
                                      repeats if cls is CascadingVI else max(3, repeats // 10)))
        rows.append(f"| {n} | {1e3 * times[0]:.3f} | {1e3 * times[1]:.2f} | "
                    f"{times[1] / times[0]:.0f}x |")
    return rows


def episodes_table(ns: tuple[int, ...], episodes: int) -> list[str]:
    rows = ["| N | CascadingVI (episodes/s) | CascadingVI-Oracle (episodes/s) | "
            "AdaptVI, full backup (episodes/s) | AdaptVI, early stop (episodes/s) |",
            "|---:|---:|---:|---:|---:|"]
    for n in ns:
        env = random_cascading_mdp(20, n, 3, 3, seed=n)
        cells = []
        for cls, k, kwargs in ((CascadingVI, episodes, {}),
                               (CascadingVIOracle, max(50, episodes // 50), {}),
                               (AdaptVI, max(50, episodes // 10), {"full_backup": True}),
                               (AdaptVI, episodes, {"full_backup": False})):
            agent = cls.for_env(env, n_episodes=k, **kwargs)
            run_episodes(agent, env, 2, seed=0)  # warm-up
            res = run_episodes(agent, env, k, seed=0, n_jobs=1, progress=False)
            cells.append(f"{k / res.run_time_s[0]:,.0f}")
        rows.append(f"| {n} | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    if args.quick:
        ns, plan_ns, repeats, episodes = (5, 10, 15), (10, 15), 20, 1000
    else:
        ns, plan_ns, repeats, episodes = (5, 10, 15, 20, 25, 30, 40), (10, 15, 20, 25), 200, 10_000
    print("### One oracle call (m = 3)\n")
    print("\n".join(oracle_table(ns, repeats)))
    print("\n### One optimistic backward induction (S = 20, H = 3, m = 3)\n")
    print("\n".join(plan_table(plan_ns, repeats)))
    print("\n### Episodes per second (S = 20, H = 3, m = 3; plan + play + exact evaluation)\n")
    print("\n".join(episodes_table(plan_ns, episodes)))


if __name__ == "__main__":
    main()
