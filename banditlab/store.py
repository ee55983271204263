"""The sweep result store: a directory of Parquet shards plus a JSON manifest.

Layout of a store directory ``DIR``::

    DIR/manifest.json           the normalised grid, the root seed entropy, the task count
    DIR/runs/<shard>.parquet    finished tasks, one shard per finished executor batch
    DIR/failed/<task_id>.json   tasks that raised: their coordinates and traceback
    DIR/corrupt/                unreadable files moved aside by a resumed sweep

Every file is written to a temporary name in the same directory and then renamed
(:func:`os.replace`, atomic on POSIX), so a killed writer leaves either the whole file or a
``.tmp`` file that no reader trusts or globs (``runs/*.parquet`` never matches it). Each shard
records the ids of its tasks in its Parquet footer; a shard whose footer cannot be read, or
whose row count or task ids disagree with its footer, is *corrupt*: :func:`load_store` skips it
with a warning and a resumed sweep moves it to ``corrupt/`` and runs its tasks again.

A shard holds the tasks of one executor batch (``batch_size=1`` gives one file per task).
Batching keeps the cost of many short runs well under a millisecond each: creating one file
costs about 0.3-0.9 ms on a typical filesystem, more than a short run itself.

All shards share one schema (one row per task and checkpoint)::

    task_id str, policy str, policy_params str (JSON), env str, env_kwargs str (JSON),
    horizon int64, seed_index int64, engine str, env_seed uint64, policy_seed uint64,
    t int64, regret float64, recommendation int64, best_arm int64, wall_s float64,
    pulls list<int64>

so the store reads as one table from pandas (:func:`load_store`), pyarrow
(``pyarrow.dataset.dataset(DIR / "runs")``) or DuckDB
(``SELECT * FROM read_parquet('DIR/runs/*.parquet')``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from banditlab.errors import BanditlabWarning, ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # pragma: no cover

__all__ = [
    "MANIFEST",
    "SHARD_SCHEMA",
    "StoreScan",
    "load_failures",
    "load_store",
    "plot_store",
    "read_manifest",
    "scan_store",
    "store_status",
]

MANIFEST = "manifest.json"
RUNS, FAILED, CORRUPT = "runs", "failed", "corrupt"
STORE_FORMAT = 1
_META_KEY = b"banditlab.sweep"
_SHARD_RE = re.compile(r"^[0-9a-f]{32}\.parquet$")
_FAILED_RE = re.compile(r"^[0-9a-f]{16}\.json$")

SHARD_SCHEMA = pa.schema([
    ("task_id", pa.string()),
    ("policy", pa.string()),
    ("policy_params", pa.string()),
    ("env", pa.string()),
    ("env_kwargs", pa.string()),
    ("horizon", pa.int64()),
    ("seed_index", pa.int64()),
    ("engine", pa.string()),
    ("env_seed", pa.uint64()),
    ("policy_seed", pa.uint64()),
    ("t", pa.int64()),
    ("regret", pa.float64()),
    ("recommendation", pa.int64()),
    ("best_arm", pa.int64()),
    ("wall_s", pa.float64()),
    ("pulls", pa.list_(pa.int64())),
])


def _store_path(path: Any, owner: str) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{owner}: 'store' must be a str or os.PathLike directory; "
                        f"got {type(path).__name__} {path!r}.")
    return Path(path)


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` atomically (creates the store directories)."""
    for sub in (RUNS, FAILED):
        (root / sub).mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(root / MANIFEST, json.dumps(manifest, indent=2).encode())


def read_manifest(path: str | os.PathLike[str], *, owner: str = "read_manifest"
                  ) -> dict[str, Any]:
    """The manifest of the store at ``path``; :class:`ConfigError` if there is none."""
    root = _store_path(path, owner)
    file = root / MANIFEST
    if not file.is_file():
        raise ConfigError(f"{owner}: 'store' must be a sweep store directory with a "
                          f"{MANIFEST}; got {str(root)!r}.")
    try:
        manifest = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{owner}: {str(file)!r} is not valid JSON ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else manifest
        raise ConfigError(f"{owner}: the manifest 'format' must be {STORE_FORMAT}; got "
                          f"{got!r} in {str(file)!r}.")
    return manifest


def _shard_table(rows: list[dict[str, Any]]) -> pa.Table:
    """One table for the successful task results ``rows`` (see the module docstring)."""
    lengths = np.array([len(r["t"]) for r in rows], dtype=np.int64)
    # per-task columns are built once per task and repeated by Arrow's take
    index = pa.array(np.repeat(np.arange(len(rows), dtype=np.int64), lengths))
    per_task = {"task_id", "policy", "policy_params", "env", "env_kwargs", "horizon",
                "seed_index", "engine", "env_seed", "policy_seed", "recommendation",
                "best_arm", "wall_s"}
    pulls = [np.asarray(r["pulls"], dtype=np.int64) for r in rows]
    n_arms = np.repeat(np.array([p.shape[0] for p in pulls], dtype=np.int64), lengths)
    offsets = np.concatenate([[0], np.cumsum(n_arms)]).astype(np.int32)
    values = np.concatenate([np.tile(p, n) for p, n in zip(pulls, lengths)])
    arrays = []
    for f in SHARD_SCHEMA:
        if f.name in per_task:
            arrays.append(pa.array([r[f.name] for r in rows], type=f.type).take(index))
        elif f.name == "pulls":
            arrays.append(pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)))
        else:
            dtype = np.int64 if f.name == "t" else np.float64
            arrays.append(pa.array(np.concatenate([np.asarray(r[f.name], dtype=dtype)
                                                   for r in rows])))
    return pa.Table.from_arrays(arrays, schema=SHARD_SCHEMA)


def write_shard(root: Path, rows: list[dict[str, Any]]) -> Path:
    """Write the finished tasks ``rows`` as one Parquet shard (temp file, then rename)."""
    ids = sorted(r["task_id"] for r in rows)
    name = hashlib.sha256(",".join(ids).encode()).hexdigest()[:32] + ".parquet"
    meta = json.dumps({"format": STORE_FORMAT, "task_ids": ids,
                       "n_rows": int(sum(len(r["t"]) for r in rows))}).encode()
    table = _shard_table(rows).replace_schema_metadata({_META_KEY: meta})
    target = root / RUNS / name
    tmp = target.with_name(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp, compression="none", write_statistics=False)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _shard_ids(file: Path) -> list[str] | None:
    """Task ids of a valid shard, or None when the file cannot be trusted."""
    try:
        meta = pq.read_metadata(file)
        kv = meta.metadata or {}
        info = json.loads(kv[_META_KEY])
        if (info.get("format") != STORE_FORMAT or meta.num_rows != info["n_rows"]
                or meta.schema.to_arrow_schema().names != SHARD_SCHEMA.names):
            return None
        ids = [str(i) for i in info["task_ids"]]
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None
    return ids


def write_failure(root: Path, task_id: str, record: dict[str, Any]) -> None:
    """Record that task ``task_id`` raised (its coordinates and traceback)."""
    _atomic_write_bytes(root / FAILED / f"{task_id}.json",
                        json.dumps(record, indent=2).encode())


def clear_failure(root: Path, task_id: str) -> None:
    (root / FAILED / f"{task_id}.json").unlink(missing_ok=True)


@dataclass
class StoreScan:
    """What a store directory holds.

    Attributes
    ----------
    done : dict
        ``task_id -> shard path`` of every finished task.
    failed : dict
        ``task_id -> failure record`` of tasks that raised and have not finished since.
    corrupt : list of Path
        Shards that cannot be trusted (unreadable footer, wrong row count or schema).
    temp : list of Path
        Leftover temporary files of killed writers.
    """

    done: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    corrupt: list[Path] = field(default_factory=list)
    temp: list[Path] = field(default_factory=list)


def scan_store(path: str | os.PathLike[str], *, repair: bool = False,
               owner: str = "scan_store") -> StoreScan:
    """Read the footers of all shards and the failure records of a store.

    With ``repair=True`` corrupt shards are moved to ``corrupt/`` and temporary files of
    killed writers are deleted (a resumed sweep does this before it runs anything).
    """
    root = _store_path(path, owner)
    scan = StoreScan()
    runs = root / RUNS
    for file in sorted(runs.iterdir()) if runs.is_dir() else []:
        if file.name.endswith(".tmp"):
            scan.temp.append(file)
            continue
        if not file.is_file():
            continue
        ids = _shard_ids(file) if _SHARD_RE.match(file.name) else None
        if ids is None:
            scan.corrupt.append(file)
            continue
        for task_id in ids:
            scan.done.setdefault(task_id, file)
    failed = root / FAILED
    for file in sorted(failed.iterdir()) if failed.is_dir() else []:
        if file.name.endswith(".tmp"):
            scan.temp.append(file)
            continue
        if not _FAILED_RE.match(file.name):
            continue
        try:
            record = json.loads(file.read_text())
        except (OSError, json.JSONDecodeError):
            scan.corrupt.append(file)
            continue
        task_id = file.stem
        if task_id not in scan.done:
            scan.failed[task_id] = record
    if repair:
        if scan.corrupt:
            (root / CORRUPT).mkdir(exist_ok=True)
        for file in scan.corrupt:
            os.replace(file, root / CORRUPT / f"{file.name}.{uuid.uuid4().hex[:8]}")
        for file in scan.temp:
            file.unlink(missing_ok=True)
    return scan


def store_status(path: str | os.PathLike[str]) -> dict[str, int]:
    """Counts of the tasks of the store's grid: ``total``, ``done``, ``failed``, ``pending``.

    Also ``corrupt``: the number of untrusted files (their tasks count as pending), and
    ``extra``: finished tasks that are not in the current grid (left by an extended grid).
    """
    owner = "store_status"
    manifest = read_manifest(path, owner=owner)
    scan = scan_store(path, owner=owner)
    ids = set(manifest["task_ids"])
    done = sum(1 for t in scan.done if t in ids)
    failed = sum(1 for t in scan.failed if t in ids)
    total = len(ids)
    return {"total": total, "done": done, "failed": failed, "pending": total - done - failed,
            "corrupt": len(scan.corrupt), "extra": sum(1 for t in scan.done if t not in ids)}


def _coordinate_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add one column per policy parameter (``policy.<name>``) and env kwarg (``env.<name>``)."""
    for source, prefix in (("policy_params", "policy."), ("env_kwargs", "env.")):
        parsed = {text: json.loads(text) for text in frame[source].unique()}
        keys = sorted({k for d in parsed.values() for k in d})
        for key in keys:
            def value(d: dict[str, Any], key: str = key) -> Any:
                v = d.get(key)
                return json.dumps(v) if isinstance(v, list | dict) else v
            mapping = {text: value(d) for text, d in parsed.items()}
            frame[prefix + key] = frame[source].map(mapping)
    labels = {}
    for (pol, params) in frame[["policy", "policy_params"]].drop_duplicates().itertuples(
            index=False):
        args = ", ".join(f"{k}={v}" for k, v in json.loads(params).items())
        labels[(pol, params)] = f"{pol}({args})"
    frame["label"] = [labels[k] for k in zip(frame["policy"], frame["policy_params"])]
    return frame


def load_store(path: str | os.PathLike[str], *, coordinates: bool = True) -> pd.DataFrame:
    """All finished tasks of a store as one tidy DataFrame (one row per task and checkpoint).

    Parameters
    ----------
    path : str or PathLike
        The store directory.
    coordinates : bool, default True
        Add a ``label`` column (e.g. ``UCB(alpha=2.0)``) and one column per policy parameter
        (``policy.alpha``) and env keyword (``env.means``; lists as JSON text), so the frame
        can be grouped by any grid coordinate.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`SHARD_SCHEMA` (plus the coordinate columns), sorted by
        ``task_id`` and ``t``. Corrupt shards are skipped with a :class:`BanditlabWarning`.
    """
    owner = "load_store"
    read_manifest(path, owner=owner)
    scan = scan_store(path, owner=owner)
    if scan.corrupt:
        warnings.warn(f"{owner}: skipped {len(scan.corrupt)} corrupt file(s) in "
                      f"{str(path)!r}: {', '.join(f.name for f in scan.corrupt)}. Run the "
                      "sweep again to move them aside and recompute their tasks.",
                      BanditlabWarning, stacklevel=2)
    files = sorted(set(scan.done.values()))
    if not files:
        frame = SHARD_SCHEMA.empty_table().to_pandas()
    else:
        table = pa.concat_tables([pq.read_table(f, schema=SHARD_SCHEMA) for f in files])
        frame = table.to_pandas()
        # a task run twice (two drivers on one store) is kept once
        frame = frame.drop_duplicates(subset=["task_id", "t"], keep="first")
        frame = frame.sort_values(["task_id", "t"], kind="stable").reset_index(drop=True)
    return _coordinate_columns(frame) if coordinates and len(frame) else frame


def load_failures(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Failed tasks (not finished since): ``task_id``, coordinates, ``error``, ``traceback``."""
    scan = scan_store(path, owner="load_failures")
    rows = [{"task_id": k, **v} for k, v in sorted(scan.failed.items())]
    return pd.DataFrame(rows, columns=["task_id", "policy", "policy_params", "env",
                                       "env_kwargs", "horizon", "seed_index", "error",
                                       "traceback"])


#: columns of load_store that are not coordinates of a curve (measurements and seeds)
_NOT_COORDINATES = {"task_id", "t", "regret", "recommendation", "best_arm", "wall_s", "pulls",
                    "seed_index", "env_seed", "policy_seed", "engine", "policy_params",
                    "env_kwargs", "label"}


def plot_store(path: str | os.PathLike[str], *, by: str | list[str] | tuple[str, ...] = "label",
               log: bool = False, band: tuple[float, float] | None = (0.1, 0.9)) -> Figure:
    """Mean cumulative regret vs rounds: one panel per env, one curve per value of ``by``.

    Envs are never averaged together: each distinct env (id and arguments) gets its own panel,
    titled by its parameters. ``by`` names columns of :func:`load_store` (``label``,
    ``policy``, ``horizon``, ``policy.<param>``, ``env.<kwarg>``, ...) that split a panel into
    curves. Runs are averaged at each checkpoint ``t`` within a curve, and the band spans the
    given quantiles over runs. A coordinate that still varies within one curve (say
    ``horizon``, when ``by`` does not name it) would be averaged silently, so it is refused
    with an error that names it.

    Returns the matplotlib ``Figure`` (its ``axes`` are the panels).
    """
    import matplotlib.pyplot as plt

    from banditlab.plot import regret_curve, style_regret_axes
    from banditlab.results import env_label

    owner = "plot_store"
    keys = [by] if isinstance(by, str) else list(by)
    if not keys or not all(isinstance(k, str) for k in keys):
        raise TypeError(f"{owner}: 'by' must be a column name or a list of column names; "
                        f"got {by!r}.")
    frame = load_store(path)
    if frame.empty:
        raise ValueError(f"{owner}: the store {str(path)!r} holds no finished tasks yet.")
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ValueError(f"{owner}: 'by' must name grid coordinates among "
                         f"{sorted(c for c in frame.columns if c not in ('t', 'regret'))}; "
                         f"got {missing[0]!r}.")
    coordinates = [c for c in frame.columns if c not in _NOT_COORDINATES and c not in keys]
    panels = list(frame.groupby(["env", "env_kwargs"], sort=True))
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 4.0 * nrows), squeeze=False)
    for (env, kwargs), (row, col) in zip((p[0] for p in panels),
                                         ((i // ncols, i % ncols) for i in range(len(panels))),
                                         strict=True):
        panel = frame[(frame["env"] == env) & (frame["env_kwargs"] == kwargs)]
        title = env_label(env.split("/")[-1], json.loads(kwargs))
        ax = axes[row][col]
        drawn = []
        for group, sub in panel.groupby(keys, sort=True, dropna=False):
            values = group if isinstance(group, tuple) else (group,)
            label = ", ".join(f"{k}={v}" if k != "label" else str(v)
                              for k, v in zip(keys, values, strict=True))
            varying = [c for c in coordinates if sub[c].nunique(dropna=False) > 1]
            if varying:
                c = varying[0]
                shown = sorted(map(str, sub[c].drop_duplicates()))[:4]
                raise ValueError(f"{owner}: {c!r} takes several values ({', '.join(shown)}) "
                                 f"within the curve {label!r} of {title}; add it to 'by' "
                                 "(--by) so that they are not averaged together.")
            stats = sub.groupby("t")["regret"]
            t = stats.mean().index.to_numpy()
            mean = stats.mean().to_numpy()
            lo = hi = None
            if band is not None and sub["task_id"].nunique() > 1:
                lo = stats.quantile(band[0]).to_numpy()
                hi = stats.quantile(band[1]).to_numpy()
            drawn.append(regret_curve(ax, t, mean, lo, hi, label=label, log=log))
        style_regret_axes(ax, log=log, title=title, drawn=any(drawn))
    for k in range(len(panels), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.tight_layout()
    return fig
