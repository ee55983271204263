"""Closed-form guarantees and the statistics used to check them (``banditlab.theory_checks``).

:mod:`~banditlab.theory_checks.bounds` holds the bounds (each with its citation) and
:mod:`~banditlab.theory_checks.stats` the checks: a mean below a bound with Hoeffding slack, a
one-sided binomial test for error rates, and a log-log slope estimate.
"""

from __future__ import annotations

from banditlab.theory_checks.bounds import (
    exp3_eta,
    exp3_regret_bound,
    hardness_h1,
    hardness_h2,
    moss_regret_bound,
    sequential_halving_error_bound,
    successive_rejects_error_bound,
    ucb1_regret_bound,
    ucb_regret_bound,
)
from banditlab.theory_checks.stats import (
    assert_mean_below,
    assert_rate_below,
    hoeffding_slack,
    loglog_slope,
)

__all__ = [
    "assert_mean_below",
    "assert_rate_below",
    "exp3_eta",
    "exp3_regret_bound",
    "hardness_h1",
    "hardness_h2",
    "hoeffding_slack",
    "loglog_slope",
    "moss_regret_bound",
    "sequential_halving_error_bound",
    "successive_rejects_error_bound",
    "ucb1_regret_bound",
    "ucb_regret_bound",
]
