"""CascadingVI (and ablations), CascadingBPI and AdaptVI: engines, optimism, regret, BPI.

Spec checklist items 5 and 6. Every statistical check runs on fixed seeds and has a canary
(an agent or a curve the same check must reject).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from banditlab.cascading import (
    AdaptVI,
    CascadingBPI,
    CascadingVI,
    CascadingVIBonus,
    CascadingVIOracle,
    run_episodes,
)
from banditlab.cascading.kernels import CascadingVIState, cvi_plan
from banditlab.envs.cascading import CascadingMDP, random_cascading_mdp
from banditlab.errors import IncompatibleEnvError

VI_AGENTS = [CascadingVI, CascadingVIBonus, CascadingVIOracle]
TOL = 1e-9  # floating-point slack of the exact (not statistical) inequalities


@pytest.mark.parametrize("cls", [*VI_AGENTS, AdaptVI])
def test_kernel_and_python_engines_agree(cls) -> None:
    env = random_cascading_mdp(3, 4, 2, 3, seed=2)
    agent = cls.for_env(env, n_episodes=300)
    fast = run_episodes(agent, env, 60, n_runs=2, seed=5, engine="kernel")
    slow = run_episodes(agent, env, 60, n_runs=2, seed=5, engine="python")
    np.testing.assert_array_equal(fast.values, slow.values)
    np.testing.assert_array_equal(fast.returns, slow.returns)
    np.testing.assert_array_equal(fast.upper, slow.upper)
    assert fast.regret.shape == (2, 60) and np.all(np.diff(fast.regret, axis=1) >= -TOL)


@pytest.mark.parametrize("cls", VI_AGENTS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimism_and_pessimism_hold_at_every_episode(cls, seed) -> None:
    """Checklist 5: V̄_1(s1) >= V*_1(s1) and V̲_1(s1) <= V^{π_k}_1(s1) in every episode."""
    env = random_cascading_mdp(2, 4, 2, 2, seed=seed)
    res = run_episodes(cls.for_env(env, n_episodes=3000, delta=0.1), env, 3000, seed=seed)
    assert np.all(res.upper >= res.optimal_value - TOL)
    assert np.all(res.lower <= res.values + TOL)
    assert res.upper[0, -1] - res.lower[0, -1] < res.upper[0, 0] - res.lower[0, 0]


def test_optimism_canary_greedy_planner_is_not_optimistic() -> None:
    """Canary: without bonuses (bonus_scale=0) the same check fails on the same instances."""
    violated = 0
    for seed in (0, 1, 2):
        env = random_cascading_mdp(2, 4, 2, 2, seed=seed)
        res = run_episodes(CascadingVI.for_env(env, n_episodes=3000, delta=0.1, bonus_scale=0.0),
                           env, 3000, seed=seed)
        violated += int(np.any(res.upper < res.optimal_value - TOL))
    assert violated >= 2


def test_optimism_at_every_step_and_state() -> None:
    """V̄_h(s) >= V*_h(s) for all (h, s) along a run (step-by-step API)."""
    env = random_cascading_mdp(3, 4, 2, 3, seed=7)
    v_star = env.optimal_values()
    agent = CascadingVI.for_env(env, n_episodes=400).reset(seed=0)
    env.reset(seed=1)
    for _ in range(400):
        agent.plan()
        assert np.all(agent.state.v_up >= v_star - TOL)
        s, _ = env.reset()
        for h in range(env.horizon):
            action = agent.select(h, s)
            s_next, reward, _, _, info = env.step(action)
            agent.update(h, s, action, info["position"], s_next, reward)
            s = s_next


def _exact_state(env: CascadingMDP, n: float) -> CascadingVIState:
    """Statistics whose empirical model is exactly the true one, with ``n`` samples each."""
    S, N, m, H = env.n_states, env.n_items, env.list_size, env.horizon
    return CascadingVIState(
        np.full((S, N), int(n), np.int64), env.attraction * n,
        np.full((S, N + 1), int(n), np.int64), env.transitions * n, env.rewards,
        np.ones((S, N), np.bool_), np.zeros((H + 1, S)), np.zeros((H + 1, S)),
        np.full((H, S, m), -1, np.int64), 0)


@pytest.mark.parametrize("seed", range(5))
def test_greedy_plan_on_the_exact_model_is_optimal(seed) -> None:
    """Checklist 5, first half: with the exact model and no bonus, the plan is optimal."""
    env = random_cascading_mdp(3, 5, 3, 3, seed=seed)
    agent = CascadingVI.for_env(env, bonus_scale=0.0)
    state = _exact_state(env, 2.0**40)
    up, low = cvi_plan(agent.params, state, 0)
    np.testing.assert_allclose(state.v_up, env.optimal_values(), rtol=0, atol=1e-9)
    assert env.policy_value(state.policy) == pytest.approx(env.optimal_value(), abs=1e-9)
    assert up == pytest.approx(low, abs=1e-9)


def test_oracle_ablation_plans_the_same_values_as_best_perm() -> None:
    """CascadingVI-Oracle (exhaustive) and CascadingVI (BestPerm) on the same statistics."""
    env = random_cascading_mdp(3, 5, 3, 3, seed=4)
    bp = CascadingVI.for_env(env, n_episodes=500)
    ex = CascadingVIOracle.for_env(env, n_episodes=500)
    bp.reset(seed=0)
    ex.reset(seed=0)
    run_env = random_cascading_mdp(3, 5, 3, 3, seed=4)
    run_env.reset(seed=3)
    for _ in range(300):
        bp.plan()
        # copy BestPerm's statistics into the exhaustive agent and plan there too
        for name in ("n_q", "clicks", "n_p", "trans"):
            getattr(ex.state, name)[...] = getattr(bp.state, name)
        ex.episode = bp.episode - 1
        ex.plan()
        np.testing.assert_allclose(ex.state.v_up, bp.state.v_up, rtol=0, atol=1e-12)
        assert ex.upper_value == pytest.approx(bp.upper_value, abs=1e-12)
        s, _ = run_env.reset()
        for h in range(3):
            action = bp.select(h, s)
            s_next, reward, _, _, info = run_env.step(action)
            bp.update(h, s, action, info["position"], s_next, reward)
            s = s_next


def _loglog_slope(regret: np.ndarray) -> float:
    k = regret.shape[-1]
    pts = np.unique(np.geomspace(k // 16, k, 9).round().astype(int))
    return float(np.polyfit(np.log(pts), np.log(regret[pts - 1]), 1)[0])


def test_regret_log_log_slope_is_near_one_half() -> None:
    """Checklist 6: regret grows like sqrt(K) (slope in [0.15, 0.65] over K in [K/16, K]).

    On a fixed instance the regret of an optimistic algorithm eventually turns logarithmic
    (slope -> 0), so the window is the growth phase at K = 40000 with the spec's constants;
    the lower limit rules out an already-flat (or zero) curve, the upper one linear regret.

    Where the window sits on the curve depends on the instance (its gaps set when the local
    slope falls from ~1 to ~0), not on the run: over the instances of seeds 0-39, one run
    each, the slope at K = 20000 was outside [0.15, 0.65] for 12 of 40 instances (0.27-0.85;
    seeds 1 and 5 among them), at K = 40000 for 2 of 40 (0.13-0.73, median 0.39). Two runs
    on one instance differ by at most 0.017 in slope, so one run at K = 40000 (the same
    40000 episodes as two runs at 20000) is the better use of the budget.
    """
    n_episodes = 40_000
    env = random_cascading_mdp(3, 5, 2, 3, seed=0)
    res = run_episodes(CascadingVI.for_env(env, n_episodes=n_episodes), env, n_episodes,
                       n_runs=1, seed=0)
    slope = _loglog_slope(res.regret.mean(axis=0))
    assert 0.15 <= slope <= 0.65, slope
    # canary: an agent that never learns (its first plan, forever) has linear regret
    frozen = CascadingVI.for_env(env, n_episodes=n_episodes).reset(seed=0)
    policy = frozen.plan()
    gap = env.optimal_value() - env.policy_value(policy)
    assert gap > 0
    linear = np.cumsum(np.full(n_episodes, gap))
    assert not 0.15 <= _loglog_slope(linear) <= 0.65


def test_variance_aware_bonus_beats_hoeffding_and_adaptvi_is_worst() -> None:
    """The paper's qualitative ordering on a small instance (2 seeds, fixed).

    At K = 20000. Early on (K of a few thousand) the Bernstein bonus's lower-order term
    ``5 L / n`` makes CascadingVI no better than the Hoeffding ablation; the ordering appears
    once the variance term dominates.
    """
    env = random_cascading_mdp(2, 5, 2, 2, seed=1)
    final = {}
    for cls in (CascadingVI, CascadingVIBonus, AdaptVI):
        res = run_episodes(cls.for_env(env, n_episodes=20_000), env, 20_000, n_runs=2, seed=3)
        final[cls.__name__] = res.final_regret().mean()
    assert final["CascadingVI"] < final["CascadingVIBonus"] < final["AdaptVI"], final


# -- best policy identification --------------------------------------------------------------
def _bpi_failures(bonus_scale: float, n_seeds: int) -> tuple[int, list]:
    env = random_cascading_mdp(2, 3, 2, 2, seed=35)
    out = [CascadingBPI.for_env(env, epsilon=0.3, delta=0.1, bonus_scale=bonus_scale,
                                max_episodes=200_000).identify(env, seed=seed)
           for seed in range(n_seeds)]
    return sum(r.suboptimality > 0.3 or not r.stopped for r in out), out


def _bpi_limit(n: int, delta: float) -> int:
    """Failures ~ Binomial(n, <= delta): more than this has probability < 1e-4."""
    return int(stats.binom.isf(1e-4, n, delta))


def test_bpi_returns_an_epsilon_optimal_policy_with_probability_one_minus_delta() -> None:
    n, delta = 30, 0.1
    # seeds are fixed, so the outcome is deterministic; 1e-4 rather than 1e-6 keeps the
    # check's power at n = 30 seeds, a budget that runs in about a second
    limit = _bpi_limit(n, delta)
    failures, results = _bpi_failures(1.0, n)
    assert failures <= limit
    for r in results:
        assert r.stopped and r.upper_value - r.lower_value <= 0.3
        assert r.lower_value <= r.policy_value + TOL and r.upper_value >= r.optimal_value - TOL
        assert r.n_episodes > 0
    # canary: without bonuses the stopping rule fires after a few episodes (3.4 on average), on a
    # policy that is more than 0.3 suboptimal in 30.7 % of seeds on this instance (measured
    # over seeds 0-999). At n = 30 that rarely exceeds the limit of 10 (P ~ 0.30: only 8 of
    # 33 blocks of 30 seeds did), so the canary gets the same test at n = 300 seeds (limit
    # 51, P(detect) > 0.9999), which costs ~0.15 s because the canary stops at once. The
    # instance is fixed on purpose: at epsilon = 0.3 the canary's failure rate on generated
    # instances is 0-0.34 (instance seeds 30-45, 200 seeds each), at or below delta on about
    # half of them, where no number of seeds can detect it.
    n_canary = 300
    canary_failures, _ = _bpi_failures(0.0, n_canary)
    assert canary_failures > _bpi_limit(n_canary, delta)


def test_bpi_budget_exhausted_is_reported() -> None:
    env = random_cascading_mdp(2, 3, 2, 2, seed=3)
    r = CascadingBPI.for_env(env, epsilon=0.01, max_episodes=50).identify(env, seed=0)
    assert not r.stopped and r.n_episodes == 50
    assert r.policy.shape == (2, 2, 2)


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "exc", "pattern"), [
    (lambda: CascadingVI(2, 3, 4, 2), ValueError,
     r"CascadingVI: 'list_size' must be an int in \[1, 3\] \(at most n_items\); got 4\."),
    (lambda: CascadingVI(2, 3, 2, 2, delta=1.0), ValueError,
     r"CascadingVI: 'delta' must be a float in \(0, 1\); got 1\.0\."),
    (lambda: CascadingVI(2, 3, 2, 2, initial_state=2), ValueError,
     r"CascadingVI: 'initial_state' must be an int in \[0, 1\]; got 2\."),
    (lambda: CascadingVI(2, 3, 2, 2, rewards=np.ones((3, 2))), ValueError,
     r"CascadingVI: 'rewards' must be an array of shape \(2, 3\) \(S, N\) or None"),
    (lambda: CascadingVIBonus(2.0, 3, 2, 2), TypeError,
     r"CascadingVIBonus: 'n_states' must be an int in \[1, inf\); got float 2\.0\."),
    (lambda: AdaptVI(2, 3, 2, 2, bonus_scale=-1.0), ValueError,
     r"AdaptVI: 'bonus_scale' must be a float in \[0, inf\); got -1\.0\."),
    (lambda: CascadingBPI(2, 3, 2, 2, epsilon=0.0), ValueError,
     r"CascadingBPI: 'epsilon' must be a float in \(0, inf\); got 0\.0\."),
    (lambda: CascadingBPI(2, 3, 2, 2, epsilon=3.0), ValueError,
     r"CascadingBPI: 'epsilon' must be a float in \(0, 2\] \(at most the horizon\); got 3\.0\."),
    (lambda: CascadingVI.for_env(random_cascading_mdp(2, 3, 2, 2), reward_known=1), TypeError,
     r"CascadingVI\.for_env: 'reward_known' must be a bool; got int 1\."),
])
def test_agent_validation(call, exc, pattern) -> None:
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_progress_bar_and_workers_leave_results_unchanged(n_jobs, capsys) -> None:
    """A bar over runs appears on stderr when asked for; neither it nor the number of worker
    processes (one task per run) changes a single number."""
    env = random_cascading_mdp(2, 3, 2, 2, seed=0)
    agent = CascadingVI.for_env(env, n_episodes=50)
    quiet = run_episodes(agent, env, 50, n_runs=3, seed=4, progress=False)
    assert "CascadingVI" not in capsys.readouterr().err
    shown = run_episodes(agent, env, 50, n_runs=3, seed=4, n_jobs=n_jobs, progress=True)
    err = capsys.readouterr().err
    assert "CascadingVI" in err and "3/3" in err
    for field in ("values", "upper", "lower", "returns"):
        np.testing.assert_array_equal(getattr(shown, field), getattr(quiet, field))


def test_runner_and_step_api_validation() -> None:
    env = random_cascading_mdp(2, 3, 2, 2, seed=0)
    agent = CascadingVI.for_env(env)
    with pytest.raises(RuntimeError, match=r"CascadingVI\.plan: call reset\(seed=\.\.\.\) first"):
        agent.plan()
    agent.reset(seed=0)
    agent.plan()
    with pytest.raises(ValueError, match=r"CascadingVI\.update: 'position' must be an int in "
                                         r"\[-1, 1\]; got 2\."):
        agent.update(0, 0, [0, 1], 2, 0, 0.0)
    with pytest.raises(ValueError, match=r"CascadingVI\.update: 'action' must be a list .*"
                                         r"\(item 0 is repeated\)"):
        agent.update(0, 0, [0, 0], -1, 0, 0.0)
    other = random_cascading_mdp(3, 3, 2, 2, seed=0)
    with pytest.raises(IncompatibleEnvError, match=r"run_episodes: CascadingVI has \(n_states, "
                                                   r"n_items, list_size, horizon, "
                                                   r"initial_state\)=\(2, 3, 2, 2, 0\) but the "
                                                   r"env has \(3, 3, 2, 2, 0\)\."):
        run_episodes(agent, other, 10)
    with pytest.raises(ValueError, match=r"run_episodes: 'engine' must be one of 'kernel', "
                                         r"'python'; got 'gpu'\."):
        run_episodes(agent, env, 10, engine="gpu")
    with pytest.raises(TypeError, match=r"run_episodes: 'progress' must be a bool or None; "
                                        r"got 1\."):
        run_episodes(agent, env, 10, progress=1)
    adapt = AdaptVI.for_env(env).reset(seed=0)
    plan = adapt.plan()
    wrong = [1, 0] if plan[0, 0].tolist() != [1, 0] else [0, 1]
    with pytest.raises(ValueError, match=r"AdaptVI\.update: 'action' must be the planned list"):
        adapt.update(0, 0, wrong, -1, 0, 0.0)


def test_unknown_rewards_are_learned_and_optimism_still_holds() -> None:
    env = random_cascading_mdp(2, 3, 2, 2, seed=5)
    agent = CascadingVI.for_env(env, reward_known=False, n_episodes=2000, delta=0.1)
    res = run_episodes(agent, env, 2000, seed=1)
    assert np.all(res.upper >= res.optimal_value - TOL)
    agent.reset(seed=0)
    env.reset(seed=2)
    for _ in range(200):
        agent.plan()
        s, _ = env.reset()
        for h in range(env.horizon):
            action = agent.select(h, s)
            s_next, reward, _, _, info = env.step(action)
            agent.update(h, s, action, info["position"], s_next, reward)
            s = s_next
    seen = agent.state.r_seen
    assert seen.sum() >= 3
    np.testing.assert_array_equal(agent.state.r_hat[seen], env.rewards[seen])


def test_reproduction_is_registered() -> None:
    from banditlab.reproduce import get_reproduction

    rep = get_reproduction("cascading-rl")
    assert rep.quick_budget_s == 180.0 and "CascadingVI" in rep.description
