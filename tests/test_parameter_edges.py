"""Parameters at the edges of their accepted ranges give finite results (issue 17, part 2).

Each range is documented with the reason for its bound; here the extreme accepted values run
on extreme inputs and must stay finite, and the first refused value gets the one template.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import banditlab as bl


@pytest.mark.parametrize(("eta_scale", "reward_max"),
                         list(itertools.product([1e-300, 2.0, 1e6], [-1e6, -1.0, 1.0, 1e6])))
def test_tsallis_inf_stays_finite_at_its_range_edges(eta_scale: float, reward_max: float) -> None:
    p = bl.TsallisINF(3, eta_scale=eta_scale, reward_max=reward_max).reset(seed=0)
    p.check_rewards = False                      # extreme losses on purpose
    for t in range(3000):
        a = p.select()
        p.update(a, [-1e6, 0.0, 1e6][t % 3])
        probs = p.action_probabilities()
        assert np.all(np.isfinite(probs)) and abs(probs.sum() - 1.0) < 1e-9


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"eta_scale": 1e308}, r"'eta_scale' must be a float in \(0, 1000000(\.0)?\]; got 1e\+308"),
    ({"reward_max": 2.0 ** 62}, r"'reward_max' must be a float in \[-1000000(\.0)?, "
                                r"1000000(\.0)?\]; got 4\.6"),
])
def test_tsallis_inf_refuses_values_beyond_its_edges(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=rf"^TsallisINF: {pattern}"):
        bl.TsallisINF(3, **kwargs)


def test_ucb_huge_sigma_and_alpha_stay_finite() -> None:
    p = bl.UCB(3, alpha=1e300, sigma=1e300).reset(seed=0)
    for _ in range(50):
        a = p.select()
        p.update(a, 0.5)
    assert p.select() in range(3)


@pytest.mark.parametrize(("low", "high"), [(-1e12, 1e12), (0.0, 1e-12), (1e12 - 1.0, 1e12),
                                           (-1e12, -1e12 + 1.0)])
def test_chebcb_stays_finite_at_its_range_edges(low: float, high: float) -> None:
    from banditlab.sor_tuning import ChebCB

    q = ChebCB(3, low=low, high=high).reset(seed=0)
    rng = np.random.default_rng(0)
    for t in range(300):
        c = [low, high, low + (high - low) * rng.random(), 2 * high - low][t % 4]
        a = q.select(c)
        assert np.all(np.isfinite(q.action_probabilities()))
        q.update(a, -[1.0, 1e4, 3.0][a] * (1 + t % 7))


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"low": -1e308, "high": 1e308}, r"'low' must be a float in \[-1000000000000(\.0)?, "),
    ({"low": 0.0, "high": 1e-300}, r"'high' must be a float in \[1e-12, 1e12\] \(at least "),
    ({"low": 1.0, "high": 0.0}, r"'high' must be a float in \[1\.000000000001, 1e12\]"),
])
def test_chebcb_refuses_ranges_it_cannot_represent(kwargs: dict, pattern: str) -> None:
    from banditlab.sor_tuning import ChebCB

    with pytest.raises(ValueError, match=rf"^ChebCB: {pattern}"):
        ChebCB(3, **kwargs)


@pytest.mark.parametrize("eps", [5e-324, 1e-10, 0.0])
def test_streaming_eps_has_a_floor(eps: float) -> None:
    with pytest.raises(ValueError, match=r"'eps' must be a float in \[1e-09, 1(\.0)?\] or None"):
        bl.NaiveEpsBest(eps=eps)


def test_streaming_eps_at_its_floor_runs_on_the_largest_horizon() -> None:
    from banditlab.envs.streaming import MAX_HORIZON, StreamingBandit
    from banditlab.streaming import run_streaming

    env = StreamingBandit(np.linspace(0.1, 0.9, 20), horizon=MAX_HORIZON, memory=2)
    for alg in (bl.NaiveEpsBest(eps=1e-9), bl.GameOfArms(eps=1e-9)):
        res = run_streaming(alg, env, n_runs=2, seed=0, n_jobs=1)
        assert np.all(np.isfinite(res.final_regret()))
