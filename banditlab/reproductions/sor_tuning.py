"""Reproduction of Khodak et al. (ICLR 2024), "Learning to relax": experiments 6.1, 6.2 and heat.

* **6.1** (``learning.m``): Tsallis-INF over ``linspace(1, 1.95, 20)`` vs fixed
  ``omega in {1.0, 1.2, 1.4, 1.6, 1.8}`` on the shifted-Laplacian sequence (both Beta
  distributions). Curve: instances remaining vs cumulative iterations.
* **6.2** (``contextual.m``): Tsallis-INF, Tsallis-INF-CB (5 bins), ChebCB (m = 6), the
  instance-optimal policy (Young's ``omega*`` per instance), the best fixed omega in hindsight
  and the fixed ``omega ≈ omega*`` (1.8 high-variance, 1.6 low-variance).
* **Table 6.4**: mean iterations per omega (step-0.05 grid) and the instance-optimal means,
  next to the spec's reference numbers.
* **Heat** (``h2d.m``): SSOR-PCG on the Crank–Nicolson heat sequence, warm-started, with the
  learners, fixed omegas ``{1, 1.3, 1.5, 1.75, 1.95}``, the per-step best omega on the grid
  and unpreconditioned CG.

Costs depend only on the instance and omega, so each instance is solved once per grid point
and all methods read the same cached table (common random numbers across methods). For the heat
sequence the table is computed along the trajectory of exact (sparse direct) solutions, each
step warm-started at the previous exact state; a learner's own 1e-8-accurate iterate would
change a warm start by about 1e-8 relative, which we neglect (**[APPROXIMATION]**).

Quick mode (default): T = 600 instances, 3 trials per distribution, heat with nx = 25 over
1000 steps (one period of kappa). ``full=True``: T = 5000, 40 trials, heat nx = 50, 5000 steps.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import cg, splu

from banditlab._seeding import as_seed_sequence
from banditlab.envs.sor import heat_problem, heat_step_system, solve_cost
from banditlab.parallel import check_n_jobs, parallel_map
from banditlab.reproduce import Reproduction, stage
from banditlab.solvers.sor import as_csr_system
from banditlab.sor_tuning import make_learner, play_on_table, shifted_cost_table

__all__ = ["REPRODUCTION", "SPEC_TABLE_64", "heat_cost_table", "run"]

GRID = np.linspace(1.0, 1.95, 20)
FIXED = (1.0, 1.2, 1.4, 1.6, 1.8)
NEAR_OPT = {"high": 1.8, "low": 1.6}
TABLE_OMEGAS = (1.0, 1.2, 1.4, 1.5, 1.6, 1.65, 1.7, 1.75, 1.8, 1.85, 1.9, 1.95)
#: spec §6.4 (a Python port, 60 instances per distribution): mean iterations per omega
SPEC_TABLE_64 = {
    "low": (275, 182, 112, 83, 62.5, 58.6, 61, 69, 86, 116, 178, 362),
    "high": (668, 443, 281, 217, 164, 140, 121, 107, 104.7, 117, 178, 363),
}
SPEC_INSTANCE_OPT = {"low": (43.9, 42.2), "high": (61.9, 59.1)}   # (grid best, Young)
HEAT_FIXED = (1.0, 1.3, 1.5, 1.75, 1.95)


def _grid_index(omega: float) -> int:
    return int(np.argmin(np.abs(GRID - omega)))


def _one_trial(dist: str, trial: int, horizon: int, seed_seq: np.random.SeedSequence
               ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-round costs of every method for one trial, plus the 6.4 table rows."""
    table_seed, policy_seed = seed_seq.spawn(2)
    tab = shifted_cost_table(dist, horizon, omegas=GRID, seed=table_seed)
    rows = np.arange(horizon)
    pol_seeds = [int(s.generate_state(1)[0]) for s in policy_seed.spawn(3)]
    per_round: dict[str, np.ndarray] = {}
    for k, name in enumerate(("tsallis_inf", "tsallis_inf_cb", "chebcb")):
        arms = play_on_table(make_learner(name, GRID.shape[0]), tab.contexts, tab.costs,
                             seed=pol_seeds[k])
        per_round[name] = tab.costs[rows, arms]
    for w in FIXED:
        per_round[f"omega={w:.1f}"] = tab.costs[:, _grid_index(w)]
    per_round["best fixed (hindsight)"] = tab.costs[:, int(np.argmin(tab.costs.sum(axis=0)))]
    per_round["instance-optimal (Young)"] = tab.young_costs
    per_round["instance-optimal (grid)"] = tab.costs.min(axis=1)
    return per_round, tab.costs, tab.contexts


def _trial_job(args: tuple) -> tuple:
    dist, trial, horizon, seed_seq = args
    return dist, trial, *_one_trial(dist, trial, horizon, seed_seq)


def heat_cost_table(nx: int, n_steps: int, *, dt: float = 0.001, omegas: np.ndarray = GRID,
                    tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SSOR-PCG iterations per (step, omega) and CG iterations per step along the exact path.

    Returns ``(kappas[n_steps], costs[n_steps, d], cg_costs[n_steps])``.
    """
    prob = heat_problem(nx)
    u = prob["u0"].copy()
    kappas = np.empty(n_steps)
    costs = np.empty((n_steps, omegas.shape[0]), dtype=np.int64)
    cg_costs = np.empty(n_steps, dtype=np.int64)
    for s in range(n_steps):
        A, b, kap = heat_step_system(prob, u, s * dt, dt)
        system = as_csr_system(A, owner="heat_cost_table")
        kappas[s] = kap
        for j, w in enumerate(omegas):
            costs[s, j] = solve_cost(system, b, float(w), solver="ssor_pcg", x0=u, tol=tol)[0]
        count = [0]

        def _count(_xk: np.ndarray, count: list = count) -> None:
            count[0] += 1

        cg(A, b, x0=u, rtol=tol, atol=0.0, maxiter=10_000, callback=_count)
        cg_costs[s] = count[0]
        u = splu(sp.csc_matrix(A)).solve(b)
    return kappas, costs, cg_costs


def _plot_curves(curves: dict[str, np.ndarray], horizon: int, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    remaining = horizon - np.arange(1, horizon + 1)
    for name, cum in curves.items():
        style = "--" if name.startswith("omega=") or "fixed" in name else "-"
        ax.plot(cum, remaining, style, label=name)
    ax.set_xlabel("cumulative iterations")
    ax.set_ylabel("instances remaining")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _save(df: pd.DataFrame, out: Path, stem: str) -> list[Path]:
    csv, pq = out / f"{stem}.csv", out / f"{stem}.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(pq, index=False)
    return [csv, pq]


def run(out: Path, *, full: bool = False, seed: int = 0, n_jobs: int | None = None
        ) -> list[Path]:
    """Run the reproduction; write tables (CSV + Parquet) and plots (PNG) under ``out``.

    ``n_jobs`` spreads the trials of 6.1/6.2 over processes as in
    :func:`banditlab.parallel.parallel_map` (``None``: automatic, ``-1``: all available
    cores, ``k``: at most ``k``); results do not depend on it.
    """
    n_jobs = check_n_jobs(n_jobs, "sor_tuning")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    horizon, n_trials = (5000, 40) if full else (600, 3)
    heat_nx, heat_steps = (50, 5000) if full else (25, 1000)
    root = as_seed_sequence(seed, owner="sor_tuning")
    jobs = []
    for dist, child in zip(("high", "low"), root.spawn(2)):
        for trial, ss in enumerate(child.spawn(n_trials)):
            jobs.append((dist, trial, horizon, ss))
    with stage(f"6.1/6.2: {n_trials} trials x 2 distributions, T = {horizon}"):
        results = parallel_map(_trial_job, jobs, n_jobs=n_jobs, desc="sor-tuning trials",
                               unit="trial", owner="sor_tuning")
    written: list[Path] = []
    totals, per_omega = [], []
    for dist in ("high", "low"):
        mine = [r for r in results if r[0] == dist]
        curves: dict[str, np.ndarray] = {}
        for name in mine[0][2]:
            stacked = np.stack([r[2][name] for r in mine]).astype(np.float64)
            curves[name] = np.cumsum(stacked, axis=1).mean(axis=0)
            for r in mine:
                totals.append({"distribution": dist, "trial": r[1], "method": name,
                               "total_iterations": int(r[2][name].sum()), "horizon": horizon})
        costs = np.concatenate([r[3] for r in mine])
        for w, ref in zip(TABLE_OMEGAS, SPEC_TABLE_64[dist]):
            col = costs[:, _grid_index(w)]
            per_omega.append({"distribution": dist, "omega": w, "mean_iterations": col.mean(),
                              "std_error": col.std(ddof=1) / math.sqrt(col.size),
                              "spec_mean_iterations": ref, "n_instances": col.size})
        young = np.concatenate([r[2]["instance-optimal (Young)"] for r in mine])
        best = np.concatenate([r[2]["instance-optimal (grid)"] for r in mine])
        per_omega.append({"distribution": dist, "omega": float("nan"),
                          "mean_iterations": young.mean(),
                          "std_error": young.std(ddof=1) / math.sqrt(young.size),
                          "spec_mean_iterations": SPEC_INSTANCE_OPT[dist][1],
                          "n_instances": young.size})
        per_omega.append({"distribution": dist, "omega": -1.0, "mean_iterations": best.mean(),
                          "std_error": best.std(ddof=1) / math.sqrt(best.size),
                          "spec_mean_iterations": SPEC_INSTANCE_OPT[dist][0],
                          "n_instances": best.size})
        learn = {k: v for k, v in curves.items()
                 if k == "tsallis_inf" or k.startswith("omega=")}
        p = out / f"fig_6_1_learning_{dist}.png"
        _plot_curves(learn, horizon, f"6.1 Tsallis-INF vs fixed omega ({dist}-variance)", p)
        written.append(p)
        near = f"omega={NEAR_OPT[dist]:.1f}"
        ctx = {k: curves[k] for k in ("tsallis_inf", "tsallis_inf_cb", "chebcb",
                                      "instance-optimal (Young)", near)}
        p = out / f"fig_6_2_contextual_{dist}.png"
        _plot_curves(ctx, horizon, f"6.2 contextual learners ({dist}-variance)", p)
        written.append(p)
    written += _save(pd.DataFrame(totals), out, "sor_totals")
    omega_df = pd.DataFrame(per_omega)
    omega_df["row"] = np.where(omega_df["omega"].isna(), "instance-optimal (Young)",
                               np.where(omega_df["omega"] < 0, "instance-optimal (grid)",
                                        "fixed omega"))
    written += _save(omega_df, out, "table_6_4_iterations_per_omega")

    # -- heat equation (SSOR-PCG) -------------------------------------------------------------
    t0 = time.perf_counter()
    with stage(f"heat: cost table, nx = {heat_nx}, {heat_steps} steps"):
        kappas, hcosts, cg_costs = heat_cost_table(heat_nx, heat_steps)
    lo, hi = float(kappas.min()), float(kappas.max())
    rows = np.arange(heat_steps)
    heat_rows = []
    seeds = [int(s.generate_state(1)[0]) for s in root.spawn(3)]
    for k, name in enumerate(("tsallis_inf", "tsallis_inf_cb", "chebcb")):
        pol = make_learner(name, GRID.shape[0], context_range=(lo, hi), n_bins=6)
        arms = play_on_table(pol, kappas, hcosts, seed=seeds[k])
        heat_rows.append({"method": name, "total_iterations": int(hcosts[rows, arms].sum())})
    for w in HEAT_FIXED:
        heat_rows.append({"method": f"omega={w}",
                          "total_iterations": int(hcosts[:, _grid_index(w)].sum())})
    heat_rows.append({"method": "best fixed (hindsight)",
                      "total_iterations": int(hcosts.sum(axis=0).min())})
    heat_rows.append({"method": "instance-optimal (grid)",
                      "total_iterations": int(hcosts.min(axis=1).sum())})
    heat_rows.append({"method": "CG (no preconditioner)", "total_iterations": int(cg_costs.sum())})
    heat_df = pd.DataFrame(heat_rows)
    heat_df["nx"], heat_df["n"], heat_df["steps"] = heat_nx, (heat_nx - 1) ** 2, heat_steps
    heat_df["table_seconds"] = time.perf_counter() - t0
    written += _save(heat_df, out, "heat_totals")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    im = ax.imshow(hcosts.T, aspect="auto", origin="lower",
                   extent=(0, heat_steps, GRID[0], GRID[-1]), cmap="viridis")
    ax.plot(rows, GRID[np.argmin(hcosts, axis=1)], "w.", ms=1, label="instance-optimal")
    ax.set_xlabel("time step")
    ax.set_ylabel("omega")
    ax.set_title(f"heat equation nx={heat_nx}: SSOR-PCG iterations")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    p = out / "fig_heat_iterations.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)
    return written


REPRODUCTION = Reproduction(
    name="sor-tuning",
    description="Khodak et al. ICLR 2024 (Learning to relax): bandit tuning of SOR omega "
                "(exp. 6.1, 6.2, table 6.4) and SSOR-PCG on the heat equation",
    run=run,
    quick_budget_s=180.0,
)
