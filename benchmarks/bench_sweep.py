"""Sweep overhead vs the bare engines, and parallel efficiency from 1 to 2 workers.

Run::

    python benchmarks/bench_sweep.py [--n-tasks 1000] [--horizon 100] [--repeat 3] [--no-dask]

Three measurements (best of ``--repeat``, each in one run of this script):

1. *Local processes*: ``sweep(grid, executor=2)`` of ``n_tasks`` short runs (UCB on a 3-armed
   Bernoulli bandit, ``horizon`` rounds, kernel engine) into a fresh store, against a bare
   ``concurrent.futures.ProcessPoolExecutor(2)`` submit/result loop doing the same work (one
   submission per task, calling the same per-task function, storing nothing).
2. *Dask*: the same sweep on a ``LocalCluster`` with 2 single-threaded workers, against a bare
   ``client.map``/``client.gather`` of the same per-task function on the same cluster.
3. *Parallel efficiency*: a CPU-bound sweep (long runs) with 1 and with 2 local processes;
   efficiency = T1 / (2 T2).

Overhead per task = (wall time - compute time / workers) / n_tasks, where the compute time is
that of the same tasks run in this process without any executor or store. Numba kernels are
loaded in the driver (so forked workers inherit them) and in the Dask workers before timing.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from banditlab.sweep import _run_task, expand_grid, run_tasks, sweep


def grid(n_tasks: int, horizon: int, seed: int = 0) -> dict:
    return {"seed": seed, "n_seeds": n_tasks, "horizon": horizon, "checkpoints": 10,
            "policies": [{"name": "UCB"}],
            "envs": [{"id": "banditlab/BernoulliBandit-v0",
                      "kwargs": {"means": [0.2, 0.5, 0.7]}}]}


def tasks_of(g: dict) -> list[dict]:
    return [t._asdict() for t in expand_grid(g)]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def timed_sweep(g: dict, executor, **kw) -> float:
    root = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        t0 = time.perf_counter()
        out = sweep(g, store=root / "s", executor=executor, progress=False, **kw)
        wall = time.perf_counter() - t0
        if out.done != out.total:
            raise RuntimeError(f"sweep finished {out.done} of {out.total} tasks")
        return wall
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bare_pool(tasks: list[dict], n_workers: int) -> None:
    ctx = mp.get_context("fork")
    with cf.ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx) as pool:
        futures = [pool.submit(_run_task, t) for t in tasks]
        results = [f.result() for f in futures]
    assert all(r["ok"] for r in results)


def row(name: str, wall: float, compute: float, workers: int, n: int) -> dict:
    return {"case": name, "wall_s": wall, "per_task_ms": 1e3 * wall / n,
            "overhead_ms": 1e3 * (wall - compute / workers) / n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-tasks", type=int, default=1000)
    ap.add_argument("--horizon", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu-tasks", type=int, default=40)
    ap.add_argument("--cpu-horizon", type=int, default=4_000_000)
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args(argv)
    n, h = args.n_tasks, args.horizon
    g = grid(n, h)
    tasks = tasks_of(g)
    run_tasks(tasks[:4])  # load the kernels in the driver; forked workers inherit them
    compute = best(lambda: run_tasks(tasks), args.repeat)
    rows = [row("in-process compute (no executor, no store)", compute, compute, 1, n)]

    rows.append(row("bare ProcessPoolExecutor(2) submit/result", best(
        lambda: bare_pool(tasks, 2), args.repeat), compute, 2, n))
    rows.append(row("banditlab sweep, local processes (2)", best(
        lambda: timed_sweep(g, 2), args.repeat), compute, 2, n))
    rows.append(row("banditlab sweep, local, batch_size=1", best(
        lambda: timed_sweep(g, 2, batch_size=1), 1), compute, 2, n))

    if not args.no_dask:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            client.gather(client.map(run_tasks, [tasks[:4]] * 4, pure=False))  # warm workers

            def bare_dask() -> None:
                futs = client.map(_run_task, tasks, pure=False)
                results = client.gather(futs)
                del futs
                assert all(r["ok"] for r in results)

            rows.append(row("bare Dask client.map/gather (2 workers)", best(
                bare_dask, args.repeat), compute, 2, n))
            rows.append(row("banditlab sweep, Dask (2 workers)", best(
                lambda: timed_sweep(g, client), args.repeat), compute, 2, n))

    print(f"## Sweep overhead: {n} tasks of UCB, horizon {h} (python {sys.version.split()[0]},"
          f" {os.cpu_count()} cores)\n")
    print("| case | wall (s) | wall per task (ms) | overhead per task (ms) |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['wall_s']:.3f} | {r['per_task_ms']:.3f} | "
              f"{r['overhead_ms']:.3f} |")

    gc = grid(args.cpu_tasks, args.cpu_horizon, seed=1)
    t1 = best(lambda: timed_sweep(gc, 1), args.repeat)
    t2 = best(lambda: timed_sweep(gc, 2), args.repeat)
    print(f"\n## Parallel efficiency: {args.cpu_tasks} tasks of UCB, horizon "
          f"{args.cpu_horizon}, local processes\n")
    print("| workers | wall (s) | efficiency T1/(k Tk) |")
    print("|---:|---:|---:|")
    print(f"| 1 | {t1:.3f} | 1.00 |")
    print(f"| 2 | {t2:.3f} | {t1 / (2 * t2):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
