"""Cascading MDPs (Du, Srikant & Chen, "Cascading Reinforcement Learning", ICLR 2024).

A user in state ``s`` is shown an ordered list of at most ``m`` distinct items out of ``N``.
She examines it top-down and clicks the first item that attracts her (item ``a`` attracts with
probability ``q(s, a)``, independently); the click pays ``r(s, a)`` and moves her to
``s' ~ p(.|s, a)``. If nothing attracts her, the reward is 0 and ``s' ~ p(.|s, a_⊥)``. An
episode has ``H`` steps from the initial state ``s1``. The learner observes the attraction
outcomes only up to the click (the items below it are not examined).

**Action encoding.** An action is an ordered list of item ids (top first). ``step`` accepts
any 1-d sequence of 1 to ``m`` distinct ints in ``[0, N)``, or the fixed-length form used by
the action space :class:`RankedListSpace`: an ``int64`` array of length ``m`` holding the
list followed by ``-1`` padding. Empty lists, too long lists, unknown ids, repeated ids and
padding before an item are errors (``ValueError``; a non-integer action is a ``TypeError``).

**Observation.** The state, an int in ``[0, S)`` (``Discrete(S)``). ``info`` of ``step``
holds the feedback: ``position`` (index in the list of the clicked item, ``-1`` for no
click), ``clicked`` (the item id or ``-1``), ``n_examined`` and ``attractions`` (the observed
outcomes ``Z_1..Z_J``).

Instances: :func:`random_cascading_mdp` (the spec's synthetic generator) and
:func:`movielens_cascading_mdp` (built from MovieLens ``u.data``/``u.item`` files).

References
----------
Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024 (arXiv 2401.08961).
B. Kveton, C. Szepesvári, Z. Wen, A. Ashkan. Cascading bandits. ICML 2015.
F. M. Harper, J. A. Konstan. The MovieLens Datasets: History and Context. ACM TiiS 5(4), 2015.
"""

from __future__ import annotations

import gzip
import numbers
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from banditlab._seeding import SeedLike, as_seed_sequence
from banditlab._validation import Array, Integer, Options, Real
from banditlab.data import find_dataset
from banditlab.envs.base import BanditEnv
from banditlab.envs.cascading_kernels import (
    BESTPERM,
    CascadeArrays,
    cascade_step,
    list_value,
    policy_evaluation_kernel,
    value_iteration_kernel,
)

__all__ = [
    "CascadingMDP",
    "RankedListSpace",
    "check_list",
    "movielens_cascading_mdp",
    "random_cascading_mdp",
    "read_movielens",
]


def check_list(action: Any, n_items: int, max_len: int, owner: str) -> tuple[np.ndarray, int]:
    """Validate an ordered list of items; return ``(items, k)``.

    ``items`` is ``int64[max_len]`` (the list, then ``-1`` padding) and ``k`` its length.

    Raises
    ------
    TypeError
        If ``action`` is not a 1-d sequence of ints.
    ValueError
        If it is empty, longer than ``max_len``, holds an id outside ``[0, n_items)``, repeats
        an id, or has ``-1`` padding before an item.
    """
    want = (f"a list of 1 to {max_len} distinct item ids in [0, {n_items - 1}] (top first, "
            f"optionally padded with -1 to length {max_len})")
    if isinstance(action, str | bytes) or isinstance(action, numbers.Number):
        raise TypeError(f"{owner}: 'action' must be {want}; got {type(action).__name__} "
                        f"{action!r}.")
    try:
        arr = np.asarray(action)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner}: 'action' must be {want}; got {action!r}.") from exc
    if arr.ndim != 1 or (arr.size and (arr.dtype.kind not in "iu")):
        raise TypeError(f"{owner}: 'action' must be {want}; got {action!r}.")
    vals = [int(x) for x in arr]
    k = len(vals)
    while k > 0 and vals[k - 1] == -1:
        k -= 1
    if k == 0:
        raise ValueError(f"{owner}: 'action' must be {want}; got {vals!r} (no item).")
    if len(vals) > max_len:
        raise ValueError(f"{owner}: 'action' must be {want}; got {vals!r} (length {len(vals)} "
                         f"> {max_len}).")
    head = vals[:k]
    for x in head:
        if x == -1:
            raise ValueError(f"{owner}: 'action' must be {want}; got {vals!r} (-1 padding "
                             "before an item).")
        if not 0 <= x < n_items:
            raise ValueError(f"{owner}: 'action' must be {want}; got {vals!r} (unknown item "
                             f"{x}).")
    seen: set[int] = set()
    for x in head:
        if x in seen:
            raise ValueError(f"{owner}: 'action' must be {want}; got {vals!r} (item {x} is "
                             "repeated).")
        seen.add(x)
    items = np.full(max_len, -1, np.int64)
    items[:k] = head
    return items, k


class RankedListSpace(gym.spaces.Space):
    """Ordered lists of 1 to ``max_len`` distinct items out of ``n_items``.

    Elements are ``int64`` arrays of shape ``(max_len,)``: the item ids top first, then ``-1``
    padding. :meth:`sample` draws a length uniformly in ``[1, max_len]`` and then the items
    uniformly without replacement.
    """

    def __init__(self, n_items: int, max_len: int, seed: int | np.random.Generator | None = None
                 ) -> None:
        n_items = int(Integer(1, None).check(n_items, "n_items", "RankedListSpace"))
        max_len = int(Integer(1, n_items).check(max_len, "max_len", "RankedListSpace"))
        self.n_items = n_items
        self.max_len = max_len
        super().__init__(shape=(max_len,), dtype=np.int64, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> np.ndarray:
        k = int(self.np_random.integers(1, self.max_len + 1))
        out = np.full(self.max_len, -1, np.int64)
        out[:k] = self.np_random.choice(self.n_items, size=k, replace=False)
        return out

    def contains(self, x: Any) -> bool:
        try:
            check_list(x, self.n_items, self.max_len, "RankedListSpace")
        except (TypeError, ValueError):
            return False
        return np.shape(x) == (self.max_len,)

    def __repr__(self) -> str:
        return f"RankedListSpace(n_items={self.n_items}, max_len={self.max_len})"


class CascadingMDP(BanditEnv):
    """A cascading MDP with ``S`` states, ``N`` items, lists of at most ``m`` items, horizon ``H``.

    Parameters
    ----------
    attraction : array-like of shape (S, N)
        ``q(s, a)`` in [0, 1].
    rewards : array-like of shape (S, N)
        ``r(s, a)`` in [0, 1], paid when ``a`` is clicked in ``s`` (no click pays 0).
    transitions : array-like of shape (S, N + 1, S)
        ``p(s'|s, a)``; row ``N`` is the no-click law ``p(.|s, a_⊥)``. Rows must sum to 1
        (within 1e-8; they are renormalised).
    list_size : int
        ``m``, the longest list, in ``[1, N]``.
    horizon : int, default 3
        ``H``, steps per episode (the last step returns ``truncated=True``).
    initial_state : int, default 0
        ``s1``.

    Notes
    -----
    Regret in an MDP compares values, not one-step rewards: use :meth:`optimal_value` and
    :meth:`policy_value` (exact, by backward induction with BestPerm).
    :meth:`expected_reward` / :meth:`optimal_expected_reward` give one-step expected rewards
    at the current step and state (of a list, and of the optimal policy's list).
    """

    family = "cascading"
    constraints = {
        "attraction": Array(2, low=0.0, high=1.0),
        "rewards": Array(2, low=0.0, high=1.0),
        "transitions": Array(3, low=0.0, high=1.0),
        "horizon": Integer(1, None),
    }

    def __init__(self, attraction: Any, rewards: Any, transitions: Any, *, list_size: int,
                 horizon: int = 3, initial_state: int = 0) -> None:
        super().__init__()
        owner = type(self).__name__
        v = self._validate(attraction=attraction, rewards=rewards, transitions=transitions,
                           horizon=horizon)
        q, r, p = v["attraction"], v["rewards"], v["transitions"]
        n_states, n_items = q.shape
        if r.shape != q.shape:
            raise ValueError(f"{owner}: 'rewards' must be an array of shape {q.shape} (like "
                             f"'attraction'); got shape {r.shape}.")
        if p.shape != (n_states, n_items + 1, n_states):
            raise ValueError(f"{owner}: 'transitions' must be an array of shape "
                             f"{(n_states, n_items + 1, n_states)} (S, N + 1, S); got shape "
                             f"{p.shape}.")
        sums = p.sum(axis=2)
        if np.any(np.abs(sums - 1.0) > 1e-8):
            bad = np.unravel_index(np.argmax(np.abs(sums - 1.0)), sums.shape)
            raise ValueError(f"{owner}: 'transitions' must have rows summing to 1; got a row "
                             f"{tuple(int(i) for i in bad)} summing to {float(sums[bad])!r}.")
        p = np.ascontiguousarray(p / sums[:, :, None])
        m = int(Integer(1, n_items).check(list_size, "list_size", owner))
        s1 = int(Integer(0, n_states - 1).check(initial_state, "initial_state", owner))
        self._arrays = CascadeArrays(q, r, p, s1, int(v["horizon"]), m)
        self.n_states, self.n_items, self.list_size = n_states, n_items, m
        self.horizon = int(v["horizon"])
        self.initial_state = s1
        self.n_arms = n_items
        self._params = {**v, "list_size": m, "initial_state": s1}
        self.action_space = RankedListSpace(n_items, m)
        self.observation_space = gym.spaces.Discrete(n_states)
        self._state = s1
        self._optimal: tuple[np.ndarray, np.ndarray] | None = None

    # -- data ------------------------------------------------------------------------------
    @property
    def attraction(self) -> np.ndarray:
        """``q``, shape (S, N) (a copy)."""
        return self._arrays.q.copy()

    @property
    def rewards(self) -> np.ndarray:
        """``r``, shape (S, N) (a copy)."""
        return self._arrays.r.copy()

    @property
    def transitions(self) -> np.ndarray:
        """``p``, shape (S, N + 1, S) (a copy; row N is the no-click law)."""
        return self._arrays.p.copy()

    @property
    def state(self) -> int:
        """The current state."""
        return self._state

    @property
    def reward_model(self) -> Any:
        """A step's reward is the clicked item's reward (0 without a click): in [0, 1]."""
        from banditlab.reward_models import RewardModel

        return RewardModel.bounded(0.0, 1.0)

    def kernel_arrays(self) -> CascadeArrays:
        """The MDP as plain arrays for the kernels."""
        return self._arrays

    # -- gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self._start_episode()
        self._state = self.initial_state
        return self._state, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        items, k = check_list(action, self.n_items, self.list_size, f"{type(self).__name__}.step")
        if self._done:
            self._advance()  # raises: the episode has ended
        a = self._arrays
        pos, reward, s_next = cascade_step(a.q, a.r, a.p, self._state, items, k, self.np_random)
        pos = int(pos)
        n_seen = pos + 1 if pos >= 0 else k
        attractions = np.zeros(n_seen, np.int64)
        if pos >= 0:
            attractions[pos] = 1
        info = {"position": pos, "clicked": int(items[pos]) if pos >= 0 else -1,
                "n_examined": n_seen, "attractions": attractions}
        self._state = int(s_next)
        truncated = self._advance()
        return self._state, float(reward), False, truncated, info

    # -- oracle ------------------------------------------------------------------------------
    def oracle_call(self) -> tuple[Any, tuple[Any, ...]]:
        """The kernel that solves this MDP exactly (value iteration with BestPerm) and its
        arguments: ``kernel(*args)`` is ``(V*, an optimal policy)``."""
        a = self._arrays
        return value_iteration_kernel, (a.q, a.r, a.p, a.horizon, a.list_size, BESTPERM)

    def _solve(self) -> tuple[np.ndarray, np.ndarray]:
        if self._optimal is None:
            kernel, args = self.oracle_call()
            self._optimal = kernel(*args)
        return self._optimal

    def optimal_values(self) -> np.ndarray:
        """``V*_h(s)``, shape (H + 1, S) (value iteration with BestPerm)."""
        return self._solve()[0].copy()

    def optimal_policy(self) -> np.ndarray:
        """An optimal deterministic policy, ``int64[H, S, m]`` (lists, ``-1`` padded)."""
        return self._solve()[1].copy()

    def optimal_value(self) -> float:
        """``V*_1(s1)``."""
        return float(self._solve()[0][0, self.initial_state])

    def _check_policy(self, policy: Any) -> np.ndarray:
        owner = f"{type(self).__name__}.policy_values"
        shape = (self.horizon, self.n_states, self.list_size)
        arr = np.asarray(policy)
        if arr.shape != shape or arr.dtype.kind not in "iu":
            raise ValueError(f"{owner}: 'policy' must be an int array of shape {shape} (H, S, m) "
                             f"of lists; got {arr.dtype} array of shape {arr.shape}.")
        for h in range(self.horizon):
            for s in range(self.n_states):
                check_list(arr[h, s], self.n_items, self.list_size, owner)
        return np.ascontiguousarray(arr, dtype=np.int64)

    def policy_values(self, policy: Any) -> np.ndarray:
        """``V^π_h(s)``, shape (H + 1, S), of a deterministic policy ``int[H, S, m]``."""
        a = self._arrays
        return policy_evaluation_kernel(a.q, a.r, a.p, self._check_policy(policy))

    def policy_value(self, policy: Any) -> float:
        """``V^π_1(s1)`` of a deterministic policy ``int[H, S, m]``."""
        return float(self.policy_values(policy)[0, self.initial_state])

    def click_probabilities(self, state: int, action: Any) -> np.ndarray:
        """``P(click at position i)`` for i < k, then ``P(no click)``; shape (k + 1,)."""
        owner = f"{type(self).__name__}.click_probabilities"
        s = int(Integer(0, self.n_states - 1).check(state, "state", owner))
        items, k = check_list(action, self.n_items, self.list_size, owner)
        u = self._arrays.q[s, items[:k]]
        survive = np.concatenate(([1.0], np.cumprod(1.0 - u)))
        return np.concatenate((survive[:k] * u, survive[k:]))

    def expected_reward(self, action: Any) -> float:
        """Expected one-step reward of the list ``action`` in the current state."""
        items, k = check_list(action, self.n_items, self.list_size,
                              f"{type(self).__name__}.expected_reward")
        s = self._state
        return float(list_value(items, k, self._arrays.q[s], self._arrays.r[s], 0.0))

    def optimal_expected_reward(self) -> float:
        """Expected one-step reward of the optimal policy's list at the current step/state."""
        h = min(self._t, self.horizon - 1)
        items = self._solve()[1][h, self._state]
        return self.expected_reward(items)


# -------------------------------------------------------------------------------------------
# Instance generators
# -------------------------------------------------------------------------------------------
def random_cascading_mdp(n_states: int, n_items: int, list_size: int, horizon: int, *,
                         seed: SeedLike = None) -> CascadingMDP:
    """The spec's synthetic instance: ``q, r ~ U(0, 1)``, ``p(.|s, a) ~ Dirichlet(1_S)``.

    Every item and the no-click outcome get their own Dirichlet draw; ``s1 = 0``.

    Parameters
    ----------
    n_states, n_items, list_size, horizon : int
        ``S >= 1``, ``N >= 1``, ``1 <= m <= N``, ``H >= 1``.
    seed : None, int or SeedSequence
    """
    owner = "random_cascading_mdp"
    n_states = int(Integer(1, None).check(n_states, "n_states", owner))
    n_items = int(Integer(1, None).check(n_items, "n_items", owner))
    list_size = int(Integer(1, n_items).check(list_size, "list_size", owner))
    horizon = int(Integer(1, None).check(horizon, "horizon", owner))
    rng = np.random.default_rng(as_seed_sequence(seed, owner=owner))
    q = rng.random((n_states, n_items))
    r = rng.random((n_states, n_items))
    p = rng.dirichlet(np.ones(n_states), size=(n_states, n_items + 1))
    return CascadingMDP(q, r, p, list_size=list_size, horizon=horizon)


def _open_text(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="latin-1")
    return open(path, encoding="latin-1")


def _first_file(folder: Path, names: tuple[str, ...]) -> Path:
    return next(folder / name for name in names if (folder / name).is_file())


def read_movielens(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``u.data`` (or ``u.data.gz``) and ``u.item`` (or ``u.item.gz``) of MovieLens 100K.

    ``path`` is the MovieLens folder or a data folder holding it as ``movielens-100k/`` or
    ``ml-100k/``; by default the folder is looked up in ``$BANDITLAB_DATA``, then in the
    per-user data folder (:func:`banditlab.data.find_dataset`, which raises
    :class:`~banditlab.errors.DataNotFoundError` naming where it looked).

    Returns ``(ratings, genres)``: ``int64[n_ratings, 3]`` rows ``(user, item, rating)`` with
    1-based ids as in the files, and ``int64[n_movies, n_genres]`` genre flags (row ``i`` for
    movie id ``i + 1``).
    """
    owner = "movielens_cascading_mdp"
    folder = find_dataset("movielens-100k", path, owner=owner, param="path")
    data_path = _first_file(folder, ("u.data", "u.data.gz"))
    item_path = _first_file(folder, ("u.item", "u.item.gz"))
    rows = []
    with _open_text(data_path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) < 3:
                raise ValueError(f"{owner}: {data_path.name} line {lineno} must be 'user item "
                                 f"rating timestamp'; got {line.rstrip()!r}.")
            rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    ratings = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    if ratings.shape[0] == 0:
        raise ValueError(f"{owner}: {data_path.name} must hold at least one rating; got none.")
    if ratings[:, 2].min() < 1 or ratings[:, 2].max() > 5:
        raise ValueError(f"{owner}: ratings in {data_path.name} must be ints in [1, 5]; got "
                         f"values in [{ratings[:, 2].min()}, {ratings[:, 2].max()}].")
    flags: dict[int, list[int]] = {}
    with _open_text(item_path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("|")
            if len(parts) < 6:
                raise ValueError(f"{owner}: {item_path.name} line {lineno} must be 'id|title|"
                                 f"date|video date|url|genre flags...'; got {line.rstrip()!r}.")
            flags[int(parts[0])] = [int(x) for x in parts[5:]]
    n_genres = len(next(iter(flags.values())))
    n_movies = max(max(flags), int(ratings[:, 1].max()))
    genres = np.zeros((n_movies, n_genres), np.int64)
    for mid, f in flags.items():
        if len(f) != n_genres:
            raise ValueError(f"{owner}: every row of {item_path.name} must have {n_genres} genre "
                             f"flags; movie {mid} has {len(f)}.")
        genres[mid - 1] = f
    return ratings, genres


def movielens_cascading_mdp(path: str | Path | None = None, *, n_items: int = 10,
                            list_size: int = 3, horizon: int = 3, q_min: float = 0.02,
                            q_max: float = 0.9, item_order: str = "popularity",
                            seed: int | None = None, attraction_scale: float = 1.0
                            ) -> CascadingMDP:
    """A cascading MDP built from MovieLens 100K ratings (``u.data`` + ``u.item``).

    This construction is the project's own: the paper does not describe one. It follows the
    spec's proposal (its §5.1), adapted to MovieLens 100K's 19 genre flags by adding a *start*
    state, which gives the paper's ``S = 20``:

    * items: the ``n_items`` movies with the most ratings (ties: smaller id);
    * states: ``0`` = start (no click yet, the initial state), ``1 + g`` = "last clicked
      movie has genre g" (``S = n_genres + 1``);
    * ``q(s, a)``: among users who rated at least one movie of genre ``s`` (all users for the
      start state), the fraction who rated ``a`` at least 4, clipped to ``[q_min, q_max]``;
    * ``r(s, a) = (mean rating of a - 1) / 4`` in every state;
    * ``p(.|s, a)``: uniform over the genre states of movie ``a`` (all genres if it has none);
    * ``p(.|s, a_⊥)``: stay in ``s`` with probability 1/2, else uniform over genre states.

    Parameters
    ----------
    path : str or Path, optional
        Folder with ``u.data`` (or ``u.data.gz``; ``user\\titem\\trating\\ttimestamp``) and
        ``u.item`` (Latin-1, ``id|title|date|video date|url|flag_0|...|flag_{G-1}``), or a data
        folder holding it as ``movielens-100k/`` or ``ml-100k/``. Default: looked up in
        ``$BANDITLAB_DATA``, then in the per-user data folder (see :mod:`banditlab.data`).
    n_items : int, default 10
        ``N``, at most the number of rated movies.
    list_size, horizon : int, default 3
    q_min, q_max : float, default 0.02, 0.9
        Clipping range of the attraction probabilities, ``0 <= q_min <= q_max <= 1``.
    item_order : {'popularity', 'shuffled'}, default 'popularity'
        Item ids ``0 .. N-1``: by decreasing number of ratings, or shuffled with ``seed``.
        With popularity ranks the tie rule of BestPerm (smaller id first) puts near-optimal
        items first while the optimistic values are still saturated, which flatters every
        agent early on; ``'shuffled'`` removes that accident (one permutation per instance).
    seed : int, optional
        Seed of the shuffle (``item_order='shuffled'`` only; None: fresh entropy).
    attraction_scale : float, default 1.0
        Multiplies every attraction probability after clipping, in (0, 1]: ``0.1`` gives
        click-through-like probabilities (at most ``0.1 q_max``).
    """
    owner = "movielens_cascading_mdp"
    item_order = Options(("popularity", "shuffled")).check(item_order, "item_order", owner)
    scale = float(Real(0.0, 1.0, closed="right").check(attraction_scale, "attraction_scale",
                                                       owner))
    from banditlab._seeding import check_seed

    seed = check_seed(seed, owner)
    n_items = int(Integer(1, None).check(n_items, "n_items", owner))
    list_size = int(Integer(1, n_items).check(list_size, "list_size", owner))
    horizon = int(Integer(1, None).check(horizon, "horizon", owner))
    q_min = float(Real(0.0, 1.0).check(q_min, "q_min", owner))
    q_max = float(Real(q_min, 1.0).check(q_max, "q_max", owner))
    ratings, genres = read_movielens(path)
    users, movies, stars = ratings[:, 0], ratings[:, 1] - 1, ratings[:, 2]
    counts = np.bincount(movies, minlength=genres.shape[0])
    n_rated = int(np.count_nonzero(counts))
    if n_items > n_rated:
        raise ValueError(f"{owner}: 'n_items' must be an int in [1, {n_rated}] (movies with "
                         f"ratings); got {n_items}.")
    top = np.argsort(-counts, kind="stable")[:n_items]
    n_genres = genres.shape[1]
    n_states = n_genres + 1
    _, user_idx = np.unique(users, return_inverse=True)
    n_users = int(user_idx.max()) + 1
    rated_genre = np.zeros((n_users, n_genres), bool)
    for g in range(n_genres):
        rated_genre[user_idx[genres[movies, g] > 0], g] = True
    liked = np.zeros((n_users, n_items), bool)
    col = {int(mv): j for j, mv in enumerate(top)}
    for u_i, mv, st in zip(user_idx, movies, stars):
        j = col.get(int(mv))
        if j is not None and st >= 4:
            liked[u_i, j] = True
    q = np.empty((n_states, n_items))
    q[0] = liked.mean(axis=0)
    for g in range(n_genres):
        who = rated_genre[:, g]
        q[1 + g] = liked[who].mean(axis=0) if who.any() else q[0]
    q = scale * np.clip(q, q_min, q_max)
    mean_rating = np.array([stars[movies == mv].mean() for mv in top])
    r = np.tile((mean_rating - 1.0) / 4.0, (n_states, 1))
    p = np.zeros((n_states, n_items + 1, n_states))
    for j, mv in enumerate(top):
        gs = np.flatnonzero(genres[mv])
        if gs.size == 0:
            gs = np.arange(n_genres)
        p[:, j, 1 + gs] = 1.0 / gs.size
    for s in range(n_states):
        p[s, n_items, 1:] = 0.5 / n_genres
        p[s, n_items, s] += 0.5
    if item_order == "shuffled":
        perm = np.random.default_rng(seed).permutation(n_items)
        q, r = q[:, perm], r[:, perm]
        p = np.concatenate([p[:, perm], p[:, n_items:]], axis=1)
    return CascadingMDP(q, r, p, list_size=list_size, horizon=horizon, initial_state=0)
