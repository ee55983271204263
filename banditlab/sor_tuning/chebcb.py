"""ChebCB: SquareCB with a Chebyshev-regression oracle over a scalar context (Khodak et al., 2024).

The cost of each arm as a function of the context ``c in [low, high]`` is modelled by a
truncated Chebyshev series ``theta_i . phi(c)``, ``phi(c) = (T_0(z), ..., T_{m-1}(z))``,
``z = 2 (c - low)/(high - low) - 1`` (clipped to [-1, 1]). Arms are drawn by inverse-gap
weighting (SquareCB, Foster & Rakhlin 2020): with predictions ``y_i`` and ``i* = argmin y``,
``p_i = 1/(K + eta (y_i - y_i*))`` for ``i != i*`` and ``p_i* = 1 - sum_{i != i*} p_i``.

Rewards are negated costs (``cost = -reward``, e.g. iteration counts, minimum ``min_cost``).
After each round, following the reference code (``learners/ChebCB.m``, current version):

* ``Kc`` = largest cost so far, ``Lc = (max - min cost) / (high - low)`` (a Lipschitz estimate),
  ``N = 2 + 4 (high - low) Lc / Kc (1 + ln m)``, ``scale = Kc N``;
* each arm's coefficients are the minimum-norm least-squares fit of the targets
  ``(cost - min_cost) / scale`` on its own rounds; if a coefficient leaves the box
  ``|theta_0| <= 1/N``, ``|theta_j| <= 2 (high - low) Lc / (scale j)`` (Chebyshev coefficient
  decay for Lipschitz functions), the box-constrained least-squares fit is used instead
  (projected coordinate descent from the previous coefficients). All arms are refit when
  ``scale`` changes, otherwise only the played arm;
* ``alpha = (pi + (2/pi) ln(2m + 1)) (high - low) Lc / (2 scale (m + 1))`` (truncation-error
  bound), ``R = sum_s (y_s - cost_s / scale)^2`` (online square loss of the played predictions)
  and ``eta = 2 t sqrt(K t / (R - res + 2 alpha^2 t))``.

**[ASSUMPTION]** ``res`` is the squared residual of the played arm's box-constrained fit
(0 if the unconstrained fit was inside the box); the reference code's loop over arms leaves
the value of the last constrained fit, which is not recoverable from the spec. A non-positive
denominator is clamped to 1e-12.

Costs are non-negative (iteration counts; a solve whose initial residual is already 0 costs 0
iterations) and at most :data:`MAX_COST` (1e100, so that sums of squared costs stay finite over
any horizon): the step API refuses other rewards (``reward_model`` is ``[-1e100, 0]``). ``Kc``
is floored at 1e-150 (the reference code divides by it): with every cost so far 0 (or below
1e-150) the normalisation ``scale = Kc N`` would otherwise underflow and ``scale^2`` become 0.

All fits use sufficient statistics (``sum phi phi^T``, ``sum phi cost``, ``sum cost^2`` per
arm), so memory does not grow with the horizon.

Exploration can collapse. ``eta`` grows roughly linearly in ``t`` while the online square loss
``R`` stays small, so an arm that is never the predicted best is drawn with probability of
order ``1/t``. If such an arm's first one or two observations happen to be costly, its
fitted curve can stay above the best arm's everywhere, and it may not be tried again. On a
2-arm problem with linear costs (``tests/test_sor_tuning.py``), this happened in 1 to 3 of 40
seeds, depending on which seeds were varied: the cheap arm was pulled once or twice in 3,000
rounds. This is the reference code's schedule, kept as is.

References
----------
D. Foster, A. Rakhlin. Beyond UCB: optimal and efficient contextual bandits with regression
oracles. ICML 2020. M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. Learning to relax,
ICLR 2024 (arXiv:2310.02246).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS_ITERATIVE, Integer, Real
from banditlab.kernels.common import categorical
from banditlab.protocols import Kernels, register_kernels
from banditlab.reward_models import RewardModel
from banditlab.sor_tuning._scalar_context import ScalarContextPolicy

__all__ = ["MAX_COST", "ChebCB"]

#: largest cost (``-reward``) ChebCB accepts: squares of costs, summed over any horizon, stay
#: finite (the same bound as the solvers' data, ``bcd_problems.MAX_ABS_DATA``)
MAX_COST = 1e100
#: floor of the largest cost ``Kc`` in the normalisation: ``scale = Kc N >= 2e-150``, so that
#: ``scale^2`` (a divisor) cannot underflow to 0 when every cost so far is 0
_KC_FLOOR = 1e-150

# indices into ChebCBState.stats
_T, _CMAX, _CMIN, _SCALE, _ETA, _SYY, _SYC, _SCC, _RES = range(9)


class ChebCBParams(NamedTuple):
    low: float                 # context range
    high: float
    n_coef: int                # m: number of Chebyshev coefficients per arm
    min_cost: float            # targets are (cost - min_cost) / scale


class ChebCBState(NamedTuple):
    gram: np.ndarray           # float64[n_arms, m, m]; sum of phi phi^T per arm
    rhs: np.ndarray            # float64[n_arms, m]; sum of phi (cost - min_cost) per arm
    sq: np.ndarray             # float64[n_arms]; sum of (cost - min_cost)^2 per arm
    counts: np.ndarray         # int64[n_arms]
    theta: np.ndarray          # float64[n_arms, m]
    probs: np.ndarray          # float64[n_arms]; scratch
    phi: np.ndarray            # float64[m]; scratch
    pred: np.ndarray           # float64[n_arms]; scratch
    stats: np.ndarray          # float64[9]: t, max cost, min cost, scale, eta,
    #                            sum y^2, sum y cost, sum cost^2 (online loss), last res


def init(params: ChebCBParams, n_arms: int, n_features: int) -> ChebCBState:
    m = params.n_coef
    stats = np.zeros(9)
    stats[_T] = 1.0
    stats[_CMAX] = -np.inf
    stats[_CMIN] = np.inf
    return ChebCBState(np.zeros((n_arms, m, m)), np.zeros((n_arms, m)), np.zeros(n_arms),
                       np.zeros(n_arms, dtype=np.int64), np.zeros((n_arms, m)),
                       np.full(n_arms, 1.0 / n_arms), np.zeros(m), np.zeros(n_arms), stats)


@njit
def chebyshev_features(c, low, high, out):
    """``out[j] = T_j(z)``, ``z = 2 (c - low)/(high - low) - 1`` clipped to [-1, 1]."""
    z = 2.0 * (c - low) / (high - low) - 1.0
    z = min(max(z, -1.0), 1.0)
    m = out.shape[0]
    out[0] = 1.0
    if m > 1:
        out[1] = z
    for j in range(2, m):
        out[j] = 2.0 * z * out[j - 1] - out[j - 2]


@njit
def _predict_and_probs(params, state, c):
    chebyshev_features(c, params.low, params.high, state.phi)
    k = state.theta.shape[0]
    best = 0
    for i in range(k):
        state.pred[i] = np.dot(state.theta[i], state.phi)
        if state.pred[i] < state.pred[best]:
            best = i
    eta = state.stats[_ETA]
    total = 0.0
    for i in range(k):
        if i != best:
            state.probs[i] = 1.0 / (k + eta * (state.pred[i] - state.pred[best]))
            total += state.probs[i]
    state.probs[best] = max(1.0 - total, 0.0)


@njit
def select(params, state, context, rng):
    _predict_and_probs(params, state, context[0, 0])
    return categorical(state.probs, rng)


@njit
def _fit_arm(params, state, i, scale, ub):
    """Refit arm i; return the squared residual of the box-constrained fit (0 if unneeded)."""
    m = params.n_coef
    G = state.gram[i]
    h = state.rhs[i] / scale
    theta = np.linalg.pinv(G) @ h
    inside = True
    for j in range(m):
        if abs(theta[j]) > ub[j]:
            inside = False
    if inside:
        state.theta[i, :] = theta
        return 0.0
    th = state.theta[i].copy()
    for j in range(m):
        th[j] = min(max(th[j], -ub[j]), ub[j])
    for _ in range(500):                   # projected (exact) coordinate descent
        change = 0.0
        for j in range(m):
            if G[j, j] <= 0.0:
                continue
            g = h[j] - np.dot(G[j], th) + G[j, j] * th[j]
            new = min(max(g / G[j, j], -ub[j]), ub[j])
            change = max(change, abs(new - th[j]))
            th[j] = new
        if change < 1e-12:
            break
    state.theta[i, :] = th
    # ||y - Phi th||^2 = sum y^2 - 2 th.h + th' G th,  y = (cost - min_cost) / scale
    return max(state.sq[i] / (scale * scale) - 2.0 * np.dot(th, h) + np.dot(th, G @ th), 0.0)


@njit
def update(params, state, arm, reward, context):
    c = context[0, 0]
    _predict_and_probs(params, state, c)       # phi and the played prediction of this round
    cost = -reward
    y_played = state.pred[arm]
    st = state.stats
    m = params.n_coef
    k = state.theta.shape[0]
    target = cost - params.min_cost
    for a in range(m):
        state.rhs[arm, a] += state.phi[a] * target
        for b in range(m):
            state.gram[arm, a, b] += state.phi[a] * state.phi[b]
    state.sq[arm] += target * target
    state.counts[arm] += 1
    st[_CMAX] = max(st[_CMAX], cost)
    st[_CMIN] = min(st[_CMIN], cost)
    st[_SYY] += y_played * y_played
    st[_SYC] += y_played * cost
    st[_SCC] += cost * cost
    width = params.high - params.low
    kc = max(st[_CMAX], _KC_FLOOR)
    lc = (st[_CMAX] - st[_CMIN]) / width
    n_norm = 2.0 + 4.0 * width * lc / kc * (1.0 + math.log(m))
    scale = kc * n_norm
    refit_all = scale != st[_SCALE]
    st[_SCALE] = scale
    ub = np.empty(m)
    ub[0] = 1.0 / n_norm
    for j in range(1, m):
        ub[j] = 2.0 * width * lc / scale / j
    res = 0.0
    for i in range(k):
        if state.counts[i] > 0 and (refit_all or i == arm):
            r = _fit_arm(params, state, i, scale, ub)
            if i == arm:
                res = r
    st[_RES] = res
    alpha = (math.pi + 2.0 / math.pi * math.log(2.0 * m + 1.0)) / (2.0 * scale * (m + 1)) \
        * width * lc
    big_r = st[_SYY] - 2.0 * st[_SYC] / scale + st[_SCC] / (scale * scale)
    t = st[_T]
    denom = max(big_r - res + 2.0 * alpha * alpha * t, 1e-12)
    st[_ETA] = 2.0 * t * math.sqrt(k * t / denom)
    st[_T] = t + 1.0
    return state


@njit
def action_probabilities(params, state):
    return state.probs.copy()


class ChebCB(ScalarContextPolicy):
    """ChebCB: inverse-gap-weighted bandit over per-arm Chebyshev cost regressions.

    Parameters
    ----------
    n_arms : int
        In [1, 2**16] (``MAX_ARMS_ITERATIVE``): every round predicts every arm, and the state
        keeps an ``n_coef x n_coef`` Gram matrix per arm (also refused when it would take
        more than half of the memory available now).
    low, high : float
        Context range, each in [-1e12, 1e12] with ``high - low >= 1e-12 max(1, |low|, |high|)``
        (so that the width, the Lipschitz estimate ``(max - min cost) / (high - low)`` and
        their products stay finite and the feature map is well conditioned); contexts outside
        it are clipped.
    n_coef : int, default 6
        Chebyshev coefficients per arm (``m``; degree ``m - 1``).
    min_cost : float, default 1.0
        Smallest possible cost (iteration counts: 1), in [-1e100, 1e100]; rewards are
        ``-cost``, with costs in [0, 1e100] (:data:`MAX_COST`): ``update`` refuses a reward
        outside [-1e100, 0] (set ``check_rewards = False`` to feed it anyway).
    """

    kernels = register_kernels(ChebCBParams, Kernels(init, select, update,
                                                     action_probabilities=action_probabilities))
    constraints = {"n_arms": Integer(1, MAX_ARMS_ITERATIVE), "low": Real(-1e12, 1e12),
                   "high": Real(-1e12, 1e12),
                   "n_coef": Integer(1, 50), "min_cost": Real(-MAX_COST, MAX_COST)}
    # costs (-rewards) in [0, MAX_COST]: iteration counts, 0 for a solve with nothing to do
    reward_model = RewardModel.bounded(-MAX_COST, 0.0)
    _contract_kwargs = {"low": 0.0, "high": 1.0}

    def __init__(self, n_arms: int, *, low: float, high: float, n_coef: int = 6,
                 min_cost: float = 1.0) -> None:
        v = self._validate(n_arms=n_arms, low=low, high=high, n_coef=n_coef, min_cost=min_cost)
        gap = 1e-12 * max(1.0, abs(v["low"]), abs(v["high"]))
        if not v["high"] - v["low"] >= gap:
            raise ValueError(f"ChebCB: 'high' must be a float in [{v['low'] + gap!r}, 1e12] "
                             f"(at least low + 1e-12 max(1, |low|, |high|)); got {high!r}.")
        self.n_arms = v["n_arms"]
        self._coerced["n_features"] = 1
        self.params = ChebCBParams(v["low"], v["high"], v["n_coef"], v["min_cost"])
        self.check_state_memory()

    def _state_nbytes(self) -> tuple[float, str]:
        # per arm: a Gram matrix, a right-hand side and coefficients, plus a few scalars
        n, m = float(self.n_arms), float(self.params.n_coef)
        return (8.0 * (n * (m * m + 2.0 * m + 4.0) + m + 9.0),
                f"n_arms={self.n_arms}, n_coef={self.params.n_coef}")
