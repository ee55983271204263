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
    assert meta["format"] == 2 and meta["n_runs"] == res.n_runs
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
    with pytest.raises(ValueError,
                       match=r"Results\.load: 'format' must be one of \(1, 2\); got 99 in"):
        bl.load_results(out)


def test_to_frame(ucb_results: bl.Results) -> None:
    df = ucb_results.to_frame()
    assert list(df.columns) == ["policy", "env", "env_label", "run", "t", "regret"]
    n_ck = ucb_results.checkpoints.size
    assert len(df) == 4 * n_ck
    assert (df["policy"] == "UCB(alpha=2.0, sigma=0.5)").all()
    assert (df["env"] == "BernoulliBandit").all()
    assert (df["env_label"] == "BernoulliBandit(means=[0.2, 0.5, 0.7], horizon=300)").all()
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
    assert set(df["policy"]) == {"UCB(alpha=2.0, sigma=0.5)", "Uniform(mode=round_robin)"}


# -- one Results for every system -------------------------------------------------------------
@pytest.fixture(scope="module")
def streaming_results() -> bl.Results:
    from banditlab.envs.streaming import StreamingBandit, clear_cut_means
    from banditlab.streaming import GameOfArms, run_streaming

    env = StreamingBandit(clear_cut_means(50, seed=0), horizon=10**6, memory=2)
    return run_streaming(GameOfArms(), env, n_runs=3, seed=1)


@pytest.fixture(scope="module")
def episodic_results() -> bl.Results:
    from banditlab.cascading import CascadingVI, run_episodes
    from banditlab.envs.cascading import random_cascading_mdp

    env = random_cascading_mdp(3, 4, 2, 2, seed=0)
    return run_episodes(CascadingVI.for_env(env, n_episodes=60), env, 60, n_runs=2, seed=2)


def assert_same_columns(a: bl.Results, b: bl.Results) -> None:
    assert_same(a, b)
    assert (a.protocol, a.x_label, a.info) == (b.protocol, b.x_label, b.info)
    for table in ("traces", "per_run"):
        x, y = getattr(a, table), getattr(b, table)
        assert list(x) == list(y), table
        for name in x:
            np.testing.assert_array_equal(x[name], y[name])
            assert np.asarray(x[name]).dtype == np.asarray(y[name]).dtype, name


@pytest.mark.parametrize("which", ["streaming_results", "episodic_results"])
def test_every_system_saves_loads_summarises_and_plots(which: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    res = request.getfixturevalue(which)
    assert isinstance(res, bl.Results)
    back = bl.load_results(res.save(tmp_path / which))
    assert_same_columns(back, res)
    row = res.summary()
    assert row["runs"] == res.n_runs and row["mean_regret"] == res.final_regret().mean()
    frame = res.to_frame()
    assert len(frame) == res.regret.size and set(res.traces) <= set(frame.columns)
    ax = res.plot()
    assert ax.get_xlabel() == ("round t" if res.x_label == "round" else "episode")
    plt.close(ax.figure)


def test_streaming_columns(streaming_results: bl.Results) -> None:
    res = streaming_results
    assert res.protocol == "STREAMING" and res.regret.shape == (3, 1)
    assert np.all(res.pulls_used == 10**6)                      # named per-run columns
    assert res.memory_budget == 2 and np.all(res.peak_memory <= 2)   # and batch scalars
    assert res.runs_frame()["peak_memory"].tolist() == res.peak_memory.tolist()
    assert res.summary()["mean_peak_memory"] == pytest.approx(res.peak_memory.mean())


def test_episodic_columns(episodic_results: bl.Results) -> None:
    res = episodic_results
    assert res.protocol == "EPISODIC" and res.x_label == "episode"
    np.testing.assert_array_equal(res.checkpoints, np.arange(1, 61))
    # the regret is the cumulative gap of the played policies' exact values
    np.testing.assert_allclose(res.regret, np.cumsum(res.optimal_value - res.values, axis=1),
                               rtol=0, atol=0)
    thin = res.to_frame(n_points=10)
    assert sorted(set(thin["t"])) == list(range(6, 61, 6))
    assert np.all(res.upper >= res.optimal_value - 1e-9)


def test_columns_are_checked_and_unknown_names_fail(ucb_results: bl.Results) -> None:
    from dataclasses import replace

    with pytest.raises(AttributeError, match="no attribute 'peak_memory'"):
        _ = ucb_results.peak_memory
    with pytest.raises(ValueError, match=r"trace 'x' must have shape \(4, "):
        replace(ucb_results, traces={"x": np.zeros(3)})
    with pytest.raises(ValueError, match=r"not attributes of Results; got \['regret'\]"):
        replace(ucb_results, per_run={"regret": np.zeros(4)})


def test_format_1_directories_still_load(tmp_path: Path, ucb_results: bl.Results) -> None:
    out = ucb_results.save(tmp_path / "old")
    meta = json.loads((out / "meta.json").read_text())
    for key in ("protocol", "x_label", "traces", "per_run", "info"):
        del meta[key]
    meta["format"] = 1
    (out / "meta.json").write_text(json.dumps(meta))
    assert_same(bl.load_results(out), ucb_results)


def test_env_label_identifies_envs_by_parameters() -> None:
    from banditlab.results import env_label

    assert env_label("G", {"means": [0.2, 0.5], "sigma": 1.0}) == "G(means=[0.2, 0.5], sigma=1)"
    long1 = env_label("B", {"means": list(np.linspace(0.1, 0.9, 10))})
    long2 = env_label("B", {"means": [0.1, *([0.5] * 8), 0.9]})
    assert long1.startswith("B(means=[0.1..0.9]x10)#") and long1 != long2


def test_repr_is_one_line_and_equality_compares_results(ucb_results: bl.Results,
                                                        tmp_path: Path) -> None:
    text = repr(ucb_results)
    assert "\n" not in text and len(text) < 200
    assert text.startswith("<Results UCB(alpha=2.0, sigma=0.5) on "
                           "BernoulliBandit(means=[0.2, 0.5, 0.7]")
    assert "4 runs x 300 rounds" in text and "final regret" in text
    assert str(ucb_results) == text
    back = bl.load_results(ucb_results.save(tmp_path / "r"))
    assert back == ucb_results and not (back != ucb_results)
    from dataclasses import replace

    other = replace(ucb_results, regret=ucb_results.regret + 1.0)
    assert other != ucb_results                       # no "truth value is ambiguous"
    assert ucb_results != "UCB" and ucb_results.__eq__(3) is NotImplemented
    with pytest.raises(TypeError, match="unhashable"):
        hash(ucb_results)


def test_plot_with_a_95_percent_confidence_band(ucb_results: bl.Results) -> None:
    ax = ucb_results.plot(band="ci95")
    poly = ax.collections[0].get_paths()[0].vertices
    half = 1.96 * ucb_results.regret.std(axis=0, ddof=1) / np.sqrt(4)
    top = ucb_results.mean_regret() + half
    assert np.isclose(poly[:, 1].max(), top.max())
    plt.close(ax.figure)
    with pytest.raises(ValueError, match=r"'band' must be a pair of quantiles, 'ci95' or None"):
        ucb_results.plot(band="ci99")


def test_every_algorithm_is_a_top_level_attribute() -> None:
    from banditlab.registry import ALGORITHMS

    for name, cls in ALGORITHMS.items():
        assert getattr(bl, name) is cls
    assert bl.TsallisINF is ALGORITHMS["TsallisINF"]
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchPolicy'"):
        _ = bl.NoSuchPolicy


def test_log_plot_of_zero_regret_is_a_note_not_a_crash(tmp_path: Path) -> None:
    """Equal means: every regret is 0, which log axes cannot show (matplotlib raised)."""
    res = bl.run_many(bl.UCB(2), bl.BernoulliBandit([0.5, 0.5], horizon=100), n_runs=2,
                      seed=0)
    assert np.all(res.regret == 0)
    ax = res.plot(log=True)
    ax.figure.savefig(tmp_path / "zero.png")             # drawing is where it used to fail
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.texts] == ["no positive regret to show on log axes"]
    plt.close(ax.figure)
    ax = bl.run_many(bl.UCB(2), bl.BernoulliBandit([0.2, 0.8], horizon=100), n_runs=2,
                     seed=0).plot(log=True)
    assert ax.get_yscale() == "log" and not ax.texts
    plt.close(ax.figure)
