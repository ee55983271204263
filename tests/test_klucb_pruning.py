"""KL-UCB's fast argmax is the brute-force argmax, bit for bit (issue 14, part 4).

``kl_ucb_argmax`` leaves out indices that cannot win, brackets the others between certified
bounds (Newton's method, ``_kl_ucb_certify``) and computes exact values (a replay of the
bisection) only where two brackets overlap. Brute force solves every index with the bisection
``kl_ucb_index`` and calls ``argmax_tiebreak``. On many random
states (sums, counts, budgets, tolerances; exact ties forced by copied arms and grid means) both
must pick the same arm and leave the generator in the same state (the same uniforms drawn for
ties), for each divergence; and the fast index must equal the bisection's to the last bit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from banditlab.kernels.common import (
    DIV_BERNOULLI,
    DIV_EXPONENTIAL,
    DIV_GAUSSIAN,
    DIV_POISSON,
    _kl_ucb_certify,
    _kl_ucb_replay,
    _kl_ucb_start,
    argmax_tiebreak,
    kl_ucb_argmax,
    kl_ucb_certificates,
    kl_ucb_index,
)

DIVERGENCES = {"bernoulli": DIV_BERNOULLI, "gaussian": DIV_GAUSSIAN, "poisson": DIV_POISSON,
               "exponential": DIV_EXPONENTIAL}
TOLS = (1e-12, 1e-9, 1e-6, 1e-3, 0.1)
SIGMA = 1.3


def random_state(rng: np.random.Generator, top: float) -> tuple[np.ndarray, np.ndarray, float,
                                                                 float]:
    """Sums, counts, budget and tolerance of one KL-UCB round, with frequent exact ties."""
    k = int(rng.choice([1, 2, 3, 5, 10, 10, 10, 50]))
    counts = np.exp(rng.uniform(0.0, math.log(1e5), k)).astype(np.int64) + 1
    kind = rng.integers(4)
    if kind == 0:                                    # all counts equal: many identical arms
        counts[:] = counts[0]
    if rng.random() < 0.3:                           # means on a coarse grid
        means = rng.choice([0.0, top / 2, top], k)
    else:
        means = rng.uniform(0.0, top, k)
        if kind == 1:                                # near the top, as in a long run
            means = top * (0.8 + 0.2 * rng.random(k))
    sums = means * counts
    if kind == 2 and k > 1:                          # copies of other arms: exact ties
        src = rng.integers(k, size=k)
        pick = rng.random(k) < 0.5
        sums[pick], counts[pick] = sums[src[pick]], counts[src[pick]]
    t = float(np.exp(rng.uniform(math.log(max(k, 2)), math.log(1e8))))
    c = float(rng.choice([0.0, 0.0, 3.0]))
    budget = math.log(t) + c * math.log(max(math.log(t), 1.0))
    return sums, counts, budget, float(rng.choice(TOLS))


@pytest.mark.parametrize("divergence", sorted(DIVERGENCES))
def test_argmax_is_brute_force(divergence: str) -> None:
    code = DIVERGENCES[divergence]
    top = 1.0 if divergence == "bernoulli" else 6.0
    rng = np.random.default_rng(20240514 + code)
    certs = kl_ucb_certificates(50)
    n_ties = 0
    for _ in range(1500):
        sums, counts, budget, tol = random_state(rng, top)
        seed = int(rng.integers(2**63))
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        # one table for every state: rows left by other states must be refused or still hold
        got = kl_ucb_argmax(code, sums, counts, budget, SIGMA, tol, r1, certs)
        index = np.array([kl_ucb_index(code, s / n, budget / n, SIGMA, tol)
                          for s, n in zip(sums, counts, strict=True)])
        want = argmax_tiebreak(index, r2)
        assert got == want, (sums.tolist(), counts.tolist(), budget, tol)
        assert r1.bit_generator.state == r2.bit_generator.state, (sums.tolist(),
                                                                  counts.tolist(), budget, tol)
        n_ties += int(np.unique(index).size < index.size)
    assert n_ties > 100                              # the tie-breaking draws were exercised


@pytest.mark.parametrize("divergence", ["bernoulli", "exponential", "poisson"])
def test_certified_replay_is_the_bisection(divergence: str) -> None:
    """Certified points (``_kl_ucb_certify``: Newton from the start ``_kl_ucb_start`` gives,
    or from a point below the root as after an old upper point expired; no margin or the
    policy's) replayed by ``_kl_ucb_replay`` give the bisection's index to the last bit."""
    code = DIVERGENCES[divergence]
    top = 1.0 if divergence == "bernoulli" else 6.0
    rng = np.random.default_rng(7 + code)
    n = 4000
    means = rng.uniform(0.0, top, n)
    means[:300] = rng.choice([0.0, 1e-300, 1e-16, 1e-9, top / 2, top, 1.0 - 1e-9, 1.0 - 1e-16,
                              1.0, 1e4], 300)
    levels = np.log(rng.uniform(2.0, 1e8, n)) / np.exp(rng.uniform(0.0, math.log(1e6), n))
    levels[:600] = 10.0 ** rng.uniform(-15.0, 3.0, 600)
    levels[:20] = 0.0
    tols = rng.choice(TOLS, n)
    certified = 0
    for mean, level, tol in zip(means, levels, tols, strict=True):
        want = kl_ucb_index(code, mean, level, SIGMA, tol)
        ok, p, lo, hi, q = _kl_ucb_start(code, mean, level)
        if not ok:
            continue
        below = p + 0.5 * (want - p)             # a start under the root
        for start in (q, below) if below > p else (q,):
            for margin in (0.0, 16.0):
                done, a, _fa, _ea, z, _fz, _ez = _kl_ucb_certify(code, p, level, tol, start,
                                                                  margin)
                if done:
                    certified += 1
                    assert a < z
                    got = _kl_ucb_replay(code, mean, level, tol, p, lo, hi, a, z)
                    assert got == want, (mean, level, tol, start, margin)
    assert certified > 8000                      # most cases are certified, not skipped


def test_the_gaussian_index_is_not_bracketed() -> None:
    """The Gaussian index is a closed form: ``_kl_ucb_start`` refuses it (kl_ucb_argmax
    computes it directly)."""
    assert not _kl_ucb_start(DIVERGENCES["gaussian"], 0.3, 0.5)[0]


def draw_reward(rng: np.random.Generator, divergence: str, mean: float) -> float:
    if divergence == "bernoulli":
        return float(rng.random() < mean)
    if divergence == "gaussian":
        return float(rng.normal(mean, SIGMA))
    if divergence == "poisson":
        return float(rng.poisson(mean))
    return float(rng.exponential(mean))


@pytest.mark.parametrize("divergence", sorted(DIVERGENCES))
def test_certificates_kept_across_rounds(divergence: str) -> None:
    """A whole KL-UCB run with the table kept between rounds, as the policy keeps it, against
    solving every index at every round: same arms, same uniforms. Pairs of arms with equal
    means often have equal counts and sums (exact ties), and the table's rows age as the
    level grows, as an arm is pulled and as ``c`` and ``tol`` change between stretches."""
    code = DIVERGENCES[divergence]
    means = np.array([0.2, 0.5, 0.5, 0.7, 0.7, 0.72, 0.3, 0.7])
    if divergence != "bernoulli":
        means = 1.0 + 4.0 * means
    k = means.size
    env = np.random.default_rng(11 + code)
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    counts = np.ones(k, np.int64)
    sums = np.array([draw_reward(env, divergence, m) for m in means])
    certs = kl_ucb_certificates(k)
    n_ties = 0
    for t in range(k + 1, 2500):
        c, tol = (0.0, 1e-6) if t < 1500 else (3.0, 1e-3) if t < 2000 else (0.0, 1e-9)
        budget = math.log(t) + c * math.log(max(math.log(t), 1.0))
        got = kl_ucb_argmax(code, sums, counts, budget, SIGMA, tol, r1, certs)
        index = np.array([kl_ucb_index(code, s / n, budget / n, SIGMA, tol)
                          for s, n in zip(sums, counts, strict=True)])
        want = argmax_tiebreak(index, r2)
        assert got == want, (t, sums.tolist(), counts.tolist())
        assert r1.bit_generator.state == r2.bit_generator.state, t
        n_ties += int(np.unique(index).size < index.size)
        counts[got] += 1
        sums[got] += draw_reward(env, divergence, means[got])
    if divergence == "bernoulli":
        assert n_ties > 20                           # tie-breaking draws were exercised
