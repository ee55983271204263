"""Plain-Python policies and envs are documented extension points that run everywhere."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import banditlab as bl
from banditlab.errors import ConfigError, IncompatibleEnvError
from banditlab.testing import check_algorithm, check_env
from tests._custom_policy import SlidingWindowUCB, SwitchingBandit


class Stubborn(bl.PythonPolicy):
    """Always arm 0."""

    def select(self, obs=None):
        return 0

    def update(self, action, reward, obs=None):
        pass


def _env() -> SwitchingBandit:
    return SwitchingBandit([0.8, 0.2], [0.2, 0.8], switch=1500, horizon=3000)


def test_a_python_policy_runs_on_a_python_env_and_adapts() -> None:
    sw = bl.run_many(SlidingWindowUCB(2, window=200), _env(), n_runs=4, seed=0,
                     checkpoints=[1500, 2500, 3000])
    assert sw.engine == "python" and sw.env_label.startswith("SwitchingBandit(means=[0.8, 0.2]")
    # after the switch the window forgets the first phase: over the last 500 rounds it plays
    # the new best arm most of the time (always the old one would cost 0.6 x 500 = 300)
    late = sw.regret[:, 2] - sw.regret[:, 1]
    assert np.all(late < 0.25 * 300), late
    # canary: a policy that keeps the first phase's best arm fails that bound
    stuck = bl.run_many(Stubborn(2), _env(), n_runs=2, seed=0, checkpoints=[1500, 2500, 3000])
    assert np.all(stuck.regret[:, 2] - stuck.regret[:, 1] >= 0.25 * 300)
    with pytest.raises(IncompatibleEnvError, match="needs a policy with kernels; it is written "
                                                   "in plain Python"):
        bl.run_many(SlidingWindowUCB(2), bl.BernoulliBandit([0.1, 0.9], horizon=50),
                    engine="kernel")


def test_the_contract_suite_accepts_them() -> None:
    check_algorithm(SlidingWindowUCB, max_examples=5)
    check_env(_env())


def test_a_python_policy_must_define_its_steps() -> None:
    with pytest.raises(TypeError, match="a PythonPolicy must define update"):
        class Half(bl.PythonPolicy):
            def select(self, obs=None):
                return 0
    with pytest.raises(ValueError, match=r"SlidingWindowUCB: 'window' must be an int in "
                                         r"\[1, inf\); got 0\."):
        SlidingWindowUCB(2, window=0)


def test_experiment_files_and_sweeps_name_it_by_import_path(tmp_path: Path) -> None:
    from banditlab.cli import run_experiment
    from banditlab.config import load_config
    from banditlab.store import load_store
    from banditlab.sweep import sweep

    spec = textwrap.dedent("""
        horizon = 200
        n_seeds = 2
        seed = 0
        [[envs]]
        id = "banditlab/BernoulliBandit-v0"
        kwargs = { means = [0.3, 0.7] }
        [[policies]]
        name = "tests._custom_policy:SlidingWindowUCB"
        params = { window = 50 }
        """)
    path = tmp_path / "exp.toml"
    path.write_text(spec)
    done = run_experiment(load_config(path), tmp_path / "out", n_jobs=1, progress=False)
    res = done[0][1]
    assert res.policy == "SlidingWindowUCB" and res.policy_params["window"] == 50
    assert res.engine == "python" and res.n_runs == 2
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.replace("SlidingWindowUCB", "NoSuchPolicy"))
    with pytest.raises(ConfigError, match=r"policies\[0\]\.name: the import path "
                                          r"'tests\._custom_policy:NoSuchPolicy' does not name "
                                          r"a policy \(AttributeError"):
        load_config(bad)
    grid = {"name": "custom", "seed": 1, "n_seeds": 2, "horizon": 100,
            "policies": [{"name": "tests._custom_policy:SlidingWindowUCB",
                          "grid": {"window": [20, 50]}}, {"name": "UCB"}],
            "envs": [{"id": "banditlab/BernoulliBandit-v0", "kwargs": {"means": [0.3, 0.7]}}]}
    summary = sweep(grid, store=tmp_path / "store", executor="serial", progress=False)
    assert (summary.done, summary.failed) == (6, 0)
    frame = load_store(tmp_path / "store")
    assert set(frame["policy"]) == {"tests._custom_policy:SlidingWindowUCB", "UCB"}
