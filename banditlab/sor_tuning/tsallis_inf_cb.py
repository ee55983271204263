"""Tsallis-INF-CB: one independent Tsallis-INF per context bin (Khodak et al., 2024).

The context range ``[low, high]`` is cut into ``n_bins`` equal bins with centres
``low + (high - low)(j - 1/2)/n_bins``; a context goes to the bin with the nearest centre (so
contexts outside the range go to the first or last bin) and that bin's Tsallis-INF
(:mod:`banditlab.policies.tsallis_inf`, with its own round counter and loss scale) picks the
arm. This is the discretised contextual baseline of the paper's experiments (5 bins for SOR,
6 for the heat equation).

References
----------
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. Learning to relax, ICLR 2024 (arXiv:2310.02246),
reference code ``learners/TsallisINFCB.m``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab._validation import MAX_ARMS_ITERATIVE, Boolean, Integer, Real
from banditlab.kernels.common import categorical
from banditlab.policies.tsallis_inf import tsallis_probabilities
from banditlab.protocols import Kernels, register_kernels
from banditlab.sor_tuning._scalar_context import ScalarContextPolicy

__all__ = ["TsallisINFCB"]


class TsallisINFCBParams(NamedTuple):
    eta_scale: float           # eta_t = eta_scale / sqrt(t_bin)
    reward_max: float          # loss = reward_max - reward
    adaptive_scale: bool       # per-bin running-mean loss scale (reference code)
    low: float                 # context range
    high: float
    n_bins: int


class TsallisINFCBState(NamedTuple):
    losses: np.ndarray         # float64[n_bins, n_arms]; per-bin loss estimates
    probs: np.ndarray          # float64[n_arms]; scratch
    stats: np.ndarray          # float64[n_bins, 3]: (round t >= 1, loss sum, n observed) per bin


def init(params: TsallisINFCBParams, n_arms: int, n_features: int) -> TsallisINFCBState:
    stats = np.zeros((params.n_bins, 3))
    stats[:, 0] = 1.0
    return TsallisINFCBState(np.zeros((params.n_bins, n_arms)), np.full(n_arms, 1.0 / n_arms),
                             stats)


@njit
def _bin(params, c):
    width = (params.high - params.low) / params.n_bins
    x = np.floor((c - params.low) / width)
    # clamp as a float: a context far outside [low, high] would overflow the int conversion
    if x <= 0.0:
        return 0
    if x >= params.n_bins - 1:
        return params.n_bins - 1
    return int(x)


@njit
def _fill(params, state, j):
    st = state.stats[j]
    scale = 1.0
    if params.adaptive_scale and st[2] > 0.0 and st[1] > 0.0:
        scale = st[1] / st[2]
    tsallis_probabilities(state.losses[j], scale, params.eta_scale / math.sqrt(st[0]),
                          state.probs)


@njit
def select(params, state, context, rng):
    _fill(params, state, _bin(params, context[0, 0]))
    return categorical(state.probs, rng)


@njit
def update(params, state, arm, reward, context):
    j = _bin(params, context[0, 0])
    _fill(params, state, j)
    loss = params.reward_max - reward
    state.losses[j, arm] += loss / state.probs[arm]
    state.stats[j, 0] += 1.0
    state.stats[j, 1] += loss
    state.stats[j, 2] += 1.0
    return state


class TsallisINFCB(ScalarContextPolicy):
    """Binned contextual Tsallis-INF: an independent Tsallis-INF per context bin.

    Parameters
    ----------
    n_arms : int
        In [1, 2**16] (``MAX_ARMS_ITERATIVE``): as for Tsallis-INF, every round finds the
        distribution by Newton passes over all arms.
    low, high : float
        Context range, each in [-1e12, 1e12] with ``high - low >= 1e-12 max(1, |low|, |high|)``
        (as :class:`~banditlab.sor_tuning.chebcb.ChebCB`: the bin width stays positive and
        finite).
    n_bins : int, default 5
        Also refused when the per-bin state (``n_bins x n_arms`` loss estimates) would take
        more than half of the memory available now.
    eta_scale, reward_max, adaptive_scale
        As in :class:`~banditlab.policies.tsallis_inf.TsallisINF` (per bin).
    """

    kernels = register_kernels(TsallisINFCBParams, Kernels(init, select, update))
    constraints = {"n_arms": Integer(1, MAX_ARMS_ITERATIVE), "low": Real(-1e12, 1e12),
                   "high": Real(-1e12, 1e12),
                   "n_bins": Integer(1, None),
                   "eta_scale": Real(0.0, None, closed="neither"),
                   "reward_max": Real(), "adaptive_scale": Boolean()}
    _contract_kwargs = {"low": 0.0, "high": 1.0}

    def __init__(self, n_arms: int, *, low: float, high: float, n_bins: int = 5,
                 eta_scale: float = 2.0, reward_max: float = 1.0,
                 adaptive_scale: bool = False) -> None:
        v = self._validate(n_arms=n_arms, low=low, high=high, n_bins=n_bins,
                           eta_scale=eta_scale, reward_max=reward_max,
                           adaptive_scale=adaptive_scale)
        gap = 1e-12 * max(1.0, abs(v["low"]), abs(v["high"]))
        if not v["high"] - v["low"] >= gap:
            raise ValueError(f"TsallisINFCB: 'high' must be a float in [{v['low'] + gap!r}, "
                             f"1e12] (at least low + 1e-12 max(1, |low|, |high|), with "
                             f"low={low!r}); got {high!r}.")
        self.n_arms = v["n_arms"]
        self._coerced["n_features"] = 1
        self.params = TsallisINFCBParams(v["eta_scale"], v["reward_max"], v["adaptive_scale"],
                                         v["low"], v["high"], v["n_bins"])
        self.check_state_memory()

    def _state_nbytes(self) -> tuple[float, str]:
        # per bin: a loss estimate per arm and three statistics; one probability per arm
        n, b = float(self.n_arms), float(self.params.n_bins)
        return 8.0 * (b * (n + 3.0) + n), f"n_arms={self.n_arms}, n_bins={self.params.n_bins}"
