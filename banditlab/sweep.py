"""Experiment sweeps: a grid of (policy, parameters, env, horizon, seed) runs, resumable.

A *grid* is an experiment file (:mod:`banditlab.config`, the one schema of ``banditlab run``
and ``banditlab sweep``) whose ``grid`` tables and ``horizon`` may list several values, read
from TOML (:func:`load_grid`) or given as a dict::

    name = "ucb-vs-ts"                 # optional, free text
    seed = 2024                        # root entropy; omitted: fresh entropy, recorded
    n_seeds = 20                       # runs per cell (default 10): seed indices 0 .. n_seeds-1
    horizon = [1000, 10000]            # an int or a list of ints (a grid axis)
    engine = "auto"                    # 'auto' | 'kernel' | 'python'
    check_rewards = true               # refuse a policy whose reward model an env breaks
    checkpoints = "auto"               # as banditlab run: 'auto' (default), 'log', int or list

    [[policies]]
    name = "UCB"                       # a registered algorithm of any protocol (or "module:Class")
    label = "UCB"                      # optional: the curve's name (plus the varying axes)
    params = {}                        # fixed keyword arguments
    grid = { alpha = [0.5, 2.0] }      # each key is an axis: one cell per combination

    [[policies]]
    name = "ThompsonSampling"

    [[envs]]
    id = "banditlab/BernoulliBandit-v0"   # a banditlab env id or any gymnasium id
    kwargs = { means = [0.2, 0.5, 0.7] }  # fixed keyword arguments ({ linspace = [...] } too)
    grid = {}                             # axes, as for policies

The cells are the product of (policy x its parameter axes) x (env x its keyword axes) x
horizons; each cell has ``n_seeds`` *tasks*, one run each. Every system runs in a sweep: a
task is one :meth:`banditlab.systems.System.run_one` of the algorithm's system (bandit,
streaming, cascading, BPI, block descent), and its traces and per-run numbers become columns of
the store. ``n_arms`` (and ``n_features`` for
contextual policies) come from the env, and a policy's ``horizon``/``budget`` argument from the
task's horizon, as in ``banditlab run`` (:func:`banditlab.config.fill_policy_args`). When the
env's constructor takes ``horizon`` and its kwargs do not set it, the task's horizon is passed
to the env. Labels name curves in :func:`banditlab.store.load_store` (``label`` column) and
panels in plots; they are not task coordinates.

Seeds
-----
Seed index ``i`` of every cell gets the seeds of run ``i`` of :func:`banditlab.run_many` with
the same root entropy: ``(env_seed, policy_seed) = SeedSequence(entropy, spawn_key=(i,))
.generate_state(2, uint64)`` (the one derivation of the library, :mod:`banditlab._seeding`;
:func:`task_seeds` computes it). So a cell's numbers equal ``run_many(policy, env, horizon,
n_runs=n_seeds, seed=entropy)`` and ``banditlab run`` with that seed, whatever the executor, the
batch, the order of execution or the number of workers; and all cells see the same reward
noise for the same seed index (common random numbers, which lowers the variance of
comparisons). Stores written before this derivation (format 1) are refused; start a new one.

A task's id is the first 16 hex digits of the SHA-256 of its canonical coordinates (the cell
plus ``seed_index``). Parameters are compared as written: ``alpha = 2`` and ``alpha = 2.0``
are different cells.

Execution and the store
-----------------------
Tasks are grouped into batches (one executor submission each, tasks of one cell together, so
the env and policy are built once per batch); each finished batch is written by the driver as
one Parquet shard of the store (:mod:`banditlab.store`). The serial and local-process
executors run the batches through :func:`banditlab.parallel.parallel_map` (a batch whose worker
process died is run again, see ``max_pool_restarts``). A task that raises is recorded with
its traceback in ``failed/`` and the sweep goes on. Running the same sweep again skips finished
tasks and retries failed ones; a different grid is refused unless ``extend=True``.

One driver at a time: :func:`sweep` holds the store's lock (:class:`banditlab.store.StoreLock`)
while it runs, and a second driver on the same store is refused with a message naming the
first one's process and host. ``KeyboardInterrupt`` (Ctrl-C) stops a sweep at once: local
worker processes are killed, every batch already received is written whole (an interrupt
waits for the shard being written), and running the sweep again resumes. Local workers also
exit by themselves when the driver is killed (see :mod:`banditlab.parallel`).

Limits
------
The work a grid asks for is estimated before anything runs, and a grid beyond
:mod:`banditlab.limits` is refused with the estimate in the message
(:class:`~banditlab.errors.ConfigError`): at most ``MAX_CELLS`` cells, ``MAX_TASKS`` tasks,
``MAX_STEPS`` rounds in all (tasks x horizon), ``MAX_CHECKPOINTS`` evenly spaced checkpoints,
horizons up to 2**62, values nested at most ``MAX_DEPTH`` levels; a batch's results within
half the memory available now. A store that would not fit the free disk space is refused with
``OSError`` (``ENOSPC``). The size of a task in the store is about
``8 x checkpoints x (arms + 12)`` bytes: every checkpoint is a row with the pulls of every arm.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import errno
import hashlib
import itertools
import json
import math
import os
import shutil
import signal
import threading
import time
import tomllib
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from banditlab import limits
from banditlab._seeding import as_seed_sequence, run_seed_pair
from banditlab._validation import (
    MAX_HORIZON,
    MEMORY_FRACTION,
    Integer,
    _got,
    available_memory,
)
from banditlab.config import DEFAULT_SEEDS, expand_arrays, old_dialect_error
from banditlab.errors import ConfigError
from banditlab.parallel import ProgressBar, TaskFailure, available_cpus, parallel_map
from banditlab.store import (
    LOCK,
    MANIFEST,
    STORE_FORMAT,
    StoreLock,
    clear_failure,
    read_manifest,
    scan_store,
    write_failure,
    write_manifest,
    write_shard,
)

__all__ = [
    "SweepSummary",
    "Task",
    "expand_grid",
    "load_grid",
    "normalize_grid",
    "run_tasks",
    "sweep",
    "task_seeds",
]

_TOP_KEYS = {"name", "seed", "n_seeds", "horizon", "engine", "checkpoints", "policies", "envs",
             "check_rewards"}
#: grid keys that do not change any task's result (ignored when a store's grid is compared)
_RUN_OPTIONS = ("name", "check_rewards")
_POLICY_KEYS = {"name", "label", "params", "grid"}
_ENV_KEYS = {"id", "label", "kwargs", "grid"}
#: default cap on the steps (runs x horizon) of one batch, so a batch lasts well under a second
BATCH_MAX_STEPS = 5_000_000
BATCH_MAX_TASKS = 256
#: default cap on the estimated store size of one batch (bytes), so its shard fits in memory
BATCH_MAX_BYTES = 2**27
#: per checkpoint row of a shard: the numeric columns, besides the pulls (8 bytes per arm)
_ROW_WORDS = 12


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


# -- grid spec --------------------------------------------------------------------------------
def load_grid(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a grid from a TOML file and normalise it (see :func:`normalize_grid`)."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"load_grid: 'path' must be a str or os.PathLike; got "
                        f"{type(path).__name__} {path!r}.")
    file = Path(path)
    try:
        with open(file, "rb") as fh:
            spec = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"sweep config: no such file {str(file)!r}.") from None
    except OSError as exc:
        raise ConfigError(f"sweep config: cannot read {str(file)!r} ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep config: {str(file)!r} is not valid TOML "
                          f"({limits.clip(str(exc))}).") from None
    except RecursionError:
        raise ConfigError(f"sweep config: {str(file)!r} has arrays or tables nested too deeply "
                          f"to read (the limit is {limits.MAX_DEPTH} levels, "
                          "banditlab.limits.MAX_DEPTH); flatten them.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"sweep config: {str(file)!r} is not UTF-8 text ({exc}).") from None
    return normalize_grid(spec)


def _cfg_error(field: str, want: str, got: Any) -> ConfigError:
    text = repr(got)
    text = text if len(text) <= 80 else text[:77] + "..."
    return ConfigError(f"sweep config: '{field}' must be {want}; got {text}.")


def _check_keys(table: Any, allowed: set[str], where: str) -> None:
    if not isinstance(table, Mapping):
        raise _cfg_error(where, "a table (dict)", table)
    unknown = sorted(set(table) - allowed)
    if unknown:
        name = f"{where}.{unknown[0]}" if where else unknown[0]
        raise _cfg_error(name, f"one of the known keys {sorted(allowed)}", unknown[0])


def _check_value_table(table: Any, where: str, *, axes: bool) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise _cfg_error(where, "a table (dict) of keyword arguments", table)
    out: dict[str, Any] = {}
    for key, value in table.items():
        try:                                   # { linspace = [start, stop, num] } -> a list
            value = expand_arrays(value, f"{where}.{key}")
        except ConfigError as exc:
            raise ConfigError(f"sweep config: {exc}") from None
        if axes and (not isinstance(value, list) or not value):
            raise _cfg_error(f"{where}.{key}", "a non-empty list of values (a grid axis)",
                             value)
        try:
            _canonical(value)
        except (TypeError, ValueError):
            raise _cfg_error(f"{where}.{key}", "JSON-like data (numbers, strings, booleans, "
                             "lists, tables; no NaN)", value) from None
        out[str(key)] = value
    return out


def _positive_int(value: Any, field: str, high: int | None = None) -> int:
    if (isinstance(value, bool) or not isinstance(value, int) or value < 1
            or (high is not None and value > high)):
        raise _cfg_error(field, f"an int in [1, {'inf)' if high is None else f'{high}]'}",
                         value)
    return int(value)


def normalize_grid(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Check a grid spec (dict as read from TOML) and return its canonical form.

    Raises :class:`~banditlab.errors.ConfigError` naming the offending field for unknown keys,
    unknown policies or env ids, values of the wrong kind, and grids asking for more cells,
    tasks or rounds than :mod:`banditlab.limits` allows (counted without expanding the grid).
    The canonical form has every key filled in (``seed`` stays ``None`` when omitted) and lists
    for ``horizon``.
    """
    from banditlab.registry import ALGORITHMS, POLICY_NAMES
    from banditlab.systems import env_catalogue

    old = old_dialect_error(spec)
    if old is not None:
        raise ConfigError(f"sweep config: {old}")
    _check_keys(spec, _TOP_KEYS, "")
    deep = limits.too_deep(dict(spec), limits.MAX_DEPTH)
    if deep is not None:
        raise ConfigError(f"sweep config: '{limits.format_path(deep)}' has arrays or tables "
                          f"nested more than {limits.MAX_DEPTH} levels deep "
                          "(banditlab.limits.MAX_DEPTH); flatten the value.")
    seed = spec.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise _cfg_error("seed", "a non-negative int (or omitted)", seed)
    n_seeds = _positive_int(spec.get("n_seeds", DEFAULT_SEEDS), "n_seeds")
    if "horizon" not in spec:
        raise _cfg_error("horizon", "an int or a non-empty list of ints", None)
    horizon = spec["horizon"]
    horizons = horizon if isinstance(horizon, list) else [horizon]
    if not horizons:
        raise _cfg_error("horizon", "an int or a non-empty list of ints", horizon)
    horizons = [_positive_int(h, "horizon", MAX_HORIZON) for h in horizons]
    if len(set(horizons)) != len(horizons):
        raise _cfg_error("horizon", "a list of distinct ints", horizon)
    engine = spec.get("engine", "auto")
    if engine not in ("auto", "kernel", "python"):
        raise _cfg_error("engine", "one of ['auto', 'kernel', 'python']", engine)
    checkpoints = spec.get("checkpoints", "auto")
    ok_ck = (checkpoints in ("log", "auto") or (isinstance(checkpoints, int)
                                      and not isinstance(checkpoints, bool) and checkpoints >= 1)
             or (isinstance(checkpoints, list) and checkpoints
                 and all(isinstance(c, int) and not isinstance(c, bool) for c in checkpoints)))
    if not ok_ck:
        raise _cfg_error("checkpoints", "'auto', 'log', an int in [1, inf) or a list of ints",
                         checkpoints)
    if isinstance(checkpoints, list) and (
            checkpoints[0] < 1 or checkpoints[-1] > min(horizons)
            or any(b <= a for a, b in itertools.pairwise(checkpoints))):
        raise _cfg_error("checkpoints", f"a list of strictly increasing ints in "
                         f"[1, {min(horizons)}] (the shortest horizon)", checkpoints)
    if (isinstance(checkpoints, int) and not isinstance(checkpoints, bool)
            and min(checkpoints, max(horizons)) > limits.MAX_CHECKPOINTS):
        raise _cfg_error("checkpoints", f"at most {limits.MAX_CHECKPOINTS} evenly spaced rounds "
                         "(banditlab.limits.MAX_CHECKPOINTS)", checkpoints)
    name = spec.get("name", "")
    if not isinstance(name, str):
        raise _cfg_error("name", "a string", name)
    check_rewards = spec.get("check_rewards", True)
    if not isinstance(check_rewards, bool):
        raise _cfg_error("check_rewards", "a bool", check_rewards)

    policies = spec.get("policies")
    if not isinstance(policies, list) or not policies:
        raise _cfg_error("policies", "a non-empty list of tables ([[policies]])", policies)
    envs = spec.get("envs")
    if isinstance(envs, list) and len(policies) * len(envs) > limits.MAX_CELLS:
        _refuse_cells(len(policies) * len(envs), f"{len(policies)} [[policies]] x "
                      f"{len(envs)} [[envs]] at least")
    pol_out = []
    for i, p in enumerate(policies):
        where = f"policies[{i}]"
        _check_keys(p, _POLICY_KEYS, where)
        if p.get("name") not in POLICY_NAMES:
            raise _cfg_error(f"{where}.name", f"one of {sorted(ALGORITHMS)} or an import path "
                             "'module:Class' of a Policy", p.get("name"))
        params, grid = _fixed_and_axes(p, "params", where)
        pol_out.append({"name": p["name"], "params": params, "grid": grid,
                        **_label(p, where)})

    if not isinstance(envs, list) or not envs:
        raise _cfg_error("envs", "a non-empty list of tables ([[envs]])", envs)
    env_out = []
    catalogue = env_catalogue()
    for i, e in enumerate(envs):
        where = f"envs[{i}]"
        _check_keys(e, _ENV_KEYS, where)
        env_id = e.get("id")
        if not isinstance(env_id, str) or (env_id not in catalogue
                                           and env_id not in gym.envs.registry):
            raise _cfg_error(f"{where}.id", f"a registered env id such as {sorted(catalogue)}",
                             env_id)
        kwargs, grid = _fixed_and_axes(e, "kwargs", where)
        env_out.append({"id": env_id, "kwargs": kwargs, "grid": grid, **_label(e, where)})
    _check_size(pol_out, env_out, horizons, n_seeds)
    return {"name": name, "seed": seed, "n_seeds": n_seeds, "horizon": horizons,
            "engine": engine, "checkpoints": checkpoints, "policies": pol_out, "envs": env_out,
            "check_rewards": check_rewards}


def _label(table: Mapping[str, Any], where: str) -> dict[str, str]:
    """``{"label": ...}`` when the table names one (shown in plots; not a task coordinate)."""
    if "label" not in table:
        return {}
    label = table["label"]
    if not isinstance(label, str) or not label.strip():
        raise _cfg_error(f"{where}.label", "a non-empty string", label)
    return {"label": label}


def _refuse_cells(n_cells: int, how: str) -> None:
    raise ConfigError(f"sweep config: the grid has {limits.count(n_cells)} cells ({how}), more "
                      f"than {limits.count(limits.MAX_CELLS)} (banditlab.limits.MAX_CELLS); "
                      "split it into several grids (and stores).")


def _check_size(policies: list[dict[str, Any]], envs: list[dict[str, Any]],
                horizons: list[int], n_seeds: int) -> None:
    """Refuse too many cells, tasks or rounds, counted without expanding the grid."""
    def combos(entries: list[dict[str, Any]]) -> int:
        return sum(math.prod(len(v) for v in e["grid"].values()) for e in entries)

    n_pol, n_env = combos(policies), combos(envs)
    per_horizon = n_pol * n_env
    cells = per_horizon * len(horizons)
    if cells > limits.MAX_CELLS:
        _refuse_cells(cells, f"{n_pol} policy settings x {n_env} env settings x "
                      f"{len(horizons)} horizons")
    tasks = cells * n_seeds
    if tasks > limits.MAX_TASKS:
        raise ConfigError(f"sweep config: the grid has {limits.count(tasks)} tasks ({cells} cells "
                          f"x n_seeds={n_seeds}), more than {limits.count(limits.MAX_TASKS)} "
                          "(banditlab.limits.MAX_TASKS); lower 'n_seeds' or split the grid "
                          "into several stores.")
    steps = per_horizon * n_seeds * sum(horizons)
    if steps > limits.MAX_STEPS:
        raise ConfigError(f"sweep config: the grid asks for {limits.count(steps)} rounds "
                          f"({tasks} tasks x horizon {'+'.join(map(str, horizons[:4]))}"
                          f"{'...' if len(horizons) > 4 else ''} per cell), more than "
                          f"{limits.MAX_STEPS:.3g} (banditlab.limits.MAX_STEPS); lower "
                          "'horizon' or 'n_seeds'.")


def _fixed_and_axes(table: dict[str, Any], fixed_key: str, where: str
                    ) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A policy's or env's fixed arguments (``fixed_key``) and its grid axes, disjoint."""
    fixed = _check_value_table(table.get(fixed_key, {}), f"{where}.{fixed_key}", axes=False)
    grid = _check_value_table(table.get("grid", {}), f"{where}.grid", axes=True)
    both = sorted(set(fixed) & set(grid))
    if both:
        raise _cfg_error(f"{where}.grid.{both[0]}", f"absent from '{fixed_key}' (a key is "
                         "either fixed or an axis)", both[0])
    return fixed, grid


def _combos(fixed: dict[str, Any], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = sorted(grid)
    return [{**fixed, **dict(zip(keys, values))}
            for values in itertools.product(*(grid[k] for k in keys))]


class Task(NamedTuple):
    """One run of a sweep: a cell of the grid and a seed index, with its derived seeds."""

    task_id: str
    policy: str
    policy_params: dict[str, Any]
    env: str
    env_kwargs: dict[str, Any]
    horizon: int
    engine: str
    checkpoints: Any
    seed_index: int
    env_seed: int
    policy_seed: int
    #: refuse the cell if the env breaks the policy's reward model (not a coordinate)
    check_rewards: bool = True

    def coordinates(self) -> dict[str, Any]:
        """The coordinates of the task (what its id and seeds are computed from)."""
        return {"policy": self.policy, "policy_params": self.policy_params, "env": self.env,
                "env_kwargs": self.env_kwargs, "horizon": self.horizon, "engine": self.engine,
                "checkpoints": self.checkpoints, "seed_index": self.seed_index}


def task_seeds(entropy: int | list[int], coordinates: Mapping[str, Any]) -> tuple[int, int]:
    """``(env_seed, policy_seed)`` of the task with these coordinates (module docstring): those
    of run ``seed_index`` of :func:`banditlab.run_many` under the same entropy."""
    return run_seed_pair(entropy, int(coordinates["seed_index"]))


def expand_grid(grid: Mapping[str, Any], entropy: int | list[int] | None = None) -> list[Task]:
    """All tasks of a grid in a fixed order (cell by cell, seed indices within a cell).

    ``entropy`` defaults to the grid's ``seed``; one of the two must be given.
    """
    g = normalize_grid(grid)
    if entropy is None:
        entropy = g["seed"]
    if entropy is None:
        raise ConfigError("sweep config: 'seed' must be a non-negative int to expand a grid "
                          "without a store; got None.")
    tasks = []
    seeds = [run_seed_pair(entropy, i) for i in range(g["n_seeds"])]
    for p in g["policies"]:
        for pparams in _combos(p["params"], p["grid"]):
            for e in g["envs"]:
                for ekw in _combos(e["kwargs"], e["grid"]):
                    for h in g["horizon"]:
                        cell = {"policy": p["name"], "policy_params": pparams, "env": e["id"],
                                "env_kwargs": ekw, "horizon": h, "engine": g["engine"],
                                "checkpoints": g["checkpoints"]}
                        cell_text = _canonical(cell)
                        for i in range(g["n_seeds"]):
                            # 'seed_index' sorts last: this is _canonical({**cell, ...})
                            text = f'{cell_text[:-1]},"seed_index":{i}}}'
                            tid = hashlib.sha256(text.encode()).hexdigest()[:16]
                            tasks.append(Task(tid, p["name"], pparams, e["id"], ekw, h,
                                              g["engine"], g["checkpoints"], i, *seeds[i],
                                              g["check_rewards"]))
    ids = [t.task_id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ConfigError("sweep config: the grid lists the same cell twice (duplicate "
                          "policies, envs or axis values).")
    return tasks


# -- running tasks (worker side) --------------------------------------------------------------
def _make_pair(task: Mapping[str, Any]) -> tuple[Any, Any, np.ndarray, str]:
    """The algorithm, env, checkpoints and engine of a task's cell, checked by its system
    (:mod:`banditlab.systems`)."""
    from banditlab.registry import POLICY_NAMES
    from banditlab.systems import env_family, make_env, runs_on, system_for

    env = make_env(task["env"], task["env_kwargs"], task["horizon"])
    cls = POLICY_NAMES[task["policy"]]
    system = system_for(cls.protocol)
    family = env_family(env)
    if family not in runs_on(cls.protocol):
        raise ValueError(f"{task['policy']} follows {cls.protocol.name} and runs on "
                         f"{' or '.join(repr(f) for f in runs_on(cls.protocol))} envs; "
                         f"{task['env']} is a {family!r} env.")
    for arg in system.from_env:
        if arg in task["policy_params"]:
            raise ValueError(f"'{arg}' is set from each env; remove it from the policy's "
                             "params.")
    agent = system.build(cls, task["policy_params"], env, task["horizon"])
    engine = system.check(agent, env, task["horizon"], task["engine"],
                          task.get("check_rewards", True), "sweep")
    ck = system.checkpoints(task["horizon"], task["checkpoints"], "sweep")
    return agent, env, ck, engine


_local = threading.local()


def _cell_objects(task: Mapping[str, Any]) -> tuple[Any, Any, np.ndarray, str]:
    """Env, policy, checkpoints and engine of a task's cell, cached per worker thread."""
    key = _canonical({k: task[k] for k in ("policy", "policy_params", "env", "env_kwargs",
                                            "horizon", "engine", "checkpoints")})
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = {}
    if key not in cache:
        if len(cache) >= 32:
            cache.pop(next(iter(cache)))
        cache[key] = _make_pair(task)
    return cache[key]


def _run_task(task: Mapping[str, Any]) -> dict[str, Any]:
    from banditlab.systems import system_for

    start = time.perf_counter()
    try:
        agent, env, ck, engine = _cell_objects(task)
        rec = system_for(agent.protocol).run_one(agent, env, int(task["horizon"]), ck, engine,
                                                 int(task["env_seed"]),
                                                 int(task["policy_seed"]))
    except Exception as exc:
        return {"task_id": task["task_id"], "ok": False,
                "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    return {"task_id": task["task_id"], "ok": True, "engine": rec.engine, "t": rec.t,
            "regret": rec.regret, "pulls": rec.pulls, "recommendation": rec.recommendation,
            "best_arm": rec.best_arm, "traces": rec.traces, "scalars": rec.scalars,
            "wall_s": time.perf_counter() - start}


def run_tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run a batch of tasks (dicts of :meth:`Task._asdict`) in this process.

    This is the function the executors call. A task that raises gives ``{"ok": False, ...}``
    with the error and traceback; the others are unaffected.
    """
    return [_run_task(t) for t in tasks]


# -- driver -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSummary:
    """Outcome of :func:`sweep`.

    Attributes
    ----------
    store : Path
    total : int
        Tasks in the grid.
    skipped : int
        Tasks already finished in the store before this call.
    done, failed : int
        Tasks finished / failed at the end of this call (all of the grid).
    ran : int
        Tasks run by this call.
    wall_time_s : float
    """

    store: Path
    total: int
    skipped: int
    done: int
    failed: int
    ran: int
    wall_time_s: float

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed


def _executor_kind(executor: Any) -> tuple[str, int]:
    """('serial' | 'local' | 'futures' | 'dask', number of workers)."""
    if executor is None:
        return "local", available_cpus()
    if executor == "serial":
        return "serial", 1
    if isinstance(executor, int) and not isinstance(executor, bool):
        return "local", int(Integer(1, None).check(executor, "executor", "sweep"))
    if isinstance(executor, cf.Executor):
        return "futures", int(getattr(executor, "_max_workers", None) or available_cpus())
    if type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "gather"):
        info = executor.scheduler_info()
        n = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        return "dask", max(n, 1)
    raise TypeError("sweep: 'executor' must be None (local processes), 'serial', an int "
                    "(number of local processes), a concurrent.futures.Executor or a "
                    f"dask.distributed.Client; got {type(executor).__name__} {executor!r}.")


def _batches(tasks: list[Task], sizes: list[int], n_workers: int, batch_size: int | str
             ) -> list[list[dict]]:
    """Consecutive tasks grouped into batches (``sizes``: each task's bytes in the store)."""
    if batch_size == "auto":
        size = max(1, min(BATCH_MAX_TASKS, math.ceil(len(tasks) / (4 * n_workers))))
    else:
        size = int(batch_size)
    out: list[list[dict]] = []
    cur: list[dict] = []
    cur_steps = cur_bytes = 0
    for t, nbytes in zip(tasks, sizes, strict=True):
        too_long = batch_size == "auto" and cur and (cur_steps + t.horizon > BATCH_MAX_STEPS
                                                     or cur_bytes + nbytes > BATCH_MAX_BYTES)
        if len(cur) >= size or too_long:
            out.append(cur)
            cur, cur_steps, cur_bytes = [], 0, 0
        cur.append(t._asdict())
        cur_steps += t.horizon
        cur_bytes += nbytes
    if cur:
        out.append(cur)
    return out


def _fmt_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    for key in ("seed", "n_seeds", "horizon", "engine", "checkpoints", "policies", "envs"):
        if old.get(key) != new.get(key):
            return f"'{key}' is {_canonical(old.get(key))[:60]} in the store, " \
                   f"{_canonical(new.get(key))[:60]} here"
    return "the grids differ"


def _open_store(root: Path, grid: dict[str, Any], extend: bool) -> tuple[list[Task], list[int]]:
    """Create the store or check the grid against its manifest; return the grid's tasks and
    the estimated bytes of each in the store.

    Every cell is validated before a manifest is written, so a rejected grid leaves no store.
    The caller holds the store's lock.
    """
    if (root / MANIFEST).exists():
        manifest = read_manifest(root, owner="sweep")
        old = manifest["grid"]
        new = dict(grid)
        if new["seed"] is None:
            new["seed"] = old.get("seed")
        entropy = manifest["entropy"]
        same = {k: v for k, v in old.items() if k not in _RUN_OPTIONS} == \
            {k: v for k, v in new.items() if k not in _RUN_OPTIONS}
        if not same:
            if not extend:
                raise ConfigError(f"sweep: the grid in the store {str(root)!r} differs from "
                                  f"the one given ({_fmt_diff(old, new)}); pass extend=True "
                                  "(--extend) to add the new tasks to this store, or use "
                                  "another store directory.")
            if new["seed"] != old.get("seed"):
                raise ConfigError(f"sweep: 'seed' must match the store to extend it "
                                  f"(seeds of finished tasks would change); the store has "
                                  f"{old.get('seed')!r}, got {grid['seed']!r}.")
            tasks = expand_grid(new, entropy)
            manifest = {**manifest, "grid": new, "task_ids": [t.task_id for t in tasks],
                        "history": [*manifest.get("history", []), old]}
            sizes = _validate_cells(tasks)
            write_manifest(root, manifest)
            return tasks, sizes
        tasks = expand_grid({**old, "check_rewards": new["check_rewards"]}, entropy)
        return tasks, _validate_cells(tasks)
    if any(p.name != LOCK for p in root.iterdir()):
        raise ConfigError(f"sweep: 'store' must be an empty or new directory, or an existing "
                          f"sweep store; {str(root)!r} has files but no {MANIFEST}.")
    entropy = as_seed_sequence(grid["seed"], owner="sweep").entropy
    g = {**grid, "seed": grid["seed"] if grid["seed"] is not None else entropy}
    tasks = expand_grid(g, entropy)
    manifest = {"format": STORE_FORMAT, "grid": g, "entropy": entropy,
                "task_ids": [t.task_id for t in tasks], "history": []}
    sizes = _validate_cells(tasks)
    write_manifest(root, manifest)
    return tasks, sizes


def _memory_error(need: float, what: str, lower: str) -> ConfigError:
    avail = available_memory()
    return ConfigError(f"sweep config: {what} needs about {limits.gib(need)} of memory, more "
                       f"than the {limits.gib(MEMORY_FRACTION * avail)} allowed (half of the "
                       f"{limits.gib(avail)} available now); lower {lower}.")


def _fits_memory(need: float) -> bool:
    return need <= 2**26 or need <= MEMORY_FRACTION * available_memory()


def _validate_cells(tasks: list[Task]) -> list[int]:
    """Build every cell's env and policy once in the driver: config errors surface early.

    Returns the estimated bytes of each task in the store (``8 x checkpoints x (arms + 12)``)
    and refuses a task whose results, three copies while they are written, exceed the memory
    allowed.
    """
    sizes: dict[tuple[Any, ...], int] = {}
    keys = []
    for t in tasks:
        # the tasks of one cell share their parameter dicts (expand_grid builds them once)
        key = (t.policy, id(t.policy_params), t.env, id(t.env_kwargs), t.horizon)
        keys.append(key)
        if key in sizes:
            continue
        try:
            policy, _, ck, _ = _make_pair(t._asdict())
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"sweep config: the cell {t.policy}{t.policy_params} on "
                              f"{t.env}{t.env_kwargs} with horizon={t.horizon} is invalid: "
                              f"{exc}") from None
        n_arms = int(getattr(policy, "n_arms", 0))
        sizes[key] = 8 * int(ck.size) * (n_arms + _ROW_WORDS)
        if not _fits_memory(3.0 * sizes[key]):
            raise _memory_error(3.0 * sizes[key], f"one task of {t.policy} on {t.env} "
                                f"({ck.size} checkpoints x ({n_arms} arms + "
                                f"{_ROW_WORDS}) x 8 bytes, 3 copies while it is written)",
                                "'checkpoints' (every checkpoint is a row with the pulls of "
                                "every arm)")
    return [sizes[k] for k in keys]


def _check_room(root: Path, batches: list[list[dict]], sizes: dict[str, int]) -> None:
    """Refuse batches beyond the memory allowed and a store beyond the free disk space."""
    if not batches:
        return
    per_batch = [sum(sizes[t["task_id"]] for t in b) for b in batches]
    k = max(range(len(batches)), key=per_batch.__getitem__)
    if not _fits_memory(3.0 * per_batch[k]):
        raise _memory_error(3.0 * per_batch[k], f"a batch of {len(batches[k])} tasks (3 copies "
                            "of its results while its shard is written)",
                            "--batch-size ('batch_size') or 'checkpoints'")
    need = sum(per_batch)
    free = shutil.disk_usage(root).free
    if need > free:
        raise OSError(errno.ENOSPC, f"sweep: the store {str(root)!r} needs about "
                                    f"{limits.gib(need)} more for {sum(map(len, batches))} "
                                    f"tasks, and its disk has {limits.gib(free)} free; free "
                                    "disk space, choose another --store, or lower "
                                    "'checkpoints' or 'n_seeds'")


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) until the block ends, so a shard is written whole; the interrupt
    then takes effect. Only the main thread can do this; elsewhere the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    try:
        old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught and callable(old):
            old(signal.SIGINT, None)            # default_int_handler: KeyboardInterrupt
        elif caught and old == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)


def sweep(grid: Mapping[str, Any] | str | os.PathLike[str], *, store: str | os.PathLike[str],
          executor: Any = None, batch_size: int | str = "auto", extend: bool = False,
          retry_failed: bool = True, progress: bool | None = None,
          max_pool_restarts: int = 3) -> SweepSummary:
    """Run every task of ``grid`` not yet finished in ``store``; resumable and fault tolerant.

    Parameters
    ----------
    grid : dict, str or PathLike
        A grid spec (module docstring) or the path of a TOML file holding one.
    store : str or PathLike
        The result directory (created if needed). See :mod:`banditlab.store`.
    executor : None, 'serial', int, concurrent.futures.Executor or dask.distributed.Client
        ``None``: local processes, one per available core; an int: that many local processes;
        ``'serial'``: this process; an ``Executor`` (used, not shut down); a Dask ``Client``
        (the ``distributed`` extra), local or connected to a scheduler. Results do not depend
        on it.
    batch_size : int or 'auto', default 'auto'
        Tasks per executor submission (and per shard). ``'auto'``: about four batches per
        worker, at most 256 tasks, 5e6 steps and 128 MiB of results each.
    extend : bool, default False
        Accept a grid that differs from the store's (same ``seed``): its new tasks are added,
        finished tasks are kept.
    retry_failed : bool, default True
        Run the tasks recorded as failed again.
    progress : bool, optional
        Show a progress bar (runs done / total, ETA); default: once the sweep is expected to
        last more than about 2 s (see :mod:`banditlab.parallel`).
    max_pool_restarts : int, default 3
        Local processes only: when a worker process dies, the batches in flight are run again
        in a new pool, at most this many times each; then they are recorded as failed.

    Returns
    -------
    SweepSummary

    Raises
    ------
    ConfigError
        Invalid grid, a grid beyond :mod:`banditlab.limits`, or a grid that differs from the
        store's without ``extend=True``.
    StoreLockedError
        Another driver is using the store (:class:`banditlab.store.StoreLock`).
    OSError
        The store cannot be written (a full disk, a directory that cannot be written), or
        would not fit the free disk space; the message names the path.
    KeyboardInterrupt
        Ctrl-C: finished batches are in the store and a new call resumes (module docstring).
    """
    owner = "sweep"
    if isinstance(grid, str | os.PathLike):
        g = load_grid(grid)
    elif isinstance(grid, Mapping):
        g = normalize_grid(grid)
    else:
        raise TypeError(f"{owner}: 'grid' must be a dict or the path of a TOML file; got "
                        f"{type(grid).__name__} {_got(grid)}.")
    if not isinstance(store, str | os.PathLike):
        raise TypeError(f"{owner}: 'store' must be a str or os.PathLike directory; got "
                        f"{type(store).__name__} {store!r}.")
    if batch_size != "auto":
        batch_size = int(Integer(1, None).check(batch_size, "batch_size", owner))
    for name, flag in (("extend", extend), ("retry_failed", retry_failed)):
        if not isinstance(flag, bool):
            raise TypeError(f"{owner}: '{name}' must be a bool; got {flag!r}.")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"{owner}: 'progress' must be a bool or None; got {progress!r}.")
    max_pool_restarts = int(Integer(0, None).check(max_pool_restarts, "max_pool_restarts",
                                                   owner))
    kind, n_workers = _executor_kind(executor)

    start = time.perf_counter()
    root = Path(store)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{owner}: 'store' must be a directory; got the file {str(root)!r}.")
    with StoreLock(root, owner=owner):
        tasks, sizes = _open_store(root, g, extend)
        summary = _run_store(root, tasks, sizes, kind, n_workers, executor, batch_size,
                             retry_failed, progress, max_pool_restarts)
    return SweepSummary(store=root, wall_time_s=time.perf_counter() - start, **summary)


def _run_store(root: Path, tasks: list[Task], sizes: list[int], kind: str, n_workers: int,
               executor: Any, batch_size: int | str, retry_failed: bool,
               progress: bool | None, max_pool_restarts: int) -> dict[str, int]:
    """Run the unfinished tasks into the locked store; the counts of :class:`SweepSummary`."""
    owner = "sweep"
    scan = scan_store(root, repair=True, owner=owner)
    skipped = sum(1 for t in tasks if t.task_id in scan.done)
    size_of = {t.task_id: b for t, b in zip(tasks, sizes, strict=True)}
    todo = [t for t in tasks if t.task_id not in scan.done
            and (retry_failed or t.task_id not in scan.failed)]
    batches = _batches(todo, [size_of[t.task_id] for t in todo], n_workers, batch_size)
    _check_room(root, batches, size_of)

    bar = ProgressBar(len(tasks), initial=skipped, desc="sweep", unit="run", show=progress)
    by_id = {t.task_id: t for t in todo}
    had_failed = set(scan.failed)
    texts: dict[int, str] = {}

    def text(obj: dict[str, Any]) -> str:
        if id(obj) not in texts:
            texts[id(obj)] = _canonical(obj)
        return texts[id(obj)]

    def record(results: list[dict[str, Any]]) -> None:
        with _interrupts_held():
            _record(results)
        bar.update(len(results))

    def _record(results: list[dict[str, Any]]) -> None:
        good = []
        for r in results:
            t = by_id[r["task_id"]]
            if r["ok"]:
                good.append({**r, "policy": t.policy,
                             "policy_params": text(t.policy_params), "env": t.env,
                             "env_kwargs": text(t.env_kwargs), "horizon": t.horizon,
                             "seed_index": t.seed_index, "env_seed": t.env_seed,
                             "policy_seed": t.policy_seed})
            else:
                had_failed.add(t.task_id)
                write_failure(root, t.task_id, {
                    "policy": t.policy, "policy_params": _canonical(t.policy_params),
                    "env": t.env, "env_kwargs": _canonical(t.env_kwargs),
                    "horizon": t.horizon, "seed_index": t.seed_index, "error": r["error"],
                    "traceback": r["traceback"]})
        if good:
            write_shard(root, good)
            for r in good:
                if r["task_id"] in had_failed:
                    clear_failure(root, r["task_id"])

    def fail_batch(batch: list[dict], exc: BaseException, text: str | None = None) -> None:
        if text is None:
            text = "".join(traceback.format_exception(exc))
        record([{"task_id": t["task_id"], "ok": False,
                 "error": f"{type(exc).__name__}: {exc}", "traceback": text} for t in batch])

    try:
        if kind == "dask":
            _drive_dask(executor, batches, record, fail_batch)
        elif kind == "futures":
            _drive_futures(executor, batches, record, fail_batch)
        else:
            _drive_local(n_workers, kind == "local", batches, record, fail_batch,
                         max_pool_restarts)
    finally:
        bar.close()
    final = scan_store(root, owner=owner)
    ids = {t.task_id for t in tasks}
    return {"total": len(tasks), "skipped": skipped,
            "done": sum(1 for t in final.done if t in ids),
            "failed": sum(1 for t in final.failed if t in ids), "ran": len(todo)}


def _drive_futures(executor: cf.Executor, batches: list[list[dict]], record: Any,
                   fail_batch: Any) -> None:
    futures = {executor.submit(run_tasks, b): b for b in batches}
    for fut in cf.as_completed(futures):
        try:
            results = fut.result()
        except Exception as exc:
            fail_batch(futures[fut], exc)
            continue
        record(results)


def _drive_local(n_workers: int, isolate: bool, batches: list[list[dict]], record: Any,
                 fail_batch: Any, max_restarts: int) -> None:
    """This process (``n_workers=1``, not ``isolate``) or local worker processes."""

    def on_result(k: int, results: Any) -> None:
        if isinstance(results, TaskFailure):
            fail_batch(batches[k], results.exception, results.traceback)
        else:
            record(results)

    # one task per batch (chunksize=1): a batch is the unit retried after a worker died
    parallel_map(run_tasks, batches, n_jobs=n_workers, progress=False, on_result=on_result,
                 errors="capture", max_restarts=max_restarts, chunksize=1, isolate=isolate,
                 collect=False, owner="sweep")


def _drive_dask(client: Any, batches: list[list[dict]], record: Any, fail_batch: Any) -> None:
    from distributed import as_completed

    futures = {client.submit(run_tasks, b, pure=False): i for i, b in enumerate(batches)}
    for fut in as_completed(list(futures)):
        i = futures[fut]
        try:
            results = fut.result()
        except Exception as exc:
            # e.g. KilledWorker after Dask's own retries on other workers
            fail_batch(batches[i], exc)
            continue
        finally:
            fut.release()
        record(results)
