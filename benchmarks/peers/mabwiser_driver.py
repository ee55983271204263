"""Run the benchmark workload with MABWiser and print one JSON line.

Executed by ``benchmarks/bench_bandits.py`` in a subprocess (by default with the benchmark's
own interpreter, where ``pip install mabwiser`` puts it), so this file does not import
banditlab. MABWiser is a (contextual) bandit library with a batch fit/predict API; the online
loop here is ``predict()``, draw a Bernoulli reward, ``partial_fit([arm], [reward])``.

MABWiser must be ``fit`` before its first ``predict``, and its UCB1 never plays an arm with no
data (an untrained arm's expectation stays 0), so each run starts with ``fit`` on one pull of
every arm in index order: exactly UCB1's initialisation. Thompson sampling gets the same K
forced pulls (its Beta(1, 1) posteriors are then updated as usual); these K rounds are counted
in the horizon and the regret, as for the other implementations.

``LearningPolicy.UCB1(alpha=1.0)`` has the index ``mean + 1.0 * sqrt(2 log N / n)``, which is
banditlab's ``UCB(alpha=2.0)``.

Usage: ``python mabwiser_driver.py --policy ucb|thompson --horizon T --runs R --seed S``
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policy", choices=("ucb", "thompson"), required=True)
    parser.add_argument("--horizon", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-arms", type=int, default=10)
    args = parser.parse_args()

    t0 = time.perf_counter()
    import mabwiser
    import numpy as np
    from mabwiser.mab import MAB, LearningPolicy
    import_s = time.perf_counter() - t0
    try:
        from importlib.metadata import version

        mab_version = version("mabwiser")
    except Exception:  # the version is only reported, never needed
        mab_version = getattr(mabwiser, "__version__", "?")

    k = args.n_arms
    means = np.linspace(0.1, 0.9, k)
    best = float(means.max())
    arms = list(range(k))
    lp = (LearningPolicy.UCB1(alpha=1.0) if args.policy == "ucb"
          else LearningPolicy.ThompsonSampling())
    regrets, seconds, cpu_seconds = [], [], []
    for run in range(args.runs):
        env_rng = np.random.default_rng([args.seed, run])
        start, cpu_start = time.perf_counter(), time.process_time()
        mab = MAB(arms=arms, learning_policy=lp, seed=args.seed + run)
        first = list(range(min(k, args.horizon)))
        rewards = [float(env_rng.random() < means[a]) for a in first]
        mab.fit(decisions=first, rewards=rewards)
        regret = float(sum(best - means[a] for a in first))
        for _ in range(len(first), args.horizon):
            arm = mab.predict()
            reward = float(env_rng.random() < means[arm])
            mab.partial_fit(decisions=[arm], rewards=[reward])
            regret += best - means[arm]
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        regrets.append(regret)
    versions = {"mabwiser": mab_version, "numpy": np.__version__,
                "python": sys.version.split()[0]}
    print(json.dumps({"library": "MABWiser", "policy": args.policy, "horizon": args.horizon,
                      "runs": args.runs, "seconds_per_run": seconds,
            "cpu_seconds_per_run": cpu_seconds, "final_regret": regrets,
                      "import_s": import_s, "versions": versions}))


if __name__ == "__main__":
    main()
