"""BCD front: agreement with cvxpy and scikit-learn, monotone decrease, per-step progress bounds
(with canaries), rule ordering on a small copy of dataset A, message passing on D/E, proximal BCD
with active-set identification, and the combination/validation errors (spec §6)."""

from __future__ import annotations

import importlib
import os

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from banditlab.solvers.bcd import BCDResult, bcd
from banditlab.solvers.bcd_datasets import dataset_a, dataset_a_l1, dataset_d, dataset_e
from banditlab.solvers.bcd_problems import (
    L1LeastSquares,
    LeastSquares,
    Logistic,
    Quadratic,
    Softmax,
)


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((40, 12)) * rng.uniform(0.3, 3.0, 12)
    y = rng.standard_normal(40)
    w = rng.standard_normal(12)
    lab = np.where(M @ w + 8.0 * rng.standard_normal(40) > 0, 1.0, -1.0)
    cls = np.argmax(M[:, :6] @ rng.standard_normal((6, 3)) + 8 * rng.standard_normal((40, 3)),
                    axis=1)
    A = rng.standard_normal((12, 12))
    A = A @ A.T + 3 * np.eye(12)
    return {"M": M, "y": y, "lab": lab, "cls": cls, "A": A, "c": rng.standard_normal(12)}


def _rel(a, b):
    return abs(a - b) / max(1.0, abs(b))


# --------------------------------------------------------------------------- vs cvxpy / sklearn
def test_least_squares_and_quadratic_match_cvxpy(small):
    M, y = small["M"], small["y"]
    z = cp.Variable(12)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(M @ z - y))).solve(solver=cp.CLARABEL)
    fstar = 0.5 * np.sum((M @ z.value - y) ** 2)
    res = bcd(LeastSquares(M, y), partition="variable", selection="iht", update="matrix",
              block_size=4, max_iter=3000, tol=1e-9)
    assert res.converged and _rel(res.objective[-1], fstar) < 1e-6
    A, c = small["A"], small["c"]
    z = cp.Variable(12)
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(z, A) - c @ z)).solve(solver=cp.CLARABEL)
    res = bcd(Quadratic(A, c), partition="sorted", selection="gsq", update="exact",
              block_size=3, max_iter=5000, tol=1e-10)
    assert _rel(res.objective[-1], 0.5 * z.value @ A @ z.value - c @ z.value) < 1e-6
    np.testing.assert_allclose(res.x, np.linalg.solve(A, c), rtol=1e-6, atol=1e-8)


def test_logistic_matches_cvxpy_and_sklearn(small):
    from sklearn.linear_model import LogisticRegression

    M, lab = small["M"], small["lab"]
    z = cp.Variable(12)
    cp.Problem(cp.Minimize(cp.sum(cp.logistic(-cp.multiply(lab, M @ z))))).solve(
        solver=cp.CLARABEL)
    prob = Logistic(M, lab)
    fstar = prob.objective(z.value)
    res = bcd(prob, partition="sorted", selection="gsl", update="newton", block_size=4,
              max_iter=5000, tol=1e-9)
    assert res.converged and _rel(res.objective[-1], fstar) < 1e-6
    sk = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10000)
    sk.fit(M, lab)
    assert _rel(res.objective[-1], prob.objective(sk.coef_.ravel())) < 1e-6
    np.testing.assert_allclose(res.x, sk.coef_.ravel(), rtol=1e-4, atol=1e-5)


def test_softmax_matches_cvxpy(small):
    M, cls = small["M"][:, :6], small["cls"]
    Y = np.eye(3)[cls]
    Z = cp.Variable((6, 3))
    S = M @ Z
    cp.Problem(cp.Minimize(cp.sum(cp.log_sum_exp(S, axis=1)) - cp.sum(cp.multiply(Y, S)))
               ).solve(solver=cp.CLARABEL)
    prob = Softmax(M, cls, n_classes=3)
    fstar = prob.objective(Z.value.ravel())
    res = bcd(prob, partition="variable", selection="gsd_rowsum", update="newton",
              block_size=6, max_iter=5000, tol=1e-8)
    assert _rel(res.objective[-1], fstar) < 1e-6


@pytest.mark.parametrize("nonneg", [False, True])
def test_l1_least_squares_matches_cvxpy_and_sklearn_lasso(small, nonneg):
    from sklearn.linear_model import Lasso

    M, y = small["M"], small["y"]
    lam = 3.0
    prob = L1LeastSquares(M, y, lam=lam, nonnegative=nonneg)
    z = cp.Variable(12, nonneg=nonneg)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(M @ z - y) + lam * cp.norm1(z))).solve(
        solver=cp.CLARABEL)
    fstar = prob.objective(np.maximum(z.value, 0) if nonneg else z.value)
    for upd in ("prox_gradient", "prox_newton") + (("two_metric",) if nonneg else ()):
        res = bcd(prob, partition="variable", selection="gsq", update=upd, block_size=3,
                  max_iter=20000, tol=1e-10)
        assert res.converged, upd
        assert _rel(res.objective[-1], fstar) < 1e-6, upd
    m = M.shape[0]
    sk = Lasso(alpha=lam / m, fit_intercept=False, tol=1e-12, max_iter=100000,
               positive=nonneg).fit(M, y)
    assert _rel(res.objective[-1], prob.objective(sk.coef_)) < 1e-6
    np.testing.assert_array_equal(res.x == 0, np.abs(sk.coef_) < 1e-10)


# --------------------------------------------------------------------------- L1 fast paths
def _lasso_case(m=60, p=150, seed=0, sparse=False, div=8.0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((m, p)) * rng.uniform(0.5, 2.0, p)
    w = np.zeros(p)
    w[rng.choice(p, p // 10, replace=False)] = rng.standard_normal(p // 10)
    y = M @ w + 0.5 * rng.standard_normal(m)
    if sparse:
        M = sp.random(m, p, density=0.3, random_state=seed, format="csc") * 2.0
        y = M @ w + 0.5 * rng.standard_normal(m)
    lam = np.max(np.abs(M.T @ y)) / div
    return M, y, lam


@pytest.mark.parametrize(("sparse", "nonneg", "record"),
                         [(False, False, False), (False, True, True), (True, False, True)])
def test_cyclic_1_coordinate_fast_path_equals_generic_loop(sparse, nonneg, record):
    M, y, lam = _lasso_case(sparse=sparse)
    prob = L1LeastSquares(M, y, lam=lam, nonnegative=nonneg)
    kw = dict(partition="order", selection="cyclic", update="prox_gradient", block_size=1,
              max_iter=1500, record=record, tol=1e-9)
    fast = bcd(prob, **kw)
    slow = bcd(prob, fast_path=False, **kw)
    assert fast.config["fast_path"] == "cd1" and slow.config["fast_path"] is None
    np.testing.assert_array_equal(fast.x, slow.x)
    np.testing.assert_array_equal(fast.objective, slow.objective)
    assert fast.n_iter == slow.n_iter and fast.optimality == slow.optimality
    assert fast.identification_iter == slow.identification_iter is not None
    # a 2-coordinate partition is not a fast-path case
    assert bcd(prob, partition="order", selection="cyclic", update="prox_gradient",
               block_size=2, max_iter=3).config["fast_path"] is None


@pytest.mark.parametrize(("sparse", "nonneg", "sel"),
                         [(False, False, "gsq"), (False, True, "gsq"), (True, False, "gs")])
def test_working_sets_match_cvxpy_sklearn_and_exact_prox_newton(sparse, nonneg, sel):
    from sklearn.linear_model import Lasso

    M, y, lam = _lasso_case(sparse=sparse, seed=1)
    prob = L1LeastSquares(M, y, lam=lam, nonnegative=nonneg)
    z = cp.Variable(M.shape[1], nonneg=nonneg)
    Md = M.toarray() if sparse else M
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(Md @ z - y) + lam * cp.norm1(z))).solve(
        solver=cp.CLARABEL)
    f_cvx = prob.objective(np.maximum(z.value, 0) if nonneg else z.value)
    sk = Lasso(alpha=lam / M.shape[0], fit_intercept=False, tol=1e-13, max_iter=1_000_000,
               positive=nonneg).fit(Md, y)
    f_sk = prob.objective(sk.coef_)
    p0 = prob.objective(np.zeros(M.shape[1]))
    res = bcd(prob, partition="variable", selection=sel, update="prox_newton", block_size=4,
              working_set=True, tol=1e-12 * p0, max_iter=200)
    assert res.converged and res.reason == "tol reached"
    assert res.optimality <= 1e-12 * p0
    assert res.optimality == pytest.approx(prob.duality_gap(res.x), rel=1e-6, abs=1e-12 * p0)
    assert res.config["working_set"] and res.config["inner_sweeps"] > 0
    assert res.identification_iter is not None and res.identification_iter <= res.n_iter
    f = res.objective[-1]
    assert _rel(f, f_cvx) < 1e-6 and _rel(f, f_sk) < 1e-9
    assert f <= f_cvx + 1e-9 * abs(f_cvx)          # never worse than the interior-point solve
    # same solution as the exact (non-working-set) GS-q + prox-Newton of the generic loop
    ref = bcd(prob, partition="variable", selection="gsq", update="prox_newton",
              block_size=40, tol=1e-12 * p0, max_iter=2000, check_every=1)
    assert ref.converged
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(res.x != 0, ref.x != 0)
    # monotone and stops on max_iter without a tolerance
    short = bcd(prob, partition="variable", selection=sel, update="prox_newton", block_size=4,
                working_set=True, max_iter=2)
    assert short.n_iter == 2 and short.reason == "max_iter reached"
    assert np.all(np.diff(short.objective) <= 1e-12 * p0)
    assert short.optimality == pytest.approx(prob.duality_gap(short.x))


def test_working_set_combinations_are_checked(small):
    l1 = L1LeastSquares(small["M"], small["y"], lam=1.0)
    msg = "working sets need an L1LeastSquares problem"
    for kw in (dict(partition="variable", selection="gsq", update="prox_gradient"),
               dict(partition="sorted", selection="gsq", update="prox_newton"),
               dict(partition="variable", selection="random", update="prox_newton")):
        with pytest.raises(ValueError, match=msg):
            bcd(l1, working_set=True, **kw)
    with pytest.raises(ValueError, match=msg):
        bcd(LeastSquares(small["M"], small["y"]), partition="variable", selection="gs",
            working_set=True)
    with pytest.raises(TypeError, match=r"bcd: 'working_set' must be a bool"):
        bcd(l1, working_set=1)
    with pytest.raises(TypeError, match=r"bcd: 'fast_path' must be a bool"):
        bcd(l1, fast_path="yes")


# --------------------------------------------------------------------------- monotonicity
_FIXED_RULES = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq")
_FIXED_UPDATES = ("gradient", "gradient_global", "line_search", "matrix", "newton")
_VARIABLE_RULES = ("cyclic", "permutation", "random", "lipschitz", "gs", "gsd", "gsd_rowsum",
                   "iht")
_VARIABLE_UPDATES = ("gradient", "line_search", "matrix", "newton")
if os.environ.get("QUICK", "0") == "1":
    # Each (rule, update, problem) is its own compiled loop (several seconds each from an empty
    # cache): quick mode (CI) pairs every rule with one update so that every rule and every
    # update is checked at least once per partition and problem kind (15 loops per kind
    # instead of 67); the full product runs without QUICK. Where the choice of partner is
    # free, it is a pair that `banditlab reproduce bcd` also runs on least squares and softmax
    # (random, Lipschitz, GS, GSD-rowsum with gradient steps; GS, GSD, GS-q, IHT with matrix
    # steps), so the two share compiled loops through the cache instead of compiling twice.
    # GSD with line search on variable blocks stays: it is the one path that feeds the rule
    # the line-search estimates.
    _FIXED_PAIRS = (("cyclic", "gradient_global"), ("random", "gradient"),
                    ("lipschitz", "line_search"), ("gs", "gradient"), ("gsl", "newton"),
                    ("gsd", "matrix"), ("gsq", "matrix"))
    _VARIABLE_PAIRS = (("cyclic", "line_search"), ("permutation", "newton"),
                       ("random", "gradient"), ("lipschitz", "gradient"), ("gs", "matrix"),
                       ("gsd", "line_search"), ("gsd_rowsum", "gradient"), ("iht", "matrix"))
    for _pairs, _rules, _updates in ((_FIXED_PAIRS, _FIXED_RULES, _FIXED_UPDATES),
                                     (_VARIABLE_PAIRS, _VARIABLE_RULES, _VARIABLE_UPDATES)):
        assert sorted(r for r, _ in _pairs) == sorted(_rules), _pairs
        assert {u for _, u in _pairs} == set(_updates), _pairs
    SMOOTH_COMBOS = ([("sorted", r, u) for r, u in _FIXED_PAIRS]
                     + [("variable", r, u) for r, u in _VARIABLE_PAIRS])
else:
    SMOOTH_COMBOS = ([("sorted", r, u) for r in _FIXED_RULES for u in _FIXED_UPDATES]
                     + [("variable", r, u) for r in _VARIABLE_RULES for u in _VARIABLE_UPDATES])


@pytest.mark.parametrize("kind", ["ls", "logistic", "softmax"])
def test_every_combination_is_monotone(small, kind):
    M = small["M"]
    prob = {"ls": LeastSquares(M, small["y"]), "logistic": Logistic(M, small["lab"]),
            "softmax": Softmax(M[:, :5], small["cls"], n_classes=3)}[kind]
    for part, sel, upd in SMOOTH_COMBOS:
        for score in (("paper", "l1") if part != "variable" else ("paper",)):
            res = bcd(prob, partition=part, selection=sel, update=upd, block_size=3,
                      max_iter=40, seed=1, score=score)
            inc = np.diff(res.objective)
            assert inc.max() <= 1e-9 * abs(res.objective[0]), (part, sel, upd, score)
            assert res.objective[-1] < res.objective[0], (part, sel, upd)


# --------------------------------------------------------------------------- progress bounds
@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), tau=st.integers(1, 5))
def test_per_step_progress_bounds_hold(small, seed, tau):
    """Spec §4.1: Lb gives f+ <= f - ||g_b||^2/(2 L_b); Hb gives f+ <= f - g_b^T H_b^-1 g_b / 2.

    Canary: the twice stronger claim ``||g_b||^2 / L_b`` fails on some step."""
    rng = np.random.default_rng(seed)
    M = small["M"]
    probs = [LeastSquares(M, small["y"]), Logistic(M, small["lab"])]
    canary_failed = False
    for prob in probs:
        n = prob.n_features
        x = rng.standard_normal(n)
        b = rng.choice(n, tau, replace=False)
        rest = np.setdiff1d(np.arange(n), b)
        part = [b, rest] if rest.size else [b]
        f0 = prob.objective(x)
        g = prob.gradient(x)[b]
        Lb = prob.block_lipschitz(b)
        Hb = prob.hessian_bound(b)
        res = bcd(prob, partition=part, selection="cyclic", update="gradient", max_iter=1,
                  x0=x)
        dec = f0 - res.objective[-1]
        assert dec >= g @ g / (2 * Lb) * (1 - 1e-9) - 1e-12
        canary_failed |= dec < g @ g / Lb * (1 - 1e-9)
        res = bcd(prob, partition=part, selection="cyclic", update="matrix", max_iter=1, x0=x)
        assert f0 - res.objective[-1] >= 0.5 * g @ np.linalg.pinv(Hb) @ g * (1 - 1e-9) - 1e-12
    assert canary_failed


# --------------------------------------------------------------------------- rule ordering
def test_rule_ordering_on_small_dataset_a():
    """Spec §6 item 6: GSQ-VB (IHT) >= GSL-VB (row-sum GSD) >= GS-VB >= random, averaged."""
    logs: dict[str, list[float]] = {}
    for s in range(3):
        prob = dataset_a(100, 500, seed=s)
        Md = prob.design.toarray()
        xs = np.linalg.lstsq(Md, prob.data.y, rcond=None)[0]
        fstar = 0.5 * np.sum((Md @ xs - prob.data.y) ** 2)
        for sel in ("iht", "gsd_rowsum", "gs", "random"):
            res = bcd(prob, partition="variable", selection=sel, update="matrix",
                      block_size=5, max_iter=200, seed=s)
            logs.setdefault(sel, []).append(np.log10(max(res.objective[-1] - fstar, 1e-14)))
    m = {k: np.mean(v) for k, v in logs.items()}
    assert m["iht"] <= m["gsd_rowsum"] <= m["gs"] <= m["random"], m


# --------------------------------------------------------------------------- message passing
def test_forest_rules_on_quadratics_converge_and_order():
    for prob in (dataset_d(10, 10, seed=0), dataset_e(200, 20, seed=0)):
        xs = prob.solve()
        fstar = prob.objective(xs)
        gaps = {}
        runs = {
            "greedy_tree": dict(partition="variable", selection="greedy_tree"),
            "random_tree": dict(partition="variable", selection="random_tree"),
            "tree": dict(partition="tree", selection="cyclic"),
            "red_black": dict(partition="red_black", selection="cyclic"),
            "general": dict(partition="variable", selection="gs",
                            block_size=int(prob.n_features ** (1 / 3))),
        }
        if getattr(prob, "lattice_partition", None) is not None:
            runs["lattice"] = dict(partition=prob.lattice_partition, selection="cyclic")
        for name, kw in runs.items():
            res = bcd(prob, update="exact", max_iter=100, seed=0, **kw)
            assert np.diff(res.objective).max() <= 1e-9 * abs(fstar) + 1e-9, name
            gaps[name] = res.objective[-1] - fstar
        # Fig. 6: greedy tree best, small dense GS block ("general") worst
        assert gaps["greedy_tree"] == min(gaps.values()), gaps
        assert gaps["general"] == max(gaps.values()), gaps
        assert gaps["greedy_tree"] < 1e-2 * (prob.objective(np.zeros(prob.n_features)) - fstar)


def test_lattice_red_black_checkerboard_with_the_solver():
    """Fig. 6 red-black on the lattice D (``dataset_d(...).lattice_red_black``): each
    checkerboard block has a diagonal ``A_bb``, so the first cyclic exact step is the Jacobi
    step on block 0; over 100 iterations F decreases monotonically and ends closer to F* than
    with the general greedy colouring (three colours here)."""
    prob = dataset_d(10, 10, seed=0)
    A, c = prob.A.toarray(), prob.c
    parts = prob.lattice_red_black
    x0 = np.random.default_rng(2).standard_normal(prob.n_features)
    x1 = x0.copy()
    b = parts[0]
    x1[b] -= (A @ x0 - c)[b] / np.diag(A)[b]
    res = bcd(prob, partition=parts, selection="cyclic", update="exact", max_iter=1, x0=x0)
    np.testing.assert_allclose(res.x, x1, rtol=1e-10, atol=1e-10)
    fstar = prob.objective(prob.solve())
    gaps = {}
    for name, part in (("checkerboard", parts), ("greedy", "red_black")):
        res = bcd(prob, partition=part, selection="cyclic", update="exact", max_iter=100, seed=0)
        assert np.diff(res.objective).max() <= 1e-9 * abs(fstar) + 1e-9, name
        gaps[name] = res.objective[-1] - fstar
    assert gaps["checkerboard"] < 0.5 * gaps["greedy"], gaps


@pytest.mark.parametrize("sel", ["gsl_tree", "gsd_tree"])
def test_gsl_and_gsd_tree_rules(sel):
    """Spec §3.5: greedy forests ordered by |g_i|/sqrt(L_i) (GSL) or |g_i|/sqrt(d_i) (GSD,
    row sums). One iteration equals a dense solve on the forest built in Python from the
    same order; over 100 iterations they converge like the greedy (GS) tree."""
    from banditlab.solvers.bcd_partitions import greedy_forest, is_forest

    for prob in (dataset_d(10, 10, seed=0), dataset_e(200, 20, seed=0)):
        n = prob.n_features
        A, c = prob.A.toarray(), prob.c
        rng = np.random.default_rng(1)
        x0 = rng.standard_normal(n)
        g = A @ x0 - c
        scale = prob.lipschitz if sel == "gsl_tree" else np.abs(A).sum(axis=1)
        order = np.argsort(-np.abs(g) / np.sqrt(scale), kind="stable")
        out = np.zeros(n, np.int64)
        nb = greedy_forest(prob.A.indptr.astype(np.int64), prob.A.indices.astype(np.int64),
                           order.astype(np.int64), n, np.zeros(n, np.int64),
                           np.zeros(n, np.int64), out)
        b = out[:nb]
        assert is_forest(prob.A, b)
        x1 = x0.copy()
        x1[b] -= np.linalg.solve(A[np.ix_(b, b)], g[b])
        res = bcd(prob, partition="variable", selection=sel, update="exact", max_iter=1, x0=x0)
        np.testing.assert_allclose(res.x, x1, rtol=1e-9, atol=1e-9)
        xs = prob.solve()
        fstar = prob.objective(xs)
        gaps = {}
        for rule in (sel, "greedy_tree", "random_tree"):
            r = bcd(prob, partition="variable", selection=rule, update="exact", max_iter=100,
                    seed=0)
            assert np.diff(r.objective).max() <= 1e-9 * abs(fstar) + 1e-9, rule
            gaps[rule] = r.objective[-1] - fstar
        f0 = prob.objective(np.zeros(n)) - fstar
        assert gaps[sel] < 1e-2 * f0, gaps
        # within two orders of magnitude of the GS tree (D: equal L_i away from the labels)
        assert gaps[sel] <= 100 * gaps["greedy_tree"] + 1e-12 * f0, gaps


# --------------------------------------------------------------------------- proximal BCD
def test_active_set_identification_and_superlinear_phase():
    prob = dataset_a_l1(100, 300, seed=1)
    ref = bcd(prob, partition="variable", selection="gsq", update="prox_newton",
              block_size=50, max_iter=500, tol=1e-10)
    fstar = ref.objective[-1]
    support = ref.x > 0
    assert 0 < support.sum() < 50
    out = {}
    for upd in ("prox_gradient", "prox_newton", "two_metric"):
        res = bcd(prob, partition="variable", selection="gsq", update=upd, block_size=50,
                  max_iter=400, f_target=fstar + 1e-8 * abs(fstar))
        assert res.identification_iter is not None
        np.testing.assert_array_equal(res.x > 0, support)     # identified pattern is correct
        assert res.identification_iter <= res.n_iter
        out[upd] = res
    # Newton-type updates finish within a few iterations of identification (superlinear)
    for upd in ("prox_newton", "two_metric"):
        assert out[upd].converged
        assert out[upd].n_iter - out[upd].identification_iter <= 5, upd
    assert out["prox_newton"].n_iter < out["prox_gradient"].n_iter
    # random selection is far slower than greedy GS-q (Fig. 13)
    rnd = bcd(prob, partition="variable", selection="random", update="prox_newton",
              block_size=50, max_iter=out["prox_newton"].n_iter, seed=0)
    assert rnd.objective[-1] - fstar > 1e3 * (out["prox_newton"].objective[-1] - fstar)


def test_identification_iteration_vs_predicted_k_id():
    """Spec §6 item 7 / §4.5: the observed identification iteration of GS-q with prox-gradient
    updates on A-L1 against ``k_id = log(8 L^2 (F(x0) - F*) / (mu delta^2)) / rho``.

    ``L`` is the global Lipschitz constant, ``delta`` the nondegeneracy margin at ``x*``,
    ``mu`` the smallest eigenvalue of ``M_S^T M_S`` on the support ``S`` of ``x*`` (f is not
    strongly convex here, m < n: restricted strong convexity on the identified face, our
    assumption), ``rho`` the run's own geometric-mean linear rate before identification (the
    theory's rate constant is a reconstruction, so we measure it). Claims: the bound holds and
    is within a factor 20 (same order of magnitude). Canary: the log factor matters, i.e. the
    bare ``1 / rho`` is exceeded."""
    for seed in (1, 2):
        prob = dataset_a_l1(100, 300, seed=seed)
        n = prob.n_features
        p0 = prob.objective(np.zeros(n))
        ref = bcd(prob, partition="variable", selection="gsq", update="prox_newton",
                  block_size=50, working_set=True, tol=1e-13 * p0, max_iter=1000)
        xs = ref.x
        fstar = prob.objective(xs)
        S = xs > 0
        M = prob.design.toarray()
        delta = np.min(prob.gradient(xs)[~S] + prob.lam)
        assert delta > 0
        mu = np.linalg.eigvalsh(M[:, S].T @ M[:, S])[0]
        L = prob.lipschitz_global
        for tau in (5, 50):
            res = bcd(prob, partition="variable", selection="gsq", update="prox_gradient",
                      block_size=tau, max_iter=5000, f_target=fstar + 1e-10 * abs(fstar))
            assert res.converged
            np.testing.assert_array_equal(res.x > 0, S)
            k_obs = res.identification_iter
            err = res.objective[:k_obs + 1] - fstar
            rho = 1.0 - np.exp(np.mean(np.diff(np.log(err))))
            k_id = np.log(8 * L**2 * err[0] / (mu * delta**2)) / rho
            assert k_obs <= k_id <= 20 * k_obs, (seed, tau, k_obs, k_id)
            assert k_obs > 1.0 / rho, (seed, tau)                 # canary


# --------------------------------------------------------------------------- history length
def _same(a, b):
    assert a.n_iter == b.n_iter and a.reason == b.reason
    assert a.x.tobytes() == b.x.tobytes() and a.objective.tobytes() == b.objective.tobytes()
    assert a.identification_iter == b.identification_iter
    assert a.optimality == b.optimality or (np.isnan(a.optimality) and np.isnan(b.optimality))


def test_history_grows_with_the_iterations_made(small, monkeypatch):
    """Issue 17: the objective history was allocated for ``max_iter`` iterations up front, so
    ``max_iter=10**10`` failed with a 74.5 GiB MemoryError. It now grows with the iterations
    made: a huge cap gives the run of a small one, bit for bit, on every loop (tolerance checked
    between chunks, target reached inside the kernel, the L1 fast path, working sets), and the
    starting length of the history changes nothing."""
    bcd_module = importlib.import_module("banditlab.solvers.bcd")
    ls = LeastSquares(small["M"], small["y"])
    l1 = L1LeastSquares(*_lasso_case()[:2], lam=_lasso_case()[2])
    runs = [
        (ls, dict(partition="sorted", selection="gsl", update="matrix", tol=1e-10)),
        (l1, dict(partition="order", selection="cyclic", update="prox_gradient", block_size=1,
                  tol=1e-9)),
        (l1, dict(partition="variable", selection="gsq", update="prox_newton", block_size=4,
                  working_set=True, tol=1e-9)),
    ]
    for prob, kw in runs:
        big = bcd(prob, max_iter=10**10, **kw)
        assert big.converged, kw
        _same(big, bcd(prob, max_iter=20_000, **kw))
    # a target met inside the kernel after several doublings of the history
    kw = dict(partition="variable", selection="gs", update="gradient", block_size=2)
    ref = bcd(ls, max_iter=3000, **kw)
    target = float(ref.objective[2500])
    big = bcd(ls, max_iter=10**10, f_target=target, **kw)
    assert big.converged and big.n_iter <= 2500 and big.objective[-1] <= target
    assert big.objective.tobytes() == ref.objective[:big.n_iter + 1].tobytes()
    # any starting length: one entry, doubled on every growth
    monkeypatch.setattr(bcd_module, "HISTORY_CHUNK", 1)
    _same(bcd(ls, max_iter=3000, **kw), ref)
    _same(bcd(ls, max_iter=10**10, f_target=target, **kw), big)


# --------------------------------------------------------------------------- result and errors
def test_result_fields_and_x0_copied(small):
    prob = LeastSquares(small["M"], small["y"])
    x0 = np.ones(12)
    res = bcd(prob, partition="order", selection="cyclic", max_iter=7, x0=x0)
    assert isinstance(res, BCDResult) and res.n_iter == 7 and res.objective.shape == (8,)
    assert res.reason == "max_iter reached" and not res.converged
    assert res.identification_iter is None
    np.testing.assert_array_equal(x0, np.ones(12))
    np.testing.assert_allclose(res.objective[-1], prob.objective(res.x))
    a = bcd(prob, partition="variable", selection="random", max_iter=20, seed=3)
    b = bcd(prob, partition="variable", selection="random", max_iter=20, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    res = bcd(prob, partition="order", selection="gs", max_iter=50, record=False)
    assert res.objective.shape == (2,)


@pytest.mark.parametrize(("kwargs", "exc", "msg"), [
    (dict(selection="gsq", partition="variable"), ValueError, "intractable; use 'iht'"),
    (dict(selection="gsl", partition="variable"), ValueError, "for variable blocks use"),
    (dict(selection="iht", partition="sorted"), ValueError, "is a variable-block rule"),
    (dict(selection="permutation", partition="order"), ValueError, "variable-block rule"),
    (dict(selection="greedy_tree", partition="variable", update="exact"), ValueError,
     "forest blocks need a sparse quadratic"),
    (dict(partition="red_black", selection="cyclic", update="exact"), ValueError,
     "forest partitions need a sparse quadratic"),
    (dict(update="prox_gradient"), ValueError, "proximal updates need an L1"),
    (dict(update="bogus"), ValueError, r"bcd: 'update' must be one of 'gradient'"),
    (dict(selection=3), TypeError, r"bcd: 'selection' must be one of"),
    (dict(block_size=0), ValueError, r"bcd: 'block_size' must be an int in \[1, inf\)"),
    (dict(tol=-1.0), ValueError, r"bcd: 'tol' must be a float in \(0, inf\) or None"),
    (dict(partition=[np.array([0, 1])]), ValueError, "coordinate 2 missing"),
    (dict(partition=[np.arange(12), np.array([3])]), ValueError, "coordinate 3 repeated"),
    (dict(x0=np.ones(3)), ValueError, r"bcd: 'x0' must be a 1-d array of floats of shape"),
    (dict(f_target=1.0, record=False), ValueError, "set record=True"),
])
def test_invalid_arguments_and_combinations(small, kwargs, exc, msg):
    prob = LeastSquares(small["M"], small["y"])
    with pytest.raises(exc, match=msg):
        bcd(prob, **kwargs)


def test_invalid_combinations_for_l1_and_quadratics(small):
    l1 = L1LeastSquares(small["M"], small["y"], lam=1.0)
    with pytest.raises(ValueError, match="use one of 'prox_gradient'"):
        bcd(l1, update="gradient")
    with pytest.raises(ValueError, match="two-metric projection needs"):
        bcd(l1, selection="gsq", update="two_metric")
    with pytest.raises(ValueError, match="proximal BCD supports"):
        bcd(l1, selection="gsl", update="prox_gradient")
    q = Quadratic(small["A"], small["c"])
    with pytest.raises(ValueError, match="forest partitions use update='exact'"):
        bcd(q, partition="tree", selection="cyclic", update="gradient")
    with pytest.raises(ValueError, match="forest partitions are cycled"):
        bcd(q, partition="tree", selection="gsq", update="exact")
    with pytest.raises(ValueError, match="exact block minimisation needs"):
        bcd(Logistic(small["M"], small["lab"]), update="exact")
    with pytest.raises(TypeError, match="bcd: 'problem' must be a BCDProblem"):
        bcd(np.eye(3))
    nn = L1LeastSquares(small["M"], small["y"], lam=1.0, nonnegative=True)
    with pytest.raises(ValueError, match=r"bcd: 'x0' must be >= 0"):
        bcd(nn, selection="gsq", update="prox_gradient", x0=-np.ones(12))
