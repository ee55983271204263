"""Baselines: the classic regret comparison of the baseline policies on Bernoulli bandits.

Eight policies — UCB1, KL-UCB, Thompson sampling, epsilon-greedy, explore-then-commit, EXP3,
successive elimination and uniform round-robin play — each run on two 10-armed Bernoulli
instances:

``linspace``
    means ``linspace(0.1, 0.9, 10)``: gaps from 0.09 to 0.8 (an easy instance);
``close-gap``
    one arm of mean 0.5 and nine of mean 0.45: every gap is 0.05 (a hard instance).

This is the kind of experiment reported by Auer, Cesa-Bianchi & Fischer (2002, Section 4),
Garivier & Cappé (2011, Section 6) and Chapelle & Li (2011); it does not copy a figure of any
of them (provenance: recollection of the qualitative findings, not author code). The findings
to expect are: uniform play has linear regret; KL-UCB and Thompson sampling have the smallest
regret, and their curves grow like ``c log t`` with ``c`` close to the Lai–Robbins constant;
UCB1 is logarithmic with a larger constant; EXP3, built for adversaries, and untuned
epsilon-greedy and ETC pay more on these stochastic instances.

Reference line: the asymptotic lower bound of Lai & Robbins (1985) for consistent policies,
``liminf R_T / log T >= sum_{a: gap_a > 0} gap_a / kl(mu_a, mu*)`` with the Bernoulli KL
divergence; it is plotted as ``c log t`` (an asymptotic statement, not a finite-time bound).

Settings (all policies share one root seed, hence the same reward noise):

* UCB1 with ``alpha = 2``; KL-UCB with ``c = 0``; Thompson sampling with a Beta(1, 1) prior;
* epsilon-greedy with a constant ``epsilon = 0.1`` (the textbook setting);
* ETC with the gap-free choice ``m = ceil((T / K)^(2/3))`` (Lattimore & Szepesvári, 2020,
  Section 6.2), which gives regret of order ``K^(1/3) T^(2/3)``;
* EXP3 with the learning rate tuned to the horizon; successive elimination with
  ``delta = 1 / T``; uniform round-robin play.

Quick mode: horizon 2,000 and 20 runs (seconds). ``--full``: horizon 100,000 and 100 runs.

References
----------
T. L. Lai, H. Robbins. Asymptotically efficient adaptive allocation rules. Advances in Applied
Mathematics 6, 4–22, 1985.
P. Auer, N. Cesa-Bianchi, P. Fischer. Finite-time analysis of the multiarmed bandit problem.
Machine Learning 47, 235–256, 2002.
A. Garivier, O. Cappé. The KL-UCB algorithm for bounded stochastic bandits and beyond. COLT 2011.
O. Chapelle, L. Li. An empirical evaluation of Thompson sampling. NeurIPS 2011.
T. Lattimore, C. Szepesvári. Bandit Algorithms. Cambridge University Press, 2020.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from banditlab._validation import Boolean, Integer
from banditlab.envs import BernoulliBandit
from banditlab.parallel import check_n_jobs
from banditlab.policies import (
    EXP3,
    KLUCB,
    UCB,
    EpsilonGreedy,
    ExploreThenCommit,
    SuccessiveElimination,
    ThompsonSampling,
    Uniform,
)
from banditlab.policy import Policy
from banditlab.reproduce import Reproduction, stage
from banditlab.results import Results
from banditlab.runner import run_many

__all__ = ["INSTANCES", "REPRODUCTION", "lai_robbins_constant", "make_policies", "run"]

#: name -> arm means
INSTANCES: dict[str, np.ndarray] = {
    "linspace": np.linspace(0.1, 0.9, 10),
    "close-gap": np.array([0.6] + [0.5] * 9),
}
_QUICK = {"horizon": 2_000, "n_runs": 20}
_FULL = {"horizon": 100_000, "n_runs": 100}


def lai_robbins_constant(means: Any) -> float:
    """``sum_{a: gap_a > 0} gap_a / kl(mu_a, mu*)`` for Bernoulli arms (Lai & Robbins, 1985).

    Parameters
    ----------
    means : array-like of shape (n_arms,)
        Bernoulli means, each in (0, 1).

    Returns
    -------
    float
        The constant ``c`` of the asymptotic lower bound ``R_T >= (c - o(1)) log T``.
    """
    mu = np.asarray(means, dtype=np.float64)
    if mu.ndim != 1 or mu.size == 0 or not np.all((mu > 0) & (mu < 1)):
        raise ValueError(f"lai_robbins_constant: 'means' must be a 1-d array of floats in "
                         f"(0, 1); got {means!r}.")
    best = mu.max()
    total = 0.0
    for m in mu[mu < best]:
        kl = m * math.log(m / best) + (1 - m) * math.log((1 - m) / (1 - best))
        total += (best - m) / kl
    return total


def make_policies(n_arms: int, horizon: int) -> dict[str, Policy]:
    """The eight baseline policies with the settings of the module docstring, by label."""
    n_arms = int(Integer(2, None).check(n_arms, "n_arms", "make_policies"))
    horizon = int(Integer(n_arms, None).check(horizon, "horizon", "make_policies"))
    m = min(math.ceil((horizon / n_arms) ** (2.0 / 3.0)), horizon // n_arms)
    return {
        "UCB1": UCB(n_arms, alpha=2.0),
        "KL-UCB": KLUCB(n_arms, c=0.0),
        "Thompson": ThompsonSampling(n_arms),
        "eps-greedy(0.1)": EpsilonGreedy(n_arms, epsilon=0.1),
        f"ETC(m={m})": ExploreThenCommit(n_arms, m=m),
        "EXP3": EXP3(n_arms, horizon=horizon),
        "SuccElim": SuccessiveElimination(n_arms, delta=1.0 / horizon),
        "Uniform": Uniform(n_arms),
    }


def _summary_rows(instance: str, label: str, res: Results, c_lr: float) -> dict[str, Any]:
    final = res.final_regret()
    q10, q50, q90 = np.quantile(final, (0.1, 0.5, 0.9))
    return {
        "instance": instance, "policy": label, "horizon": res.horizon, "runs": res.n_runs,
        "mean_regret": float(final.mean()),
        "sem": float(final.std(ddof=1) / math.sqrt(res.n_runs)) if res.n_runs > 1 else 0.0,
        "median_regret": float(q50), "q10": float(q10), "q90": float(q90),
        "lai_robbins_log_T": c_lr * math.log(res.horizon),
        "engine": res.engine, "wall_s": float(res.wall_time_s), "seed": res.seed_entropy,
    }


def _curves(instance: str, label: str, res: Results) -> pd.DataFrame:
    q10, q90 = np.quantile(res.regret, (0.1, 0.9), axis=0)
    return pd.DataFrame({"instance": instance, "policy": label, "t": res.checkpoints,
                         "mean_regret": res.mean_regret(), "q10": q10, "q90": q90})


def _plot(all_results: dict[str, dict[str, Results]], out: Path) -> list[Path]:
    from matplotlib.figure import Figure

    from banditlab.plot import plot_regret

    n = len(all_results)
    curves = Figure(figsize=(12.0, 4.2 * n))
    axes = curves.subplots(n, 2, squeeze=False)
    box = Figure(figsize=(12.0, 3.8 * n))
    box_axes = box.subplots(n, 1, squeeze=False)
    for row, (instance, results) in enumerate(all_results.items()):
        c_lr = lai_robbins_constant(INSTANCES[instance])
        labels = list(results)
        for col, log in enumerate((False, True)):
            ax = plot_regret(list(results.values()), ax=axes[row, col], log=log, labels=labels)
            t = np.unique(np.geomspace(2, next(iter(results.values())).horizon, 200).round())
            ax.plot(t, c_lr * np.log(t), "k--", linewidth=1.0,
                    label=f"Lai-Robbins {c_lr:.3g} log t")
            ax.legend(fontsize="x-small")
            ax.set_title(f"{instance} ({'log-log' if log else 'linear'})")
        bax = box_axes[row, 0]
        bax.boxplot([r.final_regret() for r in results.values()], tick_labels=labels)
        bax.set_yscale("log")
        bax.set_ylabel("regret at the horizon")
        bax.set_title(f"{instance}: final regret over runs")
        bax.grid(True, which="both", alpha=0.3)
    curves.tight_layout()
    box.tight_layout()
    paths = [out / "baselines_regret.png", out / "baselines_final_regret.png"]
    curves.savefig(paths[0], dpi=110)
    box.savefig(paths[1], dpi=110)
    return paths


def run(out: str | Path, *, full: bool = False, seed: int = 0, n_jobs: int | None = None
        ) -> list[Path]:
    """Run the comparison and write its tables and plots under ``out``.

    Parameters
    ----------
    out : path
        Output directory (created).
    full : bool, default False
        Horizon 100,000 and 100 runs instead of 2,000 and 20.
    seed : int, default 0
        Root seed shared by every (policy, instance) pair.
    n_jobs : int, optional
        Worker processes (see :func:`banditlab.run_many`); the results do not depend on it.

    Returns
    -------
    list of Path
        ``baselines_summary.{csv,parquet}`` (final regret per instance and policy),
        ``baselines_curves.{csv,parquet}`` (mean and 10%/90% regret per checkpoint) and the
        plots ``baselines_regret.png`` and ``baselines_final_regret.png``.
    """
    full = Boolean().check(full, "full", "baselines")
    seed = int(Integer(0, None).check(seed, "seed", "baselines"))
    n_jobs = check_n_jobs(n_jobs, "baselines")
    scale = _FULL if full else _QUICK
    horizon, n_runs = scale["horizon"], scale["n_runs"]
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    checkpoints = np.union1d(np.linspace(horizon / 200, horizon, 200).round().astype(np.int64),
                             np.geomspace(1, horizon, 100).round().astype(np.int64))
    all_results: dict[str, dict[str, Results]] = {}
    rows, curves = [], []
    for instance, means in INSTANCES.items():
        env = BernoulliBandit(means, horizon=horizon)
        c_lr = lai_robbins_constant(means)
        results = {}
        for label, policy in make_policies(len(means), horizon).items():
            with stage(f"{instance}: {label}, {n_runs} runs x T = {horizon:,}"):
                res = run_many(policy, env, n_runs=n_runs, seed=seed, checkpoints=checkpoints,
                               n_jobs=n_jobs, progress=False)
            results[label] = res
            rows.append(_summary_rows(instance, label, res, c_lr))
            curves.append(_curves(instance, label, res))
        all_results[instance] = results
    summary = pd.DataFrame(rows)
    curve_frame = pd.concat(curves, ignore_index=True)
    paths = []
    for name, frame in (("baselines_summary", summary), ("baselines_curves", curve_frame)):
        frame.to_csv(root / f"{name}.csv", index=False)
        frame.to_parquet(root / f"{name}.parquet", index=False)
        paths += [root / f"{name}.csv", root / f"{name}.parquet"]
    return paths + _plot(all_results, root)


REPRODUCTION = Reproduction(
    name="baselines",
    description="classic comparison of 8 baseline policies (UCB1, KL-UCB, Thompson, "
    "eps-greedy, ETC, EXP3, successive elimination, uniform) on two 10-armed Bernoulli "
    "bandits, with the Lai-Robbins lower bound",
    run=run,
    quick_budget_s=60.0,
)
