"""Numerical solvers (installed as ``banditlab.solvers``): validating fronts over Numba kernels."""

from __future__ import annotations

from banditlab.solvers.bcd import BCDResult, bcd
from banditlab.solvers.bcd_algorithm import BCD
from banditlab.solvers.bcd_problems import (
    L1LeastSquares,
    LabelPropagation,
    LeastSquares,
    Logistic,
    Quadratic,
    Softmax,
)
from banditlab.solvers.sor import (
    SolveResult,
    jacobi_radius,
    poisson_2d,
    sor,
    sor_sweep,
    ssor_pcg,
    young_omega,
    young_rate,
)

__all__ = [
    "BCD",
    "BCDResult",
    "L1LeastSquares",
    "LabelPropagation",
    "LeastSquares",
    "Logistic",
    "Quadratic",
    "Softmax",
    "SolveResult",
    "bcd",
    "jacobi_radius",
    "poisson_2d",
    "sor",
    "sor_sweep",
    "ssor_pcg",
    "young_omega",
    "young_rate",
]
