"""Sweeps: grid expansion, seeds, the Parquet store, resume, failures, corrupt files."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from banditlab import BernoulliBandit, ThompsonSampling
from banditlab.errors import BanditlabWarning, ConfigError
from banditlab.store import load_failures, load_store, scan_store, store_status
from banditlab.sweep import expand_grid, load_grid, normalize_grid, sweep, task_seeds
from tests._sweep_helpers import FLAKY_ID, small_grid

COMPARE = ["task_id", "t", "regret", "pulls", "recommendation", "env_seed", "policy_seed",
           "engine", "horizon", "seed_index"]


def _frame(store: Path) -> pd.DataFrame:
    df = load_store(store)[COMPARE].copy()
    df["pulls"] = df["pulls"].map(tuple)
    return df


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The small grid run serially in this process: the reference for every other run."""
    store = tmp_path_factory.mktemp("ref")
    summary = sweep(small_grid(), store=store, executor="serial", progress=False)
    assert (summary.total, summary.done, summary.failed, summary.ran) == (24, 24, 0, 24)
    return _frame(store)


# -- grid ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "match"), [
    ({"colour": 1}, r"'colour' must be one of the known keys"),
    ({"seed": -1}, r"'seed' must be a non-negative int"),
    ({"n_seeds": 0}, r"'n_seeds' must be an int in \[1, inf\); got 0"),
    ({"horizon": []}, r"'horizon' must be an int or a non-empty list"),
    ({"horizon": [10, 10]}, r"'horizon' must be a list of distinct ints"),
    ({"engine": "fast"}, r"'engine' must be one of \['auto', 'kernel', 'python'\]"),
    ({"checkpoints": 0}, r"'checkpoints' must be 'auto', 'log', an int"),
    ({"policies": [{"name": "UCBB"}]}, r"'policies\[0\].name' must be one of \["),
    ({"policies": [{"name": "UCB", "grid": {"alpha": 2.0}}]},
     r"'policies\[0\].grid.alpha' must be a non-empty list of values"),
    ({"policies": [{"name": "UCB", "params": {"alpha": 1.0}, "grid": {"alpha": [2.0]}}]},
     r"'policies\[0\].grid.alpha' must be absent from 'params'"),
    ({"envs": [{"id": "nope/Nothing-v0"}]}, r"'envs\[0\].id' must be a registered env id"),
    ({"envs": [{"id": "banditlab/BernoulliBandit-v0", "kwarg": {}}]},
     r"'envs\[0\].kwarg' must be one of the known keys"),
    ({"envs": [{"id": "banditlab/BernoulliBandit-v0", "kwargs": {"x": float("nan")}}]},
     r"'envs\[0\].kwargs.x' must be JSON-like data"),
])
def test_bad_grid_is_a_config_error_naming_the_field(change, match):
    with pytest.raises(ConfigError, match=match):
        normalize_grid(small_grid(**change))


def test_invalid_cell_is_rejected_before_anything_runs(tmp_path):
    grid = small_grid(policies=[{"name": "UCB", "grid": {"alpha": [1.0, -1.0]}}])
    with pytest.raises(ConfigError, match=r"UCB: 'alpha' must be a float in \(0, inf\); "
                                          r"got -1.0"):
        sweep(grid, store=tmp_path / "s", executor="serial", progress=False)
    assert not (tmp_path / "s").exists()  # a rejected grid leaves no store behind
    fixed = small_grid(policies=[{"name": "UCB", "grid": {"alpha": [1.0, 3.0]}}])
    assert sweep(fixed, store=tmp_path / "s", executor="serial", progress=False).done == 16


def test_toml_file_and_dict_give_the_same_grid(tmp_path):
    toml = tmp_path / "grid.toml"
    toml.write_text("""
seed = 7
n_seeds = 4
horizon = [60, 120]
checkpoints = 10

[[policies]]
name = "UCB"
grid = { alpha = [0.5, 2.0] }

[[policies]]
name = "ThompsonSampling"

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.2, 0.5, 0.7] }
""")
    assert load_grid(toml) == normalize_grid(small_grid())
    (tmp_path / "bad.toml").write_text("seed = = 1")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_grid(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="no such file"):
        load_grid(tmp_path / "missing.toml")


def test_example_config_is_valid():
    grid = load_grid(Path(__file__).parents[1] / "examples" / "sweep.toml")
    assert len(expand_grid(grid)) > 0


# -- seeds -----------------------------------------------------------------------------------
def _independent_seeds(entropy, i):
    """The documented derivation: the i-th child of SeedSequence(entropy).spawn(n)."""
    child = np.random.SeedSequence(entropy).spawn(i + 1)[i]
    return tuple(int(s) for s in child.generate_state(2, np.uint64))


def test_task_seeds_follow_the_documented_derivation():
    tasks = expand_grid(small_grid())
    assert len(tasks) == 3 * 2 * 4 and len({t.task_id for t in tasks}) == len(tasks)
    for t in tasks[::5]:
        coords = t.coordinates()
        assert (t.env_seed, t.policy_seed) == _independent_seeds(7, t.seed_index)
        assert task_seeds(7, coords) == (t.env_seed, t.policy_seed)
        tid = hashlib.sha256(json.dumps(coords, sort_keys=True, separators=(",", ":"))
                             .encode()).hexdigest()[:16]
        assert t.task_id == tid


def test_one_seed_gives_the_same_numbers_through_run_many_run_and_sweep(tmp_path):
    """Issue 13 part 1: one derivation, so a sweep cell, ``run_many`` and ``banditlab run``
    agree bit for bit for the same seed."""
    from banditlab import UCB, run_many
    from banditlab.cli import main

    grid = small_grid(horizon=[120], policies=[{"name": "UCB"}], n_seeds=5, seed=31)
    sweep(grid, store=tmp_path / "store", executor="serial", progress=False)
    cell = load_store(tmp_path / "store")
    ref = run_many(UCB(3), BernoulliBandit([0.2, 0.5, 0.7], horizon=120), n_runs=5, seed=31,
                   checkpoints=10, progress=False)
    for i in range(5):
        rows = cell[cell["seed_index"] == i].sort_values("t")
        assert list(rows["t"]) == list(ref.checkpoints)
        assert np.array_equal(rows["regret"].to_numpy(), ref.regret[i])
    config = tmp_path / "exp.toml"
    config.write_text("horizon = 120\nn_seeds = 5\nseed = 31\ncheckpoints = 10\n[[envs]]\n"
                      "id = \"banditlab/BernoulliBandit-v0\"\n"
                      "kwargs = { means = [0.2, 0.5, 0.7] }\n[[policies]]\nname = \"UCB\"\n")
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    from banditlab import load_results
    res = load_results(next((tmp_path / "out" / "runs").glob("*/*")))
    assert np.array_equal(res.regret, ref.regret)
    assert np.array_equal(res.checkpoints, ref.checkpoints)


def test_a_store_of_the_old_seed_derivation_is_refused(tmp_path):
    sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["format"] = 1
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"store of format 1, whose seeds were derived per "
                                          r"task coordinates.*start a new store"):
        sweep(small_grid(), store=tmp_path, executor="serial", progress=False)


def test_seeds_depend_on_the_seed_index_only():
    tasks = {t.task_id: t for t in expand_grid(small_grid())}
    # reordering the grid, or adding cells, changes no task's id or seeds
    g = small_grid(policies=[{"name": "ThompsonSampling"},
                             {"name": "UCB", "grid": {"alpha": [2.0, 1.0, 0.5]}}],
                   n_seeds=6, horizon=[120, 60])
    other = {t.task_id: t for t in expand_grid(g)}
    assert set(tasks) < set(other)
    assert all(other[k] == v for k, v in tasks.items())
    # common random numbers: every cell gets run i's seeds for seed index i
    by_index: dict[int, set] = {}
    for t in tasks.values():
        by_index.setdefault(t.seed_index, set()).add((t.env_seed, t.policy_seed))
    assert all(len(s) == 1 for s in by_index.values()) and len(by_index) == 4
    assert len({t.env_seed for t in tasks.values()} | {t.policy_seed for t in tasks.values()}
               ) == 8                                   # 4 indices x 2 independent streams
    # another root gives other seeds
    assert expand_grid(small_grid(seed=8))[0].env_seed != expand_grid(small_grid())[0].env_seed


def test_stored_task_matches_an_independent_run(reference):
    """Replay one task with a plain gymnasium loop on the documented seeds."""
    row = reference[(reference["horizon"] == 120) & (reference["seed_index"] == 2)]
    tasks = [t for t in expand_grid(small_grid())
             if t.policy == "ThompsonSampling" and t.horizon == 120 and t.seed_index == 2]
    (task,) = tasks
    mine = row[row["task_id"] == task.task_id]
    env = BernoulliBandit([0.2, 0.5, 0.7], horizon=120)
    policy = ThompsonSampling(3)
    env.reset(seed=task.env_seed)
    policy.reset(seed=task.policy_seed)
    acc, regret, pulls = 0.0, [], np.zeros(3, np.int64)
    for _ in range(120):
        arm = policy.select()
        acc += env.optimal_expected_reward() - env.expected_reward(arm)
        _, reward, _, _, _ = env.step(arm)
        policy.update(arm, reward)
        pulls[arm] += 1
        regret.append(acc)
    ck = mine["t"].to_numpy()
    np.testing.assert_array_equal(ck, np.linspace(0, 120, 11)[1:].round().astype(int))
    np.testing.assert_allclose(mine["regret"].to_numpy(), np.array(regret)[ck - 1], rtol=1e-12)
    assert tuple(pulls) == mine["pulls"].iloc[0]


# -- executors and the store -----------------------------------------------------------------
def test_local_processes_and_batches_do_not_change_results(reference, tmp_path):
    sweep(small_grid(), store=tmp_path / "a", executor=2, batch_size=1, progress=False)
    pd.testing.assert_frame_equal(_frame(tmp_path / "a"), reference)
    # batch_size=1 is one file per task
    assert len(list((tmp_path / "a" / "runs").glob("*.parquet"))) == 24


def test_store_reads_from_pyarrow_and_has_coordinate_columns(reference, tmp_path):
    sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    table = ds.dataset(tmp_path / "runs", format="parquet").to_table()
    assert table.num_rows == len(reference) == 24 * 10
    df = load_store(tmp_path)
    assert set(df["label"]) == {"UCB(alpha=0.5)", "UCB(alpha=2.0)", "ThompsonSampling()"}
    assert set(df["policy.alpha"].dropna()) == {0.5, 2.0}
    assert set(df["env.means"]) == {"[0.2, 0.5, 0.7]"}


def test_resume_skips_finished_tasks(reference, tmp_path):
    first = sweep(small_grid(), store=tmp_path, executor="serial", batch_size=8,
                  progress=False)
    assert first.ran == 24
    again = sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    assert (again.skipped, again.ran, again.done) == (24, 0, 24)
    # losing one shard (8 tasks) means exactly those 8 run again
    shard = sorted((tmp_path / "runs").glob("*.parquet"))[0]
    shard.unlink()
    assert store_status(tmp_path)["pending"] == 8
    third = sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    assert (third.skipped, third.ran) == (16, 8)
    pd.testing.assert_frame_equal(_frame(tmp_path), reference)


def test_grid_mismatch_is_refused_unless_extending(reference, tmp_path):
    sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    with pytest.raises(ConfigError, match=r"grid in the store .* differs from the one given "
                                          r"\('n_seeds' is 4 in the store, 6 here\); pass "
                                          r"extend=True"):
        sweep(small_grid(n_seeds=6), store=tmp_path, executor="serial", progress=False)
    with pytest.raises(ConfigError, match=r"'seed' must match the store to extend it"):
        sweep(small_grid(seed=8), store=tmp_path, executor="serial", extend=True,
              progress=False)
    out = sweep(small_grid(n_seeds=6), store=tmp_path, executor="serial", extend=True,
                progress=False)
    assert (out.total, out.skipped, out.ran, out.done) == (36, 24, 12, 36)
    df = _frame(tmp_path)
    pd.testing.assert_frame_equal(
        df[df["task_id"].isin(reference["task_id"])].reset_index(drop=True), reference)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["grid"]["n_seeds"] == 6 and manifest["history"][0]["n_seeds"] == 4
    # a grid without a seed adopts the store's
    same = sweep(small_grid(n_seeds=6, seed=None), store=tmp_path, executor="serial",
                 progress=False)
    assert same.ran == 0


def test_store_must_be_a_sweep_store_or_empty(tmp_path):
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"'store' must be an empty or new directory"):
        sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    with pytest.raises(TypeError, match=r"sweep: 'executor' must be None \(local processes\)"):
        sweep(small_grid(), store=tmp_path / "x", executor="threads", progress=False)
    with pytest.raises(ValueError, match=r"sweep: 'batch_size' must be an int in \[1, inf\)"):
        sweep(small_grid(), store=tmp_path / "x", batch_size=0, progress=False)
    with pytest.raises(ConfigError, match=r"'store' must be a sweep store directory"):
        store_status(tmp_path)


def _flaky_grid(marker: Path, mode: str) -> dict:
    return small_grid(policies=[{"name": "UCB"}], horizon=50, envs=[
        {"id": "banditlab/BernoulliBandit-v0", "kwargs": {"means": [0.3, 0.6]}},
        {"id": FLAKY_ID, "kwargs": {"means": [0.3, 0.6], "marker": str(marker),
                                    "mode": mode}}])


def test_a_task_that_raises_is_recorded_and_retried(tmp_path):
    marker = tmp_path / "marker"
    store = tmp_path / "store"
    out = sweep(_flaky_grid(marker, "raise"), store=store, executor="serial", progress=False)
    assert (out.total, out.done, out.failed) == (8, 4, 4)
    assert store_status(store) == {"total": 8, "done": 4, "failed": 4, "pending": 0,
                                   "corrupt": 0, "extra": 0}
    fails = load_failures(store)
    assert len(fails) == 4 and set(fails["env"]) == {FLAKY_ID}
    assert all("RuntimeError: marker" in e for e in fails["error"])
    assert all("Traceback (most recent call last)" in tb and "in reset" in tb
               for tb in fails["traceback"])
    # without retry the failed tasks stay failed
    assert sweep(_flaky_grid(marker, "raise"), store=store, executor="serial",
                 retry_failed=False, progress=False).ran == 0
    marker.touch()
    again = sweep(_flaky_grid(marker, "raise"), store=store, executor="serial", progress=False)
    assert (again.ran, again.done, again.failed) == (4, 8, 0)
    assert load_failures(store).empty and not list((store / "failed").iterdir())


def test_a_killed_worker_loses_only_its_batches(tmp_path):
    """A worker SIGKILLed mid-task: the pool restarts and every task still finishes."""
    marker = tmp_path / "marker"
    out = sweep(_flaky_grid(marker, "kill"), store=tmp_path / "s", executor=2, batch_size=1,
                progress=False)
    assert marker.exists()
    assert (out.done, out.failed) == (8, 0)
    # the same grid in this process, now that the marker exists, is the reference
    assert sweep(_flaky_grid(marker, "kill"), store=tmp_path / "ref", executor="serial",
                 progress=False).done == 8
    a, b = _frame(tmp_path / "s"), _frame(tmp_path / "ref")
    pd.testing.assert_frame_equal(a, b)


def test_a_pool_that_keeps_dying_records_failures(tmp_path):
    marker = tmp_path / "marker"
    out = sweep(_flaky_grid(marker, "kill"), store=tmp_path / "s", executor=1, batch_size=8,
                max_pool_restarts=0, progress=False)
    assert (out.done, out.failed) == (0, 8)
    assert all("worker process died" in e for e in load_failures(tmp_path / "s")["error"])


def test_corrupt_and_partial_files_are_never_trusted(reference, tmp_path):
    sweep(small_grid(), store=tmp_path, executor="serial", batch_size=8, progress=False)
    shards = sorted((tmp_path / "runs").glob("*.parquet"))
    data = shards[0].read_bytes()
    shards[0].write_bytes(data[: len(data) // 2])  # a half-written file under a final name
    (tmp_path / "runs" / ("f" * 32 + ".parquet")).write_bytes(b"not parquet")
    (tmp_path / "runs" / ".x.parquet.1234abcd.tmp").write_bytes(data[:100])  # killed writer
    status = store_status(tmp_path)
    assert status["done"] == 16 and status["pending"] == 8 and status["corrupt"] == 2
    with pytest.warns(BanditlabWarning, match=r"skipped 2 corrupt file\(s\)"):
        partial = load_store(tmp_path)
    assert partial["task_id"].nunique() == 16
    assert len(scan_store(tmp_path).temp) == 1
    out = sweep(small_grid(), store=tmp_path, executor="serial", progress=False)
    assert (out.ran, out.done) == (8, 24)
    assert len(list((tmp_path / "corrupt").iterdir())) == 2
    assert not list((tmp_path / "runs").glob("*.tmp"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pd.testing.assert_frame_equal(_frame(tmp_path), reference)
