"""Block coordinate descent with free composition of partition, selection and update rules.

``bcd(problem, partition=..., selection=..., update=..., block_size=...)`` minimises a smooth
objective (:mod:`banditlab.solvers.bcd_problems`) or an L1-regularised least-squares problem
(proximal BCD). The three choices compose freely; the combinations the specification marks
invalid raise ``ValueError`` saying why and what to use instead.

Selection rules (fixed blocks ``FB`` / variable blocks ``VB``), with ``g = grad f(x)``:

==================  ====================================================================
``'cyclic'``        FB: blocks in turn. VB: chunks of a random permutation drawn once
``'permutation'``   VB only: chunks of a permutation redrawn at every pass
``'random'``        FB: uniform block. VB: ``tau`` distinct coordinates uniformly
``'lipschitz'``     FB: ``P(b) ~ L_b``. VB: ``tau`` coordinates without replacement, ``P(i) ~ L_i``
``'gs'``            FB: ``max ||g_b||``. VB: the ``tau`` largest ``|g_i|``
``'gsl'``           FB only: ``max ||g_b||^2 / L_b``
``'gsd'``           FB: ``max sum_b g_i^2 / d_i`` (block Gershgorin ``d_i``). VB: largest
                    ``|g_i| / sqrt(L_i)``
``'gsd_rowsum'``    VB only: largest ``|g_i| / sqrt(d_i)``, ``d_i`` = absolute row sums of the
                    full matrix bound (plotted as "GSL" for VB in the paper's figures)
``'gsq'``           FB: ``max g_b^T H_b^{-1} g_b``. On an L1 problem: GS-q, the largest decrease
                    of the proximal-gradient model (VB: ``tau`` most negative coordinates)
``'iht'``           VB only: iterative-hard-thresholding approximation of GSQ
``'greedy_tree'``   VB, quadratics: greedy forest in decreasing ``|g_i|`` (message passing)
``'random_tree'``   VB, quadratics: greedy forest in a random order
``'gsl_tree'``      VB, quadratics: greedy forest in decreasing ``|g_i| / sqrt(L_i)``
``'gsd_tree'``      VB, quadratics: greedy forest in decreasing ``|g_i| / sqrt(d_i)``, ``d_i``
                    the absolute row sums of ``A`` (spec §3.5 "GSL/GSD tree" variants)
==================  ====================================================================

Updates: ``'gradient'`` (``-g_b / L_b``), ``'gradient_global'`` (``-g_b / L``),
``'line_search'`` (doubling estimates of ``L_b``), ``'matrix'`` (``-H_b^+ g_b``),
``'newton'`` (exact block Hessian + Armijo backtracking), ``'exact'`` (quadratics and least
squares: block minimisation; linear-time message passing when the blocks are forests),
and for L1 problems ``'prox_gradient'``, ``'prox_newton'`` (exact block minimisation),
``'two_metric'`` (``x >= 0`` problems only).

Compilation: the first call with a given problem kind, kind of blocks, selection rule and update
compiles the kernels of that combination only (a few seconds on a fresh install; see
:mod:`banditlab.solvers.bcd_kernels`), and every later call or process with the same
combination loads them from the on-disk cache.

References
----------
J. Nutini, I. Laradji, M. Schmidt. Let's make block coordinate descent converge faster: faster
greedy rules, message-passing, active-set complexity, and superlinear convergence. JMLR 23, 2022.
J. Nutini, M. Schmidt, I. Laradji, M. Friedlander, H. Koepke. Coordinate descent converges faster
with the Gauss-Southwell rule than random selection. ICML 2015.
M. Massias, A. Gramfort, J. Salmon. Celer: a fast solver for the Lasso with dual extrapolation.
ICML 2018.
Q. Bertrand, Q. Klopfenstein, P.-A. Bannier, G. Gidel, M. Massias. Beyond L1: faster and better
sparse models with skglm. NeurIPS 2022.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from banditlab._seeding import as_seed_sequence
from banditlab._validation import (
    MAX_HORIZON,
    Integer,
    Options,
    Real,
    _got,
    check_bool,
    check_memory,
    check_option,
    check_size_memory,
)
from banditlab.limits import short_repr
from banditlab.parallel import CompileBeside
from banditlab.solvers.bcd_kernels import (
    PATH_CD1,
    PATH_GENERIC,
    PATH_WS,
    SEL_GS_PROX,
    SEL_GSQ_PROX,
    SELECTION_CODES,
    UPD_EXACT,
    UPD_MATRIX,
    UPDATE_CODES,
    BCDArrays,
    BCDCodes,
    BCDConfig,
    block_setup,
    run_iterations,
)
from banditlab.solvers.bcd_partitions import (
    blocks_from_list,
    fixed_partition,
    is_forest,
    red_black_partition,
    tree_partition,
)
from banditlab.solvers.bcd_problems import (
    KIND_LS,
    KIND_QUADRATIC,
    BCDProblem,
    BoundedArray,
    Quadratic,
    _l1_gap,
    full_grad,
    init_aux,
    objective,
    static_code,
)
from banditlab.solvers.sor import HISTORY_CHUNK

__all__ = ["MAX_ITER", "MAX_ITER_NO_STOP", "PARTITIONS", "SELECTIONS", "UPDATES", "BCDResult",
           "bcd"]

#: most iterations of one call (2**62, as banditlab's horizons): the kernels count iterations
#: in int64, and the iteration loop is handed chunks of at most ``max_iter`` iterations
MAX_ITER = MAX_HORIZON
#: most iterations of one call with neither ``tol`` nor ``f_target`` (2**30): such a call makes
#: every iteration up to ``max_iter`` (nothing else stops it), about a billion iterations, tens
#: of minutes even on the smallest problems
MAX_ITER_NO_STOP = 2**30

PARTITIONS = ("variable", "order", "sorted", "average", "random", "red_black", "tree")
SELECTIONS = tuple(SELECTION_CODES)
UPDATES = tuple(UPDATE_CODES)
_FOREST_PARTITIONS = ("red_black", "tree")
_SMOOTH_UPDATES = ("gradient", "gradient_global", "line_search", "matrix", "newton", "exact")
_PROX_UPDATES = ("prox_gradient", "prox_newton", "two_metric")
_TREE_SELECTIONS = ("greedy_tree", "random_tree", "gsl_tree", "gsd_tree")
_VB_ONLY = ("permutation", "gsd_rowsum", "iht", *_TREE_SELECTIONS)
_FB_ONLY = ("gsl",)
_GREEDY = ("gs", "gsl", "gsd", "gsd_rowsum", "gsq", "iht", "greedy_tree", "gsl_tree",
           "gsd_tree")


@dataclass(frozen=True)
class BCDResult:
    """Outcome of :func:`bcd`.

    Attributes
    ----------
    x : ndarray of shape (n,)
        Final iterate.
    objective : ndarray of shape (n_iter + 1,)
        ``F(x^k)`` for ``k = 0..n_iter`` (only ``F(x^0)`` and the final value if
        ``record=False``).
    n_iter : int
        Iterations done.
    identification_iter : int or None
        L1 problems: the iteration after which the zero pattern of ``x`` never changed again
        (active-set identification); None for smooth problems.
    reason : str
        Why the loop stopped: ``'tol reached'``, ``'f_target reached'`` or
        ``'max_iter reached'``.
    converged : bool
        Whether a tolerance or target was met.
    optimality : float
        Final optimality measure: ``max |grad f|`` (smooth), the duality gap (L1).
    wall_time_s : float
        Time spent in the iteration loop (setup excluded).
    config : dict
        The resolved options.
    """

    x: np.ndarray
    objective: np.ndarray
    n_iter: int
    identification_iter: int | None
    reason: str
    converged: bool
    optimality: float
    wall_time_s: float
    config: dict = field(default_factory=dict)


def _invalid(what: str, why: str) -> ValueError:
    return ValueError(f"bcd: {what} is not a valid combination; {why}.")


def _check_combination(problem: BCDProblem, part: str, sel: str, upd: str) -> None:
    variable = part == "variable"
    l1 = problem.is_l1
    quad = isinstance(problem, Quadratic)
    if l1:
        if upd not in _PROX_UPDATES:
            raise _invalid(f"update={upd!r} with an L1-regularised problem",
                           f"use one of {', '.join(repr(u) for u in _PROX_UPDATES)}")
        if sel not in ("cyclic", "permutation", "random", "lipschitz", "gs", "gsq"):
            raise _invalid(f"selection={sel!r} with an L1-regularised problem",
                           "proximal BCD supports 'cyclic', 'permutation', 'random', "
                           "'lipschitz', 'gs' (GS-s) and 'gsq' (GS-q)")
        if upd == "two_metric" and not problem.data.nonneg:
            raise _invalid("update='two_metric' without x >= 0",
                           "two-metric projection needs L1LeastSquares(nonnegative=True)")
    elif upd in _PROX_UPDATES:
        raise _invalid(f"update={upd!r} with a smooth problem",
                       "proximal updates need an L1-regularised problem")
    if variable and sel in _FB_ONLY:
        raise _invalid(f"selection={sel!r} with partition='variable'",
                       "for variable blocks use 'gsd' (|g_i|/sqrt(L_i)) or 'gsd_rowsum'")
    if variable and sel == "gsq" and not l1:
        raise _invalid("selection='gsq' with partition='variable'",
                       "the exact variable-block GSQ rule is intractable; use 'iht'")
    if not variable and sel in _VB_ONLY:
        raise _invalid(f"selection={sel!r} with fixed blocks", "it is a variable-block rule")
    if sel in _TREE_SELECTIONS:
        if not quad:
            raise _invalid(f"selection={sel!r} with {type(problem).__name__}",
                           "forest blocks need a sparse quadratic problem")
        if upd != "exact":
            raise _invalid(f"selection={sel!r} with update={upd!r}",
                           "forest blocks use update='exact' (message passing)")
    if part in _FOREST_PARTITIONS:
        if not quad:
            raise _invalid(f"partition={part!r} with {type(problem).__name__}",
                           "forest partitions need a sparse quadratic problem")
        if upd != "exact":
            raise _invalid(f"partition={part!r} with update={upd!r}",
                           "forest partitions use update='exact' (message passing)")
        if sel not in ("cyclic", "random", "gs"):
            raise _invalid(f"partition={part!r} with selection={sel!r}",
                           "forest partitions are cycled ('cyclic'), or use 'random' / 'gs'")
    if upd == "exact" and problem.data.kind not in (KIND_LS, KIND_QUADRATIC):
        raise _invalid(f"update='exact' with {type(problem).__name__}",
                       "exact block minimisation needs a quadratic or least-squares problem")


def _setup(P: Any, W: BCDArrays, need_L: int, need_H: int, need_D: int, nblocks: int
           ) -> BCDArrays:
    """The per-block constants of a fixed partition (block Lipschitz constants, block
    matrices, diagonal factors), computed into ``W``'s arrays; ``W`` with ``Lcum``."""
    if need_L or need_H or need_D:
        block_setup(static_code(P.kind), static_code(need_L), static_code(need_H),
                    static_code(need_D), P, W.ptr, W.idx, W.Lb if need_L else np.zeros(nblocks),
                    W.hptr, W.hinv, W.dfb, W.work)
    return W._replace(Lcum=np.cumsum(W.Lb)) if need_L else W


def bcd(problem: BCDProblem, *, partition: Any = "sorted", selection: str = "gs",
        update: str = "gradient", block_size: int = 5, max_iter: int = 500,
        tol: float | None = None, f_target: float | None = None, x0: Any = None,
        score: str = "paper", record: bool = True, check_every: int | None = None,
        working_set: bool = False, fast_path: bool = True, seed: Any = None) -> BCDResult:
    """Minimise ``problem`` by block coordinate descent.

    Parameters
    ----------
    problem : BCDProblem
        :class:`LeastSquares`, :class:`Logistic`, :class:`Softmax`, :class:`Quadratic`,
        :class:`LabelPropagation` or :class:`L1LeastSquares` (proximal BCD).
    partition : str or sequence of int arrays, default 'sorted'
        ``'variable'`` (any ``block_size`` coordinates each iteration), fixed partitions
        ``'order'``, ``'sorted'`` (by ``L_i``), ``'average'``, ``'random'``, forest partitions
        of quadratics ``'red_black'`` (greedy colouring of a general graph), ``'tree'``, or an
        explicit list of blocks (validated to cover every coordinate once; for a quadratic,
        forest blocks are detected and solved by message passing), e.g. the checkerboard
        ``dataset_d(...).lattice_red_black`` of a lattice.
    selection : str, default 'gs'
        See the module docstring.
    update : str, default 'gradient'
        See the module docstring.
    block_size : int, default 5
        ``tau`` (ignored by forest partitions and tree selections, which are forest-sized).
    max_iter : int, default 500
        In [0, 2**62] (:data:`MAX_ITER`) with a ``tol`` or an ``f_target``, which stop the run
        (the objective history grows with the iterations made, not with the cap). Without
        either, every iteration up to ``max_iter`` is made, so it is at most 2**30
        (:data:`MAX_ITER_NO_STOP`), and with ``record=True`` its history of ``max_iter + 1``
        floats must fit in half of the memory available now.
    tol : float, optional
        Stop when ``max |grad f| <= tol`` (smooth) or the duality gap ``<= tol`` (L1 least
        squares), checked every ``check_every`` iterations.
    f_target : float, optional
        Stop as soon as ``F(x) <= f_target`` (needs ``record=True``).
    x0 : array_like of shape (n,), optional
        Start (copied); zeros by default. Entries in [-1e100, 1e100]
        (:data:`~banditlab.solvers.bcd_problems.MAX_ABS_DATA`), ``>= 0`` for non-negative
        problems, and ``F(x0)`` must be finite (checked).
    score : {'paper', 'l1'}, default 'paper'
        Fixed-block greedy scores: Euclidean/matrix norms (paper) or the authors' code's L1
        sums.
    record : bool, default True
        Record ``F(x)`` after every iteration.
    check_every : int, optional
        Iterations between tolerance checks (default: one pass, ``ceil(n / tau)``). Ignored
        with ``working_set=True``, where the gap is checked at every iteration for free.
    working_set : bool, default False
        L1 least squares only, with ``partition='variable'``, ``selection='gsq'`` (or ``'gs'``)
        and ``update='prox_newton'``: grow the variable block with the solution. Each
        iteration computes the full gradient and the duality gap (stopping when ``gap <= tol``),
        then selects the current support plus the best GS-q coordinates, ``max(block_size,
        2 |supp x|)`` in all, and minimises ``F`` over that block *inexactly* by cyclic
        coordinate sweeps until every coordinate's minimum-norm subgradient is at most 0.3
        times the largest one over all coordinates at the start of the iteration. This is the
        working-set strategy of Massias et al. (2018) and Bertrand et al. (2022) phrased as a
        greedy variable-block rule with an adaptive block size; forcing the support into the
        block and the inexact inner solve are ours (the paper's prox-Newton update solves each
        block exactly and polishes on its support).
    fast_path : bool, default True
        Use the specialised kernel when it applies: cyclic selection over fixed 1-coordinate
        blocks with ``update='prox_gradient'`` on an L1 problem (plain cyclic coordinate
        descent). It produces the same iterates as the generic loop (bit for bit), which
        ``fast_path=False`` runs instead, e.g. to cross-check.
    seed : None, int or SeedSequence
        Seed of the random rules and random partitions.

    Returns
    -------
    BCDResult

    Raises
    ------
    TypeError, ValueError
        An invalid argument (the message names it, the allowed values and the value given),
        an invalid combination of rules, or blocks whose matrices would not fit in memory.
    FloatingPointError
        The objective became non-finite during the run (a problem too badly scaled or
        conditioned for the chosen update), instead of returning NaN.
    """
    owner = "bcd"
    if not isinstance(problem, BCDProblem):
        raise TypeError(f"{owner}: 'problem' must be a BCDProblem (LeastSquares, Logistic, "
                        f"Softmax, Quadratic, LabelPropagation, L1LeastSquares); got "
                        f"{type(problem).__name__} {short_repr(problem)}.")
    P = problem.data
    n = int(P.n)
    custom = not isinstance(partition, str)
    if not custom:
        part = check_option(partition, "partition", PARTITIONS, owner=owner)
    elif isinstance(partition, numbers.Number | np.generic) or not hasattr(partition, "__len__"):
        raise TypeError(f"{owner}: 'partition' must be one of "
                        f"{', '.join(repr(p) for p in PARTITIONS)} or a sequence of index "
                        f"arrays; got {type(partition).__name__} {_got(partition)}.")
    else:
        part = "custom"
    sel = Options(SELECTIONS).check(selection, "selection", owner)
    upd = Options(UPDATES).check(update, "update", owner)
    tau = Integer(1, None).check(block_size, "block_size", owner)
    max_iter = Integer(0, MAX_ITER).check(max_iter, "max_iter", owner)
    tol = Real(0.0, None, closed="neither", allow_none=True).check(tol, "tol", owner)
    f_target = Real(allow_none=True).check(f_target, "f_target", owner)
    score = check_option(score, "score", ("paper", "l1"), owner=owner)
    record = check_bool(record, "record", owner=owner)
    check_every = Integer(1, None, allow_none=True).check(check_every, "check_every", owner)
    if f_target is not None and not record:
        raise _invalid("f_target with record=False", "the target is checked on the recorded "
                       "objective; set record=True")
    if tol is None and f_target is None:
        # nothing but max_iter stops the run: every iteration is made
        if max_iter > MAX_ITER_NO_STOP:
            raise ValueError(f"{owner}: 'max_iter' must be an int in [0, {MAX_ITER_NO_STOP}] "
                             f"when neither 'tol' nor 'f_target' is given (every iteration is "
                             f"then made; with one of them, up to {MAX_ITER}); got {max_iter}.")
        if record:
            check_size_memory(max_iter, "max_iter", owner, lambda k: 16.0 * (k + 1.0),
                              "with record=True, the objective history of max_iter + 1 "
                              "floats, grown by doubling,", low=0)
    if x0 is None:
        x = np.zeros(n)
    else:
        x = BoundedArray(1, shape=(n,)).check(x0, "x0", owner)
        if P.nonneg and np.any(x < 0):
            raise ValueError(f"{owner}: 'x0' must be >= 0 for a non-negative problem; got an "
                             f"entry equal to {x[x < 0][0]!r}.")
    working_set = check_bool(working_set, "working_set", owner=owner)
    fast_path = check_bool(fast_path, "fast_path", owner=owner)
    _check_combination(problem, part, sel, upd)
    if working_set and not (problem.is_l1 and part == "variable" and sel in ("gsq", "gs")
                            and upd == "prox_newton"):
        raise _invalid("working_set=True with these options",
                       "working sets need an L1LeastSquares problem, partition='variable', "
                       "selection='gsq' or 'gs' and update='prox_newton'")
    rng = np.random.default_rng(as_seed_sequence(seed, owner=owner))

    # ---- blocks
    forest = 0
    if part == "variable":
        ptr, idx = np.zeros(2, np.int64), np.arange(n, dtype=np.int64)
    else:
        if custom:
            blocks = partition
        elif part in ("red_black", "tree"):
            blocks = (red_black_partition if part == "red_black" else tree_partition)(problem.A)
        else:
            blocks = fixed_partition(problem.lipschitz, tau, kind=part, rng=rng)
        ptr, idx = blocks_from_list(blocks, n, owner=owner)
        if isinstance(problem, Quadratic) and upd == "exact":
            forest = int(part in _FOREST_PARTITIONS or all(
                is_forest(problem.A, idx[ptr[t]:ptr[t + 1]]) for t in range(len(ptr) - 1)))
    if sel in _TREE_SELECTIONS:
        forest = 1
    nblocks = len(ptr) - 1

    sel_code = SELECTION_CODES[sel]
    if problem.is_l1 and sel == "gsq":
        sel_code = SEL_GSQ_PROX
    elif problem.is_l1 and sel == "gs":
        sel_code = SEL_GS_PROX
    upd_code = UPDATE_CODES[upd]
    if upd == "exact" and P.kind == KIND_LS:
        upd_code = UPD_MATRIX

    # ---- per-block constants (fixed blocks)
    mk = max(P.m * P.k, n)
    work = np.zeros(mk)
    need_L = int(part != "variable" and (sel in ("lipschitz", "gsl") or upd in (
        "gradient", "prox_gradient", "two_metric")))
    need_H = int(part != "variable" and ((sel == "gsq" and not problem.is_l1) or upd == "matrix"
                                          or (upd == "exact" and P.kind == KIND_LS)))
    need_D = int(part != "variable" and sel == "gsd")
    sizes = np.diff(ptr)
    # block matrices: H_b and its pseudo-inverse (about three nb x nb arrays) for the largest
    # block, plus every stored pinv(H_b) of a fixed partition
    nb_max = int(min(tau, n)) if part == "variable" else int(sizes.max())
    check_memory(24.0 * nb_max * nb_max + (8.0 * float(np.sum(sizes.astype(np.float64) ** 2))
                                           if need_H else 0.0),
                 f"blocks of up to {nb_max} coordinates (n={n}, block_size={tau})", owner)
    Lb = np.zeros(nblocks if need_L else 0)
    hptr = np.zeros(nblocks + 1, np.int64)
    if need_H:
        hptr[1:] = np.cumsum(sizes * sizes)
    hinv = np.zeros(int(hptr[-1]) if need_H else 0)
    dfb = np.ones(n)
    W = BCDArrays(ptr=ptr, idx=idx, Lb=Lb, Lcum=np.zeros(0), hptr=hptr, hinv=hinv,
                  Li=np.asarray(problem.lipschitz, np.float64), dfb=dfb,
                  drow=np.asarray(problem.rowsum_bound, np.float64) + 1e-300, Lt=np.ones(n),
                  perm=np.arange(n, dtype=np.int64), perm2=np.arange(n, dtype=np.int64),
                  g=np.zeros(n), score=np.zeros(n), b=np.zeros(n, np.int64), gb=np.zeros(n),
                  d=np.zeros(n), xold=np.zeros(n), vec=np.zeros(n), vec2=np.zeros(n),
                  work=work, work2=np.zeros(mk), in_block=np.zeros(n, np.int64),
                  uf=np.zeros(n, np.int64), pos=np.full(n, -1, np.int64),
                  ctr=np.zeros(4, np.int64), stat=np.zeros(4))
    path = PATH_GENERIC
    if working_set:
        path = PATH_WS
    elif (fast_path and problem.is_l1 and part != "variable" and sel == "cyclic"
          and upd == "prox_gradient" and np.all(sizes == 1)):
        path = PATH_CD1
    C = BCDConfig(tau=int(min(tau, n)), score_l1=int(score == "l1"),
                  L_global=float(problem.lipschitz_global), record=int(record),
                  f_stop=float(-np.inf if f_target is None else f_target),
                  gap_tol=float(-1.0 if tol is None or not working_set else tol))
    # the compile-time codes: the loop is compiled once per distinct value (the forest flag
    # matters to the exact update only)
    codes = BCDCodes(path=path, variable=int(part == "variable"), selection=int(sel_code),
                     update=int(upd_code), kind=int(P.kind),
                     forest=int(forest) if upd_code == UPD_EXACT else 0).static()
    kind = static_code(P.kind)
    aux = np.zeros(n if P.kind == KIND_QUADRATIC else P.m * P.k)
    dv = aux if P.kind in (KIND_LS, KIND_QUADRATIC) else np.zeros(P.m * P.k)
    # the history grows with the iterations made (the kernel doubles it when full)
    hist = np.empty(min(max_iter + 1, HISTORY_CHUNK))
    # on a fresh install, the iteration loop (the largest kernel) compiles in a helper
    # process while this one compiles and runs the set-up (banditlab.parallel.CompileBeside)
    loop_call = (run_iterations, (*codes, P, C, W, x, aux, dv, rng, 0, 1, hist))
    with CompileBeside([loop_call] if max_iter > 0 else []):
        W = _setup(P, W, need_L, need_H, need_D, nblocks)
        init_aux(kind, P, x, aux, dv)
        hist[0] = objective(kind, P, x, aux)
        if not math.isfinite(hist[0]):
            raise ValueError(f"{owner}: 'x0' must be a start with a finite objective; got "
                             f"F(x0) = {float(hist[0])!r} (entries too large for {problem!r}).")
        g = np.zeros(n)

        def optimality() -> float:
            if problem.is_l1:
                return float(_l1_gap(P, x, aux, g))
            full_grad(kind, P, aux, dv, g)
            return float(np.max(np.abs(g)))

        if check_every is None:
            check_every = max(1, nblocks if part != "variable" else -(-n // tau))
        if tol is None or working_set:
            check_every = max(max_iter, 1)
        it = 0
        reason = "max_iter reached"
        converged = False
        # working sets compute the gap inside the kernel at every iteration, the first included
        opt = optimality() if tol is not None and not working_set else np.nan
        t0 = time.perf_counter()
        if tol is not None and opt <= tol:
            reason, converged = "tol reached", True
        elif f_target is not None and hist[0] <= f_target:
            reason, converged = "f_target reached", True
        else:
            while it < max_iter:
                chunk = min(check_every, max_iter - it)
                done, hist = run_iterations(*codes, P, C, W, x, aux, dv, rng, it, chunk, hist)
                it += done
                if not math.isfinite(hist[it] if record else objective(kind, P, x, aux)):
                    break                       # reported below
                if W.ctr[2] == 1:
                    opt = float(W.stat[0])
                    reason, converged = "tol reached", True
                    break
                if f_target is not None and done < chunk:
                    reason, converged = "f_target reached", True
                    break
                if working_set:                 # one chunk: max_iter reached
                    opt = np.nan
                    break
                if tol is not None:
                    opt = optimality()
                    if opt <= tol:
                        reason, converged = "tol reached", True
                        break
    wall = time.perf_counter() - t0
    if record:
        hist_out = hist[:it + 1].copy()
    else:
        hist_out = np.array([hist[0], objective(kind, P, x, aux)])
    if not (np.all(np.isfinite(hist_out)) and np.all(np.isfinite(x))):
        bad = np.flatnonzero(~np.isfinite(hist_out))
        k = int(bad[0]) if record and bad.size else it
        value = float(hist_out[bad[0]]) if bad.size else math.nan
        raise FloatingPointError(
            f"{owner}: the objective of {problem!r} became non-finite ({value!r}) at iteration "
            f"{k} with partition={part!r}, selection={sel!r}, update={upd!r}; the problem is "
            "too badly scaled or conditioned for this update (rescale the data, or use "
            "update='line_search' or 'matrix').")
    if not np.isfinite(opt):
        opt = optimality()
    ident = int(W.ctr[1]) if problem.is_l1 else None
    cfg = {"partition": part, "selection": sel, "update": upd, "block_size": tau,
           "score": score, "forest": bool(forest), "n_blocks": nblocks,
           "working_set": working_set, "fast_path": {PATH_GENERIC: None, PATH_CD1: "cd1",
                                                     PATH_WS: "working_set"}[path]}
    if working_set:
        cfg["inner_sweeps"] = int(W.stat[2])
    return BCDResult(x.copy(), hist_out, it, ident, reason, converged, opt, wall, cfg)
