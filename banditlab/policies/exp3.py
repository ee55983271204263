"""EXP3 for adversarial bandits, loss-based form (Bubeck & Cesa-Bianchi, 2012, §3.1).

With cumulative importance-weighted loss estimates ``L_a``, play ``p_a ∝ exp(-eta L_a)``; after
reward r of arm a, ``L_a += (1 - r) / p_a``. With ``eta = sqrt(2 log K / (T K))`` the expected
regret against the best fixed arm satisfies ``R_T <= sqrt(2 T K log K)`` for rewards in [0, 1]
(Bubeck & Cesa-Bianchi, 2012, Theorem 3.1).

References
----------
P. Auer, N. Cesa-Bianchi, Y. Freund, R. Schapire. The nonstochastic multiarmed bandit problem.
SIAM J. Comput. 32(1), 2002. S. Bubeck, N. Cesa-Bianchi. Regret analysis of stochastic and
nonstochastic multi-armed bandit problems. Found. Trends ML 5(1), 2012.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, MAX_HORIZON, Integer, Real
from banditlab.kernels.common import categorical
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import RewardModel

__all__ = ["EXP3"]


class EXP3Params(NamedTuple):
    eta: float                 # learning rate, > 0


class EXP3State(NamedTuple):
    losses: np.ndarray         # float64[n_arms]; cumulative loss estimates
    probs: np.ndarray          # float64[n_arms]; scratch for the sampling distribution


def init(params: EXP3Params, n_arms: int) -> EXP3State:
    return EXP3State(np.zeros(n_arms), np.full(n_arms, 1.0 / n_arms))


@njit
def _fill_probs(params, state):
    lmin = state.losses.min()  # shift for numerical stability; the distribution is unchanged
    total = 0.0
    for a in range(state.losses.shape[0]):
        w = np.exp(-params.eta * (state.losses[a] - lmin))
        state.probs[a] = w
        total += w
    for a in range(state.losses.shape[0]):
        state.probs[a] /= total


@njit
def action_probabilities(params, state):
    _fill_probs(params, state)
    return state.probs.copy()


@njit
def select(params, state, rng):
    _fill_probs(params, state)
    return categorical(state.probs, rng)


@njit
def update(params, state, arm, reward):
    _fill_probs(params, state)
    state.losses[arm] += (1.0 - reward) / state.probs[arm]
    return state


class EXP3(Policy):
    """EXP3 (rewards in [0, 1]).

    Parameters
    ----------
    n_arms : int
    eta : float, optional
        Learning rate (> 0). If omitted, ``horizon`` is required and
        ``eta = sqrt(2 log K / (horizon K))`` (the tuning of the regret bound).
    horizon : int, optional
        Number of rounds, used only to set ``eta``.
    """

    protocol = KARMED
    kernels = register_kernels(EXP3Params, Kernels(init, select, update,
                                                   action_probabilities=action_probabilities))
    constraints = {"n_arms": Integer(1, MAX_ARMS),
                   "eta": Real(0.0, None, closed="neither", allow_none=True),
                   "horizon": Integer(1, MAX_HORIZON, allow_none=True)}
    _contract_kwargs = {"horizon": 100}
    reward_model = RewardModel.bounded(0.0, 1.0)

    def __init__(self, n_arms: int, *, eta: float | None = None,
                 horizon: int | None = None) -> None:
        v = self._validate(n_arms=n_arms, eta=eta, horizon=horizon)
        if v["eta"] is None:
            if v["horizon"] is None:
                raise ValueError("EXP3: 'eta' must be a float in (0, inf), or 'horizon' an int "
                                 "in [1, inf) to tune it; got eta=None and horizon=None.")
            k = v["n_arms"]
            v["eta"] = math.sqrt(2.0 * math.log(max(k, 2)) / (v["horizon"] * k))
        self.n_arms = v["n_arms"]
        self.params = EXP3Params(v["eta"])
