"""Every registered env accepts every action of its space, or masks the illegal ones (issue 12).

Generic RL code samples ``env.action_space.sample()``, or
``env.action_space.sample(mask=info["action_mask"])`` when the env exposes a mask: both must only
draw actions that ``step`` accepts. The ids come from ``ENV_REGISTRY`` and ``OTHER_ENVS``, so a
newly registered env is covered without editing this file.
"""

from __future__ import annotations

import copy
import re
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from banditlab.envs import ENV_REGISTRY, OTHER_ENVS
from banditlab.envs.streaming import (
    DISCARD,
    PULL,
    READ,
    StreamingBandit,
    StreamingMemoryError,
    mix_in_means,
)

EXAMPLES: dict[str, dict] = {
    **{env_id: example for env_id, (_, _, example) in ENV_REGISTRY.items()},
    **{env_id: example for env_id, (_, _, example) in OTHER_ENVS.items()},
}
ENV_IDS = sorted(EXAMPLES)
N_ROLLOUTS = 20
N_STEPS = 200

# Warnings gymnasium's checker emits by design for some valid envs (a linear bandit's features
# and the SOR context are unbounded reals); tests/contracts/test_envs.py ignores the same two.
EXPECTED_WARNINGS = {
    "A Box observation space minimum value is -infinity. This is probably too low.",
    "A Box observation space maximum value is infinity. This is probably too high.",
}


#: gymnasium's Box.contains warns on numpy scalars, which is what a shape-() Box (the streaming
#: env's ``n``) samples; the value is still checked
CASTING = "ignore:.*Casting input x to numpy array"


def _strip(message: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", message).removeprefix("WARN: ")


def _random_action(env: gymnasium.Env, info: dict[str, Any]) -> Any:
    mask = info.get("action_mask")
    return env.action_space.sample() if mask is None else env.action_space.sample(mask=mask)


@pytest.mark.filterwarnings(CASTING)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_masked_random_rollouts_never_fail(env_id: str) -> None:
    """20 seeded rollouts of 200 random (masked where a mask exists) actions each, resetting
    when an episode ends: no action drawn this way is refused."""
    env = gymnasium.make(env_id, **EXAMPLES[env_id])
    masked = None
    for seed in range(N_ROLLOUTS):
        env.action_space.seed(seed)
        _, info = env.reset(seed=seed)
        if masked is None:
            masked = "action_mask" in info
        for _ in range(N_STEPS):
            assert ("action_mask" in info) is masked    # from reset and from every step
            action = _random_action(env, info)
            assert env.action_space.contains(action)
            _, reward, terminated, truncated, info = env.step(action)
            assert np.isfinite(reward)
            if terminated or truncated:
                _, info = env.reset()
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env_passes_on_every_registered_example(env_id: str) -> None:
    """gymnasium's checker steps with unmasked samples; it must pass whatever the action space's
    seed (seeded here so that the test is deterministic)."""
    env = gymnasium.make(env_id, **EXAMPLES[env_id])
    for seed in range(5):
        env.unwrapped.action_space.seed(seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped, skip_render_check=True)
        unexpected = [_strip(str(w.message)) for w in caught
                      if _strip(str(w.message)) not in EXPECTED_WARNINGS]
        assert unexpected == []
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_an_env_with_a_mask_documents_it(env_id: str) -> None:
    env = gymnasium.make(env_id, **EXAMPLES[env_id])
    _, info = env.reset(seed=0)
    if "action_mask" in info:
        doc = type(env.unwrapped).__doc__ or ""
        assert 'info["action_mask"]' in doc and "raises" in doc
    env.close()


def test_streaming_example_is_realistic() -> None:
    """The example is not a one-arm instance chosen to get past the checker."""
    example = ENV_REGISTRY["banditlab/StreamingBandit-v0"][2]
    env = StreamingBandit(**example)
    assert env.n_arms >= 10 and env.memory == 2
    assert len(set(example["means"])) == env.n_arms


# -- StreamingBandit: the mask is exact ------------------------------------------------------
def _visited_states(env: StreamingBandit, seed: int, n_steps: int) -> list[StreamingBandit]:
    """Copies of the env at every state of a masked random rollout."""
    env.action_space.seed(seed)
    _, info = env.reset(seed=seed)
    states = [copy.deepcopy(env)]
    for _ in range(n_steps):
        _, _, terminated, _, info = env.step(_random_action(env, info))
        states.append(copy.deepcopy(env))
        if terminated:
            break
    return states


@pytest.mark.parametrize("memory", [0, 1, 2, 6])
def test_streaming_mask_allows_exactly_the_legal_actions(memory: int) -> None:
    """In every visited state (horizon used up, all arms discarded, budget full, ...), an op the
    mask allows succeeds with every slot and every n of the space, and an op it excludes raises
    StreamingMemoryError with the state unchanged."""
    base = StreamingBandit(mix_in_means(6, seed=memory), horizon=40, memory=memory)
    seen_excluded = set()
    for seed in range(8):
        for state in _visited_states(base, seed, 40):
            ops, slots, n_mask = state.action_mask()
            assert n_mask is None and ops.dtype == slots.dtype == np.int8
            assert slots.shape == (memory + 1,) and ops.any() and slots.any()
            stored = state.stored_arms
            assert slots.sum() == max(len(stored), 1)
            trials = [(op, slot, n) for op in (READ, PULL, DISCARD) for slot in range(memory + 1)
                      for n in ((1, state.horizon) if op == PULL else (1,))]
            for op, slot, n in trials:
                env = copy.deepcopy(state)
                before = (env.stored_arms, env.pulls_used, env.arms_read, env.regret)
                if ops[op]:
                    _, _, _, _, info = env.step((op, slot, n))
                    assert info["pulls"] == (min(n, state.pulls_left) if op == PULL else 0)
                else:
                    seen_excluded.add(op)
                    with pytest.raises(StreamingMemoryError, match=r"^StreamingBandit\.step: "):
                        env.step((op, slot, n))
                    assert (env.stored_arms, env.pulls_used, env.arms_read, env.regret) == before
    assert seen_excluded == ({PULL, DISCARD} if memory == 6 else {READ, PULL, DISCARD})


def test_streaming_pull_is_clipped_to_the_pulls_left() -> None:
    env = StreamingBandit([0.2, 0.7], horizon=10, memory=1, shuffle=False)
    env.reset(seed=0)
    _, reward, _, truncated, info = env.step((PULL, 0, 4))
    assert info["pulls"] == 4 and not truncated
    _, reward, _, truncated, info = env.step((PULL, 0, 10))
    assert info["pulls"] == 6 and truncated and env.pulls_used == 10
    assert 0.0 <= reward <= 6.0
    assert env.action_mask()[0].tolist() == [1, 0, 1]      # no pull once the horizon is used


def test_streaming_slots_designate_stored_arms_in_stream_order() -> None:
    env = StreamingBandit([0.1, 0.2, 0.3, 0.4], horizon=100, memory=2, shuffle=False)
    _, info = env.reset(seed=0)
    assert info["stored_arms"].tolist() == [0]
    assert [a.tolist() if a is not None else None for a in info["action_mask"]] == \
        [[1, 1, 1], [1, 0, 0], None]
    env.step((READ, 0, 1))
    _, _, _, _, info = env.step((READ, 0, 1))
    assert info["stored_arms"].tolist() == [0, 1, 2]
    assert info["action_mask"][0].tolist() == [0, 1, 1]    # budget full: no read
    env.step((DISCARD, 1, 1))                                # slot 1 is arm 1
    assert env.stored_arms == [0, 2] and env.slot_of(2) == 1
    env.step((PULL, 2, 5))                                   # slot 2 wraps to slot 0: arm 0
    assert env.regret == pytest.approx(0.3 * 5)


# -- StreamingBandit: an unmasked illegal action raises the documented error ------------------
def test_streaming_unmasked_random_actions_hit_the_documented_error() -> None:
    """Without the mask, random actions soon do what the model forbids; the error is the
    StreamingMemoryError the class documents, and the mask excluded that action."""
    example = ENV_REGISTRY["banditlab/StreamingBandit-v0"][2]
    env = StreamingBandit(**example)
    failures = 0
    for seed in range(N_ROLLOUTS):
        env.action_space.seed(seed)
        _, info = env.reset(seed=seed)
        for _ in range(N_STEPS):
            action = env.action_space.sample()
            try:
                _, _, terminated, truncated, info = env.step(action)
            except StreamingMemoryError as exc:
                failures += 1
                assert str(exc).startswith("StreamingBandit.step: ")
                assert info["action_mask"][0][int(action[0])] == 0
                break
            if terminated or truncated:
                break
    assert failures > 0
    assert "StreamingMemoryError" in (StreamingBandit.__doc__ or "")


def test_streaming_illegal_actions_have_clear_messages() -> None:
    env = StreamingBandit([0.1, 0.5, 0.9, 0.3], horizon=20, memory=1, shuffle=False)
    env.reset(seed=0)
    env.step((READ, 0, 1))
    with pytest.raises(StreamingMemoryError, match=re.escape(
            "StreamingBandit.step: reading arm 2 would store 2 arms besides the buffer, above "
            "the memory budget of 1; discard an arm first.")):
        env.step((READ, 0, 1))
    env.step((DISCARD, 0, 1))
    env.step((DISCARD, 0, 1))
    for op, name in ((PULL, "pull"), (DISCARD, "discard")):
        with pytest.raises(StreamingMemoryError, match=re.escape(
                f"StreamingBandit.step: op {op} ({name}) needs a stored arm, but every arm read "
                "so far was discarded; read the next arm first.")):
            env.step((op, 0, 1))
    env.step((READ, 0, 1))
    env.step((PULL, 0, 20))
    with pytest.raises(StreamingMemoryError, match=re.escape(
            "StreamingBandit.step: pulling arm 2 1 times exceeds the horizon: only 0 of "
            "horizon=20 pulls are left.")):
        env.step((PULL, 0, 1))
    env.step((DISCARD, 0, 1))
    env.step((READ, 0, 1))
    _, _, terminated, _, _ = env.step((DISCARD, 0, 1))
    assert terminated and env.action_mask()[0].tolist() == [1, 0, 0]
    with pytest.raises(StreamingMemoryError, match="the stream has ended, so only reads"):
        env.step((PULL, 0, 1))


@pytest.mark.filterwarnings(CASTING)
@pytest.mark.parametrize(("action", "exc", "pattern"), [
    ((PULL, 2, 1), ValueError, r"'slot' must be an int in \[0, 1\]; got 2\."),
    ((PULL, 0, 0), ValueError, r"'n' must be an int in \[1, 20\]; got 0\."),
    ((PULL, 0, 21), ValueError, r"'n' must be an int in \[1, 20\]; got 21\."),
    ((3, 0, 1), ValueError, r"'op' must be an int in \[0, 2\]; got 3\."),
    ((PULL, 0.5, 1), TypeError, r"'slot' must be an int in \[0, 1\]; got float 0\.5"),
    ((PULL, 0), TypeError, r"'action' must be a tuple \(op, slot, n\) with op in \{0: read, "
                           r"1: pull, 2: discard\}, slot in \[0, 1\] and n in \[1, 20\]"),
])
def test_streaming_actions_outside_the_space_are_refused(action: Any, exc: type[Exception],
                                                         pattern: str) -> None:
    env = StreamingBandit([0.1, 0.5, 0.9], horizon=20, memory=1, shuffle=False)
    env.reset(seed=0)
    assert not env.action_space.contains(action)
    with pytest.raises(exc, match=r"^StreamingBandit\.step: ('action' \(.*\) is outside the "
                                  r"action space: )?" + pattern):
        env.step(action)
    assert env.pulls_used == 0 and env.stored_arms == [0]
