"""The learners of the SOR-tuning system and the factory that configures them as in the paper.

``TsallisINF`` (K-armed, in :mod:`banditlab.policies.tsallis_inf`) learns one omega for all
systems; :class:`~banditlab.sor_tuning.tsallis_inf_cb.TsallisINFCB` and
:class:`~banditlab.sor_tuning.chebcb.ChebCB` follow the ``SOLVER_SEQUENCE`` protocol (a scalar
context per system, :mod:`banditlab.sor_tuning._scalar_context`).
"""

from __future__ import annotations

from banditlab._validation import Options
from banditlab.envs.sor import SHIFT_CONTEXT_RANGE
from banditlab.policies.tsallis_inf import TsallisINF
from banditlab.policy import Policy
from banditlab.sor_tuning.chebcb import ChebCB
from banditlab.sor_tuning.tsallis_inf_cb import TsallisINFCB

__all__ = ["LEARNERS", "ChebCB", "TsallisINFCB", "make_learner"]

LEARNERS = ("tsallis_inf", "tsallis_inf_cb", "chebcb")


def make_learner(name: str, n_arms: int, *, context_range: tuple[float, float] | None = None,
                 n_bins: int = 5, n_coef: int = 6) -> Policy:
    """The paper's learner ``name`` configured as in the reference code for costs = iterations.

    ``'tsallis_inf'``: adaptive loss scale, losses ``cost - 1``; ``'tsallis_inf_cb'``: the same
    per context bin; ``'chebcb'``: ``n_coef`` Chebyshev coefficients per arm.
    """
    Options(LEARNERS).check(name, "learner", "make_learner")
    if name == "tsallis_inf":
        return TsallisINF(n_arms, reward_max=-1.0, adaptive_scale=True)
    lo, hi = context_range if context_range is not None else SHIFT_CONTEXT_RANGE
    if name == "tsallis_inf_cb":
        return TsallisINFCB(n_arms, low=lo, high=hi, n_bins=n_bins, reward_max=-1.0,
                            adaptive_scale=True)
    return ChebCB(n_arms, low=lo, high=hi, n_coef=n_coef)
