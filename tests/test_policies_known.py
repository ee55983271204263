"""Known values of each policy, checked against independent computations.

References used here: scipy's root finder for the KL-UCB index, a numpy softmax for EXP3, dense
``np.linalg.inv`` for LinUCB's Sherman–Morrison updates, the published schedules of Successive
Rejects and Sequential Halving recomputed in exact arithmetic, and chi-square tests (with an
explicit false-alarm probability) for the random tie-breaking and sampling kernels.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, special, stats

import banditlab as bl
from banditlab.kernels import argmax_tiebreak, categorical, kl_bernoulli, kl_ucb_bernoulli
from banditlab.policies.successive_rejects import sample_schedule

ALPHA = 1e-6  # false-alarm probability of each statistical check (the seeds are fixed)


def constant_table(values: list[float], horizon: int) -> bl.AdversarialBandit:
    """A deterministic K-armed instance: arm a always pays ``values[a]``."""
    return bl.AdversarialBandit(np.tile(np.asarray(values, dtype=float), (horizon, 1)))


def play(policy: bl.Policy, env: bl.BanditEnv, horizon: int, seed: int = 0
         ) -> tuple[list[int], list[float]]:
    obs, _ = env.reset(seed=seed)
    policy.reset(seed=seed + 1)
    actions, rewards = [], []
    for _ in range(horizon):
        a = policy.select(obs)
        obs, r, _, _, _ = env.step(a)
        policy.update(a, r, obs)
        actions.append(a)
        rewards.append(r)
    return actions, rewards


# -- KL-UCB -----------------------------------------------------------------------------------
def kl_ref(p: float, q: float) -> float:
    return float(special.rel_entr(p, q) + special.rel_entr(1.0 - p, 1.0 - q))


@given(p=st.floats(0.0, 1.0), q=st.floats(1e-6, 1.0 - 1e-6))
def test_kl_bernoulli_matches_scipy(p: float, q: float) -> None:
    assert kl_bernoulli(p, q) == pytest.approx(kl_ref(p, q), rel=1e-9, abs=1e-12)


@given(mean=st.floats(0.0, 0.999), level=st.floats(1e-4, 5.0))
def test_kl_ucb_index_matches_brentq(mean: float, level: float) -> None:
    tol = 1e-10
    got = kl_ucb_bernoulli(mean, level, tol)
    top = 1.0 - 1e-15  # the kernel clips q to [1e-15, 1 - 1e-15]
    if kl_ref(mean, top) <= level:
        assert got == 1.0
        return
    want = optimize.brentq(lambda q: kl_ref(mean, q) - level, mean, top, xtol=1e-14)
    assert abs(got - want) <= tol
    assert mean <= got <= 1.0


def test_kl_ucb_index_closed_form_at_zero_mean() -> None:
    # KL(0 || q) = -log(1 - q), so the index is 1 - exp(-level)
    for level in (0.01, 0.5, 2.0):
        assert kl_ucb_bernoulli(0.0, level, 1e-12) == pytest.approx(1 - math.exp(-level),
                                                                    abs=1e-11)
    assert kl_ucb_bernoulli(0.3, 0.0, 1e-9) == 0.3


def test_klucb_policy_plays_the_argmax_of_the_reference_index() -> None:
    c = 3.0
    policy = bl.KLUCB(4, c=c, tol=1e-9).reset(seed=0)
    env = bl.BernoulliBandit([0.3, 0.5, 0.55, 0.7], horizon=400)
    env.reset(seed=1)
    checked = 0
    for _ in range(400):
        s = policy.state
        if np.all(s.counts > 0):
            logt = math.log(s.t)
            budget = logt + c * math.log(max(logt, 1.0))
            idx = []
            for n, total in zip(s.counts, s.sums):
                m, level = total / n, budget / n
                if kl_ref(m, 1.0 - 1e-15) <= level:
                    idx.append(1.0)
                else:
                    idx.append(optimize.brentq(lambda q, m=m, level=level: kl_ref(m, q) - level,
                                               m, 1.0 - 1e-15, xtol=1e-14))
            top2 = np.sort(idx)[-2:]
            if top2[1] - top2[0] > 1e-8:  # no near-tie the tolerance could flip
                assert policy.select() == int(np.argmax(idx))
                checked += 1
        a = policy.select()
        _, r, _, _, _ = env.step(a)
        policy.update(a, r)
    assert checked > 300


def test_ucb_policy_plays_the_argmax_of_the_closed_form_index() -> None:
    alpha = 2.0
    policy = bl.UCB(3, alpha=alpha).reset(seed=0)
    env = bl.BernoulliBandit([0.2, 0.5, 0.6], horizon=300)
    env.reset(seed=2)
    for t in range(300):
        s = policy.state
        a = policy.select()
        if t < 3:
            assert a == t  # each arm once, in order
        else:
            idx = s.sums / s.counts + np.sqrt(alpha * np.log(t) / s.counts)
            assert a in np.flatnonzero(idx == idx.max())  # ties are broken at random
        _, r, _, _, _ = env.step(a)
        policy.update(a, r)
    assert policy.state.t == 300 and int(policy.state.counts.sum()) == 300


# -- EXP3 -------------------------------------------------------------------------------------
def test_exp3_probabilities_are_a_softmax_of_the_loss_estimates() -> None:
    eta = 0.05
    policy = bl.EXP3(4, eta=eta).reset(seed=3)
    gen = np.random.default_rng(4)
    losses = np.zeros(4)  # tracked independently of the kernel
    for _ in range(500):
        probs = policy.action_probabilities()
        w = np.exp(-eta * losses)
        want = w / w.sum()
        np.testing.assert_allclose(probs, want, rtol=1e-9, atol=1e-15)
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        a = policy.select()
        r = float(gen.random() < [0.2, 0.4, 0.6, 0.8][a])
        policy.update(a, r)
        losses[a] += (1.0 - r) / want[a]
    np.testing.assert_allclose(policy.state.losses, losses, rtol=1e-9)


def test_exp3_default_learning_rate() -> None:
    k, horizon = 5, 1000
    assert bl.EXP3(k, horizon=horizon).params.eta == pytest.approx(
        math.sqrt(2 * math.log(k) / (horizon * k)), rel=1e-15)


def test_exp3_samples_from_its_probabilities() -> None:
    policy = bl.EXP3(3, eta=1.0).reset(seed=0)
    policy.state.losses[:] = [0.0, 1.0, 3.0]
    probs = policy.action_probabilities()
    n = 20_000
    draws = np.bincount([policy.select() for _ in range(n)], minlength=3)
    assert stats.chisquare(draws, probs * n).pvalue > ALPHA


# -- LinUCB -----------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.7, None])
def test_linucb_state_matches_dense_ridge(alpha: float | None) -> None:
    reg, d, k = 0.5, 3, 4
    policy = bl.LinUCB(k, n_features=d, alpha=alpha, reg=reg, noise_sd=0.2, delta=0.1,
                       theta_bound=1.5).reset(seed=0)
    env = bl.LinearBandit([0.4, -0.2, 0.7], n_arms=k, noise_sd=0.2, horizon=200)
    obs, _ = env.reset(seed=5)
    v, b = reg * np.eye(d), np.zeros(d)
    for t in range(200):
        v_inv = np.linalg.inv(v)
        theta = np.linalg.solve(v, b)
        np.testing.assert_allclose(policy.state.v_inv, v_inv, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(policy.state.theta, theta, rtol=1e-8, atol=1e-10)
        if alpha is None:  # OFUL radius, Abbasi-Yadkori et al. (2011), Theorem 2
            beta = 0.2 * math.sqrt(2 * math.log(1 / 0.1) + d * math.log(1 + t / (reg * d))) \
                + math.sqrt(reg) * 1.5
        else:
            beta = alpha
        index = obs @ theta + beta * np.sqrt(np.einsum("ai,ij,aj->a", obs, v_inv, obs))
        a = policy.select(obs)
        assert index[a] >= index.max() - 1e-9  # an argmax (ties, e.g. at t = 0, are random)
        x = obs[a].copy()
        obs, r, _, _, _ = env.step(a)
        policy.update(a, r, obs)
        v += np.outer(x, x)
        b += r * x


def _linucb_rowwise(state_v, b, theta, t, context, reward_arm, beta_fn):
    """One LinUCB round in plain Python, arm by arm and row by row: the indices, then the
    Sherman-Morrison update of the played arm (the order of operations the kernels keep, so
    any reordering of their sums shows as a difference in the last bits)."""
    n_arms, d = context.shape
    beta = beta_fn(t)
    index = []
    for a in range(n_arms):
        mean = quad = 0.0
        for i in range(d):
            mean += context[a, i] * theta[i]
            row = 0.0
            for j in range(d):
                row += state_v[i, j] * context[a, j]
            quad += context[a, i] * row
        index.append(mean + beta * math.sqrt(max(quad, 0.0)))
    arm, reward = reward_arm(index)
    u = [0.0] * d
    denom = 1.0
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += state_v[i, j] * context[arm, j]
        u[i] = s
        denom += context[arm, i] * s
    for i in range(d):
        for j in range(d):
            state_v[i, j] -= u[i] * u[j] / denom
        b[i] += reward * context[arm, i]
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += state_v[i, j] * b[j]
        theta[i] = s
    return index, arm


@pytest.mark.parametrize(("k", "d", "alpha"), [(1, 1, 0.5), (7, 3, None), (8, 10, 1.0),
                                                (9, 4, 0.3), (17, 6, None)])
def test_linucb_kernels_equal_a_rowwise_loop_to_the_bit(k: int, d: int,
                                                        alpha: float | None) -> None:
    """The compiled kernels compute every index and every state entry with the same
    operations in the same order as the plain loops above: equal doubles over 150 rounds,
    features at three scales, both radii, numbers of arms around the kernel's groups of
    four. (Replacing ``u_i u_j / denom`` by ``u_i (u_j / denom)`` in the kernel makes this
    fail.)"""
    from banditlab.policies.linucb import indices as linucb_indices

    policy = bl.LinUCB(k, n_features=d, alpha=alpha, reg=0.7, noise_sd=0.3, delta=0.1,
                       theta_bound=2.0).reset(seed=1)
    p = policy.params
    beta_fn = ((lambda t: alpha) if alpha is not None else
               (lambda t: p.noise_sd * np.sqrt(2.0 * np.log(1.0 / p.delta)
                                               + d * np.log(1.0 + t / (p.reg * d)))
                + np.sqrt(p.reg) * p.theta_bound))
    v, b, theta = np.eye(d) / p.reg, np.zeros(d), np.zeros(d)
    rng = np.random.default_rng(4)
    for t in range(150):
        ctx = rng.normal(size=(k, d)) * rng.choice([1e-3, 1.0, 30.0])
        reward = float(rng.normal())
        kernel_index = linucb_indices(policy.params, policy.state, ctx, np.empty(k))
        arm = policy.select(ctx)
        index, _ = _linucb_rowwise(v, b, theta, t, ctx, lambda idx, a=arm, r=reward: (a, r),
                                   beta_fn)
        np.testing.assert_array_equal(kernel_index, index)
        assert index[arm] == max(index)            # the kernel's choice is an argmax of these
        policy.update(arm, reward)
        np.testing.assert_array_equal(policy.state.v_inv, v)
        np.testing.assert_array_equal(policy.state.b, b)
        np.testing.assert_array_equal(policy.state.theta, theta)


# -- Successive Rejects -----------------------------------------------------------------------
@pytest.mark.parametrize(("budget", "k"), [(60, 4), (100, 2), (1000, 7), (37, 5), (5, 5)])
def test_successive_rejects_schedule(budget: int, k: int) -> None:
    logbar = Fraction(1, 2) + sum(Fraction(1, i) for i in range(2, k + 1))
    want = [0] + [math.ceil(Fraction(budget - k) / (logbar * (k + 1 - j))) for j in range(1, k)]
    assert sample_schedule(budget, k).tolist() == want
    # the schedule fits the budget: sum_{k<K} n_k + n_{K-1} <= T (Audibert & Bubeck, 2010)
    assert sum(want) + want[-1] <= budget + k


@pytest.mark.parametrize(("budget", "values"), [(60, [0.1, 0.4, 0.2, 0.9]),
                                                (200, [0.5, 0.1, 0.3, 0.7, 0.2, 0.6])])
def test_successive_rejects_rejects_in_order_with_n_k_pulls(budget: int,
                                                            values: list[float]) -> None:
    k = len(values)
    res = bl.run(bl.SuccessiveRejects(k, budget=budget), constant_table(values, budget),
                 seed=0)
    n_k = sample_schedule(budget, k)
    pulls = res.pulls[0]
    order = np.argsort(values)  # rejected first to last
    for phase, arm in enumerate(order[:-1], start=1):
        assert pulls[arm] == n_k[phase]
    assert pulls.sum() == budget
    assert res.recommendations[0] == int(np.argmax(values)) == res.best_arm


# -- Sequential Halving -----------------------------------------------------------------------
def sh_expected_pulls(values: list[float], budget: int) -> np.ndarray:
    """Pulls per arm when arm values are deterministic and distinct (Karnin et al., 2013)."""
    k = len(values)
    rounds = math.ceil(math.log2(k))
    alive = sorted(range(k), key=lambda a: -values[a])
    pulls = np.zeros(k, dtype=np.int64)
    while len(alive) > 1:
        per_arm = budget // (len(alive) * rounds)
        for a in alive:
            pulls[a] += per_arm
        alive = alive[: math.ceil(len(alive) / 2)]
    pulls[alive[0]] += budget - pulls.sum()  # leftover budget goes to the survivor
    return pulls


@pytest.mark.parametrize(("budget", "values"), [(64, [0.1, 0.4, 0.2, 0.9]),
                                                (301, [0.5, 0.1, 0.3, 0.7, 0.2, 0.6, 0.65]),
                                                (8, [0.3, 0.2, 0.6, 0.1])])
def test_sequential_halving_pulls_on_a_deterministic_instance(budget: int,
                                                              values: list[float]) -> None:
    k = len(values)
    res = bl.run(bl.SequentialHalving(k, budget=budget), constant_table(values, budget), seed=0)
    np.testing.assert_array_equal(res.pulls[0], sh_expected_pulls(values, budget))
    assert res.recommendations[0] == int(np.argmax(values))


@pytest.mark.parametrize("seed", range(5))
def test_sequential_halving_on_zero_one_bernoulli(seed: int) -> None:
    means = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    budget = 123
    res = bl.run_many(bl.SequentialHalving(8, budget=budget),
                      bl.BernoulliBandit(means, horizon=budget), n_runs=4, seed=seed)
    assert np.all(res.recommendations == 2)
    np.testing.assert_array_equal(res.pulls.sum(axis=1), budget)
    # round 1 gives every arm floor(T / (K R)) pulls; the best arm survives all 3 rounds
    first = budget // (8 * 3)
    assert np.all(res.pulls[:, 2] >= first + budget // (4 * 3) + budget // (2 * 3))
    assert np.all(res.pulls >= first)
    assert bl.bai_error_rate(res) == 0.0


# -- Successive Elimination -------------------------------------------------------------------
def test_successive_elimination_eliminates_an_obviously_bad_arm() -> None:
    delta = 0.05
    # deterministic rewards 1 and 0: eliminated at the first n with 0 + r_n < 1 - r_n
    n_star = next(n for n in range(1, 10_000)
                  if math.sqrt(math.log(4 * 2 * n * n / delta) / (2 * n)) < 0.5)
    res = bl.run(bl.SuccessiveElimination(2, delta=delta), constant_table([1.0, 0.0], 500),
                 seed=0)
    assert res.pulls[0].tolist() == [500 - n_star, n_star]

    policy = bl.SuccessiveElimination(3, delta=delta)
    actions, _ = play(policy, bl.BernoulliBandit([0.9, 0.1, 0.5], horizon=3000), 3000)
    assert policy.state.n_active == 1 and policy.state.active[0] == 0
    assert actions[-100:] == [0] * 100
    assert actions.count(1) < 100


# -- Explore-then-commit, Uniform, epsilon-greedy, Thompson ------------------------------------
def test_etc_explores_round_robin_then_commits() -> None:
    m, values = 3, [0.2, 0.7, 0.5]
    actions, _ = play(bl.ExploreThenCommit(3, m=m), constant_table(values, 40), 40)
    assert actions[: m * 3] == [0, 1, 2] * m
    assert actions[m * 3:] == [1] * (40 - m * 3)


def test_etc_commits_to_its_first_post_exploration_choice() -> None:
    policy = bl.ExploreThenCommit(2, m=5)
    actions, _ = play(policy, bl.BernoulliBandit([0.5, 0.5], horizon=200), 200, seed=11)
    assert len(set(actions[10:])) == 1
    assert policy.state.committed == actions[10]


@pytest.mark.parametrize(("horizon", "k"), [(10, 3), (12, 4), (1, 5), (101, 7)])
def test_uniform_round_robin_counts(horizon: int, k: int) -> None:
    res = bl.run(bl.Uniform(k), bl.BernoulliBandit([0.5] * k, horizon=horizon), seed=0)
    want = [horizon // k + (1 if a < horizon % k else 0) for a in range(k)]
    assert res.pulls[0].tolist() == want


def test_uniform_random_is_uniform() -> None:
    k, horizon = 5, 20_000
    res = bl.run(bl.Uniform(k, mode="random"), bl.BernoulliBandit([0.5] * k, horizon=horizon),
                 seed=0)
    assert stats.chisquare(res.pulls[0]).pvalue > ALPHA
    # uniform play has regret T * mean(gap) in expectation
    env = bl.BernoulliBandit([0.1, 0.5, 0.9], horizon=30)
    res = bl.run(bl.Uniform(3), env, seed=0)
    assert res.final_regret()[0] == pytest.approx(30 * np.mean(env.gaps), abs=1e-12)


def test_epsilon_greedy_explores_at_rate_epsilon() -> None:
    eps, k, horizon = 0.3, 3, 20_000
    actions, _ = play(bl.EpsilonGreedy(k, epsilon=eps), constant_table([0.2, 0.9, 0.5], horizon),
                      horizon)
    off = sum(a != 1 for a in actions[k:])
    p = eps * (k - 1) / k  # a uniform exploration hits the greedy arm 1 / k of the time
    n = horizon - k
    lo, hi = stats.binom.ppf(ALPHA / 2, n, p), stats.binom.isf(ALPHA / 2, n, p)
    assert lo <= off <= hi
    greedy, _ = play(bl.EpsilonGreedy(k, epsilon=0.0), constant_table([0.2, 0.9, 0.5], 50), 50)
    assert greedy == [0, 1, 2] + [1] * 47


def test_epsilon_greedy_decaying_rate() -> None:
    eps, k, horizon = 1.0, 2, 20_000
    actions, _ = play(bl.EpsilonGreedy(k, epsilon=eps, schedule="decaying"),
                      constant_table([0.0, 1.0], horizon), horizon)
    # P(off at round t, t >= k) = min(1, eps k / t) / k; expected count and a Bernstein slack
    probs = np.array([min(1.0, eps * k / t) / k for t in range(k, horizon)])
    off = sum(a == 0 for a in actions[k:])
    mean, var = probs.sum(), (probs * (1 - probs)).sum()
    slack = math.sqrt(2 * var * math.log(2 / ALPHA)) + math.log(2 / ALPHA)
    assert abs(off - mean) <= slack


def test_thompson_posterior_counts() -> None:
    policy = bl.ThompsonSampling(3, a0=2.0, b0=0.5)
    actions, rewards = play(policy, bl.BernoulliBandit([0.2, 0.5, 0.8], horizon=300), 300)
    a, r = np.array(actions), np.array(rewards)
    succ = np.array([r[a == i].sum() for i in range(3)])
    np.testing.assert_array_equal(policy.state.successes, succ)
    np.testing.assert_array_equal(policy.state.failures, np.bincount(a, minlength=3) - succ)


def test_thompson_posterior_sample_distribution() -> None:
    """With one arm, the posterior draw is Beta(a0 + S, b0 + F): check the draws directly."""
    policy = bl.ThompsonSampling(2, a0=2.0, b0=3.0).reset(seed=0)
    policy.state.successes[:] = [4.0, 0.0]
    policy.state.failures[:] = [1.0, 0.0]
    draws = []
    for _ in range(5000):
        policy.select()
        draws.append(policy.state.samples[0])
    assert stats.kstest(draws, stats.beta(6.0, 4.0).cdf).pvalue > ALPHA


# -- shared kernels ---------------------------------------------------------------------------
def test_argmax_tiebreak_is_uniform_over_ties() -> None:
    values = np.array([1.0, 3.0, 3.0, 0.0, 3.0, -np.inf])
    rng = np.random.default_rng(0)
    n = 30_000
    draws = np.bincount([argmax_tiebreak(values, rng) for _ in range(n)], minlength=6)
    assert draws[[0, 3, 5]].sum() == 0
    assert stats.chisquare(draws[[1, 2, 4]]).pvalue > ALPHA


def test_argmax_tiebreak_without_ties_consumes_no_randomness() -> None:
    rng = np.random.default_rng(1)
    before = rng.bit_generator.state
    assert argmax_tiebreak(np.array([0.1, 0.9, 0.3]), rng) == 1
    assert rng.bit_generator.state == before
    assert argmax_tiebreak(np.array([-np.inf, -5.0]), rng) == 1


def test_categorical_matches_its_probabilities() -> None:
    probs = np.array([0.1, 0.0, 0.6, 0.3, 0.0])
    rng = np.random.default_rng(2)
    n = 30_000
    draws = np.bincount([categorical(probs, rng) for _ in range(n)], minlength=5)
    assert draws[1] == 0 and draws[4] == 0
    assert stats.chisquare(draws[[0, 2, 3]], probs[[0, 2, 3]] * n).pvalue > ALPHA
    # rounding slack goes to the last arm with positive mass, never to a zero-mass arm
    assert categorical(np.array([0.5, 0.5 - 1e-12, 0.0]), np.random.default_rng(3)) in (0, 1)
