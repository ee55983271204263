"""The ``banditlab`` command line, in-process (``main(argv)``) and as ``python -m banditlab``."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import banditlab as bl
from banditlab import load_results
from banditlab.cli import console_main, main
from banditlab.envs import ENV_REGISTRY, OTHER_ENVS
from banditlab.registry import ALGORITHMS

TINY = """\
horizon = 60
n_seeds = 3
seed = 11

[[envs]]
id = "banditlab/BernoulliBandit-v0"
label = "tiny"
kwargs = { means = { linspace = [0.2, 0.8, 3] } }

[[policies]]
name = "UCB"

[[policies]]
name = "ThompsonSampling"

[[policies]]
name = "Uniform"
"""


def _write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_run_writes_results_plot_and_summary(tmp_path, capsys):
    cfg = _write(tmp_path, TINY)
    out_dir = tmp_path / "out"
    code, out, err = _run(["run", str(cfg), "--out", str(out_dir)], capsys)
    assert code == 0, err
    summary = pd.read_csv(out_dir / "summary.csv")
    assert list(summary["policy"]) == ["UCB", "ThompsonSampling", "Uniform"]
    assert set(summary["env"]) == {"tiny"} and set(summary["runs"]) == {3}
    assert set(summary["engine"]) == {"kernel"}
    for row in summary.itertuples():
        res = load_results(out_dir / row.results_dir)
        assert res.n_runs == 3 and res.horizon == 60 and res.checkpoints[-1] == 60
        assert res.seed_entropy == 11
        assert row.mean_regret == pytest.approx(res.final_regret().mean(), rel=1e-12)
    # Uniform round-robin over 3 arms for 60 rounds: 20 pulls of each, gaps 0.6 and 0.3
    assert summary.loc[2, "mean_regret"] == pytest.approx(20 * 0.9, abs=1e-9)
    assert (out_dir / "regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out_dir / "config.toml").read_text() == TINY
    # the printed table: header plus one line per pair, with mean ± sem and the engine
    assert "mean regret ± sem" in out and "wall time" in out
    for name in ("UCB", "ThompsonSampling", "Uniform"):
        assert any(line.startswith(name) and "kernel" in line for line in out.splitlines())
    assert "[3/3] Uniform on tiny" in err and "Traceback" not in err


def test_run_is_reproducible_and_engines_and_processes_agree(tmp_path, capsys):
    cfg = _write(tmp_path, TINY)
    frames = {}
    for tag, extra in {"a": [], "b": [], "python": ["--engine", "python"],
                       "jobs": ["--n-jobs", "2"], "seed": ["--seed", "12"]}.items():
        code, _, err = _run(["run", str(cfg), "--out", str(tmp_path / tag), "--no-progress",
                             *extra], capsys)
        assert code == 0, err
        assert err == ""                                   # --no-progress: nothing on stderr
        frames[tag] = pd.read_csv(tmp_path / tag / "summary.csv")
    same = frames["a"]["mean_regret"].to_numpy()
    np.testing.assert_array_equal(same, frames["b"]["mean_regret"])
    np.testing.assert_array_equal(same, frames["jobs"]["mean_regret"])
    np.testing.assert_array_equal(same, frames["python"]["mean_regret"])   # bit-identical
    assert set(frames["python"]["engine"]) == {"python"}
    assert not np.array_equal(same[:2], frames["seed"]["mean_regret"].to_numpy()[:2])
    assert set(frames["seed"]["seed"]) == {12}


BAD_TOML = {
    "unknown policy": ('name = "UCB"', 'name = "UCBX"', r"policies[0].name: must be one of"),
    "unknown env id": ('id = "banditlab/BernoulliBandit-v0"', 'id = "Bernoulli"',
                       "envs[0].id: must be one of 'banditlab/BernoulliBandit-v0'"),
    "bad parameter value": ('name = "Uniform"',
                            'name = "Uniform"\nparams = { mode = "cyclic" }',
                            "policies[2].params.mode: Uniform: 'mode' must be one of"),
    "bad parameter type": ('name = "UCB"', 'name = "UCB"\nparams = { alpha = "big" }',
                           "policies[0].params.alpha: UCB: 'alpha' must be a float in (0, inf); "
                           "got str 'big'."),
    "missing field": ("horizon = 60\n", "", "config error: horizon: missing"),
    "unknown key": ("n_seeds = 3", "n_seed = 3",
                    "config error: n_seed: unknown top-level key; allowed: "),
    "malformed TOML": ("n_seeds = 3", "n_seeds = = 3", "invalid TOML"),
    "negative horizon": ("horizon = 60", "horizon = -60",
                         "config error: horizon: must be an int in [1, 4611686018427387904]; "
                         "got -60."),
}


@pytest.mark.parametrize("case", list(BAD_TOML), ids=list(BAD_TOML))
def test_invalid_config_exits_2_with_one_line(case, tmp_path, capsys):
    old, new, expected = BAD_TOML[case]
    assert old in TINY
    cfg = _write(tmp_path, TINY.replace(old, new, 1))
    code, out, err = _run(["run", str(cfg), "--out", str(tmp_path / "out")], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("config error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "out").exists()          # nothing is written for a bad config


def test_command_line_errors_exit_2(tmp_path, capsys):
    code, _, err = _run(["run", str(tmp_path / "none.toml")], capsys)
    assert code == 2 and err.strip() == f"config error: {tmp_path / 'none.toml'}: no such file."
    cfg = _write(tmp_path, TINY)
    for argv in (["run", str(cfg), "--n-jobs", "0"], ["run", str(cfg), "--engine", "gpu"],
                 ["run", str(cfg), "--seed", "-1"], ["run"], ["frobnicate"], []):
        code, _, err = _run(argv, capsys)
        assert code == 2 and "error" in err and "Traceback" not in err, argv
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.startswith("banditlab ")


def test_kernel_engine_on_an_env_without_kernels_is_a_config_error(tmp_path, capsys):
    text = TINY.replace('kwargs = { means = { linspace = [0.2, 0.8, 3] } }',
                        'kwargs = { theta = [1.0, -1.0], n_arms = 3 }')
    cfg = _write(tmp_path, text.replace("BernoulliBandit", "LinearBandit"))
    code, _, err = _run(["run", str(cfg), "--engine", "kernel"], capsys)
    assert code == 2
    assert err.startswith("config error: --engine: UCB: engine='kernel' needs a 'karmed' env")


def test_list_shows_envs_policies_and_reproductions(capsys):
    code, out, _ = _run(["list"], capsys)
    assert code == 0
    from banditlab.systems import env_catalogue

    # every env and problem a file can name, with the system that runs on it
    for env_id, spec in env_catalogue().items():
        assert any(line.split()[:1] == [env_id] and spec.description in line
                   for line in out.splitlines()), env_id
    assert set(ENV_REGISTRY) | set(OTHER_ENVS) <= set(env_catalogue())
    for name, cls in ALGORITHMS.items():        # every algorithm, under its protocol's heading
        heading = out.index(f"\n{cls.protocol.name}: ")
        assert name in out[heading:].split("\n\n")[0], name
    assert "Reproductions" in out and "baselines" in out


def test_reproduce_list_and_errors(capsys):
    code, out, _ = _run(["reproduce", "--list"], capsys)
    assert code == 0 and any(line.startswith("baselines ") for line in out.splitlines())
    code, _, err = _run(["reproduce", "nope"], capsys)
    assert code == 2
    assert err.strip() == "error: reproduce: 'name' must be one of " + ", ".join(
        repr(n) for n in __import__("banditlab.reproduce", fromlist=["x"])
        .list_reproductions()) + "; got 'nope'."
    code, _, err = _run(["reproduce"], capsys)
    assert code == 2 and "give a NAME or --list" in err


def test_reproduce_without_data_prints_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BANDITLAB_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr("banditlab.data.user_data_dir", lambda: tmp_path / "user")
    out_dir = tmp_path / "out"
    code, _, err = _run(["reproduce", "cascading-rl", "--full", "--out", str(out_dir)], capsys)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: cascading_rl: MovieLens 100K (u.data or u.data.gz and u.item "
                          "or u.item.gz) not found; looked in ")
    assert str(tmp_path / "empty" / "ml-100k") in err and "--data DIR" in err
    assert not out_dir.exists()
    given = tmp_path / "given"
    code, _, err = _run(["reproduce", "cascading-rl", "--data", str(given)], capsys)
    assert code == 1 and err.count("\n") == 1 and repr(str(given)) in err
    code, _, err = _run(["reproduce", "baselines", "--data", str(given)], capsys)
    assert code == 2
    assert err.strip() == "error: reproduce: --data: 'baselines' reads no data files."


def test_reproduce_baselines_quick(tmp_path, capsys):
    out_dir = tmp_path / "bl"
    code, out, err = _run(["reproduce", "baselines", "--out", str(out_dir)], capsys)
    assert code == 0, err
    written = [Path(line.strip()) for line in out.splitlines() if line.startswith("  ")]
    assert {p.suffix for p in written} == {".csv", ".parquet", ".png"}
    assert all(p.is_file() and p.parent == out_dir for p in written)
    # progress: each unit of work is announced on stderr, then timed
    started = [line for line in err.splitlines() if line.endswith(" ...")]
    timed = [line for line in err.splitlines() if re.search(r": \d+\.\d s$", line)]
    assert started and len(started) == len(timed), err


def _subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "banditlab", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_console_main_returns_main_s_status_and_leaves_shutdown_to_the_os(monkeypatch, capsys):
    """The command's wrapper returns main's exit status and then stops the garbage collector
    (so interpreter shutdown does not walk every object); main alone leaves it running."""
    assert gc.isenabled()
    try:
        assert main(["list"]) == 0 and gc.isenabled()
        monkeypatch.setattr(sys, "argv", ["banditlab", "list"])
        assert console_main() == 0
        assert not gc.isenabled() and gc.get_freeze_count() > 0
        monkeypatch.setattr(sys, "argv", ["banditlab", "no-such-command"])
        assert console_main() == 2
    finally:
        gc.unfreeze()
        gc.enable()


def test_python_dash_m_banditlab(tmp_path):
    cfg = _write(tmp_path, TINY)
    ok = _subprocess(["run", str(cfg), "--no-progress"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    # default output directory: results/<experiment name> in the working directory
    assert (tmp_path / "results" / "exp" / "summary.csv").is_file()
    assert "ThompsonSampling" in ok.stdout
    bad = _write(tmp_path, TINY.replace("alpha", "x").replace(
        'name = "UCB"', 'name = "UCB"\nparams = { alpha = -1 }'), "bad.toml")
    res = _subprocess(["run", str(bad)], tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "config error: policies[0].params.alpha: UCB: 'alpha' must be a float in (0, inf); "
        "got -1."]


SWEEP = """\
seed = 3
n_seeds = 2
horizon = 50

[[policies]]
name = "UCB"
grid = { alpha = [0.5, 2.0] }

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.2, 0.6] }
"""


def test_sweep_status_and_plot_through_the_main_command(tmp_path, capsys):
    cfg = _write(tmp_path, SWEEP, "grid.toml")
    store = tmp_path / "store"
    code, out, err = _run(["sweep", str(cfg), "--store", str(store), "--serial",
                           "--no-progress"], capsys)
    assert code == 0, err
    assert "4/4 done" in out
    code, out, _ = _run(["sweep", "status", str(store)], capsys)
    assert code == 0 and "done:    4" in out and "pending: 0" in out
    code, _, err = _run(["plot", str(store), "--by", "policy.alpha"], capsys)
    assert code == 0, err
    assert (store / "regret.png").stat().st_size > 0
    bad = _write(tmp_path, SWEEP.replace('"UCB"', '"NoSuchPolicy"'), "bad.toml")
    code, _, err = _run(["sweep", str(bad), "--store", str(tmp_path / "b")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_warmup_compiles_a_system_into_the_cache(capsys):
    from banditlab._jit import has_cached_versions
    from banditlab.streaming.kernels import run_stream

    code, out, err = _run(["warmup", "streaming", "--no-progress"], capsys)
    assert code == 0, err
    assert out.startswith("streaming ") and out.strip().endswith(" s")
    # the loop is in the on-disk cache, wherever it is (NUMBA_CACHE_DIR moves it)
    assert has_cached_versions(run_stream)
    code, _, err = _run(["warmup", "nope"], capsys)
    assert code == 2 and err.strip() == ("config error: warmup: SYSTEM must be one of "
                                         "'bandits', 'streaming', 'cascading', 'sor_tuning', "
                                         "'bcd'; got 'nope'.")
    with pytest.raises(ValueError, match=r"warmup: 'systems' must be one of"):
        bl.warmup("nope")
    code, out, err = _run(["warmup", "streaming", "--n-jobs", "2", "--no-progress"], capsys)
    assert code == 0 and out.startswith("streaming "), err
    code, _, err = _run(["warmup", "streaming", "--n-jobs", "0"], capsys)
    assert code == 2 and "--n-jobs: must be -1 or an int in [1, inf); got '0'" in err


def test_equal_means_run_and_plot_on_log_axes(tmp_path, capsys):
    cfg = tmp_path / "eq.toml"
    cfg.write_text('horizon = 100\nn_seeds = 2\nseed = 0\n[[envs]]\n'
                   'id = "banditlab/BernoulliBandit-v0"\nkwargs = { means = [0.5, 0.5] }\n'
                   '[[policies]]\nname = "UCB"\n')
    code, _, err = _run(["run", str(cfg), "--out", str(tmp_path / "out"), "--no-progress"],
                        capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "regret.png").stat().st_size > 0


def test_run_shows_one_bar_over_all_runs_of_all_pairs(tmp_path, capsys, monkeypatch):
    """Issue 13 part 6: one tqdm bar (rate, ETA) counts the 3 pairs x 3 runs, not one per pair."""
    import banditlab.parallel as par

    monkeypatch.setattr(par, "PROGRESS_MIN_SECONDS", 0.0)   # show it however short the run
    code, _, err = _run(["run", str(_write(tmp_path, TINY)), "--out", str(tmp_path / "o"),
                         "--n-jobs", "1"], capsys)
    assert code == 0, err
    totals = set(re.findall(r"\| *\d+/(\d+) \[", err))
    assert totals == {"9"}, err                 # every bar update is of the one 9-run bar
    assert "9/9" in err and "run/s" in err
    assert "[3/3] Uniform on tiny" in err


def test_summary_csv_is_what_pandas_writes(tmp_path):
    """`banditlab run` writes summary.csv without importing pandas; the bytes are those of
    ``DataFrame.to_csv(index=False)`` (floats by repr, quoting only where needed)."""
    import pandas as pd

    from banditlab.cli import _write_csv

    rows = [{"policy": "UCB", "env": 'Bernoulli, K=10 "hard"', "mean_regret": 375.8266666666821,
             "sem": 2.08652394458624e-13, "runs": 20, "seed": 123456789012345678901234567890},
            {"policy": "KL\nUCB", "env": "x", "mean_regret": 0.1, "sem": 0.0, "runs": 1,
             "seed": 0}]
    _write_csv(rows, tmp_path / "ours.csv")
    pd.DataFrame(rows).to_csv(tmp_path / "pandas.csv", index=False)
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
