"""Streaming bandits: the memory model, exact-T accounting, kernel vs gymnasium path, errors."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given
from hypothesis import strategies as st

from banditlab.envs import ENV_REGISTRY
from banditlab.envs.streaming import (
    DISCARD,
    PULL,
    READ,
    StreamingBandit,
    StreamingMemoryError,
    clear_cut_means,
    hard_instance_means,
    mix_in_means,
)
from banditlab.errors import IncompatibleEnvError
from banditlab.streaming import (
    ALGORITHMS,
    GameOfArms,
    LevelAlgorithm,
    NaiveEpsBest,
    StreamingUniformExploration,
    level_schedule,
    run_one,
    run_stream,
    run_streaming,
)


def all_algorithms() -> list:
    algs = [f() for f in ALGORITHMS.values()]
    algs += [GameOfArms(oracle_gap=True), LevelAlgorithm(schedule="log", legacy_accounting=True),
             LevelAlgorithm(schedule="logstar", legacy_accounting=True)]
    return algs


ALGS = all_algorithms()
IDS = [a.name + ("-oracle" if getattr(a.params, "oracle_gap", 0) else "") for a in ALGS]


# -- the env's memory model -----------------------------------------------------------------
def test_registered_and_passes_gymnasium_check_env():
    assert "banditlab/StreamingBandit-v0" in ENV_REGISTRY
    _, _, kwargs = ENV_REGISTRY["banditlab/StreamingBandit-v0"]
    env = gym.make("banditlab/StreamingBandit-v0", **kwargs)
    check_env(env.unwrapped)


def test_memory_model_errors_and_atomicity():
    env = StreamingBandit([0.2, 0.5, 0.9, 0.4], horizon=100, memory=1, shuffle=False)
    obs, _ = env.reset(seed=0)
    assert obs == 0 and env.stored_arms == [0] and env.buffer_arm == 0
    with pytest.raises(StreamingMemoryError, match="arm 2 has not been read yet"):
        env.pull(2, 1)
    assert env.read_next_arm() == 1
    assert env.peak_memory == 1 and env.peak_memory_incl_buffer == 2
    with pytest.raises(StreamingMemoryError, match="would store 2 arms besides the buffer, "
                                                   "above the memory budget of 1"):
        env.read_next_arm()
    assert env.arms_read == 2 and env.stored_arms == [0, 1]          # nothing changed
    env.discard(0)
    with pytest.raises(StreamingMemoryError, match="arm 0 was discarded"):
        env.pull(0, 3)
    with pytest.raises(StreamingMemoryError, match="arm 0 was discarded"):
        env.discard(0)
    env.pull(1, 60)
    with pytest.raises(StreamingMemoryError, match="only 40 of horizon=100 pulls are left"):
        env.pull(1, 41)
    assert env.pulls_used == 60
    with pytest.raises(ValueError, match=r"'n' must be an int in \[1, "):
        env.pull(1, 0)
    with pytest.raises(TypeError, match="'arm' must be an int"):
        env.pull(1.0, 1)
    with pytest.raises(StreamingMemoryError, match="arm 7 does not exist"):
        env.pull(7, 1)
    assert env.read_next_arm() == 2 and env.stored_arms == [1, 2]


def test_end_of_stream_and_regret_accounting():
    means = [0.2, 0.5, 0.9]
    env = StreamingBandit(means, horizon=30, memory=2, shuffle=False)
    env.reset(seed=1)
    env.pull(0, 10)
    assert env.read_next_arm() == 1
    env.pull(1, 10)
    assert env.read_next_arm() == 2
    assert env.read_next_arm() is None
    env.pull(2, 10)
    assert env.regret == pytest.approx(0.7 * 10 + 0.4 * 10)
    assert env.pulls_used == 30 and env.pulls_left == 0


def test_step_api_matches_methods_and_truncates():
    env = StreamingBandit([0.3, 0.6, 0.5], horizon=20, memory=1, shuffle=False)
    env.reset(seed=5)
    obs, r, term, trunc, info = env.step((PULL, 0, 5))
    assert obs == 0 and 0 <= r <= 5 and not term and not trunc and info["pulls"] == 5
    obs, *_ = env.step((READ, 0, 1))
    assert obs == 1
    with pytest.raises(StreamingMemoryError, match="above the memory budget of 1"):
        env.step((READ, 0, 1))
    obs, *_, info = env.step((DISCARD, env.slot_of(0), 1))
    assert obs == 1 and info["stored_arms"].tolist() == [1]
    with pytest.raises(StreamingMemoryError, match="arm 0 was discarded"):
        env.slot_of(0)
    *_, trunc, info = env.step((PULL, 1, 20))          # slot 1 wraps to arm 1; 15 pulls left
    assert trunc and info["pulls"] == 15 and env.pulls_used == 20
    with pytest.raises(StreamingMemoryError, match="only 0 of horizon=20 pulls are left"):
        env.step((PULL, 1, 1))
    obs, *_, trunc, _ = env.step((READ, 0, 1))
    assert obs == 2 and trunc
    obs, *_, trunc, _ = env.step((READ, 0, 1))       # the end of the stream: no budget check
    assert obs == -1 and trunc
    with pytest.raises(TypeError, match=r"'action' must be a tuple \(op, slot, n\)"):
        env.step(3)


def test_batch_pull_is_exact_binomial_like_numpy():
    # independent reference: numpy's own Generator.binomial on the same seeded stream
    env = StreamingBandit([0.37], horizon=10**15, memory=1)
    env.reset(seed=11)
    ref = np.random.Generator(np.random.PCG64(np.random.SeedSequence(11)))
    ref.shuffle(np.array([0.37]))
    for n in (1, 7, 10**6, 10**12):
        assert env.pull(0, n) == ref.binomial(n, 0.37) / n
    assert env.pulls_used == 1 + 7 + 10**6 + 10**12


def test_huge_horizon_runs_in_O_K():
    means = clear_cut_means(200, seed=0)
    env = StreamingBandit(means, horizon=10**16, memory=4)
    res = run_streaming(LevelAlgorithm(), env, n_runs=2, seed=0)
    assert np.all(res.pulls_used == 10**16)
    assert np.all(res.regret > 0)


def test_legacy_gaussian_approximation():
    env = StreamingBandit([0.5], horizon=10**12, memory=1, legacy_gaussian_approx=True)
    env.reset(seed=3)
    ref = np.random.Generator(np.random.PCG64(np.random.SeedSequence(3)))
    ref.shuffle(np.array([0.5]))
    assert env.pull(0, 10**10) == 0.5 + (2.0 / math.sqrt(10**10)) * ref.standard_normal()
    assert env.pull(0, 100) == ref.binomial(100, 0.5) / 100      # small batches stay exact


def test_only_a_legacy_env_compiles_the_gaussian_approximation():
    """A kernel compiled for a plain env draws batches with the exact Binomial only; the
    class of an env with ``legacy_gaussian_approx`` (the canary) brings the normal sampler."""
    from banditlab._jit import njit
    from banditlab.envs.streaming import LegacyStreamArrays, StreamArrays, _draw_mean

    plain = StreamingBandit([0.5, 0.2], horizon=10, memory=1).kernel_arrays()
    legacy = StreamingBandit([0.5, 0.2], horizon=10, memory=1,
                             legacy_gaussian_approx=True).kernel_arrays()
    assert type(plain) is StreamArrays and type(legacy) is LegacyStreamArrays

    @njit
    def draw(env, n, rng):
        return _draw_mean(env, 0.5, n, rng)

    rng = np.random.default_rng(0)
    assert draw(plain, 10**6, rng) != 0.5 and draw(legacy, 10**6, rng) != 0.5
    code = {sig[0].instance_class: draw.inspect_llvm(sig) for sig in draw.signatures}
    assert "binomial" in code[StreamArrays] and "normal" not in code[StreamArrays]
    assert "standard_normal" in code[LegacyStreamArrays]


def test_shuffle_is_seeded():
    m = np.arange(50) / 50
    env = StreamingBandit(m, horizon=10, memory=1)
    env.reset(seed=4)
    a = env.means
    env.reset(seed=4)
    assert np.array_equal(a, env.means)
    env.reset(seed=5)
    assert not np.array_equal(a, env.means)
    assert np.array_equal(np.sort(a), m)
    fixed = StreamingBandit(m, horizon=10, memory=1, shuffle=False)
    fixed.reset(seed=4)
    assert np.array_equal(fixed.means, m)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"means": [0.2, -0.1], "horizon": 10}, ValueError, "entry equal to -0.1"),
    ({"means": [0.2, float("nan")], "horizon": 10}, ValueError, "entries in \\[0, 1\\]"),
    ({"means": [[0.2]], "horizon": 10}, ValueError, "1-d array"),
    ({"means": [], "horizon": 10}, ValueError, "non-empty"),
    ({"means": "abc", "horizon": 10}, TypeError, "'means' must be a 1-d array"),
    ({"means": [0.5], "horizon": 0}, ValueError, "'horizon' must be an int in \\[1, "),
    ({"means": [0.5], "horizon": 2.5}, TypeError, "'horizon' must be an int"),
    ({"means": [0.5], "horizon": 2**63}, ValueError, "'horizon' must be an int"),
    ({"means": [0.5, 0.6], "horizon": 9, "memory": 3}, ValueError,
     "'memory' must be an int in \\[0, 2\\]"),
    ({"means": [0.5], "horizon": 9, "memory": -1}, ValueError, "'memory'"),
    ({"means": [0.5], "horizon": 9, "shuffle": 1}, TypeError, "'shuffle' must be a bool"),
])
def test_env_rejects_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=f"StreamingBandit: {match}" if match[0] == "'" else match):
        StreamingBandit(**kwargs)


def test_instance_generators():
    cc = clear_cut_means(5000, seed=0)
    assert cc[-1] == 0.82 and cc[:-1].min() >= 0 and cc[:-1].max() <= 0.8
    assert abs(cc[:-1].mean() - 0.5) < 0.01 and abs(cc[:-1].std() - 0.1) < 0.01
    assert np.array_equal(cc, clear_cut_means(5000, seed=0))
    mi = mix_in_means(5000, seed=0)
    assert mi.min() >= 0 and mi.max() <= 1 and abs(mi.mean() - 0.5) < 0.02
    h = hard_instance_means(100, 10**8, seed=2)
    assert np.sum(h != 0.5) == 1 and h.max() == pytest.approx(0.5 + (100 / 1e8) ** (1 / 3))
    with pytest.raises(ValueError, match="clear_cut_means: 'n_arms' must be an int in \\[2, "):
        clear_cut_means(1)
    with pytest.raises(TypeError, match="mix_in_means: 'n_arms' must be an int"):
        mix_in_means(3.0)
    with pytest.raises(ValueError, match="hard_instance_means: 'scale' must be a float in"):
        hard_instance_means(10, 100, scale=0.0)


# -- algorithms: exact T, memory budget, kernel path == gymnasium path ----------------------
@pytest.mark.parametrize("alg", ALGS, ids=IDS)
@given(k=st.integers(1, 60), log_t=st.floats(0.0, 14.0), seed=st.integers(0, 2**32),
       setting=st.sampled_from(["mix", "clear", "hard"]))
def test_exact_horizon_and_memory_budget(alg, k, log_t, seed, setting):
    t = max(1, int(10**log_t))
    if setting == "clear" and k >= 2:
        means = clear_cut_means(k, seed=seed)
    elif setting == "hard" and k >= 2:
        means = hard_instance_means(k, t, seed=seed)
    else:
        means = mix_in_means(k, seed=seed)
    budget = alg.memory_budget(k)
    env = StreamingBandit(means, horizon=t, memory=budget)
    res = run_streaming(alg, env, n_runs=2, seed=seed)
    assert np.all(res.pulls_used == t)                  # exactly T counted pulls
    assert np.all(res.peak_memory <= budget)            # enforced by the env (else it raises)
    assert np.all(res.peak_memory_incl_buffer <= budget + 1)
    assert res.regret.shape == (2, 1) and res.checkpoints.tolist() == [t]
    assert np.all(res.final_regret() >= -1e-9)
    assert np.all(res.final_regret() <= t * (means.max() - means.min()) * (1 + 1e-12)
                  + (res.uncounted * 1.0))
    if not alg.legacy_accounting:
        assert np.all(res.uncounted == 0)


def _replay_reference(means, ops, memory):
    """Independent pure-Python model of the streaming rules, replayed over a trace."""
    best = max(means)
    stored, next_read = {0}, 1
    peak_excl, peak_incl, pulls, regret = 0, 1, 0, 0.0
    for op, arm, n, counted in ops.tolist():
        if op == READ:
            if arm < 0:
                assert next_read == len(means)
                continue
            assert arm == next_read and len(stored) <= memory
            stored.add(arm)
            next_read += 1
            peak_excl = max(peak_excl, len(stored) - 1)
            peak_incl = max(peak_incl, len(stored))
        elif op == PULL:
            assert arm in stored and n >= 1
            pulls += n if counted else 0
            regret += (best - means[arm]) * n
        else:
            assert arm in stored
            stored.remove(arm)
    return peak_excl, peak_incl, pulls, regret


@pytest.mark.parametrize("alg", [a for a in ALGS if not a.legacy_accounting],
                         ids=[i for a, i in zip(ALGS, IDS) if not a.legacy_accounting])
@given(k=st.integers(2, 40), log_t=st.floats(1.0, 9.0), seed=st.integers(0, 2**32))
def test_kernel_path_equals_gymnasium_path(alg, k, log_t, seed):
    t = int(10**log_t)
    means = mix_in_means(k, seed=seed)
    budget = alg.memory_budget(k)
    env = StreamingBandit(means, horizon=t, memory=budget)
    env.set_trace(100_000)
    env_seed, alg_seed = seed, seed + 1
    run_one(alg, env, env_seed, alg_seed)
    ops, vals = env.trace()
    assert ops.shape[0] == int(env.kernel_state().counters[10])   # trace not truncated
    # 1) an independent reference model of the rules agrees with the kernel's accounting
    pe, pi, pulls, regret = _replay_reference(env.means.tolist(), ops, budget)
    assert (pe, pi, pulls) == (env.peak_memory, env.peak_memory_incl_buffer, env.pulls_used)
    assert regret == pytest.approx(env.regret, rel=1e-12)
    # 2) the same operations through gymnasium's step() on the same seed give the same data
    gym_env = StreamingBandit(means, horizon=t, memory=budget)
    obs, _ = gym_env.reset(seed=env_seed)
    assert obs == 0
    for (op, arm, n, _), v in zip(ops.tolist(), vals.tolist()):
        slot = 0 if op == READ else gym_env.slot_of(arm)
        obs, reward, _, trunc, _ = gym_env.step((op, slot, max(n, 1)))
        assert gym_env.observation_space.contains(obs)
        if op == READ:
            assert obs == v
        elif op == PULL:
            assert reward / n == v
    assert trunc
    assert (gym_env.pulls_used, gym_env.peak_memory, gym_env.peak_memory_incl_buffer) == \
        (env.pulls_used, env.peak_memory, env.peak_memory_incl_buffer)
    assert gym_env.regret == env.regret


def test_per_arm_batches_match_the_formulas():
    k, t = 30, 10**8
    env = StreamingBandit(mix_in_means(k, seed=0), horizon=t, memory=1)
    env.set_trace(10_000)
    for alg, b in [(StreamingUniformExploration(),
                    math.ceil((t / k) ** (2 / 3) * math.log(t) ** (1 / 3))),
                   (NaiveEpsBest(), math.ceil(math.log(k) / (k / t) ** (2 / 3)))]:
        run_one(alg, env, 0, 1)
        ops, _ = env.trace()
        pulls = ops[ops[:, 0] == PULL, 2]
        assert np.all(pulls[:-1] == b) and pulls.shape[0] == k + 1
        assert pulls.sum() == t


def test_level_schedules_known_values():
    eps = 0.1
    batch, cap = level_schedule(2, 50_000, eps)         # log*: K = 50000 gives 4 levels
    assert batch.shape[0] == 4
    assert batch.tolist()[:3] == [100.0, 400.0, 1600.0] and batch[3] == 6553600.0
    assert cap[0] == 400 and cap[1] == 4 * 400 and cap[2] == 4096 * 1600 and np.isinf(cap[3])
    batch, cap = level_schedule(0, 1000, eps)            # log: floor(ln 1000) = 6 levels
    assert batch.shape[0] == 6 and batch[1] == 120 and cap[0] == 600
    batch, _ = level_schedule(1, 1000, eps)              # loglog: floor(ln ln 1000) + 1 = 2
    assert batch.shape[0] == 2 and batch[1] == math.ceil(math.log(1000) * 100)


def test_memory_budgets_are_reached():
    k, t = 3000, 10**10
    means = clear_cut_means(k, seed=1)
    for alg, want in [(StreamingUniformExploration(), 1), (NaiveEpsBest(), 1),
                      (GameOfArms(), 2), (LevelAlgorithm(schedule="log"), 8),
                      (LevelAlgorithm(schedule="loglog"), 3)]:
        assert alg.memory_budget(k) == want
        res = run_streaming(alg, StreamingBandit(means, horizon=t, memory=want), n_runs=2,
                            seed=0)
        assert np.all(res.peak_memory <= want)
        assert res.peak_memory.max() >= min(want, 5), alg.name


def test_kernel_path_enforces_the_budget():
    # canary of the memory check: Game of Arms needs 2 stored arms; give the env only 1
    env = StreamingBandit(mix_in_means(50, seed=0), horizon=10**6, memory=1)
    with pytest.raises(StreamingMemoryError, match="above the memory budget of 1"):
        run_one(GameOfArms(), env, 0, 1)
    env.reset(seed=0)
    run_stream(GameOfArms().params, env.kernel_arrays(), env.kernel_state(),
                         env.np_random, np.random.default_rng(1))
    assert env.kernel_state().counters[6] != 0          # error recorded, kernel stopped
    with pytest.raises(IncompatibleEnvError, match="stores up to 2 arms besides the buffer"):
        run_streaming(GameOfArms(), env)


def test_flags_change_behaviour():
    k, t = 200, 10**9
    means = clear_cut_means(k, seed=0)
    env = StreamingBandit(means, horizon=t, memory=8)
    clean = run_streaming(LevelAlgorithm(schedule="log"), env, n_runs=5, seed=0)
    legacy = run_streaming(LevelAlgorithm(schedule="log", legacy_accounting=True), env,
                           n_runs=5, seed=0)
    assert np.all(legacy.uncounted > 0) and np.all(clean.uncounted == 0)
    assert not np.allclose(clean.regret, legacy.regret)
    goa = run_streaming(GameOfArms(), env, n_runs=5, seed=0)
    oracle = run_streaming(GameOfArms(oracle_gap=True), env, n_runs=5, seed=0)
    assert not np.array_equal(goa.regret, oracle.regret)


def test_parallel_equals_serial():
    env = StreamingBandit(mix_in_means(100, seed=0), horizon=10**7, memory=2)
    a = run_streaming(GameOfArms(), env, n_runs=4, seed=9)
    b = run_streaming(GameOfArms(), env, n_runs=4, seed=9, n_jobs=2)
    assert np.array_equal(a.regret, b.regret) and np.array_equal(a.peak_memory, b.peak_memory)
    # one Results for every system: per-run columns, save/load round trip
    assert a.runs_frame().shape == (4, 11) and a.protocol == "STREAMING"


@pytest.mark.parametrize("make, exc, match", [
    (lambda: NaiveEpsBest(eps=0.0), ValueError,
     "NaiveEpsBest: 'eps' must be a float in \\[1e-09, 1(\\.0)?\\]"),
    (lambda: NaiveEpsBest(eps=1.5), ValueError,
     "'eps' must be a float in \\[1e-09, 1(\\.0)?\\] or None"),
    (lambda: GameOfArms(eps="a"), TypeError, "GameOfArms: 'eps'"),
    (lambda: GameOfArms(oracle_gap=1), TypeError, "GameOfArms: 'oracle_gap' must be a bool"),
    (lambda: LevelAlgorithm(schedule="ln"), ValueError, "'schedule' must be one of 'log'"),
    (lambda: LevelAlgorithm(legacy_accounting=None), TypeError, "'legacy_accounting'"),
    (lambda: run_streaming(NaiveEpsBest(), "env"), TypeError, "'env' must be a StreamingBandit"),
    (lambda: run_streaming(NaiveEpsBest(), StreamingBandit([0.5], horizon=5), n_runs=0),
     ValueError, "run_streaming: 'n_runs' must be an int in \\[1, 2147483648\\]"),
])
def test_algorithms_reject_bad_input(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_reproduction_cell_and_summary(tmp_path):
    from banditlab.reproduce import get_reproduction
    from banditlab.reproductions.streaming_mab import run_cell, summarise

    assert get_reproduction("streaming-mab").quick_budget_s == 180.0
    runs = run_cell("mix_in", 30, 1, 3, 0)
    assert runs.shape[0] == 3 * 9 and (runs.pulls == runs.horizon).all()
    summary = summarise(runs)
    ue = summary[summary.algorithm == "UE"].iloc[0]
    assert ue.ratio_to_ue == 1.0 and ue.se_ratio == pytest.approx(0.0, abs=1e-12)
    naive = summary[summary.algorithm == "NAIVE"].iloc[0]
    mask = runs.algorithm == "NAIVE"
    assert naive.mean_regret == pytest.approx(runs[mask].regret.mean())
    assert naive.ratio_to_ue == pytest.approx(runs[mask].regret.mean()
                                              / runs[runs.algorithm == "UE"].regret.mean())
    assert (summary.max_peak_memory <= summary.memory_budget).all()


@pytest.mark.parametrize("action", [(0, np.nan, 1), (0, 0, -1), (0, 0, 2**63), (0, -1, 1)])
def test_every_part_of_an_action_lies_in_the_action_space_also_for_a_read(action):
    """A read ignores slot and n, yet an action outside the action space is refused."""
    env = StreamingBandit(np.linspace(0.1, 0.9, 5), horizon=100, memory=2)
    env.reset(seed=0)
    before = (env.arms_read, env.pulls_used)
    with pytest.raises((TypeError, ValueError), match=r"StreamingBandit\.step: 'action' .* "
                                                      r"is outside the action space: '(slot|n)' "):
        env.step(action)
    assert (env.arms_read, env.pulls_used) == before          # nothing happened
