"""Seeding helpers and the declarative constraints behind every error message."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from gymnasium.utils import seeding as gym_seeding
from hypothesis import given
from hypothesis import strategies as st

import banditlab as bl
from banditlab._seeding import as_seed_sequence, make_rng, spawn_run_seeds
from banditlab._validation import (
    Array,
    Boolean,
    Integer,
    Options,
    Real,
    check_array,
    check_bool,
    check_integer,
    check_option,
    check_real,
    validate,
)

TEMPLATE = re.compile(r"Owner: 'x' must be .+; got .+\.", re.S)


# -- seeding ----------------------------------------------------------------------------------
def test_as_seed_sequence() -> None:
    ss = np.random.SeedSequence(4)
    assert as_seed_sequence(ss) is ss
    assert as_seed_sequence(7).entropy == 7
    assert as_seed_sequence(np.int64(7)).entropy == 7
    a, b = as_seed_sequence(None), as_seed_sequence(None)
    assert a.entropy != b.entropy
    with pytest.raises(ValueError, match=r"^Owner: 'seed' must be None, a non-negative int or "
                                         r"a numpy.random.SeedSequence; got -3\.$"):
        as_seed_sequence(-3, owner="Owner")
    for bad in (True, 1.0, "1", np.random.default_rng(0)):
        with pytest.raises(TypeError, match=r"'seed' must be None, a non-negative int"):
            as_seed_sequence(bad)


def test_spawn_run_seeds_is_prefix_stable_and_distinct() -> None:
    entropy, five = spawn_run_seeds(11, 5)
    _, three = spawn_run_seeds(11, 3)
    assert entropy == 11 and three == five[:3]
    flat = [s for pair in five for s in pair]
    assert len(set(flat)) == 10
    assert all(isinstance(s, int) and 0 <= s < 2 ** 64 for s in flat)


def test_make_rng_matches_gymnasium() -> None:
    for seed in (0, 1, 2 ** 63 + 5):
        ours = make_rng(seed)
        theirs, _ = gym_seeding.np_random(seed)
        assert ours.bit_generator.state == theirs.bit_generator.state
    assert make_rng(None).random() != make_rng(None).random()


# -- constraints ------------------------------------------------------------------------------
CONSTRAINTS = [
    Real(), Real(0.0, None, closed="neither"), Real(0.0, 1.0), Real(0.0, 1.0, closed="left"),
    Real(None, 5.0, closed="right"), Real(0.0, None, allow_none=True),
    Integer(), Integer(1, None), Integer(2, 10), Integer(0, None, allow_none=True),
    Boolean(), Options(("a", "b")),
    Array(1), Array(2, low=0.0, high=1.0), Array(1, dtype=np.int64, low=0),
    Array(1, low=0.0, closed="neither", allow_none=True), Array(2, shape=(None, 3)),
]


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: c.describe())
def test_invalid_values_are_rejected_with_the_template(constraint: Any) -> None:
    cases = constraint.invalid_values()
    assert cases, "every constraint must produce invalid values"
    assert any(exc is TypeError for _, exc in cases)
    for value, exc in cases:
        with pytest.raises(exc) as info:
            constraint.check(value, "x", "Owner")
        assert type(info.value) is exc
        assert TEMPLATE.fullmatch(str(info.value)), str(info.value)
        assert constraint.describe() in str(info.value)


@pytest.mark.parametrize(("constraint", "text"), [
    (Real(0.0, None, closed="neither"), "a float in (0, inf)"),
    (Real(0.0, 1.0), "a float in [0, 1]"),
    (Real(0.0, 1.0, closed="left"), "a float in [0, 1)"),
    (Real(None, 2.5, closed="right"), "a float in (-inf, 2.5]"),
    (Real(allow_none=True), "a float in (-inf, inf) or None"),
    (Integer(1, None), "an int in [1, inf)"),
    (Integer(2, 10), "an int in [2, 10]"),
    (Boolean(), "a bool"),
    (Options(("x", "y")), "one of 'x', 'y'"),
    (Array(1), "a 1-d array of floats (non-empty)"),
    (Array(2, low=0.0, high=1.0), "a 2-d array of floats (non-empty) with entries in [0, 1]"),
    (Array(1, dtype=np.int64, min_len=2), "a 1-d array of ints with at least 2 entries per axis"),
    (Array(2, shape=(None, 3)), "a 2-d array of floats of shape (any, 3)"),
])
def test_descriptions(constraint: Any, text: str) -> None:
    assert constraint.describe() == text


def test_the_issue_example_message() -> None:
    with pytest.raises(ValueError) as info:
        Real(0.0, None, closed="neither").check(-1, "alpha", "UCB")
    assert str(info.value) == "UCB: 'alpha' must be a float in (0, inf); got -1."


@given(x=st.floats(allow_nan=True, allow_infinity=True))
def test_real_accepts_exactly_finite_values_in_range(x: float) -> None:
    c = Real(0.0, 1.0, closed="right")
    if np.isfinite(x) and 0.0 < x <= 1.0:
        assert c.check(x, "x", "Owner") == x
    else:
        with pytest.raises(ValueError, match=TEMPLATE):
            c.check(x, "x", "Owner")


@given(n=st.integers(-10, 20))
def test_integer_bounds_are_closed(n: int) -> None:
    c = Integer(0, 10)
    if 0 <= n <= 10:
        assert c.check(np.int32(n), "x", "Owner") == n
        assert type(c.check(np.int32(n), "x", "Owner")) is int
    else:
        with pytest.raises(ValueError, match=r"Owner: 'x' must be an int in \[0, 10\]"):
            c.check(n, "x", "Owner")


def test_coercions() -> None:
    assert type(Real().check(np.float32(0.5), "x", "O")) is float
    assert type(Real().check(3, "x", "O")) is float
    assert Boolean().check(np.bool_(True), "x", "O") is True
    assert Real(allow_none=True).check(None, "x", "O") is None
    with pytest.raises(TypeError, match=r"O: 'x' must be a float in \(-inf, inf\); got NoneType"):
        Real().check(None, "x", "O")
    src = [[1, 2], [3, 4]]
    out = Array(2).check(src, "x", "O")
    assert out.dtype == np.float64 and out.flags.c_contiguous
    view = np.arange(12.0).reshape(3, 4)[:, ::2]
    got = Array(2).check(view, "x", "O")
    assert got.flags.c_contiguous and np.array_equal(got, view)
    got[0, 0] = 99.0
    assert view[0, 0] == 0.0  # a copy, never a view of the caller's data


@pytest.mark.parametrize(("value", "exc", "pattern"), [
    ([0.5, 1.5], TypeError, r"a 1-d array of ints"),  # floats where ints are required
    ([True, False], TypeError, r"got list"),
    (np.array(["a"]), TypeError, r"got ndarray array of shape \(1,\) and dtype <U1"),
    ([[1, 2]], ValueError, r"got an array with 2 dimension\(s\) and shape \(1, 2\)"),
    ([], ValueError, r"got \[\]"),
    ([1, -1], ValueError, r"got an entry equal to -1\."),
    ({"a": 1}, TypeError, r"got dict"),
    ([[1], [1, 2]], TypeError, r"got list"),
])
def test_array_errors(value: Any, exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        Array(1, dtype=np.int64, low=0).check(value, "x", "Owner")


def test_array_shape_and_finiteness() -> None:
    c = Array(2, shape=(None, 3))
    with pytest.raises(ValueError, match=r"must be a 2-d array of floats of shape \(any, 3\); "
                                         r"got shape \(2, 2\)\."):
        c.check(np.zeros((2, 2)), "x", "Owner")
    with pytest.raises(ValueError, match=r"got non-finite entries\."):
        c.check([[0.0, np.inf, 1.0]], "x", "Owner")


def test_validate_and_check_helpers() -> None:
    out = validate("Owner", {"a": Real(0.0, None), "b": Options(("u", "v"))}, {"a": 2, "b": "u"})
    assert out == {"a": 2.0, "b": "u"}
    assert check_real(0.5, "x", owner="O", low=0.0, high=1.0) == 0.5
    assert check_integer(3, "x", owner="O", low=1) == 3
    assert check_bool(False, "x", owner="O") is False
    assert check_option("v", "x", ("u", "v"), owner="O") == "v"
    assert check_array([1, 2], "x", owner="O", dtype=np.int64).dtype == np.int64
    with pytest.raises(ValueError, match=r"^O: 'x' must be an int in \[1, inf\); got 0\.$"):
        check_integer(0, "x", owner="O", low=1)
    with pytest.raises(TypeError, match=r"^O: 'x' must be a bool; got int 1\.$"):
        check_bool(1, "x", owner="O")
    long = "y" * 200
    with pytest.raises(ValueError) as info:
        check_option(long, "x", ("u",), owner="O")
    assert len(str(info.value)) < 140 and str(info.value).endswith("...'.") is False


@pytest.mark.parametrize(("seed", "exc"), [
    (float("nan"), TypeError), (-1, ValueError), (np.float32(0.5), TypeError),
    ("abc", TypeError), (True, TypeError), (1.0, TypeError),
])
@pytest.mark.parametrize("make", [
    lambda: bl.UCB(2), lambda: bl.BernoulliBandit([0.1, 0.2], horizon=3),
    lambda: bl.LinearBandit([0.5], n_arms=2, horizon=3),
], ids=["policy", "env", "linear-env"])
def test_reset_seed_is_checked_in_one_place(make, seed, exc) -> None:
    obj = make()
    name = type(obj).__name__
    with pytest.raises(exc, match=rf"^{name}\.reset: 'seed' must be None or an int in "
                                  rf"\[0, inf\); got "):
        obj.reset(seed=seed)
    obj.reset(seed=np.int64(3))                            # numpy ints are ints
