"""Bandit and contextual-bandit tuning of SOR's relaxation parameter (Khodak et al., ICLR 2024).

The ``SOLVER_SEQUENCE`` protocol: before each linear system of a sequence the learner sees a
scalar context, picks omega from a grid, and learns from minus the iteration count. Split by
role:

* :mod:`banditlab.sor_tuning.kernels`: the protocol's loop over a cost table;
* :mod:`banditlab.sor_tuning.algorithms`: the learners (:mod:`~banditlab.sor_tuning.chebcb`,
  :mod:`~banditlab.sor_tuning.tsallis_inf_cb`, one file each) and :func:`make_learner`;
* :mod:`banditlab.sor_tuning.runner`: :class:`OmegaTuner` (one call per system inside a
  simulator), :func:`tune_and_solve`, cost tables, :func:`play_on_table` and :func:`run_on_table`
  (many seeded runs, as :class:`banditlab.Results`).

The solvers are in :mod:`banditlab.solvers.sor`, the environment in :mod:`banditlab.envs.sor`.
"""

from __future__ import annotations

from banditlab.sor_tuning.algorithms import LEARNERS, ChebCB, TsallisINFCB, make_learner
from banditlab.sor_tuning.kernels import run_cost_table
from banditlab.sor_tuning.runner import (
    CostTable,
    OmegaTuner,
    play_on_table,
    run_on_table,
    shifted_cost_table,
    tune_and_solve,
)

__all__ = [
    "LEARNERS",
    "ChebCB",
    "CostTable",
    "OmegaTuner",
    "TsallisINFCB",
    "make_learner",
    "play_on_table",
    "run_cost_table",
    "run_on_table",
    "shifted_cost_table",
    "tune_and_solve",
]
