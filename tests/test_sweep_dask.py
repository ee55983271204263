"""Sweeps on a real Dask cluster (the ``distributed`` extra): same results as serial runs."""

from __future__ import annotations

import pandas as pd
import pytest
from distributed import Client, LocalCluster

from banditlab.store import load_store
from banditlab.sweep import sweep
from tests._sweep_helpers import small_grid

COMPARE = ["task_id", "t", "regret", "recommendation", "env_seed", "policy_seed", "engine"]


@pytest.fixture(scope="module")
def client():
    """One LocalCluster with 2 single-threaded worker processes for the whole module."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def _frame(store):
    df = load_store(store)
    out = df[COMPARE].copy()
    out["pulls"] = df["pulls"].map(tuple)
    return out


def test_dask_local_processes_and_serial_give_identical_tasks(client, tmp_path):
    grid = small_grid(envs=[{"id": "banditlab/BernoulliBandit-v0",
                             "kwargs": {"means": [0.2, 0.5, 0.7]}},
                            {"id": "banditlab/GaussianBandit-v0",
                             "kwargs": {"means": [0.0, 0.4]}}])
    # executor identity is about the mechanics: UCB(sigma=0.5) and Beta-Thompson run on the
    # sigma = 1 Gaussian env too (the opt-out, carried to the workers)
    grid["check_rewards"] = False
    serial = sweep(grid, store=tmp_path / "serial", executor="serial", progress=False)
    dask = sweep(grid, store=tmp_path / "dask", executor=client, batch_size=3,
                 progress=False)
    local = sweep(grid, store=tmp_path / "local", executor=2, progress=False)
    assert serial.done == dask.done == local.done == serial.total == 48
    ref = _frame(tmp_path / "serial")
    pd.testing.assert_frame_equal(_frame(tmp_path / "dask"), ref)
    pd.testing.assert_frame_equal(_frame(tmp_path / "local"), ref)
    # the batches really ran on both workers
    assert len(client.scheduler_info()["workers"]) == 2


def test_dask_resume_and_failures(client, tmp_path):
    grid = small_grid(policies=[{"name": "UCB"}, {"name": "EpsilonGreedy",
                                                  "grid": {"epsilon": [0.1, 0.3]}}])
    first = sweep(small_grid(policies=[{"name": "UCB"}]), store=tmp_path, executor=client,
                  progress=False)
    assert first.done == 8
    more = sweep(grid, store=tmp_path, executor=client, extend=True, progress=False)
    assert (more.skipped, more.ran, more.done, more.failed) == (8, 16, 24, 0)


CLI_GRID = """
seed = 3
n_seeds = 4
horizon = 200
checkpoints = 5

[[policies]]
name = "UCB"

[[policies]]
name = "EpsilonGreedy"
grid = { epsilon = [0.1, 0.3] }

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.2, 0.5, 0.7] }
"""


def test_the_command_line_scheduler_path_resumes_and_matches_local(client, tmp_path, capsys):
    """``banditlab sweep --scheduler ADDRESS`` (README): a store begun by local workers and
    finished on the cluster equals one made by local workers alone."""
    from banditlab.cli import main

    config = tmp_path / "grid.toml"
    config.write_text(CLI_GRID)
    first = tmp_path / "first.toml"                # the UCB cells only: a partial store
    first.write_text(CLI_GRID.replace(
        '[[policies]]\nname = "EpsilonGreedy"\ngrid = { epsilon = [0.1, 0.3] }\n\n', ""))
    mixed, local = tmp_path / "mixed", tmp_path / "local"
    assert main(["sweep", str(first), "--store", str(mixed), "--local", "2",
                 "--no-progress"]) == 0
    assert main(["sweep", str(config), "--store", str(mixed), "--extend", "--scheduler",
                 client.scheduler.address, "--no-progress"]) == 0
    assert "(ran 8, skipped 4)" in capsys.readouterr().out
    assert main(["sweep", str(config), "--store", str(local), "--local", "2",
                 "--no-progress"]) == 0
    pd.testing.assert_frame_equal(_frame(mixed), _frame(local))
    assert len(_frame(local)) == 12 * 5
