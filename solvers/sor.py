"""SOR, backward SOR, SSOR and SSOR-preconditioned conjugate gradient on CSR matrices.

Public fronts :func:`sor` and :func:`ssor_pcg` validate and normalise their input once (any
``scipy.sparse`` matrix or dense 2-d array becomes CSR with ``float64`` data and ``int64``
indices, duplicates summed; ``x0`` is copied), then hand raw CSR arrays to ``@njit`` (cached)
kernels. One kernel, :func:`sor_sweep`, does one relaxation sweep in place; the sweep direction is
given as loop bounds, so forward, backward and symmetric SOR and the SSOR preconditioner all run
the same code. The whole iteration loop (sweep, residual, stopping test) is also a kernel, because
the SOR-tuning experiments solve hundreds of thousands of small systems and a Python-level loop
would dominate their cost.

Stopping rules follow the reference MATLAB code of Khodak et al. (2024):

* SOR: stop at the first iteration ``k >= 1`` with ``||b - A x_k||_2 < tol * ||b - A x_0||_2``;
* SSOR-PCG: stop when ``||b - A x_k||_2 <= tol * ||b||_2`` (MATLAB ``pcg`` convention).

If the iteration cap is reached the result has ``converged=False`` and ``reason='maxiter'``; a
residual that becomes non-finite or exceeds ``divtol`` times the initial residual stops the run
with ``reason='diverged'`` instead of silently running to the cap.

References
----------
D. M. Young. Iterative Solution of Large Linear Systems. Academic Press, 1971.
Y. Saad. Iterative Methods for Sparse Linear Systems, 2nd ed., SIAM, 2003, §4.1 and §10.2.
O. Axelsson. Iterative Solution Methods. Cambridge University Press, 1994, §7.
M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. Learning to relax: setting solver parameters
across a sequence of linear system instances. ICLR 2024 (arXiv:2310.02246).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from banditlab._jit import njit
from banditlab._validation import (
    MAX_HORIZON,
    _got,
    check_integer,
    check_option,
    check_real,
    check_size_memory,
)

__all__ = [
    "HISTORY_CHUNK",
    "MAX_MAXITER",
    "SolveResult",
    "csr_residual_norm",
    "grow_history",
    "jacobi_radius",
    "poisson_2d",
    "sor",
    "sor_iterate",
    "sor_sweep",
    "ssor_apply",
    "ssor_pcg",
    "ssor_pcg_iterate",
    "young_omega",
    "young_rate",
]

#: largest ``maxiter`` of :func:`sor` and :func:`ssor_pcg` (2**62, as banditlab's horizons):
#: the kernels count iterations in int64, and ``maxiter + 1`` must not overflow
MAX_MAXITER = MAX_HORIZON

_SWEEPS = ("forward", "backward", "symmetric")
_ORDERS = ("textbook", "repo")
#: kernel status codes -> (converged, reason)
_STATUS = {0: (False, "maxiter"), 1: (True, "tol"), 2: (False, "diverged"),
           3: (True, "zero initial residual"), 4: (False, "breakdown")}


class SolveResult(NamedTuple):
    """Result of an iterative solve.

    Attributes
    ----------
    x : ndarray, shape (n,)
        The final iterate.
    n_iter : int
        Iterations performed (SOR: sweeps, or symmetric sweep pairs; PCG: CG steps).
    residuals : ndarray, shape (n_iter + 1,)
        ``||b - A x_k||_2`` for ``k = 0..n_iter`` (PCG: the recursively updated residual).
    converged : bool
        Whether the stopping rule was met.
    reason : str
        ``'tol'``, ``'maxiter'``, ``'diverged'``, ``'zero initial residual'`` or
        ``'breakdown'`` (PCG only: a non-positive curvature ``p^T A p`` or ``r^T M^{-1} r``,
        i.e. ``A`` or the preconditioner is not positive definite).
    """

    x: np.ndarray
    n_iter: int
    residuals: np.ndarray
    converged: bool
    reason: str


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit
def sor_sweep(indptr, indices, data, inv_diag, b, x, omega, start, stop, step):
    """One SOR sweep in place over rows ``start, start+step, ...`` (excluding ``stop``).

    ``x_i <- x_i + omega (b_i - sum_j a_ij x_j) / a_ii``, using already-updated entries
    (Gauss–Seidel order). ``indptr``/``indices``: int64 CSR structure; ``data``, ``inv_diag``
    (``1 / a_ii``), ``b``, ``x``: float64. Forward: ``(0, n, 1)``; backward: ``(n-1, -1, -1)``.
    """
    i = start
    while i != stop:
        s = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            s -= data[jj] * x[indices[jj]]
        x[i] += omega * s * inv_diag[i]
        i += step


@njit
def csr_residual_norm(indptr, indices, data, b, x):
    """``||b - A x||_2`` for CSR ``A`` (no temporary array)."""
    n = b.shape[0]
    total = 0.0
    for i in range(n):
        s = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            s -= data[jj] * x[indices[jj]]
        total += s * s
    return math.sqrt(total)


#: initial length of a residual history; it doubles as iterations are made (up to maxiter + 1)
HISTORY_CHUNK = 1024


@njit
def grow_history(residuals, k, maxiter):
    """``residuals`` with room for index ``k``: the same array, or a copy of twice the length
    (at most ``maxiter + 1``), so memory grows with the iterations actually made.

    The copy is an explicit loop: a slice assignment would compile its shape-mismatch error
    message (about 2 s of string formatting) into every kernel that grows a history."""
    if k < residuals.shape[0]:
        return residuals
    out = np.empty(min(max(2 * residuals.shape[0], k + 1), maxiter + 1))
    for i in range(residuals.shape[0]):
        out[i] = residuals[i]
    return out


@njit
def sor_iterate(indptr, indices, data, inv_diag, b, x, omega, sweep, tol, maxiter, divtol,
                residuals):
    """Run SOR in place on ``x``; return ``(n_iter, status, residuals)``.

    ``sweep``: 0 forward, 1 backward, 2 symmetric (forward then backward, same ``omega``).
    ``residuals``: a float64 buffer of any length >= 1 (grown as needed, see
    :func:`grow_history`); the returned array holds ``||b - A x_k||`` for ``k <= n_iter``.
    Status: 0 cap reached, 1 converged, 2 diverged, 3 zero initial residual.
    """
    n = b.shape[0]
    r0 = csr_residual_norm(indptr, indices, data, b, x)
    residuals[0] = r0
    if r0 == 0.0:
        return 0, 3, residuals
    for k in range(1, maxiter + 1):
        if sweep != 1:
            sor_sweep(indptr, indices, data, inv_diag, b, x, omega, 0, n, 1)
        if sweep != 0:
            sor_sweep(indptr, indices, data, inv_diag, b, x, omega, n - 1, -1, -1)
        r = csr_residual_norm(indptr, indices, data, b, x)
        residuals = grow_history(residuals, k, maxiter)
        residuals[k] = r
        if not math.isfinite(r) or r > divtol * r0:
            return k, 2, residuals
        if r < tol * r0:
            return k, 1, residuals
    return maxiter, 0, residuals


@njit
def ssor_apply(indptr, indices, data, inv_diag, r, z, omega, order):
    """``z <- M_omega^{-1} r``: one symmetric SOR sweep on ``A z = r`` from ``z = 0``.

    ``order`` 0 (textbook, forward sweep first) applies
    ``M = (D + omega L) D^{-1} (D + omega L^T) / (omega (2 - omega))``; ``order`` 1 (the
    reference code's ``pcg`` factor order, backward sweep first) applies
    ``M = (D + omega L^T) D^{-1} (D + omega L) / (omega (2 - omega))``.
    """
    n = r.shape[0]
    for i in range(n):
        z[i] = 0.0
    if order == 0:
        sor_sweep(indptr, indices, data, inv_diag, r, z, omega, 0, n, 1)
        sor_sweep(indptr, indices, data, inv_diag, r, z, omega, n - 1, -1, -1)
    else:
        sor_sweep(indptr, indices, data, inv_diag, r, z, omega, n - 1, -1, -1)
        sor_sweep(indptr, indices, data, inv_diag, r, z, omega, 0, n, 1)


@njit
def _csr_matvec(indptr, indices, data, x, out):
    for i in range(out.shape[0]):
        s = 0.0
        for jj in range(indptr[i], indptr[i + 1]):
            s += data[jj] * x[indices[jj]]
        out[i] = s


@njit
def ssor_pcg_iterate(indptr, indices, data, inv_diag, b, x, omega, order, tol, maxiter,
                     residuals):
    """SSOR-preconditioned CG in place on ``x``; return ``(n_iter, status, residuals)``.

    Stops when ``||b - A x_k|| <= tol ||b||``: the recursive residual is tested first and
    confirmed with the true residual (as MATLAB ``pcg`` does); if the confirmation fails the
    recursive residual is replaced by the true one and the iteration continues.
    ``residuals`` is grown as in :func:`sor_iterate`.
    Status: 0 cap reached, 1 converged, 3 zero right-hand side / exact start, 4 breakdown.
    """
    n = b.shape[0]
    r = np.empty(n)
    _csr_matvec(indptr, indices, data, x, r)
    bnorm = 0.0
    rnorm = 0.0
    for i in range(n):
        r[i] = b[i] - r[i]
        bnorm += b[i] * b[i]
        rnorm += r[i] * r[i]
    bnorm = math.sqrt(bnorm)
    rnorm = math.sqrt(rnorm)
    residuals[0] = rnorm
    if rnorm <= tol * bnorm:
        return 0, 3, residuals
    z = np.empty(n)
    q = np.empty(n)
    ssor_apply(indptr, indices, data, inv_diag, r, z, omega, order)
    p = z.copy()
    rz = np.dot(r, z)
    if not rz > 0.0:
        return 0, 4, residuals
    for k in range(1, maxiter + 1):
        _csr_matvec(indptr, indices, data, p, q)
        pq = np.dot(p, q)
        if not pq > 0.0:
            return k - 1, 4, residuals
        alpha = rz / pq
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * q[i]
        rnorm = math.sqrt(np.dot(r, r))
        residuals = grow_history(residuals, k, maxiter)
        residuals[k] = rnorm
        if rnorm <= tol * bnorm:
            true_norm = csr_residual_norm(indptr, indices, data, b, x)
            if true_norm <= tol * bnorm:
                residuals[k] = true_norm
                return k, 1, residuals
            _csr_matvec(indptr, indices, data, x, r)
            for i in range(n):
                r[i] = b[i] - r[i]
        ssor_apply(indptr, indices, data, inv_diag, r, z, omega, order)
        rz_new = np.dot(r, z)
        if not rz_new > 0.0:
            return k, 4, residuals
        beta = rz_new / rz
        rz = rz_new
        for i in range(n):
            p[i] = z[i] + beta * p[i]
    return maxiter, 0, residuals


# --------------------------------------------------------------------------------------------
# validation and fronts
# --------------------------------------------------------------------------------------------
class CSRSystem(NamedTuple):
    """A validated system: CSR arrays (int64 structure, float64 values), ``1/diag`` and ``b``."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    inv_diag: np.ndarray
    n: int


def as_csr_system(A: Any, *, owner: str) -> CSRSystem:
    """Validate ``A`` (square, finite, nonzero diagonal) and convert it to CSR float64/int64.

    Accepts any ``scipy.sparse`` matrix or array, or a dense 2-d array.
    """
    if sp.issparse(A):
        M = sp.csr_matrix(A, dtype=np.float64, copy=True)
    elif isinstance(A, np.ndarray) or isinstance(A, list):
        arr = np.asarray(A)
        if arr.dtype.kind not in "iuf" or arr.ndim != 2:
            raise TypeError(f"{owner}: 'A' must be a square scipy.sparse matrix or 2-d float "
                            f"array; got {type(A).__name__} {_got(arr)}.")
        M = sp.csr_matrix(arr.astype(np.float64))
    else:
        raise TypeError(f"{owner}: 'A' must be a square scipy.sparse matrix or 2-d float array; "
                        f"got {type(A).__name__} {_got(A)}.")
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"{owner}: 'A' must be a non-empty square matrix; got shape {M.shape}.")
    M.sum_duplicates()
    if not np.all(np.isfinite(M.data)):
        raise ValueError(f"{owner}: 'A' must have finite entries; got non-finite entries.")
    diag = M.diagonal()
    zero = np.flatnonzero(diag == 0.0)
    if zero.size:
        raise ValueError(f"{owner}: 'A' must have a nonzero diagonal; got a_ii = 0 at "
                         f"row {int(zero[0])}.")
    return CSRSystem(np.ascontiguousarray(M.indptr, dtype=np.int64),
                     np.ascontiguousarray(M.indices, dtype=np.int64),
                     np.ascontiguousarray(M.data, dtype=np.float64),
                     np.ascontiguousarray(1.0 / diag, dtype=np.float64), int(M.shape[0]))


#: largest magnitude of an entry of ``b`` or ``x0``: squares and sums of n of them stay finite
MAX_ABS_VECTOR = 1e100


def _as_vector(v: Any, n: int, name: str, owner: str) -> np.ndarray:
    try:
        arr = np.asarray(v)
    except (TypeError, ValueError):
        arr = np.asarray([None])
    if arr.dtype.kind not in "iuf" or arr.ndim == 0:
        raise TypeError(f"{owner}: '{name}' must be a 1-d float array of length {n}; "
                        f"got {type(v).__name__} {_got(v)}.")
    if arr.shape != (n,):
        raise ValueError(f"{owner}: '{name}' must be a 1-d float array of length {n}; "
                         f"got shape {arr.shape}.")
    out = np.array(arr, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{owner}: '{name}' must be a 1-d float array of length {n}; "
                         "got non-finite entries.")
    big = np.abs(out) > MAX_ABS_VECTOR
    if big.any():
        raise ValueError(f"{owner}: '{name}' must have entries in [-{MAX_ABS_VECTOR:g}, "
                         f"{MAX_ABS_VECTOR:g}] (beyond, the residual norms overflow); got "
                         f"{float(out[big][0])!r}.")
    return out


def _check_common(omega: Any, tol: Any, maxiter: Any, owner: str) -> tuple[float, float, int]:
    w = check_real(omega, "omega", owner=owner, low=0.0, high=2.0, closed="neither")
    t = check_real(tol, "tol", owner=owner, low=0.0, closed="neither")
    m = check_integer(maxiter, "maxiter", owner=owner, low=1, high=MAX_MAXITER)
    return w, t, m


def sor(A: Any, b: Any, *, omega: float, x0: Any = None, sweep: str = "forward",
        tol: float = 1e-8, maxiter: int = 10_000, divtol: float = 1e10) -> SolveResult:
    """Solve ``A x = b`` by successive over-relaxation.

    Parameters
    ----------
    A : scipy.sparse matrix or ndarray, shape (n, n)
        Square with a nonzero diagonal (converted once to CSR float64/int64).
    b : array_like, shape (n,)
    omega : float
        Relaxation parameter in (0, 2) (``omega = 1`` is Gauss–Seidel).
    x0 : array_like, shape (n,), optional
        Initial guess (copied; default zeros).
    sweep : {'forward', 'backward', 'symmetric'}
        ``'symmetric'`` (SSOR) does a forward then a backward sweep, both with ``omega``; one
        iteration is the pair.
    tol : float
        Stop at the first iteration with ``||b - A x_k|| < tol ||b - A x_0||``.
    maxiter : int
        Iteration cap (the reference code uses 10000), in [1, 2**62] (:data:`MAX_MAXITER`);
        the residual history grows with the iterations made, not with the cap.
    divtol : float
        Report ``'diverged'`` once ``||b - A x_k|| > divtol ||b - A x_0||`` or is not finite.

    Returns
    -------
    SolveResult

    Examples
    --------
    >>> from banditlab.solvers import poisson_2d, sor
    >>> A = poisson_2d(10)
    >>> res = sor(A, np.ones(100), omega=1.56)
    >>> res.converged, res.n_iter < 60
    (True, True)
    """
    owner = "sor"
    sysm = as_csr_system(A, owner=owner)
    bb = _as_vector(b, sysm.n, "b", owner)
    x = np.zeros(sysm.n) if x0 is None else _as_vector(x0, sysm.n, "x0", owner)
    w, t, m = _check_common(omega, tol, maxiter, owner)
    code = _SWEEPS.index(check_option(sweep, "sweep", _SWEEPS, owner=owner))
    dt = check_real(divtol, "divtol", owner=owner, low=1.0, closed="neither")
    res = np.empty(min(m + 1, HISTORY_CHUNK))
    k, status, res = sor_iterate(sysm.indptr, sysm.indices, sysm.data, sysm.inv_diag, bb, x, w,
                                 code, t, m, dt, res)
    conv, reason = _STATUS[int(status)]
    return SolveResult(x, int(k), res[:k + 1].copy(), conv, reason)


def ssor_pcg(A: Any, b: Any, *, omega: float, x0: Any = None, order: str = "textbook",
             tol: float = 1e-8, maxiter: int = 10_000) -> SolveResult:
    """Conjugate gradient preconditioned by symmetric SOR (SSOR) with parameter ``omega``.

    ``A`` must be symmetric positive definite (not checked: a loss of positive definiteness is
    reported as ``reason='breakdown'``).

    Parameters
    ----------
    A, b, omega, x0, tol, maxiter
        As in :func:`sor`; stops when ``||b - A x_k|| <= tol ||b||``.
    order : {'textbook', 'repo'}
        ``'textbook'``: ``M = (D + ωL) D^{-1} (D + ωL^T) / (ω(2-ω))`` (forward sweep first);
        ``'repo'``: the factor order of the reference MATLAB code,
        ``M = (D + ωL^T) D^{-1} (D + ωL) / (ω(2-ω))``. Both are SPD for SPD ``A``.

    Returns
    -------
    SolveResult
        ``n_iter`` is the number of CG iterations (the cost used by the tuning experiments).

    References
    ----------
    O. Axelsson. Iterative Solution Methods, 1994, §7.4 (SSOR preconditioning).
    """
    owner = "ssor_pcg"
    sysm = as_csr_system(A, owner=owner)
    bb = _as_vector(b, sysm.n, "b", owner)
    x = np.zeros(sysm.n) if x0 is None else _as_vector(x0, sysm.n, "x0", owner)
    w, t, m = _check_common(omega, tol, maxiter, owner)
    code = _ORDERS.index(check_option(order, "order", _ORDERS, owner=owner))
    res = np.empty(min(m + 1, HISTORY_CHUNK))
    k, status, res = ssor_pcg_iterate(sysm.indptr, sysm.indices, sysm.data, sysm.inv_diag, bb,
                                      x, w, code, t, m, res)
    conv, reason = _STATUS[int(status)]
    return SolveResult(x, int(k), res[:k + 1].copy(), conv, reason)


# --------------------------------------------------------------------------------------------
# model problem and classical theory
# --------------------------------------------------------------------------------------------
#: peak bytes per grid point while :func:`poisson_2d` builds its matrix (measured: about 252;
#: the Kronecker products' COO arrays, their sum and the CSR result)
_POISSON_BYTES = 256.0


def poisson_2d(m: int, *, shift: float = 0.0) -> sp.csr_matrix:
    """5-point Laplacian on an ``m x m`` interior grid (natural ordering), plus ``shift * I``.

    Diagonal ``4 + shift``, ``-1`` for grid neighbours, no ``1/h^2`` scaling (MATLAB
    ``delsq(numgrid('S', m + 2))``). CSR, float64 data, int64 indices.

    ``m`` is refused, before anything is allocated, when building the matrix (about 250 bytes
    per grid point at its peak) would take more than half of the memory available now.
    """
    m = check_integer(m, "m", owner="poisson_2d", low=1)
    check_size_memory(m, "m", "poisson_2d", lambda k: _POISSON_BYTES * float(k) * k,
                      "building the m^2 x m^2 matrix of 5 m^2 nonzeros")
    c = check_real(shift, "shift", owner="poisson_2d")
    one = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(m, m))
    eye = sp.identity(m)
    A = (sp.kron(eye, one) + sp.kron(one, eye) + c * sp.identity(m * m)).tocsr()
    A.sort_indices()
    A.indptr = A.indptr.astype(np.int64)
    A.indices = A.indices.astype(np.int64)
    return A


def jacobi_radius(A: Any) -> float:
    """Spectral radius of the Jacobi iteration matrix ``I - D^{-1} A`` (symmetric ``A``).

    Computed from the extreme eigenvalues of ``D^{-1/2} A D^{-1/2}`` (dense for n <= 2000,
    otherwise ARPACK). Requires a positive diagonal.
    """
    sysm = as_csr_system(A, owner="jacobi_radius")
    diag = 1.0 / sysm.inv_diag
    if np.any(diag <= 0):
        raise ValueError("jacobi_radius: 'A' must have a positive diagonal; got a "
                         "non-positive diagonal entry.")
    M = sp.csr_matrix((sysm.data, sysm.indices, sysm.indptr), shape=(sysm.n, sysm.n))
    s = sp.diags(1.0 / np.sqrt(diag))
    S = s @ M @ s
    if sysm.n <= 2000:
        ev = np.linalg.eigvalsh(S.toarray())
        lo, hi = float(ev[0]), float(ev[-1])
    else:
        from scipy.sparse.linalg import eigsh

        hi = float(eigsh(S, k=1, which="LA", return_eigenvectors=False)[0])
        lo = float(eigsh(S, k=1, which="SA", return_eigenvectors=False)[0])
    return max(abs(1.0 - lo), abs(1.0 - hi))


def young_omega(beta: float) -> float:
    """Young's optimal relaxation ``omega* = 2 / (1 + sqrt(1 - beta^2))`` (``0 <= beta < 1``)."""
    b = check_real(beta, "beta", owner="young_omega", low=0.0, high=1.0, closed="left")
    return 2.0 / (1.0 + math.sqrt(1.0 - b * b))


def young_rate(omega: float, beta: float) -> float:
    """Young's spectral radius of the SOR iteration matrix for consistently ordered ``A``.

    ``((omega beta + sqrt(omega^2 beta^2 - 4 (omega - 1))) / 2)^2`` for ``omega <= omega*``,
    ``omega - 1`` above (Young, 1971, Thm 6.2.3).
    """
    w = check_real(omega, "omega", owner="young_rate", low=0.0, high=2.0, closed="neither")
    b = check_real(beta, "beta", owner="young_rate", low=0.0, high=1.0, closed="left")
    if w >= 2.0 / (1.0 + math.sqrt(1.0 - b * b)):
        return w - 1.0
    disc = max(w * w * b * b - 4.0 * (w - 1.0), 0.0)
    return ((w * b + math.sqrt(disc)) / 2.0) ** 2
