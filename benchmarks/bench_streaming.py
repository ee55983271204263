"""Memory and throughput of the streaming bandit algorithms for K = 1e4 .. 1e7 arms.

For every K and algorithm a fresh Python process (so peak RSS is not polluted by earlier work):

1. imports banditlab and runs a tiny warm-up (Numba kernels load from the on-disk cache);
2. draws a ``mix_in`` instance (``K`` float64 means) and builds a ``StreamingBandit`` with the
   algorithm's memory budget and horizon ``T = 1e18`` (``eps = (K/T)^(1/3)``);
3. plays one run on the kernel path and reports, from ``resource.getrusage`` (peak RSS):
   ``rss_instance_mb``  growth from building the instance and the env (the caller's means, the
                        env's validated copy and its stream-order copy: 3 arrays of 8K bytes),
   ``rss_run_mb``       growth of the peak during the run itself (the algorithms store O(1) or
                        O(log* K) arms, so this must not grow with K),
   ``ops_per_s``        batch operations (reads, batch pulls, discards) per second,
   plus the peak number of stored arms and the pulls used (``== T``).

Usage: ``python benchmarks/bench_streaming.py [--max-k 1e7] [--algorithms UE,GoA,log*]``.
Results are printed as a table and written to ``benchmarks/results_streaming.csv``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import numpy as np
from banditlab.envs.streaming import StreamingBandit, mix_in_means
from banditlab.streaming import ALGORITHMS, run_one

k, label, horizon = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
alg = ALGORITHMS[label]()
warm = StreamingBandit(mix_in_means(20, seed=0), horizon=10**6, memory=alg.memory_budget(20))
run_one(alg, warm, 0, 1)
del warm

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

base = peak_mb()
means = mix_in_means(k, seed=0)
env = StreamingBandit(means, horizon=horizon, memory=alg.memory_budget(k))
env.reset(seed=0)
before_run = peak_mb()
t0 = time.perf_counter()
run_one(alg, env, 0, 1)
wall = time.perf_counter() - t0
after = peak_mb()
ops = int(env.kernel_state().counters[10])
print(json.dumps({"n_arms": k, "algorithm": label, "means_mb": means.nbytes / 2**20,
                  "rss_instance_mb": before_run - base, "rss_run_mb": after - before_run,
                  "wall_s": wall, "ops": ops, "ops_per_s": ops / wall,
                  "peak_memory": env.peak_memory, "budget": env.memory,
                  "pulls_equal_T": env.pulls_used == horizon}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-k", type=float, default=1e7)
    parser.add_argument("--algorithms", default="UE,GoA,log*")
    parser.add_argument("--horizon", type=float, default=1e18)
    args = parser.parse_args()
    ks = [k for k in (10**4, 10**5, 10**6, 10**7) if k <= args.max_k]
    rows = []
    for k in ks:
        for label in args.algorithms.split(","):
            out = subprocess.run([sys.executable, "-c", CHILD, str(k), label,
                                  str(int(args.horizon))], capture_output=True, text=True,
                                 check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"K={k:>9,d} {label:6s} means={r['means_mb']:7.1f} MB  "
                  f"instance+env=+{r['rss_instance_mb']:7.1f} MB  run=+{r['rss_run_mb']:5.1f} MB  "
                  f"ops={r['ops']:>10,d}  {r['ops_per_s'] / 1e6:6.2f} Mops/s  "
                  f"peak={r['peak_memory']}/{r['budget']}  T-exact={r['pulls_equal_T']}",
                  flush=True)
    import pandas as pd

    path = Path(__file__).with_name("results_streaming.csv")
    pd.DataFrame(rows).to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
