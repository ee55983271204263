"""Numba kernels of block coordinate descent: selection rules, update rules, the iteration loop.

All algorithm logic of :func:`banditlab.solvers.bcd.bcd` lives here, written once. The front
validates and maps the string options to the integer codes below.

Compilation follows the call. The codes that choose between code paths (:class:`BCDCodes`: the
loop, fixed or variable blocks, the selection rule, the update, the problem, forest blocks)
reach the kernels as static codes (:func:`~banditlab.solvers.bcd_problems.static_code`: tuples
whose length is the code, which Numba reads as a compile-time constant). Each kernel takes the
codes it branches on, is compiled once per combination of them with the branches of the other
rules, updates and problems pruned before typing, and is cached on disk like any other: a first
Lasso solve compiles one rule, one update and the least-squares kernels, not the whole grid,
and a kernel that depends on none of the codes (scores, proximal steps, forest solves) or on
few of them is shared by every combination that calls it.

References
----------
J. Nutini, I. Laradji, M. Schmidt. Let's make block coordinate descent converge faster: faster
greedy rules, message-passing, active-set complexity, and superlinear convergence. JMLR 23, 2022.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab.solvers.bcd_partitions import forest_solve, greedy_forest
from banditlab.solvers.bcd_problems import (
    LS_CODE,
    apply_step,
    bound_block,
    bound_matvec,
    col_axpy,
    col_dot,
    coord_grad,
    full_grad,
    hessian_block,
    l1_gap_from_grad,
    objective,
    smooth_objective,
    static_code,
)
from banditlab.solvers.sor import grow_history

__all__ = ["SELECTION_CODES", "UPDATE_CODES", "BCDArrays", "BCDCodes", "BCDConfig",
           "block_setup", "run_iterations"]

# Integer codes of the options (the fields of :class:`BCDCodes`). The kernels compare the length
# of a static code against these names: a comparison of constants, decided when compiling.
# Selection rules (the ``selection=`` strings of :func:`banditlab.solvers.bcd.bcd`):
SEL_CYCLIC = 0
SEL_RANDOM = 1
SEL_PERMUTATION = 2
SEL_LIPSCHITZ = 3
SEL_GS = 4
SEL_GSL = 5
SEL_GSD = 6
SEL_GSD_ROWSUM = 7
SEL_GSQ = 8
SEL_IHT = 9
SEL_GREEDY_TREE = 10
SEL_RANDOM_TREE = 11
SEL_GSQ_PROX = 12          # GS-q of proximal BCD (selection 'gsq' on an L1 problem)
SEL_GS_PROX = 13           # GS-s: minimum-norm subgradient (selection 'gs' on an L1 problem)
SEL_GSL_TREE = 14
SEL_GSD_TREE = 15
# Update rules (the ``update=`` strings):
UPD_GRADIENT = 0
UPD_GRADIENT_GLOBAL = 1
UPD_LINE_SEARCH = 2
UPD_MATRIX = 3
UPD_NEWTON = 4
UPD_EXACT = 5
UPD_PROX_GRADIENT = 6
UPD_PROX_NEWTON = 7
UPD_TWO_METRIC = 8
# Iteration loops:
PATH_GENERIC = 0          # the generic loop: any selection and update
PATH_CD1 = 1              # fast path: cyclic fixed 1-coordinate blocks, L1 least squares
PATH_WS = 2               # working sets: GS-q/GS-s blocks grown with the support, inexact PN
WS_INNER_RATIO = 0.3      # inner solve stops at this fraction of the outer optimality
WS_MAX_SWEEPS = 10_000    # cap on inner sweeps per working set

SELECTION_CODES = {
    "cyclic": SEL_CYCLIC, "random": SEL_RANDOM, "permutation": SEL_PERMUTATION,
    "lipschitz": SEL_LIPSCHITZ, "gs": SEL_GS, "gsl": SEL_GSL, "gsd": SEL_GSD,
    "gsd_rowsum": SEL_GSD_ROWSUM, "gsq": SEL_GSQ, "iht": SEL_IHT,
    "greedy_tree": SEL_GREEDY_TREE, "random_tree": SEL_RANDOM_TREE, "gsl_tree": SEL_GSL_TREE,
    "gsd_tree": SEL_GSD_TREE,
}
UPDATE_CODES = {
    "gradient": UPD_GRADIENT, "gradient_global": UPD_GRADIENT_GLOBAL,
    "line_search": UPD_LINE_SEARCH, "matrix": UPD_MATRIX, "newton": UPD_NEWTON,
    "exact": UPD_EXACT, "prox_gradient": UPD_PROX_GRADIENT, "prox_newton": UPD_PROX_NEWTON,
    "two_metric": UPD_TWO_METRIC,
}
#: the rules that never read the full gradient: the four blind rules and the random forest
BLIND_SELECTIONS = (SEL_CYCLIC, SEL_RANDOM, SEL_PERMUTATION, SEL_LIPSCHITZ, SEL_RANDOM_TREE)
#: static 0/1 flags; the loop passes ON to the one rule of each kind of blocks that reads the
#: line-search estimates (fixed GSL, variable GSD) under line-search updates, OFF otherwise
OFF = static_code(0)
ON = static_code(1)


class BCDCodes(NamedTuple):
    """The compile-time part of a BCD run: :func:`run_iterations` is compiled once per value."""

    path: int              # PATH_GENERIC, PATH_CD1 (cyclic 1-coordinate L1), PATH_WS
    variable: int          # 1: variable blocks, 0: fixed blocks (ptr/idx)
    selection: int         # SEL_* code
    update: int            # UPD_* code
    kind: int              # KIND_* code of the problem (banditlab.solvers.bcd_problems)
    forest: int            # 1: UPD_EXACT on forest blocks (message passing); 0 otherwise

    def static(self) -> tuple[tuple[int, ...], ...]:
        """The leading arguments of :func:`run_iterations`: the static codes of the fields,
        then the flag ``full`` (1 when the rule reads the full gradient)."""
        full = int(self.selection not in BLIND_SELECTIONS)
        return tuple(static_code(c) for c in (*self, full))


class BCDConfig(NamedTuple):
    """The run-time part of a BCD run (read by every specialisation alike)."""

    tau: int               # block size for variable blocks
    score_l1: int          # 1: the authors' code's L1-sum block scores (fixed blocks)
    L_global: float        # lambda_max of the full matrix bound
    record: int            # 1: record F(x) after every iteration
    f_stop: float          # stop as soon as F(x) <= f_stop
    gap_tol: float         # working sets: stop when the duality gap <= gap_tol (-1: never)


class BCDArrays(NamedTuple):
    ptr: np.ndarray        # int64[n_blocks + 1] fixed blocks (CSR-like)
    idx: np.ndarray        # int64[n]
    Lb: np.ndarray         # float64[n_blocks] block constants lambda_max(H_b) (or empty)
    Lcum: np.ndarray       # float64[n_blocks] cumulative sums of Lb (Lipschitz sampling)
    hptr: np.ndarray       # int64[n_blocks + 1] offsets of flattened pinv(H_b) (or empty)
    hinv: np.ndarray       # float64[sum |b|^2]
    Li: np.ndarray         # float64[n] coordinate constants
    dfb: np.ndarray        # float64[n] block Gershgorin diagonal bound (fixed blocks)
    drow: np.ndarray       # float64[n] absolute row sums of the full matrix bound
    Lt: np.ndarray         # float64[n] line-search estimates (mutated)
    perm: np.ndarray       # int64[n] cyclic permutation for variable blocks (mutated)
    perm2: np.ndarray      # int64[n] scratch permutation for random variable blocks
    g: np.ndarray          # float64[n] full gradient
    score: np.ndarray      # float64[n] scores
    b: np.ndarray          # int64[n] current block
    gb: np.ndarray         # float64[n] block gradient
    d: np.ndarray          # float64[n] block step
    xold: np.ndarray       # float64[n] block values before the step
    vec: np.ndarray        # float64[n] scratch (IHT)
    vec2: np.ndarray       # float64[n] scratch (IHT)
    work: np.ndarray       # float64[max(m k, n)] zero scratch
    work2: np.ndarray      # float64[max(m k, n)] scratch
    in_block: np.ndarray   # int64[n] zero scratch
    uf: np.ndarray         # int64[n] scratch
    pos: np.ndarray        # int64[n] scratch filled with -1
    ctr: np.ndarray        # int64[4]: [cyclic position, last support change, converged, -]
    stat: np.ndarray       # float64[4]: [last duality gap, last max |min-norm subgradient|,
                           #              inner sweeps done, -] (working sets)


# --------------------------------------------------------------------------- small helpers
@njit(error_model="numpy", no_cpython_wrapper=True)
def _top_k(score, k, out):
    """Indices of the ``k`` largest entries of ``score`` into ``out[:k]`` (ties: lowest index)."""
    n = score.shape[0]
    if k >= n:
        for i in range(n):
            out[i] = i
        return n
    order = np.argsort(-score)
    for t in range(k):
        out[t] = order[t]
    return k


@njit(error_model="numpy", no_cpython_wrapper=True)
def _prox(v, thr, nonneg):
    if nonneg == 1:
        return max(v - thr, 0.0)
    if v > thr:
        return v - thr
    if v < -thr:
        return v + thr
    return 0.0


@njit(error_model="numpy", no_cpython_wrapper=True)
def _gsq_score(P, xi, gi, Li):
    """Model decrease of the prox-gradient step on one coordinate (<= 0)."""
    z = _prox(xi - gi / Li, P.lam / Li, P.nonneg)
    s = z - xi
    return gi * s + 0.5 * Li * s * s + P.lam * (abs(z) - abs(xi))


@njit(error_model="numpy", no_cpython_wrapper=True)
def _gss_score(P, xi, gi):
    """Magnitude of the minimum-norm subgradient of ``F`` along one coordinate."""
    if P.nonneg == 1:
        if xi > 0.0:
            return abs(gi + P.lam)
        return max(-(gi + P.lam), 0.0)
    if xi != 0.0:
        return abs(gi + P.lam * np.sign(xi))
    return max(abs(gi) - P.lam, 0.0)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _block_pinv(H):
    return np.ascontiguousarray(np.linalg.pinv(H))


@njit(error_model="numpy", no_cpython_wrapper=True)
def _lambda_max(H):
    return np.linalg.eigvalsh(H)[-1]


@njit(error_model="numpy")
def block_setup(kind, need_L, need_H, need_D, P, ptr, idx, Lb, hptr, hinv, dfb, work):
    """Per-block constants of a fixed partition into ``Lb``, ``hinv`` (at offsets ``hptr``) and
    ``dfb``: ``L_b``, ``pinv(H_b)``, the block Gershgorin diagonal, as the static flags
    ``need_L``, ``need_H``, ``need_D`` ask (``kind``: the problem's static code)."""
    nblocks = ptr.shape[0] - 1
    for t in range(nblocks):
        b = idx[ptr[t]:ptr[t + 1]]
        nb = b.shape[0]
        H = np.zeros((nb, nb))
        bound_block(kind, P, b, nb, H, work)
        if len(need_L) == 1:
            Lb[t] = _lambda_max(H) if nb > 1 else H[0, 0]
        if len(need_H) == 1:
            Hi = _block_pinv(H)
            o = hptr[t]
            for s in range(nb):
                for q in range(nb):
                    hinv[o + s * nb + q] = Hi[s, q]
        if len(need_D) == 1:
            for s in range(nb):
                acc = 0.0
                for q in range(nb):
                    acc += abs(H[s, q])
                dfb[b[s]] = acc


# --------------------------------------------------------------------------- selection
@njit(error_model="numpy", no_cpython_wrapper=True)
def _select_fixed(sel, line_search, P, C, W, x, rng, it):
    """Choose a fixed block by rule ``sel``; return its index (``line_search``: static flag,
    the update keeps line-search estimates ``W.Lt``)."""
    nblocks = W.ptr.shape[0] - 1
    if len(sel) == SEL_CYCLIC:
        return it % nblocks
    if len(sel) == SEL_RANDOM:
        return rng.integers(0, nblocks)
    if len(sel) == SEL_LIPSCHITZ:
        u = rng.random() * W.Lcum[nblocks - 1]
        t = np.searchsorted(W.Lcum, u, side="right")
        return min(t, nblocks - 1)
    best = -1.0
    best_t = 0
    for t in range(nblocks):
        s = 0.0
        lo, hi = W.ptr[t], W.ptr[t + 1]
        if len(sel) == SEL_GS:
            for q in range(lo, hi):
                gi = W.g[W.idx[q]]
                s += abs(gi) if C.score_l1 == 1 else gi * gi
        elif len(sel) == SEL_GSL:
            Lb = W.Lb[t]
            if len(line_search) == 1:
                Lb = 0.0
                for q in range(lo, hi):
                    Lb = max(Lb, W.Lt[W.idx[q]])
            for q in range(lo, hi):
                gi = W.g[W.idx[q]]
                s += abs(gi) if C.score_l1 == 1 else gi * gi
            s = s / np.sqrt(Lb) if C.score_l1 == 1 else s / Lb
        elif len(sel) == SEL_GSD:
            for q in range(lo, hi):
                i = W.idx[q]
                gi = W.g[i]
                s += abs(gi) / np.sqrt(W.Li[i]) if C.score_l1 == 1 else gi * gi / W.dfb[i]
        elif len(sel) == SEL_GSQ:
            nb = hi - lo
            o = W.hptr[t]
            for a in range(nb):
                ga = W.g[W.idx[lo + a]]
                acc = 0.0
                for c in range(nb):
                    acc += W.hinv[o + a * nb + c] * W.g[W.idx[lo + c]]
                s += ga * acc
        elif len(sel) == SEL_GSQ_PROX:
            for q in range(lo, hi):
                i = W.idx[q]
                s += abs(_gsq_score(P, x[i], W.g[i], W.Li[i]))
        elif len(sel) == SEL_GS_PROX:
            for q in range(lo, hi):
                i = W.idx[q]
                v = _gss_score(P, x[i], W.g[i])
                s += v * v
        if s > best:
            best = s
            best_t = t
    return best_t


@njit(error_model="numpy", no_cpython_wrapper=True)
def _iht(kind, P, C, W, tau):
    """Iterative hard thresholding approximation of the variable-block GSQ rule (spec §3.3)."""
    n = P.n
    d = W.vec
    Hd = W.vec2
    for i in range(n):
        d[i] = W.g[i] / np.sqrt(W.Li[i])
    step = 1.0 / C.L_global
    prev = np.empty(n)
    for _ in range(10):
        prev[:] = d
        bound_matvec(kind, P, d, Hd, W.work2)
        for i in range(n):
            d[i] = d[i] - step * (W.g[i] + Hd[i])
            W.score[i] = abs(d[i])
        nb = _top_k(W.score, tau, W.b)
        keep = np.zeros(n, np.uint8)
        for t in range(nb):
            keep[W.b[t]] = 1
        diff = 0.0
        for i in range(n):
            if keep[i] == 0:
                d[i] = 0.0
            diff += (d[i] - prev[i]) ** 2
        if np.sqrt(diff) < 1e-10:
            break
    return _top_k(W.score, tau, W.b)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _select_variable(sel, line_search, P, C, W, x, rng, it):
    """Choose a variable block by rule ``sel`` (any but IHT) into ``W.b``; return its size."""
    n = P.n
    tau = min(C.tau, n)
    if len(sel) == SEL_CYCLIC or len(sel) == SEL_PERMUTATION:   # chunks of a permutation
        n_chunks = (n + tau - 1) // tau
        pos = W.ctr[0]
        chunk = pos % n_chunks
        if pos == 0 or (len(sel) == SEL_PERMUTATION and chunk == 0):
            for i in range(n - 1, 0, -1):
                j = rng.integers(0, i + 1)
                tmp = W.perm[i]
                W.perm[i] = W.perm[j]
                W.perm[j] = tmp
        W.ctr[0] = pos + 1
        lo = chunk * tau
        hi = min(lo + tau, n)
        for t in range(hi - lo):
            W.b[t] = W.perm[lo + t]
        return hi - lo
    if len(sel) == SEL_RANDOM:                              # uniform without replacement
        for t in range(tau):
            j = t + rng.integers(0, n - t)
            tmp = W.perm2[t]
            W.perm2[t] = W.perm2[j]
            W.perm2[j] = tmp
            W.b[t] = W.perm2[t]
        return tau
    if len(sel) == SEL_LIPSCHITZ:                           # P(i) ~ L_i, without replacement
        for i in range(n):
            u = rng.random()
            W.score[i] = np.log(max(u, 1e-300)) / W.Li[i]
        return _top_k(W.score, tau, W.b)
    if len(sel) == SEL_GS:
        for i in range(n):
            W.score[i] = abs(W.g[i])
        return _top_k(W.score, tau, W.b)
    if len(sel) == SEL_GSD:
        for i in range(n):
            Li = W.Lt[i] if len(line_search) == 1 else W.Li[i]
            W.score[i] = abs(W.g[i]) / np.sqrt(Li)
        return _top_k(W.score, tau, W.b)
    if len(sel) == SEL_GSD_ROWSUM:
        for i in range(n):
            W.score[i] = abs(W.g[i]) / np.sqrt(W.drow[i])
        return _top_k(W.score, tau, W.b)
    if (len(sel) == SEL_GREEDY_TREE or len(sel) == SEL_RANDOM_TREE or len(sel) == SEL_GSL_TREE
            or len(sel) == SEL_GSD_TREE):                   # forest blocks
        if len(sel) != SEL_RANDOM_TREE:                     # greedy order: GS, GSL or GSD
            for i in range(n):
                W.score[i] = abs(W.g[i])
                if len(sel) == SEL_GSL_TREE:
                    W.score[i] /= np.sqrt(W.Li[i])
                elif len(sel) == SEL_GSD_TREE:
                    W.score[i] /= np.sqrt(W.drow[i])
            order = np.argsort(-W.score)
        else:
            order = np.arange(n)
            for i in range(n - 1, 0, -1):
                j = rng.integers(0, i + 1)
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp
        return greedy_forest(P.cp, P.ci, order, n, W.in_block, W.uf, W.b)
    if len(sel) == SEL_GSQ_PROX:
        for i in range(n):
            W.score[i] = -_gsq_score(P, x[i], W.g[i], W.Li[i])
        return _top_k(W.score, tau, W.b)
    # SEL_GS_PROX
    for i in range(n):
        W.score[i] = _gss_score(P, x[i], W.g[i])
    return _top_k(W.score, tau, W.b)


# --------------------------------------------------------------------------- updates
@njit(error_model="numpy", no_cpython_wrapper=True)
def _block_L(kind, variable, P, W, nb, bidx):
    """The constant ``L_b`` of the current block: ``W.Lb[bidx]`` for fixed blocks (``bcd``
    computes it for every update that calls this), else ``lambda_max(H_b)``."""
    if len(variable) == 0:
        return W.Lb[bidx]
    if nb == 1:
        return W.Li[W.b[0]]
    H = np.zeros((nb, nb))
    bound_block(kind, P, W.b, nb, H, W.work)
    return _lambda_max(H)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _matvec_neg(Hi, v, nb, out):
    for s in range(nb):
        acc = 0.0
        for q in range(nb):
            acc += Hi[s, q] * v[q]
        out[s] = -acc


@njit(error_model="numpy", no_cpython_wrapper=True)
def _scaled_step(kind, P, W, nb, alpha, x, aux, dv):
    """Apply ``alpha * d`` (the step currently stored relative to the last applied one)."""
    for t in range(nb):
        W.vec[t] = alpha * W.d[t]
    apply_step(kind, P, x, aux, dv, W.b, nb, W.vec)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _newton(kind, P, W, nb, x, aux, dv):
    """Newton direction on the block with Armijo backtracking (quadratic then cubic fits)."""
    H = np.zeros((nb, nb))
    hessian_block(kind, P, aux, dv, W.b, nb, H, W.work)
    Hi = _block_pinv(H)
    _matvec_neg(Hi, W.gb, nb, W.d)
    gtd = 0.0
    for t in range(nb):
        gtd += W.gb[t] * W.d[t]
    if not gtd < 0.0:
        return
    f0 = smooth_objective(kind, P, x, aux)
    alpha = 1.0
    applied = 0.0
    a_prev = 0.0
    f_prev = 0.0
    for trial in range(60):
        _scaled_step(kind, P, W, nb, alpha - applied, x, aux, dv)
        applied = alpha
        f1 = smooth_objective(kind, P, x, aux)
        if f1 <= f0 + 1e-10 * alpha * gtd:
            return
        if trial == 0 or not np.isfinite(f1):
            a_new = -gtd * alpha * alpha / (2.0 * (f1 - f0 - gtd * alpha)) \
                if np.isfinite(f1) else 0.1 * alpha
        else:
            # cubic through f0, gtd, (alpha, f1), (a_prev, f_prev)
            r1 = f1 - f0 - gtd * alpha
            r2 = f_prev - f0 - gtd * a_prev
            den = alpha - a_prev
            ca = (r1 / (alpha * alpha) - r2 / (a_prev * a_prev)) / den
            cb = (-a_prev * r1 / (alpha * alpha) + alpha * r2 / (a_prev * a_prev)) / den
            if ca == 0.0:
                a_new = -gtd / (2.0 * cb) if cb != 0.0 else 0.5 * alpha
            else:
                disc = cb * cb - 3.0 * ca * gtd
                a_new = (-cb + np.sqrt(max(disc, 0.0))) / (3.0 * ca)
        if not np.isfinite(a_new):
            a_new = 0.5 * alpha
        a_new = min(max(a_new, 0.1 * alpha), 0.5 * alpha)
        a_prev = alpha
        f_prev = f1
        alpha = a_new
    _scaled_step(kind, P, W, nb, -applied, x, aux, dv)      # no acceptable step: undo


@njit(error_model="numpy", no_cpython_wrapper=True)
def _line_search_lipschitz(kind, P, W, nb, x, aux, dv):
    """LA: doubling estimate of the block constant from per-coordinate estimates ``Lt``."""
    Lt = 0.0
    gg = 0.0
    for t in range(nb):
        Lt = max(Lt, W.Lt[W.b[t]])
        gg += W.gb[t] * W.gb[t]
    if gg == 0.0:
        return
    f0 = smooth_objective(kind, P, x, aux)
    for _ in range(200):
        for t in range(nb):
            W.d[t] = -W.gb[t] / Lt
        apply_step(kind, P, x, aux, dv, W.b, nb, W.d)
        if smooth_objective(kind, P, x, aux) <= f0 - gg / (2.0 * Lt):
            break
        for t in range(nb):
            W.d[t] = -W.d[t]
        apply_step(kind, P, x, aux, dv, W.b, nb, W.d)
        Lt *= 2.0
    for t in range(nb):
        W.Lt[W.b[t]] = Lt


@njit(error_model="numpy", no_cpython_wrapper=True)
def _prox_newton(P, W, nb, x, aux, dv):
    """Exact block minimisation of L1 least squares (inner coordinate descent + support polish)."""
    for _ in range(5000):
        change = 0.0
        scale = 0.0
        for t in range(nb):
            i = W.b[t]
            di = _l1_coord_step(P, x, aux, i, W.Li[i], coord_grad(LS_CODE, P, aux, dv, i))
            change = max(change, abs(di))
            scale = max(scale, abs(x[i]))
        if change <= 1e-13 * max(scale, 1e-300) or change == 0.0:
            break
    # polish: Newton on the block's support with the signs fixed (exact for a quadratic)
    ns = np.int64(0)        # not a literal 0: literals passed on give extra specialisations
    for t in range(nb):
        if x[W.b[t]] != 0.0:
            W.uf[ns] = W.b[t]
            ns += 1
    if ns == 0:
        return
    S = W.uf[:ns].copy()
    H = np.zeros((ns, ns))
    bound_block(LS_CODE, P, S, ns, H, W.work)
    r = np.empty(ns)
    for t in range(ns):
        i = S[t]
        r[t] = -(coord_grad(LS_CODE, P, aux, dv, i) + P.lam * np.sign(x[i]))
    Hi = _block_pinv(H)
    step = np.empty(ns)
    _matvec_neg(Hi, r, ns, step)
    for t in range(ns):
        step[t] = -step[t]
    for t in range(ns):
        i = S[t]
        if np.sign(x[i] + step[t]) != np.sign(x[i]):
            return
    f0 = objective(LS_CODE, P, x, aux)
    apply_step(LS_CODE, P, x, aux, dv, S, ns, step)
    if objective(LS_CODE, P, x, aux) > f0:
        for t in range(ns):
            step[t] = -step[t]
        apply_step(LS_CODE, P, x, aux, dv, S, ns, step)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _prox_gradient(P, W, nb, L, x, aux, dv):
    for t in range(nb):
        i = W.b[t]
        W.d[t] = _prox(x[i] - W.gb[t] / L, P.lam / L, P.nonneg) - x[i]
    apply_step(LS_CODE, P, x, aux, dv, W.b, nb, W.d)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _two_metric(variable, P, W, nb, bidx, x, aux, dv):
    """Two-metric projection on ``x >= 0`` (spec §3.6): scaled gradient on the active set,
    Newton on the rest, backtracking along the projected path; falls back to a projected
    gradient step if no decrease is found."""
    gfull = np.empty(nb)
    act = np.zeros(nb, np.uint8)
    Lact = 0.0
    nw = np.int64(0)        # (see _prox_newton)
    for t in range(nb):
        gfull[t] = W.gb[t] + P.lam
        if x[W.b[t]] < 1e-4 and gfull[t] > 0.0:
            act[t] = 1
            Lact += W.Li[W.b[t]]
        else:
            nw += 1
    dirn = np.zeros(nb)
    if nw > 0:
        wk = np.empty(nw, np.int64)
        q = 0
        for t in range(nb):
            if act[t] == 0:
                wk[q] = W.b[t]
                q += 1
        H = np.zeros((nw, nw))
        hessian_block(LS_CODE, P, aux, dv, wk, nw, H, W.work)
        Hi = _block_pinv(H)
        gw = np.empty(nw)
        q = 0
        for t in range(nb):
            if act[t] == 0:
                gw[q] = gfull[t]
                q += 1
        dw = np.empty(nw)
        _matvec_neg(Hi, gw, nw, dw)
        q = 0
        for t in range(nb):
            if act[t] == 0:
                dirn[t] = dw[q]
                q += 1
    for t in range(nb):
        if act[t] == 1:
            dirn[t] = -gfull[t] / Lact
    f0 = objective(LS_CODE, P, x, aux)
    alpha = 1.0
    for t in range(nb):
        W.xold[t] = x[W.b[t]]
    for _ in range(40):
        lin = 0.0
        for t in range(nb):
            z = max(0.0, W.xold[t] + alpha * dirn[t])
            W.d[t] = z - x[W.b[t]]
            lin += gfull[t] * (z - W.xold[t])
        apply_step(LS_CODE, P, x, aux, dv, W.b, nb, W.d)
        if objective(LS_CODE, P, x, aux) <= f0 + 1e-4 * min(lin, 0.0) and lin < 0.0:
            return
        alpha *= 0.5
    for t in range(nb):                     # restore, then a safe projected-gradient step
        W.d[t] = W.xold[t] - x[W.b[t]]
    apply_step(LS_CODE, P, x, aux, dv, W.b, nb, W.d)
    _prox_gradient(P, W, nb, _block_L(LS_CODE, variable, P, W, nb, bidx), x, aux, dv)


@njit(error_model="numpy", no_cpython_wrapper=True)
def _update(upd, kind, variable, forest, P, C, W, nb, bidx, x, aux, dv):
    """Apply update rule ``upd`` to the block ``W.b[:nb]`` (fixed block ``bidx``, or -1)."""
    if len(upd) == UPD_GRADIENT:
        L = _block_L(kind, variable, P, W, nb, bidx)
        for t in range(nb):
            W.d[t] = -W.gb[t] / L
        apply_step(kind, P, x, aux, dv, W.b, nb, W.d)
    elif len(upd) == UPD_GRADIENT_GLOBAL:
        for t in range(nb):
            W.d[t] = -W.gb[t] / C.L_global
        apply_step(kind, P, x, aux, dv, W.b, nb, W.d)
    elif len(upd) == UPD_LINE_SEARCH:
        _line_search_lipschitz(kind, P, W, nb, x, aux, dv)
    elif len(upd) == UPD_MATRIX or (len(upd) == UPD_EXACT and len(forest) == 0):
        # fixed blocks: pinv(H_b) as block_setup stored it, which it always does for the
        # matrix update (then the branch below, with its pinv, is not even compiled)
        if len(variable) == 0 and (len(upd) == UPD_MATRIX or W.hinv.shape[0] > 0):
            o = W.hptr[bidx]
            Hi = np.ascontiguousarray(W.hinv[o:o + nb * nb]).reshape((nb, nb))
        else:
            H = np.zeros((nb, nb))
            bound_block(kind, P, W.b, nb, H, W.work)
            Hi = _block_pinv(H)
        _matvec_neg(Hi, W.gb, nb, W.d)
        apply_step(kind, P, x, aux, dv, W.b, nb, W.d)
    elif len(upd) == UPD_NEWTON:
        _newton(kind, P, W, nb, x, aux, dv)
    elif len(upd) == UPD_EXACT:                             # exact forest solve (quadratic)
        for t in range(nb):
            W.vec2[t] = -W.gb[t]
        forest_solve(P.cp, P.ci, P.cx, W.b, nb, W.vec2, W.pos, W.d)
        apply_step(kind, P, x, aux, dv, W.b, nb, W.d)
    elif len(upd) == UPD_PROX_GRADIENT:
        _prox_gradient(P, W, nb, _block_L(LS_CODE, variable, P, W, nb, bidx), x, aux, dv)
    elif len(upd) == UPD_PROX_NEWTON:
        _prox_newton(P, W, nb, x, aux, dv)
    else:                                                   # UPD_TWO_METRIC
        _two_metric(variable, P, W, nb, bidx, x, aux, dv)


# --------------------------------------------------------------------------- L1 fast paths
@njit(error_model="numpy", no_cpython_wrapper=True)
def _l1_coord_step(P, x, aux, j, L, g):
    """Prox-gradient step with constant ``L`` on coordinate ``j`` of L1 least squares given
    ``g = grad_j f`` (exact coordinate minimisation when ``L = L_j``); moves ``x[j]`` and the
    residual ``aux``, returns the step. Same arithmetic as the generic update + apply_step."""
    d = _prox(x[j] - g / L, P.lam / L, P.nonneg) - x[j]
    if d != 0.0:
        x[j] += d
        col_axpy(P, j, d, aux)
    return d


@njit(error_model="numpy", no_cpython_wrapper=True)
def _l1_cd1_iterations(P, C, W, x, aux, it0, n_iter, hist):
    """Cyclic BCD with fixed 1-coordinate blocks and prox-gradient updates on L1 least squares.

    The same iterates as the generic loop (same arithmetic, same ``L_b``), without its
    per-iteration dispatch and scratch arrays: one column dot and one column axpy per
    coordinate on the maintained residual ``aux = M x - y``. Returns ``(n_done, hist)`` as
    :func:`run_iterations` does.
    """
    nblocks = W.ptr.shape[0] - 1
    end = it0 + n_iter
    for t in range(n_iter):
        it = it0 + t
        k = it % nblocks
        j = W.idx[W.ptr[k]]
        L = W.Lb[k]
        xo = x[j]
        if _l1_coord_step(P, x, aux, j, L, col_dot(P, j, aux)) != 0.0:
            if (xo == 0.0) != (x[j] == 0.0):
                W.ctr[1] = it + 1
        if C.record == 1:
            f = objective(LS_CODE, P, x, aux)
            hist = grow_history(hist, it + 1, end)
            hist[it + 1] = f
            if f <= C.f_stop:
                return t + 1, hist
    return n_iter, hist


@njit(error_model="numpy", no_cpython_wrapper=True)
def _l1_sweep(P, W, x, aux, nb):
    """One cyclic pass of exact coordinate minimisation over ``W.b[:nb]``.

    Returns the largest minimum-norm subgradient met when visiting each coordinate (before
    its update): a free optimality estimate of the block.
    """
    worst = 0.0
    for t in range(nb):
        j = W.b[t]
        L = W.Li[j]
        g = col_dot(P, j, aux)
        worst = max(worst, _gss_score(P, x[j], g))
        _l1_coord_step(P, x, aux, j, L, g)
    return worst


@njit(error_model="numpy", no_cpython_wrapper=True)
def _ws_iterate(sel, P, C, W, x, aux, it):
    """One working-set iteration of proximal BCD on L1 least squares.

    1. Full gradient, duality gap and the largest minimum-norm subgradient ``kkt``; stop
       (return True, no update) if the gap is at most ``C.gap_tol``.
    2. Variable block = the current support plus the coordinates with the best GS-q (or GS-s)
       scores, of size ``max(tau, 2 |supp x|)`` (the block grows with the support).
    3. Inexact proximal-Newton update: cyclic exact coordinate minimisation on the block until
       every coordinate's subgradient at its visit is ``<= WS_INNER_RATIO * kkt``.
    """
    n = P.n
    full_grad(LS_CODE, P, aux, aux, W.g)
    gap = l1_gap_from_grad(P, x, aux, W.g)
    kkt = 0.0
    nnz = 0
    for i in range(n):
        kkt = max(kkt, _gss_score(P, x[i], W.g[i]))
        if x[i] != 0.0:
            nnz += 1
    W.stat[0] = gap
    W.stat[1] = kkt
    if gap <= C.gap_tol:
        W.ctr[2] = 1
        return True
    size = min(n, max(C.tau, 2 * nnz))
    for i in range(n):
        if x[i] != 0.0:
            W.score[i] = np.inf
        elif len(sel) == SEL_GSQ_PROX:
            W.score[i] = -_gsq_score(P, x[i], W.g[i], W.Li[i])
        else:
            W.score[i] = _gss_score(P, x[i], W.g[i])
    nb = _top_k(W.score, size, W.b)
    for t in range(nb):
        W.xold[t] = x[W.b[t]]
    target = WS_INNER_RATIO * kkt
    for _ in range(WS_MAX_SWEEPS):
        W.stat[2] += 1.0
        if _l1_sweep(P, W, x, aux, nb) <= target:
            break
    for t in range(nb):
        if (W.xold[t] == 0.0) != (x[W.b[t]] == 0.0):
            W.ctr[1] = it + 1
            break
    return False


# --------------------------------------------------------------------------- the loop
@njit(error_model="numpy")
def run_iterations(path, variable, sel, upd, kind, forest, full, P, C, W, x, aux, dv, rng, it0,
                   n_iter, hist):
    """Run ``n_iter`` BCD iterations from iteration ``it0``; return ``(n_done, hist)``.

    The leading arguments are the static codes of :meth:`BCDCodes.static`, so the loop is
    compiled once per combination, with that combination's code only. With ``C.record == 1``
    the objective ``F(x^{it+1})`` goes to ``hist[it + 1]``; ``hist`` grows as needed
    (:func:`~banditlab.solvers.sor.grow_history`: doubled when full, never past index
    ``it0 + n_iter``), so its memory follows the iterations actually made, and the array
    returned is ``hist`` or a longer copy. Fewer than ``n_iter`` iterations are done when
    ``F <= C.f_stop``, or when a working-set run meets its duality-gap tolerance (which sets
    ``W.ctr[2] = 1``).
    """
    if len(path) == PATH_CD1:
        return _l1_cd1_iterations(P, C, W, x, aux, it0, n_iter, hist)
    end = it0 + n_iter
    for t in range(n_iter):
        it = it0 + t
        if len(path) == PATH_WS:
            if _ws_iterate(sel, P, C, W, x, aux, it):
                return t, hist
        else:
            # full gradient (greedy rules), selection, block gradient, update
            if len(full) == 1:
                full_grad(kind, P, aux, dv, W.g)
            bidx = -1
            if len(variable) == 1:
                if len(sel) == SEL_IHT:
                    nb = _iht(kind, P, C, W, min(C.tau, P.n))
                elif len(upd) == UPD_LINE_SEARCH and len(sel) == SEL_GSD:
                    nb = _select_variable(sel, ON, P, C, W, x, rng, it)
                else:
                    nb = _select_variable(sel, OFF, P, C, W, x, rng, it)
            else:
                if len(upd) == UPD_LINE_SEARCH and len(sel) == SEL_GSL:
                    bidx = _select_fixed(sel, ON, P, C, W, x, rng, it)
                else:
                    bidx = _select_fixed(sel, OFF, P, C, W, x, rng, it)
                lo = W.ptr[bidx]
                nb = W.ptr[bidx + 1] - lo
                for q in range(nb):
                    W.b[q] = W.idx[lo + q]
            for q in range(nb):
                i = W.b[q]
                W.gb[q] = W.g[i] if len(full) == 1 else coord_grad(kind, P, aux, dv, i)
            track = P.lam > 0.0
            if track:
                xo = np.empty(nb)
                for q in range(nb):
                    xo[q] = x[W.b[q]]
            _update(upd, kind, variable, forest, P, C, W, nb, bidx, x, aux, dv)
            if track:
                for q in range(nb):
                    if (xo[q] == 0.0) != (x[W.b[q]] == 0.0):
                        W.ctr[1] = it + 1
                        break
        if C.record == 1:
            f = objective(kind, P, x, aux)
            hist = grow_history(hist, it + 1, end)
            hist[it + 1] = f
            if f <= C.f_stop:
                return t + 1, hist
    return n_iter, hist
