"""The sweep result store: a directory of Parquet shards plus a JSON manifest.

Layout of a store directory ``DIR``::

    DIR/manifest.json           the normalised grid, the root seed entropy, the task count
    DIR/runs/<shard>.parquet    finished tasks, one shard per finished executor batch
    DIR/failed/<task_id>.json   tasks that raised: their coordinates and traceback
    DIR/corrupt/                unreadable files moved aside by a resumed sweep
    DIR/lock                    while a driver runs: its pid and host (:class:`StoreLock`)

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
    pulls list<int64>, traces map<str, float64>, scalars map<str, float64>

``regret`` is each system's metric (:mod:`banditlab.systems`: pseudo-regret, or the objective
of block coordinate descent); ``traces`` holds the system's other values at the checkpoint
(``values``, ``upper``, ... of a cascading run) and ``scalars`` its per-run numbers
(``commit_gap`` of a streaming run, ``n_iter`` of BCD, ...), repeated on every row of the
task. :func:`load_store` turns each key of both into a column of its own. Shards written
before these two columns existed read as if both were empty.

so the store reads as one table from pandas (:func:`load_store`), pyarrow
(``pyarrow.dataset.dataset(DIR / "runs")``) or DuckDB
(``SELECT * FROM read_parquet('DIR/runs/*.parquet')``).

One driver at a time writes a store: :func:`banditlab.sweep.sweep` holds :class:`StoreLock`
while it runs, and a second driver on the same store is refused with a message naming the
first one's process and host. Readers (:func:`load_store`, :func:`store_status`) take no lock.
A write that fails (a full disk, a directory that cannot be written) raises ``OSError`` with
one line naming the file and what to do; the store keeps everything written before.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import itertools
import json
import os
import re
import socket
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from banditlab._validation import Boolean
from banditlab.errors import BanditlabWarning, ConfigError, StoreLockedError

#: POSIX record locks where the platform has them (elsewhere the pid/host check alone)
_fcntl: Any = importlib.import_module("fcntl") if os.name == "posix" else None

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # pragma: no cover

__all__ = [
    "LOCK",
    "MANIFEST",
    "SHARD_SCHEMA",
    "StoreLock",
    "StoreScan",
    "load_failures",
    "load_store",
    "plot_store",
    "read_manifest",
    "scan_store",
    "store_status",
]

MANIFEST = "manifest.json"
LOCK = "lock"
RUNS, FAILED, CORRUPT = "runs", "failed", "corrupt"
#: 2: seeds of run_many's derivation (banditlab._seeding); 1 (refused): per-coordinate seeds
STORE_FORMAT = 2
_META_KEY = b"banditlab.sweep"
_SHARD_RE = re.compile(r"^[0-9a-f]{32}\.parquet$")
_FAILED_RE = re.compile(r"^[0-9a-f]{16}\.json$")
_TASK_ID_RE = re.compile(r"^[0-9a-f]{16}$")

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
    ("traces", pa.map_(pa.string(), pa.float64())),
    ("scalars", pa.map_(pa.string(), pa.float64())),
])
#: the columns of shards written before ``traces`` and ``scalars`` (same format, readable)
_EARLIER_NAMES = SHARD_SCHEMA.names[:-2]
_METRIC_MAPS = ("traces", "scalars")


def _store_path(path: Any, owner: str, name: str = "store") -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{owner}: '{name}' must be a str or os.PathLike directory; "
                        f"got {type(path).__name__} {path!r}.")
    return Path(path)


def _write_error(exc: OSError, path: Path) -> OSError:
    """One-line ``OSError`` (same errno) for a store file or directory that cannot be written."""
    # pyarrow's errors carry the errno and a long text naming a temporary file
    reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "free disk space, then run the sweep again (finished tasks are kept)"
    else:
        advice = "choose a store directory that can be written (--store)"
    return OSError(exc.errno, f"sweep store: cannot write {str(path)!r} ({reason}); {advice}")


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        raise _write_error(exc, target) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` atomically (creates the store directories)."""
    for sub in (RUNS, FAILED):
        try:
            (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(exc, root / sub) from exc
    _atomic_write_bytes(root / MANIFEST, json.dumps(manifest, indent=2).encode())


def read_manifest(path: str | os.PathLike[str], *, owner: str = "read_manifest",
                  name: str = "store") -> dict[str, Any]:
    """The manifest of the store at ``path``; :class:`ConfigError` if there is none.

    ``name`` is the caller's parameter, named in the error messages.
    """
    root = _store_path(path, owner, name)
    file = root / MANIFEST
    if not file.is_file():
        raise ConfigError(f"{owner}: '{name}' must be a sweep store directory with a "
                          f"{MANIFEST}; got {str(root)!r}.")
    try:
        manifest = json.loads(file.read_bytes())
    except (ValueError, RecursionError) as exc:     # JSONDecodeError, UnicodeDecodeError
        raise ConfigError(f"{owner}: {str(file)!r} is not valid JSON ({exc}); the store is "
                          "damaged: restore the file or start a new store.") from None
    except OSError as exc:
        raise ConfigError(f"{owner}: cannot read {str(file)!r} ({exc.strerror or exc})."
                          ) from None
    if isinstance(manifest, dict) and manifest.get("format") == 1:
        raise ConfigError(f"{owner}: {str(file)!r} is a store of format 1, whose seeds were "
                          f"derived per task coordinates; this banditlab writes format "
                          f"{STORE_FORMAT} (run_many's seeds, banditlab.sweep): start a new "
                          "store, or read this one with the banditlab version that wrote it.")
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise ConfigError(f"{owner}: the manifest 'format' must be {STORE_FORMAT}; got "
                          f"{_short(got)} in {str(file)!r}.")
    _check_manifest(manifest, file, owner)
    return manifest


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_manifest(manifest: dict[str, Any], file: Path, owner: str) -> None:
    """Refuse a manifest whose fields a sweep cannot use (one line naming the field)."""
    entropy = manifest.get("entropy")
    ids = manifest.get("task_ids")
    checks = (
        ("grid", "a table (the normalised grid)", isinstance(manifest.get("grid"), dict)),
        ("entropy", "a non-negative int or a list of them",
         (isinstance(entropy, int) and not isinstance(entropy, bool) and entropy >= 0)
         or (isinstance(entropy, list) and bool(entropy)
             and all(isinstance(e, int) and not isinstance(e, bool) and e >= 0
                     for e in entropy))),
        ("task_ids", "a list of task ids (16 hex digits each)",
         isinstance(ids, list) and all(isinstance(t, str) and _TASK_ID_RE.match(t)
                                       for t in ids)),
        ("history", "a list of earlier grids", isinstance(manifest.get("history", []), list)),
    )
    for key, want, ok in checks:
        if not ok:
            got = "nothing" if key not in manifest else _short(manifest[key])
            raise ConfigError(f"{owner}: the manifest '{key}' must be {want}; got {got} in "
                              f"{str(file)!r}. The store is damaged: restore the file or "
                              "start a new store.")


def _map_array(names: list[list[str]], values: list[np.ndarray]) -> pa.MapArray:
    """A map column: row ``i`` maps ``names[i]`` to ``values[i]``."""
    sizes = np.array([len(n) for n in names], dtype=np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32))
    keys = pa.array([k for n in names for k in n], type=pa.string())
    items = pa.array(np.concatenate(values) if values else np.zeros(0), type=pa.float64())
    return pa.MapArray.from_arrays(offsets, keys, items)


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
        elif f.name == "traces":
            names, vals = [], []
            for r, n in zip(rows, lengths):
                traces = r.get("traces") or {}
                keys = sorted(traces)
                names += [keys] * int(n)
                if keys:     # row j of the task: every trace's value at checkpoint j
                    vals.append(np.stack([np.asarray(traces[k], dtype=np.float64)
                                          for k in keys], axis=1).ravel())
            arrays.append(_map_array(names, vals))
        elif f.name == "scalars":
            keys_of = [sorted(r.get("scalars") or {}) for r in rows]
            per = _map_array(keys_of, [np.array([r["scalars"][k] for k in keys],
                                                dtype=np.float64)
                                       for r, keys in zip(rows, keys_of) if keys])
            arrays.append(per.take(index))
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
    except OSError as exc:      # pyarrow raises OSError subclasses for a full disk
        raise _write_error(exc, target) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return target


def _shard_ids(file: Path) -> list[str] | None:
    """Task ids of a valid shard, or None when the file cannot be trusted."""
    try:
        meta = pq.read_metadata(file)
        kv = meta.metadata or {}
        info = json.loads(kv[_META_KEY])
        names = meta.schema.to_arrow_schema().names
        if (info.get("format") != STORE_FORMAT or meta.num_rows != info["n_rows"]
                or names not in (SHARD_SCHEMA.names, _EARLIER_NAMES)):
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


# -- one driver per store ---------------------------------------------------------------------
_HOST = socket.gethostname()
#: (st_dev, st_ino) of the store directories locked by this process: POSIX record locks never
#: conflict within one process, so a second sweep on a store from the same process is caught
#: here
_HELD: set[tuple[int, int]] = set()


def _pid_alive(pid: Any) -> bool:
    """Whether process ``pid`` runs on this host (a zombie, dead but not reaped, does not)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:             # e.g. EPERM: it exists, owned by another user
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _read_holder(fd: int) -> dict[str, Any] | None:
    """The record in an open lock file, or None when it is empty or unreadable."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        holder = json.loads(os.read(fd, 65536).decode())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class StoreLock:
    """Exclusive use of a sweep store by one driver, through the file ``DIR/lock``.

    The file records its holder (``{"pid": ..., "host": ..., "since": ...}``) and, where the
    platform has ``fcntl``, carries a POSIX record lock that the operating system releases
    when the holder ends, however it ends (SIGKILL included; forked worker processes do not
    inherit it). Acquiring it:

    * while a live driver holds it (or another sweep of this process):
      :class:`~banditlab.errors.StoreLockedError` naming the holder's pid and host;
    * when its holder is dead (a driver killed on this host): the lock is taken over;
    * when it names a process of another host, whose life cannot be checked from here:
      refused, and the message says to delete the file if no sweep runs there any more.

    Released normally, the file is deleted. A directory that did not exist is created, and
    removed again on release if it holds nothing else, so a refused grid leaves no store.

    Use it as a context manager::

        with StoreLock(root, owner="sweep"):
            ...   # read and write the store
    """

    def __init__(self, root: str | os.PathLike[str], *, owner: str = "sweep") -> None:
        self.root = _store_path(root, owner)
        self.owner = owner
        self.path = self.root / LOCK
        self._fd: int | None = None
        self._key: tuple[int, int] | None = None
        self._created = False

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _busy(self, holder: dict[str, Any] | None, *, checked: bool) -> StoreLockedError:
        root = str(self.root)
        if holder is None:
            who = "another process (its lock file names none yet)"
        else:
            who = (f"process {holder.get('pid')!r} on host {holder.get('host')!r} (since "
                   f"{holder.get('since')})")
        if checked:
            return StoreLockedError(f"{self.owner}: the store {root!r} is in use by {who}; "
                                    "wait for that sweep to end or stop it, then run again.")
        return StoreLockedError(f"{self.owner}: the store {root!r} is locked by {who}, which "
                                f"cannot be checked from host {_HOST!r}; if no sweep runs "
                                f"there any more, delete {str(self.path)!r} and run again.")

    def acquire(self) -> None:
        """Take the lock, or raise :class:`~banditlab.errors.StoreLockedError`."""
        if self._fd is not None:
            return
        created = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            st = self.root.stat()
        except OSError as exc:
            raise _write_error(exc, self.root) from exc
        self._created = created
        key = (st.st_dev, st.st_ino)
        if key in _HELD:
            raise StoreLockedError(f"{self.owner}: the store {str(self.root)!r} is in use by "
                                   "another sweep of this process; wait for it to end.")
        record = json.dumps({"pid": os.getpid(), "host": _HOST,
                             "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode()
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                self._remove_created()
                raise _write_error(exc, self.path) from exc
            taken = False
            try:
                recorded = self._try_lock(fd)
                if recorded is None:         # the holder deleted the file meanwhile: again
                    continue
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, record)
                taken = True
            except OSError as exc:
                self._remove_created()
                raise _write_error(exc, self.path) from exc
            except StoreLockedError:
                self._remove_created()
                raise
            finally:
                if not taken:
                    os.close(fd)
            self._fd, self._key = fd, key
            _HELD.add(key)
            return
        raise StoreLockedError(f"{self.owner}: the lock {str(self.path)!r} keeps changing "
                               "hands; another driver is starting on this store.")

    def _try_lock(self, fd: int) -> bool | None:
        """Lock the open file ``fd``: True, None when the path no longer names it, or raise."""
        locked = False
        if _fcntl is not None:
            try:
                _fcntl.lockf(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
                locked = True
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    raise self._busy(_read_holder(fd), checked=True) from None
                # ENOLCK and the like: no record locks on this filesystem; pid/host only
        if not _same_file(fd, self.path):
            return None
        holder = _read_holder(fd)
        if holder is not None:
            if holder.get("host") != _HOST:
                raise self._busy(holder, checked=False)
            # on this host a free record lock means its holder is gone; without record locks
            # the process named must be gone
            if not locked and holder.get("pid") != os.getpid() and _pid_alive(holder.get("pid")):
                raise self._busy(holder, checked=True)
        return True

    def _remove_created(self) -> None:
        if self._created:
            with contextlib.suppress(OSError):
                self.root.rmdir()           # only when empty

    def release(self) -> None:
        """Delete the lock file and release the lock (no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # deleted before the record lock is released: a driver waiting on the old file
            # then finds that the path names another file and starts again
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        finally:
            os.close(fd)
            if self._key is not None:
                _HELD.discard(self._key)
        self._remove_created()


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


def _grid_labels(entries: list[dict[str, Any]], head: str, fixed: str, brackets: str
                 ) -> dict[tuple[str, str], str]:
    """The labels that [[policies]] (or [[envs]]) entries of a grid give, by (name or id,
    canonical arguments): the label, followed by the values of the entry's axes that vary
    (``label(alpha=0.5)``) when it has any."""
    out: dict[tuple[str, str], str] = {}
    for e in entries:
        if "label" not in e:
            continue
        varying = [k for k, v in e["grid"].items() if len(v) > 1]
        for values in itertools.product(*e["grid"].values()):
            combo = dict(zip(e["grid"], values))
            key = json.dumps({**e[fixed], **combo}, sort_keys=True, separators=(",", ":"))
            args = ", ".join(f"{k}={combo[k]}" for k in varying)
            out[(e[head], key)] = (f"{e['label']}{brackets[:-1]}{args}{brackets[-1]}" if args
                                   else e["label"])
    return out


def _coordinate_columns(frame: pd.DataFrame, grid: dict[str, Any]) -> pd.DataFrame:
    """Add one column per policy parameter (``policy.<name>``) and env kwarg (``env.<name>``),
    and ``label``: the policy's label in the grid, else ``name(params)``."""
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
    given = _grid_labels(grid["policies"], "name", "params", "()")
    for (pol, params) in frame[["policy", "policy_params"]].drop_duplicates().itertuples(
            index=False):
        args = ", ".join(f"{k}={v}" for k, v in json.loads(params).items())
        canonical = json.dumps(json.loads(params), sort_keys=True, separators=(",", ":"))
        labels[(pol, params)] = given.get((pol, canonical), f"{pol}({args})")
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
        ``task_id`` and ``t``, with the ``traces`` and ``scalars`` maps expanded into one float
        column per key (their names are listed in ``frame.attrs["metrics"]``). Corrupt shards
        are skipped with a :class:`BanditlabWarning`.
    """
    owner = "load_store"
    coordinates = Boolean().check(coordinates, "coordinates", owner)
    manifest = read_manifest(path, owner=owner, name="path")
    scan = scan_store(path, owner=owner)
    if scan.corrupt:
        warnings.warn(f"{owner}: skipped {len(scan.corrupt)} corrupt file(s) in "
                      f"{str(path)!r}: {', '.join(f.name for f in scan.corrupt)}. Run the "
                      "sweep again to move them aside and recompute their tasks.",
                      BanditlabWarning, stacklevel=2)
    files = sorted(set(scan.done.values()))
    if not files:
        frame = _expand_metrics(SHARD_SCHEMA.empty_table())
        metrics = []
    else:
        table = pa.concat_tables([_read_shard(f) for f in files])
        frame = _expand_metrics(table)
        metrics = list(frame.attrs.get("metrics", []))
        # a task run twice (two drivers on one store) is kept once
        frame = frame.drop_duplicates(subset=["task_id", "t"], keep="first")
        frame = frame.sort_values(["task_id", "t"], kind="stable").reset_index(drop=True)
    if coordinates and len(frame):
        frame = _coordinate_columns(frame, manifest["grid"])
    frame.attrs["metrics"] = metrics
    return frame


def _read_shard(file: Path) -> pa.Table:
    """A shard as a table of :data:`SHARD_SCHEMA` (empty maps for an earlier shard)."""
    names = pq.read_schema(file).names
    if names == SHARD_SCHEMA.names:
        return pq.read_table(file, schema=SHARD_SCHEMA)
    table = pq.read_table(file, schema=pa.schema([SHARD_SCHEMA.field(n) for n in names]))
    for name in _METRIC_MAPS:
        empty = _map_array([[]] * table.num_rows, [])
        table = table.append_column(SHARD_SCHEMA.field(name), empty)
    return table


def _expand_metrics(table: pa.Table) -> pd.DataFrame:
    """The table as a frame, each key of the ``traces`` and ``scalars`` maps a float column
    of its own (NaN where a row's task does not have it)."""
    frame = table.drop_columns(list(_METRIC_MAPS)).to_pandas()
    for name in _METRIC_MAPS:
        column = table.column(name).combine_chunks()
        offsets = np.asarray(column.offsets)
        keys = np.asarray(column.keys.to_pandas(), dtype=object)
        items = column.items.to_numpy(zero_copy_only=False)
        rows = np.repeat(np.arange(len(frame)), np.diff(offsets))
        for key in sorted(set(keys.tolist())):
            values = np.full(len(frame), np.nan)
            mask = keys == key
            values[rows[mask]] = items[mask]
            column_name = key if key not in frame.columns else f"{name}.{key}"
            frame[column_name] = values
            frame.attrs.setdefault("metrics", []).append(column_name)
    return frame


def load_failures(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Failed tasks (not finished since): ``task_id``, coordinates, ``error``, ``traceback``."""
    scan = scan_store(path, owner="load_failures")
    rows = [{"task_id": k, **v} for k, v in sorted(scan.failed.items())]
    return pd.DataFrame(rows, columns=["task_id", "policy", "policy_params", "env",
                                       "env_kwargs", "horizon", "seed_index", "error",
                                       "traceback"])


#: longest panel title of plot_store (longer env labels are cut and get a digest)
_TITLE_CHARS = 70
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
    from banditlab.registry import ALGORITHMS
    from banditlab.results import env_label
    from banditlab.systems import system_for

    owner = "plot_store"
    keys = [by] if isinstance(by, str) else list(by)
    if not keys or not all(isinstance(k, str) for k in keys):
        raise TypeError(f"{owner}: 'by' must be a column name or a list of column names; "
                        f"got {by!r}.")
    frame = load_store(path)
    env_titles = _grid_labels(read_manifest(path, owner="plot_store", name="path")["grid"]["envs"],
                              "id", "kwargs", " ()")
    if frame.empty:
        raise ValueError(f"{owner}: the store {str(path)!r} holds no finished tasks yet.")
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ValueError(f"{owner}: 'by' must name grid coordinates among "
                         f"{sorted(c for c in frame.columns if c not in ('t', 'regret'))}; "
                         f"got {missing[0]!r}.")
    metrics = set(frame.attrs.get("metrics", ()))
    coordinates = [c for c in frame.columns if c not in _NOT_COORDINATES and c not in keys
                   and c not in metrics]
    panels = list(frame.groupby(["env", "env_kwargs"], sort=True))
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 4.0 * nrows), squeeze=False)
    for (env, kwargs), (row, col) in zip((p[0] for p in panels),
                                         ((i // ncols, i % ncols) for i in range(len(panels))),
                                         strict=True):
        panel = frame[(frame["env"] == env) & (frame["env_kwargs"] == kwargs)]
        canonical = json.dumps(json.loads(kwargs), sort_keys=True, separators=(",", ":"))
        title = env_titles.get((env, canonical),
                               env_label(env.split("/")[-1], json.loads(kwargs)))
        if len(title) > _TITLE_CHARS:      # kwargs of nested lists: keep the panel readable
            digest = hashlib.sha256(canonical.encode()).hexdigest()[:6]
            title = f"{title[:_TITLE_CHARS - 12]}...)#{digest}"
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
        first = panel["policy"].iloc[0]
        protocol = ALGORITHMS.protocol_name(first) if first in ALGORITHMS else "KARMED"
        system = system_for(protocol)
        style_regret_axes(ax, log=log, title=title, drawn=any(drawn), x_label=system.x_label,
                          y_label=system.metric)
    for k in range(len(panels), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    fig.tight_layout()
    return fig
