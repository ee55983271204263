"""One experiment file schema for ``banditlab run`` and ``banditlab sweep`` (issue 13 part 1):
the same file and seed give the same numbers through both and the Python API, and keys of the
earlier ``run`` dialect are refused with an error naming the new key."""

from __future__ import annotations

import numpy as np
import pytest

from banditlab import EXP3, UCB, BernoulliBandit, load_results, run_many
from banditlab.cli import main
from banditlab.config import load_config
from banditlab.errors import ConfigError
from banditlab.store import load_store
from banditlab.sweep import load_grid

FILE = """
name = "both"
horizon = 300
n_seeds = 3
seed = 17
checkpoints = [50, 100, 300]

[[envs]]
id = "banditlab/BernoulliBandit-v0"
label = "three arms"
kwargs = { means = { linspace = [0.2, 0.6, 3] } }

[[policies]]
name = "UCB"
label = "UCB1"
params = { alpha = 2.0 }

[[policies]]
name = "EXP3"
"""


def test_the_same_file_gives_the_same_numbers_through_run_sweep_and_run_many(tmp_path, capsys):
    config = tmp_path / "both.toml"
    config.write_text(FILE)
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert main(["sweep", str(config), "--store", str(tmp_path / "store"), "--serial",
                 "--no-progress"]) == 0
    capsys.readouterr()
    store = load_store(tmp_path / "store")
    assert set(store["label"]) == {"UCB1", "EXP3()"}
    env = BernoulliBandit(np.linspace(0.2, 0.6, 3), horizon=300)
    for policy, label, folder in ((UCB(3, alpha=2.0), "UCB1", "00_UCB1"),
                                  (EXP3(3, horizon=300), "EXP3()", "01_EXP3")):
        ref = run_many(policy, env, n_runs=3, seed=17, checkpoints=[50, 100, 300],
                       progress=False)
        saved = load_results(tmp_path / "out" / "runs" / "00_three_arms" / folder)
        assert np.array_equal(saved.regret, ref.regret)
        cell = store[store["label"] == label]
        for i in range(3):
            rows = cell[cell["seed_index"] == i].sort_values("t")
            assert list(rows["t"]) == [50, 100, 300]
            assert np.array_equal(rows["regret"].to_numpy(), ref.regret[i])


OLD = [
    ("[experiment]\nhorizon = 10\n", r"experiment: the \[experiment\] table is gone: write "
                                     r"its keys at the top level"),
    ("horizon = 10\nn_runs = 2\n", "n_runs: renamed n_seeds"),
    ("horizon = 10\n[[env]]\nid = 'banditlab/BernoulliBandit-v0'\n",
     r"env: renamed \[\[envs\]\] \(constructor arguments in kwargs"),
    ("horizon = 10\n[[policy]]\nname = 'UCB'\n",
     r"policy: renamed \[\[policies\]\] \(constructor arguments in params"),
]


@pytest.mark.parametrize(("text", "message"), OLD)
def test_keys_of_the_old_run_dialect_name_the_new_key(tmp_path, text, message):
    path = tmp_path / "old.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)
    with pytest.raises(ConfigError, match="sweep config: " + message):
        load_grid(path)


@pytest.mark.parametrize(("section", "head", "table"), [
    ("policies", "name = 'UCB'", "params"),
    ("envs", "id = 'banditlab/BernoulliBandit-v0'", "kwargs"),
])
def test_an_argument_written_inline_names_its_table(tmp_path, section, head, table):
    path = tmp_path / "inline.toml"
    path.write_text(FILE + f"\n[[{section}]]\n{head}\nalpha = 1.0\n")
    index = 2 if section == "policies" else 1
    with pytest.raises(ConfigError, match=rf"{section}\[{index}\]\.alpha: unknown key; the "
                                          rf"keys of \[\[{section}\]\] are .*\(constructor "
                                          rf"arguments go in {table} = \{{ \.\.\. \}}\)\.$"):
        load_config(path)


def test_run_takes_one_value_per_axis_and_sends_grids_to_sweep(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(FILE.replace('params = { alpha = 2.0 }', 'grid = { alpha = [0.5, 2.0] }'))
    with pytest.raises(ConfigError, match=r"policies\[0\]\.grid\.alpha: banditlab run takes one "
                                          r"value per axis.*banditlab sweep"):
        load_config(path)
    assert len(load_grid(path)["policies"][0]["grid"]["alpha"]) == 2
    path.write_text(FILE.replace("horizon = 300", "horizon = [300, 600]"))
    with pytest.raises(ConfigError, match="horizon: banditlab run takes one horizon"):
        load_config(path)
    path.write_text(FILE.replace('params = { alpha = 2.0 }', 'grid = { alpha = [0.5] }'))
    assert load_config(path).jobs[0].policy.params.alpha == 0.5


def test_the_examples_are_files_of_the_one_schema():
    from pathlib import Path

    for name in ("quickstart.toml", "sweep.toml"):
        path = Path(__file__).parents[1] / "examples" / name
        load_grid(path)
        if name == "quickstart.toml":
            assert len(load_config(path).jobs) == 6
