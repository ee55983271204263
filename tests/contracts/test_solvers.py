"""Generated invalid arguments for every public entry point of ``banditlab.solvers``.

Each argument of the problem classes (``LeastSquares``, ``L1LeastSquares``, ``Logistic``,
``Softmax``, ``Quadratic``, ``LabelPropagation``), of their ``objective`` / ``gradient``, of
``bcd`` and of ``sor`` / ``ssor_pcg`` gets hypothesis-drawn values of the wrong type, shape or
range, each with the exception type it must raise. The message must follow the library's one
template, ``<owner>: '<name>' must be ...; got ...``, and name the value given (its repr, or the
offending entry of an array). Explicit cases follow: scalars where a matrix is meant, all-zero
designs, huge values, and finite results at the edges of the accepted ranges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banditlab._validation import _got
from banditlab.solvers import (
    L1LeastSquares,
    LabelPropagation,
    LeastSquares,
    Logistic,
    Quadratic,
    Softmax,
    bcd,
    poisson_2d,
    sor,
    ssor_pcg,
)
from banditlab.solvers.bcd_problems import MAX_ABS_DATA, MIN_COL_SQNORM

M_ROWS, M_COLS = 6, 3
#: an item: (value, exception type, substring the message must contain; None: ``_got(value)``)
Item = tuple[Any, type[Exception], str | None]


def _items(values: st.SearchStrategy, exc: type[Exception],
           needle: Callable[[Any], str | None] = lambda v: None) -> st.SearchStrategy:
    return values.map(lambda v: (v, exc, needle(v)))


_OTHER_TYPES = st.one_of(st.text(max_size=3), st.just(object()), st.just(complex(1, 1)),
                         st.dictionaries(st.integers(), st.integers(), max_size=1))


def bad_int(low: int | None, high: int | None, *, allow_none: bool = False
            ) -> st.SearchStrategy:
    out = [_items(_OTHER_TYPES, TypeError), _items(st.booleans(), TypeError),
           _items(st.floats(allow_nan=True, allow_infinity=True), TypeError)]
    if not allow_none:
        out.append(_items(st.none(), TypeError))
    if low is not None:
        out.append(_items(st.integers(max_value=low - 1), ValueError))
    if high is not None:
        out.append(_items(st.integers(min_value=high + 1), ValueError))
    return st.one_of(*out)


def bad_real(low: float | None, high: float | None, *, open_low: bool = False,
             open_high: bool = False, allow_none: bool = False) -> st.SearchStrategy:
    out = [_items(_OTHER_TYPES, TypeError), _items(st.booleans(), TypeError),
           _items(st.sampled_from([math.nan, math.inf, -math.inf]), ValueError)]
    if not allow_none:
        out.append(_items(st.none(), TypeError))
    if low is not None:
        out.append(_items(st.floats(max_value=low, exclude_max=not open_low, allow_nan=False,
                                    allow_infinity=False), ValueError))
    if high is not None:
        out.append(_items(st.floats(min_value=high, exclude_min=not open_high, allow_nan=False,
                                    allow_infinity=False), ValueError))
    return st.one_of(*out)


BAD_BOOL = st.one_of(_items(_OTHER_TYPES, TypeError), _items(st.integers(), TypeError),
                     _items(st.floats(allow_nan=False), TypeError), _items(st.none(), TypeError))


def bad_option(valid: tuple[str, ...]) -> st.SearchStrategy:
    return st.one_of(_items(st.integers() | st.floats(allow_nan=False) | st.none(), TypeError),
                     _items(st.text(min_size=1, max_size=5).filter(lambda s: s not in valid),
                            ValueError))


_BIG = st.floats(min_value=MAX_ABS_DATA, max_value=1.7e308, exclude_min=True) | st.floats(
    max_value=-MAX_ABS_DATA, min_value=-1.7e308, exclude_max=True)


@st.composite
def _with_entry(draw: Any, shape: tuple[int, ...], value: st.SearchStrategy,
                dtype: type = np.float64) -> tuple[np.ndarray, float]:
    """A valid-looking array of ``shape`` with one entry replaced by a drawn ``value``."""
    arr = np.asarray(draw(st.lists(st.floats(0.5, 2.0), min_size=int(np.prod(shape)),
                                   max_size=int(np.prod(shape)))), dtype=dtype).reshape(shape)
    v = draw(value)
    arr[tuple(draw(st.integers(0, s - 1)) for s in shape)] = v
    return arr, v


def _entry_items(shape: tuple[int, ...], sparse: bool = False) -> st.SearchStrategy:
    """One entry too large (the message names it) or not finite."""
    def wrap(pair: tuple[np.ndarray, float]) -> Item:
        arr, v = pair
        finite = math.isfinite(v)
        return ((sp.csr_matrix(arr) if sparse else arr), ValueError,
                repr(float(v)) if finite else "non-finite")
    return _with_entry(shape, _BIG | st.sampled_from([math.nan, math.inf, -math.inf])).map(wrap)


def bad_vector(n: int, *, allow_none: bool = False) -> st.SearchStrategy:
    """Invalid values for a float vector of length ``n`` with entries in [-1e100, 1e100]."""
    out = [
        _items(_OTHER_TYPES | st.floats() | st.integers(), TypeError),
        _items(st.sampled_from([bool, complex, object]).map(lambda t: np.ones(n, dtype=t)),
               TypeError),
        _items(st.integers(0, 8).filter(lambda k: k != n).map(np.ones), ValueError,
               lambda v: "shape"),
        _items(st.just(np.ones((n, 2))), ValueError, lambda v: "shape"),
        _entry_items((n,)),
    ]
    if not allow_none:
        out.append(_items(st.none(), TypeError))
    return st.one_of(*out)


@st.composite
def _zero_column(draw: Any, sparse: bool) -> Item:
    arr = np.ones((M_ROWS, M_COLS))
    j = draw(st.integers(0, M_COLS - 1))
    arr[:, j] = draw(st.sampled_from([0.0, 1e-200, -1e-180]))
    return (sp.csc_matrix(arr) if sparse else arr), ValueError, f"column {j}"


def bad_design() -> st.SearchStrategy:
    """Invalid designs of a problem with ``M_ROWS`` rows (targets are built to match)."""
    return st.one_of(
        _items(_OTHER_TYPES | st.floats() | st.integers() | st.none(), TypeError),
        _items(st.sampled_from([bool, complex, object]).map(
            lambda t: np.ones((M_ROWS, M_COLS), dtype=t)), TypeError),
        _items(st.sampled_from([bool, complex]).map(
            lambda t: sp.csr_matrix(np.ones((M_ROWS, M_COLS), dtype=t))), TypeError,
            lambda v: f"dtype {v.dtype}"),
        _items(st.sampled_from([np.ones(M_ROWS), np.ones((M_ROWS, M_COLS, 2)),
                                np.ones((M_ROWS, 0))]), ValueError, lambda v: "got "),
        _items(st.just(np.zeros((M_ROWS, M_COLS))) | st.just(sp.csr_matrix((M_ROWS, M_COLS))),
               ValueError, lambda v: "all-zero"),
        _zero_column(False), _zero_column(True),
        _entry_items((M_ROWS, M_COLS)), _entry_items((M_ROWS, M_COLS), sparse=True),
    )


@cache
def _data() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    M = rng.standard_normal((M_ROWS, M_COLS)) + 2.0
    A = np.array([[4.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 4.0]])
    return {"M": M, "y": rng.standard_normal(M_ROWS), "lab": np.array([1.0, -1.0] * 3),
            "cls": np.array([0, 1, 2, 0, 1, 2]), "A": A, "c": np.ones(3),
            "graph": nx.path_graph(4), "labels": {0: 1.0}}


@cache
def _ls() -> LeastSquares:
    return LeastSquares(_data()["M"], _data()["y"])


def _kw(base: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    return lambda **kw: {**base, **kw}


def _ls_call(**kw: Any) -> Any:
    d = _data()
    return LeastSquares(**{"M": d["M"], "y": d["y"], **kw})


def _l1_call(**kw: Any) -> Any:
    d = _data()
    return L1LeastSquares(**{"M": d["M"], "y": d["y"], "lam": 1.0, **kw})


def _logistic_call(**kw: Any) -> Any:
    d = _data()
    return Logistic(**{"M": d["M"], "y": d["lab"], **kw})


def _softmax_call(**kw: Any) -> Any:
    d = _data()
    return Softmax(**{"M": d["M"], "labels": d["cls"], "n_classes": 3, **kw})


def _quadratic_call(**kw: Any) -> Any:
    d = _data()
    return Quadratic(**{"A": d["A"], "c": d["c"], **kw})


def _lp_call(**kw: Any) -> Any:
    d = _data()
    return LabelPropagation(**{"graph": d["graph"], "labels": d["labels"], **kw})


def _bcd_call(**kw: Any) -> Any:
    return bcd(**{"problem": _ls(), "max_iter": 2, **kw})


def _sor_call(**kw: Any) -> Any:
    return sor(**{"A": poisson_2d(2), "b": np.ones(4), "omega": 1.2, **kw})


def _pcg_call(**kw: Any) -> Any:
    return ssor_pcg(**{"A": poisson_2d(2), "b": np.ones(4), "omega": 1.2, **kw})


_NOT_A_GRAPH = _items(_OTHER_TYPES | st.integers() | st.none(), TypeError)
_DIGRAPH = _items(st.just(nx.DiGraph([(0, 1), (1, 2), (2, 3)])), TypeError,
                  lambda v: "DiGraph")
_BAD_WEIGHT = st.one_of(
    _items(st.floats(max_value=0.0) | st.floats(min_value=1e40, exclude_min=True)
           | st.sampled_from([math.nan, math.inf]), ValueError),
    _items(st.text(max_size=2) | st.booleans() | st.just(complex(1, 1)), TypeError),
).map(lambda it: (nx.Graph([(0, 1, {"weight": it[0]}), (1, 2), (2, 3)]),
                  it[1], f"got weight {_got(it[0])}"))
_BAD_LABELS = st.one_of(
    _items(st.integers() | st.text(max_size=2) | st.lists(st.integers(), max_size=2)
           | st.none(), TypeError),
    _items(st.just({}), ValueError, lambda v: "{}"),
    _items(st.integers(10, 99).map(lambda k: {k: 1.0}), ValueError,
           lambda v: repr(next(iter(v)))),
    _items(st.just({0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}), ValueError, lambda v: "4 labels"),
    bad_real(-1e40, 1e40).map(lambda it: ({0: it[0]}, it[1], _got(it[0]))),
)
_BAD_LOGISTIC_Y = st.one_of(
    bad_vector(M_ROWS),
    _with_entry((M_ROWS,), st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda v: abs(v) != 1.0 and abs(v) <= MAX_ABS_DATA)).map(
        lambda p: (np.where(p[0] == p[1], p[1], 1.0), ValueError, repr(float(p[1])))),
)
_BAD_LABEL_INTS = st.one_of(
    _items(_OTHER_TYPES | st.floats() | st.none(), TypeError),
    _items(st.sampled_from([np.full(M_ROWS, 0.5), np.ones(M_ROWS, bool)]), TypeError),
    _items(st.integers(0, 9).filter(lambda k: k != M_ROWS).map(
        lambda k: np.zeros(k, np.int64)), ValueError, lambda v: "shape"),
    (st.integers(3, 2**40) | st.integers(-2**40, -1)).map(
        lambda k: (np.array([0, 1, 2, 0, 1, k]), ValueError, repr(k))),
)
_BAD_A = st.one_of(
    _items(_OTHER_TYPES | st.floats() | st.integers() | st.none(), TypeError),
    _items(st.sampled_from([np.eye(3, dtype=bool), np.eye(3, dtype=complex)]), TypeError),
    _items(st.sampled_from([sp.eye(3, dtype=bool, format="csr"),
                            sp.eye(3, dtype=complex, format="csr")]), TypeError,
           lambda v: f"dtype {v.dtype}"),
    _items(st.sampled_from([np.ones((3, 2)), np.ones(3), sp.csr_matrix(np.ones((3, 2)))]),
           ValueError, lambda v: "shape"),
    _items(st.sampled_from([np.array([[2.0, 1.0, 0], [0.0, 2.0, 0], [0, 0, 1.0]])]),
           ValueError, lambda v: "asymmetric"),
    _items(st.floats(1.5, 10.0).map(lambda a: np.array([[1.0, a, 0], [a, 1.0, 0], [0, 0, 1.0]])),
           ValueError, lambda v: "eigenvalue"),
    _items(st.floats(1e-300, 1e-202).map(lambda e: np.diag([e, 1.0, 1.0])), ValueError,
           lambda v: "smallest eigenvalue"),
    _items(_BIG.map(lambda v: np.full((3, 3), v)), ValueError, lambda v: repr(float(v[0, 0]))),
    _items(st.sampled_from([math.nan, math.inf]).map(lambda v: np.full((3, 3), v)), ValueError,
           lambda v: "non-finite"),
)


def _problem_x_call(cls_call: Callable[[], Any], method: str) -> Callable[..., Any]:
    return lambda **kw: getattr(cls_call(), method)(**kw)


#: (owner in the message, a call taking one keyword, the keyword, invalid items)
CASES: list[tuple[str, Callable[..., Any], str, st.SearchStrategy]] = [
    ("LeastSquares", _ls_call, "M", bad_design()),
    ("LeastSquares", _ls_call, "y", bad_vector(M_ROWS)),
    ("L1LeastSquares", _l1_call, "M", bad_design()),
    ("L1LeastSquares", _l1_call, "y", bad_vector(M_ROWS)),
    ("L1LeastSquares", _l1_call, "lam", bad_real(0.0, MAX_ABS_DATA, open_low=True)),
    ("L1LeastSquares", _l1_call, "nonnegative", BAD_BOOL),
    ("Logistic", _logistic_call, "M", bad_design()),
    ("Logistic", _logistic_call, "y", _BAD_LOGISTIC_Y),
    ("Softmax", _softmax_call, "M", bad_design()),
    ("Softmax", _softmax_call, "labels", _BAD_LABEL_INTS),
    ("Softmax", _softmax_call, "n_classes", bad_int(2, 2**24)),
    ("Quadratic", _quadratic_call, "A", _BAD_A),
    ("Quadratic", _quadratic_call, "c", bad_vector(3)),
    ("LabelPropagation", _lp_call, "graph", st.one_of(_NOT_A_GRAPH, _DIGRAPH, _BAD_WEIGHT)),
    ("LabelPropagation", _lp_call, "labels", _BAD_LABELS),
    ("LeastSquares", _problem_x_call(_ls, "objective"), "x", bad_vector(M_COLS)),
    ("LeastSquares", _problem_x_call(_ls, "gradient"), "x", bad_vector(M_COLS)),
    ("bcd", _bcd_call, "problem", _items(_OTHER_TYPES | st.integers() | st.none(), TypeError)),
    ("bcd", _bcd_call, "partition", st.one_of(
        bad_option(("variable", "order", "sorted", "average", "random", "red_black", "tree")),
        _items(st.just(object()), TypeError))),
    ("bcd", _bcd_call, "selection", bad_option(("gs", "cyclic", "random", "gsd", "gsl"))),
    ("bcd", _bcd_call, "update", bad_option(("gradient", "matrix", "exact", "newton"))),
    ("bcd", _bcd_call, "block_size", bad_int(1, None)),
    ("bcd", _bcd_call, "max_iter", bad_int(0, 2**62)),
    ("bcd", _bcd_call, "tol", bad_real(0.0, None, open_low=True, allow_none=True)),
    ("bcd", _bcd_call, "f_target", bad_real(None, None, allow_none=True)),
    ("bcd", _bcd_call, "x0", bad_vector(M_COLS, allow_none=True)),
    ("bcd", _bcd_call, "score", bad_option(("paper", "l1"))),
    ("bcd", _bcd_call, "record", BAD_BOOL),
    ("bcd", _bcd_call, "check_every", bad_int(1, None, allow_none=True)),
    ("bcd", _bcd_call, "working_set", BAD_BOOL),
    ("bcd", _bcd_call, "fast_path", BAD_BOOL),
    ("bcd", _bcd_call, "seed", st.one_of(
        _items(_OTHER_TYPES | st.booleans() | st.floats(), TypeError),
        _items(st.integers(max_value=-1), ValueError))),
    ("sor", _sor_call, "A", st.one_of(
        _items(_OTHER_TYPES | st.floats() | st.none(), TypeError),
        _items(st.sampled_from([np.ones((2, 3)), np.eye(4)[:, :3]]), ValueError,
               lambda v: "shape"),
        _items(st.just(np.zeros((3, 3))), ValueError, lambda v: "a_ii = 0"),
        _items(st.just(np.full((2, 2), np.nan)), ValueError, lambda v: "non-finite"))),
    ("sor", _sor_call, "b", bad_vector(4).filter(lambda it: not (
        isinstance(it[0], np.ndarray) and it[0].dtype.kind == "f" and it[0].shape == (4,)
        and np.all(np.isfinite(it[0]))))),
    ("sor", _sor_call, "x0", bad_vector(4, allow_none=True).filter(lambda it: not (
        isinstance(it[0], np.ndarray) and it[0].dtype.kind == "f" and it[0].shape == (4,)
        and np.all(np.isfinite(it[0]))))),
    ("sor", _sor_call, "omega", bad_real(0.0, 2.0, open_low=True, open_high=True)),
    ("sor", _sor_call, "sweep", bad_option(("forward", "backward", "symmetric"))),
    ("sor", _sor_call, "tol", bad_real(0.0, None, open_low=True)),
    ("sor", _sor_call, "maxiter", bad_int(1, None)),
    ("sor", _sor_call, "divtol", bad_real(1.0, None, open_low=True)),
    ("ssor_pcg", _pcg_call, "omega", bad_real(0.0, 2.0, open_low=True, open_high=True)),
    ("ssor_pcg", _pcg_call, "order", bad_option(("textbook", "repo"))),
    ("ssor_pcg", _pcg_call, "tol", bad_real(0.0, None, open_low=True)),
    ("ssor_pcg", _pcg_call, "maxiter", bad_int(1, None)),
]


@pytest.mark.parametrize(("owner", "call", "name", "items"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_invalid_arguments_get_the_template(owner: str, call: Callable[..., Any], name: str,
                                            items: st.SearchStrategy) -> None:
    pattern = re.compile(rf"^{re.escape(owner)}: '{re.escape(name)}(\[[^\]]*\])?' must be "
                         r".*; got .+", re.DOTALL)

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(item=items)
    def check(item: Item) -> None:
        value, exc, needle = item
        with pytest.raises((TypeError, ValueError)) as info:
            call(**{name: value})
        msg = str(info.value)
        assert type(info.value) is exc, (value, exc, msg)
        assert pattern.match(msg), (value, msg)
        want = _got(value) if needle is None else needle
        assert want in msg, (want, msg)

    check()


# --------------------------------------------------------------------------- explicit cases
def test_a_scalar_design_is_a_type_error_naming_it() -> None:
    y = np.ones(3)
    for call in (lambda: LeastSquares(1.5, y), lambda: L1LeastSquares(1.5, y, lam=1.0),
                 lambda: Logistic(1.5, y), lambda: Softmax(1.5, [0, 1, 0], n_classes=2),
                 lambda: LeastSquares(np.float64(1.5), y)):
        with pytest.raises(TypeError, match=r"^\w+: 'M' must be a 2-d array or scipy\.sparse "
                                            r"matrix of floats .*; got float(64)? .*1\.5"):
            call()
    with pytest.raises(TypeError, match=r"^Quadratic: 'A' must be a square 2-d array .*; got "
                                        r"float 2\.0\."):
        Quadratic(2.0, [1.0])


@pytest.mark.parametrize("sparse", [False, True])
def test_all_zero_design_is_refused(sparse: bool) -> None:
    Z = sp.csr_matrix((4, 3)) if sparse else np.zeros((4, 3))
    for call in (lambda: LeastSquares(Z, np.ones(4)), lambda: L1LeastSquares(Z, np.ones(4),
                                                                              lam=1.0),
                 lambda: Logistic(Z, np.ones(4)), lambda: Softmax(Z, [0, 1, 0, 1], n_classes=2)):
        with pytest.raises(ValueError, match=r"'M' must be .* every column of squared norm "
                                             r">= 1e-200; got an all-zero matrix of shape"):
            call()


def test_huge_values_are_refused() -> None:
    M, y = np.ones((3, 2)) + np.eye(3, 2), np.ones(3)
    big = 1e300
    cases = [
        (lambda: LeastSquares(M * big, y), r"^LeastSquares: 'M' must be .*; got an entry equal "
                                           r"to 2e\+300\."),
        (lambda: LeastSquares(sp.csr_matrix(M * big), y), r"^LeastSquares: 'M' .*2e\+300\."),
        (lambda: LeastSquares(M, y * big), r"^LeastSquares: 'y' must be a 1-d array of floats "
                                           r"of shape \(3\) with entries in \[-1e\+100, "
                                           r"1e\+100\]; got an entry equal to 1e\+300\."),
        (lambda: L1LeastSquares(M, y, lam=big), r"^L1LeastSquares: 'lam' must be a float in "
                                                r"\(0, 1e\+100\]; got 1e\+300\."),
        (lambda: Quadratic(np.eye(2) * big, [1.0, 1.0]), r"^Quadratic: 'A' .*1e\+300\."),
        (lambda: Quadratic(np.eye(2), [big, 1.0]), r"^Quadratic: 'c' .*1e\+300\."),
        (lambda: bcd(LeastSquares(M, y), x0=[big, 0.0]), r"^bcd: 'x0' .*1e\+300\."),
        (lambda: LeastSquares(M, y).objective([big, 0.0]), r"^LeastSquares: 'x' .*1e\+300\."),
        (lambda: LabelPropagation(nx.path_graph(3), {0: big}),
         r"^LabelPropagation: 'labels\[0\]' must be a float in \[-1e\+40, 1e\+40\]; got "
         r"1e\+300\."),
    ]
    for call, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            call()


def test_a_zero_column_and_an_unlabelled_component_are_refused() -> None:
    M = np.ones((4, 3))
    M[:, 1] = 0.0
    with pytest.raises(ValueError, match=r"got column 1 of squared norm 0\.0 \(a zero column "
                                         r"has Lipschitz constant 0"):
        LeastSquares(M, np.ones(4))
    with pytest.raises(ValueError, match=r"^LabelPropagation: 'labels' must be a dict with a node "
                                         r"in every connected component"):
        LabelPropagation(nx.Graph([(0, 1), (2, 3)]), {0: 1.0})


def test_start_with_an_overflowing_objective_is_refused() -> None:
    M = np.full((3, 2), MAX_ABS_DATA)
    with pytest.raises(ValueError, match=r"^bcd: 'x0' must be a start with a finite objective; "
                                         r"got F\(x0\) = inf"):
        bcd(LeastSquares(M, np.ones(3)), x0=np.full(2, MAX_ABS_DATA))
    with pytest.raises(ValueError, match=r"^LeastSquares: 'x' must be a point where F\(x\) is "
                                         r"finite; got F\(x\) = inf"):
        LeastSquares(M, np.ones(3)).objective(np.full(2, MAX_ABS_DATA))


def test_a_non_finite_objective_during_a_run_is_an_error() -> None:
    """The safety net: a corrupted step constant makes the iterates overflow; ``bcd`` names the
    iteration instead of returning NaN (canary: the intact problem runs finitely)."""
    rng = np.random.default_rng(1)
    prob = LeastSquares(rng.standard_normal((6, 3)), rng.standard_normal(6))
    ok = bcd(prob, update="gradient_global", max_iter=20)
    assert np.all(np.isfinite(ok.objective))
    prob.lipschitz_global = 1e-300
    for record in (True, False):
        with pytest.raises(FloatingPointError, match=r"^bcd: the objective of LeastSquares\(n=3\) "
                                                     r"became non-finite .* at iteration \d+"):
            bcd(prob, update="gradient_global", max_iter=20, record=record)


def test_valid_edge_values_give_finite_results() -> None:
    """Entries at the bounds (1e100 next to columns of squared norm near 1e-200, targets at
    1e100, lam at 1e100) run every kind of update to a finite objective and iterate."""
    tiny = math.sqrt(MIN_COL_SQNORM) * 1.01
    M = np.array([[MAX_ABS_DATA, tiny, 1.0], [-MAX_ABS_DATA, 0.0, 2.0], [1.0, tiny, -1.0],
                  [3.0, -tiny, 1.0]])
    y = np.array([MAX_ABS_DATA, -MAX_ABS_DATA, 1.0, 0.5])
    lab = np.array([1.0, -1.0, 1.0, -1.0])
    runs = []
    for Mx in (M, sp.csc_matrix(M)):
        ls = LeastSquares(Mx, y)
        runs += [bcd(ls, partition=part, selection=sel, update=upd, block_size=bs, max_iter=30)
                 for part, sel, upd, bs in [("order", "cyclic", "gradient", 1),
                                            ("sorted", "gs", "matrix", 2),
                                            ("variable", "random", "gradient", 1)]]
        for lam in (1.0, MAX_ABS_DATA):
            runs.append(bcd(L1LeastSquares(Mx, y, lam=lam), partition="order",
                            selection="cyclic", update="prox_gradient", block_size=1,
                            max_iter=30, tol=1e-6))
        runs.append(bcd(Logistic(Mx, lab), max_iter=30, block_size=2))
        runs.append(bcd(Softmax(Mx, [0, 1, 2, 0], n_classes=3), max_iter=30, block_size=2))
    A = np.diag([MAX_ABS_DATA, 1.0, 1e-20])
    runs.append(bcd(Quadratic(A, [1e40, -1.0, 1e-50]), partition="order",
                    selection="cyclic", update="exact", block_size=1, max_iter=30))
    for res in runs:
        assert np.all(np.isfinite(res.objective)) and np.all(np.isfinite(res.x)), res.config
        assert res.objective[-1] <= res.objective[0] * (1 + 1e-12) + 1e-12 * abs(
            res.objective[0])


def test_solver_problem_values_just_inside_the_bounds_are_accepted() -> None:
    """Canary of the generated cases: the boundary values themselves are valid."""
    M = np.array([[MAX_ABS_DATA, 1.0], [1.0, math.sqrt(MIN_COL_SQNORM)]])
    LeastSquares(M, [MAX_ABS_DATA, -MAX_ABS_DATA])
    L1LeastSquares(M, [1.0, 1.0], lam=MAX_ABS_DATA)
    Softmax(M, [0, 1], n_classes=2**4)
    LabelPropagation(nx.Graph([(0, 1, {"weight": 1e40}), (1, 2)]), {0: -1e40})
    bcd(LeastSquares(M, [1.0, 1.0]), max_iter=2**62, tol=1e300, x0=[1.0, MAX_ABS_DATA])
