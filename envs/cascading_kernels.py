"""Numba kernels of the cascading MDP: the simulator step, list values, oracles, planning.

These are the model's kernels: the environment (:class:`banditlab.envs.cascading.CascadingMDP`)
uses them to simulate and to compute exact values, and the learning agents of
:mod:`banditlab.cascading` call the same oracles on their estimates. No learner lives here.

Conventions (all arrays C-contiguous):

* ``q``: attraction probabilities, ``float64[S, N]``; ``r``: click rewards, ``float64[S, N]``;
  ``p``: transitions, ``float64[S, N + 1, S]`` where row ``N`` is the no-click outcome ``a_⊥``.
* A *list* is ``int64[m]``: item ids top to bottom, then ``-1`` padding; ``k`` is its length.
* A deterministic policy is ``int64[H, S, m]`` (a list per step and state).
* Values are ``float64[H + 1, S]`` with ``V[H] = 0``.

References
----------
Z. Du, R. Srikant and W. Chen. Cascading reinforcement learning. ICLR 2024.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab.kernels.common import categorical

__all__ = [
    "BESTPERM",
    "EXHAUSTIVE",
    "CascadeArrays",
    "best_list",
    "best_list_exhaustive",
    "best_perm_kernel",
    "cascade_step",
    "eval_box",
    "list_length",
    "list_value",
    "list_value_forward",
    "policy_evaluation_kernel",
    "stable_argsort",
    "value_iteration_kernel",
]


# ---------------------------------------------------------------------------------------------
# Environment arrays and the simulator step
# ---------------------------------------------------------------------------------------------
class CascadeArrays(NamedTuple):
    """A cascading MDP as plain arrays (what the kernels see)."""

    q: np.ndarray          # float64[S, N]       attraction probabilities
    r: np.ndarray          # float64[S, N]       reward of a click
    p: np.ndarray          # float64[S, N+1, S]  next-state law after a click / no click (row N)
    s1: int                # initial state
    horizon: int           # H, steps per episode
    list_size: int         # m, maximal list length


@njit
def cascade_step(q, r, p, s, items, k, rng):
    """One step of the cascade: the user scans ``items[:k]`` top-down and clicks the first
    attractive item.

    Draws one uniform per *examined* item (item ``j`` attracts iff ``u < q[s, items[j]]``)
    and then one uniform for the next state. Returns ``(position, reward, s_next)``:
    ``position`` is the index in the list of the clicked item, ``-1`` if nothing was clicked.
    """
    pos = -1
    for j in range(k):
        if rng.random() < q[s, items[j]]:
            pos = j
            break
    n_items = q.shape[1]
    if pos >= 0:
        a = items[pos]
        reward = r[s, a]
    else:
        a = n_items
        reward = 0.0
    s_next = categorical(p[s, a], rng)
    return pos, reward, s_next


# ---------------------------------------------------------------------------------------------
# One-step list values and the oracles
# ---------------------------------------------------------------------------------------------
@njit
def list_value(items, k, u, w, w_bot):
    """``f(A, u, w)`` by the backward recursion ``v_i = v_{i+1} + u(a_i)(w(a_i) - v_{i+1})``."""
    v = w_bot
    for i in range(k - 1, -1, -1):
        a = items[i]
        v = v + u[a] * (w[a] - v)
    return v


@njit
def list_value_forward(items, k, u, w, w_bot):
    """``f(A, u, w)`` by the forward sum: click probabilities times weights, plus no-click."""
    survive = 1.0
    total = 0.0
    for i in range(k):
        a = items[i]
        total += survive * u[a] * w[a]
        survive *= 1.0 - u[a]
    return total + survive * w_bot


@njit
def eval_box(items, k, u_lo, u_hi, w, w_bot, maximise):
    """Largest (``maximise``) or smallest value of the fixed list over the box
    ``u_lo <= u <= u_hi`` (exact, backward).

    To maximise, position ``i`` takes ``u_hi`` iff its weight is at least the value of the
    suffix below it (``u_lo`` otherwise); to minimise, the opposite end of the box.
    """
    v = w_bot
    for i in range(k - 1, -1, -1):
        a = items[i]
        ui = u_hi[a] if (w[a] >= v) == maximise else u_lo[a]
        v = v + ui * (w[a] - v)
    return v


@njit(inline="always")
def _before(x, y):
    """``x < y`` with NaN after every number: numpy's sort order."""
    return x < y or (y != y and x == x)


@njit
def stable_argsort(key):
    """``np.argsort(key, kind="mergesort")``, the same permutation: a bottom-up merge sort
    (stable: equal keys keep their order; NaNs last, as numpy sorts them). Written out because
    numpy's sort in Numba compiles a generic merge sort that costs about a second at the first
    call; this one compiles in a tenth of that."""
    n = key.shape[0]
    order = np.arange(n)
    tmp = np.empty(n, np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j = lo, mid
            for t in range(lo, hi):
                # take from the right run only when strictly before: ties keep their order
                if j < hi and (i >= mid or _before(key[order[j]], key[order[i]])):
                    tmp[t] = order[j]
                    j += 1
                else:
                    tmp[t] = order[i]
                    i += 1
        order, tmp = tmp, order
        width *= 2
    return order


@njit
def best_perm_kernel(u, w, w_bot, m, u_lo, out):
    """BestPerm: the best list of at most ``m`` distinct items, in ``O(N log N + N m)``.

    Writes the list into ``out`` (``int64[m]``, ``-1`` padded) and returns ``(value, k)``.
    Items with ``w <= w_bot`` are discarded; the others are sorted by decreasing ``w`` (ties:
    larger ``u`` first, then smaller index) and a DP over (position in the sorted order,
    remaining slots) chooses which to keep, taking the item on ties so the list is never
    empty. When no item beats ``w_bot`` the single least harmful item is shown, judged with
    ``u_lo`` (``u_lo = u`` is the plain oracle; an optimistic planner passes its lower
    attraction bound, because there the value decreases in the attraction).

    Tie rule for free slots: a *neutral* item, one with ``u_lo (w - w_bot) = 0`` and
    ``w <= w_bot`` (``w == w_bot``, or ``u_lo == 0``), changes no list's value when appended at
    the bottom, where the suffix below it is worth ``w_bot`` (with ``u_lo = u`` in the plain
    value; at the lowest plausible attraction in the optimistic box value). Neutral items
    therefore fill the slots the DP leaves, larger ``w`` first, then smaller index. The value
    is unchanged, but the learner sees more: with saturated optimistic weights (all at the
    cap) or unexplored items (``u_lo = 0``) the plain rule would show a single item. The
    exhaustive oracle's tie rule (longest list) makes the same kind of choice.
    """
    n = u.shape[0]
    for i in range(m):
        out[i] = -1
    n_cand = 0
    for a in range(n):
        if w[a] > w_bot:
            n_cand += 1
    if n_cand == 0:
        best = -np.inf
        best_a = 0
        for a in range(n):
            g = u_lo[a] * (w[a] - w_bot)
            if g > best:
                best = g
                best_a = a
        if best == 0.0:             # value w_bot: show every neutral item the list can hold
            return w_bot, _fill_neutral(u_lo, w, w_bot, m, out, 0)
        out[0] = best_a
        return w_bot + u_lo[best_a] * (w[best_a] - w_bot), 1
    cand = np.empty(n_cand, np.int64)
    j = 0
    for a in range(n):
        if w[a] > w_bot:
            cand[j] = a
            j += 1
    key = np.empty(n_cand)
    for i in range(n_cand):
        key[i] = -u[cand[i]]
    cand = cand[stable_argsort(key)]
    for i in range(n_cand):
        key[i] = -w[cand[i]]
    cand = cand[stable_argsort(key)]
    # F[i, c]: best value of the sub-list built from cand[i:] with at most c slots
    f = np.empty((n_cand + 1, m + 1))
    take = np.zeros((n_cand + 1, m + 1), np.bool_)
    for c in range(m + 1):
        f[n_cand, c] = w_bot
    for i in range(n_cand - 1, -1, -1):
        a = cand[i]
        f[i, 0] = w_bot
        for c in range(1, m + 1):
            skip = f[i + 1, c]
            nxt = f[i + 1, c - 1]
            took = nxt + u[a] * (w[a] - nxt)   # >= nxt exactly when w[a] > nxt
            if took >= skip:
                f[i, c] = took
                take[i, c] = True
            else:
                f[i, c] = skip
    c = m
    k = 0
    for i in range(n_cand):
        if c == 0:
            break
        if take[i, c]:
            out[k] = cand[i]
            k += 1
            c -= 1
    return f[0, m], _fill_neutral(u_lo, w, w_bot, m, out, k)


@njit
def _fill_neutral(u_lo, w, w_bot, m, out, k):
    """Append the neutral items (``w <= w_bot`` and ``u_lo (w - w_bot) == 0``) to ``out[:k]``,
    larger ``w`` first then smaller index, up to ``m`` items; returns the new length."""
    n = u_lo.shape[0]
    if k >= m:
        return k
    n_neutral = 0
    for a in range(n):
        if w[a] <= w_bot and u_lo[a] * (w[a] - w_bot) == 0.0:
            n_neutral += 1
    if n_neutral == 0:
        return k
    neutral = np.empty(n_neutral, np.int64)
    key = np.empty(n_neutral)
    j = 0
    for a in range(n):
        if w[a] <= w_bot and u_lo[a] * (w[a] - w_bot) == 0.0:
            neutral[j] = a
            key[j] = -w[a]
            j += 1
    neutral = neutral[stable_argsort(key)]
    for j in range(n_neutral):
        if k >= m:
            break
        out[k] = neutral[j]
        k += 1
    return k


@njit
def _lex_less(stack, d, best_items):
    """Whether the list ``stack[d], stack[d-1], ..., stack[0]`` (top first) comes before
    ``best_items`` (same length) in lexicographic order."""
    for j in range(d + 1):
        a = stack[d - j]
        if a != best_items[j]:
            return a < best_items[j]
    return False


@njit
def best_list_exhaustive(u_lo, u_hi, w, w_bot, m, out):
    """Exhaustive oracle: the list of 1 to ``m`` distinct items maximising :func:`eval_box`.

    Every one of the ``sum_{k<=m} N!/(N-k)!`` lists is evaluated (no pruning), by a
    depth-first enumeration that builds lists from the bottom up: the backward recursion of
    :func:`eval_box` makes the value of a list one step from the value of its suffix, so each
    list costs one step instead of ``k`` (the values are bit-identical to evaluating each list
    on its own). With ``u_lo = u_hi = u`` this is ``max_A f(A, u, w)``. Ties go to the
    longest list, then to the lexicographically first one (BestPerm too keeps items on ties,
    so both oracles show as many items as the tie allows, which matters for what a learner
    observes). Writes the list into ``out`` (``-1`` padded) and returns ``(value, k)``;
    ``O(N^m)`` time.
    """
    n_items = w.shape[0]
    stack = np.full(m, -1, np.int64)      # stack[d]: item at position k - 1 - d of a k-list
    vals = np.empty(m + 1)                # vals[d]: value of the suffix stack[d-1..0]
    used = np.zeros(n_items, np.bool_)
    best_items = np.full(m, -1, np.int64)
    vals[0] = w_bot
    best = -np.inf
    best_k = 0
    d = 0
    while d >= 0:
        if d == m - 1:
            # the last level (most lists): one flat scan over the free items
            v = vals[d]
            for a in range(n_items):
                if used[a]:
                    continue
                ui = u_hi[a] if w[a] >= v else u_lo[a]
                nv = v + ui * (w[a] - v)
                if nv >= best:
                    stack[d] = a
                    if nv > best or m > best_k or (m == best_k
                                                   and _lex_less(stack, d, best_items)):
                        best = nv
                        best_k = m
                        for j in range(m):
                            best_items[j] = stack[d - j]
            stack[d] = -1
            d -= 1
            continue
        prev = stack[d]
        if prev >= 0:
            used[prev] = False
        a = prev + 1
        while a < n_items and used[a]:
            a += 1
        if a == n_items:
            stack[d] = -1
            d -= 1
            continue
        stack[d] = a
        used[a] = True
        v = vals[d]
        ui = u_hi[a] if w[a] >= v else u_lo[a]
        nv = v + ui * (w[a] - v)
        k = d + 1
        if nv > best or (nv == best and (k > best_k
                                        or (k == best_k and _lex_less(stack, d, best_items)))):
            best = nv
            best_k = k
            for j in range(k):
                best_items[j] = stack[d - j]
        vals[k] = nv
        d = k
    for j in range(out.shape[0]):
        out[j] = best_items[j] if j < best_k else -1
    return best, best_k


@njit
def list_length(items):
    k = 0
    for j in range(items.shape[0]):
        if items[j] < 0:
            break
        k += 1
    return k


@njit
def _weights(r, p, v_next, s, w):
    """``w[a] = r[s, a] + p[s, a] . v_next`` for items, and ``w[N] = p[s, N] . v_next``."""
    n_items = r.shape[1]
    n_states = v_next.shape[0]
    for a in range(n_items + 1):
        acc = 0.0
        for t in range(n_states):
            acc += p[s, a, t] * v_next[t]
        w[a] = acc + (r[s, a] if a < n_items else 0.0)


# The oracle a planner uses, as a static code: a tuple whose length Numba reads when compiling,
# so a kernel that takes it compiles the oracle it names and not the other (the exhaustive
# one is used only by CascadingVI-Oracle and by ``value_iteration(oracle="exhaustive")``).
BESTPERM = ()
EXHAUSTIVE = (0,)


@njit
def best_list(oracle, u_lo, u_hi, w, w_bot, m, out):
    """The best list for the attraction box ``[u_lo, u_hi]`` by ``oracle`` (:data:`BESTPERM`:
    :func:`best_perm_kernel` on ``u_hi``; :data:`EXHAUSTIVE`: :func:`best_list_exhaustive`).
    Writes it into ``out`` and returns ``(value, k)``."""
    if len(oracle) == 1:
        return best_list_exhaustive(u_lo, u_hi, w, w_bot, m, out)
    return best_perm_kernel(u_hi, w, w_bot, m, u_lo, out)


@njit
def value_iteration_kernel(q, r, p, horizon, m, oracle):
    """Backward induction with the oracle ``oracle`` (:data:`BESTPERM` or :data:`EXHAUSTIVE`).

    Returns ``(V, policy)``: optimal values ``float64[H + 1, S]`` and an optimal policy
    ``int64[H, S, m]``.
    """
    n_states, n_items = q.shape
    v = np.zeros((horizon + 1, n_states))
    policy = np.full((horizon, n_states, m), -1, np.int64)
    w = np.empty(n_items + 1)
    for h in range(horizon - 1, -1, -1):
        for s in range(n_states):
            _weights(r, p, v[h + 1], s, w)
            v[h, s] = best_list(oracle, q[s], q[s], w[:n_items], w[n_items], m, policy[h, s])[0]
    return v, policy


@njit
def policy_evaluation_kernel(q, r, p, policy):
    """Values ``float64[H + 1, S]`` of the deterministic policy ``int64[H, S, m]``."""
    horizon, n_states, _ = policy.shape
    n_items = q.shape[1]
    v = np.zeros((horizon + 1, n_states))
    w = np.empty(n_items + 1)
    for h in range(horizon - 1, -1, -1):
        for s in range(n_states):
            _weights(r, p, v[h + 1], s, w)
            items = policy[h, s]
            v[h, s] = list_value(items, list_length(items), q[s], w[:n_items], w[n_items])
    return v
