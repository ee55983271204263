"""Run policies on environments: ``run`` (one run) and ``run_many`` (a batch, in processes).

``run_many`` fans its runs out with :func:`banditlab.parallel.parallel_map` (one task per run).

Two engines share every random draw:

* ``"kernel"``: the whole trajectory runs inside Numba (:mod:`banditlab.engine`), for a policy
  whose protocol matches an env with ``kernel_arrays()``;
* ``"python"``: the plain gymnasium loop ``select -> step -> update``, for any env.

Both reset the env with ``env_seed`` and the policy with ``policy_seed`` drawn from the same
``SeedSequence`` tree, then use ``env.np_random`` and ``policy.rng``; the built-in policies and
envs give bit-identical actions, rewards and regret on both engines.
"""

from __future__ import annotations

import copy
import functools
import time
from typing import Any

import gymnasium as gym
import numpy as np

from banditlab._seeding import SeedLike, spawn_run_seeds
from banditlab._validation import MAX_RUNS, Boolean, Integer, Options, _got, check_memory
from banditlab.engine import run_contextual, run_karmed
from banditlab.errors import IncompatibleEnvError
from banditlab.parallel import check_n_jobs, check_progress, parallel_map
from banditlab.policy import Policy
from banditlab.protocols import CONTEXTUAL
from banditlab.results import Results, library_versions
from banditlab.reward_models import check_reward_models

__all__ = ["ENGINES", "TRANSPARENT_WRAPPERS", "active_wrappers", "make_checkpoints",
           "resolve_engine", "run", "run_many"]

ENGINES = ("auto", "kernel", "python")


def make_checkpoints(horizon: int, checkpoints: Any = None, *, owner: str = "run_many"
                     ) -> np.ndarray:
    """Rounds at which cumulative regret is recorded (int64, increasing, last = horizon).

    ``None``: every round up to 1000 rounds, else 200 evenly spaced rounds; ``"log"``: about
    100 log-spaced rounds; ``"auto"`` (the default of experiment files, ``banditlab run`` and
    sweeps alike): the union of the two, for linear and log-log plots; an int n: n evenly
    spaced rounds; an array: those rounds.
    """
    if checkpoints is None:
        checkpoints = horizon if horizon <= 1000 else 200
    if isinstance(checkpoints, str):
        Options(("log", "auto")).check(checkpoints, "checkpoints", owner)
        pts = np.unique(np.geomspace(1, horizon, num=min(horizon, 100)).round().astype(np.int64))
        if checkpoints == "auto":
            pts = np.union1d(pts, make_checkpoints(horizon, None, owner=owner))
    elif isinstance(checkpoints, int | np.integer) and not isinstance(checkpoints, bool):
        n = Integer(1, None).check(checkpoints, "checkpoints", owner)
        pts = np.unique(np.linspace(0, horizon, num=min(n, horizon) + 1)[1:].round()
                        .astype(np.int64))
    else:
        try:
            pts = np.asarray(checkpoints)
        except (TypeError, ValueError):
            pts = np.asarray([None])
        if pts.ndim != 1 or pts.size == 0 or pts.dtype.kind not in "iu":
            raise TypeError(f"{owner}: 'checkpoints' must be None, 'log', an int or a 1-d array "
                            f"of ints in [1, {horizon}]; got {checkpoints!r}.")
        pts = pts.astype(np.int64)
        if np.any(np.diff(pts) <= 0) or pts[0] < 1 or pts[-1] > horizon:
            raise ValueError(f"{owner}: 'checkpoints' must be strictly increasing ints in "
                             f"[1, {horizon}]; got {checkpoints!r}.")
    pts = np.ascontiguousarray(pts, dtype=np.int64)
    if pts[-1] != horizon:
        pts = np.append(pts, np.int64(horizon))
    return pts


def _kernel_runner(policy: Policy, base: Any) -> Any:
    """The kernel loop for this pair, or None when the pair cannot run on the kernel engine."""
    if policy.kernels.select is None or not hasattr(base, "kernel_arrays"):
        return None
    family = getattr(base, "family", None)
    if family != policy.protocol.env_family:
        return None
    return run_contextual if family == "linear" else run_karmed


#: wrappers that change neither actions, rewards, observations nor the episode's length (the
#: ones ``gymnasium.make`` adds): the kernel engine, which runs the unwrapped env, may skip them
TRANSPARENT_WRAPPERS: tuple[type, ...] = (gym.wrappers.OrderEnforcing,
                                          gym.wrappers.PassiveEnvChecker)


def active_wrappers(env: gym.Env) -> list[gym.Wrapper]:
    """The wrappers around ``env.unwrapped`` that the kernel engine could not honour."""
    out = []
    while isinstance(env, gym.Wrapper):
        if not isinstance(env, TRANSPARENT_WRAPPERS):
            out.append(env)
        env = env.env
    return out


def _time_limit(env: gym.Env) -> int | None:
    """The smallest ``TimeLimit`` among ``env``'s wrappers, if any."""
    limits = []
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            steps = getattr(env, "_max_episode_steps", None)   # gymnasium keeps it there
            if isinstance(steps, int):
                limits.append(steps)
        env = env.env
    return min(limits) if limits else None


def resolve_engine(policy: Policy, env: gym.Env, engine: str, *, owner: str = "run_many") -> str:
    """Turn ``'auto'`` into ``'kernel'`` or ``'python'``; reject an impossible ``'kernel'``.

    The kernel engine runs the unwrapped env, so it is used only when every wrapper around it
    is transparent (:data:`TRANSPARENT_WRAPPERS`); behind any other wrapper (a reward
    transform, a time limit, episode statistics, ...) ``'auto'`` picks the Python engine, which
    steps through the wrappers, and ``'kernel'`` is an error naming the wrapper.
    """
    Options(ENGINES).check(engine, "engine", owner)
    wrappers = active_wrappers(env)
    ok = _kernel_runner(policy, env.unwrapped) is not None and not wrappers
    if engine == "auto":
        return "kernel" if ok else "python"
    if engine == "kernel" and wrappers:
        names = ", ".join(type(w).__name__ for w in wrappers)
        raise IncompatibleEnvError(
            f"{owner}: engine='kernel' runs the unwrapped {type(env.unwrapped).__name__} and "
            f"would ignore the wrapper(s) {names}; use engine='python' or 'auto' (which step "
            "through them).")
    if engine == "kernel" and not ok:
        base = env.unwrapped
        if policy.kernels.select is None:
            why = "needs a policy with kernels; it is written in plain Python"
        elif not hasattr(base, "kernel_arrays"):
            why = f"needs an env with kernel_arrays(); {type(base).__name__} has none"
        else:
            why = (f"needs a '{policy.protocol.env_family}' env; {type(base).__name__} is a "
                   f"'{getattr(base, 'family', None)}' env")
        raise IncompatibleEnvError(f"{policy.name}: engine='kernel' {why}. Use engine='python'.")
    return engine


def _check_pair(policy: Policy, env: gym.Env, horizon: int | None, owner: str) -> int:
    if not isinstance(policy, Policy):
        raise TypeError(f"{owner}: 'policy' must be a banditlab Policy; "
                        f"got {type(policy).__name__} {_got(policy)}.")
    if not isinstance(env, gym.Env):
        raise TypeError(f"{owner}: 'env' must be a gymnasium.Env; got {type(env).__name__} "
                        f"{_got(env)}.")
    base = env.unwrapped
    n_actions = getattr(env.action_space, "n", None)
    if n_actions is None or int(n_actions) != policy.n_arms:
        raise IncompatibleEnvError(f"{owner}: {policy.name} has n_arms={policy.n_arms} but "
                                   f"{type(base).__name__} has action space {env.action_space}.")
    if policy.protocol is CONTEXTUAL:
        shape = getattr(env.observation_space, "shape", None)
        if shape != (policy.n_arms, policy._dims()[1]):
            raise IncompatibleEnvError(
                f"{owner}: {policy.name} needs observations of shape "
                f"{(policy.n_arms, policy._dims()[1])} (arm features); {type(base).__name__} "
                f"observes {env.observation_space}.")
    for attr in ("expected_reward", "optimal_expected_reward"):
        if not callable(getattr(base, attr, None)):
            raise IncompatibleEnvError(f"{owner}: pseudo-regret needs {attr}() on the env; "
                                       f"{type(base).__name__} has none.")
    env_h = getattr(base, "horizon", None)
    limit = _time_limit(env)
    if limit is not None:
        env_h = limit if env_h is None else min(int(env_h), limit)
    if horizon is None:
        if env_h is None:
            raise ValueError(f"{owner}: 'horizon' must be an int in [1, inf) (the env has no "
                             "horizon of its own); got None.")
        return int(env_h)
    h = Integer(1, None if env_h is None else int(env_h)).check(horizon, "horizon", owner)
    return int(h)


def _one_run(policy: Policy, env: gym.Env, horizon: int, env_seed: int, policy_seed: int,
             checkpoints: np.ndarray, engine: str) -> tuple[np.ndarray, np.ndarray, int]:
    base = env.unwrapped
    obs, _ = env.reset(seed=env_seed)
    policy.reset(seed=policy_seed)
    if engine == "kernel":
        arrays = base.kernel_arrays()
        if _kernel_runner(policy, base) is run_contextual:
            # the context the env drew in reset() is round 0's context on both engines
            context0 = np.array(obs, dtype=np.float64, order="C")
            regret, pulls, state = run_contextual(policy.params, policy.state, policy.rng,
                                                  arrays, context0, base.np_random, horizon,
                                                  checkpoints)
        else:
            regret, pulls, state = run_karmed(policy.params, policy.state, policy.rng, arrays,
                                              base.np_random, horizon, checkpoints)
        policy.state = state
    else:
        regret = np.zeros(checkpoints.shape[0])
        pulls = np.zeros(policy.n_arms, np.int64)
        acc, j = 0.0, 0
        for t in range(horizon):
            arm = policy.select(obs)
            acc += base.optimal_expected_reward() - base.expected_reward(arm)
            obs, reward, terminated, truncated, _ = env.step(arm)
            policy.update(arm, reward, obs)
            pulls[arm] += 1
            while j < checkpoints.shape[0] and checkpoints[j] == t + 1:
                regret[j] = acc
                j += 1
            if (terminated or truncated) and t + 1 < horizon:
                raise RuntimeError(f"run_many: {type(base).__name__} ended its episode after "
                                   f"{t + 1} rounds, before horizon={horizon}.")
    rec = policy.recommend() if policy.is_bai else -1
    return regret, pulls, rec


def _seeded_run(policy: Policy, env: gym.Env, horizon: int, checkpoints: np.ndarray,
                engine: str, seeds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, int]:
    """One task of ``run_many``: the run with these ``(env_seed, policy_seed)``."""
    return _one_run(policy, env, horizon, seeds[0], seeds[1], checkpoints, engine)


def run_many(policy: Policy, env: gym.Env, horizon: int | None = None, *, n_runs: int = 1,
             seed: SeedLike = None, engine: str = "auto", checkpoints: Any = None,
             n_jobs: int | None = None, progress: bool | None = None,
             check_rewards: bool = True) -> Results:
    """Run ``n_runs`` independent runs of ``policy`` on ``env`` and collect their regret.

    Parameters
    ----------
    policy : Policy
    env : gymnasium.Env
        A banditlab env, possibly wrapped, or any env with ``expected_reward`` /
        ``optimal_expected_reward`` on its ``unwrapped`` object. Wrappers are honoured: behind
        any wrapper other than those ``gymnasium.make`` adds, the Python engine runs (see
        :func:`resolve_engine`); pseudo-regret is always measured with the unwrapped env's
        oracle, while the policy learns from the rewards the wrappers return.
    horizon : int, optional
        Rounds per run; defaults to the env's horizon (or a shorter ``TimeLimit``) and may not
        exceed it.
    n_runs : int, default 1
    seed : None, int or SeedSequence
        Root of the seed tree; ``None`` draws fresh entropy, recorded in the results.
    engine : {'auto', 'kernel', 'python'}, default 'auto'
    checkpoints : None, 'log', int or array of ints
        Where cumulative regret is recorded (see :func:`make_checkpoints`).
    n_jobs : None, -1 or int, optional
        Processes (see :mod:`banditlab.parallel`): ``None`` (default) times the first run here
        and uses one worker process per available core if all runs are expected to take more
        than about 2 s, else runs them all here; ``-1``: one worker per available core;
        ``k``: at most ``k`` processes (``1``: all runs in this process). Results do not
        depend on it.
    progress : bool or ProgressBar, optional
        Show a tqdm progress bar over runs; default: once the batch is expected to last more
        than about 2 s. A :class:`banditlab.parallel.ProgressBar` is advanced by one per run
        and left open (one bar over several calls, as ``banditlab run`` does).
    check_rewards : bool, default True
        Refuse (:class:`~banditlab.reward_models.RewardModelError`, which names the policies
        that fit) an env whose reward model breaks the policy's assumption
        (``policy.reward_model``, :mod:`banditlab.reward_models`), and let ``policy.update``
        refuse rewards outside it. ``False`` runs the pair anyway, for users who know what
        they do.

    Returns
    -------
    Results
    """
    owner = "run_many"
    n_runs = int(Integer(1, MAX_RUNS).check(n_runs, "n_runs", owner))
    horizon = _check_pair(policy, env, horizon, owner)
    check_rewards = Boolean().check(check_rewards, "check_rewards", owner)
    if check_rewards:
        check_reward_models(policy, env, owner)
    engine = resolve_engine(policy, env, engine, owner=owner)
    n_jobs = check_n_jobs(n_jobs, owner)
    check_progress(progress, owner)
    ck = make_checkpoints(horizon, checkpoints, owner=owner)
    # the results (regret at checkpoints, pulls per arm) of every run are held at once
    check_memory(8.0 * n_runs * (ck.size + policy.n_arms + 2),
                 f"n_runs={n_runs} x ({ck.size} checkpoints + {policy.n_arms} arms)", owner)
    policy.check_state_memory(owner)
    entropy, seeds = spawn_run_seeds(seed, n_runs, owner=owner)

    start = time.perf_counter()
    # copies: runs reset them, and the caller's policy and env stay untouched
    learner = copy.deepcopy(policy)
    learner.check_rewards = check_rewards
    job = functools.partial(_seeded_run, learner, copy.deepcopy(env), horizon, ck, engine)
    out = parallel_map(job, seeds, n_jobs=n_jobs, progress=progress, desc=policy.name,
                       unit="run", owner=owner)
    wall = time.perf_counter() - start

    base = env.unwrapped
    best = getattr(base, "best_arm", -1)
    return Results(
        policy=policy.name, policy_params=policy.get_params(), env=type(base).__name__,
        env_params=getattr(base, "env_params", {}), horizon=horizon, checkpoints=ck,
        regret=np.stack([o[0] for o in out]), pulls=np.stack([o[1] for o in out]),
        recommendations=np.array([o[2] for o in out], dtype=np.int64), best_arm=int(best),
        seed_entropy=entropy,
        engine=engine, wall_time_s=wall, versions=library_versions(), protocol=policy.protocol.name,
    )


def run(policy: Policy, env: gym.Env, horizon: int | None = None, *, seed: SeedLike = None,
        engine: str = "auto", checkpoints: Any = None, check_rewards: bool = True) -> Results:
    """One run (``run_many`` with ``n_runs=1`` in this process)."""
    return run_many(policy, env, horizon, n_runs=1, seed=seed, engine=engine,
                    checkpoints=checkpoints, n_jobs=1, progress=False,
                    check_rewards=check_rewards)
