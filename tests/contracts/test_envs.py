"""Contract tests run over every environment of ``banditlab.envs.ENV_REGISTRY``."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy import stats

import banditlab as bl
from banditlab.envs import ENV_REGISTRY

ENV_IDS = sorted(ENV_REGISTRY)
#: envs whose actions are arms (``Discrete``); the action checks below apply to these
DISCRETE_IDS = [i for i in ENV_IDS if isinstance(
    ENV_REGISTRY[i][0](**ENV_REGISTRY[i][2]).action_space, gymnasium.spaces.Discrete)]

# Warnings gymnasium's checker emits by design for some valid envs. Gymnasium's own
# registry-wide test ignores the same two: a linear bandit's features are unbounded reals.
EXPECTED_WARNINGS = {
    "A Box observation space minimum value is -infinity. This is probably too low.",
    "A Box observation space maximum value is infinity. This is probably too high.",
}


def _strip(message: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", message).removeprefix("WARN: ")


BANDITLAB_IDS = sorted(k for k in gymnasium.envs.registry if k.startswith("banditlab/"))


def test_every_banditlab_gymnasium_id_has_an_example() -> None:
    """A new ``banditlab/...`` id without a registry entry would escape the checks below."""
    from banditlab.envs import OTHER_ENVS

    assert set(BANDITLAB_IDS) == set(ENV_REGISTRY) | set(OTHER_ENVS)
    assert not set(ENV_REGISTRY) & set(OTHER_ENVS)


@pytest.mark.parametrize("env_id", BANDITLAB_IDS)
def test_check_env_passes_for_every_banditlab_id(env_id: str) -> None:
    from banditlab.envs import OTHER_ENVS

    example = ENV_REGISTRY[env_id][2] if env_id in ENV_REGISTRY else OTHER_ENVS[env_id][2]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gymnasium.make(env_id, **example)
        check_env(env.unwrapped, skip_render_check=True)
        env.close()
    unexpected = [_strip(str(w.message)) for w in caught
                  if _strip(str(w.message)) not in EXPECTED_WARNINGS]
    assert unexpected == []


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registry_entry_is_consistent(env_id: str) -> None:
    cls, description, example = ENV_REGISTRY[env_id]
    assert env_id.startswith("banditlab/") and description
    env = gymnasium.make(env_id, **example)
    assert type(env.unwrapped) is cls
    direct = cls(**example)
    json.dumps(direct.env_params)  # results metadata must be JSON-friendly
    assert isinstance(direct, bl.BanditEnv)
    assert repr(direct).startswith(cls.__name__ + "(")


@pytest.mark.parametrize("env_id", DISCRETE_IDS)
def test_same_seed_same_rollout(env_id: str) -> None:
    cls, _, example = ENV_REGISTRY[env_id]
    rollouts = []
    for _ in range(2):
        env = cls(**example)
        env.action_space.seed(7)
        obs, _ = env.reset(seed=42)
        trace = [repr(obs)]
        for _ in range(min(env.horizon, 60)):
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace += [repr(obs), repr(reward)]
            assert np.isfinite(reward)
            if terminated or truncated:
                break
        rollouts.append(trace)
    assert rollouts[0] == rollouts[1]


@pytest.mark.parametrize("env_id", DISCRETE_IDS)
def test_episode_is_horizon_rounds(env_id: str) -> None:
    cls, _, example = ENV_REGISTRY[env_id]
    env = cls(**example)
    env.reset(seed=0)
    for t in range(env.horizon):
        _, _, terminated, truncated, info = env.step(t % env.n_arms)
        assert terminated is False and isinstance(info, dict)
        assert truncated is (t + 1 == env.horizon)


# -- bad input --------------------------------------------------------------------------------
CONSTRAINT_CASES = [
    pytest.param(env_id, param, value, exc, id=f"{env_id.split('/')[1]}-{param}-{i}")
    for env_id in ENV_IDS
    for param, constraint in ENV_REGISTRY[env_id][0].constraints.items()
    for i, (value, exc) in enumerate(constraint.invalid_values())
]


@pytest.mark.parametrize(("env_id", "param", "value", "exc"), CONSTRAINT_CASES)
def test_every_env_constraint_rejects_invalid_values(env_id: str, param: str, value: Any,
                                                     exc: type[Exception]) -> None:
    cls, _, example = ENV_REGISTRY[env_id]
    kwargs = {**example, param: value}
    with pytest.raises(exc) as info:
        cls(**kwargs)
    message = str(info.value)
    assert re.fullmatch(rf"{cls.__name__}: '{param}' must .+; got .+\.", message, re.S), message


def test_invalid_args_through_gymnasium_make() -> None:
    with pytest.raises(ValueError, match=r"BernoulliBandit: 'means' must be a 1-d array of "
                                         r"floats .*with entries in \[0, 1\]; got an entry"):
        gymnasium.make("banditlab/BernoulliBandit-v0", means=[0.5, 1.5], horizon=10)


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: bl.GaussianBandit([0.0, 1.0], sigma=[1.0, 1.0, 1.0]),
     r"GaussianBandit: 'sigma' must be a float > 0 or an array of shape \(2,\); got shape"),
    (lambda: bl.GaussianBandit([0.0, 1.0], sigma=0.0),
     r"GaussianBandit: 'sigma' must be a float in \(0, 1e\+100\]; got 0\.0\."),
    (lambda: bl.BetaBandit([0.0, 0.5]),
     r"BetaBandit: 'means' must be .* with entries in \(0, 1\); got an entry equal to 0\.0\."),
    (lambda: bl.BetaBandit([0.5, 0.5], concentration=1e-3),
     r"BetaBandit: 'concentration' must make both Beta shapes at least 0\.1 .*; got "
     r"concentration=0\.001, which gives a smallest shape of 0\.0005\."),
    (lambda: bl.BetaBandit([0.01, 0.5], concentration=2.0),
     r"BetaBandit: 'concentration' must make both Beta shapes .*smallest shape of 0\.02\."),
    (lambda: bl.LinearBandit([1.0, 0.0]),
     r"LinearBandit: 'n_arms' must be an int in \[1, inf\) when 'features' is None; got None"),
    (lambda: bl.LinearBandit([1.0, 0.0], features=np.ones((3, 3))),
     r"LinearBandit: 'features' must have 2 columns"),
    (lambda: bl.LinearBandit([1.0, 0.0], features=np.ones((3, 2)), n_arms=4),
     r"LinearBandit: 'n_arms' must equal the number of rows of 'features' \(3\); got 4\."),
    (lambda: bl.LinearBandit([1.0], n_arms=2, misspec=[0.1]),
     r"LinearBandit: 'misspec' must be an array of shape \(2,\); got shape \(1,\)\."),
    (lambda: bl.BernoulliBandit([]), r"BernoulliBandit: 'means' must be a 1-d array"),
    (lambda: bl.BernoulliBandit([0.5, float("nan")]),
     r"BernoulliBandit: 'means' must be .*; got non-finite entries\."),
    (lambda: bl.AdversarialBandit([[0.5, float("inf")]]),
     r"AdversarialBandit: 'table' must be .*; got non-finite entries\."),
])
def test_cross_field_checks(call: Any, pattern: str) -> None:
    with pytest.raises((TypeError, ValueError), match=pattern):
        call()


@pytest.mark.parametrize("env_id", DISCRETE_IDS)
@pytest.mark.parametrize(("action", "exc", "shown"), [
    (-1, ValueError, "-1"), ("n", ValueError, None), (1.5, TypeError, "float 1.5"),
    (True, TypeError, "bool True"), ("a", TypeError, "str 'a'"), (None, TypeError, "NoneType"),
])
def test_step_rejects_invalid_actions(env_id: str, action: Any, exc: type[Exception],
                                      shown: str | None) -> None:
    cls, _, example = ENV_REGISTRY[env_id]
    env = cls(**example)
    env.reset(seed=0)
    k = env.n_arms
    if action == "n":
        action, shown = k, str(k)
    pattern = rf"^{cls.__name__}\.step: 'action' must be an int in \[0, {k - 1}\]; " \
              rf"got {re.escape(shown)}"
    with pytest.raises(exc, match=pattern):
        env.step(action)
    # a rejected action does not advance the episode
    assert env.t == 0
    env.step(np.int64(k - 1))
    env.step(np.array(0))
    assert env.t == 2


@pytest.mark.parametrize("env_id", DISCRETE_IDS)
def test_stepping_after_the_horizon_raises(env_id: str) -> None:
    cls, _, example = ENV_REGISTRY[env_id]
    env = cls(**example)
    with pytest.raises(RuntimeError, match=r"\.step: the episode has ended"):
        env.step(0)  # before the first reset
    env.reset(seed=1)
    for _ in range(env.horizon):
        env.step(0)
    with pytest.raises(RuntimeError, match=rf"^{cls.__name__}\.step: the episode has ended "
                                           rf"\(horizon={env.horizon}\); call reset\(\) first"):
        env.step(0)
    env.reset(seed=1)
    env.step(0)
    assert env.t == 1


# -- oracle -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [bl.BernoulliBandit, bl.GaussianBandit, bl.BetaBandit])
def test_stochastic_oracle(cls: type) -> None:
    means = np.array([0.3, 0.9, 0.6])
    env = cls(means, horizon=5)
    env.reset(seed=0)
    for t in range(5):
        assert [env.expected_reward(a) for a in range(3)] == means.tolist()
        assert env.optimal_expected_reward() == 0.9
        env.step(t % 3)
    assert env.best_arm == 1
    np.testing.assert_array_equal(env.gaps, 0.9 - means)
    np.testing.assert_array_equal(env.means, means)
    with pytest.raises(ValueError, match=r"\.step: 'action' must be an int in \[0, 2\]"):
        env.expected_reward(3)


def test_adversarial_oracle_is_the_table_and_best_fixed_arm() -> None:
    table = np.array([[1.0, 0.0, 0.2], [1.0, 0.0, 0.2], [0.0, 1.0, 0.9], [0.0, 1.0, 0.9],
                      [0.0, 1.0, 0.1]])
    env = bl.AdversarialBandit(table)
    assert env.horizon == 5 and env.n_arms == 3
    best = int(np.argmax(table.sum(axis=0)))
    assert env.best_arm == best == 1
    env.reset(seed=0)
    for t in range(5):
        assert [env.expected_reward(a) for a in range(3)] == table[t].tolist()
        assert env.optimal_expected_reward() == table[t, best]
        _, reward, _, _, _ = env.step(2)
        assert reward == table[t, 2]
    np.testing.assert_array_equal(env.means, table.mean(axis=0))


@pytest.mark.parametrize("env", [
    bl.BernoulliBandit([0.3, 0.9, 0.6], horizon=4), bl.GaussianBandit([0.1, -0.2, 0.7], horizon=4),
    bl.BetaBandit([0.35, 0.1, 0.2], horizon=4),
    bl.AdversarialBandit([[0.1, 0.7, 0.3], [0.9, 0.0, 0.2], [0.3, 0.3, 0.3], [0.0, 0.6, 1.0]]),
], ids=lambda e: type(e).__name__)
def test_compiled_gap_kernel_is_the_oracle_difference(env: Any) -> None:
    """The kernel engine's regret term (``karmed_gap``, compiled) is, bit for bit, the
    difference of the two oracle methods the Python engine subtracts."""
    from banditlab.envs.kernels import karmed_gap

    env.reset(seed=0)
    arrays = env.kernel_arrays()
    for t in range(env.horizon):
        expected = [env.optimal_expected_reward() - env.expected_reward(a) for a in range(3)]
        assert [karmed_gap(arrays, a, t) for a in range(3)] == expected
        env.step(0)


def test_linear_oracle_fixed_features() -> None:
    theta = np.array([0.5, -1.0])
    feats = np.array([[1.0, 0.0], [0.0, -1.0], [0.5, 0.5]])
    mis = np.array([0.0, -0.2, 0.1])
    env = bl.LinearBandit(theta, features=feats, misspec=mis, noise_sd=0.0, horizon=4)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, feats)
    expected = feats @ theta + mis
    assert env.best_arm == int(np.argmax(expected)) == 1
    for _ in range(3):
        np.testing.assert_allclose([env.expected_reward(a) for a in range(3)], expected,
                                   rtol=0, atol=1e-15)
        assert env.optimal_expected_reward() == pytest.approx(expected.max(), abs=1e-15)
        obs, reward, _, _, _ = env.step(2)
        assert reward == pytest.approx(expected[2], abs=1e-15)  # noise_sd = 0


def test_linear_oracle_drawn_features() -> None:
    theta = np.array([0.3, 0.4, -0.2])
    env = bl.LinearBandit(theta, n_arms=5, noise_sd=0.0, horizon=30)
    obs, _ = env.reset(seed=3)
    assert env.best_arm == -1
    contexts = []
    for _ in range(29):
        np.testing.assert_allclose(np.linalg.norm(obs, axis=1), 1.0, rtol=1e-12)
        np.testing.assert_array_equal(obs, env.context)
        expected = obs @ theta
        np.testing.assert_allclose([env.expected_reward(a) for a in range(5)], expected,
                                   atol=1e-15)
        assert env.optimal_expected_reward() == pytest.approx(expected.max(), abs=1e-15)
        contexts.append(obs)
        obs, _, _, _, _ = env.step(0)
    assert len({c.tobytes() for c in contexts}) == len(contexts)


# -- reward distributions ---------------------------------------------------------------------
N_DRAWS = 20_000
FAIL_PROB = 1e-6  # the checks use fixed seeds; the slack makes a false alarm this unlikely


def _draw(env: bl.BanditEnv, arm: int, seed: int) -> np.ndarray:
    env.reset(seed=seed)
    return np.array([env.step(arm)[1] for _ in range(env.horizon)])


def test_bernoulli_rewards() -> None:
    means = [0.0, 0.25, 0.8, 1.0]
    env = bl.BernoulliBandit(means, horizon=N_DRAWS)
    slack = np.sqrt(np.log(2 / FAIL_PROB) / (2 * N_DRAWS))  # two-sided Hoeffding
    for arm, mu in enumerate(means):
        x = _draw(env, arm, seed=arm)
        assert set(np.unique(x)) <= {0.0, 1.0}
        assert abs(x.mean() - mu) <= slack, (arm, x.mean(), mu)
    # slack is about 0.019: an off-by-a-little mean would be caught
    assert slack < 0.02


def test_gaussian_rewards() -> None:
    means, sigma = np.array([-1.0, 0.5]), np.array([0.5, 2.0])
    env = bl.GaussianBandit(means, sigma=sigma, horizon=N_DRAWS)
    for arm in range(2):
        x = _draw(env, arm, seed=10 + arm)
        z = stats.norm.isf(FAIL_PROB / 2)
        assert abs(x.mean() - means[arm]) <= z * sigma[arm] / np.sqrt(N_DRAWS)
        # distribution: Kolmogorov–Smirnov against N(mean, sigma^2)
        assert stats.kstest(x, stats.norm(means[arm], sigma[arm]).cdf).pvalue > FAIL_PROB
    # the scalar-sigma form broadcasts
    env = bl.GaussianBandit([0.0, 0.0], sigma=3.0, horizon=N_DRAWS)
    x = _draw(env, 1, seed=5)
    assert stats.kstest(x, stats.norm(0.0, 3.0).cdf).pvalue > FAIL_PROB
    assert stats.kstest(x, stats.norm(0.0, 2.5).cdf).pvalue < FAIL_PROB  # the test has power


def test_beta_rewards() -> None:
    means, c = np.array([0.2, 0.7]), 4.0
    env = bl.BetaBandit(means, concentration=c, horizon=N_DRAWS)
    for arm in range(2):
        x = _draw(env, arm, seed=20 + arm)
        assert np.all((x >= 0.0) & (x <= 1.0))
        law = stats.beta(c * means[arm], c * (1.0 - means[arm]))
        assert stats.kstest(x, law.cdf).pvalue > FAIL_PROB
        assert abs(x.mean() - means[arm]) <= np.sqrt(np.log(2 / FAIL_PROB) / (2 * N_DRAWS))


def test_beta_engines_agree_at_the_smallest_accepted_shape() -> None:
    """Shapes of 0.1 (the smallest accepted) give the same draws on both engines; the canary
    is the sampler at 1e-3, where NumPy's and Numba's draws differ (so the bound is needed)."""
    env = bl.BetaBandit([0.05, 0.5, 0.95], concentration=2.0, horizon=20_000)
    policy = bl.Uniform(3, mode="random")
    k, p = (bl.run(policy, env, seed=3, engine=e) for e in ("kernel", "python"))
    assert k.regret.tobytes() == p.regret.tobytes() and np.array_equal(k.pulls, p.pulls)
    from banditlab.envs.karmed import BETA, KArmedArrays, _reward

    assert _reward.__name__ == "karmed_reward"
    tiny = KArmedArrays(BETA, np.array([0.5]), np.array([1e-3]), np.array([1e-3]),
                        np.zeros((0, 1)), 0, 0.5)
    from banditlab.envs.kernels import karmed_reward

    py = np.random.default_rng(0)
    nb = np.random.default_rng(0)
    a = [_reward(tiny, 0, 0, py) for _ in range(2000)]
    b = [karmed_reward(tiny, 0, 0, nb) for _ in range(2000)]
    assert a != b


def test_reward_noise_does_not_depend_on_the_arm() -> None:
    """Common random numbers: one draw per step whatever the arm (documented in kernels)."""
    env = bl.GaussianBandit([0.0, 10.0], sigma=1.0, horizon=50)
    a = _draw(env, 0, seed=7)
    b = _draw(env, 1, seed=7)
    np.testing.assert_allclose(b - a, 10.0, rtol=0, atol=1e-12)


def test_a_kernel_compiled_for_a_bernoulli_env_holds_only_its_draw() -> None:
    """A Bernoulli env describes itself with :class:`BernoulliArrays` (the other families with
    the plain :class:`KArmedArrays`), and a kernel compiled for it calls none of NumPy's other
    samplers; the plain class (every family behind a branch) is the canary that they show."""
    from banditlab._jit import njit
    from banditlab.envs.kernels import BernoulliArrays, KArmedArrays, karmed_reward

    envs = [bl.BernoulliBandit([0.2, 0.7]), bl.GaussianBandit([0.0, 1.0]),
            bl.BetaBandit([0.2, 0.7]), bl.PoissonBandit([1.0, 2.0]),
            bl.ExponentialBandit([1.0, 2.0]), bl.AdversarialBandit(np.eye(2))]
    assert [type(env.kernel_arrays()) for env in envs] == [BernoulliArrays] + [KArmedArrays] * 5

    @njit
    def draw(env, rng):
        return karmed_reward(env, 0, 0, rng)

    samplers = ("random_beta", "random_poisson", "random_standard_normal",
                "random_standard_exponential")
    bern = envs[0].kernel_arrays()
    plain = KArmedArrays(*bern)
    rng = np.random.default_rng(0)
    assert draw(bern, rng) in (0.0, 1.0) and draw(plain, rng) in (0.0, 1.0)
    code = {type(a).__name__: draw.inspect_llvm(sig)
            for a, sig in zip((bern, plain), draw.signatures, strict=True)}
    assert not [s for s in samplers if s in code["BernoulliArrays"]]
    assert all(s in code["KArmedArrays"] for s in samplers)
