"""Benchmark: banditlab BCD on the Lasso vs scikit-learn and skglm, and greedy-selection cost.

1. Lasso, dense Gaussian design n = 1000, p = 5000, 5 % true non-zeros, noise N(0, 1),
   ``lam = lam_max / 20`` with the objective ``0.5 ||y - X w||^2 + lam ||w||_1``. Time to a
   *relative* duality gap ``gap / P(0) <= 1e-6`` for each solver, measured in one process after
   a warm-up solve (compilation excluded). scikit-learn's ``tol`` is set so that its own gap
   test is the same criterion; skglm stops on a KKT tolerance, so we tighten its ``tol`` until
   the reached gap meets the target and report the fastest run that does.
2. Time per iteration of each selection rule (least squares, tau = 5, gradient updates) as
   ``p`` grows: greedy rules pay for a full gradient (O(nnz)) every iteration.

Run: ``python benchmarks/bench_bcd.py [--quick]``. Results are printed as Markdown tables.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from banditlab.solvers import L1LeastSquares, LeastSquares, bcd


def lasso_data(n: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    nz = rng.choice(p, int(0.05 * p), replace=False)
    w[nz] = rng.standard_normal(nz.size)
    y = X @ w + rng.standard_normal(n)
    lam = np.max(np.abs(X.T @ y)) / 20
    return X, y, lam


def rel_gap(prob: L1LeastSquares, w: np.ndarray, p0: float) -> float:
    return prob.duality_gap(w) / p0


def bench_lasso(n: int, p: int, target: float = 1e-6) -> list[tuple[str, float, float]]:
    X, y, lam = lasso_data(n, p)
    prob = L1LeastSquares(X, y, lam=lam)
    p0 = prob.objective(np.zeros(p))
    rows = []

    def timed(fn):
        fn()                        # warm-up (JIT compile / caches)
        best = np.inf
        for _ in range(2):
            t0 = time.perf_counter()
            w = fn()
            best = min(best, time.perf_counter() - t0)
        return best, w

    configs = {
        "banditlab cyclic CD (order, tau=1, prox_gradient)":
            dict(partition="order", selection="cyclic", update="prox_gradient", block_size=1,
                 check_every=p),
    }
    for tau in (512, 1024):
        configs[f"banditlab GS-q VB + prox_newton, tau={tau}"] = dict(
            partition="variable", selection="gsq", update="prox_newton", block_size=tau,
            check_every=1)
    for name, kw in configs.items():
        t, w = timed(lambda kw=kw: bcd(prob, max_iter=5_000_000, tol=target * p0, record=False,
                                       **kw).x)
        rows.append((name, t, rel_gap(prob, w, p0)))

    from sklearn.linear_model import Lasso

    tol_sk = target * 0.5           # sklearn: gap/n < tol ||y||^2/n  <=>  gap < 2 tol P(0)
    Xf = np.asfortranarray(X)
    t, w = timed(lambda: Lasso(alpha=lam / n, fit_intercept=False, tol=tol_sk,
                               max_iter=100_000).fit(Xf, y).coef_)
    rows.append(("scikit-learn Lasso", t, rel_gap(prob, w, p0)))
    try:
        from skglm import Lasso as SkglmLasso
    except ImportError:            # skglm is in the 'bench' extra
        SkglmLasso = None
    if SkglmLasso is not None:
        for tol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9):
            t, w = timed(lambda tol=tol: SkglmLasso(alpha=lam / n, fit_intercept=False, tol=tol,
                                                    max_iter=1000).fit(X, y).coef_)
            g = rel_gap(prob, w, p0)
            if g <= target:
                rows.append((f"skglm Lasso (tol={tol:g})", t, g))
                break
    return rows


def bench_rules(ps: list[int], n: int = 1000, iters: int = 200) -> list[tuple[int, str, float]]:
    out = []
    for p in ps:
        X, y, _ = lasso_data(n, p, seed=1)
        prob = LeastSquares(X, y)
        for sel, part in [("cyclic", "sorted"), ("random", "sorted"), ("gs", "sorted"),
                          ("gsl", "sorted"), ("gsq", "sorted"), ("gs", "variable"),
                          ("gsd_rowsum", "variable"), ("iht", "variable")]:
            bcd(prob, partition=part, selection=sel, max_iter=2, record=False)
            res = bcd(prob, partition=part, selection=sel, max_iter=iters, record=False,
                      update="matrix" if sel in ("gsq", "iht") else "gradient")
            out.append((p, f"{sel}-{'VB' if part == 'variable' else 'FB'}",
                        1e3 * res.wall_time_s / iters))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    a = ap.parse_args()
    n, p = (300, 1500) if a.quick else (1000, 5000)
    print(f"## Lasso n={n}, p={p}, lam = lam_max/20, target relative gap 1e-6\n")
    print("| solver | time (s) | relative gap |\n|---|---|---|")
    for name, t, g in bench_lasso(n, p):
        print(f"| {name} | {t:.3f} | {g:.1e} |")
    ps = [500, 1000, 2000] if a.quick else [1000, 2000, 5000, 10000]
    print("\n## Time per iteration (ms), least squares n=1000, tau=5\n")
    rows = bench_rules(ps, n=300 if a.quick else 1000)
    rules = list(dict.fromkeys(r for _, r, _ in rows))
    print("| rule | " + " | ".join(f"p={q}" for q in ps) + " |")
    print("|---|" + "---|" * len(ps))
    for r in rules:
        vals = {q: t for q, rr, t in rows if rr == r}
        print(f"| {r} | " + " | ".join(f"{vals[q]:.3f}" for q in ps) + " |")


if __name__ == "__main__":
    main()
