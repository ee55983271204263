"""Contract tests over every registered ``SOLVER_SEQUENCE`` learner (scalar-context SOR tuning).

* every declared constraint rejects generated invalid values with the message template;
* the whole-table loop (:func:`banditlab.engine.run_cost_table`) and the step-by-step API give
  identical arms, final state and random stream (a hypothesis property over tables and seeds);
* same seed, same arms; a learner pickled mid-run continues identically.
"""

from __future__ import annotations

import pickle
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from banditlab.protocols import SOLVER_SEQUENCE
from banditlab.registry import algorithms
from banditlab.sor_tuning import play_on_table

LEARNERS = algorithms(SOLVER_SEQUENCE)
NAMES = sorted(LEARNERS)


def make(name: str, n_arms: int) -> Any:
    return LEARNERS[name](n_arms, **LEARNERS[name]._contract_kwargs)


def test_there_are_learners_to_check() -> None:
    assert {"ChebCB", "TsallisINFCB"} <= set(NAMES)


CASES = [pytest.param(n, p, v, e, id=f"{n}-{p}-{i}") for n in NAMES
         for p, c in LEARNERS[n].constraints.items()
         for i, (v, e) in enumerate(c.invalid_values())]


@pytest.mark.parametrize(("name", "param", "value", "exc"), CASES)
def test_every_constraint_rejects_invalid_values(name: str, param: str, value: Any,
                                                 exc: type[Exception]) -> None:
    kwargs = {"n_arms": 3, **LEARNERS[name]._contract_kwargs, param: value}
    with pytest.raises(exc) as info:
        LEARNERS[name](kwargs.pop("n_arms"), **kwargs)
    assert re.fullmatch(rf"{name}: '{param}' must be .+; got .+\.", str(info.value), re.S)


def _table(seed: int, n_rounds: int, n_arms: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    contexts = rng.uniform(0.0, 1.0, n_rounds)
    costs = rng.integers(1, 400, size=(n_rounds, n_arms))
    return contexts, costs


def _same_state(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("name", NAMES)
@given(n_rounds=st.integers(1, 60), n_arms=st.integers(2, 6), table_seed=st.integers(0, 2**32),
       seed=st.integers(0, 2**63 - 1))
def test_kernel_loop_equals_step_api(name: str, n_rounds: int, n_arms: int, table_seed: int,
                                     seed: int) -> None:
    contexts, costs = _table(table_seed, n_rounds, n_arms)
    fast, slow = make(name, n_arms), make(name, n_arms)
    arms_k = play_on_table(fast, contexts, costs, seed=seed, engine="kernel")
    arms_p = play_on_table(slow, contexts, costs, seed=seed, engine="python")
    np.testing.assert_array_equal(arms_k, arms_p)
    _same_state(fast.state, slow.state)
    assert fast.rng.bit_generator.state == slow.rng.bit_generator.state


@pytest.mark.parametrize("name", NAMES)
def test_determinism_and_pickling_mid_run(name: str) -> None:
    contexts, costs = _table(5, 40, 4)
    first = play_on_table(make(name, 4), contexts, costs, seed=11)
    assert np.array_equal(first, play_on_table(make(name, 4), contexts, costs, seed=11))
    learner = make(name, 4).reset(seed=11)
    for t in range(20):
        arm = learner.select(float(contexts[t]))
        learner.update(arm, -float(costs[t, arm]))
    clone = pickle.loads(pickle.dumps(learner))
    rest = []
    for agent in (learner, clone):
        arms = []
        for t in range(20, 40):
            arm = agent.select(float(contexts[t]))
            agent.update(arm, -float(costs[t, arm]))
            arms.append(arm)
        rest.append(arms)
    assert rest[0] == rest[1] == first[20:].tolist()
