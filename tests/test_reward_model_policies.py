"""Known values of the policies for each reward model: UCB's sub-Gaussian scale, KL-UCB's four
divergences, MOSS and Bayes-UCB, and the special functions behind Bayes-UCB.

Every value is computed independently here: closed forms by hand, indices by scipy's root
finder on the divergence, quantiles by ``scipy.special``/``scipy.stats``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special, stats

import banditlab as bl
from banditlab.kernels.common import (
    DIV_BERNOULLI,
    DIV_EXPONENTIAL,
    DIV_GAUSSIAN,
    DIV_POISSON,
    argmax_tiebreak,
    kl_ucb_argmax,
    kl_ucb_certificates,
    kl_ucb_index,
)
from banditlab.kernels.special import beta_upper_quantile, betainc, normal_upper_quantile


def with_counts(policy: bl.Policy, counts: list[int], sums: list[float]) -> bl.Policy:
    """``policy`` reset, then given an arbitrary history of pulls and summed rewards."""
    policy.reset(seed=0)
    assert len(counts) == policy.n_arms
    policy.state = policy.state._replace(t=int(sum(counts)),
                                         counts=np.array(counts, np.int64),
                                         sums=np.array(sums, np.float64))
    return policy


# -- UCB's sub-Gaussian scale --------------------------------------------------------------
def test_ucb_index_scales_with_sigma() -> None:
    counts, sums = [10, 40], [9.0, 30.0]              # means 0.9 and 0.75, t = 50
    bonus = [math.sqrt(2.0 * math.log(50) / n) for n in counts]
    # sigma = 1/2 is UCB1: 0.9 + 0.8845 > 0.75 + 0.4423
    assert with_counts(bl.UCB(2), counts, sums).select() == 0
    # sigma = 2 quadruples the bonus: still arm 0; with the means swapped the order holds too
    p = with_counts(bl.UCB(2, sigma=2.0), counts, sums)
    index = [s / n + 4.0 * b for s, n, b in zip(sums, counts, bonus, strict=True)]
    assert p.select() == int(np.argmax(index))
    p.select()
    assert np.allclose(p.state.scratch, index, rtol=1e-15)


def test_ucb_default_sigma_gives_the_bits_of_ucb1() -> None:
    env = bl.BernoulliBandit([0.3, 0.5, 0.55], horizon=500)
    a = bl.run(bl.UCB(3), env, seed=4)
    b = bl.run(bl.UCB(3, sigma=0.5), env, seed=4)
    assert a.regret.tobytes() == b.regret.tobytes()
    p = with_counts(bl.UCB(3), [5, 7, 9], [1.0, 4.0, 5.0])
    p.select()
    want = [s / n + math.sqrt(2.0 * math.log(21) / n)
            for s, n in zip([1.0, 4.0, 5.0], [5, 7, 9], strict=True)]
    assert p.state.scratch.tolist() == want                # bit for bit


def test_ucb_huge_sigma_stays_finite() -> None:
    p = bl.UCB(1, sigma=1e308).reset(seed=0)
    for _ in range(5):
        a = p.select()
        p.update(a, 0.5)
    assert np.all(np.isfinite(p.state.sums))


# -- KL-UCB ---------------------------------------------------------------------------------
def _kl(divergence: str, p: float, q: float, sigma: float = 1.0) -> float:
    if divergence == "bernoulli":
        return float(special.rel_entr(p, q) + special.rel_entr(1 - p, 1 - q))
    if divergence == "gaussian":
        return (q - p) ** 2 / (2 * sigma ** 2)
    if divergence == "poisson":
        return q - p + float(special.xlogy(p, p / q)) if p > 0 else q
    return p / q - 1 - math.log(p / q)


def _reference_index(divergence: str, mean: float, level: float, sigma: float) -> float:
    hi = 1.0 if divergence == "bernoulli" else max(mean, 1e-12) * 1e6 + 1e6
    if _kl(divergence, mean, hi, sigma) <= level:
        return hi
    return optimize.brentq(lambda q: _kl(divergence, mean, q, sigma) - level, mean, hi,
                           xtol=1e-13, rtol=1e-13)


_CODES = {"bernoulli": DIV_BERNOULLI, "gaussian": DIV_GAUSSIAN, "poisson": DIV_POISSON,
          "exponential": DIV_EXPONENTIAL}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(divergence=st.sampled_from(sorted(_CODES)), mean=st.floats(0.01, 0.99),
       scale=st.sampled_from([1.0, 10.0, 300.0]), level=st.floats(1e-4, 5.0),
       sigma=st.floats(0.1, 5.0))
def test_kl_ucb_index_matches_root_finding(divergence: str, mean: float, scale: float,
                                           level: float, sigma: float) -> None:
    m = mean if divergence == "bernoulli" else mean * scale
    got = kl_ucb_index(_CODES[divergence], m, level, sigma, 1e-9)
    want = _reference_index(divergence, m, level, sigma)
    assert got == pytest.approx(want, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize(("divergence", "mean"), [("poisson", -3.0), ("exponential", -1.0),
                                                  ("exponential", 0.0), ("poisson", 1e300),
                                                  ("exponential", 1e300), ("bernoulli", 7.0)])
def test_kl_ucb_index_out_of_support_means_stay_defined(divergence: str, mean: float) -> None:
    """With the reward check turned off a kernel may see means outside the family's support:
    it must return a number (possibly inf), never NaN, and never hang."""
    got = kl_ucb_index(_CODES[divergence], mean, 2.0, 1.0, 1e-6)
    assert not math.isnan(got)


def test_klucb_poisson_picks_the_arm_with_the_largest_index() -> None:
    counts, sums = [4, 20, 9], [30.0, 110.0, 36.0]       # means 7.5, 5.5, 4.0; t = 33
    level = [math.log(33) / n for n in counts]
    want = [_reference_index("poisson", s / n, lv, 1.0)
            for s, n, lv in zip(sums, counts, level, strict=True)]
    got = [kl_ucb_index(DIV_POISSON, s / n, lv, 1.0, 1e-6)
           for s, n, lv in zip(sums, counts, level, strict=True)]
    assert np.allclose(got, want, rtol=1e-6)
    p = with_counts(bl.KLUCB(3, divergence="poisson"), counts, sums)
    assert p.select() == int(np.argmax(want))


def test_klucb_gaussian_is_ucb_with_the_kl_budget() -> None:
    counts, sums = [3, 12], [3.0, 18.0]
    budget = math.log(15) + 3.0 * math.log(math.log(15))
    want = [s / n + 2.0 * math.sqrt(2.0 * budget / n) for s, n in zip(sums, counts, strict=True)]
    got = [kl_ucb_index(DIV_GAUSSIAN, s / n, budget / n, 2.0, 1e-6)
           for s, n in zip(sums, counts, strict=True)]
    assert np.allclose(got, want, rtol=1e-14)
    p = with_counts(bl.KLUCB(2, divergence="gaussian", sigma=2.0, c=3.0), counts, sums)
    assert p.select() == int(np.argmax(want))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(divergence=st.sampled_from(sorted(_CODES)), data=st.data())
def test_kl_ucb_argmax_is_solving_every_index(divergence: str, data: st.DataObject) -> None:
    """The argmax that skips indices certainly below the running maximum picks the same arm
    and draws the same uniforms as solving every index and calling argmax_tiebreak, ties
    (identical arms, indices capped at 1) included."""
    k = data.draw(st.integers(1, 10))
    counts = np.array(data.draw(st.lists(st.integers(1, 40), min_size=k, max_size=k)),
                      np.int64)
    if data.draw(st.booleans()):
        counts[:] = counts[0]                              # many exact ties
    grid = data.draw(st.booleans())
    top = 1.0 if divergence == "bernoulli" else 6.0
    means = np.array(data.draw(st.lists(
        st.sampled_from([0.0, top / 2, top]) if grid else st.floats(0.0, top),
        min_size=k, max_size=k)))
    sums = means * counts
    budget = math.log(data.draw(st.integers(k, 10**7)))
    tol = data.draw(st.sampled_from([1e-12, 1e-6, 1e-3]))
    seed = data.draw(st.integers(0, 2**32 - 1))
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    code = _CODES[divergence]
    got = kl_ucb_argmax(code, sums, counts, budget, 1.3, tol, r1, kl_ucb_certificates(k))
    index = np.array([kl_ucb_index(code, s / n, budget / n, 1.3, tol)
                      for s, n in zip(sums, counts, strict=True)])
    assert got == argmax_tiebreak(index, r2)
    assert r1.bit_generator.state == r2.bit_generator.state


def test_klucb_bernoulli_is_unchanged() -> None:
    env = bl.BernoulliBandit([0.3, 0.5, 0.55], horizon=300)
    a = bl.run(bl.KLUCB(3), env, seed=2)
    b = bl.run(bl.KLUCB(3, divergence="bernoulli", sigma=5.0), env, seed=2)
    assert a.regret.tobytes() == b.regret.tobytes()


@pytest.mark.parametrize(("env", "policy"), [
    (bl.PoissonBandit([1.0, 2.0, 4.0], horizon=3000), bl.KLUCB(3, divergence="poisson")),
    (bl.ExponentialBandit([1.0, 2.0, 4.0], horizon=3000), bl.KLUCB(3, divergence="exponential")),
], ids=["poisson", "exponential"])
def test_klucb_families_find_the_best_arm(env: bl.BanditEnv, policy: bl.Policy) -> None:
    # the best arm gets most pulls and the regret is far below uniform play's T * mean gap
    res = bl.run_many(policy, env, n_runs=20, seed=5, n_jobs=1)
    assert np.median(res.pulls[:, 2]) > 0.8 * 3000
    uniform = 3000 * float(np.mean(env.gaps))
    assert res.mean_regret()[-1] < 0.2 * uniform


# -- MOSS ---------------------------------------------------------------------------------------
def test_moss_index_by_hand() -> None:
    # T = 100, K = 2: the bonus of an arm with n pulls is sqrt(max(log(50 / n), 0) / n)
    p = with_counts(bl.MOSS(2, horizon=100), [10, 60], [5.0, 40.0])
    assert p.select() == 0
    want = [0.5 + math.sqrt(math.log(5.0) / 10), 40.0 / 60.0]     # arm 1: n > T/K, no bonus
    assert np.allclose(p.state.scratch, want, rtol=1e-15)


def test_moss_pulls_each_arm_once_first() -> None:
    p = bl.MOSS(4, horizon=50).reset(seed=0)
    first = []
    for _ in range(4):
        a = p.select()
        first.append(a)
        p.update(a, 0.0)
    assert first == [0, 1, 2, 3]


# -- Bayes-UCB ------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, derandomize=True)
@given(a=st.floats(0.05, 1e5), b=st.floats(0.05, 1e5), x=st.floats(0.0, 1.0))
def test_betainc_matches_scipy(a: float, b: float, x: float) -> None:
    # 1e-9: for shapes near 1e5 the prefactor exp(lgamma(a+b) - lgamma(a) - lgamma(b) + ...)
    # cancels terms of size 1e6, so its relative error is about 1e6 * 2.2e-16 ~ 2e-10
    assert betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), abs=1e-9)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(a=st.floats(0.05, 1e5), b=st.floats(0.05, 1e5), log_q=st.floats(-14.0, -0.31))
def test_beta_quantile_matches_scipy(a: float, b: float, log_q: float) -> None:
    q = 10.0 ** log_q
    assert beta_upper_quantile(a, b, q, 1e-13) == pytest.approx(stats.beta.isf(q, a, b),
                                                                 abs=1e-10)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(log_q=st.floats(-15.0, -0.31))
def test_normal_quantile_matches_scipy(log_q: float) -> None:
    q = 10.0 ** log_q
    assert normal_upper_quantile(q, 1e-13) == pytest.approx(-special.ndtri(q), rel=1e-11)


def test_bayes_ucb_beta_index_is_the_posterior_quantile() -> None:
    counts, sums = [4, 10, 7], [3.0, 6.0, 2.0]             # t = 21: level 1 - 1/22
    p = with_counts(bl.BayesUCB(3), counts, sums)
    choice = p.select()
    want = [stats.beta.isf(1.0 / 22, 1 + s, 1 + n - s) for s, n in zip(sums, counts,
                                                                       strict=True)]
    assert np.allclose(p.state.scratch, want, atol=1e-10)
    assert choice == int(np.argmax(want))


def test_bayes_ucb_horizon_factor() -> None:
    counts, sums = [4, 10], [3.0, 6.0]
    p = with_counts(bl.BayesUCB(2, c=5.0, horizon=1000), counts, sums)
    p.select()
    tail = 1.0 / (15 * math.log(1000) ** 5)
    want = [stats.beta.isf(tail, 1 + s, 1 + n - s) for s, n in zip(sums, counts, strict=True)]
    assert np.allclose(p.state.scratch, want, atol=1e-10)
    with pytest.raises(ValueError, match=r"BayesUCB: 'horizon' must be an int in \[2, inf\) "
                                         r"when c > 0; got None"):
        bl.BayesUCB(2, c=5.0)


def test_bayes_ucb_gaussian_index() -> None:
    counts, sums = [4, 16], [2.0, 12.0]
    p = with_counts(bl.BayesUCB(2, posterior="gaussian", sigma=3.0), counts, sums)
    p.select()
    z = stats.norm.isf(1.0 / 21)
    want = [s / n + 3.0 / math.sqrt(n) * z for s, n in zip(sums, counts, strict=True)]
    assert np.allclose(p.state.scratch, want, rtol=1e-11)


def test_bayes_ucb_beats_uniform_on_bernoulli_arms() -> None:
    env = bl.BernoulliBandit([0.2, 0.4, 0.45, 0.6], horizon=2000)
    res = bl.run_many(bl.BayesUCB(4), env, n_runs=20, seed=3, n_jobs=1)
    assert res.mean_regret()[-1] < 0.2 * 2000 * float(np.mean(env.gaps))


def test_klucb_tolerance_has_a_floor() -> None:
    with pytest.raises(ValueError, match=r"KLUCB: 'tol' must be a float in \[1e-12, 0\.1\]; "
                                         r"got 5e-324"):
        bl.KLUCB(2, tol=5e-324)
    # at the floor the Bernoulli bisection still ends (it is capped at 200 halvings)
    assert 0.5 < kl_ucb_index(DIV_BERNOULLI, 0.5, 0.1, 1.0, 1e-12) < 1.0
    assert kl_ucb_index(DIV_BERNOULLI, 0.5, 0.1, 1.0, 0.0) < 1.0
