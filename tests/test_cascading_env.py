"""Cascading MDP simulator: API, action validation, click law, returns, instance generators."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy import stats

from banditlab.cascading import evaluate_policy, value_iteration
from banditlab.envs.cascading import (
    CascadingMDP,
    RankedListSpace,
    movielens_cascading_mdp,
    random_cascading_mdp,
)

FAIL_PROB = 1e-6  # fixed seeds; a correct simulator fails a check with at most this probability

SMALL = {
    "attraction": [[0.5, 0.2, 0.7], [0.3, 0.6, 0.1]],
    "rewards": [[1.0, 0.5, 0.2], [0.3, 0.9, 0.6]],
    "transitions": [[[0.5, 0.5]] * 4, [[0.2, 0.8]] * 4],
    "list_size": 2,
    "horizon": 3,
}


def test_registered_and_passes_gymnasium_check_env() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gymnasium.make("banditlab/CascadingMDP-v0", **SMALL)
        check_env(env.unwrapped, skip_render_check=True)
    assert [str(w.message) for w in caught] == []
    assert isinstance(env.unwrapped, CascadingMDP)
    assert env.action_space == env.unwrapped.action_space
    assert isinstance(env.action_space, RankedListSpace)


def test_episode_api_and_feedback_up_to_the_click() -> None:
    env = CascadingMDP(**SMALL)
    s, info = env.reset(seed=3)
    assert s == 0 and info == {}
    for h in range(3):
        s_next, reward, terminated, truncated, info = env.step([2, 0])
        pos = info["position"]
        assert terminated is False and truncated is (h == 2)
        if pos >= 0:
            assert info["clicked"] == [2, 0][pos]
            assert info["n_examined"] == pos + 1
            assert info["attractions"].tolist() == [0] * pos + [1]
            assert reward == SMALL["rewards"][s][[2, 0][pos]]
        else:
            assert info["clicked"] == -1 and info["n_examined"] == 2 and reward == 0.0
            assert info["attractions"].tolist() == [0, 0]
        s = s_next
    with pytest.raises(RuntimeError, match=r"CascadingMDP\.step: the episode has ended"):
        env.step([0])


def test_same_seed_same_rollout_and_padded_form_equals_plain_form() -> None:
    traces = []
    for action in ([1, 0], np.array([1, 0]), [1, 0]):
        env = CascadingMDP(**SMALL)
        env.reset(seed=11)
        traces.append([env.step(action)[:2] for _ in range(3)])
    assert traces[0] == traces[1] == traces[2]
    a, b = CascadingMDP(**SMALL), CascadingMDP(**SMALL)
    a.reset(seed=5)
    b.reset(seed=5)
    assert [a.step([2])[:2] for _ in range(3)] == [b.step([2, -1])[:2] for _ in range(3)]


@pytest.mark.parametrize(("action", "exc", "why"), [
    ([], ValueError, r"\[\] \(no item\)"),
    ([-1, -1], ValueError, r"\(no item\)"),
    ([1, 1], ValueError, r"\(item 1 is repeated\)"),
    ([3], ValueError, r"\(unknown item 3\)"),
    ([0, -2], ValueError, r"\(unknown item -2\)"),
    ([0, 1, 2], ValueError, r"\(length 3 > 2\)"),
    ([-1, 1], ValueError, r"\(-1 padding before an item\)"),
    (1, TypeError, r"int 1"),
    ("ab", TypeError, r"str 'ab'"),
    ([0.5], TypeError, r"\[0\.5\]"),
    ([[0, 1]], TypeError, r"\[\[0, 1\]\]"),
])
def test_invalid_lists_are_clear_errors(action: object, exc: type, why: str) -> None:
    env = CascadingMDP(**SMALL)
    env.reset(seed=0)
    with pytest.raises(exc, match=r"^CascadingMDP\.step: 'action' must be a list of 1 to 2 "
                                  r"distinct item ids in \[0, 2\] \(top first, optionally padded "
                                  r"with -1 to length 2\); got .*" + why):
        env.step(action)
    assert env.t == 0  # a rejected action does not advance the episode


def test_action_space_samples_are_valid_lists() -> None:
    space = RankedListSpace(5, 3, seed=0)
    lengths = set()
    for _ in range(200):
        x = space.sample()
        assert space.contains(x) and x.shape == (3,)
        k = int(np.sum(x >= 0))
        lengths.add(k)
        assert len(set(x[:k].tolist())) == k and np.all(x[k:] == -1)
    assert lengths == {1, 2, 3}
    assert not space.contains(np.array([1, 1, -1]))
    assert not space.contains(np.array([1, 2]))  # not the fixed-length form
    with pytest.raises(ValueError, match=r"RankedListSpace: 'max_len' must be an int in \[1, 5\]"):
        RankedListSpace(5, 6)


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), [
    ({"attraction": [[1.5, 0.2, 0.7], [0.3, 0.6, 0.1]]}, ValueError,
     r"CascadingMDP: 'attraction' must be a 2-d array of floats .*entries in \[0, 1\]"),
    ({"rewards": [[1.0, 0.5], [0.3, 0.9]]}, ValueError,
     r"CascadingMDP: 'rewards' must be an array of shape \(2, 3\) \(like 'attraction'\); "
     r"got shape \(2, 2\)\."),
    ({"transitions": [[[0.5, 0.5]] * 3, [[0.2, 0.8]] * 3]}, ValueError,
     r"CascadingMDP: 'transitions' must be an array of shape \(2, 4, 2\) \(S, N \+ 1, S\)"),
    ({"transitions": [[[0.5, 0.4]] * 4, [[0.2, 0.8]] * 4]}, ValueError,
     r"CascadingMDP: 'transitions' must have rows summing to 1; got a row \(0, 0\) summing to "
     r"0\.9"),
    ({"list_size": 4}, ValueError, r"CascadingMDP: 'list_size' must be an int in \[1, 3\]; got 4"),
    ({"list_size": 1.0}, TypeError, r"CascadingMDP: 'list_size' must be an int"),
    ({"horizon": 0}, ValueError, r"CascadingMDP: 'horizon' must be an int in \[1, inf\); got 0"),
    ({"initial_state": 2}, ValueError,
     r"CascadingMDP: 'initial_state' must be an int in \[0, 1\]; got 2"),
])
def test_constructor_validation(kwargs: dict, exc: type, pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        CascadingMDP(**{**SMALL, **kwargs})


# -- the click law (checklist 1) ------------------------------------------------------------
def _click_counts(env: CascadingMDP, action: list[int], n: int, seed: int) -> np.ndarray:
    """Click positions of ``n`` one-step episodes (last cell: no click)."""
    counts = np.zeros(len(action) + 1, np.int64)
    env.reset(seed=seed)
    for _ in range(n):
        env.reset()
        _, _, _, _, info = env.step(action)
        counts[info["position"]] += 1  # position -1 (no click) lands in the last cell
    return counts


def _one_state_env(q: list[float]) -> CascadingMDP:
    n = len(q)
    return CascadingMDP([q], [[1.0] * n], np.ones((1, n + 1, 1)), list_size=n, horizon=1)


def test_click_distribution_matches_the_cascade_model() -> None:
    q = [0.3, 0.0, 0.5, 0.9]
    env = _one_state_env(q)
    action = [2, 1, 0, 3]
    law = env.click_probabilities(0, action)
    u = np.array(q)[action]
    expected = [u[0], (1 - u[0]) * u[1], (1 - u[0]) * (1 - u[1]) * u[2],
                (1 - u[0]) * (1 - u[1]) * (1 - u[2]) * u[3], np.prod(1 - u)]
    np.testing.assert_allclose(law, expected, rtol=0, atol=1e-15)
    counts = _click_counts(env, action, 20_000, seed=1)
    assert counts[1] == 0  # q = 0: never clicked
    keep = law > 0
    chi = stats.chisquare(counts[keep], law[keep] * counts.sum())
    assert chi.pvalue > FAIL_PROB
    # canary: the same counts must reject a wrong law (attraction without the cascade survival)
    wrong = u / u.sum() * (1 - np.prod(1 - u))
    wrong = np.append(wrong, np.prod(1 - u))[keep]
    assert stats.chisquare(counts[keep], wrong * counts.sum()).pvalue < FAIL_PROB


def test_monte_carlo_returns_match_policy_evaluation() -> None:
    """Checklist 2: the Bellman value of a fixed policy equals its mean simulated return."""
    env = random_cascading_mdp(3, 4, 2, 3, seed=4)
    policy = env.optimal_policy()
    other = np.full_like(policy, -1)
    other[..., 0] = 3
    n = 4000
    returns = np.empty(n)
    env.reset(seed=9)
    for i in range(n):
        s, _ = env.reset()
        total = 0.0
        for h in range(3):
            s, reward, _, _, _ = env.step(policy[h, s])
            total += reward
        returns[i] = total
    z = stats.norm.isf(FAIL_PROB / 2)
    half_width = z * 3.0 / (2 * np.sqrt(n))   # returns lie in [0, 3]: sd <= 1.5
    assert abs(returns.mean() - env.policy_value(policy)) <= half_width
    assert env.policy_value(policy) == pytest.approx(env.optimal_value(), abs=1e-12)
    # canary: a clearly worse policy's value is rejected by the same check
    assert env.optimal_value() - env.policy_value(other) > 2 * half_width
    assert abs(returns.mean() - env.policy_value(other)) > half_width


def test_forward_and_backward_list_values_agree_and_expected_reward() -> None:
    env = CascadingMDP(**SMALL)
    env.reset(seed=0)
    # one-step expected reward of [2, 0] in state 0: 0.7 * 0.2 + 0.3 * 0.5 * 1.0
    assert env.expected_reward([2, 0]) == pytest.approx(0.7 * 0.2 + 0.3 * 0.5 * 1.0, abs=1e-15)
    assert env.optimal_expected_reward() == pytest.approx(
        env.expected_reward(env.optimal_policy()[0, 0]), abs=1e-15)


def test_policy_value_validation() -> None:
    env = CascadingMDP(**SMALL)
    with pytest.raises(ValueError, match=r"'policy' must be an int array of shape \(3, 2, 2\)"):
        env.policy_value(np.zeros((3, 2), np.int64))
    bad = env.optimal_policy()
    bad[1, 1] = [0, 0]
    with pytest.raises(ValueError, match=r"\(item 0 is repeated\)"):
        env.policy_value(bad)


# -- generators -------------------------------------------------------------------------------
def test_random_generator_is_reproducible_and_well_formed() -> None:
    a = random_cascading_mdp(4, 5, 3, 2, seed=7)
    b = random_cascading_mdp(4, 5, 3, 2, seed=7)
    c = random_cascading_mdp(4, 5, 3, 2, seed=8)
    np.testing.assert_array_equal(a.attraction, b.attraction)
    assert not np.array_equal(a.attraction, c.attraction)
    assert a.transitions.shape == (4, 6, 4)
    np.testing.assert_allclose(a.transitions.sum(axis=2), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match=r"random_cascading_mdp: 'list_size' must be an int in "
                                         r"\[1, 5\]; got 6"):
        random_cascading_mdp(4, 5, 6, 2)


def _write_movielens(folder: Path) -> None:
    """A tiny data set in the MovieLens 100K format: 4 users, 4 movies, 3 genres."""
    ratings = [  # user item rating timestamp
        (1, 1, 5), (1, 2, 3), (1, 3, 4),
        (2, 1, 4), (2, 2, 5),
        (3, 1, 2), (3, 4, 5), (3, 3, 1),
        (4, 2, 4), (4, 1, 1),
    ]
    folder.joinpath("u.data").write_text(
        "".join(f"{u}\t{i}\t{r}\t88125{k:04d}\n" for k, (u, i, r) in enumerate(ratings)))
    items = [  # id|title|date|video date|url|g0|g1|g2
        "1|Alpha (1995)|01-Jan-1995||http://x|0|1|0",
        "2|Beta (1995)|01-Jan-1995||http://x|0|1|1",
        "3|Gamma (1996)|01-Jan-1996||http://x|1|0|0",
        "4|D\xe9lta (1996)|01-Jan-1996||http://x|0|0|0",
    ]
    folder.joinpath("u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))


def test_movielens_construction_on_a_small_file(tmp_path: Path) -> None:
    _write_movielens(tmp_path)
    env = movielens_cascading_mdp(tmp_path, n_items=3, list_size=2, horizon=2)
    # most-rated: movie 1 (4 ratings), movie 2 (3), then movie 3 (2)
    assert (env.n_states, env.n_items, env.list_size, env.horizon) == (4, 3, 2, 2)
    assert env.initial_state == 0
    q = env.attraction
    # start state: all 4 users; movie 1 liked (>= 4) by users 1, 2
    assert q[0].tolist() == pytest.approx([2 / 4, 2 / 4, 1 / 4])
    # genre 0 (state 1): users who rated a genre-0 movie (movie 3): users 1 and 3
    assert q[1].tolist() == pytest.approx([1 / 2, 0.02, 1 / 2])  # clipped from 0 to q_min
    # genre 1 (state 2): raters of movies 1 or 2: all 4 users
    assert q[2].tolist() == pytest.approx(q[0].tolist())
    r = env.rewards
    assert r[0].tolist() == pytest.approx([(3.0 - 1) / 4, (4.0 - 1) / 4, (2.5 - 1) / 4])
    p = env.transitions
    assert p[0, 0].tolist() == [0.0, 0.0, 1.0, 0.0]          # movie 1: genre 1
    assert p[2, 1].tolist() == [0.0, 0.0, 0.5, 0.5]          # movie 2: genres 1 and 2
    assert p[3, 3].tolist() == pytest.approx([0.0, 1 / 6, 1 / 6, 0.5 + 1 / 6])  # no click
    # .gz ratings are read too, with the same result
    import gzip

    data = tmp_path.joinpath("u.data").read_bytes()
    gz_dir = tmp_path / "gz"
    gz_dir.mkdir()
    gz_dir.joinpath("u.data.gz").write_bytes(gzip.compress(data))
    gz_dir.joinpath("u.item").write_bytes(tmp_path.joinpath("u.item").read_bytes())
    env_gz = movielens_cascading_mdp(gz_dir, n_items=3, list_size=2, horizon=2)
    np.testing.assert_array_equal(env_gz.attraction, q)


def test_movielens_errors(tmp_path: Path) -> None:
    nope = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=r"^movielens_cascading_mdp: MovieLens 100K "
                                                r"\(u\.data or u\.data\.gz and u\.item or "
                                                r"u\.item\.gz\) not found; looked in "
                                                rf"{re.escape(repr(str(nope)))}, "):
        movielens_cascading_mdp(nope)
    tmp_path.joinpath("u.item").write_text("1|A|||x|0\n")
    with pytest.raises(FileNotFoundError, match=r"MovieLens 100K \(u\.data or u\.data\.gz and "):
        movielens_cascading_mdp(tmp_path)
    tmp_path.joinpath("u.item").unlink()
    _write_movielens(tmp_path)
    with pytest.raises(ValueError, match=r"'n_items' must be an int in \[1, 4\] \(movies with "
                                         r"ratings\); got 5"):
        movielens_cascading_mdp(tmp_path, n_items=5)
    with pytest.raises(TypeError, match=r"'path' must be a str or Path"):
        movielens_cascading_mdp(3)
    tmp_path.joinpath("u.data").write_text("1\t2\n")
    with pytest.raises(ValueError, match=r"u\.data line 1 must be 'user item rating timestamp'"):
        movielens_cascading_mdp(tmp_path, n_items=2, list_size=2)


def test_value_iteration_front_matches_env_oracle() -> None:
    env = random_cascading_mdp(3, 4, 2, 3, seed=1)
    values, policy = value_iteration(env)
    np.testing.assert_array_equal(values, env.optimal_values())
    np.testing.assert_allclose(evaluate_policy(env, policy), values, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"value_iteration: 'oracle' must be one of 'bestperm', "
                                         r"'exhaustive'; got 'dp'"):
        value_iteration(env, oracle="dp")
    with pytest.raises(TypeError, match=r"value_iteration: 'env' must be a CascadingMDP"):
        value_iteration(3)


def test_movielens_shuffled_items_and_attraction_scale(tmp_path: Path) -> None:
    """Issue 16, item 3: item ids can be shuffled (seeded) so BestPerm's tie rule does not
    favour popular items, and attractions can be scaled to click-through-like values."""
    _write_movielens(tmp_path)
    kw = {"n_items": 4, "list_size": 2, "horizon": 2}
    pop = movielens_cascading_mdp(tmp_path, **kw)
    a = movielens_cascading_mdp(tmp_path, item_order="shuffled", seed=3, **kw)
    b = movielens_cascading_mdp(tmp_path, item_order="shuffled", seed=3, **kw)
    np.testing.assert_array_equal(a.attraction, b.attraction)       # seeded
    perm = np.random.default_rng(3).permutation(4)
    assert perm.tolist() != [0, 1, 2, 3]                            # a real shuffle
    np.testing.assert_array_equal(a.attraction, pop.attraction[:, perm])
    np.testing.assert_array_equal(a.rewards, pop.rewards[:, perm])
    np.testing.assert_array_equal(a.transitions[:, :4], pop.transitions[:, perm])
    np.testing.assert_array_equal(a.transitions[:, 4], pop.transitions[:, 4])   # no click
    # the same MDP up to renaming items: the same optimal value
    assert a.optimal_value() == pytest.approx(pop.optimal_value())
    ctr = movielens_cascading_mdp(tmp_path, attraction_scale=0.1, **kw)
    np.testing.assert_allclose(ctr.attraction, 0.1 * pop.attraction, rtol=1e-15)
    with pytest.raises(ValueError, match=r"'item_order' must be one of 'popularity', "
                                         r"'shuffled'; got 'random'"):
        movielens_cascading_mdp(tmp_path, item_order="random", **kw)
    with pytest.raises(ValueError, match=r"'attraction_scale' must be a float in \(0, 1\]"):
        movielens_cascading_mdp(tmp_path, attraction_scale=0.0, **kw)
    with pytest.raises(ValueError, match=r"'seed' must be None or an int in \[0, inf\)"):
        movielens_cascading_mdp(tmp_path, item_order="shuffled", seed=-1, **kw)
