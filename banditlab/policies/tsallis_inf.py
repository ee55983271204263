"""Tsallis-INF: the 1/2-Tsallis-entropy online mirror descent bandit (Zimmert & Seldin, 2021).

With cumulative importance-weighted loss estimates ``L_i`` and learning rate
``eta_t = eta_scale / sqrt(t)``, play

    p_i = 4 / (eta_t (L_i / s - x))^2,   x < min_i L_i / s  the normaliser (sum_i p_i = 1),

found by Newton's method; after playing arm ``i`` with loss ``l``, ``L_i += l / p_i``. Losses are
``l = reward_max - reward``. With ``eta_scale = 2``, ``s = 1`` and losses in [0, 1] the expected
regret against the best fixed arm is at most ``4 sqrt(K T) + 1`` (Zimmert & Seldin, 2021, Thm 1).

``adaptive_scale=True`` is the heuristic of the reference code of Khodak et al. (2024) for SOR
tuning, where losses are unbounded iteration counts: ``s`` is the mean loss observed so far
(the code's ``mean(costs) - 1``, with ``reward = -cost`` and ``reward_max = -1``), or 1 before any
positive loss.

Newton's method is started at ``x = min_i L_i / s - 2 / eta`` (where ``sum_i p_i >= 1``), from
which it decreases monotonically to the unique normaliser. The reference code runs 20 steps
from ``x = -1`` without a convergence test, which in most rounds stop far from the normaliser
(``sum_i p_i`` is not 1); its weighted sampler then draws from these weights renormalised to
sum 1, not from the uniform distribution (the fallback only for weights it rejects, such as
non-finite ones), and the importance weight uses the unrenormalised ``p_i``. Whenever the
reference's steps converge both give the same distribution (the normaliser is unique).

References
----------
J. Zimmert, Y. Seldin. Tsallis-INF: an optimal algorithm for stochastic and adversarial bandits.
JMLR 22(28), 2021.
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. Learning to relax, ICLR 2024 (arXiv:2310.02246).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS_ITERATIVE, Boolean, Integer, Real
from banditlab.kernels.common import categorical
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["TsallisINF", "tsallis_probabilities"]


class TsallisINFParams(NamedTuple):
    eta_scale: float           # eta_t = eta_scale / sqrt(t), > 0
    reward_max: float          # loss = reward_max - reward
    adaptive_scale: bool       # divide the loss estimates by the running mean loss


class TsallisINFState(NamedTuple):
    losses: np.ndarray         # float64[n_arms]; cumulative importance-weighted loss estimates
    probs: np.ndarray          # float64[n_arms]; scratch for the sampling distribution
    stats: np.ndarray          # float64[3]: (round t >= 1, sum of observed losses, n observed)


def init(params: TsallisINFParams, n_arms: int) -> TsallisINFState:
    return TsallisINFState(np.zeros(n_arms), np.full(n_arms, 1.0 / n_arms),
                           np.array([1.0, 0.0, 0.0]))


@njit
def tsallis_probabilities(losses, scale, eta, probs):
    """Fill ``probs`` with the 1/2-Tsallis-INF distribution for loss estimates ``losses / scale``.

    Newton's method on ``sum_i 4 / (eta (L_i - x))^2 = 1`` from the right of the root; the
    result is renormalised (|sum - 1| is below 1e-12 before that) and falls back to uniform if
    non-finite.
    """
    k = losses.shape[0]
    lmin = np.inf
    for i in range(k):
        v = losses[i] / scale
        if v < lmin:
            lmin = v
    x = lmin - 2.0 / eta
    total = 0.0
    for _ in range(200):
        total = 0.0
        s32 = 0.0
        for i in range(k):
            d = eta * (losses[i] / scale - x)
            p = 4.0 / (d * d)
            probs[i] = p
            total += p
            s32 += p * math.sqrt(p)
        if abs(total - 1.0) < 1e-13:
            break
        x -= (total - 1.0) / (eta * s32)
    if not (math.isfinite(total) and total > 0.0):
        for i in range(k):
            probs[i] = 1.0 / k
        return
    for i in range(k):
        probs[i] /= total


@njit
def _scale(params, stats):
    if params.adaptive_scale and stats[2] > 0.0 and stats[1] > 0.0:
        return stats[1] / stats[2]
    return 1.0


@njit
def _fill(params, state):
    eta = params.eta_scale / math.sqrt(state.stats[0])
    tsallis_probabilities(state.losses, _scale(params, state.stats), eta, state.probs)


@njit
def action_probabilities(params, state):
    _fill(params, state)
    return state.probs.copy()


@njit
def select(params, state, rng):
    _fill(params, state)
    return categorical(state.probs, rng)


@njit
def update(params, state, arm, reward):
    _fill(params, state)
    loss = params.reward_max - reward
    state.losses[arm] += loss / state.probs[arm]
    state.stats[0] += 1.0
    state.stats[1] += loss
    state.stats[2] += 1.0
    return state


class TsallisINF(Policy):
    """Tsallis-INF (1/2-Tsallis entropy, importance-weighted losses), anytime.

    Parameters
    ----------
    n_arms : int
        In [1, 2**16] (``MAX_ARMS_ITERATIVE``, not the 2**24 of the index policies): every
        ``select`` and ``update`` finds the normaliser by Newton's method, 20 to 200 passes
        over all arms (the rounding of a long sum can keep ``sum_i p_i`` from the 1e-13
        tolerance), so a round takes about 0.01 to 0.1 s at 2**16 arms and seconds at 2**24.
    eta_scale : float, default 2.0
        ``eta_t = eta_scale / sqrt(t)`` (2 gives the ``4 sqrt(KT) + 1`` bound), in (0, 1e6]:
        beyond that ``(eta (L_i - x))^2`` overflows and every probability becomes 0.
    reward_max : float, default 1.0
        Losses are ``reward_max - reward``: 1 for rewards in [0, 1]; -1 with ``reward = -cost``
        for iteration counts (minimum cost 1), as in SOR tuning. In [-1e6, 1e6]: larger values
        give importance-weighted losses whose squares overflow in the normaliser.
    adaptive_scale : bool, default False
        Divide loss estimates by the running mean loss (reference SOR-tuning code).

    Guarantee
    ---------
    ``E[regret_T] <= 4 sqrt(K T) + 1`` for losses in [0, 1], ``eta_scale = 2``, no adaptive scale
    (Zimmert & Seldin, 2021, Theorem 1).
    """

    protocol = KARMED
    kernels = register_kernels(TsallisINFParams, Kernels(
        init, select, update, action_probabilities=action_probabilities))
    constraints = {"n_arms": Integer(1, MAX_ARMS_ITERATIVE),
                   "eta_scale": Real(0.0, 1e6, closed="right"),
                   "reward_max": Real(-1e6, 1e6),
                   "adaptive_scale": Boolean()}

    def __init__(self, n_arms: int, *, eta_scale: float = 2.0, reward_max: float = 1.0,
                 adaptive_scale: bool = False) -> None:
        v = self._validate(n_arms=n_arms, eta_scale=eta_scale, reward_max=reward_max,
                           adaptive_scale=adaptive_scale)
        self.n_arms = v["n_arms"]
        self.params = TsallisINFParams(v["eta_scale"], v["reward_max"], v["adaptive_scale"])
        # losses in [0, 1] for the bound; the adaptive scale makes no range assumption
        self.reward_model = (RewardModel.any() if v["adaptive_scale"] else
                             RewardModel.bounded(v["reward_max"] - 1.0, v["reward_max"]))
