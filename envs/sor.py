"""A sequence of linear systems whose solver parameter ``omega`` is tuned online (SOR / SSOR-PCG).

Instance families of Khodak et al. (2024), reference code ``scripts/*.m`` and ``utils/Heat2D.m``:

``'shifted_laplacian'``
    ``A_t = A0 + c_t I`` with ``A0`` the 5-point Laplacian on an ``m x m`` grid (default 10,
    n = 100), ``c_t = -0.15 + 0.6 Z_t``, ``Z_t ~ Beta(2, 6)`` (``distribution='low'``) or
    ``Beta(0.5, 1.5)`` (``'high'``); ``b_t ~ N(0, I)`` conditioned on ``||b_t|| <= sqrt(n)``
    (rejection sampling); ``x0 = 0``; solver SOR. Context: ``c_t``.
``'degenerate'``
    ``A = A0`` every round with ``b`` an eigenvector of the SOR iteration matrix at
    ``omega = 1.4`` (the one whose eigenvalue has the 99th smallest modulus of 100, the spec's
    "99th eigenvector in MATLAB's ordering"; **[ASSUMPTION]** MATLAB's ``eig`` order is not
    reproducible, so we sort by modulus). Context: 0.
``'heat'``
    Crank–Nicolson steps of the 2-D heat equation on ``[0, 1]^2`` with ``nx`` intervals per side,
    diffusion ``kappa(t) = max(0.1 sin 2 pi t, -10 sin 2 pi t)``, a moving bump forcing, and
    SSOR-PCG warm-started at the previous solution (the env advances the state with the
    learner's own solution). Context: ``kappa`` at the half step.
``'custom'``
    The user's own sequence of ``(A, b)`` pairs (``systems``), with optional ``contexts``.

Action: an index into ``omegas`` (``Discrete``), or with ``continuous=True`` the value of
``omega`` itself (``Box([omega_low], [omega_high])``). Observation: the context of the
*next* instance, shape ``(1,)``. Reward: ``-(number of iterations)``; ``info`` holds
``iterations``, ``omega``, ``converged`` and ``context``.

References
----------
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. Learning to relax: setting solver parameters
across a sequence of linear system instances. ICLR 2024 (arXiv:2310.02246).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.sparse as sp

from banditlab._validation import Array, Boolean, Integer, Options, Real
from banditlab.envs.base import BanditEnv, check_action
from banditlab.solvers.sor import (
    HISTORY_CHUNK,
    as_csr_system,
    jacobi_radius,
    poisson_2d,
    sor_iterate,
    ssor_pcg_iterate,
    young_omega,
)

__all__ = ["SORTuningEnv", "beta_shift", "heat_problem", "solve_cost", "truncated_gaussian"]

PROBLEMS = ("shifted_laplacian", "degenerate", "heat", "custom")
#: Beta parameters of the two offset distributions (spec §3.2)
BETAS = {"low": (2.0, 6.0), "high": (0.5, 1.5)}
#: context range told to the contextual learners for the shifted sequence
SHIFT_CONTEXT_RANGE = (-0.15, 0.65)
DEFAULT_OMEGAS = np.linspace(1.0, 1.95, 20)


def truncated_gaussian(n: int, rng: np.random.Generator) -> np.ndarray:
    """``N(0, I_n)`` conditioned on ``||b||_2 <= sqrt(n)`` (rejection sampling)."""
    while True:
        b = rng.standard_normal(n)
        if b @ b <= n:
            return b


def beta_shift(distribution: str, rng: np.random.Generator) -> float:
    """One diagonal offset ``c = -0.15 + 0.6 Z``, ``Z ~ Beta`` of the named distribution."""
    a, b = BETAS[distribution]
    return -0.15 + 0.6 * float(rng.beta(a, b))


def solve_cost(system: Any, b: np.ndarray, omega: float, *, solver: str = "sor",
               x0: np.ndarray | None = None, tol: float = 1e-8, maxiter: int = 10_000
               ) -> tuple[int, bool, np.ndarray]:
    """Iterations to solve a validated :class:`~banditlab.solvers.sor.CSRSystem` (no checks).

    Returns ``(iterations, converged, x)``; a non-converged run costs ``maxiter`` (its
    iteration count), as in the reference code. ``iterations`` is at least 1 for SOR.
    """
    x = np.zeros(system.n) if x0 is None else np.array(x0, dtype=np.float64)
    res = np.empty(min(maxiter + 1, HISTORY_CHUNK))
    if solver == "sor":
        k, status, _ = sor_iterate(system.indptr, system.indices, system.data, system.inv_diag,
                                   b, x, omega, 0, tol, maxiter, 1e10, res)
        k = max(int(k), 1)
    else:
        k, status, _ = ssor_pcg_iterate(system.indptr, system.indices, system.data,
                                        system.inv_diag, b, x, omega, 0, tol, maxiter, res)
    if status == 2:       # diverged: charge the cap, as a run to the cap would
        k = maxiter
    return int(k), status in (1, 3), x


# --------------------------------------------------------------------------------- heat
def _bump(px: np.ndarray, py: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    d2 = np.minimum(1.0, ((px - cx) ** 2 + (py - cy) ** 2) / (r * r))
    out = np.zeros_like(d2)
    inside = d2 < 1.0
    out[inside] = np.exp(1.0 - 1.0 / (1.0 - d2[inside]))
    return out


def heat_kappa(t: float) -> float:
    """Diffusion coefficient ``max(0.1 sin 2 pi t, -10 sin 2 pi t)``."""
    s = math.sin(2.0 * math.pi * t)
    return max(0.1 * s, -10.0 * s)


def heat_problem(nx: int) -> dict[str, Any]:
    """Grid, scaled Laplacian ``Lh`` and initial state of the heat-equation sequence."""
    h = 1.0 / nx
    g = np.arange(1, nx) * h
    px, py = np.meshgrid(g, g, indexing="xy")
    px, py = px.ravel(), py.ravel()
    lap = -poisson_2d(nx - 1) / (h * h)
    return {"px": px, "py": py, "lap": sp.csr_matrix(lap),
            "u0": _bump(px, py, 0.5, 0.5, 0.25), "n": (nx - 1) ** 2}


def heat_step_system(prob: dict[str, Any], u: np.ndarray, t: float, dt: float
                     ) -> tuple[sp.csr_matrix, np.ndarray, float]:
    """Crank–Nicolson system ``A u_new = b`` for the step ``t -> t + dt`` and ``kappa(th)``."""
    th = t + dt / 2.0
    kap = heat_kappa(th)
    n = prob["n"]
    half = 0.5 * kap * dt * prob["lap"]
    A = (sp.identity(n, format="csr") - half).tocsr()
    cx = 0.5 + math.cos(16.0 * math.pi * th) / 4.0
    cy = 0.5 + math.sin(16.0 * math.pi * th) / 4.0
    force = 32.0 * _bump(prob["px"], prob["py"], cx, cy, 0.125)
    b = u + half @ u + dt * force
    return A, b, kap


# --------------------------------------------------------------------------------- env
class SORTuningEnv(BanditEnv):
    """Choose ``omega`` for each of a sequence of linear systems; cost = iterations to ``tol``.

    Parameters
    ----------
    problem : {'shifted_laplacian', 'degenerate', 'heat', 'custom'}
    horizon : int, optional
        Number of systems (default 5000; for ``'custom'`` the number of systems given).
    distribution : {'low', 'high'}
        Offset distribution of ``'shifted_laplacian'``.
    omegas : array_like, optional
        The action grid (default ``linspace(1, 1.95, 20)``), entries in (0, 2).
    continuous : bool
        Actions are ``omega`` values in ``[omega_low, omega_high]`` instead of grid indices.
    omega_low, omega_high : float
        Range of continuous actions (default 1.0 and 1.95).
    solver : {'sor', 'ssor_pcg'}, optional
        Default: ``'ssor_pcg'`` for ``'heat'``, else ``'sor'``.
    m : int
        Grid side of the Laplacian (``'shifted_laplacian'``, ``'degenerate'``; n = m^2).
    nx : int
        Intervals per side of the heat-equation grid (n = (nx - 1)^2).
    dt : float
        Heat-equation time step (0.001 in the paper).
    systems : sequence of (A, b) pairs
        ``'custom'`` only: the user's systems (scipy.sparse or dense ``A``).
    contexts : array_like, optional
        ``'custom'`` only: one scalar context per system (default zeros).
    tol, maxiter : float, int
        Stopping rule and iteration cap of the solver (1e-8, 10000).
    """

    family = "sor"
    metadata = {"render_modes": []}
    constraints = {
        "problem": Options(PROBLEMS), "horizon": Integer(1, None, allow_none=True),
        "distribution": Options(tuple(BETAS)),
        "omegas": Array(1, low=0.0, high=2.0, closed="neither", allow_none=True),
        "continuous": Boolean(), "omega_low": Real(0.0, 2.0, closed="neither"),
        "omega_high": Real(0.0, 2.0, closed="neither"),
        "solver": Options(("sor", "ssor_pcg")), "m": Integer(1, None), "nx": Integer(2, None),
        "dt": Real(0.0, None, closed="neither"), "tol": Real(0.0, None, closed="neither"),
        "maxiter": Integer(1, None),
        "contexts": Array(1, allow_none=True),
    }

    def __init__(self, problem: str = "shifted_laplacian", *, horizon: int | None = None,
                 distribution: str = "high", omegas: Any = None, continuous: bool = False,
                 omega_low: float = 1.0, omega_high: float = 1.95, solver: str | None = None,
                 m: int = 10, nx: int = 25, dt: float = 0.001, systems: Any = None,
                 contexts: Any = None, tol: float = 1e-8, maxiter: int = 10_000) -> None:
        super().__init__()
        if solver is None:
            solver = "ssor_pcg" if problem == "heat" else "sor"
        v = self._validate(problem=problem, horizon=horizon, distribution=distribution,
                           omegas=omegas, continuous=continuous, omega_low=omega_low,
                           omega_high=omega_high, solver=solver, m=m, nx=nx, dt=dt, tol=tol,
                           maxiter=maxiter, contexts=contexts)
        owner = type(self).__name__
        if v["omega_high"] < v["omega_low"]:
            raise ValueError(f"{owner}: 'omega_high' must be a float in [{v['omega_low']}, 2); "
                             f"got {omega_high!r}.")
        self.problem, self.solver = v["problem"], v["solver"]
        self.distribution, self.m, self.nx, self.dt = v["distribution"], v["m"], v["nx"], v["dt"]
        self.tol, self.maxiter = v["tol"], v["maxiter"]
        self.omegas = DEFAULT_OMEGAS.copy() if v["omegas"] is None else v["omegas"]
        self.continuous = v["continuous"]
        self._custom: list[tuple[Any, np.ndarray]] = []
        if self.problem == "custom":
            self._custom = self._check_systems(systems, owner)
            n_sys = len(self._custom)
            ctx = v["contexts"]
            if ctx is None:
                ctx = np.zeros(n_sys)
            elif ctx.shape != (n_sys,):
                raise ValueError(f"{owner}: 'contexts' must be a 1-d float array of length "
                                 f"{n_sys} (one per system); got shape {ctx.shape}.")
            self._contexts = ctx
            if v["horizon"] is not None and v["horizon"] > n_sys:
                raise ValueError(f"{owner}: 'horizon' must be an int in [1, {n_sys}] (the number "
                                 f"of systems); got {horizon!r}.")
            self.horizon = n_sys if v["horizon"] is None else v["horizon"]
        else:
            if systems is not None or contexts is not None:
                raise ValueError(f"{owner}: 'systems' and 'contexts' must be None unless "
                                 f"problem='custom'; got problem={problem!r}.")
            self.horizon = 5000 if v["horizon"] is None else v["horizon"]
        self._params = {"problem": self.problem, "horizon": self.horizon,
                        "distribution": self.distribution, "omegas": self.omegas,
                        "continuous": self.continuous, "omega_low": v["omega_low"],
                        "omega_high": v["omega_high"], "solver": self.solver, "m": self.m,
                        "nx": self.nx, "dt": self.dt, "tol": self.tol, "maxiter": self.maxiter}
        self.n_arms = int(self.omegas.shape[0])
        if self.continuous:
            self.action_space = gym.spaces.Box(np.array([v["omega_low"]]),
                                               np.array([v["omega_high"]]), dtype=np.float64)
        else:
            self.action_space = gym.spaces.Discrete(self.n_arms)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float64)
        if self.problem in ("shifted_laplacian", "degenerate"):
            self._A0 = poisson_2d(self.m)
            self._beta0 = jacobi_radius(self._A0)   # beta(A0 + cI) = 4 beta0 / (4 + c)
        if self.problem == "degenerate":
            self._b_degenerate = self._degenerate_rhs()
        if self.problem == "heat":
            self._heat = heat_problem(self.nx)

    @staticmethod
    def _check_systems(systems: Any, owner: str) -> list[tuple[Any, np.ndarray]]:
        if systems is None or isinstance(systems, str) or not hasattr(systems, "__len__") \
                or len(systems) == 0:
            raise TypeError(f"{owner}: 'systems' must be a non-empty sequence of (A, b) pairs; "
                            f"got {type(systems).__name__}.")
        out = []
        for i, pair in enumerate(systems):
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise TypeError(f"{owner}: 'systems' must be a non-empty sequence of (A, b) "
                                f"pairs; got {type(pair).__name__} at position {i}.")
            csr = as_csr_system(pair[0], owner=owner)
            b = np.asarray(pair[1], dtype=np.float64)
            if b.shape != (csr.n,) or not np.all(np.isfinite(b)):
                raise ValueError(f"{owner}: 'systems' must hold finite b of length n for each "
                                 f"A (n x n); got b of shape {b.shape} at position {i}.")
            out.append((csr, b.copy()))
        return out

    def _degenerate_rhs(self) -> np.ndarray:
        A = self._A0.toarray()
        D, L = np.diag(np.diag(A)), np.tril(A, -1)
        w = 1.4
        C = np.eye(A.shape[0]) - np.linalg.solve(D / w + L, A)
        vals, vecs = np.linalg.eig(C)
        order = np.argsort(np.abs(vals), kind="stable")
        k = min(98, A.shape[0] - 1)
        v = np.real(vecs[:, order[k]])
        return v / np.linalg.norm(v) * math.sqrt(A.shape[0]) * 0.5

    # -- instance generation ---------------------------------------------------------------
    def _make_instance(self) -> None:
        rng = self.np_random
        t = self._t
        if self.problem == "shifted_laplacian":
            c = beta_shift(self.distribution, rng)
            A = self._A0 + c * sp.identity(self._A0.shape[0], format="csr")
            self._sys = as_csr_system(A, owner="SORTuningEnv")
            self._b = truncated_gaussian(self._sys.n, rng)
            self._x0 = None
            self._ctx = c
        elif self.problem == "degenerate":
            self._sys = as_csr_system(self._A0, owner="SORTuningEnv")
            self._b = self._b_degenerate
            self._x0 = None
            self._ctx = 0.0
        elif self.problem == "heat":
            A, b, kap = heat_step_system(self._heat, self._u, t * self.dt, self.dt)
            self._sys = as_csr_system(A, owner="SORTuningEnv")
            self._b = b
            self._x0 = self._u
            self._ctx = kap
        else:
            self._sys, self._b = self._custom[t]
            self._x0 = None
            self._ctx = float(self._contexts[t])
        self._cache: dict[float, tuple[int, bool, np.ndarray]] = {}

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._start_episode()
        if self.problem == "heat":
            self._u = self._heat["u0"].copy()
        self._make_instance()
        return np.array([self._ctx]), {}

    @property
    def reward_model(self) -> Any:
        """Rewards are minus iteration counts: in ``[-maxiter, 0]``."""
        from banditlab.reward_models import RewardModel

        return RewardModel.bounded(-float(self.maxiter), 0.0)

    @property
    def context_range(self) -> tuple[float, float]:
        """The interval the contexts of this sequence lie in (what the contextual learners'
        ``low`` and ``high`` are set to by experiment files): the offset range for
        ``'shifted_laplacian'``, ``[0, 10]`` for the heat equation's diffusion
        ``kappa(t) = max(0.1 sin 2 pi t, -10 sin 2 pi t)``, ``[-1, 1]`` for the constant 0 of
        ``'degenerate'``, and the span of the given contexts (widened by 1 on each side when
        they are all equal) for ``'custom'``."""
        if self.problem == "shifted_laplacian":
            return SHIFT_CONTEXT_RANGE
        if self.problem == "heat":
            return (0.0, 10.0)
        if self.problem == "degenerate":
            return (-1.0, 1.0)
        lo, hi = float(np.min(self._contexts)), float(np.max(self._contexts))
        return (lo - 1.0, hi + 1.0) if lo == hi else (lo, hi)

    @property
    def context(self) -> float:
        """Context of the current (unsolved) instance."""
        return float(self._ctx)

    def instance(self) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """The current instance ``(A as CSRSystem, b, x0)`` (read-only views)."""
        return self._sys, self._b, self._x0

    def _solve(self, omega: float) -> tuple[int, bool, np.ndarray]:
        if omega not in self._cache:
            self._cache[omega] = solve_cost(self._sys, self._b, omega, solver=self.solver,
                                            x0=self._x0, tol=self.tol, maxiter=self.maxiter)
        return self._cache[omega]

    def cost(self, omega: float) -> int:
        """Iterations the current instance needs at ``omega`` (does not advance the episode)."""
        w = float(Real(0.0, 2.0, closed="neither").check(omega, "omega", "SORTuningEnv.cost"))
        return self._solve(w)[0]

    def young_omega(self) -> float:
        """Young's optimal ``omega*`` of the current matrix (its Jacobi radius must be < 1)."""
        if self.problem == "shifted_laplacian":
            beta = 4.0 * self._beta0 / (4.0 + self._ctx)
        else:
            csr = self._sys
            A = sp.csr_matrix((csr.data, csr.indices, csr.indptr), shape=(csr.n, csr.n))
            beta = jacobi_radius(A)
        return young_omega(min(beta, 1.0 - 1e-15))

    def _omega_of(self, action: Any) -> float:
        owner = type(self).__name__
        if self.continuous:
            arr = np.asarray(action, dtype=np.float64).reshape(-1)
            lo, hi = float(self.action_space.low[0]), float(self.action_space.high[0])
            if arr.size != 1 or not lo <= arr[0] <= hi:
                raise ValueError(f"{owner}.step: 'action' must be an omega in [{lo}, {hi}]; "
                                 f"got {action!r}.")
            return float(arr[0])
        return float(self.omegas[check_action(action, self.n_arms, owner)])

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        omega = self._omega_of(action)
        if self._done:
            self._advance()          # raises: the episode has ended
        iters, conv, x = self._solve(omega)
        info = {"iterations": iters, "omega": omega, "converged": conv, "context": self._ctx}
        truncated = self._advance()
        if self.problem == "heat":
            self._u = x
        if not truncated:
            self._make_instance()
        return np.array([self._ctx]), -float(iters), False, truncated, info

    # -- oracle ----------------------------------------------------------------------------
    def expected_reward(self, action: int) -> float:
        """Minus the iterations of the current *realised* instance at ``omegas[action]``."""
        return -float(self.cost(float(self.omegas[check_action(action, self.n_arms,
                                                                type(self).__name__)])))

    def optimal_expected_reward(self) -> float:
        """Minus the smallest iteration count over the grid for the current instance."""
        return -float(min(self.cost(float(w)) for w in self.omegas))
