"""Benchmark: the first call of each public entry point, cold (empty kernel cache) and warm.

Each entry point runs in a fresh Python process whose Numba cache is a private, empty
directory (``NUMBA_CACHE_DIR``), so every kernel it reaches is compiled ("cold"); a second fresh
process with the same directory then loads them from the cache ("warm"). Each entry point gets
its own directory, so none profits from kernels another one compiled. Reported per process:

* ``import``: importing what the call needs (banditlab, numba, the entry point's module);
* ``first call``: the entry point's first call, compilation or cache loading included;
* ``process``: the whole process, start-up to exit, as the command line sees it.

Entry points: one policy in ``run_many`` (UCB on a 10-armed Bernoulli bandit), one streaming
algorithm (``run_streaming``), one cascading agent (``run_episodes``), one SOR tuning
(``OmegaTuner.solve``), one BCD Lasso solve, the 200 x 50 least-squares solve of issue 15 (GSL
rule, matrix update), and ``banditlab run examples/quickstart.toml`` (a command: only its
process time is meaningful, plotting and saving included). Two reference rows, not banditlab,
give the least a fresh process pays here whatever it computes: ``floor_numba`` imports Numba
and calls one cached ``@njit`` kernel (``x + 1``); ``floor_plot`` also imports gymnasium and
saves a one-line matplotlib figure, as the quickstart must.

Run: ``python benchmarks/bench_cold.py [--repeats R] [--only NAME ...]``. Prints a Markdown
table (medians over ``R`` cold/warm pairs, default 1). Results depend on the load of the
machine: compilation is CPU-bound, run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: the reference rows' kernel: a module file written once per cache directory (Numba caches
#: only functions defined in files, and keys the cache on the file's time stamp)
_FLOOR_KERNEL = (
    "import pathlib, sys\n"
    "src = pathlib.Path('floor_kernel.py')\n"
    "if not src.exists():\n"
    "    src.write_text('import numba\\n@numba.njit(cache=True)\\ndef f(x):\\n'\n"
    "                   '    return x + 1\\n')\n"
    "sys.path.insert(0, '.')\n"
    "import floor_kernel\n"
)

#: name -> (what it is, set-up code (imports, data), the first call)
ENTRY_POINTS: dict[str, tuple[str, str, str]] = {
    "run_many": (
        "run_many: UCB, Bernoulli K=10, T=10,000, 5 runs",
        "import banditlab\n"
        "from banditlab.envs import BernoulliBandit\n"
        "from banditlab.policies import UCB\n"
        "from banditlab.runner import run_many\n"
        "env = BernoulliBandit(np.linspace(0.1, 0.9, 10), horizon=10_000)\n",
        "run_many(UCB(10), env, n_runs=5, seed=0, n_jobs=1, progress=False)",
    ),
    "streaming": (
        "run_streaming: NaiveEpsBest, K=20, T=10,000",
        "from banditlab.envs.streaming import StreamingBandit, clear_cut_means\n"
        "from banditlab.streaming import NaiveEpsBest, run_streaming\n"
        "alg = NaiveEpsBest(eps=0.25)\n"
        "env = StreamingBandit(clear_cut_means(20, seed=0), horizon=10_000,\n"
        "                      memory=alg.memory_budget(20))\n",
        "run_streaming(alg, env, seed=0, n_jobs=1, progress=False)",
    ),
    "cascading": (
        "run_episodes: CascadingVI, random MDP, 20 episodes",
        "from banditlab.cascading import CascadingVI, run_episodes\n"
        "from banditlab.envs.cascading import random_cascading_mdp\n"
        "env = random_cascading_mdp(3, 6, 2, 3, seed=0)\n"
        "agent = CascadingVI.for_env(env)\n",
        "run_episodes(agent, env, 20, seed=0, n_jobs=1, progress=False)",
    ),
    "sor_tuning": (
        "OmegaTuner.solve: Tsallis-INF, SOR, Poisson 10x10",
        "from banditlab.solvers import poisson_2d\n"
        "from banditlab.sor_tuning import OmegaTuner\n"
        "A = poisson_2d(10)\n"
        "b = np.ones(A.shape[0])\n",
        "OmegaTuner(seed=0).solve(A, b)",
    ),
    "bcd_lasso": (
        "bcd: Lasso 200x50, GS-s rule, prox-gradient (500 iterations)",
        "from banditlab.solvers import L1LeastSquares, bcd\n"
        "rng = np.random.default_rng(0)\n"
        "M, y = rng.standard_normal((200, 50)), rng.standard_normal(200)\n"
        "prob = L1LeastSquares(M, y, lam=0.1 * np.max(np.abs(M.T @ y)))\n",
        "bcd(prob, update='prox_gradient', max_iter=500)",
    ),
    "bcd_ls_gsl_matrix": (
        "bcd: least squares 200x50, GSL rule, matrix update (500 iterations)",
        "from banditlab.solvers import LeastSquares, bcd\n"
        "rng = np.random.default_rng(0)\n"
        "M, y = rng.standard_normal((200, 50)), rng.standard_normal(200)\n"
        "prob = LeastSquares(M, y)\n",
        "bcd(prob, selection='gsl', update='matrix', max_iter=500)",
    ),
    "quickstart": (
        "banditlab run examples/quickstart.toml (6 policies, 20 runs, T=10,000)",
        "", "",
    ),
    # references, not banditlab: what any process pays that loads one Numba kernel (and draws
    # a figure), measured the same way; the warm quickstart cannot take less than these
    "floor_numba": (
        "reference: import numba, call one cached @njit kernel (x + 1)",
        "import numba\n" + _FLOOR_KERNEL,
        "floor_kernel.f(1)",
    ),
    "floor_plot": (
        "reference: as above, import gymnasium, save a one-line matplotlib figure",
        "import numba, gymnasium\n" + _FLOOR_KERNEL +
        "from matplotlib.figure import Figure\n",
        "floor_kernel.f(1)\n"
        "fig = Figure()\n"
        "fig.subplots().plot([1.0, 2.0], [1.0, 2.0])\n"
        "fig.savefig('floor.png')",
    ),
}

_CHILD = """
import json, time
t0 = time.perf_counter()
import numpy as np
{setup}
t1 = time.perf_counter()
{call}
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "call": t2 - t1}}))
"""


def _env(cache: str) -> dict[str, str]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_once(name: str, cache: str, out: str) -> dict[str, float]:
    """One fresh process for entry point ``name`` with kernel cache ``cache``: its timings."""
    _, setup, call = ENTRY_POINTS[name]
    if name == "quickstart":
        cmd = [sys.executable, "-m", "banditlab", "run", str(ROOT / "examples" / "quickstart.toml"),
               "--out", out, "--no-progress"]
    else:
        cmd = [sys.executable, "-c", _CHILD.format(setup=setup, call=call)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=_env(cache), cwd=out, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: exit status {proc.returncode}\n{proc.stderr[-3000:]}")
    if name == "quickstart":
        return {"import": np.nan, "call": np.nan, "process": wall}
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**row, "process": wall}


def bench(names: list[str], repeats: int) -> list[dict]:
    rows = []
    for name in names:
        cold, warm = [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="bench_cold_") as tmp:
                cache = os.path.join(tmp, "numba_cache")
                os.mkdir(cache)
                cold.append(run_once(name, cache, tmp))
                warm.append(run_once(name, cache, tmp))
        med = {k: {f: float(np.median([r[f] for r in runs])) for f in runs[0]}
               for k, runs in (("cold", cold), ("warm", warm))}
        rows.append({"name": name, **med})
        print(f"# {name}: cold {med['cold']['process']:.1f} s, warm {med['warm']['process']:.1f} s",
              file=sys.stderr, flush=True)
    return rows


def _fmt(v: float) -> str:
    return "–" if np.isnan(v) else f"{v:.2f}"


def table(rows: list[dict]) -> str:
    out = ["| entry point | cold: import | cold: first call | cold: process | warm: import "
           "| warm: first call | warm: process |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        c, w = r["cold"], r["warm"]
        out.append(f"| {ENTRY_POINTS[r['name']][0]} | {_fmt(c['import'])} | {_fmt(c['call'])} | "
                   f"{_fmt(c['process'])} | {_fmt(w['import'])} | {_fmt(w['call'])} | "
                   f"{_fmt(w['process'])} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=1, help="cold/warm pairs per entry point")
    ap.add_argument("--only", nargs="+", choices=list(ENTRY_POINTS), default=list(ENTRY_POINTS),
                    metavar="NAME", help=f"entry points among {', '.join(ENTRY_POINTS)}")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error(f"--repeats must be an int >= 1; got {args.repeats}")
    rows = bench(args.only, args.repeats)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Seconds; medians over {args.repeats} cold/warm pair(s) of fresh processes; "
          f"{os.cpu_count()} CPUs, load average {load:.2f} at the end.\n")
    print(table(rows))


if __name__ == "__main__":
    main()
