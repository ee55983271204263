"""``Results``: the data of a batch of runs, with functions over it (frame, save/load, plot).

Regret notions are functions over results (:func:`bai_error_rate`, :meth:`Results.final_regret`),
not evaluator internals. ``save``/``load`` write Parquet tables plus a JSON metadata file; there
is no pickle, so a results directory can be read by pandas, pyarrow or DuckDB.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["Results", "bai_error_rate", "load_results"]

_FORMAT = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Results:
    """Cumulative pseudo-regret and pull counts of ``n_runs`` independent runs.

    Attributes
    ----------
    policy, env : str
        Names of the policy and environment classes.
    policy_params, env_params : dict
        Their constructor arguments.
    horizon : int
    checkpoints : ndarray of int64, shape (n_checkpoints,)
        Rounds (1-based) at which the regret was recorded; the last one is ``horizon``.
    regret : ndarray of float64, shape (n_runs, n_checkpoints)
        Cumulative pseudo-regret at each checkpoint.
    pulls : ndarray of int64, shape (n_runs, n_arms)
    recommendations : ndarray of int64, shape (n_runs,)
        Arm recommended at the end (best-arm identification), ``-1`` for other policies.
    best_arm : int
        The env's optimal arm (-1 when it depends on the context).
    seed_entropy : int or list of int
        Entropy of the root ``SeedSequence``: ``run_many(..., seed=seed_entropy)`` replays it.
    engine : str
        ``'kernel'`` or ``'python'``.
    wall_time_s : float
    versions : dict
        Versions of banditlab, numpy, numba and Python that produced the data.
    """

    policy: str
    policy_params: dict[str, Any]
    env: str
    env_params: dict[str, Any]
    horizon: int
    checkpoints: np.ndarray
    regret: np.ndarray
    pulls: np.ndarray
    recommendations: np.ndarray
    best_arm: int
    seed_entropy: int | list[int]
    engine: str
    wall_time_s: float
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return int(self.regret.shape[0])

    @property
    def label(self) -> str:
        """A short label for plots and tables, e.g. ``UCB(alpha=2.0)``."""
        args = ", ".join(f"{k}={v}" for k, v in self.policy_params.items() if k != "n_arms")
        return f"{self.policy}({args})"

    def final_regret(self) -> np.ndarray:
        """Regret at the horizon of each run, ``(n_runs,)``."""
        return self.regret[:, -1].copy()

    def mean_regret(self) -> np.ndarray:
        """Mean cumulative regret over runs at each checkpoint."""
        return self.regret.mean(axis=0)

    def quantiles(self, qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
        """Quantiles of the cumulative regret over runs, shape ``(len(qs), n_checkpoints)``."""
        return np.quantile(self.regret, qs, axis=0)

    def summary(self) -> dict[str, Any]:
        """One row of summary statistics (used by the CLI table)."""
        final = self.final_regret()
        sem = float(final.std(ddof=1) / np.sqrt(self.n_runs)) if self.n_runs > 1 else 0.0
        row = {"policy": self.label, "env": self.env, "horizon": self.horizon,
               "runs": self.n_runs, "mean_regret": float(final.mean()), "sem": sem,
               "median_regret": float(np.median(final)), "engine": self.engine,
               "wall_s": round(self.wall_time_s, 3)}
        if np.any(self.recommendations >= 0):
            row["error_rate"] = bai_error_rate(self)
        return row

    # -- tables -----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Tidy regret table: one row per (run, checkpoint), with policy and env columns."""
        import pandas as pd  # imported on use: it dominates `import banditlab` otherwise

        n_runs, n_ck = self.regret.shape
        return pd.DataFrame({
            "policy": self.label,
            "env": self.env,
            "run": np.repeat(np.arange(n_runs), n_ck),
            "t": np.tile(self.checkpoints, n_runs),
            "regret": self.regret.ravel(),
        })

    def pulls_frame(self) -> pd.DataFrame:
        """Tidy pull counts: one row per (run, arm), with the run's recommendation."""
        import pandas as pd

        n_runs, n_arms = self.pulls.shape
        return pd.DataFrame({
            "run": np.repeat(np.arange(n_runs), n_arms),
            "arm": np.tile(np.arange(n_arms), n_runs),
            "pulls": self.pulls.ravel(),
            "recommendation": np.repeat(self.recommendations, n_arms),
        })

    def metadata(self) -> dict[str, Any]:
        return _jsonable({
            "format": _FORMAT, "policy": self.policy, "policy_params": self.policy_params,
            "env": self.env, "env_params": self.env_params, "horizon": self.horizon,
            "best_arm": self.best_arm, "seed_entropy": self.seed_entropy,
            "engine": self.engine, "wall_time_s": self.wall_time_s, "versions": self.versions,
            "n_runs": self.n_runs, "n_arms": int(self.pulls.shape[1]),
        })

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``regret.parquet``, ``pulls.parquet`` and ``meta.json`` into directory ``path``."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.to_frame().to_parquet(out / "regret.parquet", index=False)
        self.pulls_frame().to_parquet(out / "pulls.parquet", index=False)
        (out / "meta.json").write_text(json.dumps(self.metadata(), indent=2))
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Results:
        """Read a directory written by :meth:`save`."""
        import pandas as pd

        src = Path(path)
        meta_file = src / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"Results.load: no meta.json in {str(src)!r}.")
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"Results.load: 'format' must be {_FORMAT}; got "
                             f"{meta.get('format')!r} in {str(meta_file)!r}.")
        reg = pd.read_parquet(src / "regret.parquet").sort_values(["run", "t"])
        n_runs = int(meta["n_runs"])
        checkpoints = reg["t"].to_numpy(np.int64)[: len(reg) // n_runs]
        pulls = pd.read_parquet(src / "pulls.parquet").sort_values(["run", "arm"])
        n_arms = int(meta["n_arms"])
        return cls(
            policy=meta["policy"], policy_params=meta["policy_params"], env=meta["env"],
            env_params=meta["env_params"], horizon=int(meta["horizon"]),
            checkpoints=np.ascontiguousarray(checkpoints),
            regret=reg["regret"].to_numpy(np.float64).reshape(n_runs, -1),
            pulls=pulls["pulls"].to_numpy(np.int64).reshape(n_runs, n_arms),
            recommendations=pulls["recommendation"].to_numpy(np.int64)[::n_arms].copy(),
            best_arm=int(meta["best_arm"]), seed_entropy=meta["seed_entropy"],
            engine=meta["engine"], wall_time_s=float(meta["wall_time_s"]),
            versions=meta["versions"],
        )

    # -- plots ------------------------------------------------------------------------------
    def plot(self, ax: Axes | None = None, *, log: bool = False,
             band: tuple[float, float] = (0.1, 0.9), label: str | None = None) -> Axes:
        """Mean cumulative regret with a quantile band; ``log=True`` for log-log axes."""
        from banditlab.plot import plot_regret

        return plot_regret([self], ax=ax, log=log, band=band,
                           labels=None if label is None else [label])


def load_results(path: str | os.PathLike[str]) -> Results:
    """Alias of :meth:`Results.load`."""
    return Results.load(path)


def bai_error_rate(results: Results) -> float:
    """Fraction of runs whose recommendation is not the best arm."""
    if results.best_arm < 0 or np.all(results.recommendations < 0):
        raise ValueError(f"bai_error_rate: the results of {results.policy} hold no "
                         "recommendations (not a best-arm identification policy).")
    return float(np.mean(results.recommendations != results.best_arm))
