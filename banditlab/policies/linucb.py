"""LinUCB / OFUL for linear (contextual) bandits.

Ridge estimate ``theta_hat = V^{-1} b`` with ``V = reg I + sum x x^T`` and ``b = sum r x``; play
``argmax_a <x_a, theta_hat> + beta_t ||x_a||_{V^{-1}}``. ``V^{-1}`` is kept with
Sherman–Morrison updates (O(d^2) per round).

* ``alpha`` given: ``beta_t = alpha`` (LinUCB, Li et al. 2010).
* ``alpha=None``: the OFUL radius of Abbasi-Yadkori, Pál & Szepesvári (2011), Theorem 2,
  ``beta_t = noise_sd sqrt(2 log(1/delta) + d log(1 + t / (reg d))) + sqrt(reg) theta_bound``
  (features of norm at most 1), which gives ``R_T = O(d sqrt(T) log T)`` with probability
  ``1 - delta``.

References
----------
L. Li, W. Chu, J. Langford, R. Schapire. A contextual-bandit approach to personalized news
article recommendation. WWW 2010. Y. Abbasi-Yadkori, D. Pál, C. Szepesvári. Improved algorithms
for linear stochastic bandits. NeurIPS 2011.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Real, check_size_memory
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policy import Policy
from banditlab.protocols import CONTEXTUAL, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["LinUCB"]


class LinUCBParams(NamedTuple):
    alpha: float        # constant radius; < 0 selects the OFUL radius
    reg: float          # ridge regularisation, > 0
    noise_sd: float     # OFUL: sub-Gaussian noise scale
    delta: float        # OFUL: confidence
    theta_bound: float  # OFUL: bound on ||theta||


class LinUCBState(NamedTuple):
    t: int
    v_inv: np.ndarray   # float64[d, d]
    b: np.ndarray       # float64[d]
    theta: np.ndarray   # float64[d]
    scratch: np.ndarray  # float64[d]


def init(params: LinUCBParams, n_arms: int, n_features: int) -> LinUCBState:
    return LinUCBState(0, np.eye(n_features) / params.reg, np.zeros(n_features),
                       np.zeros(n_features), np.zeros(n_features))


@njit
def _radius(params, t, d):
    if params.alpha >= 0.0:
        return params.alpha
    return (params.noise_sd * np.sqrt(2.0 * np.log(1.0 / params.delta)
                                      + d * np.log(1.0 + t / (params.reg * d)))
            + np.sqrt(params.reg) * params.theta_bound)


@njit
def select(params, state, context, rng):
    """``argmax_a <x_a, theta> + beta ||x_a||_{V^-1}`` (ties at random)."""
    return argmax_tiebreak(indices(params, state, context, np.empty(context.shape[0])), rng)


@njit
def indices(params, state, context, index):
    """Every arm's index into ``index``. Four arms at a time, each with its own sums
    accumulated in the order of a loop over that arm alone (the same doubles), so the four
    dependency chains overlap; past the last arm the lanes repeat it."""
    n_arms, d = context.shape
    beta = _radius(params, state.t, d)
    v_inv = state.v_inv
    theta = state.theta
    for a0 in range(0, n_arms, 4):
        a1 = min(a0 + 1, n_arms - 1)
        a2 = min(a0 + 2, n_arms - 1)
        a3 = min(a0 + 3, n_arms - 1)
        m0 = m1 = m2 = m3 = 0.0            # <x_a, theta>
        q0 = q1 = q2 = q3 = 0.0            # x_a^T V^-1 x_a
        for i in range(d):
            x0, x1, x2, x3 = context[a0, i], context[a1, i], context[a2, i], context[a3, i]
            th = theta[i]
            m0 += x0 * th
            m1 += x1 * th
            m2 += x2 * th
            m3 += x3 * th
            r0 = r1 = r2 = r3 = 0.0        # (V^-1 x_a)_i
            for j in range(d):
                v = v_inv[i, j]
                r0 += v * context[a0, j]
                r1 += v * context[a1, j]
                r2 += v * context[a2, j]
                r3 += v * context[a3, j]
            q0 += x0 * r0
            q1 += x1 * r1
            q2 += x2 * r2
            q3 += x3 * r3
        index[a0] = m0 + beta * np.sqrt(max(q0, 0.0))
        index[a1] = m1 + beta * np.sqrt(max(q1, 0.0))
        index[a2] = m2 + beta * np.sqrt(max(q2, 0.0))
        index[a3] = m3 + beta * np.sqrt(max(q3, 0.0))
    return index


@njit
def update(params, state, arm, reward, context):
    d = state.b.shape[0]
    u = state.scratch
    denom = 1.0
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += state.v_inv[i, j] * context[arm, j]
        u[i] = s
        denom += context[arm, i] * s
    for i in range(d):
        for j in range(d):
            state.v_inv[i, j] -= u[i] * u[j] / denom
        state.b[i] += reward * context[arm, i]
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += state.v_inv[i, j] * state.b[j]
        state.theta[i] = s
    return LinUCBState(state.t + 1, state.v_inv, state.b, state.theta, state.scratch)


class LinUCB(Policy):
    """LinUCB (constant radius) or OFUL (theory radius) for linear bandits.

    Parameters
    ----------
    n_arms : int
    n_features : int
        Dimension d of the arm features. The state holds a ``d x d`` matrix (``V^{-1}``), so
        ``d`` is refused at construction when the state would take more than half of the
        memory available now (the message gives the largest ``d`` that fits).
    alpha : float or None, default 1.0
        Constant exploration radius (>= 0); ``None`` selects the OFUL radius.
    reg : float, default 1.0
        Ridge regularisation (> 0).
    noise_sd, delta, theta_bound : float
        OFUL radius inputs: noise scale (> 0), confidence in (0, 1), bound on ``||theta||``.
    """

    protocol = CONTEXTUAL
    kernels = register_kernels(LinUCBParams, Kernels(init, select, update))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "n_features": Integer(1, None),
                   "alpha": Real(0.0, None, allow_none=True),
                   "reg": Real(0.0, None, closed="neither"),
                   "noise_sd": Real(0.0, None, closed="neither"),
                   "delta": Real(0.0, 1.0, closed="neither"),
                   "theta_bound": Real(0.0, None)}
    _contract_kwargs = {"n_features": 2, "alpha": 0.5}

    def __init__(self, n_arms: int, *, n_features: int, alpha: float | None = 1.0,
                 reg: float = 1.0, noise_sd: float = 0.1, delta: float = 0.05,
                 theta_bound: float = 1.0) -> None:
        v = self._validate(n_arms=n_arms, n_features=n_features, alpha=alpha, reg=reg,
                           noise_sd=noise_sd, delta=delta, theta_bound=theta_bound)
        self.n_arms = v["n_arms"]
        self.n_features = v["n_features"]
        n = float(self.n_arms)
        check_size_memory(self.n_features, "n_features", "LinUCB",
                          lambda d: 8.0 * (8.0 * n + float(d) * d + 4.0 * d),
                          "the n_features x n_features matrix V^-1 of the state")
        self.params = LinUCBParams(-1.0 if v["alpha"] is None else v["alpha"], v["reg"],
                                   v["noise_sd"], v["delta"], v["theta_bound"])
        # OFUL's radius assumes noise_sd-sub-Gaussian noise; a constant radius assumes nothing
        self.reward_model = (RewardModel.subgaussian(v["noise_sd"]) if v["alpha"] is None
                             else RewardModel.any())
