"""``Results``: frames, Parquet + JSON round trip (no pickle), summaries and plots."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from matplotlib.axes import Axes

import banditlab as bl


@pytest.fixture(scope="module")
def ucb_results() -> bl.Results:
    return bl.run_many(bl.UCB(3), bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=300), n_runs=4,
                       seed=3, checkpoints="log")


@pytest.fixture(scope="module")
def sh_results() -> bl.Results:
    return bl.run_many(bl.SequentialHalving(4, budget=40),
                       bl.BernoulliBandit([0.1, 0.2, 0.3, 0.9], horizon=40), n_runs=6, seed=1)


def assert_same(a: bl.Results, b: bl.Results) -> None:
    for name in ("policy", "policy_params", "env", "env_params", "horizon", "best_arm",
                 "seed_entropy", "engine", "wall_time_s", "versions"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("checkpoints", "regret", "pulls", "recommendations"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name


@pytest.mark.parametrize("which", ["ucb_results", "sh_results"])
def test_save_load_roundtrip(which: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    res = request.getfixturevalue(which)
    out = res.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "pulls.parquet",
                                                     "regret.parquet"]
    # readable without banditlab (and without pickle): pyarrow, pandas and json
    meta = json.loads((out / "meta.json").read_text())
    assert meta["format"] == 1 and meta["n_runs"] == res.n_runs
    table = pq.read_table(out / "regret.parquet")
    assert table.num_rows == res.regret.size
    assert b"pickle" not in (out / "regret.parquet").read_bytes()
    assert_same(bl.load_results(out), res)
    assert_same(bl.Results.load(str(out)), res)


def test_seed_entropy_of_fresh_entropy_survives_json(tmp_path: Path) -> None:
    res = bl.run(bl.UCB(2), bl.BernoulliBandit([0.1, 0.9], horizon=20), seed=None)
    assert res.seed_entropy > 2 ** 64
    assert bl.load_results(res.save(tmp_path / "r")).seed_entropy == res.seed_entropy


def test_load_errors(tmp_path: Path, ucb_results: bl.Results) -> None:
    with pytest.raises(FileNotFoundError, match=r"Results\.load: no meta\.json in"):
        bl.load_results(tmp_path / "missing")
    out = ucb_results.save(tmp_path / "r")
    meta = json.loads((out / "meta.json").read_text())
    meta["format"] = 99
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"Results\.load: 'format' must be 1; got 99 in"):
        bl.load_results(out)


def test_to_frame(ucb_results: bl.Results) -> None:
    df = ucb_results.to_frame()
    assert list(df.columns) == ["policy", "env", "run", "t", "regret"]
    n_ck = ucb_results.checkpoints.size
    assert len(df) == 4 * n_ck
    assert (df["policy"] == "UCB(alpha=2.0)").all() and (df["env"] == "BernoulliBandit").all()
    one = df[df["run"] == 2]
    np.testing.assert_array_equal(one["t"], ucb_results.checkpoints)
    np.testing.assert_array_equal(one["regret"], ucb_results.regret[2])
    # tidy: mean over runs by t equals Results.mean_regret
    by_t = df.groupby("t")["regret"].mean().to_numpy()
    np.testing.assert_allclose(by_t, ucb_results.mean_regret(), rtol=1e-12)


def test_pulls_frame_and_summary(sh_results: bl.Results) -> None:
    df = sh_results.pulls_frame()
    assert list(df.columns) == ["run", "arm", "pulls", "recommendation"]
    assert len(df) == 6 * 4
    assert df.groupby("run")["pulls"].sum().eq(40).all()
    row = sh_results.summary()
    assert row["runs"] == 6 and row["horizon"] == 40
    assert row["error_rate"] == bl.bai_error_rate(sh_results)
    assert 0.0 <= row["error_rate"] <= 1.0
    final = sh_results.final_regret()
    assert row["mean_regret"] == pytest.approx(final.mean())
    assert row["sem"] == pytest.approx(final.std(ddof=1) / np.sqrt(6))
    qs = sh_results.quantiles((0.0, 1.0))
    np.testing.assert_array_equal(qs[0], sh_results.regret.min(axis=0))


def test_bai_error_rate(sh_results: bl.Results, ucb_results: bl.Results) -> None:
    want = float(np.mean(sh_results.recommendations != 3))
    assert bl.bai_error_rate(sh_results) == want
    with pytest.raises(ValueError, match=r"bai_error_rate: the results of UCB hold no "
                                         r"recommendations"):
        bl.bai_error_rate(ucb_results)
    assert "error_rate" not in ucb_results.summary()


@pytest.mark.parametrize("log", [False, True])
def test_plot_returns_axes(log: bool, ucb_results: bl.Results) -> None:
    ax = ucb_results.plot(log=log)
    assert isinstance(ax, Axes)
    assert ax.get_xscale() == ("log" if log else "linear")
    assert ax.get_yscale() == ("log" if log else "linear")
    assert len(ax.lines) == 1 and ax.get_legend() is not None
    x, y = ax.lines[0].get_data()
    keep = ucb_results.mean_regret() > 0 if log else slice(None)
    np.testing.assert_array_equal(y, ucb_results.mean_regret()[keep])
    np.testing.assert_array_equal(x, ucb_results.checkpoints[keep])
    plt.close(ax.figure)


def test_plot_on_given_axes_with_label(ucb_results: bl.Results, sh_results: bl.Results) -> None:
    fig, ax = plt.subplots()
    assert ucb_results.plot(ax, label="mine") is ax
    sh_results.plot(ax=ax, band=(0.25, 0.75))
    assert ax.get_legend().get_texts()[0].get_text() == "mine"
    assert len(ax.lines) == 2
    plt.close(fig)


def test_results_frames_concatenate() -> None:
    env = bl.BernoulliBandit([0.3, 0.6], horizon=50)
    frames = [bl.run_many(p, env, n_runs=2, seed=0).to_frame()
              for p in (bl.UCB(2), bl.Uniform(2))]
    df = pd.concat(frames)
    assert set(df["policy"]) == {"UCB(alpha=2.0)", "Uniform(mode=round_robin)"}
