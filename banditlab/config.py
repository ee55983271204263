"""Experiment files (TOML): one schema for ``banditlab run`` and ``banditlab sweep``.

An experiment file crosses a list of policies with a list of environments. ``banditlab run``
runs every ``(policy, env)`` pair ``n_seeds`` times for ``horizon`` rounds and writes
``Results`` folders, a summary and a plot; ``banditlab sweep FILE --store DIR`` runs the same
file into a resumable store, and also accepts grid axes with several values (a run is a sweep
whose axes all have one value; :mod:`banditlab.sweep`). This docstring is the reference for the
schema.

Schema
------
::

    name = "quickstart"          # optional; default: the file name without .toml
    horizon = 10000              # required, int >= 1: rounds per run (sweep: or a list)
    n_seeds = 20                 # optional, int >= 1 (default 10): runs per pair (seed indices)
    seed = 0                     # optional, int >= 0; absent: fresh entropy, printed and recorded
    checkpoints = "auto"         # optional: "auto" (default: 200 evenly spaced rounds plus
                                 #   ~100 log-spaced ones, in run and sweep alike), "log",
                                 #   an int (evenly spaced) or a list of rounds
    engine = "auto"              # optional: "auto" (default), "kernel" or "python"
    check_rewards = true         # optional (default true): refuse a policy whose reward model
                                 #   the env breaks (see banditlab.reward_models)

    [[envs]]                     # one table per environment (at least one)
    id = "banditlab/BernoulliBandit-v0"   # a registered env or problem id (``banditlab list``)
    label = "easy"               # optional: name in tables and plots
    kwargs = { means = { linspace = [0.1, 0.9, 10] } }   # constructor arguments
    grid = { }                   # sweep axes: { name = [value, ...] }; run: one value each

    [[policies]]                 # one table per algorithm (at least one)
    name = "UCB"                 # a registered algorithm of any protocol (``banditlab list``)
                                 #   or "module:Class" of a bandit Policy
    label = "UCB a=1"            # optional
    params = { alpha = 1.0 }     # constructor arguments
    grid = { }                   # as for envs

Files of the earlier ``banditlab run`` dialect are refused with an error naming the new key:
``[experiment]`` (its keys now sit at the top level), ``n_runs`` (now ``n_seeds``), ``[[env]]``
and ``[[policy]]`` (now ``[[envs]]`` and ``[[policies]]``), and constructor arguments written
inline in those tables (now in ``kwargs`` / ``params``).

Every system
------------
Any registered algorithm runs on any env of its system (:mod:`banditlab.systems`), and
``horizon`` counts what the system counts:

==============================  ==========================================  ================
algorithms (protocol)           envs                                        ``horizon``
==============================  ==========================================  ================
K-armed, contextual, BAI        ``banditlab/*Bandit-v0`` (by family)        rounds
streaming                       ``banditlab/StreamingBandit-v0``            pulls
SOR tuning (SOLVER_SEQUENCE)    ``banditlab/SORTuning-v0``                  systems
cascading (EPISODIC, _BPI)      ``banditlab/CascadingMDP-v0``               episodes
BCD (BLOCK_DESCENT)             ``bcd/dataset_a`` ... ``bcd/dataset_e``      iterations
==============================  ==========================================  ================

``examples/`` has one small file per system.

Filled in automatically, unless given:

* a bandit policy's ``n_arms``, a cascading agent's ``n_states``, ``n_items``, ``list_size``
  and ``horizon`` from each env (giving them is an error: they are properties of the env);
* a policy's ``horizon`` or ``budget`` argument (EXP3, best-arm identification), a cascading
  agent's ``n_episodes`` (``max_episodes`` for best policy identification) and the ``horizon``
  argument of bandit, streaming and SOR-tuning envs from ``horizon``;
* a contextual policy's ``n_features`` from the env's observation shape, and an SOR-tuning
  learner's context range ``low``/``high`` from the env's ``context_range``.

Any number array can be written ``{ linspace = [start, stop, num] }`` (``numpy.linspace``,
at most :data:`banditlab.limits.MAX_LINSPACE` points).

Limits
------
The work a file asks for is estimated before anything is built or run, and a file beyond
:mod:`banditlab.limits` is refused with the estimate in the message: at most ``MAX_CELLS``
(policy, env) pairs, ``MAX_STEPS`` rounds in all (pairs x ``n_seeds`` x ``horizon``), results
(``n_seeds`` x (checkpoints + arms) per pair, 8 bytes each) within half the memory available
now, at most ``MAX_CHECKPOINTS`` evenly spaced checkpoints and values nested at most
``MAX_DEPTH`` levels.

Every error is a :class:`~banditlab.errors.ConfigError` whose message starts with the TOML path
of the offending field, with tables indexed from 0 in file order, e.g.
``policies[1].params.alpha: UCB: 'alpha' must be a float in (0, inf); got -1.``

Seeding
-------
All ``(policy, env)`` pairs use the same root seed. Each run ``i`` of a pair then derives its
env and policy seeds from that root (:mod:`banditlab._seeding`, the one derivation of
:func:`banditlab.run_many` and sweeps), so every policy on an env sees the same reward noise
(common random numbers), the results do not depend on the number of processes, and the same
file and seed give the same numbers through ``banditlab run``, ``banditlab sweep`` and the
Python API.
"""

from __future__ import annotations

import collections
import inspect
import math
import numbers
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from banditlab import limits
from banditlab._validation import (
    MAX_HORIZON,
    MAX_RUNS,
    MEMORY_FRACTION,
    Boolean,
    Constraint,
    Integer,
    Options,
    _got,
    available_memory,
)
from banditlab.errors import ConfigError
from banditlab.policy import Policy
from banditlab.protocols import CONTEXTUAL
from banditlab.registry import POLICY_NAMES, resolve_policy
from banditlab.reward_models import RewardModelError
from banditlab.runner import ENGINES, make_checkpoints
from banditlab.systems import (
    SYSTEMS,
    env_catalogue,
    env_family,
    fill_from_horizon,
    runs_on,
    system_for,
    system_for_family,
)

__all__ = [
    "DEFAULT_SEEDS",
    "EXPERIMENT_KEYS",
    "EnvEntry",
    "ExperimentConfig",
    "Job",
    "PolicyEntry",
    "default_checkpoints",
    "expand_arrays",
    "fill_policy_args",
    "load_config",
    "old_dialect_error",
    "parse_config",
]

#: top-level keys of an experiment file besides ``[[envs]]`` and ``[[policies]]``
EXPERIMENT_KEYS = ("name", "horizon", "n_seeds", "seed", "checkpoints", "engine",
                   "check_rewards")
_TOP_KEYS = (*EXPERIMENT_KEYS, "envs", "policies")
#: keys of one [[envs]] / [[policies]] table: (head, table of constructor arguments)
_ENTRY = {"envs": ("id", "kwargs"), "policies": ("name", "params")}
#: runs per pair when ``n_seeds`` is omitted (``banditlab run`` and sweeps)
DEFAULT_SEEDS = 10
#: keys of the earlier ``banditlab run`` dialect, and what replaces each
OLD_KEYS = {"experiment": "the [experiment] table is gone: write its keys at the top level "
                          "(horizon = ..., n_seeds = ..., seed = ...)",
            "n_runs": "renamed n_seeds",
            "env": "renamed [[envs]] (constructor arguments in kwargs = { ... })",
            "policy": "renamed [[policies]] (constructor arguments in params = { ... })"}


@dataclass(frozen=True)
class EnvEntry:
    """One ``[[envs]]`` table, validated, with its constructed environment."""

    index: int
    id: str
    label: str
    kwargs: dict[str, Any]
    env: Any


@dataclass(frozen=True)
class PolicyEntry:
    """One ``[[policies]]`` table, validated (``kwargs``: its ``params`` and one-valued ``grid``
    axes as given, without filled arguments)."""

    index: int
    name: str
    label: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Job:
    """One ``(policy, env)`` pair to run: the constructed objects and their labels."""

    policy: Policy
    env: Any
    policy_label: str
    env_label: str
    policy_index: int
    env_index: int


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment: ``jobs`` is every policy crossed with every env.

    ``seed`` is ``None`` when neither the file nor the command line gives one.
    """

    name: str
    horizon: int
    n_runs: int
    seed: int | None
    checkpoints: np.ndarray
    engine: str
    envs: tuple[EnvEntry, ...]
    policies: tuple[PolicyEntry, ...]
    jobs: tuple[Job, ...]
    check_rewards: bool = True


def default_checkpoints(horizon: int) -> np.ndarray:
    """200 evenly spaced rounds merged with about 100 log-spaced ones (for both plot scales):
    ``checkpoints = "auto"``, the default of ``banditlab run`` and sweeps."""
    return make_checkpoints(horizon, "auto")


# -- helpers ------------------------------------------------------------------------------------
def _type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r}"


def _options(names: Any) -> str:
    return ", ".join(repr(n) for n in names)


def _check(rule: Constraint, value: Any, path: str) -> Any:
    """``rule.check`` with the error reworded as ``path: must be ...; got ...``."""
    try:
        return rule.check(value, path, "config")
    except TypeError:
        got = _type_name(value)
    except ValueError:
        got = repr(value)
    raise ConfigError(f"{path}: must be {rule.describe()}; got {got}.")


_FIELD = re.compile(r"^[\w.]+: '(\w+)' must")


def _reraise(exc: Exception, path: str, given: Any) -> ConfigError:
    """A ConfigError prefixed with ``path`` (plus the field the message names, if given)."""
    msg = str(exc)
    m = _FIELD.match(msg)
    if m and m.group(1) in given:
        path = f"{path}.{m.group(1)}"
    return ConfigError(f"{path}: {msg}")


def _signature_args(cls: type) -> tuple[list[str], list[str]]:
    """Keyword arguments of ``cls.__init__`` and those without a default."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    names = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    required = [p.name for p in params if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return names, required


def expand_arrays(value: Any, path: str) -> Any:
    """Replace ``{ linspace = [start, stop, num] }`` by the list it denotes (recursively)."""
    if isinstance(value, dict):
        if set(value) != {"linspace"}:
            raise ConfigError(f"{path}: an inline table must be {{ linspace = [start, stop, num] "
                              f"}}; got keys {_options(value)}.")
        spec = value["linspace"]
        ok = (isinstance(spec, list) and len(spec) == 3
              and all(isinstance(x, numbers.Real) and not isinstance(x, bool)
                      and math.isfinite(x) for x in spec[:2])
              and isinstance(spec[2], int) and not isinstance(spec[2], bool)
              and 1 <= spec[2] <= limits.MAX_LINSPACE)
        if not ok:
            raise ConfigError(f"{path}.linspace: must be [start, stop, num] with finite numbers "
                              f"start, stop and an int num in [1, {limits.MAX_LINSPACE}] "
                              f"(banditlab.limits.MAX_LINSPACE); got {_short(spec)}.")
        return np.linspace(float(spec[0]), float(spec[1]), int(spec[2])).tolist()
    if isinstance(value, list):
        return [expand_arrays(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _short(value: Any) -> str:
    return limits.clip(repr(value), 80)


def _split_entry(entry: Any, path: str, section: str, allowed_heads: dict[str, Any]
                 ) -> tuple[str, str | None, dict[str, Any]]:
    """Read the head (``id``/``name``), optional ``label`` and the constructor arguments: the
    ``kwargs``/``params`` table plus ``grid`` axes, which must have one value each here."""
    head, table_key = _ENTRY[section]
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: must be a table; got {_type_name(entry)}.")
    if head not in entry:
        raise ConfigError(f"{path}.{head}: missing; must be one of {_options(allowed_heads)}.")
    key = entry[head]
    if not isinstance(key, str) or key not in allowed_heads:
        raise ConfigError(f"{path}.{head}: must be one of {_options(allowed_heads)}; "
                          f"got {_type_name(key) if not isinstance(key, str) else repr(key)}.")
    keys = (head, "label", table_key, "grid")
    for k in entry:
        if k not in keys:
            raise ConfigError(f"{path}.{k}: unknown key; the keys of [[{section}]] are "
                              f"{_options(keys)} (constructor arguments go in "
                              f"{table_key} = {{ ... }}).")
    label = entry.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ConfigError(f"{path}.label: must be a non-empty string; got {_type_name(label)}.")
    kwargs: dict[str, Any] = {}
    for sub in (table_key, "grid"):
        table = entry.get(sub, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}.{sub}: must be a table of constructor arguments; "
                              f"got {_type_name(table)}.")
        for k, v in table.items():
            where = f"{path}.{sub}.{k}"
            if k in kwargs:
                raise ConfigError(f"{where}: given twice (also in {path}.{table_key}); "
                                  "keep one.")
            if sub == "grid":
                v = expand_arrays(v, where)
                if not isinstance(v, list) or len(v) != 1:
                    raise ConfigError(f"{where}: banditlab run takes one value per axis; got "
                                      f"{_short(v)} (a grid: run the file with banditlab "
                                      "sweep).")
                v = v[0]
            kwargs[k] = expand_arrays(v, where)
    return key, label, kwargs


def _check_keys(kwargs: dict[str, Any], allowed: list[str], path: str, owner: str) -> None:
    for k in kwargs:
        if k not in allowed:
            raise ConfigError(f"{path}.{k}: not an argument of {owner}; its arguments: "
                              f"{_options(allowed)}.")


def _unique_labels(bases: list[str], explicit: list[bool], section: str) -> list[str]:
    """Default labels get a ``#i`` suffix when they collide; explicit duplicates are errors."""
    labels = list(bases)
    seen: dict[str, int] = {}
    for i, (lab, exp) in enumerate(zip(labels, explicit)):
        if exp and lab in seen and explicit[seen[lab]]:
            raise ConfigError(f"{section}[{i}].label: must be unique; {lab!r} is also the "
                              f"label of {section}[{seen[lab]}].")
        seen.setdefault(lab, i)
    counts = collections.Counter(labels)
    for i, (lab, exp) in enumerate(zip(bases, explicit)):
        if counts[lab] > 1 and not exp:
            labels[i] = f"{lab}#{i}"
    return labels


# -- sections -----------------------------------------------------------------------------------
def old_dialect_error(data: Any) -> ConfigError | None:
    """The error for a key of the earlier ``banditlab run`` dialect (naming the new key), or
    None; shared by ``banditlab run`` and sweeps."""
    if not isinstance(data, dict):
        return None
    for key, new in OLD_KEYS.items():
        if key in data:
            return ConfigError(f"{key}: {new} (the experiment file schema: "
                               "help('banditlab.config')).")
    return None


def _parse_experiment(data: dict[str, Any], source: str) -> dict[str, Any]:
    if "horizon" not in data:
        raise ConfigError(f"horizon: missing; must be an int in [1, {MAX_HORIZON}].")
    horizon = data["horizon"]
    if isinstance(horizon, list):
        if len(horizon) != 1:
            raise ConfigError(f"horizon: banditlab run takes one horizon; got {len(horizon)} "
                              "values (a grid axis: run the file with banditlab sweep).")
        horizon = horizon[0]
    out: dict[str, Any] = {"horizon": _check(Integer(1, MAX_HORIZON), horizon, "horizon")}
    for key, rule, default in (("n_seeds", Integer(1, MAX_RUNS), DEFAULT_SEEDS),
                               ("seed", Integer(0, None), None),
                               ("engine", Options(ENGINES), "auto"),
                               ("check_rewards", Boolean(), True)):
        out[key] = _check(rule, data[key], key) if key in data else default
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name: must be a non-empty string; got {_type_name(name)}.")
    out["name"] = name
    if "checkpoints" in data:
        ck = data["checkpoints"]
        if (isinstance(ck, int) and not isinstance(ck, bool)
                and min(ck, out["horizon"]) > limits.MAX_CHECKPOINTS):
            raise ConfigError(f"checkpoints: must be at most "
                              f"{limits.MAX_CHECKPOINTS} evenly spaced rounds "
                              f"(banditlab.limits.MAX_CHECKPOINTS); got {ck}.")
        try:
            out["checkpoints"] = make_checkpoints(out["horizon"], ck, owner="checkpoints")
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
    else:
        out["checkpoints"] = default_checkpoints(out["horizon"])
    return out


def _tables(data: dict[str, Any], section: str, names: Any) -> list[Any]:
    head = _ENTRY[section][0]
    if section not in data:
        raise ConfigError(f"{section}: missing; add at least one [[{section}]] table with "
                          f"{head} = one of {_options(names)}.")
    entries = data[section]
    if isinstance(entries, dict):
        raise ConfigError(f"{section}: must be an array of tables ([[{section}]], double "
                          f"brackets); got a single table ([{section}]).")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{section}: must be a non-empty array of tables ([[{section}]]); "
                          f"got {_type_name(entries)}.")
    return entries


def _parse_envs(data: dict[str, Any], horizon: int) -> list[EnvEntry]:
    catalogue = env_catalogue()
    entries = _tables(data, "envs", catalogue)
    parsed = []
    for j, entry in enumerate(entries):
        path = f"envs[{j}]"
        env_id, label, kwargs = _split_entry(entry, path, "envs", catalogue)
        spec = catalogue[env_id]
        allowed, required = spec.signature()
        _check_keys(kwargs, allowed, f"{path}.kwargs", env_id)
        given = dict(kwargs)
        fills_horizon = system_for_family(spec.family).env_horizon
        if fills_horizon and "horizon" in allowed and "horizon" not in kwargs:
            kwargs["horizon"] = horizon
        for name in required:
            if name not in kwargs:
                raise ConfigError(f"{path}.kwargs.{name}: missing; required by {env_id} "
                                  f"({spec.description}).")
        try:
            env = spec.factory()(**kwargs)
        except (TypeError, ValueError) as exc:
            raise _reraise(exc, f"{path}.kwargs", given) from None
        env_h = getattr(env, "horizon", None)
        if fills_horizon and env_h is not None and env_h < horizon:
            field = f"{path}.kwargs.horizon" if "horizon" in allowed else path
            raise ConfigError(f"{field}: the env has horizon {env_h}, shorter than "
                              f"horizon = {horizon}; they must agree.")
        parsed.append((j, env_id, label, given, env, type(env).__name__))
    labels = _unique_labels([lab or cname for _, _, lab, _, _, cname in parsed],
                            [lab is not None for _, _, lab, _, _, _ in parsed], "envs")
    return [EnvEntry(j, env_id, labels[j], given, env) for j, env_id, _, given, env, _ in parsed]


def _parse_policies(data: dict[str, Any]) -> list[tuple[PolicyEntry, type[Policy]]]:
    entries = _tables(data, "policies", POLICY_NAMES)
    parsed = []
    for i, entry in enumerate(entries):
        path = f"policies[{i}]"
        given = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(given, str) and ":" in given and given not in POLICY_NAMES:
            try:
                resolve_policy(given)
            except Exception as err:  # the reason goes into the one-line config error
                raise ConfigError(f"{path}.name: the import path {given!r} does not name a "
                                  f"policy ({type(err).__name__}: {err}).") from None
        name, label, kwargs = _split_entry(entry, path, "policies", POLICY_NAMES)
        cls = POLICY_NAMES[name]
        allowed, _ = _signature_args(cls)
        from_env = system_for(cls.protocol).from_env
        for arg in from_env:
            if arg in kwargs:
                raise ConfigError(f"{path}.params.{arg}: set from each env "
                                  f"({', '.join(from_env)}); remove it.")
        _check_keys(kwargs, [a for a in allowed if a not in from_env], f"{path}.params", name)
        parsed.append((i, name, label, kwargs, cls))

    def default(name: str, kwargs: dict[str, Any]) -> str:
        if sum(p[1] == name for p in parsed) == 1 or not kwargs:
            return name
        return f"{name}(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"

    labels = _unique_labels([lab or default(name, kw) for _, name, lab, kw, _ in parsed],
                            [lab is not None for _, _, lab, _, _ in parsed], "policies")
    return [(PolicyEntry(i, name, labels[i], kw), cls) for i, name, _, kw, cls in parsed]


def fill_policy_args(cls: type[Policy], params: dict[str, Any], env: Any, horizon: int
                     ) -> dict[str, Any]:
    """A policy's constructor arguments for ``env`` (``banditlab run`` and sweeps): ``params``
    plus its ``horizon``/``budget`` argument from ``horizon`` and, for a contextual policy, its
    ``n_features`` from the env's observations, where ``params`` does not give them."""
    allowed, _ = _signature_args(cls)
    kwargs = fill_from_horizon(cls, params, SYSTEMS["bandit"].horizon_args, horizon)
    shape = getattr(getattr(env, "observation_space", None), "shape", None)
    if (cls.protocol is CONTEXTUAL and "n_features" in allowed and "n_features" not in kwargs
            and shape is not None and len(shape) == 2):
        kwargs["n_features"] = int(shape[1])
    return kwargs


def _make_policy(cls: type[Policy], entry: PolicyEntry, env_entry: EnvEntry,
                 horizon: int) -> Any:
    path = f"policies[{entry.index}]"
    env = env_entry.env
    system = system_for(cls.protocol)
    family = env_family(env)
    if family not in runs_on(cls.protocol):
        fits = [i for i, spec in env_catalogue().items()
                if spec.family in runs_on(cls.protocol)]
        raise ConfigError(f"{path}: {entry.name} follows {cls.protocol.name} and cannot run on "
                          f"envs[{env_entry.index}] ({env_entry.id}, a {family!r} env); it "
                          f"runs on {_options(fits)}.")
    _, required = _signature_args(cls)
    if system.name == "bandit":
        filled = fill_policy_args(cls, entry.kwargs, env, horizon)
        required = [r for r in required if r not in ("low", "high")
                    or getattr(env, "context_range", None) is None]
    else:
        filled = dict(entry.kwargs)
    for name in required:
        if name not in filled and name not in system.from_env \
                and name not in system.horizon_args:
            raise ConfigError(f"{path}.params.{name}: missing; required by {entry.name}.")
    try:
        return system.build(cls, entry.kwargs if system.name != "bandit" else filled, env,
                            horizon)
    except (TypeError, ValueError) as exc:
        m = _FIELD.match(str(exc))
        if m and m.group(1) in entry.kwargs:
            raise ConfigError(f"{path}.params.{m.group(1)}: {exc}") from None
        raise ConfigError(f"{path} on envs[{env_entry.index}] ({env_entry.label}): "
                          f"{exc}") from None


# -- the work a file asks for (banditlab.limits) -------------------------------------------------
def _check_size(data: dict[str, Any], exp: dict[str, Any]) -> None:
    """Refuse too many pairs or rounds, from the table counts alone (nothing built yet)."""
    n_env = len(_tables(data, "envs", env_catalogue()))
    n_pol = len(_tables(data, "policies", POLICY_NAMES))
    pairs = n_env * n_pol
    if pairs > limits.MAX_CELLS:
        raise ConfigError(f"policies: the file asks for {limits.count(pairs)} (policy, env) "
                          f"pairs ({n_pol} [[policies]] x {n_env} [[envs]]), more than "
                          f"{limits.count(limits.MAX_CELLS)} (banditlab.limits.MAX_CELLS); "
                          "split it into several files.")
    steps = pairs * exp["n_seeds"] * exp["horizon"]
    if steps > limits.MAX_STEPS:
        raise ConfigError(f"horizon: the file asks for {limits.count(steps)} rounds "
                          f"({pairs} pairs x n_seeds={exp['n_seeds']} x "
                          f"horizon={exp['horizon']}), more than {limits.MAX_STEPS:.3g} "
                          "(banditlab.limits.MAX_STEPS); lower horizon or n_seeds.")


def _check_memory(envs: list[EnvEntry], n_policies: int, exp: dict[str, Any]) -> None:
    """Refuse results (every run of every pair, held at once) beyond the memory available."""
    n_ck = int(np.asarray(exp["checkpoints"]).size)
    arms = [int(getattr(getattr(e.env, "action_space", None), "n", 0)) for e in envs]
    need = 8.0 * n_policies * exp["n_seeds"] * sum(n_ck + a + 2 for a in arms)
    if need <= 2**26:           # 64 MiB: not worth reading /proc/meminfo
        return
    avail = available_memory()
    if need > MEMORY_FRACTION * avail:
        raise ConfigError(f"n_seeds: the results need about {limits.gib(need)} of memory "
                          f"({n_policies * len(envs)} pairs x n_seeds={exp['n_seeds']} x "
                          f"({n_ck} checkpoints + up to {max(arms)} arms) x 8 bytes), more "
                          f"than the {limits.gib(MEMORY_FRACTION * avail)} allowed (half of "
                          f"the {limits.gib(avail)} available now); lower n_seeds or "
                          "checkpoints.")


# -- entry points -------------------------------------------------------------------------------
def parse_config(data: dict[str, Any], *, source: str = "config", engine: str | None = None,
                 seed: int | None = None, check_rewards: bool | None = None) -> ExperimentConfig:
    """Validate a configuration given as a dict (the parsed TOML) and build its jobs.

    Parameters
    ----------
    data : dict
        The TOML document as returned by :func:`tomllib.load`.
    source : str
        File name, used for the default experiment name.
    engine : {'auto', 'kernel', 'python'}, optional
        Overrides ``engine`` (the ``--engine`` option).
    seed : int, optional
        Overrides ``seed`` (the ``--seed`` option).
    check_rewards : bool, optional
        Overrides ``check_rewards`` (``False``: the ``--no-check-rewards`` option).

    Returns
    -------
    ExperimentConfig

    Raises
    ------
    ConfigError
        Naming the TOML path of the first invalid field and what it must be.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"config: must be a table (a TOML document); got {_type_name(data)}.")
    old = old_dialect_error(data)
    if old is not None:
        raise old
    for k in data:
        if k not in _TOP_KEYS:
            raise ConfigError(f"{k}: unknown top-level key; allowed: {_options(EXPERIMENT_KEYS)}, "
                              "[[envs]], [[policies]].")
    deep = limits.too_deep(data, limits.MAX_DEPTH)
    if deep is not None:
        raise ConfigError(f"{limits.format_path(deep)}: arrays and tables nested more than "
                          f"{limits.MAX_DEPTH} levels deep (banditlab.limits.MAX_DEPTH); "
                          "flatten the value.")
    exp = _parse_experiment(data, source)
    if engine is not None:
        exp["engine"] = _check(Options(ENGINES), engine, "--engine")
    if seed is not None:
        exp["seed"] = _check(Integer(0, None), seed, "--seed")
    if check_rewards is not None:
        exp["check_rewards"] = _check(Boolean(), check_rewards, "check_rewards")
    _check_size(data, exp)
    envs = _parse_envs(data, exp["horizon"])
    _check_memory(envs, len(data["policies"]), exp)
    policies = _parse_policies(data)
    jobs = []
    engine_path = "--engine" if engine is not None else "engine"
    for env_entry in envs:
        for entry, cls in policies:
            policy = _make_policy(cls, entry, env_entry, exp["horizon"])
            where = f"policies[{entry.index}] on envs[{env_entry.index}] ({env_entry.id})"
            try:
                system_for(cls.protocol).check(policy, env_entry.env, exp["horizon"],
                                               exp["engine"], exp["check_rewards"], where)
            except RewardModelError as exc:
                raise ConfigError(str(exc)) from None
            except (TypeError, ValueError) as exc:
                msg = str(exc).removeprefix(f"{where}: ")
                if "engine=" in msg:
                    raise ConfigError(f"{engine_path}: {msg}") from None
                raise ConfigError(f"{where}: {msg}") from None
            jobs.append(Job(policy, env_entry.env, entry.label, env_entry.label, entry.index,
                            env_entry.index))
    return ExperimentConfig(name=exp["name"], horizon=exp["horizon"], n_runs=exp["n_seeds"],
                            seed=exp["seed"], checkpoints=exp["checkpoints"],
                            engine=exp["engine"], envs=tuple(envs),
                            policies=tuple(e for e, _ in policies), jobs=tuple(jobs),
                            check_rewards=exp["check_rewards"])


def load_config(path: str | Path, *, engine: str | None = None, seed: int | None = None,
                check_rewards: bool | None = None) -> ExperimentConfig:
    """Read and validate a TOML experiment file (see the module docstring for the schema).

    Raises
    ------
    ConfigError
        For a missing or unreadable file, malformed TOML or any invalid field.
    """
    if not isinstance(path, str | Path):
        raise TypeError(f"load_config: 'path' must be a str or Path; got "
                        f"{type(path).__name__} {_got(path)}.")
    src = Path(path)
    if not src.is_file():
        raise ConfigError(f"{src}: no such file.")
    try:
        with src.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{src}: invalid TOML: {limits.clip(str(exc))}.") from None
    except RecursionError:
        raise ConfigError(f"{src}: arrays or tables nested too deeply to read (the limit is "
                          f"{limits.MAX_DEPTH} levels, banditlab.limits.MAX_DEPTH); flatten "
                          "them.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{src}: cannot read the file: {exc}.") from None
    return parse_config(data, source=src.name, engine=engine, seed=seed,
                        check_rewards=check_rewards)
