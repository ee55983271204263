"""BatchedPolicy: N copies in one compiled call, each bit-identical to the single policy."""

from __future__ import annotations

import numpy as np
import pytest

import banditlab as bl
from banditlab.batched import BatchedPolicy
from banditlab.policies import REGISTRY
from banditlab.protocols import CONTEXTUAL
from banditlab.reward_models import RewardModel
from tests.contracts.test_policies import make_policy

N_ARMS, N_FEATURES, SEEDS = 4, 3, [5, 17, 29]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_copy_takes_the_single_policy_s_actions(name):
    policy = make_policy(REGISTRY[name], N_ARMS, n_features=N_FEATURES)
    batch = BatchedPolicy(policy, len(SEEDS)).reset(seed=SEEDS)
    singles = [make_policy(REGISTRY[name], N_ARMS, n_features=N_FEATURES).reset(seed=s)
               for s in SEEDS]
    contextual = policy.protocol is CONTEXTUAL
    rng = np.random.default_rng(1)
    for t in range(60):
        ctx = rng.normal(size=(len(SEEDS), N_ARMS, N_FEATURES)) if contextual else None
        actions = batch.select(ctx)
        ref = [p.select(None if ctx is None else ctx[i]) for i, p in enumerate(singles)]
        assert actions.tolist() == ref, (name, t)
        low, high = policy.reward_model.low, policy.reward_model.high
        rewards = rng.random(len(SEEDS)) < 0.5 if policy.reward_model.kind == "bernoulli" \
            else np.clip(rng.random(len(SEEDS)), low, high)
        rewards = np.asarray(rewards, dtype=float)
        batch.update(actions, rewards)
        for p, a, r in zip(singles, ref, rewards):
            p.update(a, float(r))
    for i, p in enumerate(singles):
        for x, y in zip(batch.state(i), p.state):
            assert np.array_equal(x, y)


def test_one_int_seed_gives_copy_i_the_policy_seed_of_run_i():
    """reset(seed=s) follows the library's one derivation: copy i = run i of run_many(seed=s)."""
    batch = BatchedPolicy(bl.ThompsonSampling(3), 4).reset(seed=123)
    from banditlab._seeding import run_seed_pair

    singles = [bl.ThompsonSampling(3).reset(seed=run_seed_pair(123, i)[1]) for i in range(4)]
    for _ in range(30):
        assert batch.select().tolist() == [p.select() for p in singles]
        acts = batch.select()
        batch.update(acts, np.ones(4))
        for p in singles:
            p.update(p.select(), 1.0)


def test_copies_are_independent_and_fresh_entropy_differs():
    a = BatchedPolicy(bl.ThompsonSampling(5), 50).reset(seed=0)
    assert len(set(map(tuple, [a.select() for _ in range(3)]))) > 1 or \
        len(set(a.select().tolist())) > 1
    b1 = BatchedPolicy(bl.ThompsonSampling(5), 20).reset()
    b2 = BatchedPolicy(bl.ThompsonSampling(5), 20).reset()
    assert [b1.select().tolist() for _ in range(5)] != [b2.select().tolist() for _ in range(5)]


BAD = [
    (lambda b: b.update([0, 1], [1.0, 0.0]), ValueError, r"'actions' must have shape \(3,\); "
                                                          r"got \(2,\)"),
    (lambda b: b.update([0, 1, 4], [1.0, 0.0, 1.0]), ValueError,
     r"'actions' must be ints in \[0, 3\]; got 4\."),
    (lambda b: b.update([0.0, 1.0, 2.0], [1.0, 0.0, 1.0]), TypeError,
     r"'actions' must be an int array"),
    (lambda b: b.update([0, 1, 2], [1.0, np.nan, 1.0]), ValueError,
     r"'rewards' must be finite floats; got nan"),
    (lambda b: b.update([0, 1, 2], [1.0, 1.5, 1.0]), ValueError,
     r"'rewards' must be a float in \[0, 1\] \(ThompsonSampling assumes .*got 1\.5\."),
    (lambda b: b.update([0, 1, 2], ["a", "b", "c"]), TypeError, r"'rewards' must be a finite "),
    (lambda b: b.update(np.array([0, 2**64 - 1, 2], np.uint64), [1.0, 0.0, 1.0]), ValueError,
     r"'actions' must be ints in \[0, 3\]; got 18446744073709551615\."),
    (lambda b: b.update([0, 1, 2], [1.0, 0.0, -np.inf]), ValueError,
     r"'rewards' must be finite floats; got -inf"),
    (lambda b: b.update([0, [1], 2], [1.0, 0.0, 1.0]), TypeError,
     r"'actions' must be an int array of shape \(3,\); got list"),
    (lambda b: b.update([0, 1, 2], [1.0, [0.0, 1.0], 1.0]), TypeError,
     r"'rewards' must be a finite float array of shape \(3,\); got list"),
    (lambda b: b.reset(seed=[1, 2]), ValueError, r"'seed' must hold one seed per copy \(3\); "
                                                 r"got 2\."),
    (lambda b: b.reset(seed=True), TypeError, r"'seed' must be None, an int in \[0, inf\) or"),
    (lambda b: b.reset(seed=[1, -2, 3]), ValueError, r"'seed' must be None or an int in "),
    (lambda b: b.state(3), ValueError, r"'i' must be an int in \[0, 2\]; got 3\."),
]


@pytest.mark.parametrize(("call", "exc", "pattern"), BAD)
def test_bad_input_names_the_parameter(call, exc, pattern):
    batch = BatchedPolicy(bl.ThompsonSampling(4), 3).reset(seed=0)
    with pytest.raises(exc, match=pattern):
        call(batch)


def test_a_refused_update_changes_no_copy_and_the_model_checks_follow_the_policy():
    """The one-pass check refuses before any copy is updated; integer models refuse
    fractions, and check_rewards = False lets any finite reward through."""
    batch = BatchedPolicy(bl.BayesUCB(4), 3).reset(seed=0)       # Bernoulli: 0 or 1
    batch.update(batch.select(), [1.0, 0.0, 1.0])
    before = [np.copy(f) for f in batch.states]
    for rewards in ([1.0, 0.5, 1.0], [1.0, 1.0, 2.0]):
        with pytest.raises(ValueError, match=r"'rewards' must be 0 or 1 "):
            batch.update([0, 1, 2], rewards)
    with pytest.raises(ValueError, match=r"'actions' must be ints in \[0, 3\]; got -1\."):
        batch.update([0, 1, -1], [1.0, 1.0, 1.0])
    for f, g in zip(batch.states, before):
        assert np.array_equal(f, g)
    batch.policy.check_rewards = False
    batch.update([0, 1, 2], [1.0, 0.5, 2.0])
    assert batch.state(1).t == 2


def test_arrays_as_select_and_vector_envs_return_them_get_the_same_results_and_checks():
    """int64 actions and float64 rewards of shape (n_copies,) go to the compiled call without
    conversion: strided views and read-only arrays give the results of contiguous copies, a
    refusal is the one the converting path gives, and a reward model or check_rewards
    replaced between two steps holds from the next step."""
    a = BatchedPolicy(bl.UCB(4), 3).reset(seed=1)
    b = BatchedPolicy(bl.UCB(4), 3).reset(seed=1)
    rng = np.random.default_rng(0)
    for batch in (a, b):            # contiguous arrays first: the compiled call is made for them
        batch.update(batch.select(), np.array([1.0, 0.0, 1.0]))
    for _ in range(30):
        acts = a.select()
        assert np.array_equal(acts, b.select())
        pairs = rng.random((3, 2))
        a.update(np.repeat(acts, 2)[::2], pairs[:, 1])            # strided views
        frozen = acts.copy()
        frozen.flags.writeable = False
        b.update(frozen, np.ascontiguousarray(pairs[:, 1]))       # read-only, contiguous
    for f, g in zip(a.states, b.states):
        assert np.array_equal(f, g)

    batch = BatchedPolicy(bl.ThompsonSampling(4), 3).reset(seed=0)
    batch.update(batch.select(), np.array([1.0, 0.0, 1.0]))
    before = [np.copy(f) for f in batch.states]
    for acts, rewards, pattern in [
            ([0, 1, 4], [1.0, 0.0, 1.0], r"'actions' must be ints in \[0, 3\]; got 4\."),
            ([0, 1, 2], [1.0, np.nan, 1.0], r"'rewards' must be finite floats; got nan"),
            ([0, 1, 2], [1.0, 1.5, 1.0],
             r"'rewards' must be a float in \[0, 1\] \(ThompsonSampling assumes .*got 1\.5\.")]:
        with pytest.raises(ValueError, match=pattern):
            batch.update(np.array(acts, dtype=np.int64), np.array(rewards))
    for f, g in zip(batch.states, before):
        assert np.array_equal(f, g)
    batch.policy.check_rewards = False
    batch.update(np.array([0, 1, 2]), np.array([1.0, 1.5, 1.0]))
    batch.policy.check_rewards = True
    with pytest.raises(ValueError, match=r"'rewards' must be a float in \[0, 1\]"):
        batch.update(np.array([0, 1, 2]), np.array([1.0, 1.5, 1.0]))
    batch.policy.reward_model = RewardModel.any()
    batch.update(np.array([0, 1, 2]), np.array([1.0, 1.5, 1.0]))
    # two updates of copy 1's arm 1 went through (check_rewards off, then the model replaced)
    plays = batch.state(1).successes[1] + batch.state(1).failures[1]
    assert plays - (before[0][1][1] + before[1][1][1]) == 2.0
    with pytest.raises(RuntimeError, match=r"call reset\(seed=\.\.\.\) first"):
        BatchedPolicy(bl.UCB(3), 2).update(np.zeros(2, dtype=np.int64), np.zeros(2))


def test_bad_construction_and_order():
    with pytest.raises(ValueError, match=r"'n_copies' must be an int in \[1, 2147483648\]; "
                                         r"got 0\."):
        BatchedPolicy(bl.UCB(3), 0)
    with pytest.raises(TypeError, match=r"'policy' must be a Policy with compiled kernels"):
        BatchedPolicy("UCB", 3)
    with pytest.raises(RuntimeError, match=r"call reset\(seed=\.\.\.\) first"):
        BatchedPolicy(bl.UCB(3), 2).select()
    lin = BatchedPolicy(bl.LinUCB(3, n_features=2), 2).reset(seed=0)
    with pytest.raises(ValueError, match=r"'obs' must be an array of shape \(2, 3, 2\)"):
        lin.select(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match=r"call select\(obs\) before update"):
        lin.update([0, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="memory"):
        BatchedPolicy(bl.UCB(2**20), 2**31).reset(seed=0)


def test_states_must_be_arrays_and_numbers() -> None:
    """BatchedPolicy stores field k of every copy's state as one array: a State with another
    kind of field, or more fields than the gather is written for, is refused by name."""
    from typing import NamedTuple

    import pytest

    from banditlab.batched import MAX_STATE_FIELDS, _stack_states

    class Odd(NamedTuple):
        t: int
        pair: tuple

    with pytest.raises(TypeError, match=r"state field 'pair' must be an array or a number; "
                                        r"got tuple"):
        _stack_states([Odd(0, (1, 2))], "x")
    wide = NamedTuple("Wide", [(f"f{k}", int) for k in range(MAX_STATE_FIELDS + 1)])
    with pytest.raises(TypeError, match=r"NamedTuple of 1 to 8 arrays and numbers; got Wide"):
        _stack_states([wide(*range(MAX_STATE_FIELDS + 1))], "x")
    fields = _stack_states([Odd(3, None)._replace(pair=np.ones(2)),
                            Odd(4, None)._replace(pair=np.zeros(2))], "x")
    np.testing.assert_array_equal(fields[0], [3, 4])
    assert fields[1].shape == (2, 2) and fields[1].flags.c_contiguous
