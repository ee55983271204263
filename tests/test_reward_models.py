"""Reward models: declared by every policy and env, mismatches refused at every entry point."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import banditlab as bl
from banditlab.config import parse_config
from banditlab.envs import ENV_REGISTRY, OTHER_ENVS
from banditlab.errors import ConfigError
from banditlab.policies import REGISTRY
from banditlab.reward_models import RewardModel, env_reward_model, fits, fitting_policies
from banditlab.sweep import sweep

SIGMA2 = {"means": [0.0, 0.5, 1.0], "sigma": 2.0, "horizon": 200}


# -- the relation ----------------------------------------------------------------------------
@pytest.mark.parametrize(("required", "produced", "ok"), [
    (RewardModel.bounded(0, 1), RewardModel.bernoulli(), True),
    (RewardModel.bounded(0, 1), RewardModel.bounded(0.2, 0.9), True),
    (RewardModel.bounded(0, 1), RewardModel.bounded(-1, 1), False),
    (RewardModel.bounded(0, 1), RewardModel.gaussian(0.1), False),
    (RewardModel.bounded(0, 1), RewardModel.poisson(), False),
    (RewardModel.bernoulli(), RewardModel.bernoulli(), True),
    (RewardModel.bernoulli(), RewardModel.bounded(0, 1), False),
    (RewardModel.subgaussian(0.5), RewardModel.bernoulli(), True),          # Hoeffding
    (RewardModel.subgaussian(0.5), RewardModel.bounded(0, 1), True),
    (RewardModel.subgaussian(0.5), RewardModel.bounded(0, 2), False),       # 1-sub-Gaussian
    (RewardModel.subgaussian(2.0), RewardModel.gaussian(2.0), True),
    (RewardModel.subgaussian(1.9), RewardModel.gaussian(2.0), False),
    (RewardModel.subgaussian(1e9), RewardModel.poisson(), False),           # heavier tails
    (RewardModel.poisson(), RewardModel.poisson(), True),
    (RewardModel.poisson(), RewardModel.exponential(), False),
    (RewardModel.exponential(), RewardModel.exponential(), True),
    (RewardModel.any(), RewardModel.poisson(), True),
    (RewardModel.bernoulli(), RewardModel.unknown(), True),                 # cannot be known
])
def test_fits(required: RewardModel, produced: RewardModel, ok: bool) -> None:
    assert fits(required, produced) is ok


ADMITS = [
    (RewardModel.bounded(0, 1), [0.0, 0.3, 1.0], [-1e-9, 1.5]),
    (RewardModel.bernoulli(), [0.0, 1.0], [0.5, 2.0, -1.0]),
    (RewardModel.poisson(), [0.0, 3.0, 1e6], [-1.0, 2.5]),
    (RewardModel.exponential(), [0.0, 0.1, 1e9], [-0.1]),
    (RewardModel.subgaussian(1.0), [-1e9, 0.0, 1e9], []),
]


@pytest.mark.parametrize(("model", "good", "bad"), ADMITS)
def test_admits(model: RewardModel, good: list[float], bad: list[float]) -> None:
    assert all(model.admits(r) for r in good)
    assert not any(model.admits(r) for r in bad)


@pytest.mark.parametrize(("model", "good", "bad"), ADMITS)
def test_the_compiled_check_admits_what_the_model_admits(model: RewardModel, good: list[float],
                                                         bad: list[float]) -> None:
    """The step box and BatchedPolicy check rewards with ``_fastcall.admitted`` on
    ``compiled_bounds``: the same rewards as :meth:`RewardModel.admits`, never inf or NaN, an
    action only in range; with the checks off, every finite float."""
    from banditlab._fastcall import admitted

    bounds = model.compiled_bounds()
    assert all(admitted(1, r, 3, *bounds) for r in good)
    assert not any(admitted(1, r, 3, *bounds) for r in [*bad, np.inf, -np.inf, np.nan])
    assert not admitted(3, good[0], 3, *bounds) and not admitted(-1, good[0], 3, *bounds)
    off = model.compiled_bounds(checked=False)
    assert all(admitted(0, r, 3, *off) for r in [*good, *bad, -1e300, 0.5])
    assert not any(admitted(0, r, 3, *off) for r in [np.inf, -np.inf, np.nan])


def test_reward_model_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="'kind' must be one of"):
        RewardModel("gamma")
    with pytest.raises(ValueError, match="'low' must be <= 'high'"):
        RewardModel.bounded(1.0, 0.0)


# -- declarations ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_policy_declares_its_reward_model(name: str) -> None:
    cls = REGISTRY[name]
    kwargs = dict(cls._contract_kwargs)
    if cls.protocol.contextual:
        kwargs.setdefault("n_features", 2)
    if "budget" in cls.constraints:
        kwargs.setdefault("budget", 64)
    policy = cls(3, **kwargs)
    declared = "reward_model" in vars(cls) or "reward_model" in vars(policy)
    assert declared, f"{name} does not declare reward_model"
    assert isinstance(policy.reward_model, RewardModel)
    assert policy.reward_model.kind not in ("unknown", "gaussian"), "an env-side kind"


@pytest.mark.parametrize("env_id", sorted(ENV_REGISTRY) + sorted(OTHER_ENVS))
def test_every_registered_env_declares_its_reward_model(env_id: str) -> None:
    kwargs = ENV_REGISTRY[env_id][2] if env_id in ENV_REGISTRY else OTHER_ENVS[env_id][2]
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    model = env.unwrapped.reward_model
    assert isinstance(model, RewardModel)
    assert model.kind not in ("unknown", "any", "subgaussian"), f"{env_id}: {model}"
    # and its rewards are in the declared model
    _, info = env.reset(seed=0)
    env.action_space.seed(0)
    if env_id in ENV_REGISTRY:
        for _ in range(20):
            _, r, term, trunc, info = env.step(env.action_space.sample(
                mask=info.get("action_mask")))
            assert model.admits(r), (env_id, r)
            if term or trunc:
                break


# -- the examples: UCB, KL-UCB and Beta-Thompson on Gaussian rewards with sigma 2 -------
@pytest.mark.parametrize("policy", [bl.UCB(3), bl.KLUCB(3), bl.ThompsonSampling(3),
                                    bl.BayesUCB(3), bl.MOSS(3, horizon=200)],
                         ids=lambda p: p.name)
def test_run_many_and_run_refuse_a_mismatch_and_name_the_policies_that_fit(
        policy: bl.Policy) -> None:
    env = bl.GaussianBandit(**SIGMA2)
    for call in (lambda: bl.run_many(policy, env, n_runs=2, seed=0),
                 lambda: bl.run(policy, env, seed=0)):
        with pytest.raises(bl.RewardModelError) as info:
            call()
        msg = str(info.value)
        assert msg.startswith(f"run_many: {policy!r} assumes ")
        assert "GaussianBandit has Gaussian rewards with sigma up to 2" in msg
        assert "Pass check_rewards=False" in msg
        # the fields are attributes, not only text
        assert "UCB(sigma=2.0)" in info.value.fitting
        assert "KLUCB(divergence='gaussian', sigma=2.0)" in info.value.fitting
        assert "GaussianThompsonSampling(sigma=2.0)" in info.value.fitting
        assert "ThompsonSampling()" not in info.value.fitting
        assert info.value.env_model == RewardModel.gaussian(2.0)
    # the opt-out runs it, on both engines, and leaves the caller's policy checking
    for engine in ("kernel", "python"):
        res = bl.run_many(policy, env, n_runs=2, seed=0, engine=engine, check_rewards=False)
        assert np.all(np.isfinite(res.regret))
    assert policy.check_rewards is True


def _build(text: str, env: Any) -> bl.Policy:
    name, args = text.split("(", 1)
    kwargs = eval(f"dict({args}", {}, {})
    cls = REGISTRY[name]
    if cls.protocol.contextual:
        kwargs["n_features"] = int(env.observation_space.shape[1])
    required = [n for n, p in inspect.signature(cls).parameters.items()
                if p.default is inspect.Parameter.empty]
    for key in ("horizon", "budget"):                   # MOSS's horizon, a BAI budget
        if key in required:
            kwargs[key] = int(env.horizon)
    return cls(env.n_arms, **kwargs)


@pytest.mark.parametrize("env_id", sorted(i for i, (c, _, _) in ENV_REGISTRY.items()
                                           if c.family in ("karmed", "linear")))
def test_suggestions_build_fit_and_run(env_id: str) -> None:
    cls, _, example = ENV_REGISTRY[env_id]
    env = cls(**example)
    protocol = bl.CONTEXTUAL if getattr(env, "family", None) == "linear" else bl.KARMED
    names = fitting_policies(env, protocol)
    assert "Uniform()" in names or protocol is bl.CONTEXTUAL
    for text in names:
        policy = _build(text, env)
        assert fits(policy.reward_model, env.reward_model), text
        res = bl.run(policy, env, seed=0)
        assert np.all(np.isfinite(res.regret)), text


@pytest.mark.parametrize(("env", "policy"), [
    (bl.PoissonBandit([1.0, 3.0], horizon=50), bl.KLUCB(2, divergence="poisson")),
    (bl.ExponentialBandit([1.0, 3.0], horizon=50), bl.KLUCB(2, divergence="exponential")),
    (bl.GaussianBandit([0.0, 1.0], sigma=0.7, horizon=50), bl.KLUCB(2, divergence="gaussian",
                                                                     sigma=0.7)),
    (bl.BernoulliBandit([0.2, 0.6], horizon=50), bl.BayesUCB(2)),
    (bl.GaussianBandit([0.0, 1.0], sigma=3.0, horizon=50), bl.BayesUCB(2, posterior="gaussian",
                                                                       sigma=3.0)),
    (bl.GaussianBandit([0.0, 1.0], sigma=3.0, horizon=50), bl.UCB(2, sigma=3.0)),
], ids=["klucb-poisson", "klucb-exp", "klucb-gauss", "bayes-beta", "bayes-gauss", "ucb-sigma"])
def test_matching_pairs_run(env: bl.BanditEnv, policy: bl.Policy) -> None:
    res = bl.run_many(policy, env, n_runs=2, seed=0)
    assert np.all(np.isfinite(res.regret))


def test_kl_divergences_refuse_the_other_families() -> None:
    with pytest.raises(bl.RewardModelError, match="assumes poisson rewards"):
        bl.run(bl.KLUCB(2, divergence="poisson"), bl.ExponentialBandit([1.0, 2.0]), seed=0)
    with pytest.raises(bl.RewardModelError, match=r"assumes Bernoulli rewards .*BetaBandit"):
        bl.run(bl.BayesUCB(2), bl.BetaBandit([0.3, 0.6]), seed=0)


def test_check_rewards_must_be_a_bool() -> None:
    env = bl.BernoulliBandit([0.2, 0.5], horizon=10)
    with pytest.raises(TypeError, match="run_many: 'check_rewards' must be a bool"):
        bl.run_many(bl.UCB(2), env, check_rewards="no")


# -- the step API --------------------------------------------------------------------------------
@pytest.mark.parametrize(("policy", "reward", "want"), [
    (bl.ThompsonSampling(2), 1.5, r"a float in \[0, 1\]"),
    (bl.KLUCB(2), -0.1, r"a float in \[0, 1\]"),
    (bl.BayesUCB(2), 0.5, "0 or 1"),
    (bl.KLUCB(2, divergence="poisson"), 2.5, "a non-negative integer"),
    (bl.KLUCB(2, divergence="exponential"), -1.0, "a float >= 0"),
    (bl.TsallisINF(2, reward_max=-1.0), 0.5, r"a float in \[-2, -1\]"),
], ids=lambda x: getattr(x, "name", str(x)))
def test_update_refuses_rewards_outside_the_model(policy: bl.Policy, reward: float,
                                                  want: str) -> None:
    policy.reset(seed=0)
    with pytest.raises(ValueError, match=rf"^{policy.name}\.update: 'reward' must be {want} "
                                         rf"\({policy.name} assumes .*\); got {reward!r}\. Set "
                                         "check_rewards = False"):
        policy.update(0, reward)
    policy.check_rewards = False
    policy.update(0, reward)                              # the opt-out
    assert policy.select() in (0, 1)


def test_a_reward_changing_wrapper_is_checked_at_run_time() -> None:
    """Behind TransformReward the model is unknown: the pair is not refused up front, but the
    first reward outside the policy's range stops the run with the step API's error."""
    env = bl.BernoulliBandit([0.2, 0.9], horizon=100)
    scaled = gym.wrappers.TransformReward(env, lambda r: 3.0 * r)
    assert env_reward_model(scaled).kind == "unknown"
    with pytest.raises(ValueError, match=r"ThompsonSampling\.update: 'reward' must be a float "
                                         r"in \[0, 1\]"):
        bl.run_many(bl.ThompsonSampling(2), scaled, n_runs=1, seed=0)
    ok = gym.wrappers.TransformReward(env, lambda r: 1.0 - r)
    assert bl.run_many(bl.ThompsonSampling(2), ok, n_runs=1, seed=0).regret.shape[0] == 1
    res = bl.run_many(bl.ThompsonSampling(2), scaled, n_runs=1, seed=0, check_rewards=False)
    assert np.all(np.isfinite(res.regret))


# -- files, sweeps and the command line ------------------------------------------------------
def _config(check: bool | None = None) -> dict[str, Any]:
    exp: dict[str, Any] = {"horizon": 50, "n_seeds": 2, "seed": 0}
    if check is not None:
        exp["check_rewards"] = check
    return {**exp,
            "envs": [{"id": "banditlab/GaussianBandit-v0", "kwargs": {
                "means": [0.0, 0.5, 1.0], "sigma": 2.0}}],
            "policies": [{"name": "Uniform"}, {"name": "KLUCB"}]}


def test_experiment_files_refuse_a_mismatch_unless_opted_out() -> None:
    with pytest.raises(ConfigError, match=r"^policies\[1\] on envs\[0\] "
                                          r"\(banditlab/GaussianBandit-v0\): KLUCB\(.*\) "
                                          r"assumes rewards in \[0, 1\].*Policies that fit "
                                          r"this env: .*UCB\(sigma=2\.0\).*Set "
                                          r"check_rewards = false \(or pass "
                                          r"--no-check-rewards\)"):
        parse_config(_config())
    assert len(parse_config(_config(False)).jobs) == 2
    assert not parse_config(_config(), check_rewards=False).check_rewards
    with pytest.raises(ConfigError, match=r"^check_rewards: .*bool"):
        parse_config(_config("yes"))                       # type: a bool, not a string


def test_cli_refuses_in_one_line_and_runs_with_the_flag(tmp_path: Any) -> None:
    cfg = tmp_path / "exp.toml"
    cfg.write_text('horizon = 50\nn_seeds = 2\nseed = 0\n\n[[envs]]\n'
                   'id = "banditlab/GaussianBandit-v0"\n'
                   'kwargs = { means = [0.0, 1.0], sigma = 2.0 }\n\n'
                   '[[policies]]\nname = "ThompsonSampling"\n')
    cmd = [sys.executable, "-m", "banditlab", "run", str(cfg), "--out", str(tmp_path / "o"),
           "--no-progress"]
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    assert "assumes rewards in [0, 1]" in bad.stderr and "--no-check-rewards" in bad.stderr
    good = subprocess.run([*cmd, "--no-check-rewards"], capture_output=True, text=True,
                          timeout=300)
    assert good.returncode == 0, good.stderr


def test_sweeps_refuse_a_mismatch_unless_opted_out(tmp_path: Any) -> None:
    grid: dict[str, Any] = {
        "seed": 0, "n_seeds": 2, "horizon": 30,
        "policies": [{"name": "ThompsonSampling"}],
        "envs": [{"id": "banditlab/GaussianBandit-v0",
                  "kwargs": {"means": [0.0, 1.0], "sigma": 2.0}}]}
    with pytest.raises(ConfigError, match=r"assumes rewards in \[0, 1\].*Set check_rewards = "
                                          "false in the grid"):
        sweep(grid, store=tmp_path / "a", executor="serial", progress=False)
    summary = sweep({**grid, "check_rewards": False}, store=tmp_path / "b",
                    executor="serial", progress=False)
    assert summary.failed == 0 and summary.done == 2
