"""Shared Numba helpers used by several policies (exact, documented semantics)."""

from banditlab.kernels.common import (
    argmax_tiebreak,
    categorical,
    kl_bernoulli,
    kl_ucb_bernoulli,
)

__all__ = ["argmax_tiebreak", "categorical", "kl_bernoulli", "kl_ucb_bernoulli"]
