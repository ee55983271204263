"""Sweep command line (through add_subcommands/handle and as a subprocess), and a real
kill of the driver mid-sweep followed by a resume."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from banditlab.store import load_store, scan_store, store_status
from banditlab.sweep import sweep
from banditlab.sweep_cli import add_subcommands, handle

GRID = """
seed = 11
n_seeds = 3
horizon = 80
checkpoints = 8

[[policies]]
name = "UCB"
grid = { alpha = [0.5, 2.0] }

[[policies]]
name = "EpsilonGreedy"
params = { epsilon = 0.2 }

[[envs]]
id = "banditlab/BernoulliBandit-v0"
grid = { means = [[0.2, 0.8], [0.4, 0.6]] }
"""


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="banditlab")
    sub = parser.add_subparsers(dest="command")
    add_subcommands(sub)
    return handle(parser.parse_args(list(argv)))


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "grid.toml"
    path.write_text(GRID)
    return path


def test_sweep_status_and_plot_commands(config, tmp_path, capsys):
    store = tmp_path / "store"
    assert cli("sweep", str(config), "--store", str(store), "--serial", "--no-progress") == 0
    out = capsys.readouterr().out
    assert "18/18 done, 0 failed, 0 pending (ran 18, skipped 0)" in out
    assert cli("sweep", str(config), "--store", str(store), "--local", "2",
               "--no-progress") == 0
    assert "(ran 0, skipped 18)" in capsys.readouterr().out
    assert cli("sweep", "status", str(store)) == 0
    out = capsys.readouterr().out
    assert "total:   18" in out and "done:    18" in out and "pending: 0" in out
    assert cli("plot", str(store), "--by", "policy", "policy.alpha", "--log") == 0
    png = store / "regret.png"
    assert capsys.readouterr().out.strip() == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli("plot", str(store), "--out", str(tmp_path / "p.png")) == 0
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_plot_has_one_panel_per_env_and_groups_by_a_coordinate(config, tmp_path):
    import json

    import matplotlib.pyplot as plt

    from banditlab.store import plot_store

    store = tmp_path / "s"
    sweep(config, store=store, executor="serial", progress=False)
    fig = plot_store(store, by="policy.alpha")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [
        "BernoulliBandit-v0(means=[0.2, 0.8])", "BernoulliBandit-v0(means=[0.4, 0.6])"]
    df = load_store(store)
    for ax in panels:
        labels = sorted(line.get_label() for line in ax.get_lines())
        assert labels == ["policy.alpha=0.5", "policy.alpha=2.0", "policy.alpha=nan"]
        means = json.loads(ax.get_title()[len("BernoulliBandit-v0(means="):-1])
        in_env = df[[json.loads(k)["means"] == means for k in df["env_kwargs"]]]
        sub = in_env[in_env["policy.alpha"] == 2.0].groupby("t")["regret"].mean()
        line = next(li for li in ax.get_lines() if li.get_label() == "policy.alpha=2.0")
        assert list(line.get_xdata()) == list(sub.index)
        assert list(line.get_ydata()) == pytest.approx(list(sub.to_numpy()))
    plt.close(fig)
    with pytest.raises(ValueError, match=r"plot_store: 'by' must name grid coordinates"):
        plot_store(store, by="colour")


def test_plot_refuses_to_average_a_varying_coordinate(config, tmp_path):
    from banditlab.store import plot_store

    store = tmp_path / "s"
    sweep(config, store=store, executor="serial", progress=False)
    # grouped by policy only, the UCB curve would average alpha = 0.5 and alpha = 2.0
    with pytest.raises(ValueError, match=r"plot_store: 'policy\.alpha' takes several values "
                                         r"\(0\.5, 2\.0\) within the curve 'policy=UCB' of "
                                         r"BernoulliBandit-v0\(means=\[0\.2, 0\.8\]\); add it "
                                         r"to 'by'"):
        plot_store(store, by="policy")
    assert cli("plot", str(store), "--by", "policy") == 2


@pytest.mark.parametrize(("argv", "message"), [
    (("sweep", "{missing}", "--store", "{store}"), "config error: sweep config: no such file"),
    (("sweep", "{config}"), "config error: sweep: --store DIR is required."),
    (("sweep", "status"), "config error: sweep status: give the store directory"),
    (("sweep", "status", "{store}"), "config error: store_status: 'store' must be a sweep"),
    (("plot", "{store}"), "config error: plot: 'store' must be a sweep store directory"),
])
def test_config_errors_are_one_line_exit_2(argv, message, config, tmp_path, capsys):
    fill = {"missing": str(tmp_path / "none.toml"), "store": str(tmp_path / "s"),
            "config": str(config)}
    assert cli(*(a.format(**fill) for a in argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_grid_mismatch_from_the_command_line(config, tmp_path, capsys):
    store = tmp_path / "s"
    assert cli("sweep", str(config), "--store", str(store), "--serial", "--no-progress") == 0
    config.write_text(GRID.replace("n_seeds = 3", "n_seeds = 4"))
    assert cli("sweep", str(config), "--store", str(store), "--serial", "--no-progress") == 2
    assert "differs from the one given ('n_seeds' is 3 in the store, 4 here)" in \
        capsys.readouterr().err
    assert cli("sweep", str(config), "--store", str(store), "--serial", "--no-progress",
               "--extend") == 0
    assert "24/24 done" in capsys.readouterr().out


def test_module_entry_point_runs_and_reports_errors(config, tmp_path):
    store = tmp_path / "s"
    # Run from tmp_path with the installed package: the checkout's bare banditlab/ folder lacks
    # the envs/solvers mapping that only an install provides, so it must not shadow it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "banditlab.sweep_cli", "sweep", str(config),
                           "--store", str(store), "--local", "2", "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "18/18 done" in done.stdout
    status = subprocess.run([sys.executable, "-m", "banditlab.sweep_cli", "sweep", "status",
                             str(store)], capture_output=True, text=True, env=env, timeout=120,
                            cwd=tmp_path)
    assert status.returncode == 0 and "done:    18" in status.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(GRID.replace('name = "UCB"', 'name = "UCBB"'))
    err = subprocess.run([sys.executable, "-m", "banditlab.sweep_cli", "sweep", str(bad),
                          "--store", str(tmp_path / "b")], capture_output=True, text=True,
                         env=env, timeout=120, cwd=tmp_path)
    assert err.returncode == 2 and "Traceback" not in err.stderr
    assert err.stderr.startswith("config error: sweep config: 'policies[0].name' must be one")


DRIVER = textwrap.dedent("""
    import sys
    from banditlab.sweep import sweep
    sweep(sys.argv[1], store=sys.argv[2], executor=2, batch_size=2, progress=False)
""")

SLOW_GRID = """
seed = 3
n_seeds = 20
horizon = 1000
checkpoints = 5
engine = "python"

[[policies]]
name = "UCB"

[[policies]]
name = "ThompsonSampling"

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.3, 0.5, 0.6] }
"""


def test_killing_the_driver_loses_only_tasks_in_flight(tmp_path):
    """SIGKILL the driver (and its workers) mid-sweep, check the store, resume, compare."""
    config = tmp_path / "slow.toml"
    config.write_text(SLOW_GRID)
    store = tmp_path / "store"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), str(config), str(store)],
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                            cwd=tmp_path, start_new_session=True, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((store / "runs").glob("*.parquet"))) >= 3 if store.exists() else False:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep ended before it could be killed: " + \
            proc.stderr.read().decode()[-2000:]
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the workers it started
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    status = store_status(store)
    assert status["corrupt"] == 0 and 6 <= status["done"] < 40 and status["pending"] > 0
    for shard in (store / "runs").glob("*.parquet"):  # every trusted file reads in full
        table = pq.read_table(shard)
        assert table.num_rows == 5 * len(set(table["task_id"].to_pylist()))
    killed_done = set(scan_store(store).done)
    out = sweep(config, store=store, executor=2, progress=False)
    assert (out.done, out.failed, out.skipped) == (40, 0, len(killed_done))
    ref = sweep(config, store=tmp_path / "ref", executor="serial", progress=False)
    assert ref.done == 40
    cols = ["task_id", "t", "regret", "env_seed", "policy_seed"]
    pd.testing.assert_frame_equal(load_store(store)[cols], load_store(tmp_path / "ref")[cols])
