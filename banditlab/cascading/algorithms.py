"""Cascading reinforcement learning: BestPerm, value iteration and the learning agents.

This implements Du, Srikant & Chen, "Cascading Reinforcement Learning" (ICLR 2024): the
BestPerm oracle, backward induction with it, **CascadingVI** (regret minimisation with
variance-aware bonuses), **CascadingBPI** (best policy identification) and the paper's
baselines **CascadingVI-Oracle** (exhaustive search over lists), **CascadingVI-Bonus** (a
Hoeffding instead of a variance-aware bonus on the attraction probabilities only) and
**AdaptVI** (UCBVI with lists as atomic actions) and its best policy identification variant
**AdaptBPI** (the spec's assumed BPI baseline), plus an ablation the paper does not run,
**CascadingVI-BothHoeffding** (Hoeffding bonuses on the attraction probabilities and on the
transitions). All loops run in the Numba kernels of :mod:`banditlab.cascading.kernels` and
:mod:`banditlab.envs.cascading_kernels`; this module validates, allocates and delegates.

Episodic protocol (``EPISODIC``)
--------------------------------
The bandit protocols pick one arm per round; cascading RL plans a whole policy per episode.
An agent therefore exposes ``plan()`` (backward induction; returns the policy, a list per step
and state, and sets ``upper_value`` / ``lower_value`` at ``s1``), ``select(h, s)`` (the planned
list) and ``update(h, s, action, position, s_next, reward)`` (one step's feedback). Its
kernels are ``plan(params, state, episode)`` and ``update(params, state, h, s, items, k,
position, s_next, reward)``, reached from the single episodic loop by compile-time dispatch on
the ``Params`` type (see :mod:`banditlab.protocols`). :func:`run_episodes` runs the
loop (``engine='kernel'``) or the equivalent gymnasium loop (``engine='python'``) and records
the exact value of every played policy, hence the regret.

What the spec leaves open, and the choices made here (see each docstring):
the exact bonus constants and log terms (the spec's reconstructed ones are used, with
``bonus_scale`` to scale them), value caps use the remaining horizon ``H - h + 1`` instead of
``H`` (valid, since rewards are in [0, 1]), and CascadingBPI and AdaptBPI stop when the
optimistic and pessimistic values at ``s1`` are within ``epsilon``.

References
----------
Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024 (arXiv 2401.08961).
M. G. Azar, I. Osband, R. Munos. Minimax regret bounds for reinforcement learning. ICML 2017.
A. Zanette, E. Brunskill. Tighter problem-dependent regret bounds in reinforcement learning
without domain knowledge using value function bounds. ICML 2019.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from banditlab import limits
from banditlab._seeding import SeedLike, spawn_run_seeds
from banditlab._validation import Array, Boolean, Constraint, Integer, Options, Real, check_memory
from banditlab.agent import Agent
from banditlab.cascading.kernels import (
    AdaptVIParams,
    AdaptVIState,
    CascadingVIOracleParams,
    CascadingVIParams,
    CascadingVIState,
    adaptvi_plan,
    adaptvi_update,
    cvi_plan,
    cvi_update,
    run_bpi_kernel,
)
from banditlab.envs.cascading import CascadingMDP, check_list
from banditlab.envs.cascading_kernels import (
    BESTPERM,
    EXHAUSTIVE,
    best_list_exhaustive,
    best_perm_kernel,
    list_value,
    value_iteration_kernel,
)
from banditlab.errors import IncompatibleEnvError
from banditlab.protocols import EPISODIC, EPISODIC_BPI, Kernels, register_kernels

__all__ = [
    "AdaptBPI",
    "AdaptVI",
    "BPIResult",
    "CascadingAgent",
    "CascadingBPI",
    "CascadingVI",
    "CascadingVIBonus",
    "CascadingVIBothHoeffding",
    "CascadingVIOracle",
    "best_list_brute_force",
    "best_perm",
    "enumerate_lists",
    "evaluate_policy",
    "list_value_of",
    "value_iteration",
]



# -------------------------------------------------------------------------------------------
# Oracles and backward induction
# -------------------------------------------------------------------------------------------
def _vec(value: Any, name: str, owner: str, n: int | None = None, **spec: Any) -> np.ndarray:
    arr = Array(1, **spec).check(value, name, owner)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{owner}: '{name}' must be a 1-d array of floats of shape ({n},); "
                         f"got shape {arr.shape}.")
    return arr


def _oracle_inputs(u: Any, w: Any, w_bot: Any, m: Any, u_lo: Any, owner: str
                   ) -> tuple[np.ndarray, np.ndarray, float, int, np.ndarray]:
    """Validated ``(u, w, w_bot, m, u_lo)`` of the oracle fronts (``u_lo`` defaults to ``u``)."""
    u = _vec(u, "u", owner, low=0.0, high=1.0)
    n = u.shape[0]
    w = _vec(w, "w", owner, n)
    wb = float(Real().check(w_bot, "w_bot", owner))
    m = int(Integer(1, n).check(m, "m", owner))
    lo = u if u_lo is None else _vec(u_lo, "u_lo", owner, n, low=0.0, high=1.0)
    return u, w, wb, m, lo


def best_perm(u: Any, w: Any, w_bot: float, m: int, *, u_lo: Any = None
              ) -> tuple[float, np.ndarray]:
    """BestPerm: the best ordered list of at most ``m`` items, ``max_A f(A, u, w)``.

    ``f(A, u, w) = sum_i prod_{j<i}(1 - u(a_j)) u(a_i) w(a_i) + prod_j (1 - u(a_j)) w_bot``.
    Runs in ``O(N log N + N m)`` (Lemma 1 and 2 of Du et al. 2024): items with
    ``w <= w_bot`` are dropped, the rest sorted by decreasing ``w``, and a DP chooses which to
    keep. When no item beats ``w_bot`` the single item maximising ``u_lo (w - w_bot)`` is shown.

    Parameters
    ----------
    u : array-like of shape (N,)
        Attraction probabilities in [0, 1].
    w : array-like of shape (N,)
        Item weights (finite).
    w_bot : float
        Weight of the no-click outcome.
    m : int
        Longest list, in [1, N].
    u_lo : array-like of shape (N,), optional
        Lower attraction bounds used only when no item beats ``w_bot`` (defaults to ``u``).

    Returns
    -------
    value : float
    items : ndarray of int64, shape (k,)
        The list, top first.
    """
    u, w, wb, m, lo = _oracle_inputs(u, w, w_bot, m, u_lo, "best_perm")
    out = np.full(m, -1, np.int64)
    val, k = best_perm_kernel(u, w, wb, m, lo, out)
    return float(val), out[:k].copy()


def count_lists(n_items: int, list_size: int, cap: int = 2**62) -> int:
    """Ordered lists of 1 to ``list_size`` distinct items, ``sum_k perm(n_items, k)``, or
    ``cap`` once the count exceeds it (so huge sizes are refused without computing them)."""
    total, term = 0, 1
    for k in range(1, list_size + 1):
        term *= n_items - k + 1
        total += term
        if total > cap:
            return cap
    return total


def enumerate_lists(n_items: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """All ordered lists of 1 to ``m`` distinct items: ``(lists int64[n, m], lengths)``.

    Lists are ordered by length, then lexicographically; ``-1`` pads short lists.
    ``n = sum_{k=1}^{m} N! / (N - k)!``.
    """
    owner = "enumerate_lists"
    n_items = int(Integer(1, None).check(n_items, "n_items", owner))
    m = int(Integer(1, n_items).check(m, "m", owner))
    n = count_lists(n_items, m)
    check_memory(8.0 * n * (m + 1.0), f"n_items={n_items}, m={m} ({n:.3g} lists)", owner)
    lists = np.full((n, m), -1, np.int64)
    lengths = np.empty(n, np.int64)
    i = 0                       # filled in place: no Python list of all the lists at once
    for k in range(1, m + 1):
        for perm in itertools.permutations(range(n_items), k):
            lists[i, :k] = perm
            lengths[i] = k
            i += 1
    return lists, lengths


def best_list_brute_force(u: Any, w: Any, w_bot: float, m: int, *, u_lo: Any = None,
                          u_hi: Any = None) -> tuple[float, np.ndarray]:
    """Exhaustive oracle over all ``O(N^m)`` lists (the reference BestPerm is tested against).

    Without ``u_lo``/``u_hi`` it returns ``max_A f(A, u, w)``; with them, the largest value of
    any list over the box ``u_lo <= u <= u_hi`` (what CascadingVI-Oracle maximises).
    """
    owner = "best_list_brute_force"
    u, w, wb, m, lo = _oracle_inputs(u, w, w_bot, m, u_lo, owner)
    hi = u if u_hi is None else _vec(u_hi, "u_hi", owner, u.shape[0], low=0.0, high=1.0)
    out = np.full(m, -1, np.int64)
    val, k = best_list_exhaustive(lo, hi, w, wb, m, out)
    return float(val), out[:k].copy()


def list_value_of(items: Any, u: Any, w: Any, w_bot: float) -> float:
    """``f(A, u, w)`` of the list ``items`` (top first)."""
    owner = "list_value_of"
    u = _vec(u, "u", owner, low=0.0, high=1.0)
    w = _vec(w, "w", owner, u.shape[0])
    wb = float(Real().check(w_bot, "w_bot", owner))
    arr, k = check_list(items, u.shape[0], max(1, np.size(items)), owner)
    return float(list_value(arr, k, u, w, wb))


def _mdp_arrays(env: Any, owner: str) -> Any:
    base = getattr(env, "unwrapped", env)
    if not isinstance(base, CascadingMDP):
        raise TypeError(f"{owner}: 'env' must be a CascadingMDP; got {type(env).__name__}.")
    return base


def value_iteration(env: CascadingMDP, *, oracle: str = "bestperm"
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Optimal values and policy of a cascading MDP by backward induction.

    Parameters
    ----------
    env : CascadingMDP
    oracle : {'bestperm', 'exhaustive'}, default 'bestperm'
        How each step's best list is found: BestPerm in ``O(N m + N log N)`` per state, or
        exhaustive search over all lists in ``O(N^m)`` (the reference).

    Returns
    -------
    values : ndarray of float64, shape (H + 1, S)
    policy : ndarray of int64, shape (H, S, m)
        Lists, ``-1`` padded.
    """
    owner = "value_iteration"
    base = _mdp_arrays(env, owner)
    oracle = Options(("bestperm", "exhaustive")).check(oracle, "oracle", owner)
    a = base.kernel_arrays()
    return value_iteration_kernel(a.q, a.r, a.p, a.horizon, a.list_size,
                                  EXHAUSTIVE if oracle == "exhaustive" else BESTPERM)


def evaluate_policy(env: CascadingMDP, policy: Any) -> np.ndarray:
    """Values ``V^π_h(s)``, shape (H + 1, S), of a deterministic policy ``int[H, S, m]``."""
    base = _mdp_arrays(env, "evaluate_policy")
    return base.policy_values(policy)


# -------------------------------------------------------------------------------------------
# Agents
# -------------------------------------------------------------------------------------------
class CascadingAgent(Agent):
    """Base shell of the episodic cascading agents (validation, state, delegation).

    Usage (the gymnasium loop; :func:`run_episodes` does the same inside a kernel)::

        agent.reset(seed=0)
        for episode in range(K):
            agent.plan()
            s, _ = env.reset()
            for h in range(env.horizon):
                action = agent.select(h, s)
                s_next, reward, _, _, info = env.step(action)
                agent.update(h, s, action, info["position"], s_next, reward)
                s = s_next
    """

    protocol = EPISODIC
    constraints: ClassVar[dict[str, Constraint]] = {
        "n_states": Integer(1, None),
        "n_items": Integer(1, None),
        "list_size": Integer(1, None),
        "horizon": Integer(1, None),
        "initial_state": Integer(0, None),
        "delta": Real(0.0, 1.0, closed="neither"),
        "n_episodes": Integer(1, None),
        "bonus_scale": Real(0.0, None),
    }

    n_states: int
    n_items: int
    list_size: int
    horizon: int
    initial_state: int

    def _validate_dims(self, **values: Any) -> dict[str, Any]:
        owner = self.name
        v = self._validate(**values)
        if v["list_size"] > v["n_items"]:
            raise ValueError(f"{owner}: 'list_size' must be an int in [1, {v['n_items']}] "
                             f"(at most n_items); got {v['list_size']}.")
        if v["initial_state"] >= v["n_states"]:
            raise ValueError(f"{owner}: 'initial_state' must be an int in "
                             f"[0, {v['n_states'] - 1}]; got {v['initial_state']}.")
        self.n_states, self.n_items = v["n_states"], v["n_items"]
        self.list_size, self.horizon = v["list_size"], v["horizon"]
        self.initial_state = v["initial_state"]
        self.check_state_memory(owner)
        return v

    def _state_nbytes(self) -> tuple[float, str]:
        # counts and estimates per (s, item) and per (s, item or no-click, s'), values per
        # (h, s) and the planned lists per (h, s): 8-byte entries
        S, N, m, H = (float(x) for x in (self.n_states, self.n_items, self.list_size,
                                          self.horizon))
        n = 8.0 * (S * (N + 1.0) * S + 6.0 * S * (N + 1.0) + 2.0 * (H + 1.0) * S + H * S * m)
        return n, (f"n_states={self.n_states}, n_items={self.n_items}, "
                   f"list_size={self.list_size}, horizon={self.horizon}")

    @classmethod
    def for_env(cls, env: CascadingMDP, **kwargs: Any) -> CascadingAgent:
        """An agent sized for ``env`` (``rewards=env.rewards`` for agents that take them)."""
        base = _mdp_arrays(env, f"{cls.__name__}.for_env")
        dims = {"n_states": base.n_states, "n_items": base.n_items,
                "list_size": base.list_size, "horizon": base.horizon,
                "initial_state": base.initial_state}
        return cls(**dims, **kwargs)

    def check_env(self, env: Any, owner: str) -> CascadingMDP:
        """The env's ``unwrapped`` CascadingMDP, if its sizes match this agent."""
        base = getattr(env, "unwrapped", env)
        if not isinstance(base, CascadingMDP):
            raise IncompatibleEnvError(f"{owner}: 'env' must be a CascadingMDP (what "
                                       f"{self.name} runs on); got {type(base).__name__} "
                                       f"{limits.short_repr(base)}.")
        mine = (self.n_states, self.n_items, self.list_size, self.horizon, self.initial_state)
        theirs = (base.n_states, base.n_items, base.list_size, base.horizon, base.initial_state)
        if mine != theirs:
            raise IncompatibleEnvError(
                f"{owner}: {self.name} has (n_states, n_items, list_size, horizon, "
                f"initial_state)={mine} but the env has {theirs}.")
        return base

    # -- interaction ---------------------------------------------------------------------
    def _on_reset(self) -> None:
        self.episode = 0
        self.upper_value = math.inf
        self.lower_value = -math.inf

    def plan(self) -> np.ndarray:
        """Plan the next episode; returns the policy ``int64[H, S, m]`` (a copy).

        Sets ``upper_value`` and ``lower_value`` (the agent's bounds on ``V*_1(s1)`` and on
        the planned policy's value; ``nan`` lower value for agents without one).
        """
        self._require_state("plan")
        up, low = self.kernels.plan(self.params, self.state, self.episode)
        self.episode += 1
        self.upper_value, self.lower_value = float(up), float(low)
        return self.state.policy.copy()

    def select(self, h: int, s: int) -> np.ndarray:
        """The planned list for step ``h`` (0-based) in state ``s`` (``int64[m]``, padded)."""
        self._require_state("select")
        h = int(Integer(0, self.horizon - 1).check(h, "h", f"{self.name}.select"))
        s = int(Integer(0, self.n_states - 1).check(s, "s", f"{self.name}.select"))
        return self.state.policy[h, s].copy()

    def update(self, h: int, s: int, action: Any, position: int, s_next: int,
               reward: float) -> None:
        """Feed back one step: the list shown, the click position (-1: none), s' and reward."""
        self._require_state("update")
        owner = f"{self.name}.update"
        h = int(Integer(0, self.horizon - 1).check(h, "h", owner))
        s = int(Integer(0, self.n_states - 1).check(s, "s", owner))
        items, k = check_list(action, self.n_items, self.list_size, owner)
        pos = int(Integer(-1, k - 1).check(position, "position", owner))
        s_next = int(Integer(0, self.n_states - 1).check(s_next, "s_next", owner))
        reward = float(Real(0.0, 1.0).check(reward, "reward", owner))
        self.state = self.kernels.update(self.params, self.state, h, s, items, k, pos, s_next,
                                         reward)


class CascadingVI(CascadingAgent):
    """CascadingVI: optimistic value iteration with BestPerm and variance-aware bonuses.

    Per episode, backward induction on optimistic attraction ``q̄ = q̂ + b_q`` and weights
    ``w̄ = r + p̂ᵀV̄_{h+1} + b_pV``, where (with ``L = log(4 S N H K / δ)`` and counts n)::

        b_q  = 2 sqrt(q̂(1 - q̂) L / n) + 5 L / n
        b_pV = 2 sqrt(Var_p̂(V̄_{h+1}) L / n) + 2 sqrt(E_p̂[(V̄ - V̲)²_{h+1}] L / n) + 5 c_h L / n

    (``c_h = H - h + 1`` caps the value from step h on; the spec's constants are a
    reconstruction, so ``bonus_scale`` multiplies every bonus). The list in each state is
    BestPerm's on ``(q̄, w̄)``; a pessimistic value ``V̲`` of the chosen list (lower bounds
    ``q̲``, ``w̲``) feeds the variance correction. Statistics are shared across steps (the
    model is stationary); attraction outcomes are counted only up to the click. The ablations
    replace ``b_q`` (:class:`CascadingVIBonus`) or both ``b_q`` and ``b_pV``
    (:class:`CascadingVIBothHoeffding`) by Hoeffding bonuses.

    Parameters
    ----------
    n_states, n_items, list_size, horizon : int
        ``S``, ``N``, ``m <= N``, ``H``.
    initial_state : int, default 0
        ``s1`` (where ``upper_value``/``lower_value`` are reported).
    delta : float, default 0.005
        Confidence, in (0, 1).
    n_episodes : int, default 100000
        ``K``, used in the log term.
    rewards : array-like of shape (S, N), optional
        The known rewards ``r(s, a)``; ``None`` learns them (they are deterministic, so the
        first click reveals them; until then ``r̄ = 1``, ``r̲ = 0``).
    bonus_scale : float, default 1.0
        Multiplies every bonus; 0 gives the greedy (certainty-equivalent) planner.

    Guarantee
    ---------
    Theorem 1 of Du et al. (2024): regret ``Õ(H sqrt(H S N K))`` w.p. ``1 - δ``, independent of
    the number of lists. Optimism ``V̄ >= V*`` holds whenever the confidence boxes hold,
    because the optimal one-step value is monotone in ``w`` and in ``u`` for w-sorted lists.
    """

    kernels = register_kernels(CascadingVIParams, Kernels(None, plan=cvi_plan, update=cvi_update),
                               EPISODIC)
    #: Hoeffding instead of variance-aware bonus on the attraction probabilities
    _hoeffding_attraction: ClassVar[bool] = False
    #: Hoeffding instead of variance-aware bonus on the transitions (``p̂ᵀV̄``)
    _hoeffding_transition: ClassVar[bool] = False
    _exhaustive: ClassVar[bool] = False

    def __init__(self, n_states: int, n_items: int, list_size: int, horizon: int, *,
                 initial_state: int = 0, delta: float = 0.005, n_episodes: int = 100_000,
                 rewards: Any = None, bonus_scale: float = 1.0) -> None:
        v = self._validate_dims(n_states=n_states, n_items=n_items, list_size=list_size,
                                horizon=horizon, initial_state=initial_state, delta=delta,
                                n_episodes=n_episodes, bonus_scale=bonus_scale)
        self._init_kwargs["rewards"] = rewards
        self._rewards = self._check_rewards(rewards)
        big_l = math.log(4.0 * v["n_states"] * v["n_items"] * v["horizon"] * v["n_episodes"]
                         / v["delta"])
        params_type = CascadingVIOracleParams if self._exhaustive else CascadingVIParams
        self.params = params_type(
            log_term=float(big_l), anytime=False,
            hoeffding_attraction=self._hoeffding_attraction,
            hoeffding_transition=self._hoeffding_transition, exhaustive=self._exhaustive,
            bonus_scale=float(v["bonus_scale"]))

    def _check_rewards(self, rewards: Any) -> np.ndarray | None:
        if rewards is None:
            return None
        arr = Array(2, low=0.0, high=1.0).check(rewards, "rewards", self.name)
        if arr.shape != (self.n_states, self.n_items):
            raise ValueError(f"{self.name}: 'rewards' must be an array of shape "
                             f"{(self.n_states, self.n_items)} (S, N) or None; got shape "
                             f"{arr.shape}.")
        return arr

    @classmethod
    def for_env(cls, env: CascadingMDP, *, reward_known: bool = True, **kwargs: Any
                ) -> CascadingAgent:
        """An agent sized for ``env``; with ``reward_known`` it is given ``env.rewards``."""
        Boolean().check(reward_known, "reward_known", f"{cls.__name__}.for_env")
        base = _mdp_arrays(env, f"{cls.__name__}.for_env")
        if reward_known:
            kwargs = {**kwargs, "rewards": base.rewards}
        return super().for_env(base, **kwargs)

    def _init_state(self) -> CascadingVIState:
        S, N, m, H = self.n_states, self.n_items, self.list_size, self.horizon
        known = self._rewards is not None
        r_hat = self._rewards.copy() if known else np.zeros((S, N))
        return CascadingVIState(
            np.zeros((S, N), np.int64), np.zeros((S, N)), np.zeros((S, N + 1), np.int64),
            np.zeros((S, N + 1, S)), r_hat, np.full((S, N), known, np.bool_),
            np.zeros((H + 1, S)), np.zeros((H + 1, S)), np.full((H, S, m), -1, np.int64),
            int(self.initial_state))



class CascadingVIBonus(CascadingVI):
    """CascadingVI-Bonus: CascadingVI with a Hoeffding bonus on the attraction probabilities.

    The paper's ablation (Du et al. 2024, experiments; spec §3.2): the variance-aware bonus on
    the attraction probabilities is replaced by the variance-unaware ``b_q = 2 sqrt(L / n)``
    (the constant is the spec's assumption); the transition bonus ``b_pV`` stays
    variance-aware, as in :class:`CascadingVI`. It isolates what the variance-aware attraction
    bonus buys (the ``sqrt(m)`` saving of the paper's analysis). Swapping the transition bonus
    too is a different ablation, :class:`CascadingVIBothHoeffding`.
    """

    _hoeffding_attraction = True


class CascadingVIBothHoeffding(CascadingVI):
    """CascadingVI-BothHoeffding: CascadingVI with Hoeffding attraction and transition bonuses.

    ``b_q = 2 sqrt(L / n)`` and ``b_pV = 2 c_h sqrt(L / n)`` (``c_h = H - h + 1``; the spec's
    constants with ``H`` replaced by the remaining horizon). Not an ablation of the paper: it
    swaps the transition bonus as well as the attraction one (:class:`CascadingVIBonus` swaps
    only the latter). With the spec's constants the variance-aware transition bonus is the
    larger one until a (state, item) pair has been clicked about ``6 L`` times (its
    lower-order term alone, ``5 c_h L / n``, exceeds ``2 c_h sqrt(L / n)`` for
    ``n < 6.25 L``; ``L`` is about 25 at the paper's sizes), and longer while ``V̄ - V̲`` is
    large. During that burn-in this variant explores less and has lower regret than
    CascadingVI; it falls behind between 2e5 and 3e5 episodes at ``N = 10`` on the MovieLens
    instance (spec §3.2; the measurements are in ``benchmarks/README_cascading.md``).
    """

    _hoeffding_attraction = True
    _hoeffding_transition = True


class CascadingVIOracle(CascadingVI):
    """CascadingVI-Oracle: CascadingVI with exhaustive search over all lists instead of BestPerm.

    Maximises the optimistic value of each list over the attraction box exactly
    (``EVAL_MAX``), which equals BestPerm's value (tested); decisions agree up to ties. The
    spec's ablation scans the lists in ``O(|A| m)`` per state; this one enumerates the same
    ``|A| = sum_k N!/(N-k)!`` lists depth first, sharing suffix values, in ``O(|A|)`` (values
    bit-identical to the scan, tested), so its cost still grows as ``N^m`` but with a smaller
    constant than a naive scan: the running-time gap to BestPerm it shows is, if anything,
    understated.
    """

    _exhaustive = True
    kernels = register_kernels(CascadingVIOracleParams, CascadingVI.kernels, EPISODIC)


@dataclass(frozen=True)
class BPIResult:
    """Outcome of best policy identification.

    Attributes
    ----------
    policy : ndarray of int64, shape (H, S, m)
        The returned policy.
    n_episodes : int
        Episodes played before stopping (or the budget if it never stopped).
    stopped : bool
        Whether the stopping rule fired (``False``: the budget ran out first).
    upper_value, lower_value : float
        The agent's optimistic and pessimistic values at ``s1`` when it stopped.
    policy_value, optimal_value : float
        ``V^π̂_1(s1)`` and ``V*_1(s1)`` (exact, from the env).
    """

    policy: np.ndarray
    n_episodes: int
    stopped: bool
    upper_value: float
    lower_value: float
    policy_value: float
    optimal_value: float

    @property
    def suboptimality(self) -> float:
        """``V*_1(s1) - V^π̂_1(s1)``."""
        return self.optimal_value - self.policy_value


class _BestPolicyIdentification(CascadingAgent):
    """The ``EPISODIC_BPI`` shell shared by :class:`CascadingBPI` and :class:`AdaptBPI`: the
    ``epsilon`` / ``max_episodes`` parameters and :meth:`identify`, which runs the one BPI
    loop (:func:`~banditlab.cascading.kernels.run_bpi_kernel`) on the agent's own kernels."""

    protocol = EPISODIC_BPI
    _contract_kwargs: ClassVar[dict[str, Any]] = {"epsilon": 0.5}
    epsilon: float
    max_episodes: int

    def _set_stopping(self, v: dict[str, Any], epsilon: Any) -> None:
        """Check ``epsilon <= H`` and keep the validated ``epsilon`` and ``max_episodes``."""
        if v["epsilon"] > v["horizon"]:
            raise ValueError(f"{self.name}: 'epsilon' must be a float in (0, {v['horizon']}] "
                             f"(at most the horizon); got {epsilon!r}.")
        self.epsilon = float(v["epsilon"])
        self.max_episodes = int(v["max_episodes"])

    def identify(self, env: CascadingMDP, *, seed: SeedLike = None) -> BPIResult:
        """Run until the stopping rule fires (or the budget ends) on ``env``.

        ``seed`` seeds the env's episodes (``env.reset(seed=...)``) and this agent.
        """
        owner = f"{self.name}.identify"
        self.check_env(env, owner)
        _, seeds = spawn_run_seeds(seed, 1, owner=owner)
        return self.identify_seeded(env, *seeds[0])

    def identify_seeded(self, env: CascadingMDP, env_seed: int, agent_seed: int) -> BPIResult:
        """:meth:`identify` with the env and agent seeds given (run ``i`` of an experiment
        file or sweep gets the pair of run ``i`` of the library's one seed derivation)."""
        base = self.check_env(env, f"{self.name}.identify")
        base.reset(seed=env_seed)
        self.reset(seed=agent_seed)
        n, stopped, up, low, policy, state = run_bpi_kernel(
            self.params, self.state, base.kernel_arrays(), base.np_random, self.epsilon,
            self.max_episodes)
        self.state = state
        self.episode = int(n) + 1
        self.upper_value, self.lower_value = float(up), float(low)
        return BPIResult(policy, int(n), bool(stopped), float(up), float(low),
                         base.policy_value(policy), base.optimal_value())


class CascadingBPI(_BestPolicyIdentification, CascadingVI):
    """CascadingBPI: best policy identification with CascadingVI's optimistic/pessimistic backups.

    Plans exactly as :class:`CascadingVI` with the any-time log term
    ``L_k = log(4 S N H / δ) + S + log(k (k + 1))`` at episode k (a union bound over
    episodes; the ``+ S`` is the spec's reconstruction of the paper's ``log(1/δ) + S`` terms)
    and returns the planned policy as soon as ``V̄_1(s1) - V̲_1(s1) <= ε``. Since ``V̄ >= V*``
    and ``V̲ <= V^π`` on the good event, the returned policy is ε-optimal w.p. ``>= 1 - δ``.

    Parameters
    ----------
    n_states, n_items, list_size, horizon, initial_state, rewards, bonus_scale
        As in :class:`CascadingVI`.
    epsilon : float
        Target accuracy, in (0, H].
    delta : float, default 0.1
    max_episodes : int, default 1000000
        Budget; :meth:`identify` reports ``stopped=False`` if it runs out.

    Guarantee
    ---------
    Theorem 2 of Du et al. (2024): ``Õ(H³ S N / ε² + H^{2.5} S N (log(1/δ) + S) / ε^{1.5})``
    episodes.
    """

    constraints = {**CascadingAgent.constraints, "epsilon": Real(0.0, None, closed="neither"),
                   "max_episodes": Integer(1, None)}

    def __init__(self, n_states: int, n_items: int, list_size: int, horizon: int, *,
                 epsilon: float, initial_state: int = 0, delta: float = 0.1,
                 max_episodes: int = 1_000_000, rewards: Any = None,
                 bonus_scale: float = 1.0) -> None:
        v = self._validate_dims(n_states=n_states, n_items=n_items, list_size=list_size,
                                horizon=horizon, initial_state=initial_state, delta=delta,
                                bonus_scale=bonus_scale, epsilon=epsilon,
                                max_episodes=max_episodes)
        self._set_stopping(v, epsilon)
        self._init_kwargs["rewards"] = rewards
        self._rewards = self._check_rewards(rewards)
        big_l = math.log(4.0 * v["n_states"] * v["n_items"] * v["horizon"] / v["delta"])
        self.params = CascadingVIParams(
            log_term=float(big_l + v["n_states"]), anytime=True, hoeffding_attraction=False,
            hoeffding_transition=False, exhaustive=False, bonus_scale=float(v["bonus_scale"]))


class AdaptVI(CascadingAgent):
    """AdaptVI: UCBVI (Azar et al. 2017) on the MDP whose actions are all lists.

    Each list ``A`` is an atomic action with its own counts, empirical reward and transition
    law (item-level feedback is ignored)::

        Q̄_h(s, A) = min(c_h, R̂(s, A) + P̂(.|s, A)ᵀ V̄_{h+1} + bonus_scale * c_h sqrt(L / n(s, A)))

    with ``L = log(4 S |A| H K / δ)`` and ``c_h = H - h + 1``; unplayed pairs get ``c_h``
    (the first such list in :func:`enumerate_lists` order is played). Its regret scales with
    ``sqrt(|A|) ~ N^{m/2}``, and each backup costs ``O(S |A| S)``.

    Parameters
    ----------
    n_states, n_items, list_size, horizon, initial_state, delta, n_episodes
        As in :class:`CascadingVI`.
    bonus_scale : float, default 1.0
        ``c`` in the Hoeffding bonus ``c c_h sqrt(L / n)``.
    full_backup : bool, default True
        Scan every list at every (h, s), as the spec's baseline does (§3.4:
        ``V̄_h(s) = max_{A ∈ A} Q̄_h(s, A)`` at a cost of ``O(S |A| S)`` per backup; the
        paper reports AdaptVI as slow). ``False`` stops the scan at a state as soon as a list
        reaches the cap ``c_h`` (in practice the first unplayed list): the same values and
        lists (no later list can exceed the cap, and ties keep the first), hence the same
        regret, but a running time that no longer grows with ``|A|`` while unplayed lists
        remain. The default is the faithful one; ``False`` is a shortcut of this library.
    """

    kernels = register_kernels(AdaptVIParams, Kernels(None, plan=adaptvi_plan,
                                                      update=adaptvi_update), EPISODIC)
    constraints = {**CascadingAgent.constraints, "full_backup": Boolean()}

    def __init__(self, n_states: int, n_items: int, list_size: int, horizon: int, *,
                 initial_state: int = 0, delta: float = 0.005, n_episodes: int = 100_000,
                 bonus_scale: float = 1.0, full_backup: bool = True) -> None:
        v = self._validate_dims(n_states=n_states, n_items=n_items, list_size=list_size,
                                horizon=horizon, initial_state=initial_state, delta=delta,
                                n_episodes=n_episodes, bonus_scale=bonus_scale,
                                full_backup=full_backup)
        self.n_lists = n_lists = count_lists(v["n_items"], v["list_size"])
        self.check_state_memory(self.name)
        big_l = math.log(4.0 * v["n_states"] * n_lists * v["horizon"] * v["n_episodes"]
                         / v["delta"])
        self.params = AdaptVIParams(log_term=float(big_l), bonus_scale=float(v["bonus_scale"]),
                                    full_backup=bool(v["full_backup"]), anytime=False,
                                    pessimistic=False)

    def _state_nbytes(self) -> tuple[float, str]:
        # per list: its items, and counts and estimates per (s, list) and (s, list, s'); per
        # (h, s): values, the planned list and its index
        S, m, H = float(self.n_states), float(self.list_size), float(self.horizon)
        n_lists = float(getattr(self, "n_lists", None)
                        or count_lists(self.n_items, self.list_size))
        n = 8.0 * (n_lists * (m + 1.0 + 2.0 * S + S * S) + 3.0 * (H + 1.0) * S + 2.0 * H * S * m)
        return n, (f"n_states={self.n_states}, n_lists={n_lists:.3g} (n_items={self.n_items}, "
                   f"list_size={self.list_size}), horizon={self.horizon}")

    def _init_state(self) -> AdaptVIState:
        S, N, m, H = self.n_states, self.n_items, self.list_size, self.horizon
        lists, lengths = enumerate_lists(N, m)
        n = lists.shape[0]
        return AdaptVIState(lists, lengths, np.zeros((S, n), np.int64), np.zeros((S, n)),
                            np.zeros((S, n, S)), np.zeros((H + 1, S)), np.zeros((H + 1, S)),
                            np.zeros((H, S), np.int64), np.full((H, S, m), -1, np.int64),
                            int(self.initial_state))

    def update(self, h: int, s: int, action: Any, position: int, s_next: int,
               reward: float) -> None:
        """Feed back one step. The list must be the planned one for ``(h, s)``."""
        self._require_state("update")
        items, _ = check_list(action, self.n_items, self.list_size, f"{self.name}.update")
        h_i = int(Integer(0, self.horizon - 1).check(h, "h", f"{self.name}.update"))
        s_i = int(Integer(0, self.n_states - 1).check(s, "s", f"{self.name}.update"))
        if not np.array_equal(items, self.state.policy[h_i, s_i]):
            raise ValueError(f"{self.name}.update: 'action' must be the planned list "
                             f"{self.state.policy[h_i, s_i].tolist()} for (h, s)=({h_i}, {s_i}); "
                             f"got {items.tolist()}.")
        super().update(h, s, action, position, s_next, reward)


class AdaptBPI(_BestPolicyIdentification, AdaptVI):
    """AdaptBPI: best policy identification with lists as atomic actions (the BPI baseline).

    The spec's **[ASSUMPTION]** baseline (§3.4: "BPI-UCRL / RF-style algorithm over atomic
    lists, same stopping rule as §3.3"); the paper's version is not described in what we
    could read. Chosen here: :class:`AdaptVI`'s Hoeffding (UCBVI) backup over all lists, with

    * a pessimistic value of the chosen list, its mirror image
      ``V̲_h(s) = max(0, R̂(s, A) + P̂(.|s, A)ᵀ V̲_{h+1} - bonus_scale * c_h sqrt(L_k / n(s, A)))``
      (0 for an unplayed list), so that ``V̲ <= V^π`` on the same good event as ``V̄ >= V*``;
    * :class:`CascadingBPI`'s any-time log term with ``N`` replaced by the number of lists
      ``|A|`` (the atomic actions): ``L_k = log(4 S |A| H / δ) + S + log(k (k + 1))`` at
      episode k (the ``+ S`` covers the data-dependent ``V̄_{h+1}``, ``V̲_{h+1}``, as in
      BPI-UCRL-style analyses);
    * :class:`CascadingBPI`'s stopping rule: return the planned policy as soon as
      ``V̄_1(s1) - V̲_1(s1) <= ε``.

    The exploration is optimistic (UCBVI's), not reward-free. Item-level feedback is ignored,
    so its sample complexity grows with ``|A| = sum_k N! / (N - k)!`` instead of ``N``.

    Parameters
    ----------
    n_states, n_items, list_size, horizon, initial_state, bonus_scale, full_backup
        As in :class:`AdaptVI`.
    epsilon : float
        Target accuracy, in (0, H].
    delta : float, default 0.1
    max_episodes : int, default 1000000
        Budget; :meth:`identify` reports ``stopped=False`` if it runs out.
    """

    constraints = {**AdaptVI.constraints, "epsilon": Real(0.0, None, closed="neither"),
                   "max_episodes": Integer(1, None)}

    def __init__(self, n_states: int, n_items: int, list_size: int, horizon: int, *,
                 epsilon: float, initial_state: int = 0, delta: float = 0.1,
                 max_episodes: int = 1_000_000, bonus_scale: float = 1.0,
                 full_backup: bool = True) -> None:
        v = self._validate_dims(n_states=n_states, n_items=n_items, list_size=list_size,
                                horizon=horizon, initial_state=initial_state, delta=delta,
                                bonus_scale=bonus_scale, full_backup=full_backup,
                                epsilon=epsilon, max_episodes=max_episodes)
        self._set_stopping(v, epsilon)
        self.n_lists = n_lists = count_lists(v["n_items"], v["list_size"])
        self.check_state_memory(self.name)
        big_l = math.log(4.0 * v["n_states"] * n_lists * v["horizon"] / v["delta"])
        self.params = AdaptVIParams(log_term=float(big_l + v["n_states"]),
                                    bonus_scale=float(v["bonus_scale"]),
                                    full_backup=bool(v["full_backup"]), anytime=True,
                                    pessimistic=True)
