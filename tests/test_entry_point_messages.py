"""Issue 17 findings on the entry points of the core (loaders, runners, sweeps): the message
names the parameter and shows the value received, and sizes that cannot be held are refused
before any work starts (no hang, no raw MemoryError/OverflowError)."""

from __future__ import annotations

from pathlib import Path

import pytest

import banditlab as bl
from banditlab.cascading import CascadingVI
from banditlab.cascading.runner import run_episodes
from banditlab.config import load_config
from banditlab.envs.cascading import random_cascading_mdp
from banditlab.envs.streaming import StreamingBandit
from banditlab.errors import ConfigError
from banditlab.streaming import GameOfArms, run_streaming
from banditlab.sweep import sweep


def _mdp():
    return random_cascading_mdp(n_states=2, n_items=3, list_size=2, horizon=2, seed=0)


def _stream():
    return StreamingBandit([0.2, 0.5, 0.7], horizon=100, memory=2)


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: load_config(3), r"load_config: 'path' must be a str or Path; got int 3\."),
    (lambda: load_config(["a"]), r"got list \['a'\]\."),
    (lambda: bl.run_many("UCB", None), r"'policy' must be a banditlab Policy; got str 'UCB'\."),
    (lambda: bl.run_many(bl.UCB(2), 3), r"'env' must be a gymnasium\.Env; got int 3\."),
    (lambda: run_streaming("GameOfArms", _stream()),
     r"'algorithm' must be a StreamingAlgorithm; got str 'GameOfArms'\."),
    (lambda: run_streaming(GameOfArms(), 3), r"'env' must be a StreamingBandit; got int 3\."),
    (lambda: run_episodes("CascadingVI", _mdp(), 5),
     r"'agent' must be a CascadingAgent; got str 'CascadingVI'\."),
    (lambda: run_episodes(CascadingVI.for_env(_mdp()), 3, 5),
     r"'env' must be a CascadingMDP \(what CascadingVI runs on\); got int 3\."),
    (lambda: sweep(3, store="unused"), r"'grid' must be a dict or the path of a TOML file; "
                                      r"got int 3\."),
])
def test_type_errors_show_the_value(call, pattern) -> None:
    with pytest.raises(TypeError, match=pattern):
        call()


def test_load_config_names_check_rewards_as_the_api_spells_it(tmp_path: Path) -> None:
    file = tmp_path / "x.toml"
    file.write_text('horizon = 10\n[[envs]]\nid = "banditlab/BernoulliBandit-v0"\n'
                    'kwargs = { means = [0.2, 0.5] }\n[[policies]]\nname = "UCB"\n')
    with pytest.raises(ConfigError, match=r"^check_rewards: must be a bool; got int 1\.$"):
        load_config(file, check_rewards=1)


@pytest.mark.parametrize(("call", "pattern"), [
    # before: MemoryError / "array is too big" / OverflowError from numpy
    (lambda: run_episodes(CascadingVI.for_env(_mdp()), _mdp(), 2**31),
     r"run_episodes: n_runs=1 x n_episodes=2147483648 x 5 traces needs about"),
    (lambda: run_episodes(CascadingVI.for_env(_mdp()), _mdp(), 2**62), r"needs about"),
    (lambda: run_episodes(CascadingVI.for_env(_mdp()), _mdp(), 2**63),
     r"'n_episodes' must be an int in \[1, 4611686018427387904\]; got 9223372036854775808"),
    # before: minutes deriving 2**31 seed pairs
    (lambda: run_streaming(GameOfArms(), _stream(), n_runs=2**31),
     r"run_streaming: n_runs=2147483648 \(12 numbers per run\) needs about"),
    (lambda: run_episodes(CascadingVI.for_env(_mdp()), _mdp(), 10, n_runs=2**31),
     r"n_runs=2147483648 x n_episodes=10"),
])
def test_sizes_beyond_memory_are_refused_before_any_work(call, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        call()
