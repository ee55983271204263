"""Every system behind one interface: build, check and run any registered algorithm on any
registered environment (the dispatch of experiment files, ``banditlab run`` and sweeps).

Each protocol of :mod:`banditlab.protocols` belongs to one *system*, which says

* which environments it runs on (the ``family`` of the env, :func:`env_catalogue`) and whether
  the experiment's ``horizon`` is the env's ``horizon`` argument;
* how an algorithm is built for an env (:meth:`System.build`: what it takes from the env and
  from the horizon) and how the pair is checked before anything runs (:meth:`System.check`,
  which also resolves the engine);
* how **one** seeded run goes (:meth:`System.run_one`), returning a :class:`RunRecord`.

A sweep task is one :meth:`System.run_one`; :func:`run_system` runs ``n_runs`` of them through
the one parallel map and assembles :class:`~banditlab.Results`. Both use the library's one seed
derivation (run ``i`` of root entropy ``s`` gets ``run_seed_pair(s, i)``,
:mod:`banditlab._seeding`), and every system's ``run_one`` calls the very function its own
Python API calls per run, so a file, a sweep and the Python API give the same numbers:

==================  ===================  ===========================  ==========================
system              protocols            the horizon counts           metric (``regret``)
==================  ===================  ===========================  ==========================
bandit              KARMED, CONTEXTUAL,  rounds (env ``horizon``)     pseudo-regret
                    FIXED_BUDGET_BAI,                                 (:func:`banditlab.run_many`)
                    SOLVER_SEQUENCE
streaming           STREAMING            pulls (env ``horizon``)      pseudo-regret at the end
                                                                      (:func:`~banditlab.
                                                                      streaming.run_streaming`)
episodic            EPISODIC             episodes (agent              ``sum_k V* - V^{pi_k}``
                                         ``n_episodes``)              (:func:`~banditlab.
                                                                      cascading.run_episodes`)
episodic BPI        EPISODIC_BPI         the episode budget           ``V* - V^{pi_hat}`` of the
                                         (``max_episodes``)           returned policy
block descent       BLOCK_DESCENT        iterations (``max_iter``)    the objective ``F(x^k)``
==================  ===================  ===========================  ==========================

The systems still to come add one :class:`System` to :data:`SYSTEMS`.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from banditlab._seeding import SeedLike, spawn_run_seeds
from banditlab._validation import MAX_RUNS, Boolean, Integer, Options, check_memory
from banditlab.errors import IncompatibleEnvError
from banditlab.parallel import check_n_jobs, check_progress, parallel_map
from banditlab.results import Results, library_versions

__all__ = ["SYSTEMS", "EnvSpec", "RunRecord", "System", "env_catalogue", "env_family",
           "fill_from_horizon", "make_env", "metric_label", "results_from_records",
           "run_system", "runs_on",
           "system_for", "system_for_family"]


# -- environments ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EnvSpec:
    """A registered environment (or test problem) that experiment files can name."""

    id: str
    entry: str | type | Callable[..., Any]     # a class, a factory, or "module:name"
    description: str
    example: dict[str, Any]

    def factory(self) -> Any:
        """The class or function that builds the env (imported on first use)."""
        if isinstance(self.entry, str):
            module, _, name = self.entry.partition(":")
            return getattr(importlib.import_module(module), name)
        return self.entry

    @property
    def family(self) -> str:
        """The env family (``'karmed'``, ``'linear'``, ``'streaming'``, ``'sor'``,
        ``'cascading'`` or ``'bcd'``), which names the protocols that run on it."""
        if self.id in _bcd_problems():
            return "bcd"
        return str(getattr(self.factory(), "family", ""))

    def signature(self) -> tuple[list[str], list[str]]:
        """Keyword arguments of the factory and those without a default."""
        target = self.factory()
        fn = target.__init__ if isinstance(target, type) else target
        params = list(inspect.signature(fn).parameters.values())
        if isinstance(target, type):
            params = params[1:]
        names = [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        required = [p.name for p in params if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        return names, required


def _bcd_problems() -> dict[str, tuple[str, str, dict[str, Any]]]:
    from banditlab.envs import PROBLEMS

    return PROBLEMS


def env_catalogue() -> dict[str, EnvSpec]:
    """Every environment an experiment file can name: the bandit envs
    (:data:`banditlab.envs.ENV_REGISTRY`), the episodic and solver-tuning envs
    (:data:`banditlab.envs.OTHER_ENVS`) and the block-descent test problems
    (:data:`banditlab.envs.PROBLEMS`)."""
    from banditlab.envs import ENV_REGISTRY, OTHER_ENVS

    out = {k: EnvSpec(k, cls, d, ex) for k, (cls, d, ex) in ENV_REGISTRY.items()}
    out.update({k: EnvSpec(k, e, d, ex) for k, (e, d, ex) in OTHER_ENVS.items()})
    out.update({k: EnvSpec(k, e, d, ex) for k, (e, d, ex) in _bcd_problems().items()})
    return out


def make_env(env_id: str, kwargs: dict[str, Any], horizon: int) -> Any:
    """Build env ``env_id`` with ``kwargs``; where the env's ``horizon`` argument counts the
    experiment's rounds (bandit and streaming envs) and ``kwargs`` does not set it, it is
    ``horizon``. Any other gymnasium id is made with ``gymnasium.make``."""
    import gymnasium as gym

    kw = dict(kwargs)
    spec = env_catalogue().get(env_id)
    if spec is not None:
        names, _ = spec.signature()
        if "horizon" in names and "horizon" not in kw and system_for_family(
                spec.family).env_horizon:
            kw["horizon"] = horizon
        return spec.factory()(**kw)
    target = gym.spec(env_id).entry_point
    if not callable(target):
        target = gym.envs.registration.load_env_creator(target)
    params = inspect.signature(target).parameters if callable(target) else {}
    if "horizon" not in kw and "horizon" in params:
        kw["horizon"] = horizon
    return gym.make(env_id, disable_env_checker=True, **kw)


def env_family(env: Any) -> str:
    """The family of a built env (``'bcd'`` for a block-descent problem)."""
    return str(getattr(getattr(env, "unwrapped", env), "family", ""))


# -- one run ----------------------------------------------------------------------------------
class RunRecord(NamedTuple):
    """One seeded run of any system (a sweep task's result; a row of :class:`Results`).

    ``regret``, and every array of ``traces``, hold one value per checkpoint ``t``; ``pulls``
    the pull counts of a bandit run (empty otherwise); ``scalars`` per-run numbers.
    """

    t: np.ndarray
    regret: np.ndarray
    pulls: np.ndarray
    recommendation: int
    best_arm: int
    engine: str
    traces: dict[str, np.ndarray]
    scalars: dict[str, float]


_NO_PULLS = np.zeros(0, dtype=np.int64)


def _at(values: np.ndarray, checkpoints: np.ndarray) -> np.ndarray:
    """``values[k - 1]`` for each checkpoint ``k`` (values of rounds/episodes 1..n)."""
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)[checkpoints - 1])


@dataclass(frozen=True)
class System:
    """How experiment files build, check and run the algorithms of some protocols."""

    name: str
    protocols: tuple[str, ...]
    families: tuple[str, ...]
    #: the experiment's horizon is the env's ``horizon`` argument
    env_horizon: bool
    #: what the horizon counts (the x axis of plots)
    x_label: str
    #: algorithm arguments set from the env (giving them in a file is an error)
    from_env: tuple[str, ...]
    #: algorithm arguments filled from the horizon unless given
    horizon_args: tuple[str, ...]
    build: Callable[[type, dict[str, Any], Any, int], Any]
    check: Callable[[Any, Any, int, str, bool, str], str]
    run_one: Callable[[Any, Any, int, np.ndarray, str, int, int], RunRecord]
    #: the checkpoints a run records, from the horizon and the file's ``checkpoints``
    checkpoints: Callable[[int, Any, str], np.ndarray]
    #: what the metric (the ``regret`` column) is: the y label of plots
    metric: str = "cumulative pseudo-regret"
    #: per-run arrays whose values depend on the machine (wall times): not compared
    timing: tuple[str, ...] = ()


def fill_from_horizon(cls: type, params: dict[str, Any], names: tuple[str, ...], horizon: int
                      ) -> dict[str, Any]:
    """``params`` plus each constructor argument of ``cls`` named in ``names`` that it does not
    give, set to ``horizon`` (the experiment's horizon: a budget, an episode count, ...)."""
    allowed = inspect.signature(cls.__init__).parameters
    kwargs = dict(params)
    for name in names:
        if name in allowed and name not in kwargs:
            kwargs[name] = int(horizon)
    return kwargs


def _default_checkpoints(horizon: int, checkpoints: Any, owner: str) -> np.ndarray:
    from banditlab.runner import make_checkpoints

    return make_checkpoints(horizon, checkpoints, owner=owner)


def _final_only(horizon: int, checkpoints: Any, owner: str) -> np.ndarray:
    return np.array([horizon], dtype=np.int64)


# bandit protocols (and the solver sequence, whose env is a sequence of linear systems)
def _bandit_build(cls: type, params: dict[str, Any], env: Any, horizon: int) -> Any:
    from banditlab.config import fill_policy_args
    from banditlab.protocols import SOLVER_SEQUENCE

    kwargs = fill_policy_args(cls, params, env, horizon)
    base = getattr(env, "unwrapped", env)
    if cls.protocol is SOLVER_SEQUENCE and getattr(base, "context_range", None) is not None:
        low, high = base.context_range
        kwargs.setdefault("low", low)
        kwargs.setdefault("high", high)
    return cls(int(getattr(env.action_space, "n", 0)), **kwargs)


def _bandit_check(policy: Any, env: Any, horizon: int, engine: str, check_rewards: bool,
                  owner: str) -> str:
    from banditlab.reward_models import check_reward_models
    from banditlab.runner import _check_pair, resolve_engine

    _check_pair(policy, env, horizon, owner)
    if check_rewards:
        # banditlab run has a command-line opt-out; a sweep's is in its grid only
        opt_out = ("Set check_rewards = false in the grid" if owner == "sweep" else
                   "Set check_rewards = false (or pass --no-check-rewards)")
        check_reward_models(policy, env, owner, opt_out=opt_out)
    else:
        policy.check_rewards = False
    return resolve_engine(policy, env, engine, owner=owner)


def _bandit_run(policy: Any, env: Any, horizon: int, ck: np.ndarray, engine: str,
                env_seed: int, agent_seed: int) -> RunRecord:
    from banditlab.runner import _one_run

    regret, pulls, rec = _one_run(policy, env, horizon, env_seed, agent_seed, ck, engine)
    return RunRecord(ck, np.asarray(regret, dtype=np.float64), np.asarray(pulls, np.int64),
                     int(rec), int(getattr(env.unwrapped, "best_arm", -1)), engine, {}, {})


# streaming
def _streaming_build(cls: type, params: dict[str, Any], env: Any, horizon: int) -> Any:
    return cls(**params)


def _streaming_check(algorithm: Any, env: Any, horizon: int, engine: str, check_rewards: bool,
                     owner: str) -> str:
    need = algorithm.memory_budget(env.n_arms)
    if env.memory < need:
        raise IncompatibleEnvError(
            f"{owner}: {algorithm.name} stores up to {need} arms besides the buffer with "
            f"{env.n_arms} arms, but the env's memory budget is {env.memory}; set the env's "
            f"memory to at least {need}.")
    if env.horizon != horizon:
        raise ValueError(f"{owner}: the env's horizon (pull budget) is {env.horizon}, the "
                         f"experiment's {horizon}; they must agree.")
    if engine == "python":
        raise IncompatibleEnvError(f"{owner}: streaming algorithms run on the kernel engine "
                                   "only; set engine = 'auto' or 'kernel'.")
    return "kernel"


#: the streaming per-run columns, in the order of streaming.runner._seeded_run's row
STREAMING_COLUMNS = ("pulls_used", "uncounted", "explore_pulls", "peak_memory",
                     "peak_memory_incl_buffer", "arms_read", "commit_gap")


def _streaming_run(algorithm: Any, env: Any, horizon: int, ck: np.ndarray, engine: str,
                   env_seed: int, agent_seed: int) -> RunRecord:
    from banditlab.streaming.runner import _seeded_run

    row = _seeded_run(algorithm, env, (env_seed, agent_seed))
    scalars = {k: float(v) for k, v in zip(STREAMING_COLUMNS, row[1:], strict=True)}
    return RunRecord(ck, np.array([row[0]], dtype=np.float64), _NO_PULLS, -1, -1, "kernel",
                     {}, scalars)


# episodic (cascading MDPs)
_MDP_DIMS = ("n_states", "n_items", "list_size", "horizon")


def _episodic_build(cls: type, params: dict[str, Any], env: Any, horizon: int) -> Any:
    names = ("max_episodes",) if cls.protocol.name == "EPISODIC_BPI" else ("n_episodes",)
    return cls.for_env(env.unwrapped, **fill_from_horizon(cls, params, names, horizon))


def _episodic_check(agent: Any, env: Any, horizon: int, engine: str, check_rewards: bool,
                    owner: str) -> str:
    agent.check_env(env, owner)
    agent.check_state_memory(owner)
    if agent.protocol.name == "EPISODIC_BPI":
        if engine == "python":
            raise IncompatibleEnvError(f"{owner}: best policy identification runs on the "
                                       "kernel engine only; set engine = 'auto' or 'kernel'.")
        return "kernel"
    return "kernel" if engine == "auto" else engine


def _episodic_run(agent: Any, env: Any, horizon: int, ck: np.ndarray, engine: str,
                  env_seed: int, agent_seed: int) -> RunRecord:
    from banditlab.cascading.runner import _one_run

    values, upper, lower, returns, wall = _one_run(agent, env, horizon, env_seed, agent_seed,
                                                   engine)
    optimal = env.unwrapped.optimal_value()
    regret = np.cumsum(optimal - np.asarray(values, dtype=np.float64))
    traces = {"values": _at(values, ck), "upper": _at(upper, ck), "lower": _at(lower, ck),
              "returns": _at(returns, ck)}
    return RunRecord(ck, _at(regret, ck), _NO_PULLS, -1, -1, engine, traces,
                     {"run_time_s": float(wall), "optimal_value": float(optimal)})


def _bpi_run(agent: Any, env: Any, horizon: int, ck: np.ndarray, engine: str,
             env_seed: int, agent_seed: int) -> RunRecord:
    res = agent.identify_seeded(env, env_seed, agent_seed)
    scalars = {"n_episodes": float(res.n_episodes), "stopped": float(res.stopped),
               "upper_value": res.upper_value, "lower_value": res.lower_value,
               "policy_value": res.policy_value, "optimal_value": res.optimal_value}
    return RunRecord(ck, np.array([res.suboptimality], dtype=np.float64), _NO_PULLS, -1, -1,
                     "kernel", {}, scalars)


# block coordinate descent
def _bcd_build(cls: type, params: dict[str, Any], env: Any, horizon: int) -> Any:
    return cls(**params)


def _bcd_check(solver: Any, problem: Any, horizon: int, engine: str, check_rewards: bool,
               owner: str) -> str:
    solver.check_problem(problem, owner)
    if engine == "python":
        raise IncompatibleEnvError(f"{owner}: BCD runs on the kernel engine only; set "
                                   "engine = 'auto' or 'kernel'.")
    return "kernel"


def _bcd_run(solver: Any, problem: Any, horizon: int, ck: np.ndarray, engine: str,
             env_seed: int, agent_seed: int) -> RunRecord:
    res = solver.solve(problem, max_iter=horizon, seed=agent_seed)
    # a run stopped by its tolerance keeps its last objective at later checkpoints
    objective = res.objective[np.minimum(ck, res.n_iter)]
    ident = -1 if res.identification_iter is None else res.identification_iter
    scalars = {"n_iter": float(res.n_iter), "converged": float(res.converged),
               "optimality": float(res.optimality), "identification_iter": float(ident)}
    return RunRecord(ck, np.ascontiguousarray(objective, dtype=np.float64), _NO_PULLS, -1, -1,
                     "kernel", {}, scalars)


#: every system, by name
SYSTEMS: dict[str, System] = {s.name: s for s in (
    System("bandit", ("KARMED", "CONTEXTUAL", "FIXED_BUDGET_BAI", "SOLVER_SEQUENCE"),
           ("karmed", "linear", "sor"), True, "round", ("n_arms",), ("horizon", "budget"),
           _bandit_build, _bandit_check, _bandit_run,
           _default_checkpoints, "cumulative pseudo-regret"),
    System("streaming", ("STREAMING",), ("streaming",), True, "pull", (), (),
           _streaming_build, _streaming_check, _streaming_run,
           _final_only, "pseudo-regret at the end of the stream"),
    System("episodic", ("EPISODIC",), ("cascading",), False, "episode", _MDP_DIMS,
           ("n_episodes",), _episodic_build, _episodic_check,
           _episodic_run, _default_checkpoints, "cumulative regret", ("run_time_s",)),
    System("episodic_bpi", ("EPISODIC_BPI",), ("cascading",), False, "episode", _MDP_DIMS,
           ("max_episodes",), _episodic_build, _episodic_check, _bpi_run,
           _final_only, "V* - V of the returned policy"),
    System("block_descent", ("BLOCK_DESCENT",), ("bcd",), False, "iteration", (), (),
           _bcd_build, _bcd_check, _bcd_run, _default_checkpoints,
           "objective F(x)"),
)}


def system_for(protocol: Any) -> System:
    """The system of a protocol (a :class:`~banditlab.protocols.Protocol` or its name)."""
    name = getattr(protocol, "name", protocol)
    for system in SYSTEMS.values():
        if name in system.protocols:
            return system
    raise ValueError(f"system_for: no system runs protocol {name!r}.")


def runs_on(protocol: Any) -> tuple[str, ...]:
    """The env families an algorithm of ``protocol`` runs on: its protocol's own family; a
    K-armed or best-arm identification policy also runs on the other bandit envs, ignoring
    their contexts (linear bandits, and solver sequences, whose omega grid is a K-armed bandit
    with losses = iterations: the context-free learner of the SOR-tuning paper)."""
    if protocol.name in ("KARMED", "FIXED_BUDGET_BAI"):
        return ("karmed", "linear", "sor")
    return (protocol.env_family,)


def metric_label(protocol: str) -> str:
    """The y label of plots of results of ``protocol`` (a name; unknown: the bandit one)."""
    try:
        return system_for(protocol).metric
    except ValueError:
        return SYSTEMS["bandit"].metric


def system_for_family(family: str) -> System:
    """The first system whose envs have this family (the bandit system otherwise)."""
    for system in SYSTEMS.values():
        if family in system.families:
            return system
    return SYSTEMS["bandit"]


# -- many runs --------------------------------------------------------------------------------
def _seeded(system: System, agent: Any, env: Any, horizon: int, ck: np.ndarray, engine: str,
            seeds: tuple[int, int]) -> RunRecord:
    return system.run_one(agent, env, horizon, ck, engine, seeds[0], seeds[1])


def _env_name(env: Any) -> tuple[str, dict[str, Any]]:
    base = getattr(env, "unwrapped", env)
    params = getattr(base, "env_params", None)
    if params is None:
        params = {"n_features": int(getattr(base, "n_features", 0))}
    return type(base).__name__, params


def results_from_records(agent: Any, env: Any, horizon: int, records: list[RunRecord],
                         entropy: Any, wall: float) -> Results:
    """Assemble the runs of one (algorithm, env) pair into :class:`~banditlab.Results`."""
    system = system_for(agent.protocol)
    env_name, env_params = _env_name(env)
    traces = {k: np.stack([r.traces[k] for r in records]) for k in records[0].traces}
    per_run = {k: np.array([r.scalars[k] for r in records]) for k in records[0].scalars}
    info: dict[str, Any] = {}
    for k in ("optimal_value",):
        if k in per_run and np.all(per_run[k] == per_run[k][0]):
            info[k] = float(per_run.pop(k)[0])
    return Results(
        policy=agent.name, policy_params=agent.get_params(), env=env_name,
        env_params=env_params, horizon=int(horizon), checkpoints=records[0].t,
        regret=np.stack([r.regret for r in records]),
        pulls=np.stack([r.pulls for r in records]),
        recommendations=np.array([r.recommendation for r in records], dtype=np.int64),
        best_arm=records[0].best_arm, seed_entropy=entropy, engine=records[0].engine,
        wall_time_s=wall, versions=library_versions(), protocol=agent.protocol.name,
        x_label=system.x_label, traces=traces, per_run=per_run, info=info)


def run_system(agent: Any, env: Any, horizon: int, *, n_runs: int = 1, seed: SeedLike = None,
               engine: str = "auto", checkpoints: Any = None, n_jobs: int | None = None,
               progress: Any = None, check_rewards: bool = True) -> Results:
    """Run ``n_runs`` seeded runs of any registered algorithm on an env of its system.

    The bandit protocols go through :func:`banditlab.run_many` itself; the others run
    :meth:`System.run_one` (the per-run function of their own Python API) through the one
    parallel map. Run ``i`` gets the seeds of run ``i`` of ``run_many`` under the same ``seed``.

    Parameters
    ----------
    agent : an instance of a registered algorithm class
    env : an env of the agent's system (or a block-descent problem)
    horizon : int
        Rounds, pulls, episodes or iterations (see the module docstring).
    n_runs, seed, engine, checkpoints, n_jobs, progress, check_rewards
        As in :func:`banditlab.run_many` (``checkpoints`` is ignored by the systems that
        record only the end of a run: streaming and best policy identification).

    Returns
    -------
    Results
    """
    owner = "run_system"
    protocol = getattr(agent, "protocol", None)
    if getattr(protocol, "name", None) is None:
        raise TypeError(f"{owner}: 'agent' must be an instance of a registered banditlab "
                        f"algorithm; got {type(agent).__name__}.")
    system = system_for(protocol)
    if system.name == "bandit":
        from banditlab.runner import run_many

        return run_many(agent, env, horizon, n_runs=n_runs, seed=seed, engine=engine,
                        checkpoints=checkpoints, n_jobs=n_jobs, progress=progress,
                        check_rewards=check_rewards)
    family = env_family(env)
    if family not in runs_on(protocol):
        raise IncompatibleEnvError(f"{owner}: {agent.name} ({protocol.name}) runs on "
                                   f"{' or '.join(repr(f) for f in runs_on(protocol))} envs; "
                                   f"'env' is a {family or type(env).__name__!r} env.")
    horizon = int(Integer(1, None).check(horizon, "horizon", owner))
    n_runs = int(Integer(1, MAX_RUNS).check(n_runs, "n_runs", owner))
    engine = Options(("auto", "kernel", "python")).check(engine, "engine", owner)
    check_rewards = Boolean().check(check_rewards, "check_rewards", owner)
    n_jobs = check_n_jobs(n_jobs, owner)
    check_progress(progress, owner)
    engine = system.check(agent, env, horizon, engine, check_rewards, owner)
    ck = system.checkpoints(horizon, checkpoints, owner)
    # the regret and up to four traces per checkpoint, and the per-run columns, of every run
    check_memory(8.0 * n_runs * (5 * ck.size + 10),
                 f"n_runs={n_runs} x {ck.size} checkpoints", owner)
    entropy, seeds = spawn_run_seeds(seed, n_runs, owner=owner)
    start = time.perf_counter()
    job = functools.partial(_seeded, system, copy.deepcopy(agent), copy.deepcopy(env),
                            horizon, ck, engine)
    records = parallel_map(job, seeds, n_jobs=n_jobs, progress=progress, desc=agent.name,
                           unit="run", owner=owner)
    return results_from_records(agent, env, horizon, records, entropy,
                                time.perf_counter() - start)
