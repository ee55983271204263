"""Every system in an experiment file (issue 13 part 2): the example file of each system runs
through ``banditlab run`` and sweeps (local and Dask) with the same numbers as the system's
own Python API, and wrong pairings are refused with the envs that fit."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from banditlab._seeding import run_seed_pair
from banditlab.cli import run_experiment
from banditlab.config import load_config, parse_config
from banditlab.errors import ConfigError
from banditlab.registry import ALGORITHMS
from banditlab.store import load_store
from banditlab.sweep import sweep
from banditlab.systems import SYSTEMS, make_env, run_system, runs_on, system_for

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

#: each example file shrunk for a unit test (the files themselves are sized for users)
SMALL = {
    # horizon > 1000 and no checkpoints key: run and sweep must record the same default rounds
    "quickstart": {"horizon": 1500, "n_seeds": 2},
    "streaming": {"horizon": 3000, "n_seeds": 3,
                  "envs": {"kwargs": {"means": {"linspace": [0.2, 0.8, 12]}, "memory": 4}}},
    "cascading": {"horizon": 60, "n_seeds": 2, "checkpoints": 12},
    "cascading_bpi": {"horizon": 300, "n_seeds": 2},
    "sor_tuning": {"horizon": 12, "n_seeds": 2, "envs": {"kwargs": {"m": 5}}},
    "bcd": {"horizon": 40, "n_seeds": 2, "checkpoints": 8,
            "envs": {"kwargs": {"m": 30, "p": 50, "seed": 0}}},
}


def small_example(name: str) -> dict:
    data = tomllib.loads((EXAMPLES / f"{name}.toml").read_text())
    for key, value in SMALL[name].items():
        if key == "envs":
            for env in data["envs"]:
                env["kwargs"].update(value["kwargs"])
        else:
            data[key] = value
    return data


def test_every_system_has_an_example_file_that_loads() -> None:
    from banditlab.sweep import expand_grid, load_grid

    covered = set()
    for file in sorted(EXAMPLES.glob("*.toml")):
        grid = load_grid(file)
        if all(len(v) == 1 for t in (*grid["policies"], *grid["envs"])
               for v in t["grid"].values()) and len(grid["horizon"]) == 1:
            config = load_config(file)           # banditlab run takes it too
            covered |= {system_for(job.policy.protocol).name for job in config.jobs}
        else:                                    # a sweep file: its cells are all valid
            assert expand_grid(grid, entropy=0)
    assert covered == set(SYSTEMS)


def _store_runs(store: Path, entry: dict) -> pd.DataFrame:
    """The store's rows of the [[policies]] table ``entry``."""
    frame = load_store(store)
    mine = [json.loads(p) == entry.get("params", {}) for p in frame["policy_params"]]
    frame = frame[(frame["policy"] == entry["name"]) & np.array(mine)]
    return frame.sort_values(["seed_index", "t"])


def _per_seed(frame: pd.DataFrame, column: str) -> np.ndarray:
    return np.stack([g[column].to_numpy() for _, g in frame.groupby("seed_index")])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_example_run_and_sweep_give_the_same_numbers(name: str, tmp_path: Path) -> None:
    data = small_example(name)
    config = parse_config(data, source=f"{name}.toml")
    done = run_experiment(config, tmp_path / "run", progress=False, n_jobs=1)
    summary = sweep(data, store=tmp_path / "store", executor="serial", progress=False)
    assert summary.failed == 0 and summary.done == len(config.jobs) * config.n_runs
    for job, res, _ in done:
        rows = _store_runs(tmp_path / "store", data["policies"][job.policy_index])
        assert rows["seed_index"].nunique() == config.n_runs
        np.testing.assert_array_equal(_per_seed(rows, "t")[0], res.checkpoints)
        np.testing.assert_array_equal(_per_seed(rows, "regret"), res.regret)
        for trace, values in res.traces.items():
            np.testing.assert_array_equal(_per_seed(rows, trace), values)
        timing = system_for(res.protocol).timing
        for column, values in res.per_run.items():
            if column not in timing:
                np.testing.assert_array_equal(_per_seed(rows, column)[:, 0], values)
        assert np.all(np.isfinite(res.regret))


def _job(config, label):
    return next(j for j in config.jobs if j.policy_label == label)


def test_streaming_file_equals_run_streaming(tmp_path: Path) -> None:
    from banditlab.streaming import run_streaming

    config = parse_config(small_example("streaming"), seed=7)
    job = _job(config, "GameOfArms")
    ours = run_system(job.policy, job.env, config.horizon, n_runs=3, seed=7, n_jobs=1)
    api = run_streaming(job.policy, job.env, n_runs=3, seed=7, n_jobs=1)
    np.testing.assert_array_equal(ours.regret, api.regret)
    for column in ("commit_gap", "pulls_used", "peak_memory", "arms_read"):
        np.testing.assert_array_equal(ours.per_run[column], api.per_run[column])


def test_cascading_file_equals_run_episodes() -> None:
    from banditlab.cascading.runner import run_episodes

    config = parse_config(small_example("cascading"), seed=3)
    job = _job(config, "CascadingVI")
    ours = run_system(job.policy, job.env, config.horizon, n_runs=2, seed=3, n_jobs=1,
                      checkpoints=config.checkpoints)
    api = run_episodes(job.policy, job.env, config.horizon, n_runs=2, seed=3, n_jobs=1)
    idx = ours.checkpoints - 1
    np.testing.assert_array_equal(ours.regret, api.regret[:, idx])
    for trace in ("values", "upper", "lower", "returns"):
        np.testing.assert_array_equal(ours.traces[trace], api.traces[trace][:, idx])


def test_bpi_file_equals_identify() -> None:
    config = parse_config(small_example("cascading_bpi"), seed=11)
    job = _job(config, "CascadingBPI")
    ours = run_system(job.policy, job.env, config.horizon, n_runs=2, seed=11, n_jobs=1)
    # identify(seed=s) plays run 0 of the seed tree of s
    api = job.policy.with_params().identify(job.env, seed=11)
    assert ours.regret[0, 0] == api.suboptimality
    assert ours.per_run["n_episodes"][0] == api.n_episodes


def test_bcd_file_equals_solve() -> None:
    config = parse_config(small_example("bcd"), seed=5)
    job = _job(config, "random")
    ours = run_system(job.policy, job.env, config.horizon, n_runs=2, seed=5,
                      checkpoints=config.checkpoints, n_jobs=1)
    for i in range(2):
        seed = run_seed_pair(5, i)[1]
        res = job.policy.solve(job.env, max_iter=config.horizon, seed=seed)
        np.testing.assert_array_equal(ours.regret[i], res.objective[ours.checkpoints])
    # the random rule draws differently per seed: a seed that was ignored would fail here
    assert not np.array_equal(ours.regret[0], ours.regret[1])


def test_sor_file_equals_run_many() -> None:
    from banditlab import run_many

    config = parse_config(small_example("sor_tuning"), seed=2)
    job = _job(config, "ChebCB")
    assert (job.policy.params.low, job.policy.params.high) == job.env.context_range
    ours = run_system(job.policy, job.env, config.horizon, n_runs=2, seed=2, n_jobs=1)
    api = run_many(job.policy, job.env, config.horizon, n_runs=2, seed=2, n_jobs=1)
    np.testing.assert_array_equal(ours.regret, api.regret)


def test_dask_sweep_of_other_systems_equals_local(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    data = small_example("bcd")
    data["policies"] = [{"name": "BCD", "params": {"partition": "variable",
                                                  "update": "gradient"},
                         "grid": {"selection": ["random", "gsd"]}}]
    local = sweep(data, store=tmp_path / "local", executor=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = sweep(data, store=tmp_path / "dask", executor=client, progress=False)
    assert local.done == dask.done == 4
    a, b = (load_store(tmp_path / k) for k in ("local", "dask"))
    columns = ["task_id", "t", "regret", "n_iter", "optimality", "label"]
    pd.testing.assert_frame_equal(a[columns], b[columns])


@pytest.mark.parametrize(("policy", "env", "needle"), [
    ({"name": "CascadingVI"}, {"id": "banditlab/BernoulliBandit-v0",
                               "kwargs": {"means": [0.2, 0.5]}}, "banditlab/CascadingMDP-v0"),
    ({"name": "BCD"}, {"id": "banditlab/BernoulliBandit-v0", "kwargs": {"means": [0.2, 0.5]}},
     "bcd/dataset_a"),
    ({"name": "UCB"}, {"id": "bcd/dataset_a", "kwargs": {"m": 10, "p": 12}},
     "banditlab/BernoulliBandit-v0"),
    ({"name": "GameOfArms"}, {"id": "banditlab/SORTuning-v0", "kwargs": {"m": 4}},
     "banditlab/StreamingBandit-v0"),
])
def test_an_algorithm_on_another_systems_env_is_refused(policy, env, needle) -> None:
    with pytest.raises(ConfigError, match=r"policies\[0\]: .* runs on .*") as err:
        parse_config({"horizon": 10, "n_seeds": 1, "envs": [env], "policies": [policy]})
    assert needle in str(err.value)


def test_env_properties_are_not_algorithm_params() -> None:
    data = small_example("cascading")
    data["policies"] = [{"name": "CascadingVI", "params": {"n_states": 2}}]
    with pytest.raises(ConfigError, match=r"policies\[0\]\.params\.n_states: set from each env"):
        parse_config(data)


def test_an_invalid_bcd_combination_names_the_reason() -> None:
    data = small_example("bcd")
    data["policies"] = [{"name": "BCD", "params": {"partition": "variable",
                                                  "selection": "gsl"}}]
    with pytest.raises(ConfigError, match=r"policies\[0\] on envs\[0\] .*gsl.*variable"):
        parse_config(data)
    data["policies"] = [{"name": "BCD", "params": {"selection": "best"}}]
    with pytest.raises(ConfigError, match=r"policies\[0\]\.params\.selection: .*'best'"):
        parse_config(data)


def test_the_file_horizon_is_the_episode_count_not_the_mdp_length() -> None:
    config = parse_config(small_example("cascading"))
    job = config.jobs[0]
    assert job.env.horizon == 3                  # H from the env's kwargs
    assert job.policy.get_params()["n_episodes"] == config.horizon


def test_make_env_builds_every_catalogued_id() -> None:
    from banditlab.systems import env_catalogue, env_family

    for env_id, spec in env_catalogue().items():
        env = make_env(env_id, spec.example, 5)
        assert env_family(env) == spec.family
        algorithms = [n for n in ALGORITHMS if spec.family in runs_on(ALGORITHMS[n].protocol)]
        assert algorithms, f"no algorithm runs on {env_id}"


def test_reading_a_bandit_file_imports_no_other_system() -> None:
    """The catalogue of envs and problems is data: a K-armed file must not pay for importing
    the solvers, the cascading or the streaming code (cold start, issue 15)."""
    import subprocess
    import sys

    code = ("import sys; from banditlab.config import load_config; "
            f"load_config({str(EXAMPLES / 'quickstart.toml')!r}); "
            "heavy = sorted(m for m in sys.modules if m.startswith(('banditlab.solvers', "
            "'banditlab.cascading', 'banditlab.streaming', 'banditlab.sor_tuning'))); "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_single_checkpoint_systems_plot_as_markers(tmp_path: Path) -> None:
    """Streaming and BPI results hold one value per run: each is drawn as a marker with its
    band as an error bar (a one-point line would be invisible), and a long unlabelled env
    gets a cut title with a digest."""
    from banditlab.store import plot_store

    data = small_example("cascading_bpi")
    for env in data["envs"]:
        env.pop("label", None)
    sweep(data, store=tmp_path / "bpi", executor="serial", progress=False)
    fig = plot_store(tmp_path / "bpi")
    ax = fig.axes[0]
    assert len(ax.containers) == len(data["policies"])          # one error bar each
    assert len(ax.get_title()) <= 70 and "#" in ax.get_title()
    assert ax.get_ylabel() == "V* - V of the returned policy"
    assert ax.get_xlabel() == "episode"
