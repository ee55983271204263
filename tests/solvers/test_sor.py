"""SOR / SSOR / SSOR-PCG against dense references, textbook identities and Young's theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from banditlab.solvers import (
    jacobi_radius,
    poisson_2d,
    sor,
    ssor_pcg,
    young_omega,
    young_rate,
)
from banditlab.solvers.sor import as_csr_system, ssor_apply


# ---------------------------------------------------------------- dense gold references
def dense_sor_sweep(A, b, x, omega, backward=False):
    """Textbook matrix form of one sweep: (D + wL) x' = w b - (w U + (w - 1) D) x."""
    D, L, U = np.diag(np.diag(A)), np.tril(A, -1), np.triu(A, 1)
    if backward:
        L, U = U, L
    return np.linalg.solve(D + omega * L, omega * b - (omega * U + (omega - 1.0) * D) @ x)


def dense_ssor_matrix(A, omega, order="textbook"):
    D, L = np.diag(np.diag(A)), np.tril(A, -1)
    X = D + omega * L
    if order == "textbook":
        return X @ np.linalg.inv(D) @ X.T / (omega * (2.0 - omega))
    return X.T @ np.linalg.inv(D) @ X / (omega * (2.0 - omega))


@st.composite
def spd_systems(draw, max_n=8):
    n = draw(st.integers(1, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, n))
    density = rng.uniform(0.3, 1.0)
    G *= rng.random((n, n)) < density
    A = G @ G.T + n * np.eye(n) * rng.uniform(0.05, 1.0)
    b = rng.standard_normal(n)
    x0 = rng.standard_normal(n)
    return A, b, x0


def _run_sweeps(A, b, x0, omega, k, sweep):
    """k iterations of the kernel loop with tol tiny enough not to stop early."""
    return sor(sp.csr_matrix(A), b, omega=omega, x0=x0, sweep=sweep, tol=1e-300, maxiter=k,
               divtol=1e300).x


@given(spd_systems(), st.floats(0.05, 1.95), st.integers(1, 4))
def test_forward_and_backward_sweeps_match_dense_reference(system, omega, k):
    A, b, x0 = system
    ref_f, ref_b = x0.copy(), x0.copy()
    for _ in range(k):
        ref_f = dense_sor_sweep(A, b, ref_f, omega)
        ref_b = dense_sor_sweep(A, b, ref_b, omega, backward=True)
    scale = 1.0 + np.abs(ref_f).max()
    np.testing.assert_allclose(_run_sweeps(A, b, x0, omega, k, "forward"), ref_f,
                               rtol=1e-10, atol=1e-10 * scale)
    scale = 1.0 + np.abs(ref_b).max()
    np.testing.assert_allclose(_run_sweeps(A, b, x0, omega, k, "backward"), ref_b,
                               rtol=1e-10, atol=1e-10 * scale)


@given(spd_systems(), st.floats(0.05, 1.95))
def test_symmetric_is_forward_then_backward_with_the_same_omega(system, omega):
    A, b, x0 = system
    ref = dense_sor_sweep(A, b, dense_sor_sweep(A, b, x0, omega), omega, backward=True)
    got = _run_sweeps(A, b, x0, omega, 1, "symmetric")
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10 * (1 + np.abs(ref).max()))


def test_symmetric_canary_omega_only_in_forward_sweep_differs():
    # Canary for the pyamg#410-style bug: a backward sweep with omega = 1 is not SSOR(omega).
    A = poisson_2d(4).toarray()
    b = np.arange(16.0)
    wrong = dense_sor_sweep(A, b, dense_sor_sweep(A, b, np.zeros(16), 1.5), 1.0, backward=True)
    got = _run_sweeps(A, b, np.zeros(16), 1.5, 1, "symmetric")
    assert np.abs(got - wrong).max() > 1e-3


@given(spd_systems())
def test_omega_one_is_gauss_seidel(system):
    A, b, x0 = system
    D_plus_L = np.tril(A)
    gs = np.linalg.solve(D_plus_L, b - np.triu(A, 1) @ x0)   # (D + L) x' = b - U x
    np.testing.assert_allclose(_run_sweeps(A, b, x0, 1.0, 1, "forward"), gs,
                               rtol=1e-10, atol=1e-10 * (1 + np.abs(gs).max()))


def test_wikipedia_worked_example_iterates():
    # Wikipedia "Successive over-relaxation" example: omega = 0.5, x0 = 0, 4x4 system with
    # solution (3, -2, 2, 1); first iterate begins 0.25, -2.78125, 1.6289062, 0.5152344.
    A = np.array([[4.0, -1, -6, 0], [-5, -4, 10, 8], [0, 9, 4, -2], [1, 0, -7, 5]])
    b = np.array([2.0, 21, -12, -6])
    x1 = _run_sweeps(A, b, np.zeros(4), 0.5, 1, "forward")
    np.testing.assert_allclose(x1, [0.25, -2.78125, 1.6289062, 0.5152344], atol=1e-7)
    res = sor(A, b, omega=0.5, tol=1e-12, maxiter=1000)
    assert res.converged
    np.testing.assert_allclose(res.x, [3.0, -2.0, 2.0, 1.0], atol=1e-9)


@given(spd_systems(), st.floats(0.05, 1.95), st.sampled_from(["textbook", "repo"]))
def test_ssor_preconditioner_matches_dense_formula(system, omega, order):
    A, r, _ = system
    s = as_csr_system(sp.csr_matrix(A), owner="t")
    z = np.empty_like(r)
    ssor_apply(s.indptr, s.indices, s.data, s.inv_diag, r, z, omega,
               0 if order == "textbook" else 1)
    ref = np.linalg.solve(dense_ssor_matrix(A, omega, order), r)
    np.testing.assert_allclose(z, ref, rtol=1e-8, atol=1e-9 * (1 + np.abs(ref).max()))


@given(spd_systems(max_n=12), st.floats(0.1, 1.9), st.sampled_from(["textbook", "repo"]))
def test_ssor_pcg_solves_spd_systems_and_matches_dense_pcg(system, omega, order):
    A, b, x0 = system
    res = ssor_pcg(sp.csr_matrix(A), b, omega=omega, x0=x0, order=order, tol=1e-10)
    assert res.converged and res.reason in ("tol", "zero initial residual")
    assert np.linalg.norm(b - A @ res.x) <= 1e-10 * np.linalg.norm(b) * (1 + 1e-9)
    # exact arithmetic: PCG terminates in at most n steps; allow a few for rounding
    assert res.n_iter <= A.shape[0] + 5
    # independent dense PCG with the explicit preconditioner gives the same iteration count
    Minv = np.linalg.inv(dense_ssor_matrix(A, omega, order))
    x, r = x0.copy(), b - A @ x0
    z = Minv @ r
    p, k = z.copy(), 0
    while np.linalg.norm(r) > 1e-10 * np.linalg.norm(b) and k < 100:
        q = A @ p
        a = (r @ z) / (p @ q)
        x, r_new = x + a * p, r - a * q
        z_new = Minv @ r_new
        p = z_new + (r_new @ z_new) / (r @ z) * p
        r, z, k = r_new, z_new, k + 1
    assert abs(res.n_iter - k) <= 1   # rounding can move the crossing of tol by one step


def test_sor_converges_to_solution_and_history_is_consistent():
    A = poisson_2d(6, shift=0.3)
    b = np.linspace(-1, 1, 36)
    res = sor(A, b, omega=1.4)
    assert res.converged and res.reason == "tol"
    assert res.residuals.shape == (res.n_iter + 1,)
    assert res.residuals[-1] < 1e-8 * res.residuals[0] <= res.residuals[-2]
    np.testing.assert_allclose(res.x, np.linalg.solve(A.toarray(), b), atol=1e-7)


def test_maxiter_and_divergence_are_reported():
    A = poisson_2d(10)
    res = sor(A, np.ones(100), omega=1.0, maxiter=5)
    assert not res.converged and res.reason == "maxiter" and res.n_iter == 5
    # Jacobi-unstable, non-SPD matrix: SOR diverges; reported long before maxiter
    B = np.array([[1.0, 3.0], [3.0, 1.0]])
    res = sor(B, np.ones(2), omega=1.0, maxiter=10_000)
    assert not res.converged and res.reason == "diverged" and res.n_iter < 100
    res = sor(A, np.zeros(100), omega=1.2)
    assert res.converged and res.n_iter == 0 and res.reason == "zero initial residual"


def test_input_is_not_mutated_and_any_sparse_format_is_accepted():
    A = poisson_2d(5)
    b = np.ones(25)
    x0 = np.zeros(25)
    r1 = sor(A.tocoo(), b, omega=1.3, x0=x0)
    r2 = sor(A.todense().A, b.tolist(), omega=1.3)
    r3 = sor(sp.csc_array(A).astype(np.float32), b.astype(np.int32), omega=1.3)
    assert np.all(x0 == 0)
    assert r1.n_iter == r2.n_iter == r3.n_iter
    np.testing.assert_allclose(r1.x, r3.x)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"omega": 2.0}, ValueError, r"sor: 'omega' must be a float in \(0, 2\); got 2.0."),
    ({"omega": 0}, ValueError, r"sor: 'omega' must be a float in \(0, 2\); got 0."),
    ({"omega": "1"}, TypeError, r"sor: 'omega' must be a float in \(0, 2\)"),
    ({"omega": 1.0, "tol": 0.0}, ValueError, r"sor: 'tol' must be a float in \(0, inf\)"),
    ({"omega": 1.0, "maxiter": 0}, ValueError,
     r"sor: 'maxiter' must be an int in \[1, 4611686018427387904\]"),
    ({"omega": 1.0, "sweep": "up"}, ValueError, r"sor: 'sweep' must be one of 'forward'"),
    ({"omega": 1.0, "x0": np.zeros(3)}, ValueError, r"sor: 'x0' must be a 1-d float array of "
                                                    r"length 4; got shape \(3,\)."),
])
def test_sor_argument_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sor(poisson_2d(2), np.ones(4), **kwargs)


def test_matrix_validation_messages():
    with pytest.raises(ValueError, match=r"sor: 'A' must be a non-empty square matrix; got "
                                         r"shape \(2, 3\)."):
        sor(sp.csr_matrix(np.ones((2, 3))), np.ones(2), omega=1.0)
    with pytest.raises(ValueError, match=r"sor: 'A' must have a nonzero diagonal; got a_ii = 0 "
                                         r"at row 1."):
        sor(np.array([[1.0, 1.0], [1.0, 0.0]]), np.ones(2), omega=1.0)
    with pytest.raises(TypeError, match=r"sor: 'A' must be a square scipy.sparse matrix"):
        sor("A", np.ones(2), omega=1.0)
    with pytest.raises(ValueError, match=r"sor: 'b' must be a 1-d float array of length 4; got "
                                         r"shape \(3,\)."):
        sor(poisson_2d(2), np.ones(3), omega=1.0)
    with pytest.raises(ValueError, match=r"ssor_pcg: 'order' must be one of 'textbook', 'repo'"):
        ssor_pcg(poisson_2d(2), np.ones(4), omega=1.0, order="x")
    with pytest.raises(ValueError, match=r"sor: 'A' must have finite entries"):
        sor(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), omega=1.0)


def test_ssor_pcg_reports_breakdown_on_indefinite_matrix():
    A = np.array([[1.0, 0.5], [0.5, -1.0]])
    res = ssor_pcg(A, np.array([1.0, 1.0]), omega=1.0)
    assert not res.converged and res.reason == "breakdown"


# ---------------------------------------------------------------- Young's theory
@pytest.mark.parametrize("c", [-0.15, 0.0, 0.45])
def test_jacobi_radius_and_young_omega_of_shifted_laplacian(c):
    A = poisson_2d(10, shift=c)
    beta = jacobi_radius(A)
    assert beta == pytest.approx(4 * math.cos(math.pi / 11) / (4 + c), rel=1e-12)
    expected = {-0.15: 1.854, 0.0: 1.560, 0.45: 1.328}[c]   # spec §3.2 values
    assert young_omega(beta) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize(("c", "omega"), [(0.0, 1.0), (0.0, 1.3), (0.0, 1.56), (0.0, 1.75),
                                          (0.3, 1.2), (-0.1, 1.9)])
def test_measured_asymptotic_rate_matches_youngs_formula(c, omega):
    A = poisson_2d(10, shift=c)
    beta = jacobi_radius(A)
    rho = young_rate(omega, beta)
    rng = np.random.default_rng(3)
    res = sor(A, rng.standard_normal(100), omega=omega, tol=1e-13, maxiter=20_000)
    r = res.residuals
    # geometric mean of the ratio over the last 40 % of the run (past the transient)
    k0 = int(0.6 * res.n_iter)
    measured = (r[-1] / r[k0]) ** (1.0 / (res.n_iter - k0))
    # at omega = omega* the iteration matrix has a Jordan block, so convergence is
    # rho^k * poly(k): allow a wider margin there (and near it).
    slack = 0.03 if abs(omega - young_omega(beta)) < 0.02 else 0.01
    assert measured == pytest.approx(rho, abs=slack)


def test_young_rate_canary_wrong_beta_fails():
    A = poisson_2d(10)
    res = sor(A, np.random.default_rng(1).standard_normal(100), omega=1.2, tol=1e-13)
    r = res.residuals
    k0 = int(0.6 * res.n_iter)
    measured = (r[-1] / r[k0]) ** (1.0 / (res.n_iter - k0))
    assert abs(measured - young_rate(1.2, 0.9)) > 0.01   # wrong beta is detectably wrong
    assert abs(measured - young_rate(1.2, jacobi_radius(A))) < 0.01


def test_young_functions_validate_and_are_continuous_at_omega_star():
    ws = young_omega(0.95)
    assert young_rate(ws - 1e-9, 0.95) == pytest.approx(ws - 1.0, abs=1e-4)
    assert young_rate(1.0, 0.95) == pytest.approx(0.95**2)     # Gauss-Seidel: beta^2
    with pytest.raises(ValueError, match=r"young_omega: 'beta' must be a float in \[0, 1\)"):
        young_omega(1.0)
    with pytest.raises(ValueError, match=r"young_rate: 'omega' must be a float in \(0, 2\)"):
        young_rate(2.5, 0.5)


@pytest.mark.parametrize("solver", ["sor", "ssor_pcg"])
def test_histories_grow_with_the_iterations_made(solver: str) -> None:
    """maxiter=1e10 used to preallocate 74.5 GiB; the history now grows as iterations are
    made, and its length never changes a result (a 1-element start buffer gives the same bits
    as a full one)."""
    import importlib

    sor_mod = importlib.import_module("banditlab.solvers.sor")   # the module, not the function
    A = poisson_2d(12)
    b = np.ones(144)
    call = sor_mod.sor if solver == "sor" else sor_mod.ssor_pcg
    big = call(A, b, omega=1.5, maxiter=10**10)
    ref = call(A, b, omega=1.5, maxiter=5000)
    assert big.converged and big.n_iter == ref.n_iter
    assert big.residuals.tobytes() == ref.residuals.tobytes()
    assert big.x.tobytes() == ref.x.tobytes()
    # a run longer than the first chunk crosses several doublings
    slow = call(A, b, omega=0.05, tol=1e-12, maxiter=3000)
    kernel = sor_mod.sor_iterate if solver == "sor" else sor_mod.ssor_pcg_iterate
    sysm = sor_mod.as_csr_system(A, owner="test")
    x = np.zeros(144)
    extra = (0, 1e-12, 3000, 1e10) if solver == "sor" else (0, 1e-12, 3000)
    k, _, res = kernel(sysm.indptr, sysm.indices, sysm.data, sysm.inv_diag, b, x, 0.05,
                       *extra, np.empty(1))
    assert int(k) == slow.n_iter and res[:k + 1].tobytes() == slow.residuals.tobytes()
