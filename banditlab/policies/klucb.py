"""KL-UCB with the Bernoulli, Gaussian, Poisson and exponential divergences.

Index of arm a after t rounds: the largest q with ``n_a * d(mean_a, q) <= log t + c log log t``,
where ``d`` is the Kullback–Leibler divergence of the reward family, parametrised by its mean
(Garivier & Cappé, 2011; Cappé, Garivier, Maillard, Munos & Stoltz, 2013):

* Bernoulli, ``d(p, q) = p log(p/q) + (1-p) log((1-p)/(1-q))``; valid for any rewards in [0, 1];
* Gaussian with known ``sigma``, ``d(p, q) = (q - p)^2 / (2 sigma^2)``: the index is
  ``mean + sigma sqrt(2 (log t + c log log t) / n)``;
* Poisson, ``d(p, q) = q - p + p log(p/q)``;
* exponential, ``d(p, q) = p/q - 1 - log(p/q)``.

With ``c = 3`` the number of pulls of a suboptimal arm is at most
``(1 + eps) log T / d(mu_a, mu*) + O(log log T)`` for rewards of the divergence's family, which
matches the Lai–Robbins lower bound: asymptotic optimality (Garivier & Cappé, 2011, Theorem 2;
Cappé et al., 2013, Theorem 1). ``c = 0`` is the variant recommended in practice. The bounds are
asymptotic (their lower-order terms have no explicit constants), so no finite-time regret
bound is checked; the index is checked against root-finding on the divergence.

Speed: the state keeps, for every arm, a bracket of its index certified for the bisection
(``KLUCBState.certs``, see :func:`banditlab.kernels.common.kl_ucb_argmax`), valid until the
arm is pulled or its index passes the upper end; most rounds solve only the pulled arm's
bracket. A pull costs 2.4-6.6 times UCB1's on the kernel engine, with the choices and draws
of solving every index by bisection.

References
----------
A. Garivier, O. Cappé. The KL-UCB algorithm for bounded stochastic bandits and beyond.
COLT 2011.
O. Cappé, A. Garivier, O.-A. Maillard, R. Munos, G. Stoltz. Kullback–Leibler upper confidence
bounds for optimal sequential allocation. Annals of Statistics 41(3), 2013.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, Integer, Options, Real
from banditlab.kernels.common import (
    DIV_BERNOULLI,
    DIV_EXPONENTIAL,
    DIV_GAUSSIAN,
    DIV_POISSON,
    kl_ucb_argmax,
    kl_ucb_certificates,
)
from banditlab.policies._index import first_unpulled
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import ENV_SIGMA, RewardModel

__all__ = ["DIVERGENCES", "KLUCB"]

#: divergence name -> code used by the kernel
DIVERGENCES = {"bernoulli": DIV_BERNOULLI, "gaussian": DIV_GAUSSIAN, "poisson": DIV_POISSON,
               "exponential": DIV_EXPONENTIAL}


class KLUCBParams(NamedTuple):
    c: float           # weight of the log log t term, >= 0
    tol: float         # bisection tolerance, in [1e-12, 0.1]
    divergence: int    # DIV_BERNOULLI, DIV_GAUSSIAN, DIV_POISSON or DIV_EXPONENTIAL
    sigma: float       # Gaussian divergence: the known noise scale (> 0)


class KLUCBState(NamedTuple):
    t: int                 # rounds played
    counts: np.ndarray     # int64[n_arms]; pulls per arm
    sums: np.ndarray       # float64[n_arms]; summed rewards per arm
    certs: np.ndarray      # float64[n_arms, KL_CERT_COLUMNS]; kl_ucb_argmax's certificates


def init(params: KLUCBParams, n_arms: int) -> KLUCBState:
    return KLUCBState(0, np.zeros(n_arms, np.int64), np.zeros(n_arms),
                      kl_ucb_certificates(n_arms))


@njit
def update(params, state, arm, reward):
    state.counts[arm] += 1
    state.sums[arm] += reward
    return KLUCBState(state.t + 1, state.counts, state.sums, state.certs)


@njit
def select(params, state, rng):
    a = first_unpulled(state)
    if a >= 0:
        return a
    logt = np.log(state.t)
    budget = logt + params.c * np.log(max(logt, 1.0))
    # the argmax of the indices with argmax_tiebreak's draws, solving only the indices that
    # can still win with the certificates kept in the state (kl_ucb_argmax); the same
    # choices as solving them all
    return kl_ucb_argmax(params.divergence, state.sums, state.counts, budget, params.sigma,
                         params.tol, rng, state.certs)


class KLUCB(Policy):
    """KL-UCB: the divergence of the reward family sets the confidence bound.

    Parameters
    ----------
    n_arms : int
    divergence : {'bernoulli', 'gaussian', 'poisson', 'exponential'}, default 'bernoulli'
        Reward family: rewards in [0, 1], Gaussian with known ``sigma``, Poisson or
        exponential rewards.
    sigma : float, default 1.0
        Known noise standard deviation of the Gaussian divergence (> 0; unused otherwise).
    c : float, default 0.0
        Weight of the ``log log t`` term (>= 0; 3 in the analysis).
    tol : float, default 1e-6
        Bisection tolerance of the index, in [1e-12, 0.1]: smaller values cost steps without
        changing a decision, and below about 1e-16 (the spacing of doubles near 1) could never
        be met. Relative to ``max(1, mean)`` for the Poisson and exponential divergences.
    """

    protocol = KARMED
    kernels = register_kernels(KLUCBParams, Kernels(init, select, update))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "c": Real(0.0, None),
                   "tol": Real(1e-12, 0.1),
                   "divergence": Options(tuple(DIVERGENCES)),
                   "sigma": Real(0.0, None, closed="neither")}
    _contract_kwargs = {"c": 0.0}
    reward_variants = ({}, {"divergence": "gaussian", "sigma": ENV_SIGMA},
                       {"divergence": "poisson"}, {"divergence": "exponential"})

    def __init__(self, n_arms: int, *, divergence: str = "bernoulli", sigma: float = 1.0,
                 c: float = 0.0, tol: float = 1e-6) -> None:
        v = self._validate(n_arms=n_arms, divergence=divergence, sigma=sigma, c=c, tol=tol)
        self.n_arms = v["n_arms"]
        self.params = KLUCBParams(v["c"], v["tol"], DIVERGENCES[v["divergence"]], v["sigma"])
        self.reward_model = {
            "bernoulli": RewardModel.bounded(0.0, 1.0),
            "gaussian": RewardModel.subgaussian(v["sigma"]),
            "poisson": RewardModel.poisson(),
            "exponential": RewardModel.exponential(),
        }[v["divergence"]]
