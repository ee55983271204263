"""Per-pull cost of KL-UCB against UCB1 on the kernel engine (issue 14, part 4).

Workload: K = 10 arms with means ``linspace(0.1, 0.9, 10)``, horizon T = 100,000, a few runs,
``run_many(policy, env, T, n_runs=..., engine="kernel", n_jobs=1)``:

* UCB1: ``UCB()`` on ``BernoulliBandit``;
* KL-UCB with each divergence on the env of its family: ``bernoulli`` on ``BernoulliBandit``,
  ``gaussian`` (``sigma=1``) on ``GaussianBandit(sigma=1)``, ``poisson`` on ``PoissonBandit``,
  ``exponential`` on ``ExponentialBandit``.

Every case runs once on a short horizon first (compiling every Numba kernel it uses), then each
is timed ``--repeats`` times (interleaved; ``time.perf_counter``) and the minimum is reported,
as microseconds per pull and as a ratio to UCB1's per-pull cost (the target: at most 10).

Run ``python benchmarks/bench_klucb.py`` (``--quick`` for a smaller smoke run).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import banditlab
from banditlab.envs import BernoulliBandit, ExponentialBandit, GaussianBandit, PoissonBandit
from banditlab.policies import KLUCB, UCB

K = 10
MEANS = np.linspace(0.1, 0.9, K)


def cases(horizon: int) -> dict[str, tuple[object, object]]:
    """Label -> (policy, env) for every timed case."""
    return {
        "UCB1 (bernoulli env)": (UCB(K), BernoulliBandit(MEANS, horizon=horizon)),
        "KL-UCB bernoulli": (KLUCB(K, divergence="bernoulli"),
                             BernoulliBandit(MEANS, horizon=horizon)),
        "KL-UCB gaussian": (KLUCB(K, divergence="gaussian", sigma=1.0),
                            GaussianBandit(MEANS, sigma=1.0, horizon=horizon)),
        "KL-UCB poisson": (KLUCB(K, divergence="poisson"), PoissonBandit(MEANS, horizon=horizon)),
        "KL-UCB exponential": (KLUCB(K, divergence="exponential"),
                               ExponentialBandit(MEANS, horizon=horizon)),
    }


def time_case(policy: object, env: object, horizon: int, n_runs: int) -> float:
    """Seconds for one ``run_many`` call on the kernel engine in this process."""
    start = time.perf_counter()
    banditlab.run_many(policy, env, horizon, n_runs=n_runs, seed=0, engine="kernel", n_jobs=1)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--horizon", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3, help="runs per run_many call")
    ap.add_argument("--repeats", type=int, default=3, help="timings per case; minimum kept")
    ap.add_argument("--quick", action="store_true", help="T = 20,000, 2 runs, 2 repeats")
    args = ap.parse_args()
    if args.quick:
        args.horizon, args.runs, args.repeats = 20_000, 2, 2

    # warm-up: compile (or load from the cache) every kernel each case uses
    for policy, env in cases(200).values():
        banditlab.run_many(policy, env, 200, n_runs=1, seed=0, engine="kernel", n_jobs=1)

    timed = cases(args.horizon)
    best = {label: float("inf") for label in timed}
    for _ in range(args.repeats):
        for label, (policy, env) in timed.items():
            best[label] = min(best[label], time_case(policy, env, args.horizon, args.runs))

    pulls = args.horizon * args.runs
    per_pull = {label: 1e6 * s / pulls for label, s in best.items()}
    base = per_pull["UCB1 (bernoulli env)"]
    print(f"K = {K}, T = {args.horizon}, {args.runs} runs per call, min of {args.repeats} "
          f"repeats (engine='kernel', n_jobs=1)")
    print(f"{'case':<24}{'us/pull':>10}{'x UCB1':>9}")
    for label, us in per_pull.items():
        print(f"{label:<24}{us:>10.4f}{us / base:>9.2f}")


if __name__ == "__main__":
    main()
