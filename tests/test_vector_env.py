"""Native vector envs (banditlab.envs.vector): bit-identity per copy, gymnasium's vector API,
error messages, and a BatchedPolicy loop."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.utils.performance import benchmark_vector_step
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.vector import RecordEpisodeStatistics

import banditlab as bl
from banditlab.batched import BatchedPolicy
from banditlab.envs import ENV_REGISTRY
from banditlab.envs.vector import BernoulliVectorEnv, KArmedVectorEnv

KARMED = sorted(env_id for env_id, (cls, _, _) in ENV_REGISTRY.items()
                if getattr(cls, "family", None) == "karmed")
SEEDS = [11, 5, 2**40 + 3]
MODES = list(AutoresetMode)


def _kwargs(env_id: str, horizon: int = 7) -> dict:
    """The registry's example kwargs, with a short horizon so that episodes end often."""
    kwargs = dict(ENV_REGISTRY[env_id][2])
    if "horizon" in kwargs:
        kwargs["horizon"] = horizon
    return kwargs


def _actions(env_id: str, n_steps: int, n: int, seed: int = 3, kwargs: dict | None = None
             ) -> np.ndarray:
    n_arms = gym.make(env_id, **(kwargs or _kwargs(env_id))).unwrapped.n_arms
    return np.random.default_rng(seed).integers(0, n_arms, size=(n_steps, n))


def test_every_karmed_env_has_a_vector_entry_point():
    assert KARMED == sorted(f"banditlab/{name}Bandit-v0" for name in
                            ("Adversarial", "Bernoulli", "Beta", "Exponential", "Gaussian",
                             "Poisson"))
    for env_id in KARMED:
        assert gym.spec(env_id).vector_entry_point.startswith("banditlab.envs.vector:")
    assert gym.spec("banditlab/LinearBandit-v0").vector_entry_point is None


# -- (a) bit-identity with N single envs ------------------------------------------------------
#: the registry examples, and parameters that reach the samplers' other branches (Poisson
#: rates of 10 and more, per-arm Gaussian noise, Beta shapes near their 0.1 floor)
CASES = [(env_id, _kwargs(env_id)) for env_id in KARMED] + [
    ("banditlab/PoissonBandit-v0", {"means": [0.0, 12.0, 300.0], "horizon": 9}),
    ("banditlab/GaussianBandit-v0", {"means": [-1.0, 2.0], "sigma": [0.5, 3.0], "horizon": 9}),
    ("banditlab/BetaBandit-v0", {"means": [0.1, 0.9], "concentration": 1.5, "horizon": 9}),
    ("banditlab/ExponentialBandit-v0", {"means": [1e-3, 1e6], "horizon": 9}),
]


@pytest.mark.parametrize(("env_id", "kwargs"), CASES,
                         ids=[f"{e.split('/')[1]}-{i}" for i, (e, _) in enumerate(CASES)])
def test_each_copy_is_the_single_env_bit_for_bit(env_id, kwargs):
    """300 steps, NEXT_STEP autoreset every `horizon` steps, a mid-run unseeded reset and a
    reseed: copy i draws exactly what gymnasium.make(env_id) reset with seed s_i draws."""
    vec = gym.make_vec(env_id, num_envs=len(SEEDS), vectorization_mode="vector_entry_point",
                       **kwargs)
    singles = [gym.make(env_id, **kwargs) for _ in SEEDS]
    obs, info = vec.reset(seed=SEEDS)
    assert obs.tolist() == [0] * len(SEEDS) and info == {}
    for env, s in zip(singles, SEEDS):
        env.reset(seed=s)
    pending = [False] * len(SEEDS)
    n_ended = 0
    for t, acts in enumerate(_actions(env_id, 300, len(SEEDS), kwargs=kwargs)):
        if t == 150:                   # unseeded reset: each copy keeps its generator
            vec.reset()
            for env in singles:
                env.reset()
            pending = [False] * len(SEEDS)
        if t == 220:                   # reseed copy 1 only (None keeps the others' streams)
            vec.reset(seed=[None, 99, None])
            for env, s in zip(singles, [None, 99, None]):
                env.reset(seed=s)
            pending = [False] * len(SEEDS)
        obs, rewards, terminated, truncated, info = vec.step(acts)
        for i, env in enumerate(singles):
            if pending[i]:             # gymnasium's NEXT_STEP: this step resets copy i
                env.reset()
                ref = (0, 0.0, False, False)
                pending[i] = False
            else:
                o, r, term, trunc, _ = env.step(int(acts[i]))
                ref = (o, r, term, trunc)
                pending[i] = trunc
            got = (int(obs[i]), float(rewards[i]), bool(terminated[i]), bool(truncated[i]))
            assert got[0] == ref[0] and got[2:] == ref[2:], (env_id, t, i)
            assert np.float64(got[1]).tobytes() == np.float64(ref[1]).tobytes(), (env_id, t, i)
        n_ended += int(truncated.sum())
        assert info == {}
    assert n_ended >= 3 * len(SEEDS)


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize("env_id", KARMED)
def test_matches_gymnasium_sync_vector_env_in_every_autoreset_mode(env_id, mode):
    """Same seeds, same actions: every reset and step output (infos included) equals that of
    gymnasium's own SyncVectorEnv over single envs, for each autoreset mode."""
    kwargs, n = _kwargs(env_id, horizon=5), 4
    vec = gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, **kwargs)
    sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": mode}, **kwargs)
    assert isinstance(sync, SyncVectorEnv) and not isinstance(sync, KArmedVectorEnv)
    assert vec.metadata["autoreset_mode"] == sync.metadata["autoreset_mode"] == mode
    assert data_equivalence(vec.reset(seed=42), sync.reset(seed=42))
    for acts in _actions(env_id, 60, n):
        out, ref = vec.step(acts), sync.step(acts)
        assert data_equivalence(out, ref, exact=True), (out, ref)
        done = np.logical_or(out[2], out[3])
        if mode == AutoresetMode.DISABLED and done.any():
            assert data_equivalence(vec.reset(options={"reset_mask": done.copy()}),
                                    sync.reset(options={"reset_mask": done.copy()}))


@pytest.mark.parametrize("env_id", ["banditlab/GaussianBandit-v0",
                                    "banditlab/AdversarialBandit-v0"])
def test_max_episode_steps_truncates_as_gymnasium_s_time_limit(env_id):
    kwargs = _kwargs(env_id, horizon=50)
    vec = gym.make_vec(env_id, num_envs=3, max_episode_steps=3, **kwargs)
    sync = gym.make_vec(env_id, num_envs=3, vectorization_mode="sync", max_episode_steps=3,
                        **kwargs)
    assert vec.horizon == 3
    assert data_equivalence(vec.reset(seed=8), sync.reset(seed=8))
    for acts in _actions(env_id, 20, 3):
        assert data_equivalence(vec.step(acts), sync.step(acts), exact=True)


def test_int_seed_seeds_copy_i_with_seed_plus_i_and_constructor_direct():
    env = BernoulliVectorEnv(3, means=[0.3, 0.6], horizon=1000)
    env.reset(seed=7)
    singles = [bl.envs.BernoulliBandit([0.3, 0.6], horizon=1000) for _ in range(3)]
    for i, s in enumerate(singles):
        s.reset(seed=7 + i)
    assert env.np_random_seed == (7, 8, 9)
    for _ in range(50):
        _, rewards, _, _, _ = env.step([1, 0, 1])
        assert rewards.tolist() == [s.step(a)[1] for s, a in zip(singles, [1, 0, 1])]


# -- (b) gymnasium's vector-env requirements --------------------------------------------------
@pytest.mark.parametrize("env_id", KARMED)
def test_gymnasium_vector_api(env_id):
    kwargs, n = _kwargs(env_id), 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # make_vec warns on missing/odd autoreset metadata
        vec = gym.make_vec(env_id, num_envs=n, **kwargs)     # default mode: the entry point
    assert isinstance(vec, KArmedVectorEnv) and isinstance(vec, gym.vector.VectorEnv)
    single = gym.make(env_id, **kwargs)
    assert vec.num_envs == n and vec.unwrapped is vec and vec.spec.id == env_id
    assert vec.spec.kwargs["num_envs"] == n
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    assert vec.observation_space == batch_space(single.observation_space, n)
    assert vec.action_space == batch_space(single.action_space, n)
    assert isinstance(vec.metadata["autoreset_mode"], AutoresetMode)
    assert vec.render_mode is None

    obs, info = vec.reset(seed=0)
    assert vec.observation_space.contains(obs) and obs.dtype == np.int64 and info == {}
    vec.action_space.seed(0)
    seen = []
    for _ in range(2 * vec.unwrapped.horizon + 1):
        out = vec.step(vec.action_space.sample())
        obs, rewards, terminated, truncated, info = out
        assert vec.observation_space.contains(obs)
        assert rewards.shape == terminated.shape == truncated.shape == (n,)
        assert (rewards.dtype, terminated.dtype, truncated.dtype) == (np.float64, np.bool_,
                                                                       np.bool_)
        assert isinstance(info, dict) and not terminated.any()
        seen.append(out)
    # returned arrays are fresh: steps do not overwrite what earlier steps returned
    assert len({id(a) for out in seen for a in out[:4]}) == 4 * len(seen)
    first_rewards = seen[0][1].copy()
    vec.step(vec.action_space.sample())
    assert np.array_equal(seen[0][1], first_rewards)

    # reset-seed determinism (gymnasium's check_reset_seed_determinism, per copy)
    runs = []
    for _ in range(2):
        vec.reset(seed=123)
        runs.append([vec.step(np.zeros(n, dtype=np.int64))[1] for _ in range(5)])
    assert data_equivalence(runs[0], runs[1])
    assert len(vec.np_random) == n and all(isinstance(g, np.random.Generator)
                                           for g in vec.np_random)
    vec.close()
    assert vec.closed
    vec.close()


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_gymnasium_tools_run_on_it(mode):
    """gymnasium's own vector tools: the benchmark loop (which drives each autoreset mode,
    with reset_mask under DISABLED) and RecordEpisodeStatistics (episode length = horizon)."""
    horizon, n = 6, 4
    vec = gym.make_vec("banditlab/BernoulliBandit-v0", num_envs=n, autoreset_mode=mode,
                       means=[0.1, 0.9], horizon=horizon)
    assert benchmark_vector_step(vec, target_duration=0.05, seed=0) > 0
    stats = RecordEpisodeStatistics(vec)
    stats.reset(seed=1)
    episodes = 0
    for _ in range(3 * horizon + 2):
        _, _, terminated, truncated, info = stats.step(np.ones(n, dtype=np.int64))
        done = terminated | truncated
        if "episode" in info:
            ended = info["_episode"]
            assert info["episode"]["l"][ended].tolist() == [horizon] * int(ended.sum())
            assert np.all(info["episode"]["r"][ended] <= horizon)
            episodes += int(ended.sum())
        if mode == AutoresetMode.DISABLED and done.any():
            stats.reset(options={"reset_mask": done})
    assert episodes == 3 * n


def test_copies_and_pickles_own_their_generators():
    """deepcopy/pickle mid-episode: the copy continues exactly as the original, independently
    (its handles point at its own generators, not the original's)."""
    import copy
    import pickle

    vec = _ber(num_envs=4, horizon=1000)
    vec.reset(seed=5)
    vec.step([0, 1, 0, 1])
    dup, restored = copy.deepcopy(vec), pickle.loads(pickle.dumps(vec))
    acts = np.array([1, 1, 0, 0])
    out = [vec.step(acts)[1] for _ in range(20)]
    del vec
    assert data_equivalence([dup.step(acts)[1] for _ in range(20)], out)
    assert data_equivalence([restored.step(acts)[1] for _ in range(20)], out)
    assert dup.t.tolist() == [21] * 4


def test_oracle_quantities_follow_each_copy_s_round():
    table = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9]]
    vec = gym.make_vec("banditlab/AdversarialBandit-v0", num_envs=2, table=table)
    single = gym.make("banditlab/AdversarialBandit-v0", table=table).unwrapped
    vec.reset(seed=0)
    single.reset(seed=0)
    for _ in range(3):
        assert vec.expected_rewards([0, 1]).tolist() == [single.expected_reward(0),
                                                         single.expected_reward(1)]
        assert vec.optimal_expected_rewards().tolist() == [single.optimal_expected_reward()] * 2
        vec.step([0, 1])
        single.step(0)
    ber = gym.make_vec("banditlab/BernoulliBandit-v0", num_envs=3, means=[0.2, 0.7])
    assert ber.expected_rewards(np.array([0, 1, 1])).tolist() == [0.2, 0.7, 0.7]
    assert ber.optimal_expected_rewards().tolist() == [0.7] * 3
    assert ber.best_arm == 1 and ber.gaps.tolist() == pytest.approx([0.5, 0.0])


# -- (c) errors ------------------------------------------------------------------------------
def _ber(**kw):
    return gym.make_vec("banditlab/BernoulliBandit-v0", **{"num_envs": 3, "means": [0.2, 0.5],
                                                           "horizon": 4, **kw})


BAD_STEPS = [
    ([0, 1], ValueError, r"BernoulliVectorEnv\.step: 'actions' must have shape \(num_envs,\) "
                         r"= \(3,\); got \(2,\)\."),
    ([[0, 1, 1]], ValueError, r"'actions' must have shape \(num_envs,\) = \(3,\); "
                              r"got \(1, 3\)"),
    ([0.0, 1.0, 1.0], TypeError, r"'actions' must be an int array of shape \(3,\) with "
                                 r"entries in \[0, 1\]; got dtype float64\."),
    ([True, False, True], TypeError, r"'actions' must be an int array .*got dtype bool"),
    (["a", "b", "c"], TypeError, r"'actions' must be an int array"),
    ([[0], [1, 1], 0], TypeError, r"'actions' must be an int array"),
    ([0, 2, 1], ValueError, r"'actions' must be ints in \[0, 1\]; got 2 for copy 1\."),
    ([0, 1, -1], ValueError, r"'actions' must be ints in \[0, 1\]; got -1 for copy 2\."),
    (np.array([0, 1, 2**63], dtype=np.uint64), ValueError,
     r"'actions' must be ints in \[0, 1\]; got 9223372036854775808 for copy 2\."),
]


@pytest.mark.parametrize(("actions", "exc", "match"), BAD_STEPS)
def test_bad_actions_are_refused_by_name_and_change_nothing(actions, exc, match):
    vec, ref = _ber(), _ber()
    vec.reset(seed=SEEDS)
    ref.reset(seed=SEEDS)
    with pytest.raises(exc, match=match):
        vec.step(actions)
    ok = np.array([1, 0, 1], dtype=np.int32)      # other int dtypes are accepted
    for _ in range(5):
        assert data_equivalence(vec.step(ok), ref.step(ok))


BAD_MAKE = [
    ({"num_envs": 0}, ValueError, r"BernoulliVectorEnv: 'num_envs' must be an int in "
                                  r"\[1, 2147483648\]; got 0\."),
    ({"num_envs": -2}, ValueError, r"'num_envs' must be an int in \[1, 2147483648\]; got -2"),
    ({"num_envs": 2.5}, TypeError, r"'num_envs' must be an int in .*got float 2\.5\."),
    ({"num_envs": True}, TypeError, r"'num_envs' must be an int in .*got bool True\."),
    ({"autoreset_mode": "sometimes"}, ValueError,
     r"'autoreset_mode' must be a gymnasium\.vector\.AutoresetMode or one of "
     r"\['NextStep', 'SameStep', 'Disabled'\]; got 'sometimes'\."),
    ({"means": [0.2, 1.5]}, ValueError, r"BernoulliBandit: 'means'"),
    ({"horizon": 0}, ValueError, r"BernoulliBandit: 'horizon'"),
    ({"max_episode_steps": 0}, ValueError, r"BernoulliVectorEnv: 'max_episode_steps' must be "
                                           r"an int in \[1, .*\] or None; got 0\."),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD_MAKE)
def test_bad_construction_is_refused_by_name(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        _ber(**kwargs)


BAD_RESETS = [
    ({"seed": [1, 2]}, ValueError, r"BernoulliVectorEnv\.reset: 'seed' must hold one seed per "
                                   r"copy \(num_envs=3\); got 2\."),
    ({"seed": [1, 2, 3, 4]}, ValueError, r"'seed' must hold one seed per copy \(num_envs=3\); "
                                         r"got 4\."),
    ({"seed": -1}, ValueError, r"'seed' must be None or an int in \[0, inf\); got -1\."),
    ({"seed": [1, -2, 3]}, ValueError, r"'seed' must be None or an int in \[0, inf\); got -2"),
    ({"seed": [1, 2.5, 3]}, TypeError, r"'seed' must be None or an int .*got float 2\.5"),
    ({"seed": True}, TypeError, r"'seed' must be None, an int in \[0, inf\) or a sequence of "
                                r"num_envs \(3\) ints or Nones; got bool True\."),
    ({"seed": "123"}, TypeError, r"'seed' must be None, an int in \[0, inf\) or a sequence"),
    ({"options": "reset"}, TypeError, r"'options' must be None or a dict; got str"),
    ({"options": {"reset_mask": [True, False, True]}}, TypeError,
     r"options\['reset_mask'\] must be a numpy bool array of shape \(3,\); got list\."),
    ({"options": {"reset_mask": np.ones(2, dtype=bool)}}, ValueError,
     r"options\['reset_mask'\] must have shape \(3,\); got \(2,\)\."),
    ({"options": {"reset_mask": np.zeros(3, dtype=bool)}}, ValueError,
     r"options\['reset_mask'\] must select at least one copy"),
]


@pytest.mark.parametrize(("kwargs", "exc", "match"), BAD_RESETS)
def test_bad_resets_are_refused_by_name(kwargs, exc, match):
    vec = _ber()
    vec.reset(seed=0)
    with pytest.raises(exc, match=match):
        vec.reset(**kwargs)


def test_order_errors():
    vec = _ber()
    with pytest.raises(RuntimeError, match=r"BernoulliVectorEnv\.step: call reset\(\) first"):
        vec.step([0, 0, 0])
    with pytest.raises(RuntimeError, match=r"the first reset must reset every copy"):
        vec.reset(options={"reset_mask": np.array([True, False, True])})
    off = _ber(autoreset_mode=AutoresetMode.DISABLED)
    off.reset(seed=0)
    for _ in range(4):
        off.step([0, 1, 0])
    with pytest.raises(RuntimeError, match=r"the episode of copy 0 has ended \(horizon=4\) "
                                           r"and autoreset_mode is DISABLED"):
        off.step([0, 1, 0])
    off.reset(options={"reset_mask": np.array([True, True, True])})
    off.step([0, 1, 0])


# -- (d) BatchedPolicy + vector env -----------------------------------------------------------
def test_batched_ucb_on_the_vector_env_learns():
    means, horizon, n = [0.2, 0.45, 0.8], 400, 64
    vec = gym.make_vec("banditlab/BernoulliBandit-v0", num_envs=n, means=means,
                       horizon=horizon)
    batch = BatchedPolicy(bl.UCB(len(means)), n).reset(seed=1)
    vec.reset(seed=1000)
    regret = np.zeros(n)
    for t in range(horizon):
        actions = batch.select()
        regret += vec.optimal_expected_rewards() - vec.expected_rewards(actions)
        _, rewards, terminated, truncated, _ = vec.step(actions)
        batch.update(actions, rewards)
        assert truncated.all() == (t == horizon - 1) and not terminated.any()
    uniform = horizon * float(np.mean(vec.gaps))
    assert 0.0 < regret.mean() < 0.35 * uniform, (regret.mean(), uniform)
    # and it matches the kernel engine's pseudo-regret for the same policy and env
    engine = bl.run_many(bl.UCB(len(means)), bl.envs.BernoulliBandit(means, horizon=horizon),
                         n_runs=n, seed=0, engine="kernel", n_jobs=1, progress=False)
    kernel = float(engine.regret[:, -1].mean())
    assert abs(regret.mean() - kernel) < 0.25 * kernel, (regret.mean(), kernel)
    # the policy's counts add up to the horizon in every copy
    assert all(int(np.sum(batch.state(i).counts)) == horizon for i in (0, n - 1))
