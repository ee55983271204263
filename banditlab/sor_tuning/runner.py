"""Tune SOR / SSOR-PCG's relaxation parameter online: the embedding API and the experiments.

Users embed the tuner in their simulator with :class:`OmegaTuner` (one call per system) or
solve a whole stream with :func:`tune_and_solve`::

    from banditlab.sor_tuning import OmegaTuner
    tuner = OmegaTuner(learner="tsallis_inf", seed=0)
    for A, b in my_simulator():              # any scipy.sparse A with nonzero diagonal
        result = tuner.solve(A, b)           # picks omega, solves, learns from the iterations
        use(result.x)

The experiment helpers (:func:`shifted_cost_table`, :func:`play_on_table`, comparators) run the
paper's learners on cached per-omega iteration counts: in the shifted-Laplacian experiments an
instance's cost depends only on the instance and omega, so each instance is solved once per grid
point and every learner and comparator then reads the same table.

References
----------
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. Learning to relax: setting solver parameters
across a sequence of linear system instances. ICLR 2024 (arXiv:2310.02246).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from banditlab._seeding import SeedLike, as_seed_sequence
from banditlab._validation import MAX_RUNS, Array, Integer, Options, Real
from banditlab.envs.sor import (
    DEFAULT_OMEGAS,
    beta_shift,
    solve_cost,
    truncated_gaussian,
)
from banditlab.errors import IncompatibleEnvError
from banditlab.policy import Policy
from banditlab.protocols import SOLVER_SEQUENCE
from banditlab.results import Results
from banditlab.solvers.sor import (
    SolveResult,
    as_csr_system,
    jacobi_radius,
    poisson_2d,
    young_omega,
)
from banditlab.sor_tuning.algorithms import LEARNERS, make_learner
from banditlab.sor_tuning.kernels import run_cost_table

__all__ = [
    "CostTable",
    "OmegaTuner",
    "play_on_table",
    "run_on_table",
    "shifted_cost_table",
    "tune_and_solve",
]

class OmegaTuner:
    """Pick ``omega`` online for each system, solve it, learn from the iteration count.

    Parameters
    ----------
    learner : {'tsallis_inf', 'tsallis_inf_cb', 'chebcb'} or Policy
        A learner name (configured by :func:`make_learner`) or a policy over ``len(omegas)``
        arms that takes ``reward = -iterations`` (contextual policies take a scalar context).
    omegas : array_like, optional
        The omega grid (default ``linspace(1, 1.95, 20)``).
    solver : {'sor', 'ssor_pcg'}
    context_range : (float, float), optional
        Range of the scalar context for the contextual learners.
    tol, maxiter : float, int
        Stopping rule of the solver.
    seed : int, optional
        Seeds the learner's random stream.
    """

    def __init__(self, learner: Any = "tsallis_inf", *, omegas: Any = None,
                 solver: str = "sor", context_range: tuple[float, float] | None = None,
                 tol: float = 1e-8, maxiter: int = 10_000, seed: int | None = None) -> None:
        owner = "OmegaTuner"
        grid = DEFAULT_OMEGAS if omegas is None else omegas
        self.omegas = Array(1, low=0.0, high=2.0, closed="neither").check(grid, "omegas", owner)
        self.solver = Options(("sor", "ssor_pcg")).check(solver, "solver", owner)
        self.tol = Real(0.0, None, closed="neither").check(tol, "tol", owner)
        self.maxiter = Integer(1, None).check(maxiter, "maxiter", owner)
        if isinstance(learner, Policy):
            if learner.n_arms != self.omegas.shape[0]:
                raise ValueError(f"{owner}: 'learner' must have n_arms = len(omegas) = "
                                 f"{self.omegas.shape[0]}; got n_arms={learner.n_arms}.")
            self.policy = learner
        elif isinstance(learner, str):
            self.policy = make_learner(learner, self.omegas.shape[0],
                                       context_range=context_range)
        else:
            raise TypeError(f"{owner}: 'learner' must be one of {', '.join(map(repr, LEARNERS))} "
                            f"or a banditlab Policy; got {type(learner).__name__}.")
        self.policy.reset(seed=seed)
        self.history: list[tuple[float, float, int]] = []   # (context, omega, iterations)

    def solve(self, A: Any, b: Any, *, x0: Any = None, context: float = 0.0) -> SolveResult:
        """Choose ``omega`` (given ``context``), solve ``A x = b``, update the learner."""
        from banditlab.solvers.sor import sor, ssor_pcg

        c = Real().check(context, "context", "OmegaTuner.solve")
        arm = self.policy.select(c) if self._contextual else self.policy.select()
        omega = float(self.omegas[arm])
        fn = sor if self.solver == "sor" else ssor_pcg
        res = fn(A, b, omega=omega, x0=x0, tol=self.tol, maxiter=self.maxiter)
        cost = self.maxiter if res.reason == "diverged" else max(res.n_iter, 1)
        self.policy.update(arm, -float(cost))
        self.history.append((c, omega, int(cost)))
        return res

    @property
    def _contextual(self) -> bool:
        return self.policy.protocol.contextual


def tune_and_solve(systems: Iterable[Any], *, learner: Any = "tsallis_inf",
                   omegas: Any = None, solver: str = "sor",
                   context_range: tuple[float, float] | None = None, tol: float = 1e-8,
                   maxiter: int = 10_000, seed: int | None = None
                   ) -> tuple[list[SolveResult], np.ndarray, np.ndarray]:
    """Solve a stream of systems, choosing ``omega`` online for each.

    Parameters
    ----------
    systems : iterable of (A, b) or (A, b, context)
    learner, omegas, solver, context_range, tol, maxiter, seed
        As in :class:`OmegaTuner`.

    Returns
    -------
    results : list of SolveResult
    omegas_used : ndarray, shape (T,)
    iterations : ndarray of int64, shape (T,)

    Examples
    --------
    >>> from banditlab.solvers import poisson_2d
    >>> systems = [(poisson_2d(8, shift=0.1 * k), np.ones(64)) for k in range(20)]
    >>> results, used, iters = tune_and_solve(systems, seed=0)
    >>> len(results), bool(np.all(iters > 0))
    (20, True)
    """
    tuner = OmegaTuner(learner, omegas=omegas, solver=solver, context_range=context_range,
                       tol=tol, maxiter=maxiter, seed=seed)
    results = []
    for i, item in enumerate(systems):
        if not isinstance(item, tuple | list) or len(item) not in (2, 3):
            raise TypeError(f"tune_and_solve: 'systems' must yield (A, b) or (A, b, context) "
                            f"tuples; got {type(item).__name__} at position {i}.")
        ctx = item[2] if len(item) == 3 else 0.0
        results.append(tuner.solve(item[0], item[1], context=ctx))
    hist = np.array([h[1:] for h in tuner.history]).reshape(-1, 2)
    return results, hist[:, 0].astype(np.float64), hist[:, 1].astype(np.int64)


# --------------------------------------------------------------------------------------------
# experiments on cached cost tables
# --------------------------------------------------------------------------------------------
class CostTable(NamedTuple):
    """Iteration counts of a sequence of instances for every omega of a grid.

    Attributes
    ----------
    contexts : ndarray, shape (T,)
    omegas : ndarray, shape (d,)
    costs : ndarray of int64, shape (T, d)
    young_omegas : ndarray, shape (T,)
        Young's ``omega*`` per instance.
    young_costs : ndarray of int64, shape (T,)
        The cost at Young's ``omega*`` (the instance-optimal comparator of ``contextual.m``).
    """

    contexts: np.ndarray
    omegas: np.ndarray
    costs: np.ndarray
    young_omegas: np.ndarray
    young_costs: np.ndarray


def shifted_cost_table(distribution: str, horizon: int, *, omegas: Any = None, m: int = 10,
                       seed: SeedLike = None, tol: float = 1e-8, maxiter: int = 10_000
                       ) -> CostTable:
    """Draw ``horizon`` shifted-Laplacian instances and solve each at every ``omega``.

    The instances are drawn exactly as :class:`~banditlab.envs.sor.SORTuningEnv` draws them
    (offset, then truncated-Gaussian right-hand side, from one generator).
    """
    owner = "shifted_cost_table"
    dist = Options(("low", "high")).check(distribution, "distribution", owner)
    T = Integer(1, None).check(horizon, "horizon", owner)
    grid = Array(1, low=0.0, high=2.0, closed="neither").check(
        DEFAULT_OMEGAS if omegas is None else omegas, "omegas", owner)
    rng = np.random.default_rng(as_seed_sequence(seed, owner=owner))
    A0 = poisson_2d(m)
    beta0 = jacobi_radius(A0)
    eye = sp.identity(A0.shape[0], format="csr")
    contexts = np.empty(T)
    costs = np.empty((T, grid.shape[0]), dtype=np.int64)
    yw = np.empty(T)
    yc = np.empty(T, dtype=np.int64)
    for t in range(T):
        c = beta_shift(dist, rng)
        system = as_csr_system(A0 + c * eye, owner=owner)
        b = truncated_gaussian(system.n, rng)
        contexts[t] = c
        for j, w in enumerate(grid):
            costs[t, j] = solve_cost(system, b, float(w), tol=tol, maxiter=maxiter)[0]
        yw[t] = young_omega(4.0 * beta0 / (4.0 + c))
        yc[t] = solve_cost(system, b, yw[t], tol=tol, maxiter=maxiter)[0]
    return CostTable(contexts, grid, costs, yw, yc)


def play_on_table(policy: Policy, contexts: np.ndarray, costs: np.ndarray, *, seed: int,
                  engine: str = "auto") -> np.ndarray:
    """Run ``policy`` (reset with ``seed``) on a cost table; return the arms it played.

    Round ``t``: the policy sees ``contexts[t]`` (if contextual), picks an arm ``a``, and is
    told ``reward = -costs[t, a]``. The cost it paid is ``costs[arange(T), arms]``.

    ``engine='kernel'`` plays the whole table in the ``SOLVER_SEQUENCE`` loop
    (:func:`banditlab.engine.run_cost_table`, scalar-context learners only); ``'python'`` calls
    ``select``/``update`` once per round; ``'auto'`` (default) uses the kernel loop when it
    can. Both call the same kernels and give identical arms.
    """
    owner = "play_on_table"
    engine = Options(("auto", "kernel", "python")).check(engine, "engine", owner)
    table = np.ascontiguousarray(costs, dtype=np.int64)
    ctx = np.ascontiguousarray(contexts, dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != policy.n_arms or ctx.shape != (table.shape[0],):
        raise ValueError(f"{owner}: 'costs' must be an int array of shape (T, {policy.n_arms}) "
                         f"and 'contexts' of shape (T,); got {table.shape} and {ctx.shape}.")
    loop = policy.protocol is SOLVER_SEQUENCE
    if engine == "kernel" and not loop:
        raise IncompatibleEnvError(f"{owner}: engine='kernel' needs a SOLVER_SEQUENCE learner; "
                                   f"{policy.name} follows {policy.protocol.name}. "
                                   "Use engine='python'.")
    policy.reset(seed=seed)
    if loop and engine != "python":
        arms, policy.state = run_cost_table(policy.params, policy.state, policy.rng, ctx, table)
        return arms
    T = table.shape[0]
    arms = np.empty(T, dtype=np.int64)
    contextual = policy.protocol.contextual
    for t in range(T):
        a = policy.select(float(ctx[t])) if contextual else policy.select()
        policy.update(a, -float(table[t, a]))
        arms[t] = a
    return arms


def _table_run(policy: Policy, contexts: np.ndarray, costs: np.ndarray, engine: str,
               seeds: tuple[int, int]) -> np.ndarray:
    """One run of :func:`run_on_table` (a task of :func:`~banditlab.parallel.parallel_map`)."""
    return play_on_table(policy, contexts, costs, seed=seeds[1], engine=engine)


def run_on_table(learner: Policy, table: CostTable, *, n_runs: int = 1, seed: SeedLike = None,
                 engine: str = "auto", n_jobs: int | None = None,
                 progress: bool | None = None) -> Results:
    """Run ``learner`` ``n_runs`` times over a cost table and collect :class:`~banditlab.Results`.

    The table is fixed, so runs differ by the learner's random stream only (run ``i`` gets
    the policy seed of child ``i`` of ``seed``'s tree, as in :func:`banditlab.run_many`).

    Returns
    -------
    Results
        Checkpoints are the systems ``1..T`` (``x_label='system'``). ``regret`` is the
        cumulative extra iterations over the best fixed omega in hindsight (the arm with the
        least total cost, ``best_arm``); ``pulls`` counts each omega's choices. Trace:
        ``iterations`` (cumulative iterations paid). Batch scalars: ``best_fixed_cost`` and
        ``instance_optimal_cost`` (every system solved at Young's omega*).
    """
    import copy
    import functools
    import time

    from banditlab._seeding import spawn_run_seeds
    from banditlab.parallel import check_n_jobs, parallel_map
    from banditlab.results import library_versions

    owner = "run_on_table"
    if not isinstance(learner, Policy):
        raise TypeError(f"{owner}: 'learner' must be a banditlab Policy; "
                        f"got {type(learner).__name__}.")
    if not isinstance(table, CostTable):
        raise TypeError(f"{owner}: 'table' must be a CostTable (see shifted_cost_table); got "
                        f"{type(table).__name__}.")
    n_runs = int(Integer(1, MAX_RUNS).check(n_runs, "n_runs", owner))
    Options(("auto", "kernel", "python")).check(engine, "engine", owner)
    check_n_jobs(n_jobs, owner)
    costs = np.ascontiguousarray(table.costs, dtype=np.int64)
    contexts = np.ascontiguousarray(table.contexts, dtype=np.float64)
    entropy, seeds = spawn_run_seeds(seed, n_runs, owner=owner)
    start = time.perf_counter()
    job = functools.partial(_table_run, copy.deepcopy(learner), contexts, costs, engine)
    arms = np.stack(parallel_map(job, seeds, n_jobs=n_jobs, progress=progress,
                                 desc=learner.name, unit="run", owner=owner))
    wall = time.perf_counter() - start
    rows = np.arange(costs.shape[0])
    paid = costs[rows, arms]                                   # (n_runs, T)
    best = int(np.argmin(costs.sum(axis=0)))
    n_arms = costs.shape[1]
    used_engine = ("kernel" if engine != "python" and learner.protocol is SOLVER_SEQUENCE
                   else "python")
    return Results(
        policy=learner.name, policy_params=learner.get_params(), env="CostTable",
        env_params={"n_systems": int(costs.shape[0]), "omegas": table.omegas.tolist()},
        horizon=int(costs.shape[0]), checkpoints=rows.astype(np.int64) + 1,
        regret=np.cumsum(paid - costs[:, best], axis=1, dtype=np.float64),
        pulls=np.stack([np.bincount(a, minlength=n_arms) for a in arms]).astype(np.int64),
        recommendations=np.full(n_runs, -1, np.int64), best_arm=best, seed_entropy=entropy,
        engine=used_engine, wall_time_s=wall, versions=library_versions(),
        protocol=learner.protocol.name, x_label="system",
        traces={"iterations": np.cumsum(paid, axis=1, dtype=np.float64)},
        info={"best_fixed_cost": int(costs[:, best].sum()),
              "instance_optimal_cost": int(np.asarray(table.young_costs).sum())})
