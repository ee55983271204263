"""Cascading RL (Du, Srikant & Chen, ICLR 2024): regret and running time of CascadingVI.

Reproduces the paper's comparison of **CascadingVI**, **CascadingVI-Oracle** (exhaustive search
over lists), **CascadingVI-Bonus** (a Hoeffding bonus on the attraction probabilities only) and
**AdaptVI** (lists as atomic actions, full backup over all lists), with one extra ablation not
in the paper, **CascadingVI-BothHoeffding** (Hoeffding attraction and transition bonuses):

``movielens``
    The main-text experiment: ``S = 20``, ``H = 3``, ``m = 3``, ``N in {10, 15, 20, 25}``,
    regret and running time per method. The paper does not describe how it turned MovieLens
    into an MDP; the instance is :func:`banditlab.envs.cascading.movielens_cascading_mdp` (the
    spec's proposal on MovieLens 100K: a start state plus 19 genre states gives ``S = 20``). The
    files (``u.data[.gz]`` and ``u.item``) are never part of the package (MovieLens may not be
    redistributed): the folder is ``data`` (``--data DIR`` on the command line), else
    ``movielens-100k/`` or ``ml-100k/`` in ``$BANDITLAB_DATA`` or in the per-user data folder
    (:mod:`banditlab.data`). Without the files, a quick run logs one line saying where it
    looked and runs the panel on synthetic instances of the same sizes (``instance =
    synthetic`` in the table); a ``--full`` run, or one given ``data``, stops with
    :class:`~banditlab.errors.DataNotFoundError` instead.
``synthetic``
    The spec's grid ``S in {5, 10}``, ``N in {4, 6, 8}``, ``m in {2, 3}``, ``H in {3, 5}`` with
    ``q, r ~ U(0, 1)``, ``p ~ Dirichlet(1)``.
``bpi``
    Best policy identification at the sizes of issue 16 item 5: synthetic instances with
    ``S = 9``, ``H = 5``, ``N in {4, ..., 8}``, ``epsilon = 0.5``. The spec
    (``cascading_rl.md``) gives neither these sizes nor a BPI ``m`` or ``delta``, so its
    defaults are used: ``m = 3`` (the main experiment's) and ``delta = 0.005`` (its §5.1).
    CascadingBPI against **AdaptBPI**, the spec's assumed baseline (AdaptVI's backup over
    atomic lists with CascadingBPI's stopping rule): episodes until stopping, the realised
    suboptimality ``V* - V^π̂`` (exact, by value iteration and policy evaluation on the true
    model), the certificate ``V̄ - V̲`` and the wall time, one instance per ``(N, run)``.
    AdaptBPI does not stop within any budget affordable here (its certificate ``V̄ - V̲``
    is still 1.2 to 1.5 at N = 4 and 3.4 to 5 at N = 8 after 1e6 episodes; CascadingBPI
    stops after 2e5 to 3e5), so its runs are capped and reported as ``status =
    capped`` with the budget as ``episodes`` and the suboptimality of the policy it would
    return then. This replaces the earlier CascadingBPI-only table on a 2-state toy.
``bonus_scale``
    Not in the paper: CascadingVI, CascadingVI-Bonus and CascadingVI-BothHoeffding on the
    ``N = 10`` instance with every bonus multiplied by ``bonus_scale in {1, 0.3, 0.1}``. The
    spec's bonus constants are a reconstruction; this table shows how much the comparison
    between the bonus shapes depends on them.
``long_run``
    The same three agents on the ``N = 10`` instance for 1e6 episodes (``--full``): 1e5
    episodes is still burn-in with the spec's constants, so the table and figure give the
    per-episode regret (means over log-spaced blocks of episodes) next to the cumulative
    regret, where the sublinear phase shows as falling per-episode regret.

Expected (the paper's qualitative findings; it prints no numbers): CascadingVI has the lowest
regret and a fast running time; the Oracle has comparable regret (identical up to ties) but a
running time that explodes with N; CascadingVI-Bonus has higher regret; AdaptVI has by far the
largest regret and a high running time.

Measured (MovieLens 100K with shuffled item ids, 5 seeds, 1e5 episodes; the numbers are in
``benchmarks/README_cascading.md``): AdaptVI has by far the largest regret (2.8 to 3.4 times
CascadingVI's) and CascadingVI-Bonus a higher regret than CascadingVI at every N (by 1 to
4 %), as the paper reports. The Oracle's regret is 8 to 36 % above CascadingVI's at 3 to 28
times its time per episode; with popularity ranks as item ids (the runs before issue 16) it
was within 3 %, because its tie rule (the lexicographically first list) then picked the most
popular movies. CascadingVI-BothHoeffding has *lower* regret than CascadingVI (by 18 to
33 %): with the spec's constants the variance-aware transition bonus's lower-order term
``5 c_h L / n`` (``L`` about 25) is larger than the Hoeffding one until a pair has been
clicked about ``6 L`` times, so swapping the transition bonus explores less during burn-in.
Regret is still close to linear after 1e5 episodes (log-log slope 0.7 to 1.1 over the second
half), hence the long run: at N = 10 (2 seeds), CascadingVI's per-episode regret falls from
about 0.27 before 1e5 episodes to 0.018 over the last 5e5, CascadingVI-Bonus ends 13 % above
it, and CascadingVI-BothHoeffding falls behind between 2e5 and 3e5 episodes. The
``bonus_scale`` table shows the constants at work: smaller bonuses make the learners
sublinear within the horizon.

Quick mode (default; under 3 minutes on 2 cores including Numba compilation): 2,000
episodes and 2 seeds for ``movielens``, 1,000 episodes and 1 seed per ``synthetic`` cell,
``N in {4, 5}`` and 1 run for ``bpi`` (AdaptBPI capped at 1e5 episodes), 5,000 episodes
and 1 seed for ``long_run``. ``--full``: 100,000 episodes (the paper's scale) and 5 seeds
for ``movielens`` (the exhaustive Oracle and AdaptVI's full backup dominate: about 2 ms and
1 ms per episode at N = 25), 20,000 episodes and 3 seeds for ``synthetic``,
``N in {4, ..., 8}`` and 5 runs for ``bpi`` (AdaptBPI capped at 1e6 episodes; CascadingBPI
at 1e7, which it never reaches), 1,000,000 episodes and 2 seeds for ``long_run``.
Constants: ``delta = 0.005`` (regret and BPI), the spec's bonus constants
(``bonus_scale = 1``).

References
----------
Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024 (arXiv 2401.08961).
F. M. Harper, J. A. Konstan. The MovieLens Datasets: History and Context. ACM TiiS 5(4), 2015.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from banditlab._validation import Boolean, Integer, Options, Real
from banditlab.cascading import (
    AdaptBPI,
    AdaptVI,
    CascadingBPI,
    CascadingVI,
    CascadingVIBonus,
    CascadingVIBothHoeffding,
    CascadingVIOracle,
    run_episodes,
)
from banditlab.data import find_dataset
from banditlab.envs.cascading import CascadingMDP, movielens_cascading_mdp, random_cascading_mdp
from banditlab.errors import DataNotFoundError
from banditlab.parallel import check_n_jobs, parallel_map
from banditlab.reproduce import LOGGER, Reproduction, stage
from banditlab.results import Results

__all__ = ["REPRODUCTION", "movielens_dir", "run"]

AGENTS = (CascadingVI, CascadingVIOracle, CascadingVIBonus, CascadingVIBothHoeffding, AdaptVI)
LABELS = {"CascadingVI": "CascadingVI", "CascadingVIOracle": "CascadingVI-Oracle",
          "CascadingVIBonus": "CascadingVI-Bonus",
          "CascadingVIBothHoeffding": "CascadingVI-BothHoeffding", "AdaptVI": "AdaptVI"}
MOVIELENS_N = (10, 15, 20, 25)
#: the three bonus variants (the bonus-scale table and the long run)
BONUS_AGENTS = (CascadingVI, CascadingVIBonus, CascadingVIBothHoeffding)


def movielens_dir(data: str | os.PathLike[str] | None = None, *, required: bool = False
                  ) -> Path | None:
    """The MovieLens 100K folder (:func:`banditlab.data.find_dataset`), or None.

    ``data`` is the MovieLens folder or a data folder holding it; by default
    ``$BANDITLAB_DATA`` and the per-user data folder are searched. When the files are missing,
    :class:`~banditlab.errors.DataNotFoundError` is raised if ``data`` is given or
    ``required``; otherwise its one-line message is logged and None returned (the caller falls
    back to synthetic instances).
    """
    try:
        return find_dataset("movielens-100k", data, owner="cascading_rl", param="data")
    except DataNotFoundError as exc:
        if data is not None or required:
            raise
        LOGGER.warning("%s Running on synthetic instances instead.", exc)
        return None


#: the MovieLens instance options of :func:`run` (item order and attraction scale)
ITEM_ORDERS = ("shuffled", "popularity")


def _movielens_env(folder: Path, n: int, *, seed: int, item_order: str,
                   attraction_scale: float) -> CascadingMDP:
    """The ``N = n`` MovieLens instance; a shuffled item order uses seed ``seed + n``, so the
    panel, the bonus-scale table and the long run share the ``N = 10`` instance."""
    return movielens_cascading_mdp(folder, n_items=n, list_size=3, horizon=3,
                                   item_order=item_order,
                                   seed=seed + n if item_order == "shuffled" else None,
                                   attraction_scale=attraction_scale)


def _summary_row(res: Results, **keys: Any) -> dict[str, Any]:
    final = res.final_regret()
    return {**keys, "agent": LABELS[res.policy], "episodes": res.horizon,
            "runs": final.shape[0], "regret_mean": float(final.mean()),
            "regret_std": float(final.std(ddof=1)) if final.shape[0] > 1 else 0.0,
            "time_per_episode_ms": float(1e3 * res.run_time_s.mean() / res.horizon),
            "optimal_value": res.optimal_value}


def _write(df: pd.DataFrame, out: Path, stem: str) -> list[Path]:
    csv, parquet = out / f"{stem}.csv", out / f"{stem}.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, index=False)
    return [csv, parquet]


def _movielens_panel(out: Path, *, folder: Path | None, episodes: int, runs: int, seed: int,
                     n_jobs: int | None, instance_opts: dict[str, Any]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, curves = [], []
    for i, n in enumerate(MOVIELENS_N):
        if folder is not None:
            env: CascadingMDP = _movielens_env(folder, n, seed=seed, **instance_opts)
            instance = "movielens"
        else:
            env = random_cascading_mdp(20, n, 3, 3, seed=seed + i)
            instance = "synthetic"
        for cls in AGENTS:
            agent = cls.for_env(env, n_episodes=episodes)
            with stage(f"{instance} N={n} {LABELS[cls.__name__]}: {runs} runs x {episodes:,} "
                       "episodes"):
                res = run_episodes(agent, env, episodes, n_runs=runs, seed=seed, n_jobs=n_jobs)
            rows.append(_summary_row(res, instance=instance, S=env.n_states, N=n, m=3, H=3))
            frame = res.to_frame(n_points=100).rename(columns={"t": "episode"})
            frame = frame[["run", "episode", "regret"]].assign(agent=LABELS[res.policy], N=n)
            frame = frame[["agent", "run", "episode", "regret", "N"]]
            curves.append(frame)
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def _synthetic_grid(*, episodes: int, runs: int, seed: int, n_jobs: int | None) -> pd.DataFrame:
    rows = []
    cell = 0
    for S in (5, 10):
        for N in (4, 6, 8):
            for m in (2, 3):
                for H in (3, 5):
                    env = random_cascading_mdp(S, N, m, H, seed=seed + 1000 + cell)
                    cell += 1
                    for cls in AGENTS:
                        agent = cls.for_env(env, n_episodes=episodes)
                        res = run_episodes(agent, env, episodes, n_runs=runs, seed=seed,
                                           n_jobs=n_jobs)
                        rows.append(_summary_row(res, instance="synthetic", S=S, N=N, m=m,
                                                 H=H))
    return pd.DataFrame(rows)


#: the BPI experiment's sizes (issue 16 item 5; ``m`` and ``delta`` are the spec's defaults)
BPI_SIZES = {"S": 9, "H": 5, "m": 3, "epsilon": 0.5, "delta": 0.005}
BPI_N = (4, 5, 6, 7, 8)
BPI_AGENTS = (CascadingBPI, AdaptBPI)
#: episode budgets: CascadingBPI's is never reached at these sizes (it stops after about
#: 2e5 to 3e5 episodes); AdaptBPI's is, so its runs are reported as capped
BPI_BUDGETS_FULL = {"CascadingBPI": 10_000_000, "AdaptBPI": 1_000_000}
BPI_BUDGETS_QUICK = {"CascadingBPI": 10_000_000, "AdaptBPI": 100_000}


def _bpi_run(task: tuple[str, int, int, int, int, int]) -> dict[str, Any]:
    """One BPI run (a task of :func:`~banditlab.parallel.parallel_map`): ``(agent name, N,
    run, instance seed, run seed, episode budget)``."""
    name, n, run, instance_seed, run_seed, budget = task
    cls = {c.__name__: c for c in BPI_AGENTS}[name]
    sz = BPI_SIZES
    env = random_cascading_mdp(sz["S"], n, sz["m"], sz["H"], seed=instance_seed)
    agent = cls.for_env(env, epsilon=sz["epsilon"], delta=sz["delta"], max_episodes=budget)
    start = time.perf_counter()
    res = agent.identify(env, seed=run_seed)
    wall = time.perf_counter() - start
    return {**sz, "N": n, "agent": name, "run": run, "instance_seed": instance_seed,
            "max_episodes": budget, "episodes": res.n_episodes, "stopped": res.stopped,
            "status": "stopped" if res.stopped else "capped",
            "suboptimality": res.suboptimality, "gap_certificate": res.upper_value
            - res.lower_value, "optimal_value": res.optimal_value, "wall_time_s": wall}


def _bpi_table(*, n_items: tuple[int, ...], runs: int, seed: int,
               budgets: dict[str, int], n_jobs: int | None) -> pd.DataFrame:
    """CascadingBPI and AdaptBPI on synthetic instances with ``S = 9``, ``H = 5``, ``m = 3``,
    ``epsilon = 0.5``, ``delta = 0.005``, one instance per ``(N, run)``.

    Columns: the sizes, ``agent``, ``run``, ``episodes`` until stopping (the budget
    ``max_episodes`` when ``status == 'capped'``: the stopping rule had not fired),
    ``suboptimality`` ``V*_1(s1) - V^π̂_1(s1)`` of the returned policy (exact: value
    iteration and policy evaluation on the true model), ``gap_certificate``
    ``V̄_1(s1) - V̲_1(s1)`` when it returned, and ``wall_time_s`` of ``identify``.
    """
    tasks = [(cls.__name__, n, r, seed + 2000 + 10 * r + n, seed + r, budgets[cls.__name__])
             for n in n_items for r in range(runs) for cls in BPI_AGENTS]
    rows = parallel_map(_bpi_run, tasks, n_jobs=n_jobs, progress=False, desc="BPI",
                        owner="cascading_rl")
    return pd.DataFrame(rows)


def _bonus_scale_table(*, folder: Path | None, episodes: int, runs: int, seed: int,
                       n_jobs: int | None, instance_opts: dict[str, Any],
                       scales: tuple[float, ...] = (1.0, 0.3, 0.1)) -> pd.DataFrame:
    if folder is not None:
        env: CascadingMDP = _movielens_env(folder, 10, seed=seed, **instance_opts)
        instance = "movielens"
    else:
        env = random_cascading_mdp(20, 10, 3, 3, seed=seed)
        instance = "synthetic"
    rows = []
    for scale in scales:
        for cls in BONUS_AGENTS:
            agent = cls.for_env(env, n_episodes=episodes, bonus_scale=scale)
            with stage(f"bonus scale {scale}: {LABELS[cls.__name__]}, {runs} runs x "
                       f"{episodes:,} episodes"):
                res = run_episodes(agent, env, episodes, n_runs=runs, seed=seed, n_jobs=n_jobs)
            mean = res.regret.mean(axis=0)
            half = episodes // 2
            slope = (np.log(mean[-1] / mean[half - 1]) / np.log(episodes / half)
                     if mean[half - 1] > 0 else np.nan)
            rows.append({**_summary_row(res, instance=instance, S=env.n_states, N=10, m=3, H=3),
                         "bonus_scale": scale, "second_half_loglog_slope": float(slope)})
    return pd.DataFrame(rows)


def _long_run(*, folder: Path | None, episodes: int, runs: int, seed: int,
              n_jobs: int | None, instance_opts: dict[str, Any], n_blocks: int = 200
              ) -> pd.DataFrame:
    """The three bonus variants on the ``N = 10`` instance for ``episodes`` episodes.

    Returns per-episode regret ``V*_1(s1) - V^{pi_k}_1(s1)`` averaged over log-spaced blocks
    of episodes (mean over runs), next to the cumulative regret at each block's end, so the
    burn-in (per-episode regret near its starting level) and the sublinear phase (falling
    per-episode regret) can be told apart.
    """
    if folder is not None:
        env: CascadingMDP = _movielens_env(folder, 10, seed=seed, **instance_opts)
        instance = "movielens"
    else:
        env = random_cascading_mdp(20, 10, 3, 3, seed=seed)
        instance = "synthetic"
    edges = np.unique(np.geomspace(1, episodes, n_blocks + 1).round().astype(np.int64))
    edges[0] = 0
    rows = []
    for cls in BONUS_AGENTS:
        agent = cls.for_env(env, n_episodes=episodes)
        with stage(f"long run N=10 {LABELS[cls.__name__]}: {runs} runs x {episodes:,} "
                   "episodes"):
            res = run_episodes(agent, env, episodes, n_runs=runs, seed=seed, n_jobs=n_jobs)
        gaps = (res.optimal_value - res.values).mean(axis=0)
        cumulative = res.regret.mean(axis=0)
        for lo, hi in itertools.pairwise(edges):
            rows.append({"instance": instance, "N": 10, "agent": LABELS[res.policy],
                         "runs": runs, "first_episode": int(lo) + 1, "last_episode": int(hi),
                         "per_episode_regret": float(gaps[lo:hi].mean()),
                         "cumulative_regret": float(cumulative[hi - 1]),
                         "time_per_episode_ms": float(1e3 * res.run_time_s.mean() / episodes)})
    return pd.DataFrame(rows)


def _long_run_plot(out: Path, long: pd.DataFrame) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, sub in long.groupby("agent", sort=False):
        axes[0].plot(sub["last_episode"], sub["cumulative_regret"], label=label)
        middle = np.sqrt(sub["first_episode"] * sub["last_episode"])
        axes[1].plot(middle, sub["per_episode_regret"], label=label)
    episodes = int(long["last_episode"].max())
    title = f"{long['instance'].iloc[0]}: N = 10, {episodes:,} episodes"
    for ax, ylabel in zip(axes, ("cumulative regret", "per-episode regret (block mean)"),
                          strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("episode")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    p = out / "cascading_long_run.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    return p


def _plots(out: Path, ml: pd.DataFrame, curves: pd.DataFrame, grid: pd.DataFrame,
           bpi: pd.DataFrame) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, axes = plt.subplots(2, len(MOVIELENS_N), figsize=(4 * len(MOVIELENS_N), 7))
    instance = ml["instance"].iloc[0]
    for j, n in enumerate(MOVIELENS_N):
        ax = axes[0, j]
        for label in LABELS.values():
            c = curves[(curves["N"] == n) & (curves["agent"] == label)]
            mean = c.groupby("episode")["regret"].mean()
            ax.plot(mean.index, mean.values, label=label)
        ax.set_title(f"{instance}: N = {n} (S = 20, H = 3, m = 3)")
        ax.set_xlabel("episode")
        ax.set_ylabel("cumulative regret")
        if j == 0:
            ax.legend(fontsize=8)
        ax = axes[1, j]
        sub = ml[ml["N"] == n]
        ax.bar(sub["agent"], sub["time_per_episode_ms"])
        ax.set_yscale("log")
        ax.set_ylabel("ms per episode")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.tight_layout()
    p = out / "cascading_movielens.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for label in LABELS.values():
        sub = ml[ml["agent"] == label]
        axes[0].plot(sub["N"], sub["time_per_episode_ms"], marker="o", label=label)
        g = grid[grid["agent"] == label]
        axes[1].scatter(g["S"] * g["N"], g["regret_mean"], label=label, s=14)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("N")
    axes[0].set_ylabel("ms per episode")
    axes[0].set_title("running time vs N")
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("S N")
    axes[1].set_ylabel("final regret")
    axes[1].set_title("synthetic grid")
    for (name, sub), colour in zip(bpi.groupby("agent", sort=False), ("C0", "C1"),
                                   strict=False):
        for status, marker in (("stopped", "o"), ("capped", "^")):
            part = sub[sub["status"] == status]
            if len(part):
                axes[2].scatter(part["N"], part["episodes"], s=18, marker=marker,
                                color=colour, label=f"{name} ({status})")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("N")
    axes[2].set_ylabel("episodes until stopping (capped: budget)")
    axes[2].set_title("BPI: S = 9, H = 5, m = 3, epsilon = 0.5")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    p = out / "cascading_time_grid_bpi.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)
    return paths


def _warmup() -> None:
    """Compile (or load) every agent's kernels once, so timings exclude compilation."""
    env = random_cascading_mdp(2, 3, 2, 2, seed=0)
    for cls in AGENTS:
        run_episodes(cls.for_env(env, n_episodes=10), env, 2, seed=0)
    for bpi_cls in BPI_AGENTS:
        bpi_cls.for_env(env, epsilon=1.0, max_episodes=2).identify(env, seed=0)


def run(out: str | Path, *, full: bool = False, seed: int = 0, n_jobs: int | None = None,
        data: str | os.PathLike[str] | None = None, item_order: str = "shuffled",
        attraction_scale: float = 1.0) -> list[Path]:
    """Run the comparison and write its tables (CSV + Parquet) and plots (PNG) under ``out``.

    ``data`` is the MovieLens 100K folder, or a data folder holding it (default:
    ``$BANDITLAB_DATA``, then the per-user data folder; see :func:`movielens_dir`). A
    ``full`` run needs the files and raises :class:`~banditlab.errors.DataNotFoundError`
    (one line saying where it looked) before any work when they are missing.

    ``item_order`` and ``attraction_scale`` build the MovieLens instances (see
    :func:`~banditlab.envs.cascading.movielens_cascading_mdp`). The default ``'shuffled'``
    permutes the item ids of the ``N = n`` instance with seed ``seed + n``: with popularity
    ranks as ids (``'popularity'``, what runs before issue 16 used), BestPerm's tie rule
    shows the most popular, near-optimal items first while the optimistic values are still
    saturated, which flatters every agent during burn-in. ``attraction_scale = 0.1`` gives
    click-through-like attraction probabilities. Neither applies to synthetic instances.

    Returns the paths written: ``cascading_movielens`` (summary), ``cascading_curves``,
    ``cascading_synthetic``, ``cascading_bpi``, ``cascading_bonus_scale``,
    ``cascading_long_run`` tables and three PNG figures.
    """
    owner = "cascading_rl"
    full = Boolean().check(full, "full", owner)
    seed = int(Integer(0, None).check(seed, "seed", owner))
    n_jobs = check_n_jobs(n_jobs, owner)
    item_order = Options(ITEM_ORDERS).check(item_order, "item_order", owner)
    scale = float(Real(0.0, 1.0, closed="right").check(attraction_scale, "attraction_scale",
                                                       owner))
    opts: dict[str, Any] = {"item_order": item_order, "attraction_scale": scale}
    folder = movielens_dir(data, required=full)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _warmup()
    if full:
        ml, curves = _movielens_panel(out, folder=folder, episodes=100_000, runs=5, seed=seed,
                                      n_jobs=n_jobs, instance_opts=opts)
        with stage("synthetic grid: 24 cells x 4 agents, 3 runs x 20,000 episodes"):
            grid = _synthetic_grid(episodes=20_000, runs=3, seed=seed, n_jobs=n_jobs)
        with stage("BPI: N = 4..8, 5 runs, CascadingBPI and AdaptBPI (capped at 1e6)"):
            bpi = _bpi_table(n_items=BPI_N, runs=5, seed=seed, budgets=BPI_BUDGETS_FULL,
                             n_jobs=n_jobs)
        scales = _bonus_scale_table(folder=folder, episodes=100_000, runs=5, seed=seed,
                                    n_jobs=n_jobs, instance_opts=opts)
        long = _long_run(folder=folder, episodes=1_000_000, runs=2, seed=seed, n_jobs=n_jobs,
                         instance_opts=opts)
    else:
        jobs = 2 if n_jobs is None else n_jobs
        ml, curves = _movielens_panel(out, folder=folder, episodes=2_000, runs=2, seed=seed,
                                      n_jobs=jobs, instance_opts=opts)
        with stage("synthetic grid: 24 cells x 4 agents, 1 run x 1,000 episodes"):
            grid = _synthetic_grid(episodes=1_000, runs=1, seed=seed, n_jobs=1)
        with stage("BPI: N = 4, 5, 1 run, CascadingBPI and AdaptBPI (capped at 1e5)"):
            bpi = _bpi_table(n_items=BPI_N[:2], runs=1, seed=seed, budgets=BPI_BUDGETS_QUICK,
                             n_jobs=jobs)
        scales = _bonus_scale_table(folder=folder, episodes=2_000, runs=2, seed=seed,
                                    n_jobs=jobs, instance_opts=opts)
        long = _long_run(folder=folder, episodes=5_000, runs=1, seed=seed, n_jobs=1,
                         instance_opts=opts)
    if folder is not None:  # the instance options, for the tables' provenance
        ml, scales, long = (df.assign(**opts) for df in (ml, scales, long))
    paths = _write(ml, out, "cascading_movielens")
    paths += _write(curves, out, "cascading_curves")
    paths += _write(grid, out, "cascading_synthetic")
    paths += _write(bpi, out, "cascading_bpi")
    paths += _write(scales, out, "cascading_bonus_scale")
    paths += _write(long, out, "cascading_long_run")
    paths += _plots(out, ml, curves, grid, bpi)
    paths.append(_long_run_plot(out, long))
    return paths


REPRODUCTION = Reproduction(
    name="cascading-rl",
    description="Du, Srikant & Chen (ICLR 2024) cascading RL: CascadingVI vs Oracle, Bonus and "
                "AdaptVI (regret, running time vs N on MovieLens, synthetic grid), "
                "CascadingBPI vs AdaptBPI",
    run=run,
    quick_budget_s=180.0,
    datasets=("movielens-100k",),
)
