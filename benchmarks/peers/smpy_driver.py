"""Run the benchmark workload with SMPyBandits and print one JSON line on stdout.

Executed by ``benchmarks/bench_bandits.py`` in a subprocess with the interpreter of the
SMPyBandits virtual environment (SMPyBandits 0.9.7 does not import with SciPy >= 1.14), so this
file must not import banditlab. Each run is one call of SMPyBandits' own repetition function
``Environment.Evaluator.delayed_play(env, policy, horizon, seed=...)`` (what its ``Evaluator``
runs for every repetition: ``policy.choice()``, ``env.draw(arm, t)``,
``policy.getReward(arm, reward)``, ``result.store(t, arm, reward)``), on a ``MAB`` of
``Bernoulli`` arms. ``delayed_play`` seeds SMPyBandits' (global) generators from ``seed``. The
pseudo-regret ``sum_t max(means) - means[arm_t]`` is computed from the stored choices.

Policies: ``UCB`` (index ``mean + sqrt(2 log t / n)``: UCB1, banditlab's ``UCB(alpha=2.0)``)
and ``Thompson`` (Beta(1, 1) prior per arm; exact conjugate update for 0/1 rewards).

Usage: ``python smpy_driver.py --policy ucb|thompson --horizon T --runs R --seed S``
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
    # SMPyBandits prints notices (missing optional modules, a description of each MAB) on
    # stdout: keep stdout for the JSON line only.
    with contextlib.redirect_stdout(io.StringIO()):
        result = _simulate(args)
    print(json.dumps(result))


def _simulate(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    import numpy as np
    import SMPyBandits
    from SMPyBandits.Arms import Bernoulli
    from SMPyBandits.Environment import MAB
    from SMPyBandits.Environment.Evaluator import delayed_play
    from SMPyBandits.Policies import UCB, Thompson

    import_s = time.perf_counter() - t0

    means = np.linspace(0.1, 0.9, args.n_arms)
    env = MAB({"arm_type": Bernoulli, "params": list(means)})
    policy = UCB(args.n_arms) if args.policy == "ucb" else Thompson(args.n_arms)
    regrets, seconds, cpu_seconds = [], [], []
    for run in range(args.runs):
        start, cpu_start = time.perf_counter(), time.process_time()
        # repeatId=1: no progress bar and no end-of-run printing (as for repetitions >= 1)
        result = delayed_play(env, policy, args.horizon, seed=args.seed + run, repeatId=1)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        choices = np.asarray(result.choices, dtype=np.int64)
        regrets.append(float(np.sum(means.max() - means[choices])))
    versions = {"SMPyBandits": getattr(SMPyBandits, "__version__", "?"),
                "numpy": np.__version__, "python": sys.version.split()[0]}
    return {"library": "SMPyBandits", "policy": args.policy, "horizon": args.horizon,
            "runs": args.runs, "seconds_per_run": seconds,
            "cpu_seconds_per_run": cpu_seconds, "final_regret": regrets,
            "import_s": import_s, "versions": versions}


if __name__ == "__main__":
    main()
