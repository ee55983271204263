"""BCD problems and partitions: gradients, Hessians and bounds vs finite differences; partitions
cover every coordinate once; forest blocks are acyclic and the message-passing solve equals the
dense solve (spec §6 items 1–3)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from banditlab.solvers.bcd_datasets import dataset_d, dataset_e
from banditlab.solvers.bcd_partitions import (
    fixed_partition,
    forest_solve,
    greedy_forest,
    is_forest,
    lattice_red_black_partition,
    lattice_tree_partition,
    red_black_partition,
    tree_partition,
)
from banditlab.solvers.bcd_problems import (
    L1LeastSquares,
    LabelPropagation,
    LeastSquares,
    Logistic,
    Quadratic,
    Softmax,
    _abs_gram_rowsums,
)


def _problems():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((12, 6)) * rng.uniform(0.5, 3, 6)
    Ms = sp.random(12, 6, density=0.5, random_state=4, format="csc") * 3.0
    y = rng.standard_normal(12)
    lab = np.sign(rng.standard_normal(12))
    cls = rng.integers(0, 3, 12)
    A = rng.standard_normal((6, 6))
    A = A @ A.T + 6 * np.eye(6)
    G = nx.cycle_graph(7)
    return {
        "ls_dense": LeastSquares(M, y),
        "ls_sparse": LeastSquares(Ms, y),
        "logistic_dense": Logistic(M, lab),
        "logistic_sparse": Logistic(Ms, lab),
        "softmax_dense": Softmax(M[:, :4], cls, n_classes=3),
        "softmax_sparse": Softmax(Ms[:, :4], cls, n_classes=3),
        "quadratic": Quadratic(A, rng.standard_normal(6)),
        "label_propagation": LabelPropagation(G, {0: 1.0, 3: -2.0}),
    }


PROBLEMS = _problems()


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_gradient_and_hessian_match_finite_differences(name):
    prob = PROBLEMS[name]
    n = prob.n_features
    rng = np.random.default_rng(0)
    x = 0.3 * rng.standard_normal(n)
    g = prob.gradient(x)
    h = 1e-6
    fd = np.array([(prob.objective(x + h * e) - prob.objective(x - h * e)) / (2 * h)
                   for e in np.eye(n)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * (1 + np.abs(g).max()))
    b = np.array([0, n // 2, n - 1])
    H = prob.block_hessian(x, b)
    E = np.eye(n)
    fdH = np.column_stack([(prob.gradient(x + h * E[j]) - prob.gradient(x - h * E[j]))[b]
                           / (2 * h) for j in b])
    np.testing.assert_allclose(H, fdH, rtol=1e-4, atol=1e-5 * (1 + np.abs(H).max()))
    # the matrix bound dominates the Hessian; coordinate / global constants dominate too
    Hb = prob.hessian_bound(b)
    assert np.linalg.eigvalsh(Hb - H).min() >= -1e-9 * np.abs(Hb).max()
    full = prob.block_hessian(x, np.arange(n))
    assert np.all(prob.lipschitz >= np.diag(full) - 1e-10)
    assert prob.lipschitz_global >= np.linalg.eigvalsh(full)[-1] - 1e-9
    assert prob.lipschitz_global >= prob.block_lipschitz(b) - 1e-9
    # row sums bound the full matrix bound (Gershgorin): D - H_full is PSD
    Hfull = prob.hessian_bound(np.arange(n))
    assert np.linalg.eigvalsh(np.diag(prob.rowsum_bound) - Hfull).min() >= -1e-8


def test_softmax_bound_is_bohning_and_exact_for_ls():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((10, 3))
    prob = Softmax(M, rng.integers(0, 4, 10), n_classes=4)
    b = np.arange(prob.n_features)
    G = M.T @ M
    expected = 0.5 * np.kron(G, np.eye(4) - np.ones((4, 4)) / 4)
    np.testing.assert_allclose(prob.hessian_bound(b), expected, atol=1e-12)
    ls = LeastSquares(M, rng.standard_normal(10))
    np.testing.assert_allclose(ls.hessian_bound([0, 2]), G[np.ix_([0, 2], [0, 2])])


def test_l1_duality_gap_is_zero_at_cvxpy_solution():
    import cvxpy as cp
    rng = np.random.default_rng(2)
    M = rng.standard_normal((20, 30))
    y = rng.standard_normal(20)
    for nonneg in (False, True):
        prob = L1LeastSquares(M, y, lam=2.0, nonnegative=nonneg)
        z = cp.Variable(30, nonneg=nonneg)
        cp.Problem(cp.Minimize(0.5 * cp.sum_squares(M @ z - y) + 2.0 * cp.norm1(z))).solve(
            solver=cp.CLARABEL)
        assert prob.duality_gap(z.value) <= 1e-5 * prob.objective(z.value)
        assert prob.duality_gap(np.zeros(30)) > 1.0      # canary: the gap detects suboptimality


def test_problem_validation_messages():
    M = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"LeastSquares: 'y' must be a 1-d array of floats of "
                                         r"shape \(3\)"):
        LeastSquares(M, np.ones(4))
    with pytest.raises(ValueError, match=r"Logistic: 'y' must be a 1-d array of labels"):
        Logistic(M, np.array([1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match=r"Softmax: 'labels' must be .* entries in \[0, 1\]"):
        Softmax(M, np.array([0, 1, 2]), n_classes=2)
    with pytest.raises(ValueError, match=r"L1LeastSquares: 'lam' must be a float in "
                                         r"\(0, 1e\+100\]"):
        L1LeastSquares(M, np.ones(3), lam=0.0)
    with pytest.raises(ValueError, match=r"Quadratic: 'A' must be symmetric"):
        Quadratic(np.array([[2.0, 1.0], [0.0, 2.0]]), np.ones(2))
    with pytest.raises(ValueError, match=r"Quadratic: 'A' must be positive definite"):
        Quadratic(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2))
    with pytest.raises(TypeError, match=r"LabelPropagation: 'graph' must be an undirected"):
        LabelPropagation(nx.DiGraph([(0, 1)]), {0: 1.0})
    with pytest.raises(ValueError, match=r"LabelPropagation: 'labels' must be a dict with "
                                         r"graph nodes"):
        LabelPropagation(nx.path_graph(3), {7: 1.0})
    with pytest.raises(TypeError, match=r"LeastSquares: 'M' must be a 2-d array"):
        LeastSquares("abc", np.ones(3))


# --------------------------------------------------------------------------- partitions
@given(n=st.integers(1, 40), tau=st.integers(1, 12),
       kind=st.sampled_from(["order", "sorted", "average", "random"]), seed=st.integers(0, 99))
def test_fixed_partitions_cover_every_coordinate_once(n, tau, kind, seed):
    rng = np.random.default_rng(seed)
    L = rng.exponential(size=n)
    blocks = fixed_partition(L, tau, kind=kind, rng=np.random.default_rng(seed))
    allidx = np.concatenate(blocks)
    np.testing.assert_array_equal(np.sort(allidx), np.arange(n))
    assert all(1 <= b.size <= tau for b in blocks)
    if kind == "sorted":   # consecutive blocks hold increasing constants
        assert all(L[blocks[i]].max() <= L[blocks[i + 1]].min() for i in range(len(blocks) - 1))


def _random_graph_matrix(n, p, seed):
    G = nx.gnp_random_graph(n, p, seed=seed)
    A = nx.to_scipy_sparse_array(G, format="csr").astype(float)
    A = sp.csr_matrix(-A)
    A = A + sp.diags(np.asarray(abs(A).sum(axis=1)).ravel() + 1.0)
    return sp.csr_matrix(A)


@given(n=st.integers(2, 30), p=st.floats(0.05, 0.6), seed=st.integers(0, 1000))
def test_greedy_forest_is_acyclic_and_forest_solve_equals_dense(n, p, seed):
    A = _random_graph_matrix(n, p, seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n).astype(np.int64)
    out = np.zeros(n, np.int64)
    nb = greedy_forest(A.indptr.astype(np.int64), A.indices.astype(np.int64), order, n,
                       np.zeros(n, np.int64), np.zeros(n, np.int64), out)
    b = out[:nb]
    assert is_forest(A, b)
    # maximality: adding any excluded node would close a cycle
    for v in set(range(n)) - set(b.tolist()):
        assert not is_forest(A, np.append(b, v))
    rhs = rng.standard_normal(nb)
    z = np.zeros(nb)
    pos = np.full(n, -1, np.int64)
    forest_solve(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, b, nb, rhs,
                 pos, z)
    np.testing.assert_allclose(z, np.linalg.solve(A[b][:, b].toarray(), rhs), rtol=1e-10,
                               atol=1e-12)
    assert np.all(pos == -1)


def test_forest_solve_on_random_trees_and_canary_on_a_cycle():
    rng = np.random.default_rng(5)
    for n in (1, 2, 10, 200):
        T = nx.random_labeled_tree(n, seed=int(rng.integers(1000))) if n > 1 else nx.empty_graph(1)
        W = sp.csr_matrix(nx.to_scipy_sparse_array(T, format="csr").astype(float))
        W.data = rng.uniform(0.1, 2.0, W.data.size)
        W = sp.csr_matrix((W + W.T) / 2)
        A = sp.csr_matrix(sp.diags(np.asarray(W.sum(axis=1)).ravel() + rng.uniform(0.1, 1, n))
                          - W)
        b = rng.permutation(n).astype(np.int64)
        rhs = rng.standard_normal(n)
        z = np.zeros(n)
        forest_solve(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, b, n,
                     rhs, np.full(n, -1, np.int64), z)
        np.testing.assert_allclose(z, np.linalg.solve(A[b][:, b].toarray(), rhs), rtol=1e-9,
                                   atol=1e-12)
    # canary: on a cycle the tree elimination ignores an edge, so it must disagree
    A = _random_graph_matrix(3, 1.0, 0)
    b = np.arange(3, dtype=np.int64)
    z = np.zeros(3)
    rhs = np.array([1.0, 2.0, 3.0])
    forest_solve(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, b, 3, rhs,
                 np.full(3, -1, np.int64), z)
    assert not np.allclose(z, np.linalg.solve(A.toarray(), rhs))
    assert not is_forest(A, b)


@pytest.mark.parametrize("order", ["lipschitz", "order"])
def test_red_black_and_tree_partitions(order):
    for prob in (dataset_e(150, 10, seed=1), dataset_d(8, 6, seed=2)):
        A = prob.A
        n = prob.n_features
        for maker in (red_black_partition, tree_partition):
            parts = maker(A, order=order)
            np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))
            for b in parts:
                assert is_forest(A, b)
                if maker is red_black_partition:       # independent set: A_bb diagonal
                    sub = A[b][:, b].toarray()
                    assert np.count_nonzero(sub - np.diag(np.diag(sub))) == 0


@pytest.mark.parametrize("shape", [(2, 1), (3, 4), (5, 5), (6, 7)])
def test_lattice_comb_trees_cover_and_are_trees(shape):
    R, C = shape
    G = nx.Graph()
    for c in range(C):
        for r in range(R):
            v = c * R + r
            G.add_node(v)
            if r + 1 < R:
                G.add_edge(v, v + 1)
            if c + 1 < C:
                G.add_edge(v, v + R)
    T1, T2 = lattice_tree_partition(R, C)
    np.testing.assert_array_equal(np.sort(np.r_[T1, T2]), np.arange(R * C))
    for T in (T1, T2):
        if T.size:
            assert nx.is_tree(G.subgraph(T.tolist()))


def _lattice_matrix(R: int, C: int) -> np.ndarray:
    """Dense 4-neighbour lattice Laplacian plus the identity, node (r, c) -> c * R + r."""
    A = np.eye(R * C)
    for c in range(C):
        for r in range(R):
            v = c * R + r
            for u in ([v + 1] if r + 1 < R else []) + ([v + R] if c + 1 < C else []):
                A[u, v] = A[v, u] = -1.0
                A[u, u] += 1.0
                A[v, v] += 1.0
    return A


@pytest.mark.parametrize("shape", [(1, 2), (2, 1), (3, 4), (5, 5), (6, 7), (1, 9)])
def test_lattice_red_black_is_a_two_colouring(shape):
    R, C = shape
    A = _lattice_matrix(R, C)
    parts = lattice_red_black_partition(R, C)
    assert len(parts) == 2 and all(b.size for b in parts)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(R * C))
    colour = np.empty(R * C, np.int64)
    for k, b in enumerate(parts):
        colour[b] = k
        sub = A[np.ix_(b, b)]                  # independent set: A_bb diagonal
        assert np.count_nonzero(sub - np.diag(np.diag(sub))) == 0
    # brute force over every non-zero off-diagonal entry: the two ends differ in colour
    i, j = np.nonzero(A - np.diag(np.diag(A)))
    assert i.size and np.all(colour[i] != colour[j])


def test_dataset_d_red_black_is_checkerboard_and_greedy_is_not():
    prob = dataset_d(12, 10, seed=3)
    A = prob.A.toarray()
    parts = prob.lattice_red_black
    assert len(parts) == 2
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(prob.n_features))
    for b in parts:
        sub = A[np.ix_(b, b)]
        assert np.count_nonzero(sub - np.diag(np.diag(sub))) == 0
    # the colour of an unknown is the parity of its lattice node (r + c), node = c * side + r
    node = np.asarray(prob.unknown)
    for k, b in enumerate(parts):
        assert np.all((node[b] % 12 + node[b] // 12) % 2 == k)
    # the general greedy colouring (the partition='red_black' option) uses a third colour here
    assert len(red_black_partition(prob.A)) > 2


def test_abs_gram_rowsums_exact_against_dense():
    rng = np.random.default_rng(5)
    for m, p, dens in ((7, 5, 0.6), (20, 60, 0.2), (60, 15, 0.05), (3, 40, 1.0)):
        Ms = sp.random(m, p, density=dens, random_state=rng, format="csc")
        Ms.data = rng.standard_normal(Ms.nnz) * 3.0  # both signs: |M|^T |M| 1 would be loose
        Md = Ms.toarray()
        expected = np.abs(Md.T @ Md).sum(axis=1)
        np.testing.assert_allclose(_abs_gram_rowsums(Ms), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(_abs_gram_rowsums(Md), expected, rtol=1e-12, atol=1e-12)
        # chunked dense path (upper-triangle blocks of 1 to p // 2 + 1 rows)
        for blk in (1, p * (p // 2 + 1)):
            np.testing.assert_allclose(_abs_gram_rowsums(Md, max_block=blk), expected,
                                       rtol=1e-12, atol=1e-12)


def test_rowsum_bound_exact_above_4000_features():
    """Beyond p = 4000 the bound was ``|M|^T |M| 1`` (1.15-1.61x the exact sums on dataset A):
    now exact, checked against a scipy sparse Gram matrix."""
    rng = np.random.default_rng(6)
    M = sp.random(40, 4500, density=0.01, random_state=rng, format="csc")
    M = sp.csc_matrix(M + sp.csc_matrix((np.ones(4500), (rng.integers(0, 40, 4500),
                                                         np.arange(4500))), shape=M.shape))
    M.data = rng.standard_normal(M.nnz)                # no zero column, both signs
    expected = np.asarray(abs(M.T @ M).sum(axis=1)).ravel()
    prob = LeastSquares(M, rng.standard_normal(40))
    np.testing.assert_allclose(prob.rowsum_bound, expected, rtol=1e-12)
    absM = abs(M)
    loose = np.asarray(absM.T @ (absM @ np.ones(4500))).ravel()
    assert np.all(loose >= expected * (1 - 1e-12)) and np.any(loose > 1.01 * expected)


def test_partition_validation_messages():
    with pytest.raises(ValueError, match=r"fixed_partition: 'kind' must be one of 'order'"):
        fixed_partition(np.ones(3), 2, kind="bogus")
    with pytest.raises(TypeError, match=r"fixed_partition: 'rng' must be a numpy.random"):
        fixed_partition(np.ones(3), 2, kind="random")
    with pytest.raises(ValueError, match=r"fixed_partition: 'block_size' must be an int in "
                                         r"\[1, inf\)"):
        fixed_partition(np.ones(3), 0)
    with pytest.raises(ValueError, match=r"lattice_tree_partition: 'n_rows' must be an int"):
        lattice_tree_partition(1, 3)
    with pytest.raises(ValueError, match=r"lattice_red_black_partition: 'n_cols' must be an int "
                                         r"in \[1, inf\); got 0"):
        lattice_red_black_partition(3, 0)
    with pytest.raises(TypeError, match=r"lattice_red_black_partition: 'n_rows' must be an int"):
        lattice_red_black_partition(2.5, 3)
    with pytest.raises(ValueError, match=r"lattice_red_black_partition: 'n_rows \* n_cols' must "
                                         r"be >= 2 .*got n_rows=1, n_cols=1"):
        lattice_red_black_partition(1, 1)
