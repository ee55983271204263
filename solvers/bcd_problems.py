"""Objectives for block coordinate descent: data, Lipschitz constants and Numba kernels.

Five smooth losses share one kernel representation (:class:`ProblemData`) so a single BCD loop
(:mod:`banditlab.solvers.bcd`) serves all of them:

* ``KIND_LS``: least squares ``0.5 ||M x - y||^2`` (optionally ``+ lam * ||x||_1`` and
  ``x >= 0``);
* ``KIND_LOGISTIC``: binary logistic ``sum_r log(1 + exp(-y_r m_r^T x))``, ``y_r in {-1, +1}``;
* ``KIND_SOFTMAX``: multinomial (softmax) logistic ``sum_r logsumexp(m_r^T X) - m_r^T X y_r``
  with ``X`` of shape ``(p, k)`` flattened row-major (coordinate ``j * k + c`` is feature
  ``j``, class ``c``);
* ``KIND_QUADRATIC``: quadratic ``0.5 x^T A x - c^T x`` with sparse symmetric positive definite
  ``A`` (label propagation on a graph builds one).

The kernels keep an auxiliary vector in step with ``x``: the residual ``M x - y`` (least
squares), the scores ``M x`` (logistic, softmax) or the gradient ``A x - c`` (quadratic), plus
the derivative of the loss with respect to the scores, so one coordinate's gradient costs one
column product.

The code of the four problem kinds is written once, branching on the problem code, and compiled
once per code with the branches of the other kinds pruned (the code is passed as a compile-time
constant, :func:`static_code`), so solving one kind of problem never compiles the others.

Smoothness constants follow Nutini, Laradji & Schmidt (2022), Table in §2 of the spec:
``L_i = ||M_i||^2`` (least squares), ``0.25 ||M_i||^2`` (logistic and softmax; ``p(1-p) <= 1/4``
bounds every diagonal Hessian entry), ``A_ii`` (quadratic); the matrix bound ``H_b`` is
``M_b^T M_b``, ``0.25 M_b^T M_b``, Böhning's ``0.5 (I - 11^T / k_b) ⊗ M_b^T M_b`` with
``k_b = min(k, classes in block + 1)``, and ``A_bb``.

References
----------
J. Nutini, I. Laradji, M. Schmidt. Let's make block coordinate descent converge faster: faster
greedy rules, message-passing, active-set complexity, and superlinear convergence. JMLR 23, 2022.
D. Böhning. Multinomial logistic regression algorithm. Ann. Inst. Stat. Math. 44, 197–200, 1992.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh, svds

from banditlab._jit import njit
from banditlab._validation import (
    Array,
    Boolean,
    Constraint,
    Integer,
    Real,
    check_array,
    check_memory,
)

__all__ = [
    "BCDProblem",
    "L1LeastSquares",
    "LabelPropagation",
    "LeastSquares",
    "Logistic",
    "ProblemData",
    "Quadratic",
    "Softmax",
]

# Problem codes (``ProblemData.kind``); Numba reads module-level ints as compile-time constants.
KIND_LS = 0               # least squares, with or without the L1 term
KIND_LOGISTIC = 1         # binary logistic
KIND_SOFTMAX = 2          # multinomial (softmax) logistic
KIND_QUADRATIC = 3        # quadratic with a sparse SPD matrix


class ProblemData(NamedTuple):
    """Kernel view of a problem (every field always present; unused ones are empty)."""

    kind: int            # KIND_LS, KIND_LOGISTIC, KIND_SOFTMAX or KIND_QUADRATIC
    n: int               # number of variables
    m: int               # rows of the design (n for a quadratic)
    k: int               # classes (softmax), else 1
    dense: int           # 1: design in MT, 0: sparse columns in cp/ci/cx
    MT: np.ndarray       # float64[p, m] transposed dense design, or (0, 0)
    cp: np.ndarray       # int64[p + 1] CSC column pointers (CSR of A for a quadratic)
    ci: np.ndarray       # int64[nnz] row indices
    cx: np.ndarray       # float64[nnz] values
    y: np.ndarray        # float64[m] targets (least squares) or labels +-1 (logistic)
    Y: np.ndarray        # float64[m * k] one-hot labels (softmax), else (0,)
    c: np.ndarray        # float64[n] linear term (quadratic), else (0,)
    hscale: float        # 1 (least squares), 0.25 (logistic), 0.5 (softmax Böhning), 1
    lam: float           # L1 weight (0: smooth problem)
    nonneg: int          # 1: constraint x >= 0


# --------------------------------------------------------------------------- column helpers
# Two variants each, with no stride arguments: kernels calling a function with constant
# arguments get a separate Numba specialisation per literal value, which doubled their compile.
@njit(error_model="numpy", no_cpython_wrapper=True)
def col_dot(P, j, v):
    """``sum_r M[r, j] * v[r]`` (``A[:, j] . v`` for a quadratic)."""
    if P.dense == 1:
        return np.dot(P.MT[j], v[:P.m])          # contiguous column: BLAS ddot
    s = 0.0
    for t in range(P.cp[j], P.cp[j + 1]):
        s += P.cx[t] * v[P.ci[t]]
    return s


@njit(error_model="numpy", no_cpython_wrapper=True)
def col_axpy(P, j, a, v):
    """``v[r] += a * M[r, j]`` for every row ``r``."""
    if P.dense == 1:
        row = P.MT[j]
        for r in range(P.m):
            v[r] += a * row[r]
    else:
        for t in range(P.cp[j], P.cp[j + 1]):
            v[P.ci[t]] += a * P.cx[t]


@njit(error_model="numpy", no_cpython_wrapper=True)
def col_dot_k(P, i, v):
    """Softmax coordinate ``i`` (feature ``i // k``, class ``c = i % k``) on a row-major
    ``(m, k)`` array: ``sum_r M[r, i // k] * v[r * k + c]``."""
    k = P.k
    j = i // k
    c = i % k
    s = 0.0
    if P.dense == 1:
        row = P.MT[j]
        for r in range(P.m):
            s += row[r] * v[r * k + c]
    else:
        for t in range(P.cp[j], P.cp[j + 1]):
            s += P.cx[t] * v[P.ci[t] * k + c]
    return s


@njit(error_model="numpy", no_cpython_wrapper=True)
def col_axpy_k(P, i, a, v):
    """``v[r * k + i % k] += a * M[r, i // k]`` for every row ``r`` (softmax coordinate)."""
    k = P.k
    j = i // k
    c = i % k
    if P.dense == 1:
        row = P.MT[j]
        for r in range(P.m):
            v[r * k + c] += a * row[r]
    else:
        for t in range(P.cp[j], P.cp[j + 1]):
            v[P.ci[t] * k + c] += a * P.cx[t]


@njit(error_model="numpy", no_cpython_wrapper=True)
def _log1pexp(z):
    if z > 0.0:
        return z + np.log1p(np.exp(-z))
    return np.log1p(np.exp(z))


@njit(error_model="numpy", no_cpython_wrapper=True)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z)
    return e / (1.0 + e)


@njit(error_model="numpy", no_cpython_wrapper=True)
def reg_value(P, x):
    """``lam * ||x||_1`` (0 for smooth problems)."""
    if P.lam == 0.0:
        return 0.0
    s = 0.0
    for i in range(x.shape[0]):
        s += abs(x[i])
    return P.lam * s


@njit(error_model="numpy", no_cpython_wrapper=True)
def _weighted_col_products(P, b, nb, w, wk, out, work):
    """``out[s, t] = sum_r M[r, f_s] M[r, f_t] w[r]`` for the features ``f = b // k`` of block
    ``b`` (``k = 1`` except for softmax, so ``f = b`` for the other problems).

    ``w`` of length 0 means unit weights. ``work`` is a float64[m] array of zeros (restored).
    """
    k = P.k
    for s in range(nb):
        fs = b[s] // k
        if P.dense == 1:
            for t in range(s, nb):
                ft = b[t] // k
                a = P.MT[fs]
                c = P.MT[ft]
                acc = 0.0
                if w.shape[0] == 0:
                    for r in range(P.m):
                        acc += a[r] * c[r]
                else:
                    for r in range(P.m):
                        acc += a[r] * c[r] * w[r]
                out[s, t] = acc
                out[t, s] = acc
        else:
            for q in range(P.cp[fs], P.cp[fs + 1]):
                work[P.ci[q]] = P.cx[q] if w.shape[0] == 0 else P.cx[q] * w[P.ci[q]]
            for t in range(s, nb):
                ft = b[t] // k
                acc = 0.0
                for q in range(P.cp[ft], P.cp[ft + 1]):
                    acc += work[P.ci[q]] * P.cx[q]
                out[s, t] = acc
                out[t, s] = acc
            for q in range(P.cp[fs], P.cp[fs + 1]):
                work[P.ci[q]] = 0.0


@njit(error_model="numpy", no_cpython_wrapper=True)
def _quadratic_block(P, b, nb, out, work):
    """``out = A[b][:, b]`` using a dense scratch ``work`` (float64[n] zeros, restored)."""
    for s in range(nb):
        i = b[s]
        for q in range(P.cp[i], P.cp[i + 1]):
            work[P.ci[q]] = P.cx[q]
        for t in range(nb):
            out[s, t] = work[b[t]]
        for q in range(P.cp[i], P.cp[i + 1]):
            work[P.ci[q]] = 0.0


# --------------------------------------------------------------------------- per-problem kernels
# Static codes. The kernels below take the problem code as their first argument ``kind`` in the
# form ``static_code(code)``: a tuple whose length is the code, tested as ``len(kind)``. Numba
# rewrites the length of a tuple argument into a constant before it types a function and prunes
# the branches the constant decides; since it compiles a function once per argument type, each
# kernel is compiled once per problem, with the code of that problem only. (An ``int`` passed
# as a literal would also give one compilation per value, but with every branch compiled.)
def static_code(code: int) -> tuple[int, ...]:
    """``code`` (a ``KIND_*``, ``SEL_*``, ``UPD_*`` or ``PATH_*`` integer, or a 0/1 flag) in the
    form kernels read as a compile-time constant: a tuple of ``code`` zeros (``len`` is the
    code)."""
    return (0,) * int(code)


#: the static code of least squares, the problem of every L1 kernel
LS_CODE = static_code(KIND_LS)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _refresh_row(kind, P, aux, dv, r):
    """Recompute the loss derivative of row ``r`` from the scores (logistic and softmax)."""
    if len(kind) == KIND_LOGISTIC:
        dv[r] = -P.y[r] * _sigmoid(-P.y[r] * aux[r])
    elif len(kind) == KIND_SOFTMAX:
        k = P.k
        mx = aux[r * k]
        for c in range(1, k):
            mx = max(mx, aux[r * k + c])
        s = 0.0
        for c in range(k):
            s += np.exp(aux[r * k + c] - mx)
        lse = mx + np.log(s)
        for c in range(k):
            dv[r * k + c] = np.exp(aux[r * k + c] - lse) - P.Y[r * k + c]


@njit(error_model="numpy")
def init_aux(kind, P, x, aux, dv):
    """Fill ``aux`` (residual / scores / gradient) and ``dv`` from scratch for ``x``."""
    if len(kind) == KIND_QUADRATIC:
        for i in range(P.n):
            aux[i] = -P.c[i]
        for i in range(P.n):
            if x[i] != 0.0:
                col_axpy(P, i, x[i], aux)
        return
    if len(kind) == KIND_LS:
        for r in range(P.m):
            aux[r] = -P.y[r]
    else:
        aux[:] = 0.0
    for i in range(P.n):
        if x[i] != 0.0:
            if len(kind) == KIND_SOFTMAX:
                col_axpy_k(P, i, x[i], aux)
            else:
                col_axpy(P, i, x[i], aux)
    if len(kind) != KIND_LS:
        for r in range(P.m):
            _refresh_row(kind, P, aux, dv, r)


@njit(error_model="numpy", no_cpython_wrapper=True)
def smooth_objective(kind, P, x, aux):
    """The smooth part ``f(x)`` from the auxiliary vector (O(m k), or O(n) for a quadratic)."""
    s = 0.0
    if len(kind) == KIND_LS:
        for r in range(P.m):
            s += aux[r] * aux[r]
        return 0.5 * s
    if len(kind) == KIND_LOGISTIC:
        for r in range(P.m):
            s += _log1pexp(-P.y[r] * aux[r])
        return s
    if len(kind) == KIND_SOFTMAX:
        k = P.k
        for r in range(P.m):
            mx = aux[r * k]
            for c in range(1, k):
                mx = max(mx, aux[r * k + c])
            e = 0.0
            lin = 0.0
            for c in range(k):
                e += np.exp(aux[r * k + c] - mx)
                lin += aux[r * k + c] * P.Y[r * k + c]
            s += mx + np.log(e) - lin
        return s
    for i in range(P.n):
        s += x[i] * (aux[i] - P.c[i])
    return 0.5 * s


@njit(error_model="numpy")
def objective(kind, P, x, aux):
    """``F(x) = f(x) + lam ||x||_1``."""
    return smooth_objective(kind, P, x, aux) + reg_value(P, x)


@njit(error_model="numpy", no_cpython_wrapper=True)
def coord_grad(kind, P, aux, dv, i):
    """``grad_i f(x)`` from the maintained auxiliary vectors."""
    if len(kind) == KIND_QUADRATIC:
        return aux[i]
    if len(kind) == KIND_SOFTMAX:
        return col_dot_k(P, i, dv)
    return col_dot(P, i, dv)


@njit(error_model="numpy")
def full_grad(kind, P, aux, dv, g):
    """The full gradient ``grad f(x)`` into ``g`` (O(nnz k)).

    One BLAS ``ddot`` per contiguous column when dense: single-threaded, so timings do not
    depend on BLAS thread contention on a shared machine (a threaded gemv did).
    """
    for i in range(P.n):
        g[i] = coord_grad(kind, P, aux, dv, i)


@njit(error_model="numpy", no_cpython_wrapper=True)
def apply_step(kind, P, x, aux, dv, b, nb, d):
    """``x[b] += d`` and update the auxiliary vectors to match."""
    k = P.k
    touched = False
    for t in range(nb):
        i = b[t]
        di = d[t]
        if di == 0.0:
            continue
        touched = True
        x[i] += di
        if len(kind) == KIND_SOFTMAX:
            col_axpy_k(P, i, di, aux)
        else:
            col_axpy(P, i, di, aux)
    if not touched or len(kind) == KIND_LS or len(kind) == KIND_QUADRATIC:
        return
    if P.dense == 1:
        for r in range(P.m):
            _refresh_row(kind, P, aux, dv, r)
        return
    for t in range(nb):
        if d[t] == 0.0:
            continue
        j = b[t] // k
        for q in range(P.cp[j], P.cp[j + 1]):
            _refresh_row(kind, P, aux, dv, P.ci[q])


@njit(error_model="numpy")
def bound_block(kind, P, b, nb, out, work):
    """The matrix bound ``H_b`` (upper bound of the block Hessian) into ``out[:nb, :nb]``."""
    if len(kind) == KIND_QUADRATIC:
        _quadratic_block(P, b, nb, out, work)
        return
    empty = np.zeros(0)
    _weighted_col_products(P, b, nb, empty, 1, out, work)
    if len(kind) == KIND_SOFTMAX:
        k = P.k
        seen = np.zeros(k, np.int64)
        n_cls = 0
        for s in range(nb):
            c = b[s] % k
            if seen[c] == 0:
                seen[c] = 1
                n_cls += 1
        keff = min(k, n_cls + 1)
        for s in range(nb):
            for t in range(nb):
                same = 1.0 if b[s] % k == b[t] % k else 0.0
                out[s, t] *= 0.5 * (same - 1.0 / keff)
    else:
        for s in range(nb):
            for t in range(nb):
                out[s, t] *= P.hscale


@njit(error_model="numpy")
def hessian_block(kind, P, aux, dv, b, nb, out, work):
    """The exact block Hessian ``hess_bb f(x)`` into ``out[:nb, :nb]``."""
    if len(kind) == KIND_LS or len(kind) == KIND_QUADRATIC:
        bound_block(kind, P, b, nb, out, work)
        return
    if len(kind) == KIND_LOGISTIC:
        w = np.empty(P.m)
        for r in range(P.m):
            sg = _sigmoid(aux[r])
            w[r] = sg * (1.0 - sg)
        _weighted_col_products(P, b, nb, w, 1, out, work)
        return
    k = P.k
    for s in range(nb):
        js, cs = b[s] // k, b[s] % k
        for t in range(s, nb):
            jt, ct = b[t] // k, b[t] % k
            acc = 0.0
            if P.dense == 1:
                a = P.MT[js]
                c = P.MT[jt]
                for r in range(P.m):
                    ps = dv[r * k + cs] + P.Y[r * k + cs]
                    pt = dv[r * k + ct] + P.Y[r * k + ct]
                    h = ps * ((1.0 if cs == ct else 0.0) - pt)
                    acc += a[r] * c[r] * h
            else:
                for q in range(P.cp[js], P.cp[js + 1]):
                    work[P.ci[q]] = P.cx[q]
                for q in range(P.cp[jt], P.cp[jt + 1]):
                    r = P.ci[q]
                    ps = dv[r * k + cs] + P.Y[r * k + cs]
                    pt = dv[r * k + ct] + P.Y[r * k + ct]
                    h = ps * ((1.0 if cs == ct else 0.0) - pt)
                    acc += work[r] * P.cx[q] * h
                for q in range(P.cp[js], P.cp[js + 1]):
                    work[P.ci[q]] = 0.0
            out[s, t] = acc
            out[t, s] = acc


@njit(error_model="numpy", no_cpython_wrapper=True)
def bound_matvec(kind, P, v, out, work):
    """``out = H v`` for the full matrix bound ``H`` (``work``: float64[m * k])."""
    if len(kind) == KIND_QUADRATIC:
        for i in range(P.n):
            out[i] = col_dot(P, i, v)
        return
    k = P.k
    work[:] = 0.0
    for i in range(P.n):
        if v[i] != 0.0:
            if len(kind) == KIND_SOFTMAX:
                col_axpy_k(P, i, v[i], work)
            else:
                col_axpy(P, i, v[i], work)
    if len(kind) == KIND_SOFTMAX:
        for r in range(P.m):
            mean = 0.0
            for c in range(k):
                mean += work[r * k + c]
            mean /= k
            for c in range(k):
                work[r * k + c] -= mean
        for i in range(P.n):
            out[i] = 0.5 * col_dot_k(P, i, work)
        return
    for i in range(P.n):
        out[i] = P.hscale * col_dot(P, i, work)


# --------------------------------------------------------------------------- Python fronts
#: largest magnitude of an entry of a design ``M``, a target ``y``, a quadratic's ``A`` or
#: ``c``, an L1 weight ``lam`` or a point ``x`` / start ``x0``. With every entry at most
#: ``B = 1e100`` and sizes below 2**40 (far beyond memory), the quantities the kernels form
#: from the data stay finite with a wide margin below the float maximum 1.8e308: the start
#: objective ``0.5 ||y||^2 <= m B^2 / 2`` (about 1e212), a gradient entry
#: ``|M_i^T (M x - y)| <= ||M_i|| ||y|| <= m B^2``, the Lipschitz constants, Gram row sums and
#: ``sigma_max^2 <= m p B^2`` (about 1e224). Larger magnitudes (e.g. 1e300) overflow the squares
#: and the objective became inf/NaN without an error.
MAX_ABS_DATA = 1e100
#: smallest squared norm of a design column: a coordinate's Lipschitz constant is
#: ``c ||M_i||^2`` (c = 1, 1/4 or 1/2), and a zero (or underflowing) one makes the gradient
#: step ``-g_i / L_i`` a division by zero (0/0 = NaN on a block of zero columns). At
#: ``||M_i||^2 >= 1e-200`` the constant is a normal float and one coordinate step
#: ``|g_i| / L_i <= ||r|| / ||M_i|| <= sqrt(m) B / 1e-100`` stays finite.
MIN_COL_SQNORM = 1e-200
#: most classes of a softmax problem (2**24): the variable has ``p * k`` entries and the kernels
#: hold ``m * k`` scores and derivatives (memory is also checked before allocation)
MAX_CLASSES = 2**24
#: most negative minimum value ``-c^T A^{-1} c / 2`` of a quadratic, in magnitude (1e200)
MAX_QUADRATIC_DEPTH = 1e200
#: largest magnitude of an edge weight or label value of a label propagation: the degrees
#: ``A_ii = sum_j W_ij <= n 1e40`` and ``c_i = sum_j W_ij y_j <= n 1e80`` then stay within
#: :data:`MAX_ABS_DATA`, the bound of the quadratic it builds
MAX_ABS_GRAPH = 1e40


def _fmt(x: float) -> str:
    return repr(float(x))


def _first_big(values: np.ndarray, bound: float) -> float | None:
    """The first entry with ``|v| > bound`` (vectorised), or None."""
    if values.size == 0:
        return None
    big = np.abs(values) > bound
    if not big.any():
        return None
    return float(values.ravel()[int(np.argmax(big.ravel()))])


class BoundedArray(Array):
    """A finite float array (see :class:`~banditlab._validation.Array`) whose entries are at
    most ``bound`` in magnitude, checked in one vectorised pass; a scalar where an array is
    meant is a ``TypeError`` naming the value."""

    def __init__(self, ndim: int = 1, *, bound: float = MAX_ABS_DATA,
                 shape: tuple[int | None, ...] | None = None, allow_none: bool = False) -> None:
        super().__init__(ndim, shape=shape, allow_none=allow_none)
        self.bound = bound

    def describe(self) -> str:
        text = super().describe().removesuffix(", or None")
        text += f" with entries in [{-self.bound:g}, {self.bound:g}]"
        return text + ", or None" if self.allow_none else text

    def check(self, value: Any, name: str, owner: str) -> np.ndarray | None:
        if value is None and self.allow_none:
            return None
        if _is_scalar(value):
            raise self._type_error(value, name, owner)
        out = super().check(value, name, owner)
        bad = _first_big(out, self.bound)
        if bad is not None:
            raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got an entry equal "
                             f"to {bad!r}.")
        return out

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        shape = self.shape if self.shape is not None and None not in self.shape else (
            (2,) * self.ndim)
        return [*super().invalid_values(), (1.5, TypeError),
                (np.full(shape, 1e300), ValueError), (np.full(shape, np.nan), ValueError),
                (np.full(shape, True), TypeError), (np.full(shape, 1 + 1j), TypeError)]


class _DescribedArray(Array):
    """:class:`~banditlab._validation.Array`'s checks with another description in messages."""

    def __init__(self, ndim: int, *, text: str) -> None:
        super().__init__(ndim)
        self.text = text

    def describe(self) -> str:
        return self.text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_scalar(value: Any) -> bool:
    """A Python or numpy scalar (or 0-d array): never a matrix or vector."""
    if isinstance(value, str | bytes):
        return False
    return isinstance(value, numbers.Number | np.generic) or (
        isinstance(value, np.ndarray) and value.ndim == 0)


class Design(Constraint):
    """A design matrix: a non-empty 2-d array or ``scipy.sparse`` matrix of real numbers.

    Entries are finite and at most :data:`MAX_ABS_DATA` in magnitude, and every column has a
    squared norm of at least :data:`MIN_COL_SQNORM` (no zero column: its Lipschitz constant
    would be 0, see the constants for why both bounds). ``check`` returns a C-contiguous
    float64 array or a CSC matrix with float64 data, sorted indices and no duplicates, after
    checking that the copies fit in memory.
    """

    def describe(self) -> str:
        return (f"a 2-d array or scipy.sparse matrix of floats (non-empty) with entries in "
                f"[{-MAX_ABS_DATA:g}, {MAX_ABS_DATA:g}] and every column of squared norm "
                f">= {MIN_COL_SQNORM:g}")

    def check(self, value: Any, name: str, owner: str) -> np.ndarray | sp.csc_matrix:
        if sp.issparse(value):
            if value.dtype.kind not in "iuf":
                raise TypeError(f"{owner}: '{name}' must be {self.describe()}; got "
                                f"{type(value).__name__} of dtype {value.dtype}.")
            if value.ndim != 2 or min(value.shape) < 1:
                raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got shape "
                                 f"{value.shape}.")
            check_memory(32.0 * value.nnz + 16.0 * value.shape[1],
                         f"a sparse '{name}' with nnz={value.nnz}", owner)
            csc = sp.csc_matrix(value, dtype=np.float64, copy=True)
            csc.sum_duplicates()
            csc.sort_indices()
            data = csc.data
            if not np.all(np.isfinite(data)):
                raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got non-finite "
                                 "entries.")
            sq = np.asarray(csc.multiply(csc).sum(axis=0)).ravel()
            out: np.ndarray | sp.csc_matrix = csc
        else:
            if _is_scalar(value):
                raise self._type_error(value, name, owner)
            shape = getattr(value, "shape", None)
            if isinstance(shape, tuple) and len(shape) == 2 and all(
                    isinstance(s, int) for s in shape):
                check_memory(16.0 * shape[0] * shape[1], f"a dense '{name}' of shape {shape}",
                             owner)
            arr = _DescribedArray(2, text=self.describe()).check(value, name, owner)
            data = arr
            sq = np.einsum("ij,ij->j", arr, arr)
            out = arr
        bad = _first_big(data, MAX_ABS_DATA)
        if bad is not None:
            raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got an entry equal to "
                             f"{bad!r}.")
        small = np.flatnonzero(sq < MIN_COL_SQNORM)
        if small.size == sq.size and not np.any(data):
            raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got an all-zero "
                             f"matrix of shape {out.shape}.")
        if small.size:
            j = int(small[0])
            raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got column {j} of "
                             f"squared norm {_fmt(sq[j])} (a zero column has Lipschitz constant "
                             "0; drop it or rescale it).")
        return out

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        return [("abc", TypeError), (1.5, TypeError), (np.ones(3), ValueError),
                (np.ones((2, 2), bool), TypeError), (np.ones((2, 2), complex), TypeError),
                (np.zeros((3, 2)), ValueError), (np.full((2, 2), 1e300), ValueError),
                (np.full((2, 2), np.nan), ValueError),
                (sp.csr_matrix(np.full((2, 2), 1e300)), ValueError),
                (sp.csr_matrix((2, 2)), ValueError), (sp.csr_matrix(np.ones((2, 2), complex)),
                                                      TypeError)]


_DESIGN = Design()


def _as_design(M: Any, owner: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             int, sp.csc_matrix | np.ndarray]:
    """Validate a design (see :class:`Design`) and return (MT, cp, ci, cx, dense, M)."""
    Mv = _DESIGN.check(M, "M", owner)
    if sp.issparse(Mv):
        return (np.zeros((0, 0)), Mv.indptr.astype(np.int64), Mv.indices.astype(np.int64),
                Mv.data.astype(np.float64), 0, Mv)
    return (np.ascontiguousarray(Mv.T), np.zeros(1, np.int64), np.zeros(0, np.int64),
            np.zeros(0), 1, Mv)


def _col_sq_norms(M: sp.csc_matrix | np.ndarray) -> np.ndarray:
    if sp.issparse(M):
        return np.asarray(M.multiply(M).sum(axis=0)).ravel()
    return np.einsum("ij,ij->j", M, M)


def _sigma_max_sq(M: sp.csc_matrix | np.ndarray) -> float:
    if min(M.shape) <= 200:
        dense = M.toarray() if sp.issparse(M) else M
        return float(np.linalg.norm(dense, 2) ** 2)
    s = svds(sp.csc_matrix(M) if sp.issparse(M) else M, k=1, return_singular_vectors=False,
             v0=np.ones(min(M.shape)), tol=1e-10)
    return float(s[0] ** 2) * (1.0 + 1e-8)


@njit(error_model="numpy")
def _abs_gram_rowsums_sparse(cp, ci, cx, rp, rc, rx, acc, out):
    """``out[i] = sum_j |(M^T M)_ij|`` from the CSC ``(cp, ci, cx)`` and CSR ``(rp, rc, rx)``
    forms of ``M``. Column ``i`` of the Gram matrix is accumulated in ``acc`` (float64[p],
    zeros, restored), then summed and cleared either by revisiting the entries written (when
    there are fewer than ``p``; an entry seen twice adds 0 after its clearing) or by one sweep
    over ``acc``. Cost ``sum_i min(2 w_i, w_i + p)``, ``w_i = sum_{r: M_ri != 0} nnz(row r)``."""
    p = cp.shape[0] - 1
    for i in range(p):
        work = 0
        for q in range(cp[i], cp[i + 1]):
            r = ci[q]
            a = cx[q]
            work += rp[r + 1] - rp[r]
            for s in range(rp[r], rp[r + 1]):
                acc[rc[s]] += a * rx[s]
        tot = 0.0
        if work < p:
            for q in range(cp[i], cp[i + 1]):
                r = ci[q]
                for s in range(rp[r], rp[r + 1]):
                    j = rc[s]
                    tot += abs(acc[j])
                    acc[j] = 0.0
        else:
            for j in range(p):
                tot += abs(acc[j])
                acc[j] = 0.0
        out[i] = tot


def _abs_gram_rowsums(M: sp.csc_matrix | np.ndarray, *, max_block: int = 8_000_000
                      ) -> np.ndarray:
    """Exact absolute row sums ``sum_j |(M^T M)_ij|`` of the Gram matrix, shape ``(p,)``.

    Sparse ``M``: one pass over the columns with a dense accumulator (no ``p x p`` matrix is
    formed; cost at most ``sum_r nnz(row r)^2 + p^2``).
    Dense ``M``: the upper triangle of ``M^T M`` in row blocks of at most ``max_block``
    entries (64 MB by default; BLAS).
    """
    p = M.shape[1]
    if sp.issparse(M):
        csc = sp.csc_matrix(M)
        csr = csc.tocsr()
        out = np.empty(p)
        _abs_gram_rowsums_sparse(csc.indptr.astype(np.int64), csc.indices.astype(np.int64),
                                 np.asarray(csc.data, np.float64), csr.indptr.astype(np.int64),
                                 csr.indices.astype(np.int64), np.asarray(csr.data, np.float64),
                                 np.zeros(p), out)
        return out
    chunk = max(1, max_block // p)
    if chunk >= p:
        return np.abs(M.T @ M).sum(axis=1)
    out = np.zeros(p)
    for j in range(0, p, chunk):       # upper-triangle block row; symmetry gives the rest
        G = np.abs(M[:, j:j + chunk].T @ M[:, j:])
        c = G.shape[0]
        out[j:j + c] += G.sum(axis=1)
        out[j + c:] += G[:, c:].sum(axis=0)
    return out


class BCDProblem:
    """Base class: an objective with kernel data, coordinate and global Lipschitz constants.

    Attributes
    ----------
    data : ProblemData
        Kernel view of the problem.
    n_features : int
        Number of optimisation variables ``n``.
    lipschitz : ndarray of shape (n,)
        Coordinate constants ``L_i``.
    lipschitz_global : float
        ``lambda_max`` of the full matrix bound (a Lipschitz constant of ``grad f``).
    rowsum_bound : ndarray of shape (n,)
        Absolute row sums of the full matrix bound (a diagonal bound valid for every block).
    """

    name = "problem"
    #: the env family experiment files know the problems by (banditlab.systems)
    family = "bcd"
    data: ProblemData
    lipschitz: np.ndarray
    lipschitz_global: float
    rowsum_bound: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.data.n)

    @property
    def is_l1(self) -> bool:
        return self.data.lam > 0.0

    def _check_x(self, x: Any) -> np.ndarray:
        return BoundedArray(1, shape=(self.data.n,)).check(x, "x", type(self).__name__)

    def _state(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = self.data
        aux = np.zeros(P.n if P.kind == KIND_QUADRATIC else P.m * P.k)
        dv = aux if P.kind in (KIND_LS, KIND_QUADRATIC) else np.zeros(P.m * P.k)
        init_aux(static_code(P.kind), P, x, aux, dv)
        return aux, dv

    def objective(self, x: Any) -> float:
        """``F(x)`` (smooth part plus the L1 term when present)."""
        x = self._check_x(x)
        aux, _ = self._state(x)
        return _finite(float(objective(static_code(self.data.kind), self.data, x, aux)),
                       "F(x)", type(self).__name__)

    def gradient(self, x: Any) -> np.ndarray:
        """``grad f(x)`` of the smooth part, shape ``(n,)``."""
        x = self._check_x(x)
        aux, dv = self._state(x)
        g = np.empty(self.data.n)
        full_grad(static_code(self.data.kind), self.data, aux, dv, g)
        if not np.all(np.isfinite(g)):
            _finite(float(g[~np.isfinite(g)][0]), "grad f(x)", type(self).__name__)
        return g

    def _check_block(self, block: Any) -> np.ndarray:
        b = check_array(block, "block", owner=type(self).__name__, ndim=1, dtype=np.int64,
                        low=0, high=self.data.n - 1)
        if np.unique(b).size != b.size:
            raise ValueError(f"{type(self).__name__}: 'block' must be a 1-d array of distinct "
                             f"ints in [0, {self.data.n - 1}]; got repeated indices.")
        return b

    def block_hessian(self, x: Any, block: Any) -> np.ndarray:
        """Exact block Hessian ``hess_bb f(x)``, shape ``(len(block), len(block))``."""
        x = self._check_x(x)
        b = self._check_block(block)
        aux, dv = self._state(x)
        out = np.zeros((b.size, b.size))
        hessian_block(static_code(self.data.kind), self.data, aux, dv, b, b.size, out,
                      np.zeros(max(self.data.m, self.data.n)))
        return out

    def hessian_bound(self, block: Any) -> np.ndarray:
        """The matrix bound ``H_b`` with ``hess_bb f(x) <= H_b`` for every ``x``."""
        b = self._check_block(block)
        out = np.zeros((b.size, b.size))
        bound_block(static_code(self.data.kind), self.data, b, b.size, out,
                    np.zeros(max(self.data.m, self.data.n)))
        return out

    def block_lipschitz(self, block: Any) -> float:
        """``L_b = lambda_max(H_b)``."""
        return float(np.linalg.eigvalsh(self.hessian_bound(block))[-1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.data.n})"


def _finite(value: float, what: str, owner: str) -> float:
    """``value``, or a ``ValueError`` naming ``x``: a point inside the data bounds whose
    ``what`` overflows (e.g. every entry of ``x`` and ``M`` near 1e100) is refused."""
    if not np.isfinite(value):
        raise ValueError(f"{owner}: 'x' must be a point where {what} is finite; got "
                         f"{what} = {value!r}.")
    return value


def _design_problem(self: BCDProblem, design: tuple, *, y: np.ndarray | None,
                    Y: np.ndarray | None, kind: int, k: int, hscale: float, lam: float,
                    nonneg: bool) -> None:
    """Set the kernel data and constants from a design validated by :func:`_as_design`."""
    MT, cp, ci, cx, dense, Mv = design
    m, p = Mv.shape
    n = p * k
    yv = np.zeros(m) if y is None else y
    Yv = np.zeros(0) if Y is None else np.ascontiguousarray(Y, dtype=np.float64).ravel()
    self.data = ProblemData(kind=kind, n=n, m=m, k=k, dense=dense, MT=MT, cp=cp, ci=ci, cx=cx,
                            y=yv, Y=Yv, c=np.zeros(0), hscale=hscale, lam=float(lam),
                            nonneg=int(nonneg))
    sq = _col_sq_norms(Mv)
    smax = _sigma_max_sq(Mv)
    rows = _abs_gram_rowsums(Mv)
    if kind == KIND_SOFTMAX:
        self.lipschitz = np.repeat(0.25 * sq, k)
        self.lipschitz_global = 0.5 * smax
        self.rowsum_bound = np.repeat((k - 1) / k * rows, k)
    else:
        self.lipschitz = hscale * sq
        self.lipschitz_global = hscale * smax
        self.rowsum_bound = hscale * rows
    self.lipschitz = np.maximum(self.lipschitz, 1e-300)
    self.design = Mv


def _targets(y: Any, design: tuple, owner: str) -> np.ndarray:
    """Targets ``y``: one per row of the validated design, each in [-1e100, 1e100]."""
    return BoundedArray(1, shape=(design[5].shape[0],)).check(y, "y", owner)


class LeastSquares(BCDProblem):
    """``f(x) = 0.5 ||M x - y||^2``.

    Parameters
    ----------
    M : array_like or scipy.sparse matrix of shape (m, n)
        Design: real entries in [-1e100, 1e100] (:data:`MAX_ABS_DATA`, so the objective,
        gradients and Lipschitz constants cannot overflow), no column of squared norm below
        1e-200 (:data:`MIN_COL_SQNORM`: a zero column has Lipschitz constant 0 and its gradient
        step is 0/0).
    y : array_like of shape (m,)
        Targets, each in [-1e100, 1e100].

    Raises
    ------
    TypeError
        A design or target that is not an array of real numbers (a scalar, a string, bool or
        complex entries).
    ValueError
        Wrong shapes, non-finite or out-of-range entries, a zero column, or sizes that would
        not fit in memory.
    """

    name = "least_squares"

    def __init__(self, M: Any, y: Any) -> None:
        owner = type(self).__name__
        design = _as_design(M, owner)
        yv = _targets(y, design, owner)
        _design_problem(self, design, y=yv, Y=None, kind=KIND_LS, k=1, hscale=1.0, lam=0.0,
                        nonneg=False)


class L1LeastSquares(BCDProblem):
    """``F(x) = 0.5 ||M x - y||^2 + lam ||x||_1`` (optionally with ``x >= 0``).

    Parameters
    ----------
    M : array_like or scipy.sparse matrix of shape (m, n)
        As in :class:`LeastSquares`.
    y : array_like of shape (m,)
        As in :class:`LeastSquares`.
    lam : float
        L1 weight in (0, 1e100]: positive (``lam = 0`` is :class:`LeastSquares`), at most
        :data:`MAX_ABS_DATA` like the data, so ``lam * ||x||_1`` and the duality gap stay
        finite.
    nonnegative : bool, default False
        Add the constraint ``x >= 0`` (then the L1 term is the linear ``lam * sum(x)``, the
        spec's A-L1 problem).
    """

    name = "l1_least_squares"

    def __init__(self, M: Any, y: Any, *, lam: float, nonnegative: bool = False) -> None:
        owner = type(self).__name__
        design = _as_design(M, owner)
        yv = _targets(y, design, owner)
        lam = Real(0.0, MAX_ABS_DATA, closed="right").check(lam, "lam", owner)
        nonneg = Boolean().check(nonnegative, "nonnegative", owner)
        _design_problem(self, design, y=yv, Y=None, kind=KIND_LS, k=1, hscale=1.0, lam=lam,
                        nonneg=nonneg)

    @property
    def lam(self) -> float:
        return float(self.data.lam)

    def duality_gap(self, x: Any) -> float:
        """Duality gap of ``x`` (Lasso dual with the rescaled residual; ``x >= 0`` variant too)."""
        x = self._check_x(x)
        aux, _ = self._state(x)
        return float(_l1_gap(self.data, x, aux, np.empty(self.data.n)))


@njit(error_model="numpy")
def _l1_gap(P, x, aux, g):
    """Duality gap of L1 least squares; ``aux`` = ``M x - y``, ``g`` scratch float64[n]."""
    full_grad(LS_CODE, P, aux, aux, g)      # g = M^T (M x - y)
    return l1_gap_from_grad(P, x, aux, g)


@njit(error_model="numpy", no_cpython_wrapper=True)
def l1_gap_from_grad(P, x, aux, g):
    """Duality gap of L1 least squares given ``aux = M x - y`` and ``g = M^T aux``.

    The dual point is the residual rescaled into the dual feasible set (the scaling used by
    scikit-learn's coordinate descent), so the gap is ``P(x) - D(theta) >= P(x) - P(x*)``.
    """
    scale = 0.0
    for i in range(P.n):
        v = -g[i] if P.nonneg == 1 else abs(g[i])
        scale = max(scale, v)
    s = 1.0 if scale <= P.lam else P.lam / scale
    rr = 0.0
    ry = 0.0
    yy = 0.0
    for r in range(P.m):
        rr += aux[r] * aux[r]
        ry += aux[r] * P.y[r]
        yy += P.y[r] * P.y[r]
    primal = 0.5 * rr + reg_value(P, x)
    # dual point theta = -s * res (res = M x - y): D = 0.5||y||^2 - 0.5||y - theta||^2
    dual = -0.5 * s * s * rr - s * ry
    return primal - dual


class Logistic(BCDProblem):
    """``f(x) = sum_r log(1 + exp(-y_r m_r^T x))`` with labels ``y_r in {-1, +1}``.

    Parameters
    ----------
    M : array_like or scipy.sparse matrix of shape (m, n)
        As in :class:`LeastSquares`.
    y : array_like of shape (m,)
        Labels, each -1 or +1.
    """

    name = "logistic"

    def __init__(self, M: Any, y: Any) -> None:
        owner = type(self).__name__
        design = _as_design(M, owner)
        m = design[5].shape[0]
        yv = BoundedArray(1, shape=(m,)).check(y, "y", owner)
        if not np.all(np.abs(yv) == 1.0):
            raise ValueError(f"{owner}: 'y' must be a 1-d array of labels in {{-1, +1}}; got "
                             f"an entry equal to {yv[np.abs(yv) != 1.0][0]!r}.")
        _design_problem(self, design, y=yv, Y=None, kind=KIND_LOGISTIC, k=1, hscale=0.25,
                        lam=0.0, nonneg=False)


class Softmax(BCDProblem):
    """Multinomial logistic ``sum_r logsumexp(m_r^T X) - m_r^T X e_{y_r}``, ``X`` of shape (p, k).

    The variable is ``X.ravel()`` (row-major): coordinate ``j * k + c`` is feature ``j``, class
    ``c``.

    Parameters
    ----------
    M : array_like or scipy.sparse matrix of shape (m, p)
        As in :class:`LeastSquares`.
    labels : array_like of int, shape (m,)
        Class of each row, in ``[0, n_classes)``.
    n_classes : int
        Number of classes ``k``, in [2, 2**24] (:data:`MAX_CLASSES`); the ``m * k`` scores
        and the ``p * k`` variables must also fit in memory (checked before allocating).
    """

    name = "softmax"

    def __init__(self, M: Any, labels: Any, *, n_classes: int) -> None:
        owner = type(self).__name__
        k = Integer(2, MAX_CLASSES).check(n_classes, "n_classes", owner)
        design = _as_design(M, owner)
        m, p = design[5].shape
        # one-hot labels, scores and derivatives (m * k each) and ~25 work vectors of the
        # p * k variables in bcd
        check_memory(8.0 * (3 * m * k + 25 * p * k), f"m={m}, p={p}, n_classes={k}", owner)
        rule = Array(1, dtype=np.int64, shape=(m,), low=0, high=k - 1)
        if _is_scalar(labels):
            raise rule._type_error(labels, "labels", owner)
        lab = rule.check(labels, "labels", owner)
        Y = np.zeros((m, k))
        Y[np.arange(m), lab] = 1.0
        _design_problem(self, design, y=None, Y=Y, kind=KIND_SOFTMAX, k=k, hscale=0.5, lam=0.0,
                        nonneg=False)
        self.n_classes = k


class Quadratic(BCDProblem):
    """``f(x) = 0.5 x^T A x - c^T x`` with sparse symmetric positive definite ``A``.

    Parameters
    ----------
    A : array_like or scipy.sparse matrix of shape (n, n)
        Symmetric positive definite (checked: symmetry exactly, definiteness by a Cholesky-free
        smallest-eigenvalue estimate), real entries in [-1e100, 1e100]
        (:data:`MAX_ABS_DATA`), and with ``lambda_min(A) >= ||c||^2 / 2e200``
        (:data:`MAX_QUADRATIC_DEPTH`): the minimum value ``-c^T A^{-1} c / 2`` is then at least
        -1e200, and every descent iterate, whose objective lies between that minimum and
        ``f(x0)``, keeps ``x``, ``A x`` and ``f`` finite with a margin for the conditioning.
        (For ``n > 300`` ``lambda_min`` is estimated by the smallest LU pivot, an upper bound;
        :func:`~banditlab.solvers.bcd` still reports a non-finite objective as an error.)
    c : array_like of shape (n,)
        Real entries in [-1e100, 1e100].
    """

    name = "quadratic"

    def __init__(self, A: Any, c: Any) -> None:
        owner = type(self).__name__
        what = (f"a square 2-d array or scipy.sparse matrix of floats (non-empty) with entries "
                f"in [{-MAX_ABS_DATA:g}, {MAX_ABS_DATA:g}]")
        if sp.issparse(A):
            if A.dtype.kind not in "iuf":
                raise TypeError(f"{owner}: 'A' must be {what}; got {type(A).__name__} of dtype "
                                f"{A.dtype}.")
            if A.ndim != 2 or min(A.shape) < 1:
                raise ValueError(f"{owner}: 'A' must be {what}; got shape {A.shape}.")
            check_memory(32.0 * A.nnz, f"a sparse 'A' with nnz={A.nnz}", owner)
            As = sp.csr_matrix(A, dtype=np.float64, copy=True)
        else:
            dense = _DescribedArray(2, text=what)
            if _is_scalar(A):
                raise dense._type_error(A, "A", owner)
            As = sp.csr_matrix(dense.check(A, "A", owner))
        n = As.shape[0]
        if As.shape != (n, n):
            raise ValueError(f"{owner}: 'A' must be {what}; got shape {As.shape}.")
        As.sum_duplicates()
        As.sort_indices()
        As.eliminate_zeros()
        if not np.all(np.isfinite(As.data)):
            raise ValueError(f"{owner}: 'A' must be {what}; got non-finite entries.")
        bad = _first_big(As.data, MAX_ABS_DATA)
        if bad is not None:
            raise ValueError(f"{owner}: 'A' must be {what}; got an entry equal to {bad!r}.")
        if abs(As - As.T).max() > 1e-12 * max(1.0, abs(As).max()):
            raise ValueError(f"{owner}: 'A' must be symmetric; got an asymmetric matrix.")
        diag = As.diagonal()
        if np.any(diag <= 0):
            raise ValueError(f"{owner}: 'A' must be positive definite; got a non-positive "
                             "diagonal entry.")
        cv = BoundedArray(1, shape=(n,)).check(c, "c", owner)
        lmin = _lambda_min(As)
        if lmin <= 0:
            raise ValueError(f"{owner}: 'A' must be positive definite; got smallest eigenvalue "
                             f"{lmin:.3g}.")
        need = float(cv @ cv) / (2.0 * MAX_QUADRATIC_DEPTH)
        if lmin < need:
            raise ValueError(f"{owner}: 'A' must be positive definite with smallest eigenvalue "
                             f">= ||c||^2 / {2.0 * MAX_QUADRATIC_DEPTH:g} = {need:.3g} (so the "
                             f"minimum -c^T A^-1 c / 2 stays finite); got {lmin:.3g}.")
        self.data = ProblemData(kind=KIND_QUADRATIC, n=n, m=n, k=1, dense=0,
                                MT=np.zeros((0, 0)), cp=As.indptr.astype(np.int64),
                                ci=As.indices.astype(np.int64), cx=As.data.astype(np.float64),
                                y=np.zeros(0), Y=np.zeros(0), c=cv, hscale=1.0, lam=0.0,
                                nonneg=0)
        self.A = As
        self.c = cv
        self.lipschitz = diag.astype(np.float64)
        self.lipschitz_global = _lambda_max(As)
        self.rowsum_bound = np.asarray(abs(As).sum(axis=1)).ravel()
        self.lattice_partition: list[np.ndarray] | None = None
        self.lattice_red_black: list[np.ndarray] | None = None

    def solve(self) -> np.ndarray:
        """The exact minimiser ``A^{-1} c`` (sparse direct solve), for references."""
        from scipy.sparse.linalg import spsolve

        return np.asarray(spsolve(self.A.tocsc(), self.c))


def _lambda_max(A: sp.csr_matrix) -> float:
    if A.shape[0] <= 300:
        return float(np.linalg.eigvalsh(A.toarray())[-1])
    return float(eigsh(A, k=1, which="LA", return_eigenvectors=False,
                       v0=np.ones(A.shape[0]), tol=1e-10)[0]) * (1.0 + 1e-8)


def _lambda_min(A: sp.csr_matrix) -> float:
    if A.shape[0] <= 300:
        return float(np.linalg.eigvalsh(A.toarray())[0])
    # Gershgorin-shifted test: A SPD iff a sparse Cholesky-like LDL succeeds; use splu pivots.
    from scipy.sparse.linalg import splu

    lu = splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
              options={"SymmetricMode": True})
    return float(np.min(lu.U.diagonal()))


class LabelPropagation(Quadratic):
    """Label propagation on a weighted graph as a quadratic (spec §2, datasets D and E).

    For every node ``i``: ``A_full[i, i] = sum_j W_ij``, ``A_full[i, j] = -W_ij``,
    ``c_i = sum_{j labelled} W_ij y_j``; the problem keeps the unlabelled nodes only.

    Parameters
    ----------
    graph : networkx.Graph
        Undirected graph; edge attribute ``weight`` (default 1), each a float in (0, 1e40]
        (:data:`MAX_ABS_GRAPH`: positive so the Laplacian is positive semi-definite and an
        edge always connects, bounded so ``A`` and ``c`` stay within the quadratic's bounds).
    labels : dict
        ``{node: value}`` for the labelled nodes, each value in [-1e40, 1e40]. At least one node
        must stay unlabelled, and every connected component of ``graph`` needs a labelled
        node (otherwise ``A`` is singular: the values there are undetermined).

    Attributes
    ----------
    unknown : list
        Graph nodes of the variables, in variable order.
    """

    name = "label_propagation"

    def __init__(self, graph: Any, labels: Any) -> None:
        owner = type(self).__name__
        if not isinstance(graph, nx.Graph) or graph.is_directed():
            raise TypeError(f"{owner}: 'graph' must be an undirected networkx.Graph; got "
                            f"{type(graph).__name__} {_short(graph)}.")
        weight = Real(0.0, MAX_ABS_GRAPH, closed="right")
        for u, v, w in graph.edges(data="weight", default=1.0):
            try:
                weight.check(w, "weight", owner)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{owner}: 'graph' must be an undirected networkx.Graph with "
                                f"edge weights each {weight.describe()}; got weight {_short(w)} on "
                                f"edge ({u!r}, {v!r}).") from None
        if not isinstance(labels, dict):
            raise TypeError(f"{owner}: 'labels' must be a non-empty dict {{node: value}}; got "
                            f"{type(labels).__name__} {_short(labels)}.")
        if not labels:
            raise ValueError(f"{owner}: 'labels' must be a non-empty dict {{node: value}}; got "
                             "{}.")
        value = Real(-MAX_ABS_GRAPH, MAX_ABS_GRAPH)
        for node, val in labels.items():
            if node not in graph:
                raise ValueError(f"{owner}: 'labels' must be a dict with graph nodes as keys; got "
                                 f"{node!r}.")
            value.check(val, f"labels[{node!r}]", owner)
        nodes = list(graph.nodes())
        if len(labels) >= len(nodes):
            raise ValueError(f"{owner}: 'labels' must be a dict leaving a node unlabelled; got "
                             f"{len(labels)} labels for {len(nodes)} nodes.")
        for comp in nx.connected_components(graph):
            if not any(v in labels for v in comp):
                node = next(iter(comp))
                raise ValueError(f"{owner}: 'labels' must be a dict with a node in every "
                                 f"connected component of 'graph' (else A is singular); got none "
                                 f"in the "
                                 f"component of node {node!r} ({len(comp)} nodes).")
        index = {v: i for i, v in enumerate(nodes)}
        W = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight="weight", format="csr")
        W = sp.csr_matrix(W, dtype=np.float64)
        W.setdiag(0.0)
        W.eliminate_zeros()
        deg = np.asarray(W.sum(axis=1)).ravel()
        yv = np.zeros(len(nodes))
        is_lab = np.zeros(len(nodes), bool)
        for node, val in labels.items():
            yv[index[node]] = float(val)
            is_lab[index[node]] = True
        un = np.flatnonzero(~is_lab)
        A_full = sp.diags(deg) - W
        A = sp.csr_matrix(A_full[un][:, un])
        c = np.asarray(W[un][:, np.flatnonzero(is_lab)] @ yv[is_lab]).ravel()
        super().__init__(A, c)
        self.unknown = [nodes[i] for i in un]
        self.unknown_index = un
