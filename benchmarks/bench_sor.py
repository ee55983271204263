"""Benchmark: banditlab's SOR sweep vs pyamg's compiled ``sor``, and solve times on 2-D Poisson.

Run ``python benchmarks/bench_sor.py`` (needs ``pip install pyamg``, in the ``bench`` extra).
Prints two markdown tables (paste them into ``benchmarks/README_sor.md``):

1. time per sweep and per nonzero of one forward SOR sweep on the 5-point Poisson matrix
   (128 x 128 and 256 x 256 interior grids), banditlab's Numba kernel vs pyamg;
2. time to solve the 256 x 256 Poisson system to relative residual 1e-8 with SOR at Young's
   omega*, SSOR-PCG at a tuned omega, scipy's unpreconditioned CG and pyamg's smoothed
   aggregation multigrid (as a preconditioner of CG, its usual use).

Timings are the median of ``repeats`` runs after a warm-up (Numba compile excluded).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pyamg
from pyamg.relaxation.relaxation import sor as pyamg_sor
from scipy.sparse.linalg import cg

from banditlab.solvers import poisson_2d, sor, ssor_pcg, young_omega
from banditlab.solvers.sor import as_csr_system, sor_sweep


def _median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def sweep_table(repeats: int) -> list[str]:
    lines = ["| grid | nnz | banditlab ms/sweep | ns/nnz | pyamg ms/sweep | ns/nnz | ratio |",
             "|---|---|---|---|---|---|---|"]
    for m in (128, 256):
        A = poisson_2d(m)
        s = as_csr_system(A, owner="bench")
        b = np.ones(s.n)
        x1 = np.zeros(s.n)
        x2 = np.zeros(s.n)
        A32 = A.copy()
        A32.indptr = A32.indptr.astype(np.int32)
        A32.indices = A32.indices.astype(np.int32)
        sweeps = 10

        def ours(x1=x1, s=s, b=b, sweeps=sweeps):
            for _ in range(sweeps):
                sor_sweep(s.indptr, s.indices, s.data, s.inv_diag, b, x1, 1.5, 0, s.n, 1)

        def theirs(x2=x2, A32=A32, b=b, sweeps=sweeps):
            pyamg_sor(A32, x2, b, omega=1.5, iterations=sweeps, sweep="forward")

        t_ours = _median_time(ours, repeats) / sweeps
        t_theirs = _median_time(theirs, repeats) / sweeps
        nnz = A.nnz
        lines.append(f"| {m}x{m} | {nnz} | {t_ours * 1e3:.3f} | {t_ours / nnz * 1e9:.2f} | "
                     f"{t_theirs * 1e3:.3f} | {t_theirs / nnz * 1e9:.2f} | "
                     f"{t_ours / t_theirs:.2f} |")
    return lines


def solve_table(repeats: int) -> list[str]:
    m = 256
    A = poisson_2d(m)
    b = np.random.default_rng(0).standard_normal(m * m)
    w_sor = young_omega(math.cos(math.pi / (m + 1)))     # Jacobi radius of the Poisson matrix
    # SSOR-PCG: pick omega from a coarse grid by iteration count (the tuned value)
    grid = np.linspace(1.0, 1.95, 20)
    its = [ssor_pcg(A, b, omega=float(w)).n_iter for w in grid]
    w_pcg = float(grid[int(np.argmin(its))])
    ml = pyamg.smoothed_aggregation_solver(A.astype(np.float64))
    rows = []

    def run_sor():
        return sor(A, b, omega=w_sor, tol=1e-8, maxiter=100_000).n_iter

    def run_pcg():
        return ssor_pcg(A, b, omega=w_pcg, tol=1e-8).n_iter

    def run_cg():
        n = [0]
        cg(A, b, rtol=1e-8, atol=0.0, maxiter=100_000,
           callback=lambda _x, n=n: n.__setitem__(0, n[0] + 1))
        return n[0]

    def run_amg():
        res: list[float] = []
        ml.solve(b, tol=1e-8, accel="cg", residuals=res)
        return len(res) - 1

    for name, fn, w in (("SOR (Young omega*)", run_sor, w_sor),
                        ("SSOR-PCG (tuned omega)", run_pcg, w_pcg),
                        ("scipy CG (no preconditioner)", run_cg, None),
                        ("pyamg smoothed aggregation + CG", run_amg, None)):
        iters = fn()
        t = _median_time(fn, repeats)
        rows.append(f"| {name} | {'' if w is None else f'{w:.4f}'} | {iters} | {t * 1e3:.1f} |")
    return ["| method (256x256 Poisson, tol 1e-8) | omega | iterations | time ms |",
            "|---|---|---|---|", *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(sweep_table(args.repeats)))
    print()
    print("\n".join(solve_table(max(1, args.repeats // 2))))


if __name__ == "__main__":
    main()
