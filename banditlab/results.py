"""``Results``: the data of a batch of runs of any system, with functions over it.

Every runner returns it: :func:`banditlab.run_many` (K-armed, contextual, fixed-budget BAI),
:func:`banditlab.streaming.run_streaming`, :func:`banditlab.cascading.run_episodes`. Its core is
the same for every protocol: the regret trajectory of each run at checkpoints (rounds or
episodes, ``x_label`` says which). What a protocol measures besides lives in named columns:

``traces``
    more trajectories on the same grid, ``(n_runs, n_checkpoints)`` each (e.g. the value of
    each episode's policy, the agent's upper and lower bounds, the realised returns);
``per_run``
    one number per run, ``(n_runs,)`` each (e.g. peak arm memory, pulls used, the gap of the
    committed arm, wall time);
``info``
    scalars of the batch (e.g. the optimal value, the memory budget, the accuracy used).

A named column reads as an attribute (``res.peak_memory``, ``res.upper``,
``res.optimal_value``). The same :meth:`~Results.summary`, :meth:`~Results.to_frame`,
:meth:`~Results.plot` and :meth:`~Results.save`/:func:`load_results` work for every system.
Regret notions are functions over results (:func:`bai_error_rate`,
:meth:`Results.final_regret`). ``save``/``load`` write Parquet tables plus a JSON metadata file;
there is no pickle, so a results directory can be read by pandas, pyarrow or DuckDB.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["Results", "bai_error_rate", "env_label", "library_versions", "load_results"]

_FORMAT = 2
_READABLE_FORMATS = (1, 2)
#: the key of the save id in each Parquet file's schema metadata
_ID_KEY = b"banditlab_save_id"


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


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def library_versions() -> dict[str, str]:
    """Versions of banditlab, numpy, numba, gymnasium and Python (recorded in every Results)."""
    import platform

    import gymnasium
    import numba

    from banditlab import __version__

    return {"banditlab": __version__, "numpy": np.__version__, "numba": numba.__version__,
            "gymnasium": gymnasium.__version__, "python": platform.python_version()}


def _short(value: Any) -> tuple[str, bool]:
    """A short text for a parameter value, and whether it shows the value exactly."""
    if isinstance(value, list | tuple) and len(value) > 4:
        flat = np.asarray(value, dtype=object).ravel()
        return f"[{flat[0]}..{flat[-1]}]x{len(value)}", False
    if isinstance(value, float):
        return f"{value:g}", float(f"{value:g}") == value
    if isinstance(value, dict):
        return "{...}", not value
    return repr(value), True


def env_label(env: str, env_params: dict[str, Any]) -> str:
    """``Class(param=value, ...)``, identifying an env by its parameters.

    Long arrays are shortened to ``[first..last]xN``; when anything is shortened a six-digit
    digest of all parameters follows (``#3f2a1c``), so two different envs never share a label.
    """
    parts, exact = [], True
    for k, v in env_params.items():
        text, ok = _short(_jsonable(v))
        parts.append(f"{k}={text}")
        exact &= ok
    label = f"{env}({', '.join(parts)})"
    if not exact:
        blob = json.dumps(_jsonable(env_params), sort_keys=True, default=str).encode()
        label += "#" + hashlib.sha256(blob).hexdigest()[:6]
    return label


@dataclass(frozen=True, eq=False, repr=False)
class Results:
    """The regret trajectories of ``n_runs`` independent runs, plus each system's own columns.

    Attributes
    ----------
    policy, env : str
        Names of the algorithm and of the environment class (:attr:`algorithm` is an alias).
    policy_params, env_params : dict
        Their constructor arguments.
    horizon : int
        Rounds (or episodes) per run.
    checkpoints : ndarray of int64, shape (n_checkpoints,)
        Rounds or episodes (1-based) at which the regret was recorded; the last is ``horizon``.
    regret : ndarray of float64, shape (n_runs, n_checkpoints)
        Cumulative regret at each checkpoint (pseudo-regret for the bandit protocols and the
        streaming one; ``sum_k V* - V^{pi_k}`` for the episodic one).
    pulls : ndarray of int64, shape (n_runs, n_arms)
        Pull counts (bandit protocols; ``(n_runs, 0)`` for the others).
    recommendations : ndarray of int64, shape (n_runs,)
        Arm recommended at the end (best-arm identification), ``-1`` for other policies.
    best_arm : int
        The env's optimal arm (-1 when it depends on the context or does not apply).
    seed_entropy : int or list of int
        Entropy of the root ``SeedSequence``: ``run_many(..., seed=seed_entropy)`` replays it.
    engine : str
        ``'kernel'`` or ``'python'``.
    wall_time_s : float
    versions : dict
        Versions of banditlab, numpy, numba and Python that produced the data.
    protocol : str
        The protocol the algorithm follows (``'KARMED'``, ``'STREAMING'``, ``'EPISODIC'``, ...).
    x_label : str
        What the checkpoints count (``'round'`` or ``'episode'``).
    traces, per_run, info : dict
        Named trajectories ``(n_runs, n_checkpoints)``, per-run columns ``(n_runs,)`` and batch
        scalars (see the module docstring); each also reads as an attribute.
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
    protocol: str = "KARMED"
    x_label: str = "round"
    traces: dict[str, np.ndarray] = field(default_factory=dict)
    per_run: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, c = self.regret.shape
        for name, arr in self.traces.items():
            if np.shape(arr) != (n, c):
                raise ValueError(f"Results: trace {name!r} must have shape {(n, c)}; got "
                                 f"{np.shape(arr)}.")
        for name, arr in self.per_run.items():
            if np.shape(arr) != (n,):
                raise ValueError(f"Results: per-run column {name!r} must have shape {(n,)}; "
                                 f"got {np.shape(arr)}.")
        names = [*self.traces, *self.per_run, *self.info]
        clash = sorted({k for k in names if names.count(k) > 1 or hasattr(type(self), k)
                        or k in self.__dataclass_fields__})
        if clash:
            raise ValueError(f"Results: column names must be unique and not attributes of "
                             f"Results; got {clash}.")

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: the named columns read as attributes
        for table in ("traces", "per_run", "info"):
            columns = self.__dict__.get(table)
            if columns is not None and name in columns:
                return columns[name]
        raise AttributeError(f"'Results' object has no attribute {name!r}")

    @property
    def n_runs(self) -> int:
        return int(self.regret.shape[0])

    def __repr__(self) -> str:
        final = self.final_regret()
        sem = float(final.std(ddof=1) / np.sqrt(final.shape[0])) if final.shape[0] > 1 else 0.0
        return (f"<Results {self.label} on {self.env_label}: {self.n_runs} runs x "
                f"{self.horizon} {self.x_label}s, final regret {final.mean():.4g} "
                f"+- {sem:.2g} (sem), engine {self.engine}>")

    def __eq__(self, other: object) -> bool:
        """Equal when every field is: arrays element for element, dicts key for key."""
        if not isinstance(other, Results):
            return NotImplemented
        return all(_same_value(getattr(self, f), getattr(other, f))
                   for f in self.__dataclass_fields__)


    @property
    def algorithm(self) -> str:
        """The algorithm's name (same as :attr:`policy`)."""
        return self.policy

    @property
    def env_label(self) -> str:
        """The env identified by its parameters, e.g. ``BernoulliBandit(means=[...], ...)``."""
        return env_label(self.env, self.env_params)

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
        row = {"policy": self.label, "env": self.env_label, "horizon": self.horizon,
               "runs": self.n_runs, "mean_regret": float(final.mean()), "sem": sem,
               "median_regret": float(np.median(final)), "engine": self.engine,
               "wall_s": round(self.wall_time_s, 3)}
        if np.any(self.recommendations >= 0):
            row["error_rate"] = bai_error_rate(self)
        for name, col in self.per_run.items():
            if np.issubdtype(np.asarray(col).dtype, np.number):
                row[f"mean_{name}"] = float(np.mean(col))
        return row

    # -- tables -----------------------------------------------------------------------------
    def to_frame(self, n_points: int | None = None) -> pd.DataFrame:
        """Tidy table: one row per (run, checkpoint): policy, env, env_label, run, t, regret,
        then one column per trace.

        ``n_points`` keeps about that many evenly spaced checkpoints (the last one included),
        e.g. for the per-episode trajectories of long episodic runs; ``None`` keeps all.
        """
        import pandas as pd  # imported on use: it dominates `import banditlab` otherwise

        n_runs, n_ck = self.regret.shape
        idx = np.arange(n_ck)
        if n_points is not None:
            from banditlab._validation import Integer

            n_points = int(Integer(1, None).check(n_points, "n_points", "Results.to_frame"))
            idx = np.unique(np.linspace(0, n_ck, num=min(n_points, n_ck) + 1)[1:].round()
                            .astype(np.int64)) - 1
        return pd.DataFrame({
            "policy": self.label,
            "env": self.env,
            "env_label": self.env_label,
            "run": np.repeat(np.arange(n_runs), idx.size),
            "t": np.tile(self.checkpoints[idx], n_runs),
            "regret": self.regret[:, idx].ravel(),
            **{name: np.asarray(arr)[:, idx].ravel() for name, arr in self.traces.items()},
        })

    def runs_frame(self) -> pd.DataFrame:
        """One row per run: ``run``, the final regret and every per-run column."""
        import pandas as pd

        return pd.DataFrame({"policy": self.label, "env_label": self.env_label,
                             "run": np.arange(self.n_runs), "final_regret": self.final_regret(),
                             **{k: np.asarray(v) for k, v in self.per_run.items()}})

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
            "protocol": self.protocol, "x_label": self.x_label, "traces": list(self.traces),
            "per_run": list(self.per_run), "info": self.info,
        })

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``regret.parquet`` (with the traces), ``pulls.parquet``, ``runs.parquet``
        (when there are per-run columns) and ``meta.json`` into directory ``path``.

        The save is atomic: the files are written to a temporary directory beside ``path``,
        flushed to disk and put in place in one step, so a reader (or a process killed while
        saving) sees the complete old result or the complete new one. Every file carries the
        save's id (``meta.json``'s ``save_id``, each Parquet file's schema metadata), which
        :meth:`load` checks. A failed save raises ``OSError`` and leaves ``path`` unchanged.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        from banditlab._atomic import write_dir_atomically

        out = Path(path)
        save_id = uuid.uuid4().hex
        tables = {"regret.parquet": self.to_frame(), "pulls.parquet": self.pulls_frame()}
        if self.per_run:
            tables["runs.parquet"] = self.runs_frame()
        meta = {**self.metadata(), "save_id": save_id, "files": sorted(tables)}

        def write(tmp: Path) -> None:
            for name, frame in tables.items():
                table = pa.Table.from_pandas(frame, preserve_index=False)
                table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                                       _ID_KEY: save_id.encode()})
                pq.write_table(table, tmp / name)
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))

        try:
            write_dir_atomically(out, write)
        except OSError as err:
            raise OSError(err.errno, f"Results.save: could not write {str(out)!r} "
                                     f"({err.strerror or err}); any previous result there is "
                                     "unchanged") from err
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Results:
        """Read a directory written by :meth:`save`.

        ``TypeError`` (showing the value) for a ``path`` that is not a str or os.PathLike;
        ``FileNotFoundError`` naming the path when it or its ``meta.json`` does not exist,
        ``NotADirectoryError`` when it is a file (both ``OSError``); ``ValueError`` for a
        ``meta.json`` that is not valid.
        """
        import pandas as pd

        from banditlab._atomic import resolve_saved_dir
        from banditlab.limits import short_repr

        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"Results.load: 'path' must be a str or os.PathLike (a directory "
                            f"written by Results.save); got {type(path).__name__} "
                            f"{short_repr(path)}.")
        src = resolve_saved_dir(Path(path))
        if not src.exists():
            raise FileNotFoundError(f"Results.load: no meta.json in {str(src)!r}: no such file "
                                    "or directory.")
        if not src.is_dir():
            raise NotADirectoryError(f"Results.load: {str(src)!r} is a file, not a directory "
                                     "written by Results.save.")
        meta_file = src / "meta.json"
        if not meta_file.is_file():
            raise FileNotFoundError(f"Results.load: no meta.json in {str(src)!r} (not a "
                                    "directory written by Results.save).")
        try:
            meta = json.loads(meta_file.read_text())
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(f"Results.load: {str(meta_file)!r} is not valid JSON "
                             f"({err}).") from None
        if not isinstance(meta, dict) or meta.get("format") not in _READABLE_FORMATS:
            got = meta.get("format") if isinstance(meta, dict) else meta
            raise ValueError(f"Results.load: 'format' must be one of {_READABLE_FORMATS}; got "
                             f"{got!r} in {str(meta_file)!r}.")
        _check_same_save(src, meta)
        reg = pd.read_parquet(src / "regret.parquet").sort_values(["run", "t"])
        n_runs = int(meta["n_runs"])
        checkpoints = reg["t"].to_numpy(np.int64)[: len(reg) // n_runs]
        pulls = pd.read_parquet(src / "pulls.parquet").sort_values(["run", "arm"])
        n_arms = int(meta["n_arms"])
        traces = {name: reg[name].to_numpy().reshape(n_runs, -1)
                  for name in meta.get("traces", [])}
        per_run: dict[str, np.ndarray] = {}
        if meta.get("per_run"):
            runs = pd.read_parquet(src / "runs.parquet").sort_values("run")
            per_run = {name: runs[name].to_numpy() for name in meta["per_run"]}
        if n_arms:
            recommendations = pulls["recommendation"].to_numpy(np.int64)[::n_arms].copy()
        else:
            recommendations = np.full(n_runs, -1, np.int64)
        return cls(
            policy=meta["policy"], policy_params=meta["policy_params"], env=meta["env"],
            env_params=meta["env_params"], horizon=int(meta["horizon"]),
            checkpoints=np.ascontiguousarray(checkpoints),
            regret=reg["regret"].to_numpy(np.float64).reshape(n_runs, -1),
            pulls=pulls["pulls"].to_numpy(np.int64).reshape(n_runs, n_arms),
            recommendations=recommendations,
            best_arm=int(meta["best_arm"]), seed_entropy=meta["seed_entropy"],
            engine=meta["engine"], wall_time_s=float(meta["wall_time_s"]),
            versions=meta["versions"], protocol=meta.get("protocol", "KARMED"),
            x_label=meta.get("x_label", "round"), traces=traces, per_run=per_run,
            info=meta.get("info", {}),
        )

    # -- plots ------------------------------------------------------------------------------
    def plot(self, ax: Axes | None = None, *, log: bool = False,
             band: tuple[float, float] | str | None = (0.1, 0.9), label: str | None = None
             ) -> Axes:
        """Mean cumulative regret with a band; ``log=True`` for log-log axes.

        ``band``: a pair of quantiles over runs (default 10 % - 90 %), ``'ci95'`` for the mean
        +- 1.96 standard errors (a 95 % normal confidence band for the mean), or None.
        """
        from banditlab.plot import plot_regret

        return plot_regret([self], ax=ax, log=log, band=band,
                           labels=None if label is None else [label])


def _check_same_save(src: Path, meta: dict[str, Any]) -> None:
    """Refuse a directory whose files come from different saves (or are unreadable)."""
    import pyarrow.parquet as pq

    save_id = meta.get("save_id")
    if save_id is None:               # written before saves carried an id (format 1)
        return
    for name in meta.get("files", ["regret.parquet", "pulls.parquet"]):
        try:
            found = (pq.read_schema(src / name).metadata or {}).get(_ID_KEY, b"").decode()
        except (OSError, ValueError) as err:   # missing, truncated, not Parquet
            raise ValueError(f"Results.load: {str(src / name)!r} is missing or unreadable "
                             f"({type(err).__name__}: {err}).") from None
        if found != save_id:
            raise ValueError(f"Results.load: {str(src / name)!r} belongs to another save "
                             f"(id {found or 'none'!r}, meta.json has {save_id!r}); the "
                             "directory mixes two results.")


def load_results(path: str | os.PathLike[str]) -> Results:
    """Alias of :meth:`Results.load`."""
    return Results.load(path)


def bai_error_rate(results: Results) -> float:
    """Fraction of runs whose recommendation is not the best arm."""
    if results.best_arm < 0 or np.all(results.recommendations < 0):
        raise ValueError(f"bai_error_rate: the results of {results.policy} hold no "
                         "recommendations (not a best-arm identification policy).")
    return float(np.mean(results.recommendations != results.best_arm))
