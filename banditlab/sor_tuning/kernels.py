"""The ``SOLVER_SEQUENCE`` loop: a learner tunes a relaxation parameter over a cost table.

A sequence of linear systems whose iteration count for every candidate omega is known (a
:class:`~banditlab.sor_tuning.CostTable`) is played inside Numba; the learners' ``select`` and
``update`` kernels are reached through the protocol dispatch of :mod:`banditlab.protocols`, so
:func:`~banditlab.sor_tuning.play_on_table`'s step-by-step path calls the very same kernels.
"""

from __future__ import annotations

import numpy as np

from banditlab._jit import njit
from banditlab.protocols import call_select, call_update

__all__ = ["run_cost_table"]


@njit
def run_cost_table(params, state, rng, contexts, costs):
    """The ``SOLVER_SEQUENCE`` loop: ``T`` systems whose cost of every arm is known.

    Round ``t`` shows the scalar context ``contexts[t]`` (as a ``float64[n_arms, 1]`` matrix),
    plays the selected arm and feeds back ``reward = -costs[t, arm]``. ``costs`` is
    ``int64[T, n_arms]`` (iterations per relaxation parameter). Returns ``(arms, state)``,
    ``arms`` being ``int64[T]``.
    """
    n_rounds = costs.shape[0]
    n_arms = costs.shape[1]
    arms = np.empty(n_rounds, np.int64)
    context = np.empty((n_arms, 1))
    for t in range(n_rounds):
        context[:, 0] = contexts[t]
        arm = call_select(params, state, context, rng)
        state = call_update(params, state, arm, -float(costs[t, arm]), context)
        arms[t] = arm
    return arms, state
