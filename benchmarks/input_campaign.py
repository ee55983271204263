"""Invalid-input campaign over banditlab's public entry points (issue 17, reliability).

Every entry point gets a small *valid* baseline call (the algorithms' ``_contract_kwargs`` through
the contract harness of :mod:`banditlab.testing`, the envs' example kwargs of
``ENV_REGISTRY``, tiny instances for the runners, solvers and loaders). Then ONE argument at a
time is replaced by each value of a fixed list chosen from the argument's kind (inferred from
its annotation, default and baseline value), and the outcome is classified:

``clean``
    ``TypeError``/``ValueError`` (``ConfigError`` included) whose message names the argument
    (``'name'``, ``name=`` or its config path) and contains the offending value (its ``repr``
    or ``str``; for arrays, a description after ``got``; for paths, the path itself).
``other error``
    Any other exception type, or a ``TypeError``/``ValueError`` whose message does not.
``accepted``
    No exception for a value that is invalid by construction (NaN, a string for a number, a
    bool for an int, a negative size, ...).
``accepted-ok`` / ``accepted-bad``
    An *edge* value (1e308, 5e-324, 2**31, 1e300 entries, a huge seed, ...) was accepted and
    the object then works (a short run gives finite results) / gives non-finite output or an
    error.
``crash`` / ``hang``
    The worker process died (segfault, abort, out of memory) / exceeded the per-case timeout.

Each entry point's cases run in their own worker process (``multiprocessing``, spawn) with an
8 GiB address-space limit; a crash or hang is recorded and a fresh worker takes the remaining
cases. Deterministic: fixed values, fixed seeds. Run from the repository root::

    python benchmarks/input_campaign.py              # 2 worker processes, markdown on stdout
    python benchmarks/input_campaign.py --jobs 1 --only UCB run_many

This is a measurement, not a test: it always exits 0 unless the harness itself fails.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import math
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

OUTCOMES = ["clean", "other error", "accepted", "accepted-ok", "accepted-bad", "crash", "hang"]
FAMILIES = [
    "solver problem classes & solvers",
    "seeds",
    "bools/floats where ints are meant",
    "sizes that validate but cannot be allocated",
    "parameters at the edge of their range",
    "env parameters (incl. huge values)",
    "loaders/sweep given wrong types",
]
F_SOLVER, F_SEED, F_INTLIKE, F_SIZE, F_EDGE, F_ENV, F_LOADER = FAMILIES

CASE_TIMEOUT = 20.0          # seconds per case
START_TIMEOUT = 600.0        # worker start-up: imports, building cases, the baseline call
MEMORY_LIMIT = 8 * 2**30     # RLIMIT_AS of a worker process

NAN = float("nan")


# -- cases --------------------------------------------------------------------------------------
@dataclasses.dataclass
class Case:
    family: str
    entry: str                    # e.g. "UCB()", "UCB.update", "run_many"
    param: str                    # the argument replaced (or config path)
    value: Any                    # the value put there (for matching the message)
    invalid: bool                 # invalid by construction (else an edge value)
    call: Callable[[], Any]       # performs the call, returns its output
    works: Callable[[Any], str | None] | None = None   # for accepted edge values: None if ok
    names: tuple[str, ...] = ()   # extra spellings of the argument in a message
    kind: str = "scalar"          # "scalar", "array" (described, not printed) or "path"
    label: str = ""

    def meta(self) -> tuple[str, str, str, str]:
        return self.family, self.entry, self.param, self.label or short(self.value)


def short(value: Any, n: int = 60) -> str:
    if isinstance(value, np.ndarray):
        return f"ndarray(shape={value.shape}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


# values per kind: (value, invalid-by-construction, family override or None)
def int_values(optional: bool, negative_ok: bool = False) -> list[tuple[Any, bool, str | None]]:
    out: list[tuple[Any, bool, str | None]] = [
        (True, True, None), (1.5, True, None), ("3", True, None), (NAN, True, None)]
    if not optional:
        out.append((None, True, None))
    out.append((-1, not negative_ok, None))
    out += [(2**31, False, F_SIZE), (2**62, False, F_SIZE), (2**63, False, F_SIZE)]
    return out


def float_values(optional: bool) -> list[tuple[Any, bool, str | None]]:
    out: list[tuple[Any, bool, str | None]] = [
        (NAN, True, None), (math.inf, True, None), (-math.inf, True, None), ("x", True, None),
        (True, True, None), (1e308, False, None), (5e-324, False, None), (-1e308, False, None)]
    if not optional:
        out.append((None, True, None))
    return out


def bool_values(optional: bool = False) -> list[tuple[Any, bool, str | None]]:
    out: list[tuple[Any, bool, str | None]] = [(1, True, None), ("yes", True, None),
                                               (NAN, True, None)]
    return out if optional else [*out, (None, True, None)]


def option_values(optional: bool) -> list[tuple[Any, bool, str | None]]:
    out: list[tuple[Any, bool, str | None]] = [(3, True, None), ("__no_such_option__", True, None),
                                               (b"auto", True, None)]
    if not optional:
        out.append((None, True, None))
    return out


SEED_VALUES: list[tuple[Any, bool]] = [
    (NAN, True), (-1, True), (np.float32(0.5), True), ("abc", True), (True, True),
    (1.5, True), (2**200, False)]


def array_values(base: Any) -> list[tuple[Any, bool, str]]:
    """Invalid arrays derived from a valid one (the last entry, 1e300, is an edge value)."""
    a = np.asarray(base, dtype=float)
    nan_a = a.copy()
    nan_a.flat[0] = NAN
    wrong = np.concatenate([a, a[:1]], axis=0) if a.ndim >= 1 else a
    return [
        (1.5, True, "scalar 1.5"),
        (np.zeros((2, 2, 2)) if a.ndim != 3 else np.zeros((2, 2)), True, "wrong ndim"),
        (np.empty((0, *a.shape[1:])), True, "empty"),
        (nan_a, True, "NaN entry"),
        (a.astype(complex) + 1j, True, "complex"),
        (a.astype(str), True, "strings"),
        ("abc", True, "'abc'"),
        (None, True, "None"),
        (wrong, False, "other length"),
        (np.full_like(a, 1e300), False, "1e300 entries"),
    ]


# -- message classification -------------------------------------------------------------------
def renderings(value: Any) -> list[str]:
    out = [repr(value), str(value)]
    if isinstance(value, float | np.floating):
        out.append(f"{float(value):g}")
        out.append(repr(float(value)))
        if math.isfinite(value) and float(value).is_integer():
            out.append(str(int(value)))
    if isinstance(value, int) and not isinstance(value, bool):
        out.append(str(value))
    out = [r[:40] for r in out if r]
    return out


def classify_error(case: Case, exc: BaseException) -> tuple[str, str]:
    msg = f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, TypeError | ValueError):
        return "other error", msg
    text = str(exc)
    leaf = case.param.split(".")[-1].split("[")[0]
    names = {case.param, leaf, *case.names}
    named = any(f"'{n}'" in text or f"{n}=" in text or f"{n}:" in text or f"{n} " in text
                for n in names if n) or case.param in text
    if case.kind == "path":
        shown = str(case.value) in text or repr(case.value)[:40] in text
        if shown and (named or isinstance(case.value, str | os.PathLike)):
            return "clean", msg
    elif case.kind == "array":
        if named and ("got" in text):
            return "clean", msg
    elif named and any(r in text for r in renderings(case.value)):
        return "clean", msg
    if named and f"got {type(case.value).__name__}" in text:
        return "other error", "[names the argument, shows only the type] " + msg
    return "other error", msg


def finite(obj: Any, depth: int = 0) -> bool:
    """No non-finite float in the output (shallow walk of attributes, containers)."""
    if depth > 3 or obj is None or isinstance(obj, str | bytes | bool):
        return True
    if isinstance(obj, float | np.floating | complex):
        return bool(np.isfinite(obj))
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind not in "fc" or bool(np.all(np.isfinite(obj)))
    if isinstance(obj, list | tuple):
        return all(finite(x, depth + 1) for x in obj[:1000])
    if isinstance(obj, dict):
        return all(finite(x, depth + 1) for x in list(obj.values())[:1000])
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return all(finite(getattr(obj, f.name), depth + 1) for f in dataclasses.fields(obj))
    return True


def execute(case: Case) -> tuple[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = case.call()
        except Exception as exc:        # classified, not handled
            return classify_error(case, exc)
        if case.invalid:
            return "accepted", f"returned {short(out, 80)}"
        try:
            problem = case.works(out) if case.works is not None else (
                None if finite(out) else "non-finite output")
        except Exception as exc:        # the accepted object does not work
            return "accepted-bad", f"then fails: {type(exc).__name__}: {str(exc)[:200]}"
        return ("accepted-ok", "works") if problem is None else ("accepted-bad", problem)


# -- entry-point groups ---------------------------------------------------------------------
def kind_of(param: inspect.Parameter, base: Any) -> tuple[str, bool]:
    """('int'|'float'|'bool'|'option'|'array'|'seed'|'other', optional)."""
    ann = str(param.annotation)
    optional = "None" in ann or (param.default is None)
    if param.name == "seed":
        return "seed", True
    if isinstance(base, bool) or ann.startswith("bool"):
        return "bool", optional
    if (isinstance(base, int) and not isinstance(base, bool)) or ann.startswith("int"):
        return "int", optional
    if isinstance(base, float) or ann.startswith("float"):
        return "float", optional
    if isinstance(base, str) or ann.startswith("str"):
        return "option", optional
    if isinstance(base, list | np.ndarray):
        return "array", optional
    return "other", optional


def param_cases(entry: str, fn: Callable[..., Any], args: dict[str, Any], *,
                family: Callable[[str, str | None], str], works: Callable[[Any], str | None]
                | None = None, skip: tuple[str, ...] = (), extra: dict[str, list[Any]] | None
                = None, negative_ok: tuple[str, ...] = ("n_jobs",),
                spec: Callable[..., Any] | None = None) -> list[Case]:
    """One case per (argument, invalid value): ``fn(**args)`` with one argument replaced;
    the kinds come from the signature of ``spec`` (default ``fn``)."""
    try:
        sig = inspect.signature(spec or fn)
    except (TypeError, ValueError):
        sig = None
    cases: list[Case] = []

    def add(name: str, value: Any, invalid: bool, fam: str | None, label: str = "",
            kind: str = "scalar") -> None:
        def call(name: str = name, value: Any = value) -> Any:
            return fn(**{**args, name: value})
        cases.append(Case(family(name, fam), entry, name, value, invalid, call, works,
                          kind=kind, label=label))

    params = dict(sig.parameters) if sig is not None else {}
    for name in args:
        if name in skip:
            continue
        p = params.get(name, inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY))
        kind, optional = kind_of(p, args[name])
        if kind == "seed":
            for v, inv in SEED_VALUES:
                add(name, v, inv, F_SEED)
        elif kind == "int":
            for v, inv, fam in int_values(optional, name in negative_ok):
                add(name, v, inv, fam)
        elif kind == "float":
            for v, inv, fam in float_values(optional):
                add(name, v, inv, fam)
        elif kind == "bool":
            for v, inv, fam in bool_values(optional):
                add(name, v, inv, fam)
        elif kind == "option":
            for v, inv, fam in option_values(optional):
                add(name, v, inv, fam)
        elif kind == "array":
            for v, inv, label in array_values(args[name]):
                if v is None and optional:
                    continue
                add(name, v, inv, None, label, "array")
        for v in (extra or {}).get(name, []):
            add(name, v, True, None)
    return cases


def seed_cases(entry: str, fn: Callable[..., Any], works: Callable[[Any], str | None] | None = None
               ) -> list[Case]:
    return [Case(F_SEED, entry, "seed", v, inv, (lambda v=v: fn(seed=v)), works)
            for v, inv in SEED_VALUES]


def int_family(kinds: dict[str, str]) -> Callable[[str, str | None], str]:
    def family(name: str, fam: str | None) -> str:
        if fam is not None:
            return fam
        return F_INTLIKE if kinds.get(name) == "int" else F_EDGE
    return family


def kinds_of(fn: Callable[..., Any], args: dict[str, Any]) -> dict[str, str]:
    sig = inspect.signature(fn)
    out = {}
    for name, value in args.items():
        p = sig.parameters.get(name, inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY))
        out[name] = kind_of(p, value)[0]
    return out


# -- algorithms -------------------------------------------------------------------------------
def bandit_env(n_arms: int, contextual: bool, n_features: int = 2, horizon: int = 20) -> Any:
    import banditlab as bl

    if contextual:
        theta = np.linspace(0.6, -0.3, n_features)
        return bl.LinearBandit(theta, n_arms=n_arms, horizon=horizon)
    return bl.BernoulliBandit(np.linspace(0.1, 0.9, n_arms), horizon=horizon)


def algorithm_works(cls: type) -> Callable[[Any], str | None]:
    """A short run of an accepted learner; None if its output is finite."""
    proto = cls.protocol.name

    def works(agent: Any) -> str | None:
        if proto in ("KARMED", "CONTEXTUAL", "FIXED_BUDGET_BAI"):
            from banditlab import run

            n_arms = int(agent.n_arms)
            if n_arms > 4096:
                agent.reset(seed=0)
                obs = None
                if proto == "CONTEXTUAL":
                    obs = np.full((n_arms, int(agent.n_features)), 0.5)
                for _ in range(5):
                    agent.update(agent.select(obs), 0.5, obs)
                return None
            n_features = int(getattr(agent, "n_features", 2) or 2)
            env = bandit_env(n_arms, proto == "CONTEXTUAL", n_features)
            res = run(agent, env, 20, seed=0, check_rewards=False)
            return None if finite(res.final_regret) else "non-finite regret"
        if proto == "STREAMING":
            from banditlab.envs.streaming import StreamingBandit, clear_cut_means
            from banditlab.streaming import run_streaming

            env = StreamingBandit(clear_cut_means(20, seed=0), horizon=10_000,
                                  memory=agent.memory_budget(20))
            res = run_streaming(agent, env, seed=0, n_jobs=1, progress=False)
            return None if finite(res.final_regret) else "non-finite regret"
        if proto == "BLOCK_DESCENT":
            from banditlab.solvers.bcd_datasets import dataset_a

            out = agent.solve(dataset_a(20, 30, seed=0), max_iter=20, seed=0)
            return None if finite(out.objective) else "non-finite objective"
        if proto == "SOLVER_SEQUENCE":
            agent.reset(seed=0)
            for t in range(10):
                a = agent.select(0.1 * t)
                if not 0 <= a < agent.n_arms:
                    return f"select returned {a!r}"
                agent.update(a, -1.0)
            return None
        from banditlab.cascading import run_episodes
        from banditlab.envs.cascading import random_cascading_mdp

        env = random_cascading_mdp(agent.n_states, agent.n_items, agent.list_size,
                                   agent.horizon, seed=0)
        if proto == "EPISODIC_BPI":
            out = agent.with_params(max_episodes=3).identify(env, seed=0)
            return None if finite(out) else "non-finite output"
        res = run_episodes(agent, env, 3, seed=0, n_jobs=1, progress=False)
        return None if finite(res.final_regret) else "non-finite regret"
    return works


def algorithm_group(name: str) -> tuple[Callable[[], Any], list[Case]]:
    from banditlab.registry import ALGORITHMS
    from banditlab.testing import _HARNESSES

    cls = ALGORITHMS[name]
    proto = cls.protocol.name
    args = dict(_HARNESSES[proto].valid_kwargs(cls))
    if "budget" in cls.constraints:
        args["budget"] = 64
    works = algorithm_works(cls)
    kinds = kinds_of(cls.__init__, args)

    def family(param: str, fam: str | None) -> str:
        if fam is not None:
            return fam
        return F_INTLIKE if kinds.get(param) == "int" else F_EDGE

    def build(**kw: Any) -> Any:
        return cls(**kw)

    cases = param_cases(f"{name}()", build, args, family=family, works=works,
                        spec=cls.__init__)
    # the constraint's own upper bound: a size that validates
    for param, constraint in cls.constraints.items():
        high = getattr(constraint, "high", None)
        if param in args and isinstance(high, int) and not isinstance(high, bool) and high > 64:
            cases.append(Case(F_SIZE, f"{name}()", param, high, False,
                              (lambda p=param, h=high: build(**{**args, p: h})), works))

    def fresh() -> Any:
        agent = build(**args)
        return agent

    cases += seed_cases(f"{name}.reset", lambda seed: fresh().reset(seed=seed),
                        works=lambda agent: works(agent))
    if proto in ("KARMED", "CONTEXTUAL", "FIXED_BUDGET_BAI", "SOLVER_SEQUENCE"):
        cases += step_cases(name, fresh, proto)
    elif proto in ("EPISODIC", "EPISODIC_BPI"):
        cases += episodic_step_cases(name, fresh)
    return (lambda: works(fresh())), cases


def step_cases(name: str, fresh: Callable[[], Any], proto: str) -> list[Case]:
    contextual = proto == "CONTEXTUAL"

    def obs_for(agent: Any) -> Any:
        if contextual:
            env = bandit_env(agent.n_arms, True, agent.n_features)
            return env.reset(seed=0)[0]
        return 0.5 if proto == "SOLVER_SEQUENCE" else None

    def update(action: Any = 0, reward: Any = -1.0 if proto == "SOLVER_SEQUENCE" else 0.5) -> Any:
        agent = fresh().reset(seed=0)
        obs = obs_for(agent)
        agent.select(obs)
        agent.update(action, reward, obs)
        return agent.select(obs)

    def select(obs: Any) -> Any:
        agent = fresh().reset(seed=0)
        return agent.select(obs)

    cases: list[Case] = []
    for v, inv, fam in [(True, True, F_INTLIKE), (1.5, True, F_INTLIKE), ("3", True, F_INTLIKE),
                        (NAN, True, F_INTLIKE), (None, True, F_INTLIKE), (-1, True, F_INTLIKE),
                        (4, True, F_INTLIKE), (2**63, True, F_SIZE), (np.float64(1.0), True,
                                                                       F_INTLIKE)]:
        cases.append(Case(fam, f"{name}.update", "action", v, inv, (lambda v=v: update(action=v))))
    for v, inv in [(NAN, True), (math.inf, True), ("x", True), (None, True), (True, True),
                   (1e308, False), (-1e308, False), (5e-324, False)]:
        cases.append(Case(F_EDGE, f"{name}.update", "reward", v, inv,
                          (lambda v=v: update(reward=v))))
    if contextual:
        for v, inv, label in array_values(np.full((4, 2), 0.5)):
            cases.append(Case(F_EDGE, f"{name}.select", "obs", v, inv, (lambda v=v: select(v)),
                              kind="array", label=label))
    elif proto == "SOLVER_SEQUENCE":
        for v, inv in [(NAN, True), ("x", True), (None, True), (True, True), (1e308, False)]:
            cases.append(Case(F_EDGE, f"{name}.select", "obs", v, inv, (lambda v=v: select(v)),
                              names=("context",)))
    return cases


def episodic_step_cases(name: str, fresh: Callable[[], Any]) -> list[Case]:
    def select(h: Any = 0, s: Any = 0) -> Any:
        agent = fresh().reset(seed=0)
        return agent.select(h, s)

    cases = []
    for param in ("h", "s"):
        for v, inv, fam in int_values(False):
            cases.append(Case(fam or F_INTLIKE, f"{name}.select", param, v, inv,
                              (lambda v=v, p=param: select(**{p: v}))))
    return cases


# -- envs -------------------------------------------------------------------------------------
def env_works(env: Any) -> str | None:
    env.reset(seed=0)
    n = getattr(env.action_space, "n", None)
    for t in range(3 if n is not None else 0):
        _, reward, _, _, info = env.step(t % n)
        if not finite(reward) or not finite(info):
            return f"non-finite reward {reward!r}"
    if hasattr(env, "optimal_expected_reward"):
        gap = env.optimal_expected_reward() - env.expected_reward(0)
        if not finite(gap):
            return f"non-finite pseudo-regret {gap!r}"
    return None


def env_group(env_id: str) -> tuple[Callable[[], Any], list[Case]]:
    from banditlab.envs import ENV_REGISTRY

    cls, _, example = ENV_REGISTRY[env_id]
    args = dict(example)
    short_id = env_id.split("/")[-1]

    def family(param: str, fam: str | None) -> str:
        return F_SIZE if fam == F_SIZE else F_ENV

    cases = param_cases(f"{short_id}()", lambda **kw: cls(**kw), args, family=family,
                        works=env_works, spec=cls.__init__)

    def fresh() -> Any:
        return cls(**args)

    cases += seed_cases(f"{short_id}.reset", lambda seed: fresh().reset(seed=seed),
                        works=lambda out: None)
    n = fresh().action_space
    n_actions = getattr(n, "n", 4)

    def step(action: Any) -> Any:
        env = fresh()
        env.reset(seed=0)
        return env.step(action)

    if short_id.startswith("Streaming"):
        actions = [1.5, "3", None, (0, 0), (9, 0, 1), (0, NAN, 1), (True, 0, 1), (0, 0, -1),
                   (0, 0, 2**63)]
    else:
        actions = [True, 1.5, "3", NAN, None, -1, n_actions, 2**63, np.array([0, 1])]
    for v in actions:
        cases.append(Case(F_ENV, f"{short_id}.step", "action", v, True, (lambda v=v: step(v))))
    return (lambda: env_works(fresh())), cases


# -- runners ----------------------------------------------------------------------------------
def runner_group(name: str) -> tuple[Callable[[], Any], list[Case]]:
    import banditlab as bl

    if name in ("run_many", "run"):
        fn = getattr(bl, name)
        args = {"policy": bl.UCB(3), "env": bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=20),
                "horizon": 20, "seed": 0, "engine": "auto", "checkpoints": None,
                "check_rewards": True}
        if name == "run_many":
            args.update(n_runs=2, n_jobs=1, progress=False)
        extra = {"policy": ["UCB", 3, None], "env": ["banditlab/BernoulliBandit-v0", 3, None],
                 "checkpoints": [-1, "x", True, [5, 3], [0], [10**9], NAN]}
    elif name == "run_streaming":
        from banditlab.envs.streaming import StreamingBandit, clear_cut_means
        from banditlab.streaming import GameOfArms, run_streaming

        fn = run_streaming
        alg = GameOfArms()
        args = {"algorithm": alg, "env": StreamingBandit(clear_cut_means(20, seed=0),
                                                         horizon=10_000,
                                                         memory=alg.memory_budget(20)),
                "n_runs": 2, "seed": 0, "n_jobs": 1, "progress": False}
        extra = {"algorithm": ["GameOfArms", 3, None], "env": [3, None]}
    else:
        from banditlab.cascading import CascadingVI, run_episodes
        from banditlab.envs.cascading import random_cascading_mdp

        fn = run_episodes
        env = random_cascading_mdp(2, 4, 2, 2, seed=0)
        args = {"agent": CascadingVI.for_env(env), "env": env, "n_episodes": 3, "n_runs": 2,
                "seed": 0, "engine": "kernel", "n_jobs": 1, "progress": False}
        extra = {"agent": ["CascadingVI", 3, None], "env": [3, None]}
    kinds = kinds_of(fn, args)
    kinds["checkpoints"] = "other"
    cases = param_cases(name, lambda **kw: fn(**kw), args, family=int_family(kinds),
                        skip=("policy", "env", "algorithm", "agent"), extra=extra, spec=fn)
    for p in ("policy", "env", "algorithm", "agent"):
        for v in extra.get(p, []) if p in args else []:
            cases.append(Case(F_LOADER, name, p, v, True,
                              (lambda v=v, p=p: fn(**{**args, p: v}))))
    return (lambda: fn(**args)), cases


# -- solvers ----------------------------------------------------------------------------------
def solver_data() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 6))
    y = rng.standard_normal(20)
    B = rng.standard_normal((6, 6))
    return {"X": X, "y": y, "ysign": np.where(y > 0, 1.0, -1.0), "A": B @ B.T + 6 * np.eye(6),
            "c": rng.standard_normal(6), "labels": np.arange(20) % 3}


def solver_group(name: str) -> tuple[Callable[[], Any], list[Case]]:
    import networkx as nx

    from banditlab import solvers as S

    d = solver_data()
    table: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
        "L1LeastSquares": (S.L1LeastSquares, {"M": d["X"], "y": d["y"], "lam": 0.1,
                                              "nonnegative": False}),
        "LeastSquares": (S.LeastSquares, {"M": d["X"], "y": d["y"]}),
        "Logistic": (S.Logistic, {"M": d["X"], "y": d["ysign"]}),
        "Quadratic": (S.Quadratic, {"A": d["A"], "c": d["c"]}),
        "Softmax": (S.Softmax, {"M": d["X"], "labels": d["labels"], "n_classes": 3}),
        "poisson_2d": (S.poisson_2d, {"m": 4, "shift": 0.0}),
        "young_omega": (S.young_omega, {"beta": 0.5}),
        "young_rate": (S.young_rate, {"omega": 1.2, "beta": 0.5}),
    }
    if name == "LabelPropagation":
        fn: Callable[..., Any] = S.LabelPropagation
        graph = nx.path_graph(6)
        args: dict[str, Any] = {"graph": graph, "labels": {0: 1.0, 5: -1.0}}
        digraph = nx.DiGraph(graph)
        weighted = nx.path_graph(6)
        weighted[0][1]["weight"] = NAN
        cases = []
        for v, label in [(3, "3"), (None, "None"), ("x", "'x'"), (digraph, "directed graph"),
                         (weighted, "NaN edge weight"), (np.eye(6), "ndarray")]:
            cases.append(Case(F_SOLVER, name, "graph", v, True,
                              (lambda v=v: fn(**{**args, "graph": v})), kind="array",
                              label=label))
        for v, label in [(3, "3"), ({}, "{}"), ({0: NAN}, "NaN label"), ({99: 1.0}, "unknown node"),
                         ({0: "a"}, "string label"), ({0: True}, "bool label"),
                         ({0: 1e308, 5: -1e308}, "±1e308 labels")]:
            cases.append(Case(F_SOLVER, name, "labels", v, label != "±1e308 labels",
                              (lambda v=v: fn(**{**args, "labels": v})), kind="array",
                              label=label, works=lambda p: solve_works(p)))
        return (lambda: fn(**args)), cases
    if name == "bcd":
        fn = S.bcd
        args = {"problem": S.LeastSquares(d["X"], d["y"]), "partition": "sorted",
                "selection": "gs", "update": "gradient", "block_size": 2, "max_iter": 5,
                "tol": None, "f_target": None, "x0": np.zeros(6), "score": "paper",
                "record": True, "check_every": None, "working_set": False,
                "fast_path": True, "seed": 0}
        cases = param_cases(name, lambda **kw: fn(**kw), args,
                            family=lambda p, f: F_SEED if f == F_SEED else F_SOLVER,
                            skip=("problem",), spec=fn)
        for v in (3, None, "LeastSquares", d["X"]):
            cases.append(Case(F_SOLVER, name, "problem", v, True,
                              (lambda v=v: fn(**{**args, "problem": v}))))
        return (lambda: fn(**args)), cases
    if name == "sor" or name == "ssor_pcg":
        fn = getattr(S, name)
        A = S.poisson_2d(4)
        args = {"A": A.toarray(), "b": np.ones(16), "omega": 1.5, "x0": np.zeros(16),
                "tol": 1e-8, "maxiter": 50}
        if name == "sor":
            args.update(sweep="forward", divtol=1e10)
        cases = param_cases(name, lambda **kw: fn(**kw), args,
                            family=lambda p, f: F_SOLVER, spec=fn)
        cases.append(Case(F_SOLVER, name, "A", np.ones((16, 8)), True,
                          (lambda: fn(**{**args, "A": np.ones((16, 8))})), kind="array",
                          label="non-square"))
        return (lambda: fn(**args)), cases
    if name == "jacobi_radius":
        fn = S.jacobi_radius
        args = {"A": S.poisson_2d(4).toarray()}
        return (lambda: fn(**args)), param_cases(name, lambda **kw: fn(**kw), args,
                                                 family=lambda p, f: F_SOLVER, spec=fn)
    fn, args = table[name]
    works = solve_works if name[0].isupper() else None
    cases = param_cases(name, lambda **kw: fn(**kw), args, family=lambda p, f: F_SOLVER,
                        works=works, spec=fn)
    return (lambda: fn(**args)), cases


def solve_works(problem: Any) -> str | None:
    from banditlab.solvers import bcd

    res = bcd(problem, block_size=2, max_iter=5)
    return None if finite(res.objective) and finite(res.x) else "non-finite bcd output"


# -- loaders and sweep ------------------------------------------------------------------------
def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def toml_text(spec: dict[str, Any]) -> str:
    lines = []
    for k, v in spec.items():
        if not isinstance(v, list) or not v or not isinstance(v[0], dict):
            lines.append(f"{k} = {toml_value(v)}")
    for k, v in spec.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for table in v:
                lines.append(f"[[{k}]]")
                lines += [f"{kk} = {toml_value(vv)}" for kk, vv in table.items()]
    return "\n".join(lines) + "\n"


def base_spec() -> dict[str, Any]:
    return {"name": "campaign", "seed": 0, "n_seeds": 2, "horizon": 20, "engine": "auto",
            "checkpoints": 5,
            "policies": [{"name": "UCB", "params": {"alpha": 2.0}}],
            "envs": [{"id": "banditlab/BernoulliBandit-v0",
                      "kwargs": {"means": [0.2, 0.5, 0.7]}}]}


#: (config path, value, invalid by construction, family)
FIELD_VALUES: list[tuple[str, Any, bool, str]] = (
    [("horizon", v, True, F_INTLIKE) for v in (True, 1.5, "3", NAN, -1, 0)]
    + [("horizon", 2**63 - 1, True, F_SIZE)]
    + [("n_seeds", v, True, F_INTLIKE) for v in (True, 1.5, "3", -1, 0)]
    + [("n_seeds", v, True, F_SIZE) for v in (2**31 + 1, 2**63 - 1)]
    + [("seed", v, True, F_SEED) for v in (-1, 1.5, "abc", True, NAN)]
    + [("engine", v, True, F_LOADER) for v in (3, "x", True)]
    + [("checkpoints", v, True, F_LOADER) for v in (-1, "x", True, [5, 3], 1.5, 2**63 - 1)]
    + [("policies[0].params.alpha", v, True, F_EDGE)
       for v in (NAN, math.inf, "x", True, -1.0)]
    + [("policies[0].params.alpha", v, False, F_EDGE) for v in (1e308, 5e-324)]
    + [("policies[0].name", v, True, F_LOADER) for v in (3, "NoSuchPolicy")]
    + [("envs[0].id", v, True, F_LOADER) for v in (3, "nope/Nope-v0")]
    + [("envs[0].kwargs.means", v, True, F_ENV)
       for v in ([], [NAN, 0.5], "x", [[[0.5]]], [0.5, "a"], [True, False])]
    + [("envs[0].kwargs.means", [1e300, 0.5], True, F_ENV),
       ("envs[0].kwargs.means", {"linspace": [0.1, 0.9, 10**9]}, True, F_ENV),
       ("envs[0].kwargs.means", {"linspace": [0.1, 0.9, NAN]}, True, F_ENV)]
)


def set_path(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(spec)
    node: Any = out
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[parts[-1]] = value
    return out


def loader_group(name: str) -> tuple[Callable[[], Any], list[Case]]:
    import banditlab as bl
    from banditlab.config import load_config
    from banditlab.results import load_results
    from banditlab.store import load_store
    from banditlab.sweep import load_grid, sweep

    tmp = Path(tempfile.mkdtemp(prefix="bl_campaign_"))
    garbage = tmp / "garbage.bin"
    garbage.write_bytes(b"\x00\xff not toml [[[ \x80")
    empty_dir = tmp / "empty"
    empty_dir.mkdir()
    missing = tmp / "does_not_exist"
    wrong_types: list[Any] = [3, None, 1.5, True, b"bytes", ["a"], {"a": 1}]
    paths: list[tuple[Any, str]] = [(str(missing), "missing path"), (str(empty_dir), "a folder"),
                                    (str(garbage), "a garbage file")]
    cases: list[Case] = []

    def add_paths(entry: str, fn: Callable[[Any], Any], param: str = "path") -> None:
        for v in wrong_types:
            cases.append(Case(F_LOADER, entry, param, v, True, (lambda v=v: fn(v)),
                              kind="path"))
        for v, label in paths:
            cases.append(Case(F_LOADER, entry, param, v, True, (lambda v=v: fn(v)),
                              kind="path", label=label))

    if name == "load_results":
        res = bl.run_many(bl.UCB(3), bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=20), 20,
                          n_runs=2, seed=0, n_jobs=1, progress=False)
        good = res.save(tmp / "res")
        add_paths(name, load_results)
        files = sorted(p for p in Path(good).iterdir() if p.is_file())
        for f in files:
            broken = tmp / f"broken_{f.name}"
            shutil.copytree(good, broken)
            (broken / f.name).write_bytes(b"{ not what it was")
            cases.append(Case(F_LOADER, name, "path", str(broken), True,
                              (lambda b=broken: load_results(b)), kind="path",
                              label=f"results folder with a corrupt {f.name}"))
        return (lambda: load_results(good)), cases
    if name == "load_store":
        store = tmp / "store"
        sweep(base_spec(), store=store, executor="serial", progress=False)
        add_paths(name, load_store)
        for v, inv, _ in bool_values():
            cases.append(Case(F_LOADER, name, "coordinates", v, inv,
                              (lambda v=v: load_store(store, coordinates=v))))
        return (lambda: load_store(store)), cases
    if name in ("load_config", "load_grid"):
        fn = load_config if name == "load_config" else load_grid
        good = tmp / "good.toml"
        good.write_text(toml_text(base_spec()))
        add_paths(name, fn)
        for i, (path, v, inv, fam) in enumerate(FIELD_VALUES):
            try:
                text = toml_text(set_path(base_spec(), path, v))
            except TypeError:
                continue
            file = tmp / f"field_{i}.toml"
            file.write_text(text)
            cases.append(Case(fam, name, path, v, inv, (lambda f=file: fn(f)),
                              names=(path,), kind="array" if isinstance(v, list | dict)
                              else "scalar"))
        if name == "load_config":
            for v, inv in SEED_VALUES:
                cases.append(Case(F_SEED, name, "seed", v, inv,
                                  (lambda v=v: load_config(good, seed=v))))
            for v, inv, _ in option_values(True):
                cases.append(Case(F_LOADER, name, "engine", v, inv,
                                  (lambda v=v: load_config(good, engine=v))))
            for v, inv, _ in bool_values()[:3]:
                cases.append(Case(F_LOADER, name, "check_rewards", v, inv,
                                  (lambda v=v: load_config(good, check_rewards=v))))
        return (lambda: fn(good)), cases
    # sweep
    counter = iter(range(10**6))

    def store() -> Path:
        return tmp / f"store_{next(counter)}"

    def run_sweep(grid: Any = base_spec, **kw: Any) -> Any:
        kw = {"store": store(), "executor": "serial", "progress": False, **kw}
        out = sweep(base_spec() if grid is base_spec else grid, **kw)
        frame = load_store(kw["store"])
        return out, frame.select_dtypes("number").to_numpy()

    for v in wrong_types[:-1]:
        cases.append(Case(F_LOADER, name, "grid", v, True, (lambda v=v: run_sweep(v)),
                          kind="path"))
    for v, label in paths:
        cases.append(Case(F_LOADER, name, "grid", v, True, (lambda v=v: run_sweep(v)),
                          kind="path", label=label))
    for v in (3, None, 1.5, ["a"]):
        cases.append(Case(F_LOADER, name, "store", v, True,
                          (lambda v=v: run_sweep(store=v)), kind="path"))
    for param, values in {"executor": ["x", 1.5, -1, 0, True],
                          "batch_size": [0, -1, "x", 1.5, True, NAN],
                          "extend": ["yes", 1], "retry_failed": ["yes", 1],
                          "progress": ["x", 1], "max_pool_restarts": [-1, 1.5, True, "3"]}.items():
        for v in values:
            cases.append(Case(F_LOADER, name, param, v, True,
                              (lambda v=v, p=param: run_sweep(**{p: v}))))
    for path, v, inv, fam in FIELD_VALUES:
        cases.append(Case(fam, name, path, v, inv,
                          (lambda p=path, v=v: run_sweep(set_path(base_spec(), p, v))),
                          names=(path,), kind="array" if isinstance(v, list | dict)
                          else "scalar"))
    return (lambda: run_sweep()), cases


# -- the group table ----------------------------------------------------------------------------
def group_names() -> list[str]:
    from banditlab import solvers
    from banditlab.envs import ENV_REGISTRY
    from banditlab.registry import ALGORITHMS

    names = [f"alg:{n}" for n in ALGORITHMS]
    names += [f"env:{e}" for e in ENV_REGISTRY]
    names += [f"runner:{r}" for r in ("run_many", "run", "run_streaming", "run_episodes")]
    solver_entries = [n for n in solvers.__all__
                      if n not in ("BCD", "BCDResult", "SolveResult", "sor_sweep")]
    names += [f"solver:{s}" for s in solver_entries]
    names += [f"loader:{x}" for x in ("load_results", "load_store", "load_config", "load_grid",
                                      "sweep")]
    return names


def build_group(group: str) -> tuple[Callable[[], Any], list[Case]]:
    kind, name = group.split(":", 1)
    builder = {"alg": algorithm_group, "env": env_group, "runner": runner_group,
               "solver": solver_group, "loader": loader_group}[kind]
    return builder(name)


# -- worker process ---------------------------------------------------------------------------
def worker(conn: Any, group: str, start: int) -> None:
    with contextlib.suppress(ValueError, OSError, ImportError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        baseline, cases = build_group(group)
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                baseline()
            base = "ok"
        except Exception as exc:        # reported, the cases still run
            base = f"{type(exc).__name__}: {exc}"
        conn.send(("meta", [c.meta() for c in cases], base, time.perf_counter() - t0))
    except Exception as exc:            # the harness itself failed for this group
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    for i in range(start, len(cases)):
        if not conn.poll(None):
            return
        conn.recv()
        outcome, detail = execute(cases[i])
        conn.send(("case", i, outcome, detail[:400]))


def drive(group: str, ctx: Any, results: list[dict[str, Any]], baselines: dict[str, str],
          lock: threading.Lock) -> None:
    """Run one group's cases in a worker, restarting it after a crash or a hang."""
    start, metas = 0, None
    while True:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(child, group, start))
        proc.start()
        child.close()
        if not parent.poll(START_TIMEOUT):
            proc.kill()
            proc.join()
            with lock:
                baselines[group] = "worker did not start (timeout)"
            return
        try:
            msg = parent.recv()
        except EOFError:
            proc.join()
            with lock:
                baselines[group] = f"worker died at start (exit code {proc.exitcode})"
            return
        if msg[0] == "error":
            with lock:
                baselines[group] = f"harness error: {msg[1]}"
            proc.join()
            return
        metas = msg[1]
        if start == 0:
            with lock:
                baselines[group] = msg[2]
        i = start
        failed = None
        while i < len(metas):
            parent.send(i)
            if not parent.poll(CASE_TIMEOUT):
                failed = ("hang", f"no answer within {CASE_TIMEOUT:g} s")
                proc.kill()
                break
            try:
                _, j, outcome, detail = parent.recv()
            except EOFError:
                proc.join()
                failed = ("crash", f"worker died, exit code {proc.exitcode}")
                break
            record(results, lock, metas[j], outcome, detail)
            i += 1
        if failed is None:
            parent.close()
            proc.join(5)
            if proc.is_alive():
                proc.kill()
            return
        proc.join()
        record(results, lock, metas[i], *failed)
        start = i + 1
        if start >= len(metas):
            return


def record(results: list[dict[str, Any]], lock: threading.Lock, meta: Any, outcome: str,
           detail: str) -> None:
    family, entry, param, value = meta
    with lock:
        results.append({"family": family, "entry": entry, "param": param, "value": value,
                        "outcome": outcome, "detail": detail})


# -- report -----------------------------------------------------------------------------------
def table(rows: list[dict[str, Any]], key: str, order: list[str] | None = None) -> list[str]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        counts[r[key]][r["outcome"]] += 1
    keys = [k for k in (order or []) if k in counts] + sorted(k for k in counts
                                                              if k not in (order or []))
    head = f"| {key} | cases | " + " | ".join(OUTCOMES) + " |"
    out = [head, "|" + "---|" * (len(OUTCOMES) + 2)]
    total: Counter[str] = Counter()
    for k in keys:
        c = counts[k]
        total.update(c)
        out.append(f"| {k} | {sum(c.values())} | " + " | ".join(str(c[o]) for o in OUTCOMES)
                   + " |")
    out.append(f"| **total** | **{sum(total.values())}** | "
               + " | ".join(f"**{total[o]}**" for o in OUTCOMES) + " |")
    return out


def report(rows: list[dict[str, Any]], baselines: dict[str, str], elapsed: float,
           n_groups: int) -> str:
    lines = [f"Cases: {len(rows)} over {n_groups} groups "
             f"({len({r['entry'] for r in rows})} entry points); wall time {elapsed:.0f} s.", "",
             "### Per family", ""]
    lines += table(rows, "family", FAMILIES)
    lines += ["", "### Per entry point", ""]
    lines += table(rows, "entry")
    bad_base = {g: b for g, b in baselines.items() if b != "ok"}
    if bad_base:
        lines += ["", "### Baselines that failed (the cases of these groups are suspect)", ""]
        lines += [f"- `{g}`: {b}" for g, b in sorted(bad_base.items())]
    for outcome in ("crash", "hang", "accepted", "accepted-bad", "other error"):
        sel = [r for r in rows if r["outcome"] == outcome]
        if not sel:
            continue
        lines += ["", f"### `{outcome}` ({len(sel)})", ""]
        for r in sorted(sel, key=lambda r: (r["family"], r["entry"], r["param"])):
            detail = r["detail"].replace("\n", " ").replace("|", "\\|")
            lines.append(f"- [{r['family']}] `{r['entry']}` `{r['param']}={r['value']}`: "
                         f"{detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes at once")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only groups whose name contains one of these strings")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    opts = parser.parse_args(argv)
    groups = group_names()
    if opts.only:
        groups = [g for g in groups if any(s in g for s in opts.only)]
    if opts.list:
        print("\n".join(groups))
        return 0
    ctx = mp.get_context("spawn")
    results: list[dict[str, Any]] = []
    baselines: dict[str, str] = {}
    lock = threading.Lock()
    pending = list(groups)
    t0 = time.perf_counter()

    def loop() -> None:
        while True:
            with lock:
                if not pending:
                    return
                group = pending.pop(0)
            t = time.perf_counter()
            drive(group, ctx, results, baselines, lock)
            print(f"[{time.perf_counter() - t0:6.0f} s] {group}: "
                  f"{time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)

    threads = [threading.Thread(target=loop) for _ in range(max(1, opts.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(report(results, baselines, time.perf_counter() - t0, len(groups)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
