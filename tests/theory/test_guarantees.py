"""Published guarantees checked statistically, each paired with a canary that must fail.

Every check uses :mod:`banditlab.theory_checks`: the mean over independent runs must be below the
closed-form bound plus a one-sided Hoeffding slack (false-alarm probability ``FAIL_PROB`` if the
guarantee holds), or an error count must pass a one-sided binomial test. Seeds are fixed, so the
outcome is deterministic. Each canary violates the guarantee's premise (uniform play, uniform
recommendations, a budget far below the one the bound is computed for) and must make the *same*
check raise ``AssertionError``: the checks have power at these sample sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import banditlab as bl
from banditlab.theory_checks import (
    assert_mean_below,
    assert_rate_below,
    exp3_eta,
    exp3_regret_bound,
    loglog_slope,
    moss_regret_bound,
    sequential_halving_error_bound,
    ucb1_regret_bound,
    ucb_regret_bound,
)

pytestmark = pytest.mark.theory

FAIL_PROB = 1e-3

# -- UCB1 (Auer et al., 2002, Theorem 1) ------------------------------------------------------
UCB_MEANS = [0.8, 0.6, 0.5, 0.3]
UCB_T, UCB_RUNS = 10_000, 100


@pytest.fixture(scope="module")
def ucb_runs() -> dict[str, bl.Results]:
    env = bl.BernoulliBandit(UCB_MEANS, horizon=UCB_T)
    return {name: bl.run_many(policy, env, n_runs=UCB_RUNS, seed=2002, checkpoints="log")
            for name, policy in (("ucb", bl.UCB(4, alpha=2.0)), ("uniform", bl.Uniform(4)))}


def check_ucb1(final_regret: np.ndarray) -> float:
    env = bl.BernoulliBandit(UCB_MEANS, horizon=UCB_T)
    return assert_mean_below(final_regret, ucb1_regret_bound(UCB_MEANS, UCB_T),
                             per_run_max=UCB_T * float(env.gaps.max()), fail_prob=FAIL_PROB,
                             what="UCB1 mean regret")


def test_ucb1_regret_below_its_bound(ucb_runs: dict[str, bl.Results]) -> None:
    margin = check_ucb1(ucb_runs["ucb"].final_regret())
    assert margin > 0


def test_ucb1_canary_uniform_play_fails(ucb_runs: dict[str, bl.Results]) -> None:
    with pytest.raises(AssertionError, match="exceeds the bound"):
        check_ucb1(ucb_runs["uniform"].final_regret())


def test_regret_growth_slopes(ucb_runs: dict[str, bl.Results]) -> None:
    """Logarithmic regret: log-log slope well below 1; uniform play: slope 1."""
    res = ucb_runs["ucb"]
    late = res.checkpoints >= 1000
    ucb_slope = loglog_slope(res.checkpoints[late], res.mean_regret()[late])
    uni = ucb_runs["uniform"]
    uni_slope = loglog_slope(uni.checkpoints[late], uni.mean_regret()[late])
    assert ucb_slope < 0.5, ucb_slope
    assert abs(uni_slope - 1.0) < 0.02, uni_slope


# -- UCB with a sub-Gaussian scale (Auer et al., 2002, Theorem 1, sub-Gaussian tail) ---------
# Gaussian rewards with sigma = 2. The Hoeffding slack of a mean over R runs is
# T * gap * sqrt(ln(1/FAIL_PROB) / (2 R)) (a run's regret lies in [0, T * gap]), so R is large
# enough (4000 runs of 1e4 rounds, under a second on the kernel engine) for a mutation of the
# noise scale to be caught.
SG_MEANS, SG_SIGMA = [1.0, 0.0], 2.0
SG_T, SG_RUNS = 10_000, 4000


def check_ucb_subgaussian(final_regret: np.ndarray) -> float:
    return assert_mean_below(final_regret, ucb_regret_bound(SG_MEANS, SG_T, SG_SIGMA),
                             per_run_max=SG_T * (max(SG_MEANS) - min(SG_MEANS)),
                             fail_prob=FAIL_PROB, what="UCB(sigma=2) mean regret")


@pytest.fixture(scope="module")
def subgaussian_runs() -> dict[str, np.ndarray]:
    env = bl.GaussianBandit(SG_MEANS, sigma=SG_SIGMA, horizon=SG_T)
    policies = {"ucb": bl.UCB(2, sigma=SG_SIGMA),
                # the mutation: a noise scale 20 times too small (an under-exploring index)
                "sigma/20": bl.UCB(2, sigma=SG_SIGMA / 20),
                "uniform": bl.Uniform(2)}
    return {k: bl.run_many(p, env, n_runs=SG_RUNS, seed=2002, checkpoints=1, n_jobs=1,
                           check_rewards=False).final_regret() for k, p in policies.items()}


def test_ucb_subgaussian_regret_below_its_bound(subgaussian_runs: dict[str, np.ndarray]) -> None:
    assert check_ucb_subgaussian(subgaussian_runs["ucb"]) > 0


@pytest.mark.parametrize("canary", ["sigma/20", "uniform"])
def test_ucb_subgaussian_canaries_fail(subgaussian_runs: dict[str, np.ndarray],
                                       canary: str) -> None:
    # measured: about 2000 for sigma/20 and 5000 for uniform play, against a bound of 1183
    # plus a slack of 294; a scale 10 times too small (about 1310) is within the slack
    with pytest.raises(AssertionError, match="exceeds the bound"):
        check_ucb_subgaussian(subgaussian_runs[canary])


# -- MOSS (Audibert & Bubeck, 2009, Theorem 5) -------------------------------------------------
# A distribution-free bound, 49 sqrt(T K): it has content only when T is large compared with
# K (here 49 sqrt(2e5) ~ 21900 against a worst case of T * gap = 80000).
MOSS_MEANS, MOSS_T, MOSS_RUNS = [0.9, 0.1], 100_000, 200


def check_moss(final_regret: np.ndarray) -> float:
    return assert_mean_below(final_regret, moss_regret_bound(2, MOSS_T),
                             per_run_max=MOSS_T * 0.8, fail_prob=FAIL_PROB,
                             what="MOSS mean regret")


@pytest.mark.parametrize(("policy", "holds"), [
    (bl.MOSS(2, horizon=MOSS_T), True),
    (bl.Uniform(2, mode="random"), False),  # the canary: regret T * gap / 2 = 40000
])
def test_moss_regret_below_its_bound(policy: bl.Policy, holds: bool) -> None:
    env = bl.BernoulliBandit(MOSS_MEANS, horizon=MOSS_T)
    regret = bl.run_many(policy, env, n_runs=MOSS_RUNS, seed=2009, checkpoints=1,
                         n_jobs=1).final_regret()
    if holds:
        assert check_moss(regret) > 0
    else:
        with pytest.raises(AssertionError, match="exceeds the bound"):
            check_moss(regret)


# -- EXP3 (Bubeck & Cesa-Bianchi, 2012, Theorem 3.1) ------------------------------------------
EXP3_T = 3000


def switching_table(horizon: int) -> np.ndarray:
    """Arm 1 pays 1 for the first third, then arm 0 pays 1; arm 2 never pays.

    The best fixed arm in hindsight is arm 0 (2T/3), and a learner that followed the first
    phase must unlearn it: a simple oblivious adversary.
    """
    table = np.zeros((horizon, 3))
    third = horizon // 3
    table[:third, 1] = 1.0
    table[third:, 0] = 1.0
    return table


def check_exp3(results: bl.Results, env: bl.BanditEnv, per_run: tuple[float, float]) -> float:
    return assert_mean_below(results.final_regret(), exp3_regret_bound(env.n_arms, EXP3_T),
                             per_run_min=per_run[0], per_run_max=per_run[1],
                             fail_prob=FAIL_PROB, what="EXP3 mean regret")


def adversarial_range(table: np.ndarray, best: int) -> tuple[float, float]:
    """The range of one run's regret against arm ``best``: per-round extremes, summed."""
    d = table[:, [best]] - table
    return float(d.min(axis=1).sum()), float(d.max(axis=1).sum())


@pytest.fixture(scope="module")
def exp3_adversarial() -> dict[str, Any]:
    env = bl.AdversarialBandit(switching_table(EXP3_T))
    policy = bl.EXP3(3, eta=exp3_eta(3, EXP3_T))
    return {"env": env, "range": adversarial_range(switching_table(EXP3_T), env.best_arm),
            "exp3": bl.run_many(policy, env, n_runs=300, seed=2012, checkpoints=1),
            "uniform": bl.run_many(bl.Uniform(3, mode="random"), env, n_runs=300, seed=2012,
                                   checkpoints=1)}


def test_exp3_adversarial_regret_below_its_bound(exp3_adversarial: dict[str, Any]) -> None:
    d = exp3_adversarial
    assert d["env"].best_arm == 0
    assert bl.EXP3(3, horizon=EXP3_T).params.eta == exp3_eta(3, EXP3_T)
    assert check_exp3(d["exp3"], d["env"], d["range"]) > 0


def test_exp3_adversarial_canary_uniform_play_fails(exp3_adversarial: dict[str, Any]) -> None:
    d = exp3_adversarial
    # uniform play's expected regret here is T/3 = 1000, far above sqrt(2 T K ln K) ~ 140
    with pytest.raises(AssertionError, match="exceeds the bound"):
        check_exp3(d["uniform"], d["env"], d["range"])


EXP3_MEANS = [0.9, 0.5, 0.1]


@pytest.mark.parametrize(("policy", "holds"), [
    (bl.EXP3(3, horizon=EXP3_T), True),
    (bl.Uniform(3, mode="random"), False),  # the canary
])
def test_exp3_stochastic_regret_below_its_bound(policy: bl.Policy, holds: bool) -> None:
    env = bl.BernoulliBandit(EXP3_MEANS, horizon=EXP3_T)
    res = bl.run_many(policy, env, n_runs=200, seed=31, checkpoints=1)
    per_run = (0.0, EXP3_T * float(env.gaps.max()))  # pseudo-regret of one run
    if holds:
        assert check_exp3(res, env, per_run) > 0
    else:
        with pytest.raises(AssertionError, match="exceeds the bound"):
            check_exp3(res, env, per_run)


# -- Sequential Halving (Karnin et al., 2013, Theorem 4.1) ------------------------------------
SH_MEANS = [0.7, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1, 0.05]
SH_BUDGET, SH_RUNS = 5000, 300


def check_sh(recommendations: np.ndarray) -> float:
    bound = sequential_halving_error_bound(SH_MEANS, SH_BUDGET)
    errors = int(np.sum(recommendations != int(np.argmax(SH_MEANS))))
    return assert_rate_below(errors, recommendations.shape[0], bound, FAIL_PROB,
                             what="Sequential Halving error rate")


def test_sequential_halving_error_below_its_bound() -> None:
    bound = sequential_halving_error_bound(SH_MEANS, SH_BUDGET)
    assert 0.05 < bound < 0.2  # a bound with content at this budget
    res = bl.run_many(bl.SequentialHalving(8, budget=SH_BUDGET),
                      bl.BernoulliBandit(SH_MEANS, horizon=SH_BUDGET), n_runs=SH_RUNS,
                      seed=2013, checkpoints=1)
    assert check_sh(res.recommendations) > FAIL_PROB


def test_sequential_halving_canary_small_budget_fails() -> None:
    # 24 pulls (one per arm and round) instead of 5000: the bound for 5000 must be violated
    res = bl.run_many(bl.SequentialHalving(8, budget=24),
                      bl.BernoulliBandit(SH_MEANS, horizon=24), n_runs=SH_RUNS, seed=2013,
                      checkpoints=1)
    with pytest.raises(AssertionError, match="is above the bound"):
        check_sh(res.recommendations)


def test_sequential_halving_canary_uniform_recommendation_fails() -> None:
    recs = np.random.default_rng(2013).integers(0, len(SH_MEANS), size=SH_RUNS)
    with pytest.raises(AssertionError, match="is above the bound"):
        check_sh(recs)
