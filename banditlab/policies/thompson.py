"""Thompson sampling: Beta–Bernoulli and Gaussian.

``ThompsonSampling`` keeps a ``Beta(a0 + S_a, b0 + F_a)`` posterior per arm and plays the
argmax of one posterior draw per arm. A reward r in [0, 1] adds ``r`` to ``S_a`` and ``1 - r``
to ``F_a`` (for binary rewards this is the exact conjugate update; for fractional rewards it is
the usual fractional-count variant, which keeps the update deterministic). Regret is
asymptotically optimal for Bernoulli arms (Kaufmann, Korda & Munos, 2012; Agrawal & Goyal, 2012).

``GaussianThompsonSampling`` draws ``N(S_a / (n_a + 1), sigma^2 / (n_a + 1))`` (a N(0, sigma^2)
prior with known noise sigma), the Gaussian version analysed by Agrawal & Goyal (2013).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Real
from banditlab.kernels.common import argmax_tiebreak
from banditlab.policies._index import init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import ENV_SIGMA, RewardModel

__all__ = ["GaussianThompsonSampling", "ThompsonSampling"]


class BetaTSParams(NamedTuple):
    a0: float          # prior successes, > 0
    b0: float          # prior failures, > 0


class BetaTSState(NamedTuple):
    successes: np.ndarray  # float64[n_arms]
    failures: np.ndarray   # float64[n_arms]
    samples: np.ndarray    # float64[n_arms]; scratch for posterior draws


def init_beta(params: BetaTSParams, n_arms: int) -> BetaTSState:
    return BetaTSState(np.zeros(n_arms), np.zeros(n_arms), np.zeros(n_arms))


@njit
def select_beta(params, state, rng):
    for a in range(state.samples.shape[0]):
        state.samples[a] = rng.beta(params.a0 + state.successes[a], params.b0 + state.failures[a])
    return argmax_tiebreak(state.samples, rng)


@njit
def update_beta(params, state, arm, reward):
    r = min(max(reward, 0.0), 1.0)
    state.successes[arm] += r
    state.failures[arm] += 1.0 - r
    return state


class ThompsonSampling(Policy):
    """Beta–Bernoulli Thompson sampling (rewards in [0, 1]).

    Parameters
    ----------
    n_arms : int
    a0, b0 : float, default 1.0
        Beta prior parameters (> 0); the default is the uniform prior.

    References
    ----------
    W. R. Thompson (1933); S. Agrawal, N. Goyal, Analysis of Thompson sampling for the
    multi-armed bandit problem, COLT 2012; E. Kaufmann, N. Korda, R. Munos, ALT 2012.
    """

    protocol = KARMED
    kernels = register_kernels(BetaTSParams, Kernels(init_beta, select_beta, update_beta))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "a0": Real(0.0, None, closed="neither"),
                   "b0": Real(0.0, None, closed="neither")}
    _contract_kwargs = {"a0": 1.0, "b0": 1.0}
    reward_model = RewardModel.bounded(0.0, 1.0)

    def __init__(self, n_arms: int, *, a0: float = 1.0, b0: float = 1.0) -> None:
        v = self._validate(n_arms=n_arms, a0=a0, b0=b0)
        self.n_arms = v["n_arms"]
        self.params = BetaTSParams(v["a0"], v["b0"])


class GaussTSParams(NamedTuple):
    sigma: float       # known noise scale, > 0


@njit
def select_gauss(params, state, rng):
    n = state.counts.shape[0]
    samples = state.scratch
    for a in range(n):
        k = state.counts[a] + 1.0
        samples[a] = state.sums[a] / k + params.sigma / np.sqrt(k) * rng.standard_normal()
    return argmax_tiebreak(samples, rng)


class GaussianThompsonSampling(Policy):
    """Gaussian Thompson sampling with known noise scale ``sigma``.

    Parameters
    ----------
    n_arms : int
    sigma : float, default 1.0
        Noise standard deviation assumed by the posterior (> 0).

    References
    ----------
    S. Agrawal, N. Goyal. Further optimal regret bounds for Thompson sampling. AISTATS 2013.
    """

    protocol = KARMED
    kernels = register_kernels(GaussTSParams, Kernels(init_counts, select_gauss, update_counts))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "sigma": Real(0.0, None, closed="neither")}
    _contract_kwargs = {"sigma": 0.5}
    reward_variants = ({}, {"sigma": ENV_SIGMA})

    def __init__(self, n_arms: int, *, sigma: float = 1.0) -> None:
        v = self._validate(n_arms=n_arms, sigma=sigma)
        self.n_arms = v["n_arms"]
        self.params = GaussTSParams(v["sigma"])
        self.reward_model = RewardModel.subgaussian(v["sigma"])
