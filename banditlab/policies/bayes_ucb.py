"""Bayes-UCB: play the arm whose posterior has the largest upper quantile (Kaufmann et al., 2012).

At round t (1-based) the index of arm a is the quantile of level ``1 - 1 / (t log(T)^c)`` of its
posterior:

* ``posterior='beta'`` (Bernoulli rewards): ``Beta(1 + S_a, 1 + F_a)`` from the uniform prior,
  with ``S_a`` successes and ``F_a`` failures;
* ``posterior='gaussian'`` (Gaussian rewards, known ``sigma``): ``N(mean_a, sigma^2 / n_a)``
  from the flat prior (each arm is pulled once first).

Ties are broken uniformly at random; levels below 1/2 (only in the first round, or when
``log(T)^c < 1``) are raised to 1/2. With ``c >= 5`` the Beta version is asymptotically optimal
for Bernoulli arms: ``E[N_a(T)] <= (1 + eps) log T / KL(mu_a, mu*) + o(log T)`` (Kaufmann, Cappé
& Garivier, 2012, Theorem 1); ``c = 0`` (the default, needing no horizon) is the variant the
paper's experiments use. The guarantee is asymptotic (no explicit constants), so no finite-time
regret bound is checked; the quantiles are checked against ``scipy.special``.

References
----------
E. Kaufmann, O. Cappé, A. Garivier. On Bayesian upper confidence bounds for bandit problems.
AISTATS 2012.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS, MAX_HORIZON, Integer, Options, Real
from banditlab.kernels.common import argmax_tiebreak
from banditlab.kernels.special import beta_upper_quantile, normal_upper_quantile
from banditlab.policies._index import init_counts, update_counts
from banditlab.policy import Policy
from banditlab.protocols import KARMED, Kernels, register_kernels
from banditlab.reward_models import ENV_SIGMA, RewardModel

__all__ = ["BayesUCB"]

_POSTERIORS = ("beta", "gaussian")
#: absolute tolerance of the quantiles (in reward units)
_QUANTILE_TOL = 1e-12


class BayesUCBParams(NamedTuple):
    posterior: int     # 0: Beta (Bernoulli rewards), 1: Gaussian with known sigma
    sigma: float       # Gaussian posterior: the known noise scale (> 0)
    log_horizon_c: float  # log(T)^c, the horizon factor of the level (1.0 when c = 0)


@njit
def select(params, state, rng):
    index = state.scratch
    k = index.shape[0]
    # 1 - level at round t + 1; levels below 1/2 (the first round, or log(T)^c < 1) are raised
    # to 1/2, where every posterior still ranks by its centre
    tail = min(1.0 / ((state.t + 1) * params.log_horizon_c), 0.5)
    if params.posterior == 0:
        for i in range(k):
            s = min(max(state.sums[i], 0.0), float(state.counts[i]))
            index[i] = beta_upper_quantile(1.0 + s, 1.0 + state.counts[i] - s, tail,
                                           _QUANTILE_TOL)
        return argmax_tiebreak(index, rng)
    z = normal_upper_quantile(tail, _QUANTILE_TOL)
    for i in range(k):
        n = state.counts[i]
        if n == 0:
            return i  # flat prior: pull every arm once first, lowest index first
        index[i] = state.sums[i] / n + params.sigma / np.sqrt(n) * z
    return argmax_tiebreak(index, rng)


class BayesUCB(Policy):
    """Bayes-UCB with a Beta (Bernoulli rewards) or Gaussian (known sigma) posterior.

    Parameters
    ----------
    n_arms : int
    posterior : {'beta', 'gaussian'}, default 'beta'
        ``'beta'``: Bernoulli rewards (each reward 0 or 1), uniform prior. ``'gaussian'``:
        Gaussian rewards with known ``sigma``, flat prior.
    sigma : float, default 1.0
        Noise standard deviation of the Gaussian posterior (> 0; unused for ``'beta'``).
    c : float, default 0.0
        Exponent of ``log(T)`` in the quantile level (>= 0); 5 in the analysis.
    horizon : int, optional
        The horizon T; required when ``c > 0``.
    """

    protocol = KARMED
    kernels = register_kernels(BayesUCBParams, Kernels(init_counts, select, update_counts))
    constraints = {"n_arms": Integer(1, MAX_ARMS), "posterior": Options(_POSTERIORS),
                   "sigma": Real(0.0, None, closed="neither"), "c": Real(0.0, 100.0),
                   "horizon": Integer(2, MAX_HORIZON, allow_none=True)}
    _contract_kwargs = {"posterior": "beta"}
    reward_variants = ({}, {"posterior": "gaussian", "sigma": ENV_SIGMA})

    def __init__(self, n_arms: int, *, posterior: str = "beta", sigma: float = 1.0,
                 c: float = 0.0, horizon: int | None = None) -> None:
        v = self._validate(n_arms=n_arms, posterior=posterior, sigma=sigma, c=c,
                           horizon=horizon)
        if v["c"] > 0.0 and v["horizon"] is None:
            raise ValueError(f"BayesUCB: 'horizon' must be an int in [2, inf) when c > 0; "
                             f"got None (c={v['c']!r}).")
        factor = 1.0 if v["c"] == 0.0 else math.log(v["horizon"]) ** v["c"]
        if not math.isfinite(factor):
            raise ValueError(f"BayesUCB: 'c' must make log(horizon)^c finite; got c={v['c']!r} "
                             f"with horizon={v['horizon']!r}.")
        self.n_arms = v["n_arms"]
        self.params = BayesUCBParams(_POSTERIORS.index(v["posterior"]), v["sigma"], factor)
        self.reward_model = (RewardModel.bernoulli() if v["posterior"] == "beta"
                             else RewardModel.subgaussian(v["sigma"]))
