"""Numba kernels of the cascading agents and the two episodic loops.

The agents follow the ``EPISODIC`` protocol (:mod:`banditlab.protocols`): ``plan(params,
state, episode)`` fills the agent's policy and returns optimistic and pessimistic values at the
initial state; ``update(params, state, h, s, items, k, position, s_next, reward)`` consumes the
feedback of one step (``position = -1`` when nothing was clicked; attraction outcomes are
observed only up to the click). The loops :func:`run_episodes_kernel` (``EPISODIC``) and
:func:`run_bpi_kernel` (``EPISODIC_BPI``) are written once and reach each agent's kernels
through the protocol dispatch (:func:`~banditlab.protocols.call_plan`,
:func:`~banditlab.protocols.call_update`), resolved by the type of ``params``. The model's
kernels (simulator step, oracles, backward induction) are in
:mod:`banditlab.envs.cascading_kernels`; array conventions are documented there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import overload

from banditlab._jit import njit
from banditlab.envs.cascading_kernels import (
    BESTPERM,
    EXHAUSTIVE,
    best_list,
    cascade_step,
    eval_box,
    list_length,
    policy_evaluation_kernel,
)
from banditlab.protocols import call_plan, call_update

__all__ = [
    "AdaptVIParams",
    "AdaptVIState",
    "CascadingVIOracleParams",
    "CascadingVIParams",
    "CascadingVIState",
    "adaptvi_plan",
    "adaptvi_update",
    "cvi_plan",
    "cvi_update",
    "run_bpi_kernel",
    "run_episodes_kernel",
]


# ---------------------------------------------------------------------------------------------
# Agents: CascadingVI (and its ablations / the BPI planner) and AdaptVI
# ---------------------------------------------------------------------------------------------
class CascadingVIParams(NamedTuple):
    """Hyperparameters of CascadingVI, its ablations and CascadingBPI.

    The two bonus flags are independent: CascadingVI sets neither, CascadingVI-Bonus (the
    paper's ablation) only ``hoeffding_attraction``, CascadingVI-BothHoeffding both.
    """

    log_term: float              # L (constant part of the log term)
    anytime: bool                # True: L_k = log_term + log(k (k + 1)) at episode k (BPI)
    hoeffding_attraction: bool   # True: b_q = 2 sqrt(L / n); False: variance-aware b_q
    hoeffding_transition: bool   # True: b_pV = 2 c_h sqrt(L / n); False: variance-aware b_pV
    exhaustive: bool             # True exactly in a CascadingVIOracleParams (see there)
    bonus_scale: float           # multiplies every bonus (1 = the specified constants)


class CascadingVIOracleParams(CascadingVIParams):
    """:class:`CascadingVIParams` of CascadingVI-Oracle (``exhaustive=True``).

    The planner's list oracle is chosen by the class of the params, which Numba reads when
    compiling: a plan compiled for :class:`CascadingVIParams` holds BestPerm only, one compiled
    for this class the exhaustive oracle only (the ``exhaustive`` field records the choice;
    the kernels, compiled or not, read the class). Params stay plain numbers.
    """

    __slots__ = ()


def oracle_of(params):
    """The static code of the list oracle of ``params``: ``EXHAUSTIVE`` for a
    :class:`CascadingVIOracleParams`, else ``BESTPERM``."""
    return EXHAUSTIVE if isinstance(params, CascadingVIOracleParams) else BESTPERM


@overload(oracle_of, inline="always")
def _oracle_of_compiled(params):
    code = (EXHAUSTIVE if getattr(params, "instance_class", None) is CascadingVIOracleParams
            else BESTPERM)
    return lambda params: code


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

    The attraction bonus ``b_q`` and the transition bonus ``b_pV`` are variance-aware
    (Bernstein) or Hoeffding according to ``params.hoeffding_attraction`` and
    ``params.hoeffding_transition``, independently. Fills ``state.v_up``, ``state.v_low``
    and ``state.policy`` in place and returns ``(v_up[0, s1], v_low[0, s1])``.
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
            if params.hoeffding_attraction:
                b = 2.0 * np.sqrt(big_l / n)
            else:
                b = 2.0 * np.sqrt(qh * (1.0 - qh) * big_l / n) + 5.0 * big_l / n
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
                if params.hoeffding_transition:
                    b = 2.0 * cap * np.sqrt(big_l / n)
                else:
                    var = max(0.0, sq_up - m_up * m_up)
                    b = (2.0 * np.sqrt(var * big_l / n) + 2.0 * np.sqrt(gap2 * big_l / n)
                         + 5.0 * cap * big_l / n)
                b *= scale
                w_up[a] = min(cap, r_up + m_up + b)
                w_low[a] = max(0.0, r_low + m_low - b)
            out = state.policy[h, s]
            val, k = best_list(oracle_of(params), q_low[s], q_up[s], w_up[:n_items],
                               w_up[n_items], m, out)
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
    """Hyperparameters of AdaptVI (UCBVI with lists as atomic actions) and AdaptBPI.

    AdaptVI sets neither ``anytime`` nor ``pessimistic``; AdaptBPI sets both.
    """

    log_term: float        # L (constant part of the log term)
    bonus_scale: float     # c in the bonus c * cap * sqrt(L / n)
    full_backup: bool      # True: scan every list; False: stop at the first list worth the cap
    anytime: bool          # True: L_k = log_term + log(k (k + 1)) at episode k (BPI)
    pessimistic: bool      # True: also compute the pessimistic value of the chosen lists (BPI)


class AdaptVIState(NamedTuple):
    """Per (state, list) statistics; item-level feedback is ignored."""

    lists: np.ndarray      # int64[n_lists, m]
    lengths: np.ndarray    # int64[n_lists]
    n: np.ndarray          # int64[S, n_lists]      plays of list A at s
    r_sum: np.ndarray      # float64[S, n_lists]    summed rewards
    trans: np.ndarray      # float64[S, n_lists, S] next-state counts
    v_up: np.ndarray       # float64[H+1, S]
    v_low: np.ndarray      # float64[H+1, S]        pessimistic values (AdaptBPI only)
    choice: np.ndarray     # int64[H, S]            list index of the plan
    policy: np.ndarray     # int64[H, S, m]
    s1: int


@njit
def adaptvi_plan(params, state, episode):
    """UCBVI backup over atomic lists; unplayed (s, A) get the cap (first such list wins).

    With ``params.full_backup`` every list is scanned at every (h, s) (``O(S |A|)`` per step
    plus ``O(S)`` per played list); otherwise the scan stops at the first list whose value
    reaches the cap ``c_h``. No later list can beat it (values are capped and ties keep the
    first list), so both give the same values and lists; only the running time differs.

    With ``params.pessimistic`` (AdaptBPI) the chosen list's pessimistic value
    ``V̲_h(s) = max(0, R̂ + P̂ᵀV̲_{h+1} - bonus)`` (0 if unplayed) is computed as well, and
    ``(v_up[0, s1], v_low[0, s1])`` is returned; otherwise ``(v_up[0, s1], nan)``: AdaptVI
    keeps no pessimistic value. ``params.anytime`` adds ``log(k (k + 1))`` to the log term
    at episode k, as CascadingBPI does.
    """
    n_states, n_lists = state.n.shape
    horizon, _, m = state.policy.shape
    big_l = _cvi_log(params, episode)
    stop_at_cap = not params.full_backup
    v_up = state.v_up
    v_low = state.v_low
    v_up[horizon, :] = 0.0
    if params.pessimistic:
        v_low[horizon, :] = 0.0
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
                    if stop_at_cap and val >= cap:
                        break
            v_up[h, s] = best
            state.choice[h, s] = best_i
            for j in range(m):
                state.policy[h, s, j] = state.lists[best_i, j]
            if params.pessimistic:
                v_low[h, s] = _adapt_lower(params, state, big_l, cap, h, s, best_i)
    if params.pessimistic:
        return v_up[0, state.s1], v_low[0, state.s1]
    return v_up[0, state.s1], np.nan


@njit
def _adapt_lower(params, state, big_l, cap, h, s, i):
    """Pessimistic value of list ``i`` at (h, s): the optimistic backup's mirror image on
    ``V̲_{h+1}``, floored at 0 (0 if the list was never played at s)."""
    n = state.n[s, i]
    if n == 0:
        return 0.0
    acc = 0.0
    for t in range(state.trans.shape[2]):
        c = state.trans[s, i, t]
        if c > 0.0:
            acc += c * state.v_low[h + 1, t]
    val = (state.r_sum[s, i] + acc) / n
    val -= params.bonus_scale * cap * np.sqrt(big_l / n)
    return max(0.0, val)


@njit
def adaptvi_update(params, state, h, s, items, k, pos, s_next, reward):
    """Record the reward and next state of the list played at (h, s)."""
    i = state.choice[h, s]
    state.n[s, i] += 1
    state.r_sum[s, i] += reward
    state.trans[s, i, s_next] += 1.0
    return state


# ---------------------------------------------------------------------------------------------
# Episodic loops (one per objective; no algorithm logic inside)
# ---------------------------------------------------------------------------------------------
@njit
def _play_episode(params, state, env, policy, env_rng):
    s = env.s1
    total = 0.0
    for h in range(env.horizon):
        items = policy[h, s]
        k = list_length(items)
        pos, reward, s_next = cascade_step(env.q, env.r, env.p, s, items, k, env_rng)
        state = call_update(params, state, h, s, items, k, pos, s_next, reward)
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
        up, low = call_plan(params, state, first_episode + e)
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
        up, low = call_plan(params, state, e)
        if up - low <= epsilon:
            return e, True, up, low, state.policy.copy(), state
        if e == max_episodes:
            break
        state, _ = _play_episode(params, state, env, state.policy, env_rng)
    return max_episodes, False, up, low, state.policy.copy(), state
