"""Numba kernels of the single-pass streaming algorithms and the ``STREAMING`` loop.

Each algorithm is one ``explore(params, env, st, env_rng, rng) -> arm`` kernel registered for
its own ``Params`` type; it drives the environment's kernels
(:func:`~banditlab.envs.streaming.stream_read`, :func:`~banditlab.envs.streaming.stream_pull`,
:func:`~banditlab.envs.streaming.stream_discard`) on the environment's state arrays, so the
memory model, the horizon and the regret are accounted for once, by the environment.
:func:`run_stream` is the one loop of the protocol: explore, then commit what is left.
Constants and quirks are documented in :mod:`banditlab.streaming.algorithms`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from banditlab._jit import njit
from banditlab.envs.streaming import (
    C_ERR,
    C_PULLS,
    stream_discard,
    stream_pull,
    stream_pull_charged,
    stream_read,
    stream_remaining,
)
from banditlab.protocols import call_explore

__all__ = [
    "GameOfArmsParams",
    "LevelParams",
    "NaiveParams",
    "UEParams",
    "default_eps",
    "explore_game_of_arms",
    "explore_level",
    "explore_naive",
    "explore_ue",
    "level_schedule",
    "run_stream",
]

# level schedules
LOG, LOGLOG, LOGSTAR = 0, 1, 2


class UEParams(NamedTuple):
    """Uniform exploration has no hyperparameter."""


class NaiveParams(NamedTuple):
    """NAIVE: the accuracy (``<= 0``: the default ``(K/T)^(1/3)``)."""

    eps: float


class GameOfArmsParams(NamedTuple):
    """Game of Arms: accuracy and whether a new king is re-estimated with the true gap (Q1).

    ``budget_scale`` is a test-only hook, not a constructor argument: it multiplies the
    challenger budget (initial ``1.2/eps^2``, ``1/eps^2`` added per arrival) and nothing else.
    The faithful default 1.0 leaves every run bit-identical; ``tests/test_theory_mutations.py``
    sets it with ``params._replace(budget_scale=10.0)`` to check that the theory checks catch a
    budget 10 times too large.
    """

    eps: float
    oracle_gap: int
    budget_scale: float = 1.0


class LevelParams(NamedTuple):
    """Level algorithms: accuracy, schedule (LOG, LOGLOG or LOGSTAR), legacy accounting."""

    eps: float
    schedule: int
    legacy: int


@njit
def default_eps(n_arms, horizon):
    """``min(1, (K/T)^(1/3))``."""
    e = (n_arms / horizon) ** (1.0 / 3.0)
    return 1.0 if e > 1.0 else e


@njit
def _eps(params, env):
    if params.eps > 0.0:
        return params.eps
    return default_eps(env.means.shape[0], env.horizon)


@njit
def _batch(x, remaining):
    """``ceil(x)`` pulls, at least 1, at most ``remaining`` (x may be huge or inf)."""
    if x >= float(remaining):
        return remaining
    b = np.int64(math.ceil(x))
    if b < 1:
        b = 1
    return b if b < remaining else remaining


@njit
def _single_pass_max(env, st, rng, per_arm):
    """UE / NAIVE exploration: ``ceil(per_arm)`` pulls per arm, keep the best; the king.

    Reading stops when a full batch no longer fits in the horizon (spec 2.1 line 4).
    """
    b = _batch(per_arm, env.horizon)
    king = 0
    best = stream_pull(env, st, 0, _batch(per_arm, stream_remaining(env, st)), rng)
    while stream_remaining(env, st) >= b:
        h = stream_read(env, st)
        if h < 0:
            break
        x = stream_pull(env, st, h, b, rng)
        if x > best:
            stream_discard(env, st, king)
            king = h
            best = x
        else:
            stream_discard(env, st, h)
    return king


@njit
def explore_game_of_arms(params, env, st, env_rng, rng):
    """King-challenger with budgets plus the side procedure (spec 2.4(b)); the arm to commit.

    When a challenger survives all ``L`` levels the author code raises an error; here it is
    crowned with its last (largest-sample) estimate as the king's value [PROPOSED].
    """
    k = env.means.shape[0]
    eps = _eps(params, env)
    inv = 1.0 / (eps * eps)
    full_cap = 10.0 * k * inv
    b0 = 1.2 * inv
    bud0 = b0 * params.budget_scale       # the budget's constants (x 1.0 unless mutated)
    b_inc = inv * params.budget_scale
    lnk = math.log(k) if k > 1 else 0.0
    n_lev = 1
    if lnk > 1.0:
        n_lev = max(1, math.floor(10.0 * math.log(lnk)))
    n_frac = max(1.0, lnk * inv)
    p_frac = 1.0 if lnk <= 1.5 else 1.5 / lnk
    king = 0
    frac = 0
    budget = bud0
    king_est = eps / 2.0
    full = 0
    frac_est = stream_pull(env, st, 0, _batch(n_frac, stream_remaining(env, st)), env_rng)
    while stream_remaining(env, st) > 0:
        c = stream_read(env, st)
        if c < 0:
            break
        if full <= full_cap:
            budget += b_inc
            outcome = 2          # 0: lost, 1: crowned, 2: survived all levels, 3: out of pulls
            y = 0.0
            for lev in range(n_lev):
                if stream_remaining(env, st) == 0:
                    outcome = 3
                    break
                s = (2.0 ** lev) * inv
                if budget < s:
                    n = _batch(b0, stream_remaining(env, st))
                    x = stream_pull(env, st, c, n, env_rng)
                    full += n
                    if params.oracle_gap == 1:
                        x = min(max(x, king_est + env.gap / 2.0), 1.0)
                    old = king
                    king = c
                    king_est = x
                    budget = bud0
                    if old != frac:
                        stream_discard(env, st, old)
                    outcome = 1
                    break
                n = _batch(s, stream_remaining(env, st))
                y = stream_pull(env, st, c, n, env_rng)
                full += n
                budget -= s
                if king_est - eps / 5.0 >= y:
                    outcome = 0
                    break
            if outcome == 2:
                old = king
                king = c
                king_est = y
                budget = bud0
                if old != frac:
                    stream_discard(env, st, old)
        if stream_remaining(env, st) > 0 and rng.random() < p_frac:
            z = stream_pull(env, st, c, _batch(n_frac, stream_remaining(env, st)), env_rng)
            if z > frac_est:
                old = frac
                frac = c
                frac_est = z
                if old != king:
                    stream_discard(env, st, old)
        if c != king and c != frac:
            stream_discard(env, st, c)
    return king if full <= full_cap else frac


@njit
def level_schedule(schedule, n_arms, eps):
    """Per-level batch sizes and pull caps ``(batch float64[L], cap float64[L])`` (spec 2.5(b)).

    The top level never promotes (its cap is ``inf``). Values may exceed any horizon; pulls
    are truncated to what is left.
    """
    inv = 1.0 / (eps * eps)
    lnk = math.log(n_arms) if n_arms > 1 else 0.0
    if schedule == LOG:
        n_lev = max(1, math.floor(lnk))
    elif schedule == LOGLOG:
        n_lev = 1
        if lnk > 1.0:
            n_lev = max(1, math.floor(math.log(lnk)) + 1)
    else:
        n_lev = 1
        v = float(n_arms)
        while True:
            v = math.log(v) if v > 0.0 else -1.0
            n_lev += 1
            if v < 1.0:
                break
    batch = np.empty(n_lev)
    cap = np.empty(n_lev)
    if schedule == LOGSTAR:
        r_prev = 0.0
        r = 2.0
        for lev in range(n_lev):
            if lev == 0:
                batch[0] = math.ceil(inv)
                cap[0] = math.ceil(4.0 * inv)
            else:
                x = r * inv
                batch[lev] = 1e20 if x >= 1e20 else math.ceil(x)
                expo = r - r_prev          # arms examined before promotion: 2^(R_l - R_{l-1})
                cap[lev] = math.ceil((2.0 ** expo) * batch[lev]) if expo < 60.0 \
                    else 1e10 * batch[lev]
            r_prev = r
            r = 2.0 ** r if r < 1000.0 else np.inf
    else:
        mult = 6.0 if schedule == LOG else 10.0
        for lev in range(n_lev):
            batch[lev] = math.ceil((1.2 ** lev) * inv)
            cap[lev] = math.ceil(mult * batch[lev])
        if schedule == LOGLOG:
            batch[n_lev - 1] = math.ceil(max(1.0, lnk) * inv)
    cap[n_lev - 1] = np.inf
    return batch, cap


@njit
def _levels(params, env, st, env_rng):
    """Level algorithm (spec 2.5(b), clean version); the arm to commit.

    An arm entering level ``l`` gets ``batch[l]`` pulls and is compared with the level's king
    (the loser is discarded). When the pulls spent at level ``l`` reach ``cap[l]`` the king is
    promoted to level ``l + 1`` and level ``l`` is emptied. At the end of the stream every
    remaining king gets ``batch[0]`` fresh pulls (if the horizon allows) and the best is
    committed; without enough pulls left, the king of the highest occupied level is committed.
    With ``params.legacy`` the author code's rules run instead (:func:`_levels_legacy`).
    """
    if params.legacy == 1:
        return _levels_legacy(params, env, st, env_rng)
    eps = _eps(params, env)
    batch, cap = level_schedule(params.schedule, env.means.shape[0], eps)
    n_lev = batch.shape[0]
    kings = np.full(n_lev, -1, np.int64)
    vals = np.zeros(n_lev)
    spent = np.zeros(n_lev)
    a = 0
    while True:
        lev = 0
        while stream_remaining(env, st) > 0 and st.counters[C_ERR] == 0:
            n = _batch(batch[lev], stream_remaining(env, st))
            if kings[lev] < 0:
                x = stream_pull(env, st, a, n, env_rng)
                kings[lev] = a
                vals[lev] = x
            else:
                x = stream_pull(env, st, a, n, env_rng)
                if x > vals[lev]:
                    stream_discard(env, st, kings[lev])
                    kings[lev] = a
                    vals[lev] = x
                else:
                    stream_discard(env, st, a)
            spent[lev] += n
            if lev < n_lev - 1 and spent[lev] >= cap[lev] and stream_remaining(env, st) > 0:
                a = kings[lev]
                kings[lev] = -1
                spent[lev] = 0.0
                lev += 1
            else:
                break
        if stream_remaining(env, st) == 0:
            break
        a = stream_read(env, st)
        if a < 0:
            break
    return _final_choice(env, st, env_rng, kings, batch[0], 0)


@njit
def _legacy_carry_up(env, st, env_rng, p, lev, kings, vals, spent, batch, cap):
    """Legacy promotion above level 0 (quirk Q5): arm ``p`` has just left level ``lev - 1``.

    * level ``lev`` is empty: ``p`` becomes its king after a refresh batch that counts neither
      against the horizon nor toward the level's count (quirk Q4);
    * the level's count is strictly above its cap: the king and ``p`` each get a fresh batch
      (uncounted, each charged at its own mean), the better goes one level up (ties: ``p``),
      the level is emptied and the loser discarded (quirk Q5);
    * otherwise ``p`` is pulled (counted, charged at the king's mean: quirk Q2) and compared
      with the level's value, the loser is discarded.
    """
    n_lev = batch.shape[0]
    while True:
        if kings[lev] < 0:
            n = _batch(batch[lev], env.horizon)
            vals[lev] = stream_pull_charged(env, st, p, n, p, 0, env_rng)
            kings[lev] = p
            return
        if lev < n_lev - 1 and spent[lev] > cap[lev]:
            n = _batch(batch[lev], env.horizon)
            k = kings[lev]
            xk = stream_pull_charged(env, st, k, n, k, 0, env_rng)
            xp = stream_pull_charged(env, st, p, n, p, 0, env_rng)
            if xk > xp:
                stream_discard(env, st, p)
                p = k
            else:
                stream_discard(env, st, k)
            kings[lev] = -1
            spent[lev] = 0.0
            lev += 1
            continue
        n = _batch(batch[lev], stream_remaining(env, st))
        x = stream_pull_charged(env, st, p, n, kings[lev], 1, env_rng)
        if x > vals[lev]:
            stream_discard(env, st, kings[lev])
            kings[lev] = p
            vals[lev] = x
        else:
            stream_discard(env, st, p)
        spent[lev] += batch[lev]
        return


@njit
def _levels_legacy(params, env, st, env_rng):
    """Level algorithm with the author code's rules (``legacy_accounting``); the arm to commit.

    See :class:`banditlab.streaming.LevelAlgorithm` for quirks Q2-Q6. Level counts are in
    the author code's units: the schedule's batch per counted arrival, except at level 0 of
    ``log*``, whose batch ``1/eps^2`` and cap ``4/eps^2`` the author code does not round
    (the pulls themselves are rounded up, as everywhere).
    """
    eps = _eps(params, env)
    batch, cap = level_schedule(params.schedule, env.means.shape[0], eps)
    n_lev = batch.shape[0]
    unit0 = batch[0]
    cap0 = cap[0]
    if params.schedule == LOGSTAR:
        unit0 = 1.0 / (eps * eps)
        cap0 = 4.0 * unit0
    kings = np.full(n_lev, -1, np.int64)
    vals = np.zeros(n_lev)      # level 0's value is a threshold that only ever rises (Q6)
    spent = np.zeros(n_lev)
    a = 0
    while st.counters[C_ERR] == 0:
        n = _batch(batch[0], stream_remaining(env, st))
        if kings[0] < 0:
            x = stream_pull(env, st, a, n, env_rng)
            kings[0] = a
            if x > vals[0]:
                vals[0] = x
        else:
            x = stream_pull_charged(env, st, a, n, kings[0], 1, env_rng)
            if x > vals[0]:
                stream_discard(env, st, kings[0])
                kings[0] = a
                vals[0] = x
            else:
                stream_discard(env, st, a)
        spent[0] += unit0
        if stream_remaining(env, st) == 0:
            break
        # Q5: an overflow (count above the cap) is handled before the next arm is read
        if n_lev > 1 and spent[0] > cap0:
            p = kings[0]
            kings[0] = -1
            spent[0] = 0.0
            _legacy_carry_up(env, st, env_rng, p, 1, kings, vals, spent, batch, cap)
            if stream_remaining(env, st) == 0:
                break
        a = stream_read(env, st)
        if a < 0:
            break
    return _final_choice(env, st, env_rng, kings, batch[0], 1)


@njit
def _final_choice(env, st, env_rng, kings, batch0, legacy):
    """End of the level algorithms: the arm to commit among the remaining level kings.

    Every king gets ``batch0`` fresh pulls if the horizon allows it for all of them (else the
    king of the highest occupied level is returned); the best is chosen, or under ``legacy``
    the highest level whose fresh mean is > 0 (quirk Q3).
    """
    n_lev = kings.shape[0]
    n_occ = 0
    top = -1
    for lev in range(n_lev):
        if kings[lev] >= 0:
            n_occ += 1
            top = lev
    if n_occ <= 1 or st.counters[C_ERR] != 0:
        return kings[top] if top >= 0 else 0
    if float(stream_remaining(env, st)) < n_occ * batch0:
        return kings[top]
    nb = np.int64(batch0)
    best = -1.0
    choice = kings[top]
    for lev in range(n_lev):
        if kings[lev] >= 0:
            x = stream_pull(env, st, kings[lev], nb, env_rng)
            if legacy == 1:
                if x > 0.0:
                    choice = kings[lev]      # Q3: the last (highest) level with a mean > 0
            elif x > best:
                best = x
                choice = kings[lev]
    return choice


@njit
def explore_ue(params, env, st, env_rng, rng):
    """UE: ``ceil((T/K)^(2/3) (ln T)^(1/3))`` pulls per arm, keep the best; the arm to commit."""
    k = env.means.shape[0]
    t = env.horizon
    per_arm = (t / k) ** (2.0 / 3.0) * math.log(t) ** (1.0 / 3.0)
    return _single_pass_max(env, st, env_rng, per_arm)


@njit
def explore_naive(params, env, st, env_rng, rng):
    """NAIVE: ``ceil(ln K / eps^2)`` pulls per arm, keep the best; the arm to commit."""
    eps = _eps(params, env)
    per_arm = math.log(env.means.shape[0]) / (eps * eps)
    return _single_pass_max(env, st, env_rng, per_arm)


@njit
def explore_level(params, env, st, env_rng, rng):
    """Level algorithm (see :func:`_levels`); the arm to commit."""
    return _levels(params, env, st, env_rng)


@njit
def run_stream(params, env, st, env_rng, rng):
    """The ``STREAMING`` loop: explore with the algorithm's kernel, then commit every
    remaining pull to the arm it returns.

    Returns ``(committed_arm, exploration_pulls)``. All accounting is in ``st``.
    """
    king = call_explore(params, env, st, env_rng, rng)
    explore = st.counters[C_PULLS]
    rem = stream_remaining(env, st)
    if rem > 0:
        stream_pull(env, st, king, rem, env_rng)
    return king, explore
