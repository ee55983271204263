"""BestPerm and value iteration against brute force (spec checklist items 2-4).

The reference is independent of the kernels: plain Python enumeration of every ordered list
with ``itertools.permutations`` and the *forward* formula of the list value.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banditlab.cascading import (
    best_list_brute_force,
    best_perm,
    enumerate_lists,
    list_value_of,
    value_iteration,
)
from banditlab.envs.cascading import CascadingMDP, random_cascading_mdp
from banditlab.envs.cascading_kernels import (
    best_list_exhaustive,
    eval_box,
    list_value,
    list_value_forward,
    stable_argsort,
)


def forward_value(items, u, w, w_bot) -> float:
    survive, total = 1.0, 0.0
    for a in items:
        total += survive * u[a] * w[a]
        survive *= 1.0 - u[a]
    return total + survive * w_bot


def reference_best(u, w, w_bot, m) -> float:
    n = len(u)
    return max(forward_value(perm, u, w, w_bot)
               for k in range(1, m + 1) for perm in itertools.permutations(range(n), k))


# values from a small grid produce ties in u, in w and between w and w_bot; 0 and 1 included
GRID = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])


@st.composite
def oracle_instances(draw):
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, min(3, n)))
    tied = draw(st.booleans())
    unit = GRID if tied else st.floats(0.0, 1.0, allow_nan=False)
    u = np.array(draw(st.lists(unit, min_size=n, max_size=n)))
    w = np.array(draw(st.lists(GRID if tied else st.floats(-1.0, 3.0), min_size=n, max_size=n)))
    w_bot = draw(GRID if tied else st.floats(-1.0, 3.0))
    return u, w, w_bot, m


@settings(deadline=None, max_examples=300)
@given(oracle_instances())
def test_best_perm_equals_brute_force(inst) -> None:
    u, w, w_bot, m = inst
    value, items = best_perm(u, w, w_bot, m)
    ref = reference_best(u, w, w_bot, m)
    assert value == pytest.approx(ref, abs=1e-12)
    # a valid non-empty list of distinct items, whose value is the reported one
    assert 1 <= items.size <= m and len(set(items.tolist())) == items.size
    assert forward_value(items, u, w, w_bot) == pytest.approx(value, abs=1e-12)
    # the kernel exhaustive oracle agrees too
    assert best_list_brute_force(u, w, w_bot, m)[0] == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize(("u", "w", "w_bot", "m", "value", "items"), [
    # J = 0: no item beats the no-click weight: the least harmful single item
    ([0.5, 0.1, 0.9], [0.0, 0.2, 0.4], 1.0, 2, 1.0 - 0.1 * 0.8, [1]),
    # J = 0 with neutral items (u = 0 or w = w_bot): all of them shown, larger w first
    ([0.0, 0.5, 0.3, 0.0], [0.2, 1.0, 0.5, 0.9], 1.0, 3, 1.0, [1, 3, 0]),
    # J < m: the free slot takes a neutral item (w = w_bot) below the DP's choice
    ([0.5, 0.5, 0.7], [2.0, 1.0, 0.3], 1.0, 3, 1.5, [0, 1]),
    # all attractions zero: any non-empty list is worth w_bot; the list is still non-empty
    ([0.0, 0.0, 0.0], [2.0, 1.0, 3.0], 0.5, 2, 0.5, [2, 0]),
    # J < m: keep every item beating w_bot, sorted by w
    ([0.5, 0.5, 0.5], [1.0, 0.0, 2.0], 0.5, 3, 0.5 * 2 + 0.25 * 1 + 0.25 * 0.5, [2, 0]),
    # J > m: the DP drops the high-w but unattractive item in favour of two attractive ones
    ([0.01, 0.9, 0.9], [3.0, 1.0, 0.9], 0.0, 2, 0.9 * 1.0 + 0.1 * 0.9 * 0.9, [1, 2]),
])
def test_best_perm_worked_cases(u, w, w_bot, m, value, items) -> None:
    got_value, got_items = best_perm(u, w, w_bot, m)
    assert got_value == pytest.approx(value, abs=1e-12)
    assert got_items.tolist() == items
    assert got_value == pytest.approx(reference_best(np.array(u), np.array(w), w_bot, m),
                                      abs=1e-12)


@settings(deadline=None, max_examples=150)
@given(oracle_instances(), st.integers(0, 2**32 - 1))
def test_optimistic_box_oracle_equals_brute_force_over_the_box(inst, seed) -> None:
    """BestPerm(u_hi, u_lo) = max over lists and over the attraction box (CascadingVI's V̄)."""
    u_hi, w, w_bot, m = inst
    rng = np.random.default_rng(seed)
    u_lo = u_hi * rng.random(u_hi.shape)
    value, items = best_perm(u_hi, w, w_bot, m, u_lo=u_lo)
    brute, _ = best_list_brute_force(u_hi, w, w_bot, m, u_lo=u_lo, u_hi=u_hi)
    assert value == pytest.approx(brute, abs=1e-12)
    # the returned list attains it over the box (neutral fill-ins included)
    k = items.size
    row = np.append(items, np.full(m - k, -1)).astype(np.int64)
    assert eval_box(row, k, u_lo, u_hi, w, w_bot, True) == pytest.approx(value, abs=1e-12)
    # independent check of EVAL_MAX itself: the box maximum is attained at a vertex
    n = len(u_hi)
    lists, lengths = enumerate_lists(n, m)
    for row, k in zip(lists[:20], lengths[:20]):
        items = row[:k]
        vertex = max(forward_value(items, np.where(np.array(mask), u_hi, u_lo), w, w_bot)
                     for mask in itertools.product([False, True], repeat=n))
        low = min(forward_value(items, np.where(np.array(mask), u_hi, u_lo), w, w_bot)
                  for mask in itertools.product([False, True], repeat=n))
        assert eval_box(row, k, u_lo, u_hi, w, w_bot, True) == pytest.approx(vertex, abs=1e-12)
        assert eval_box(row, k, u_lo, u_hi, w, w_bot, False) == pytest.approx(low, abs=1e-12)


@settings(deadline=None, max_examples=100)
@given(oracle_instances())
def test_forward_and_backward_values_agree(inst) -> None:
    u, w, w_bot, m = inst
    lists, lengths = enumerate_lists(len(u), m)
    for row, k in zip(lists, lengths):
        back = list_value(row, k, u, w, w_bot)
        assert back == pytest.approx(list_value_forward(row, k, u, w, w_bot), abs=1e-12)
        assert back == pytest.approx(forward_value(row[:k], u, w, w_bot), abs=1e-12)


@settings(deadline=None, max_examples=200)
@given(oracle_instances(), st.integers(0, 2**32 - 1))
def test_exhaustive_enumeration_equals_a_plain_scan(inst, seed) -> None:
    """The depth-first exhaustive oracle (CascadingVI-Oracle's) equals scanning every row of
    ``enumerate_lists`` with ``eval_box``: the same value bit for bit, and the same list under
    the stated tie rule (largest value, then longest, then lexicographically first)."""
    u_hi, w, w_bot, m = inst
    rng = np.random.default_rng(seed)
    # half the cases on a point (u_lo = u_hi), half on a box; ties survive either way
    u_lo = u_hi.copy() if seed % 2 else np.round(u_hi * rng.random(u_hi.shape) * 4) / 4
    u_lo = np.minimum(u_lo, u_hi)
    lists, lengths = enumerate_lists(len(u_hi), m)
    scan = [(eval_box(row, k, u_lo, u_hi, w, w_bot, True), k, tuple(row[:k]))
            for row, k in zip(lists, lengths)]
    top = max(v for v, _, _ in scan)
    longest = max(k for v, k, _ in scan if v == top)
    expected = min(items for v, k, items in scan if v == top and k == longest)
    out = np.full(m, -7, np.int64)
    value, k = best_list_exhaustive(u_lo, u_hi, w, w_bot, m, out)
    assert value == top                              # bit-identical, not approximately
    assert tuple(out[:k].tolist()) == expected
    assert (out[k:] == -1).all()


def test_enumerate_lists_counts() -> None:
    lists, lengths = enumerate_lists(5, 3)
    assert lists.shape == (5 + 20 + 60, 3)
    assert len({tuple(r) for r in lists}) == lists.shape[0]
    assert lengths.tolist() == [1] * 5 + [2] * 20 + [3] * 60
    assert lists[0].tolist() == [0, -1, -1]


@pytest.mark.parametrize(("call", "exc", "pattern"), [
    (lambda: best_perm([0.5, 1.5], [1, 2], 0.0, 1), ValueError,
     r"best_perm: 'u' must be a 1-d array of floats .*entries in \[0, 1\]"),
    (lambda: best_perm([0.5, 0.5], [1, 2, 3], 0.0, 1), ValueError,
     r"best_perm: 'w' must be a 1-d array of floats of shape \(2,\); got shape \(3,\)"),
    (lambda: best_perm([0.5, 0.5], [1, 2], 0.0, 3), ValueError,
     r"best_perm: 'm' must be an int in \[1, 2\]; got 3"),
    (lambda: best_perm([0.5, 0.5], [1, 2], "x", 1), TypeError,
     r"best_perm: 'w_bot' must be a float"),
    (lambda: best_perm([0.5, 0.5], [1, 2], 0.0, 1, u_lo=[0.1]), ValueError,
     r"best_perm: 'u_lo' must be a 1-d array of floats of shape \(2,\)"),
    (lambda: list_value_of([0, 0], [0.5, 0.5], [1, 2], 0.0), ValueError,
     r"list_value_of: 'action' must be a list .*\(item 0 is repeated\)"),
])
def test_oracle_validation(call, exc, pattern) -> None:
    with pytest.raises(exc, match=pattern):
        call()


# -- value iteration (checklist 4) -------------------------------------------------------------
def reference_value_iteration(env: CascadingMDP) -> np.ndarray:
    """Dense numpy backward induction enumerating every list in Python."""
    q, r, p = env.attraction, env.rewards, env.transitions
    S, N = q.shape
    v = np.zeros((env.horizon + 1, S))
    lists = [perm for k in range(1, env.list_size + 1)
             for perm in itertools.permutations(range(N), k)]
    for h in range(env.horizon - 1, -1, -1):
        for s in range(S):
            w = r[s] + p[s, :N] @ v[h + 1]
            w_bot = p[s, N] @ v[h + 1]
            v[h, s] = max(forward_value(A, q[s], w, w_bot) for A in lists)
    return v


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 3), st.integers(1, 4),
       st.integers(0, 2**32 - 1), st.booleans())
def test_value_iteration_with_best_perm_equals_exhaustive(S, N, m, H, seed, sparse) -> None:
    m = min(m, N)
    env = random_cascading_mdp(S, N, m, H, seed=seed)
    if sparse:  # zero attractions and tied rewards
        q = env.attraction
        q[q < 0.4] = 0.0
        r = np.round(env.rewards * 2) / 2
        env = CascadingMDP(q, r, env.transitions, list_size=m, horizon=H)
    v_bp, pol_bp = value_iteration(env)
    v_ex, _ = value_iteration(env, oracle="exhaustive")
    np.testing.assert_allclose(v_bp, v_ex, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v_bp, reference_value_iteration(env), rtol=0, atol=1e-12)
    # BestPerm's policy attains the optimal value
    np.testing.assert_allclose(env.policy_values(pol_bp), v_bp, rtol=0, atol=1e-12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.5, np.inf, -np.inf, np.nan]) |
                st.floats(-3.0, 3.0), max_size=70))
def test_stable_argsort_is_numpys_mergesort(values: list[float]) -> None:
    """The oracle's hand-written stable sort gives numpy's mergesort permutation, ties (equal
    keys, 0.0 and -0.0), infinities and NaNs included."""
    key = np.array(values, dtype=np.float64)
    got = stable_argsort(key)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argsort(key, kind="mergesort"))


def test_a_planner_compiles_only_the_oracle_it_names() -> None:
    """The oracle reaches the planners as a static code (issue 15: compile what a call uses):
    compiled for BESTPERM, ``best_list`` refers to BestPerm only; EXHAUSTIVE is the canary
    that shows the exhaustive oracle when it is named. ``cvi_plan`` asks ``oracle_of(params)``,
    which reads the class of the params when compiling: EXHAUSTIVE for CascadingVI-Oracle's
    ``CascadingVIOracleParams``, BESTPERM for CascadingVI's ``CascadingVIParams``."""
    import numba

    from banditlab.cascading import CascadingVI, CascadingVIOracle
    from banditlab.envs.cascading_kernels import BESTPERM, EXHAUSTIVE, best_list

    fresh = numba.njit(best_list.py_func)        # compiled here, not loaded from the cache
    u = np.array([0.2, 0.5, 0.9])
    w = np.array([1.0, 0.5, 0.2])
    out = np.full(2, -1, np.int64)
    values = {}
    for oracle in (BESTPERM, EXHAUSTIVE):
        values[len(oracle)] = fresh(oracle, u, u, w, 0.0, 2, out)[0]
    code = {len(sig[0]): fresh.inspect_llvm(sig) for sig in fresh.signatures}
    assert "best_perm_kernel" in code[0] and "best_list_exhaustive" not in code[0]
    assert "best_list_exhaustive" in code[1] and "best_perm_kernel" not in code[1]
    brute = max(forward_value(items, u, w, 0.0) for k in (1, 2)
                for items in itertools.permutations(range(3), k))
    # forward and backward sums round differently: equal to a few ulps, not bit for bit
    assert values[0] == pytest.approx(brute, rel=1e-12)
    assert values[1] == pytest.approx(brute, rel=1e-12)

    from banditlab.cascading.kernels import CascadingVIOracleParams, CascadingVIParams, oracle_of

    env = random_cascading_mdp(2, 3, 2, 2, seed=0)
    plain, oracle = CascadingVI.for_env(env).params, CascadingVIOracle.for_env(env).params
    assert type(plain) is CascadingVIParams and not plain.exhaustive
    assert type(oracle) is CascadingVIOracleParams and oracle.exhaustive
    assert oracle_of(plain) == BESTPERM and oracle_of(oracle) == EXHAUSTIVE

    @numba.njit
    def code_length(params):
        return len(oracle_of(params))

    assert code_length(plain) == 0 and code_length(oracle) == 1
