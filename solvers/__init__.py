"""Numerical solvers (installed as ``banditlab.solvers``): fronts that validate, over Numba kernels."""

from __future__ import annotations

__all__: list[str] = []
