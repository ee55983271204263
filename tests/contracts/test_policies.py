"""Contract tests run over every policy of ``banditlab.policies.REGISTRY``.

The generic suite over every protocol is ``banditlab.testing.check_algorithm``
(tests/contracts/test_algorithms.py); this file uses the same harness
(``check_engines_agree`` and the instance strategies) with more examples, the non-default
variants of each policy and the bandit-specific checks:

* every declared constraint rejects generated invalid values with the message template;
* the kernel and Python engines are bit-identical (a hypothesis property over instances,
  horizons and seeds), including the final policy state and the random streams consumed;
* same seed, same results; results do not depend on ``n_jobs``;
* kernel states keep their type, field dtypes and shapes across updates (optax-style);
* policies pickle, ``with_params`` re-validates, and calling before ``reset`` is an error.
"""

from __future__ import annotations

import math
import pickle
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import banditlab as bl
from banditlab.policies import REGISTRY
from banditlab.policy import Policy
from banditlab.protocols import CONTEXTUAL, FIXED_BUDGET_BAI
from banditlab.testing import (
    _kernel_loop,
    check_engines_agree,
    karmed_instances,
    linear_instances,
    state_signature,
)
from banditlab.testing import same_state as _same_state

POLICY_NAMES = sorted(REGISTRY)

# Extra configurations, so the property also covers the non-default branches of the kernels.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "Uniform": [{"mode": "round_robin"}],
    "EpsilonGreedy": [{"epsilon": 3.0, "schedule": "decaying"}],
    "UCB": [{"alpha": 0.5}],
    "KLUCB": [{"c": 3.0}],
    "EXP3": [{"eta": 0.3}],
    "LinUCB": [{"alpha": None}],
}


def min_budget(cls: type[Policy], n_arms: int) -> int:
    if cls is bl.SequentialHalving:
        return n_arms * math.ceil(math.log2(n_arms))
    return n_arms


def make_policy(cls: type[Policy], n_arms: int, *, n_features: int = 2, budget: int = 64,
                **overrides: Any) -> Policy:
    """A valid policy of ``cls``: its contract kwargs, adapted to the instance."""
    kwargs = {**cls._contract_kwargs, **overrides}
    if cls.protocol is CONTEXTUAL:
        kwargs["n_features"] = n_features
    if "budget" in cls.constraints:
        kwargs["budget"] = max(budget, min_budget(cls, n_arms))
    return cls(n_arms, **kwargs)


def valid_kwargs(cls: type[Policy]) -> dict[str, Any]:
    n_arms = 4
    kwargs = {"n_arms": n_arms, **cls._contract_kwargs}
    if cls.protocol is CONTEXTUAL:
        kwargs.setdefault("n_features", 2)
    return kwargs


def small_env(cls: type[Policy], horizon: int = 40) -> bl.BanditEnv:
    if cls.protocol is CONTEXTUAL:
        return bl.LinearBandit([0.6, -0.3], n_arms=3, horizon=horizon)
    return bl.BernoulliBandit([0.2, 0.5, 0.8], horizon=horizon)


# -- bad input --------------------------------------------------------------------------------
CONSTRAINT_CASES = [
    pytest.param(name, param, value, exc, id=f"{name}-{param}-{i}")
    for name in POLICY_NAMES
    for param, constraint in REGISTRY[name].constraints.items()
    for i, (value, exc) in enumerate(constraint.invalid_values())
]


@pytest.mark.parametrize(("name", "param", "value", "exc"), CONSTRAINT_CASES)
def test_every_constraint_rejects_invalid_values(name: str, param: str, value: Any,
                                                 exc: type[Exception]) -> None:
    cls = REGISTRY[name]
    kwargs = valid_kwargs(cls)
    kwargs[param] = value
    n_arms = kwargs.pop("n_arms")
    with pytest.raises(exc) as info:
        cls(n_arms, **kwargs)
    message = str(info.value)
    assert re.fullmatch(rf"{name}: '{param}' must be .+; got .+\.", message, re.S), message


def test_every_constructor_argument_has_a_constraint() -> None:
    import inspect

    for name in POLICY_NAMES:
        cls = REGISTRY[name]
        params = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert params == set(cls.constraints), name


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_contract_kwargs_build_a_valid_policy(name: str) -> None:
    cls = REGISTRY[name]
    kwargs = valid_kwargs(cls)
    policy = cls(kwargs.pop("n_arms"), **kwargs)
    assert policy.n_arms == 4
    assert repr(policy).startswith(f"{name}(")


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: bl.UCB(3, alpha=-1), r"UCB: 'alpha' must be a float in \(0, inf\); got -1\."),
    (lambda: bl.UCB(3, alpha=True), r"UCB: 'alpha' must be a float in \(0, inf\); got bool"),
    (lambda: bl.EpsilonGreedy(2, epsilon=1.5),
     r"EpsilonGreedy: 'epsilon' must be a float in \[0, 1\] with schedule='constant'; got 1\.5"),
    (lambda: bl.EXP3(3), r"EXP3: 'eta' must be a float in \(0, inf\), or 'horizon'"),
    (lambda: bl.SuccessiveRejects(5, budget=4),
     r"SuccessiveRejects: 'budget' must be an int in \[5, inf\) .*; got 4\."),
    (lambda: bl.SequentialHalving(5, budget=14),
     r"SequentialHalving: 'budget' must be an int in \[15, inf\) .*; got 14\."),
    (lambda: bl.LinUCB(3, n_features=0), r"LinUCB: 'n_features' must be an int in \[1, inf\)"),
])
def test_cross_field_checks_follow_the_template(call: Any, pattern: str) -> None:
    with pytest.raises((TypeError, ValueError), match=pattern):
        call()


# -- engines agree ----------------------------------------------------------------------------
KARMED_CASES = [pytest.param(n, kw, id=f"{n}-{i}")
                for n in POLICY_NAMES if REGISTRY[n].protocol is not CONTEXTUAL
                for i, kw in enumerate([{}, *VARIANTS.get(n, [])])]
CONTEXTUAL_CASES = [pytest.param(n, kw, id=f"{n}-{i}")
                    for n in POLICY_NAMES if REGISTRY[n].protocol is CONTEXTUAL
                    for i, kw in enumerate([{}, *VARIANTS.get(n, [])])]


@pytest.mark.parametrize(("name", "overrides"), KARMED_CASES)
@given(data=st.data())
def test_engines_bit_identical_karmed(name: str, overrides: dict[str, Any],
                                      data: st.DataObject) -> None:
    cls = REGISTRY[name]
    min_arms = 2 if cls.protocol is FIXED_BUDGET_BAI else 1
    inst = data.draw(karmed_instances(min_arms=min_arms))
    policy = make_policy(cls, inst["n_arms"], budget=inst["budget"], **overrides)
    check_engines_agree(policy, inst)


@pytest.mark.parametrize(("name", "overrides"), CONTEXTUAL_CASES)
@given(inst=linear_instances())
def test_engines_bit_identical_contextual(name: str, overrides: dict[str, Any],
                                          inst: dict[str, Any]) -> None:
    policy = make_policy(REGISTRY[name], inst["n_arms"], n_features=inst["n_features"],
                         **overrides)
    check_engines_agree(policy, inst)


# -- determinism ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", POLICY_NAMES)
def test_same_seed_same_results_and_n_jobs_invariance(name: str) -> None:
    cls = REGISTRY[name]
    env = small_env(cls, horizon=60)
    policy = make_policy(cls, env.n_arms, budget=60)
    a = bl.run_many(policy, env, n_runs=4, seed=123, n_jobs=1)
    b = bl.run_many(policy, env, n_runs=4, seed=123, n_jobs=1)
    c = bl.run_many(policy, env, n_runs=4, seed=123, n_jobs=2)
    for other in (b, c):
        assert a.regret.tobytes() == other.regret.tobytes()
        assert np.array_equal(a.pulls, other.pulls)
        assert np.array_equal(a.recommendations, other.recommendations)


def test_different_seeds_differ() -> None:
    env = bl.BernoulliBandit([0.4, 0.5, 0.6], horizon=300)
    a = bl.run_many(bl.ThompsonSampling(3), env, n_runs=3, seed=1)
    b = bl.run_many(bl.ThompsonSampling(3), env, n_runs=3, seed=2)
    assert not np.array_equal(a.pulls, b.pulls)


# -- state stability --------------------------------------------------------------------------
@pytest.mark.parametrize("name", POLICY_NAMES)
def test_state_keeps_its_structure(name: str) -> None:
    cls = REGISTRY[name]
    env = small_env(cls)
    policy = make_policy(cls, env.n_arms, budget=40).reset(seed=3)
    first = policy.state
    assert isinstance(first, tuple) and hasattr(first, "_fields")
    sig = state_signature(first)
    obs, _ = env.reset(seed=4)
    for _ in range(25):
        arm = policy.select(obs)
        assert isinstance(arm, int) and 0 <= arm < env.n_arms
        obs, reward, _, _, _ = env.step(arm)
        policy.update(arm, reward, obs)
        assert type(policy.state) is type(first)
        assert state_signature(policy.state) == sig
    # the kernel-engine final state has the same structure as the Python one
    res_policy = make_policy(cls, env.n_arms, budget=40)
    _kernel_loop(res_policy, env, 25, 4, 3)
    assert state_signature(res_policy.state) == sig


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_params_are_immutable_numbers(name: str) -> None:
    cls = REGISTRY[name]
    policy = make_policy(cls, 3)
    assert hasattr(policy.params, "_fields")
    for value in policy.params:
        assert type(value) in (int, float, bool), (name, value)
    with pytest.raises(AttributeError):
        policy.params.__setattr__(policy.params._fields[0], 1)


# -- object behaviour -------------------------------------------------------------------------
@pytest.mark.parametrize("name", POLICY_NAMES)
def test_policies_pickle(name: str) -> None:
    cls = REGISTRY[name]
    env = small_env(cls)
    policy = make_policy(cls, env.n_arms, budget=40)
    clone = pickle.loads(pickle.dumps(policy))
    assert clone.params == policy.params and clone.get_params() == policy.get_params()
    # a reset policy pickles mid-run and continues identically
    policy.reset(seed=9)
    obs, _ = env.reset(seed=10)
    for _ in range(7):
        arm = policy.select(obs)
        obs, reward, _, _, _ = env.step(arm)
        policy.update(arm, reward, obs)
    clone = pickle.loads(pickle.dumps(policy))
    _same_state(clone.state, policy.state)
    obs_c = obs.copy() if isinstance(obs, np.ndarray) else obs
    assert [clone.select(obs_c) for _ in range(1)] == [policy.select(obs)]


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_with_params_revalidates(name: str) -> None:
    cls = REGISTRY[name]
    policy = make_policy(cls, 4, budget=64)
    same = policy.with_params()
    assert same is not policy and same.params == policy.params
    param, constraint = next((p, c) for p, c in cls.constraints.items() if p != "n_arms")
    value, exc = constraint.invalid_values()[-1]
    with pytest.raises(exc, match=rf"^{name}: '{param}' must be "):
        policy.with_params(**{param: value})
    with pytest.raises(ValueError, match=rf"^{name}: 'n_arms' must be an int"):
        policy.with_params(n_arms=0)
    assert policy.with_params(n_arms=5).n_arms == 5
    assert policy.n_arms == 4


def test_with_params_changes_a_value() -> None:
    policy = bl.UCB(3, alpha=2.0)
    assert policy.with_params(alpha=0.5).params.alpha == 0.5
    assert policy.params.alpha == 2.0


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_calls_before_reset_raise(name: str) -> None:
    cls = REGISTRY[name]
    policy = make_policy(cls, 3, budget=40)
    obs = np.zeros((3, 2)) if cls.protocol is CONTEXTUAL else 0
    with pytest.raises(RuntimeError, match=rf"{name}\.select: call reset\(seed=\.\.\.\) first"):
        policy.select(obs)
    with pytest.raises(RuntimeError, match=rf"{name}\.update: call reset"):
        policy.update(0, 1.0)
    if policy.is_bai:
        with pytest.raises(RuntimeError, match=rf"{name}\.recommend: call reset"):
            policy.recommend()
    else:
        with pytest.raises(AttributeError, match="not a best-arm identification policy"):
            policy.recommend()


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_update_rejects_bad_feedback(name: str) -> None:
    cls = REGISTRY[name]
    policy = make_policy(cls, 3, budget=40).reset(seed=0)
    if cls.protocol is CONTEXTUAL:
        policy.select(np.ones((3, 2)))
    with pytest.raises(ValueError, match=rf"{name}\.update: 'action' must be an int in \[0, 2\]"):
        policy.update(3, 1.0)
    with pytest.raises(ValueError, match=rf"{name}\.update: 'reward' must be a finite float"):
        policy.update(0, float("nan"))


def test_contextual_select_checks_the_context_shape() -> None:
    policy = bl.LinUCB(3, n_features=2).reset(seed=0)
    with pytest.raises(ValueError, match=r"LinUCB\.select: 'obs' must be an array of shape "
                                         r"\(3, 2\)"):
        policy.select(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match=r"LinUCB\.update: call select\(obs\) before"):
        policy.update(0, 1.0)


def test_action_probabilities_only_for_randomised_policies() -> None:
    with pytest.raises(AttributeError, match="UCB does not expose action probabilities"):
        bl.UCB(2).reset(seed=0).action_probabilities()
    probs = bl.Uniform(4, mode="random").reset(seed=0).action_probabilities()
    assert np.allclose(probs, 0.25)


@pytest.mark.parametrize("name", POLICY_NAMES)
@pytest.mark.parametrize(("action", "reward", "exc", "pattern"), [
    (True, 1.0, TypeError, r"'action' must be an int in \[0, 2\]; got bool True"),
    (0.0, 1.0, TypeError, r"'action' must be an int in \[0, 2\]; got float 0\.0"),
    ("1", 1.0, TypeError, r"'action' must be an int"),
    (0, True, TypeError, r"'reward' must be a finite float; got bool True"),
    (0, "1", TypeError, r"'reward' must be a finite float; got str"),
    (0, complex(1, 1), TypeError, r"'reward' must be a finite float; got complex"),
])
def test_update_refuses_bools_floats_and_strings(name: str, action: Any, reward: Any,
                                                 exc: type[Exception], pattern: str) -> None:
    cls = REGISTRY[name]
    policy = make_policy(cls, 3, budget=40).reset(seed=0)
    if cls.protocol is CONTEXTUAL:
        policy.select(np.ones((3, 2)))
    with pytest.raises(exc, match=rf"^{name}\.update: {pattern}"):
        policy.update(action, reward)
    policy.update(np.int64(1), np.float32(1.0))            # numpy scalars are numbers


@pytest.mark.parametrize(("obs", "exc", "pattern"), [
    (np.full((3, 2), np.nan), ValueError, "got non-finite entries"),
    (np.array([[1.0, np.inf], [0.0, 0.0], [0.0, 0.0]]), ValueError, "non-finite"),
    (np.ones((3, 2), dtype=complex), TypeError, "got dtype complex128"),
    (np.ones((3, 2), dtype=bool), TypeError, "got dtype bool"),
    ([["a", "b"]] * 3, TypeError, "got dtype <U1"),
])
def test_contextual_select_refuses_non_finite_or_non_real_contexts(obs: Any, exc: type,
                                                                   pattern: str) -> None:
    policy = bl.LinUCB(3, n_features=2).reset(seed=0)
    with pytest.raises(exc, match=rf"LinUCB\.select: 'obs' must be a finite real array .*"
                                  rf"{pattern}"):
        policy.select(obs)
    assert policy.select(np.ones((3, 2), dtype=np.int64)) in range(3)
