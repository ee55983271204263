"""Numba kernels of cascading reinforcement learning (Du, Srikant & Chen, ICLR 2024).

Every hot loop of the cascading system lives in this one file: the one-step list value, the
BestPerm oracle, the exhaustive oracle, backward induction (value iteration and policy
evaluation), the simulator step, the kernels of the learning agents (CascadingVI and its
ablations, AdaptVI) and the episodic trajectory loops.

Conventions (all arrays C-contiguous):

* ``q``: attraction probabilities, ``float64[S, N]``; ``r``: click rewards, ``float64[S, N]``;
  ``p``: transitions, ``float64[S, N + 1, S]`` where row ``N`` is the no-click outcome ``a_⊥``.
* A *list* is ``int64[m]``: item ids top to bottom, then ``-1`` padding; ``k`` is its length.
* A deterministic policy is ``int64[H, S, m]`` (a list per step and state).
* Values are ``float64[H + 1, S]`` with ``V[H] = 0``.

The agents follow an episodic protocol (see :mod:`banditlab.cascading`): ``plan(params, state,
episode)`` fills the agent's policy and returns optimistic and pessimistic values at the
initial state; ``update(params, state, h, s, items, k, position, s_next, reward)`` consumes the
feedback of one step (``position = -1`` when nothing was clicked; attraction outcomes are
observed only up to the click). The loops :func:`run_episodes_kernel` and
:func:`run_bpi_kernel` are written once and reach each agent's kernels through the
compile-time dispatch stubs :func:`agent_plan` / :func:`agent_update`, resolved by the type of
``params``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import overload

from banditlab._jit import njit
from banditlab.kernels.common import categorical

__all__ = [
    "AdaptVIParams",
    "AdaptVIState",
    "CascadeArrays",
    "CascadingVIParams",
    "CascadingVIState",
    "adaptvi_plan",
    "adaptvi_update",
    "agent_plan",
    "agent_update",
    "best_list_exhaustive",
    "best_perm_kernel",
    "cascade_step",
    "cvi_plan",
    "cvi_update",
    "eval_box",
    "list_value",
    "list_value_forward",
    "policy_evaluation_kernel",
    "run_bpi_kernel",
    "run_episodes_kernel",
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
    cand = cand[np.argsort(key, kind="mergesort")]
    for i in range(n_cand):
        key[i] = -w[cand[i]]
    cand = cand[np.argsort(key, kind="mergesort")]
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
    neutral = neutral[np.argsort(key, kind="mergesort")]
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
def _list_length(items):
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


@njit
def value_iteration_kernel(q, r, p, horizon, m, use_exhaustive):
    """Backward induction with BestPerm (or the exhaustive oracle when ``use_exhaustive``).

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
            if use_exhaustive:
                val, _ = best_list_exhaustive(q[s], q[s], w[:n_items], w[n_items], m,
                                              policy[h, s])
            else:
                val, _ = best_perm_kernel(q[s], w[:n_items], w[n_items], m, q[s], policy[h, s])
            v[h, s] = val
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
            v[h, s] = list_value(items, _list_length(items), q[s], w[:n_items], w[n_items])
    return v


# ---------------------------------------------------------------------------------------------
# Agents: CascadingVI (and its ablations / the BPI planner) and AdaptVI
# ---------------------------------------------------------------------------------------------
class CascadingVIParams(NamedTuple):
    """Hyperparameters of CascadingVI, its ablations and CascadingBPI."""

    log_term: float        # L (constant part of the log term)
    anytime: bool          # True: L_k = log_term + log(k (k + 1)) at episode k (BPI)
    bernstein: bool        # True: variance-aware bonuses; False: Hoeffding (CascadingVI-Bonus)
    exhaustive: bool       # True: exhaustive oracle (CascadingVI-Oracle); False: BestPerm
    bonus_scale: float     # multiplies every bonus (1 = the specified constants)


class CascadingVIState(NamedTuple):
    """Statistics (shared across steps: the model is stationary) and the current plan."""

    n_q: np.ndarray        # int64[S, N]        attraction observations
    clicks: np.ndarray     # float64[S, N]      attraction successes
    n_p: np.ndarray        # int64[S, N+1]      transitions observed from (s, a) / (s, a_⊥)
    trans: np.ndarray      # float64[S, N+1, S] next-state counts
    r_hat: np.ndarray      # float64[S, N]      rewards (given, or learned at the first click)
    r_seen: np.ndarray     # bool[S, N]         whether r_hat[s, a] is known
    v_up: np.ndarray       # float64[H+1, S]    optimistic values of the last plan
    v_low: np.ndarray      # float64[H+1, S]    pessimistic values of the last plan
    policy: np.ndarray     # int64[H, S, m]     lists of the last plan
    s1: int                # initial state (where the planned values are reported)


@njit
def _cvi_log(params, episode):
    if params.anytime:
        k = episode + 1.0
        return params.log_term + np.log(k * (k + 1.0))
    return params.log_term


@njit
def cvi_plan(params, state, episode):
    """Optimistic / pessimistic backward induction of CascadingVI (one plan per episode).

    Fills ``state.v_up``, ``state.v_low`` and ``state.policy`` in place and returns
    ``(v_up[0, s1], v_low[0, s1])``.
    """
    n_states, n_items = state.n_q.shape
    horizon, _, m = state.policy.shape
    big_l = _cvi_log(params, episode)
    scale = params.bonus_scale
    q_up = np.empty((n_states, n_items))
    q_low = np.empty((n_states, n_items))
    for s in range(n_states):
        for a in range(n_items):
            n = state.n_q[s, a]
            if n == 0:
                q_up[s, a] = 1.0
                q_low[s, a] = 0.0
                continue
            qh = state.clicks[s, a] / n
            if params.bernstein:
                b = 2.0 * np.sqrt(qh * (1.0 - qh) * big_l / n) + 5.0 * big_l / n
            else:
                b = 2.0 * np.sqrt(big_l / n)
            b *= scale
            q_up[s, a] = min(1.0, qh + b)
            q_low[s, a] = max(0.0, qh - b)
    v_up = state.v_up
    v_low = state.v_low
    v_up[horizon, :] = 0.0
    v_low[horizon, :] = 0.0
    w_up = np.empty(n_items + 1)
    w_low = np.empty(n_items + 1)
    for h in range(horizon - 1, -1, -1):
        cap = float(horizon - h)              # largest possible value from step h on
        for s in range(n_states):
            for a in range(n_items + 1):
                n = state.n_p[s, a]
                if a < n_items:
                    if state.r_seen[s, a]:
                        r_up = state.r_hat[s, a]
                        r_low = r_up
                    else:
                        r_up = 1.0
                        r_low = 0.0
                else:
                    r_up = 0.0
                    r_low = 0.0
                if n == 0:
                    w_up[a] = cap
                    w_low[a] = 0.0
                    continue
                m_up = 0.0
                m_low = 0.0
                sq_up = 0.0
                gap2 = 0.0
                for t in range(n_states):
                    c = state.trans[s, a, t]
                    if c > 0.0:
                        ph = c / n
                        m_up += ph * v_up[h + 1, t]
                        m_low += ph * v_low[h + 1, t]
                        sq_up += ph * v_up[h + 1, t] ** 2
                        d = v_up[h + 1, t] - v_low[h + 1, t]
                        gap2 += ph * d * d
                if params.bernstein:
                    var = max(0.0, sq_up - m_up * m_up)
                    b = (2.0 * np.sqrt(var * big_l / n) + 2.0 * np.sqrt(gap2 * big_l / n)
                         + 5.0 * cap * big_l / n)
                else:
                    b = 2.0 * cap * np.sqrt(big_l / n)
                b *= scale
                w_up[a] = min(cap, r_up + m_up + b)
                w_low[a] = max(0.0, r_low + m_low - b)
            out = state.policy[h, s]
            if params.exhaustive:
                val, k = best_list_exhaustive(q_low[s], q_up[s], w_up[:n_items], w_up[n_items],
                                              m, out)
            else:
                val, k = best_perm_kernel(q_up[s], w_up[:n_items], w_up[n_items], m, q_low[s],
                                          out)
            v_up[h, s] = val
            v_low[h, s] = eval_box(out, k, q_low[s], q_up[s], w_low[:n_items], w_low[n_items],
                                   False)
    return v_up[0, state.s1], v_low[0, state.s1]


@njit
def cvi_update(params, state, h, s, items, k, pos, s_next, reward):
    """Consume one step's feedback: attraction outcomes up to the click, the transition and
    (if unknown) the reward of the clicked item."""
    n_items = state.n_q.shape[1]
    n_seen = pos + 1 if pos >= 0 else k
    for j in range(n_seen):
        a = items[j]
        state.n_q[s, a] += 1
        if j == pos:
            state.clicks[s, a] += 1.0
    a = items[pos] if pos >= 0 else n_items
    state.n_p[s, a] += 1
    state.trans[s, a, s_next] += 1.0
    if pos >= 0 and not state.r_seen[s, a]:
        state.r_hat[s, a] = reward
        state.r_seen[s, a] = True
    return state


class AdaptVIParams(NamedTuple):
    """Hyperparameters of AdaptVI (UCBVI with lists as atomic actions)."""

    log_term: float        # L
    bonus_scale: float     # c in the bonus c * cap * sqrt(L / n)


class AdaptVIState(NamedTuple):
    """Per (state, list) statistics; item-level feedback is ignored."""

    lists: np.ndarray      # int64[n_lists, m]
    lengths: np.ndarray    # int64[n_lists]
    n: np.ndarray          # int64[S, n_lists]      plays of list A at s
    r_sum: np.ndarray      # float64[S, n_lists]    summed rewards
    trans: np.ndarray      # float64[S, n_lists, S] next-state counts
    v_up: np.ndarray       # float64[H+1, S]
    choice: np.ndarray     # int64[H, S]            list index of the plan
    policy: np.ndarray     # int64[H, S, m]
    s1: int


@njit
def adaptvi_plan(params, state, episode):
    """UCBVI backup over atomic lists; unplayed (s, A) get the cap (first such list wins).

    Returns ``(v_up[0, s1], nan)``: AdaptVI keeps no pessimistic value.
    """
    n_states, n_lists = state.n.shape
    horizon, _, m = state.policy.shape
    big_l = params.log_term
    v_up = state.v_up
    v_up[horizon, :] = 0.0
    for h in range(horizon - 1, -1, -1):
        cap = float(horizon - h)
        for s in range(n_states):
            best = -np.inf
            best_i = 0
            for i in range(n_lists):
                n = state.n[s, i]
                if n == 0:
                    val = cap
                else:
                    acc = 0.0
                    for t in range(n_states):
                        c = state.trans[s, i, t]
                        if c > 0.0:
                            acc += c * v_up[h + 1, t]
                    val = (state.r_sum[s, i] + acc) / n
                    val += params.bonus_scale * cap * np.sqrt(big_l / n)
                    val = min(cap, val)
                if val > best:
                    best = val
                    best_i = i
                    if val >= cap:
                        break
            v_up[h, s] = best
            state.choice[h, s] = best_i
            for j in range(m):
                state.policy[h, s, j] = state.lists[best_i, j]
    return v_up[0, state.s1], np.nan


@njit
def adaptvi_update(params, state, h, s, items, k, pos, s_next, reward):
    """Record the reward and next state of the list played at (h, s)."""
    i = state.choice[h, s]
    state.n[s, i] += 1
    state.r_sum[s, i] += reward
    state.trans[s, i, s_next] += 1.0
    return state


# ---------------------------------------------------------------------------------------------
# Compile-time dispatch from the Params type to the agent's kernels
# ---------------------------------------------------------------------------------------------
_AGENT_KERNELS = {
    CascadingVIParams: (cvi_plan, cvi_update),
    AdaptVIParams: (adaptvi_plan, adaptvi_update),
}


def _agent_kernel(params_type, index):
    cls = getattr(params_type, "instance_class", params_type)
    if cls not in _AGENT_KERNELS:
        raise TypeError(f"no cascading agent kernels registered for params type {params_type}")
    return _AGENT_KERNELS[cls][index]


def agent_plan(params, state, episode):
    """Dispatch to the ``plan`` kernel of ``type(params)`` (pure-Python body for no-JIT)."""
    return _agent_kernel(type(params), 0)(params, state, episode)


def agent_update(params, state, h, s, items, k, pos, s_next, reward):
    """Dispatch to the ``update`` kernel of ``type(params)`` (pure-Python body for no-JIT)."""
    return _agent_kernel(type(params), 1)(params, state, h, s, items, k, pos, s_next, reward)


@overload(agent_plan)
def _ov_plan(params, state, episode):
    kernel = _agent_kernel(params, 0)
    return lambda params, state, episode: kernel(params, state, episode)


@overload(agent_update)
def _ov_update(params, state, h, s, items, k, pos, s_next, reward):
    kernel = _agent_kernel(params, 1)
    return lambda params, state, h, s, items, k, pos, s_next, reward: kernel(
        params, state, h, s, items, k, pos, s_next, reward)


# ---------------------------------------------------------------------------------------------
# Episodic loops (one per objective; no algorithm logic inside)
# ---------------------------------------------------------------------------------------------
@njit
def _play_episode(params, state, env, policy, env_rng):
    s = env.s1
    total = 0.0
    for h in range(env.horizon):
        items = policy[h, s]
        k = _list_length(items)
        pos, reward, s_next = cascade_step(env.q, env.r, env.p, s, items, k, env_rng)
        state = agent_update(params, state, h, s, items, k, pos, s_next, reward)
        total += reward
        s = s_next
    return state, total


@njit
def run_episodes_kernel(params, state, env, env_rng, n_episodes, first_episode):
    """Plan, evaluate and play ``n_episodes`` episodes (regret minimisation).

    Returns ``(values, upper, lower, returns, state)``, each ``float64[n_episodes]``: the exact
    value ``V^{π_k}_1(s1)`` of each played policy, the agent's optimistic and pessimistic
    values at ``s1`` and the realised return.
    """
    values = np.empty(n_episodes)
    upper = np.empty(n_episodes)
    lower = np.empty(n_episodes)
    returns = np.empty(n_episodes)
    for e in range(n_episodes):
        up, low = agent_plan(params, state, first_episode + e)
        policy = state.policy
        values[e] = policy_evaluation_kernel(env.q, env.r, env.p, policy)[0, env.s1]
        upper[e] = up
        lower[e] = low
        state, returns[e] = _play_episode(params, state, env, policy, env_rng)
    return values, upper, lower, returns, state


@njit
def run_bpi_kernel(params, state, env, env_rng, epsilon, max_episodes):
    """Best policy identification: plan; stop once ``upper - lower <= epsilon``; else play.

    Returns ``(n_played, stopped, upper, lower, policy, state)`` where ``policy`` is a copy
    of the last plan (the returned policy).
    """
    up = np.inf
    low = -np.inf
    for e in range(max_episodes + 1):
        up, low = agent_plan(params, state, e)
        if up - low <= epsilon:
            return e, True, up, low, state.policy.copy(), state
        if e == max_episodes:
            break
        state, _ = _play_episode(params, state, env, state.policy, env_rng)
    return max_episodes, False, up, low, state.policy.copy(), state
