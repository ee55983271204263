"""``run``/``run_many``: checkpoints, horizon and compatibility errors, engines and seeds."""

from __future__ import annotations

import random
from typing import Any

import gymnasium
import numpy as np
import pytest

import banditlab as bl
from banditlab.runner import make_checkpoints, resolve_engine


def bern(horizon: int = 100) -> bl.BernoulliBandit:
    return bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=horizon)


# -- checkpoints ------------------------------------------------------------------------------
def test_checkpoints_default() -> None:
    np.testing.assert_array_equal(make_checkpoints(100), np.arange(1, 101))
    big = make_checkpoints(5000)
    assert big.shape == (200,) and big[0] == 25 and big[-1] == 5000
    assert np.all(np.diff(big) == 25)


def test_checkpoints_log() -> None:
    pts = make_checkpoints(10_000, "log")
    assert pts[0] == 1 and pts[-1] == 10_000 and np.all(np.diff(pts) > 0)
    assert 50 <= pts.size <= 100
    ratios = pts[1:] / pts[:-1]
    assert ratios[-10:].max() < 1.2  # log-spaced: constant ratio at the end
    np.testing.assert_array_equal(make_checkpoints(3, "log"), [1, 2, 3])


@pytest.mark.parametrize(("spec", "want"), [
    (4, [25, 50, 75, 100]), (1, [100]), (1000, list(range(1, 101))),
    ([5, 50], [5, 50, 100]), (np.array([10, 100]), [10, 100]), ((1, 2, 3), [1, 2, 3, 100]),
    (np.array([7], dtype=np.uint8), [7, 100]),
])
def test_checkpoints_int_and_arrays(spec: Any, want: list[int]) -> None:
    pts = make_checkpoints(100, spec)
    assert pts.dtype == np.int64 and pts.flags.c_contiguous
    assert pts.tolist() == want


@pytest.mark.parametrize(("spec", "exc", "pattern"), [
    ("lin", ValueError, r"run_many: 'checkpoints' must be one of 'log', 'auto'; got 'lin'\."),
    (0, ValueError, r"run_many: 'checkpoints' must be an int in \[1, inf\); got 0\."),
    ([3, 2], ValueError, r"run_many: 'checkpoints' must be strictly increasing ints in "
                         r"\[1, 100\]; got \[3, 2\]\."),
    ([0, 5], ValueError, r"strictly increasing ints in \[1, 100\]; got \[0, 5\]"),
    ([5, 101], ValueError, r"strictly increasing ints in \[1, 100\]"),
    ([2, 2], ValueError, r"strictly increasing"),
    ([1.5, 3.0], TypeError, r"run_many: 'checkpoints' must be None, 'log', an int or a 1-d "
                            r"array of ints in \[1, 100\]; got \[1\.5, 3\.0\]\."),
    ([], TypeError, r"'checkpoints' must be None, 'log', an int or a 1-d array"),
    ([[1, 2]], TypeError, r"'checkpoints' must be None, 'log', an int or a 1-d array"),
    (True, TypeError, r"'checkpoints' must be None, 'log', an int or a 1-d array"),
    ({"a": 1}, TypeError, r"'checkpoints' must be None, 'log', an int or a 1-d array"),
])
def test_bad_checkpoints(spec: Any, exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        make_checkpoints(100, spec)
    with pytest.raises(exc, match=pattern):
        bl.run_many(bl.UCB(3), bern(), checkpoints=spec)


@pytest.mark.parametrize("engine", ["kernel", "python"])
def test_checkpoints_subsample_the_full_curve(engine: str) -> None:
    full = bl.run_many(bl.UCB(3), bern(), n_runs=3, seed=4, engine=engine)
    part = bl.run_many(bl.UCB(3), bern(), n_runs=3, seed=4, engine=engine,
                       checkpoints=[1, 9, 50])
    np.testing.assert_array_equal(part.checkpoints, [1, 9, 50, 100])
    np.testing.assert_array_equal(part.regret, full.regret[:, [0, 8, 49, 99]])
    assert np.all(np.diff(full.regret, axis=1) >= -1e-12)  # pseudo-regret never decreases


# -- horizon, pairs and engines ---------------------------------------------------------------
def test_horizon_defaults_to_the_env_and_cannot_exceed_it() -> None:
    assert bl.run(bl.UCB(3), bern(80), seed=0).horizon == 80
    assert bl.run(bl.UCB(3), bern(80), 30, seed=0).regret.shape == (1, 30)
    with pytest.raises(ValueError, match=r"run_many: 'horizon' must be an int in \[1, 80\]; "
                                         r"got 81\."):
        bl.run(bl.UCB(3), bern(80), 81)
    with pytest.raises(ValueError, match=r"'horizon' must be an int in \[1, 80\]; got 0\."):
        bl.run(bl.UCB(3), bern(80), 0)
    with pytest.raises(TypeError, match=r"'horizon' must be an int in \[1, 80\]; got float"):
        bl.run(bl.UCB(3), bern(80), 10.0)


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), [
    ({"n_runs": 0}, ValueError,
     r"run_many: 'n_runs' must be an int in \[1, 2147483648\]; got 0\."),
    ({"n_jobs": 0}, ValueError, r"run_many: 'n_jobs' must be None, -1 or an int in "
                                r"\[1, inf\); got 0\."),
    ({"engine": "gpu"}, ValueError, r"run_many: 'engine' must be one of 'auto', 'kernel', "
                                    r"'python'; got 'gpu'\."),
    ({"progress": 1}, TypeError, r"run_many: 'progress' must be a bool, None or a "
                                 r"ProgressBar; got 1\."),
    ({"seed": -1}, ValueError, r"run_many: 'seed' must be None, a non-negative int or a "
                               r"numpy.random.SeedSequence; got -1\."),
    ({"seed": 1.5}, TypeError, r"run_many: 'seed' must be None, a non-negative int"),
    ({"seed": np.random.default_rng(0)}, TypeError, r"run_many: 'seed' must be None"),
])
def test_bad_run_many_arguments(kwargs: dict[str, Any], exc: type[Exception],
                                pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        bl.run_many(bl.UCB(3), bern(), **kwargs)


def test_policy_env_mismatch() -> None:
    with pytest.raises(bl.IncompatibleEnvError,
                       match=r"run_many: UCB has n_arms=4 but BernoulliBandit has action space "
                             r"Discrete\(3\)\."):
        bl.run(bl.UCB(4), bern())
    with pytest.raises(bl.IncompatibleEnvError,
                       match=r"run_many: LinUCB needs observations of shape \(3, 2\) \(arm "
                             r"features\); BernoulliBandit observes Discrete\(1\)\."):
        bl.run(bl.LinUCB(3, n_features=2), bern())
    linear = bl.LinearBandit([1.0, 0.0, 0.5], n_arms=3, horizon=20)
    with pytest.raises(bl.IncompatibleEnvError, match=r"LinUCB needs observations of shape "
                                                      r"\(3, 2\)"):
        bl.run(bl.LinUCB(3, n_features=2), linear)
    with pytest.raises(TypeError, match=r"run_many: 'policy' must be a banditlab Policy; "
                                        r"got str 'UCB'\."):
        bl.run("UCB", bern())
    with pytest.raises(TypeError, match=r"run_many: 'env' must be a gymnasium.Env; got list \["):
        bl.run(bl.UCB(3), [0.2, 0.5, 0.7])
    assert issubclass(bl.IncompatibleEnvError, TypeError)


def test_env_without_an_oracle_is_rejected() -> None:
    env = gymnasium.make("CartPole-v1")
    with pytest.raises(bl.IncompatibleEnvError,
                       match=r"run_many: pseudo-regret needs expected_reward\(\) on the env; "
                             r"CartPoleEnv has none\."):
        bl.run(bl.UCB(2), env, 10)


class PythonOnlyBandit(bl.BanditEnv):
    """A two-armed env with no ``kernel_arrays``: runs on the Python engine only."""

    def __init__(self, horizon: int = 30) -> None:
        super().__init__()
        self.n_arms, self.horizon, self._params = 2, horizon, {"horizon": horizon}
        self.action_space = gymnasium.spaces.Discrete(2)
        self.observation_space = gymnasium.spaces.Discrete(1)

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self._start_episode()
        return 0, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
        arm = bl.envs.check_action(action, 2, "PythonOnlyBandit")
        reward = float(self.np_random.random() < (0.3, 0.6)[arm])
        return 0, reward, False, self._advance(), {}

    def expected_reward(self, action: int) -> float:
        return (0.3, 0.6)[action]

    def optimal_expected_reward(self) -> float:
        return 0.6


def test_engine_kernel_on_an_incompatible_env() -> None:
    with pytest.raises(bl.IncompatibleEnvError,
                       match=r"^UCB: engine='kernel' needs an env with kernel_arrays\(\); "
                             r"PythonOnlyBandit has none\. Use engine='python'\.$"):
        bl.run(bl.UCB(2), PythonOnlyBandit(), engine="kernel")
    linear = bl.LinearBandit([1.0, 0.0], n_arms=3, horizon=20)
    with pytest.raises(bl.IncompatibleEnvError,
                       match=r"^UCB: engine='kernel' needs a 'karmed' env; LinearBandit is a "
                             r"'linear' env\. Use engine='python'\.$"):
        bl.run(bl.UCB(3), linear, engine="kernel")
    # 'auto' falls back to the Python engine, which runs any compatible pair
    res = bl.run(bl.UCB(2), PythonOnlyBandit(), seed=0)
    assert res.engine == "python" and res.pulls.sum() == 30
    assert resolve_engine(bl.UCB(3), linear, "auto") == "python"
    assert resolve_engine(bl.UCB(3), bern(), "auto") == "kernel"
    assert resolve_engine(bl.LinUCB(3, n_features=2), linear, "auto") == "kernel"


def test_gymnasium_make_wrapped_envs_run_on_both_engines() -> None:
    env = gymnasium.make("banditlab/BernoulliBandit-v0", means=[0.2, 0.5, 0.7], horizon=50)
    a = bl.run_many(bl.UCB(3), env, n_runs=2, seed=1, engine="kernel")
    b = bl.run_many(bl.UCB(3), env, n_runs=2, seed=1, engine="python")
    c = bl.run_many(bl.UCB(3), bern(50), n_runs=2, seed=1)
    assert a.regret.tobytes() == b.regret.tobytes() == c.regret.tobytes()


def test_env_ending_early_is_reported() -> None:
    class Short(PythonOnlyBandit):
        def step(self, action: Any) -> tuple[int, float, bool, bool, dict]:
            obs, r, _, trunc, info = super().step(action)
            return obs, r, self.t >= 3, trunc, info

    with pytest.raises(RuntimeError, match=r"run_many: Short ended its episode after 3 rounds, "
                                           r"before horizon=30\."):
        bl.run(bl.UCB(2), Short())


# -- seeds ------------------------------------------------------------------------------------
def test_seed_none_records_entropy_that_replays_the_run() -> None:
    first = bl.run_many(bl.ThompsonSampling(3), bern(200), n_runs=3, seed=None)
    assert isinstance(first.seed_entropy, int) and first.seed_entropy > 2 ** 64
    again = bl.run_many(bl.ThompsonSampling(3), bern(200), n_runs=3, seed=first.seed_entropy)
    assert again.regret.tobytes() == first.regret.tobytes()
    assert np.array_equal(again.pulls, first.pulls)
    other = bl.run_many(bl.ThompsonSampling(3), bern(200), n_runs=3, seed=None)
    assert other.seed_entropy != first.seed_entropy


def test_seed_sequence_input() -> None:
    policy, env = bl.ThompsonSampling(3), bern(200)
    by_int = bl.run_many(policy, env, n_runs=3, seed=5)
    ss = np.random.SeedSequence(5)
    by_ss = bl.run_many(policy, env, n_runs=3, seed=ss)
    assert by_ss.regret.tobytes() == by_int.regret.tobytes() and by_ss.seed_entropy == 5
    # the caller's SeedSequence is not consumed: passing it again gives the same runs
    assert bl.run_many(policy, env, n_runs=3, seed=ss).regret.tobytes() == by_int.regret.tobytes()
    assert ss.n_children_spawned == 0
    # a spawned child is its own stream, and its recorded entropy replays it
    child = np.random.SeedSequence(5).spawn(2)[1]
    by_child = bl.run_many(policy, env, n_runs=3, seed=child)
    assert not np.array_equal(by_child.pulls, by_int.pulls)
    replay = bl.run_many(policy, env, n_runs=3, seed=by_child.seed_entropy)
    assert replay.regret.tobytes() == by_child.regret.tobytes()


def test_run_i_does_not_depend_on_the_batch_size() -> None:
    small = bl.run_many(bl.ThompsonSampling(3), bern(), n_runs=2, seed=8)
    large = bl.run_many(bl.ThompsonSampling(3), bern(), n_runs=5, seed=8)
    np.testing.assert_array_equal(large.regret[:2], small.regret)


def test_global_random_state_is_untouched() -> None:
    legacy = np.random.mtrand._rand  # the RandomState behind numpy's legacy global functions
    np_before, py_before = legacy.get_state()[1].copy(), random.getstate()
    bl.run_many(bl.ThompsonSampling(3), bern(), n_runs=2, seed=1, engine="python")
    bl.run_many(bl.EXP3(3, horizon=100), bern(), n_runs=2, seed=1, engine="kernel")
    assert np.array_equal(legacy.get_state()[1], np_before)
    assert random.getstate() == py_before


def test_run_does_not_mutate_the_callers_policy_or_env() -> None:
    policy, env = bl.UCB(3), bern()
    bl.run(policy, env, seed=0)
    assert not hasattr(policy, "state")
    with pytest.raises(RuntimeError, match="episode has ended"):
        env.step(0)  # never reset by run


def test_results_metadata_from_run_many() -> None:
    res = bl.run_many(bl.SequentialHalving(3, budget=60), bern(60), n_runs=3, seed=2)
    assert res.policy == "SequentialHalving" and res.env == "BernoulliBandit"
    assert res.policy_params == {"n_arms": 3, "budget": 60}
    assert res.env_params == {"means": [0.2, 0.5, 0.7], "horizon": 60}
    assert res.best_arm == 2 and res.engine == "kernel" and res.n_runs == 3
    assert res.recommendations.dtype == np.int64 and res.pulls.dtype == np.int64
    assert set(res.versions) >= {"banditlab", "numpy", "numba", "python"}
    assert bl.run(bl.UCB(3), bern(), seed=0).recommendations.tolist() == [-1]


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_option(progress: bool, capsys: pytest.CaptureFixture[str]) -> None:
    bl.run_many(bl.UCB(3), bern(), n_runs=2, seed=0, progress=progress)
    err = capsys.readouterr().err
    assert ("UCB" in err) is progress
