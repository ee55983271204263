"""Data lookup (banditlab.data): explicit folder, $BANDITLAB_DATA, per-user folder, one-line errors.

Every test writes its own small fake files under ``tmp_path`` and points the environment at
empty folders, so nothing depends on data present on the machine.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import banditlab
import banditlab.data as data_mod
import banditlab.envs
import banditlab.solvers
import banditlab.theory_checks
from banditlab.data import DATA_ENV_VAR, DATASETS, find_dataset, user_data_dir
from banditlab.envs.cascading import movielens_cascading_mdp
from banditlab.errors import DataNotFoundError
from banditlab.reproduce import list_reproductions
from banditlab.reproductions import cascading_rl


def write_movielens(folder: Path) -> Path:
    """A 3-user, 3-movie, 2-genre data set in the MovieLens 100K format."""
    folder.mkdir(parents=True, exist_ok=True)
    ratings = [(1, 1, 5), (1, 2, 3), (2, 1, 4), (2, 3, 2), (3, 2, 5), (3, 1, 1)]
    folder.joinpath("u.data").write_text(
        "".join(f"{u}\t{i}\t{r}\t88125{k:04d}\n" for k, (u, i, r) in enumerate(ratings)))
    folder.joinpath("u.item").write_bytes(
        b"1|A (1995)|01-Jan-1995||http://x|1|0\n2|B (1995)|01-Jan-1995||http://x|0|1\n"
        b"3|C (1996)|01-Jan-1996||http://x|1|1\n")
    return folder


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """$BANDITLAB_DATA and the per-user folder point at empty folders of ``tmp_path``."""
    env, user = tmp_path / "env-data", tmp_path / "user-data"
    env.mkdir()
    user.mkdir()
    monkeypatch.setenv(DATA_ENV_VAR, str(env))
    monkeypatch.setattr(data_mod, "user_data_dir", lambda: user)
    return {"env": env, "user": user}


def test_explicit_folder_is_the_data_set_or_a_data_folder_holding_it(tmp_path: Path,
                                                                      no_data) -> None:
    ml = write_movielens(tmp_path / "anywhere")
    assert find_dataset("movielens-100k", ml, owner="t") == ml
    assert find_dataset("movielens-100k", str(ml), owner="t") == ml
    root = tmp_path / "root"
    nested = write_movielens(root / "ml-100k")
    assert find_dataset("movielens-100k", root, owner="t") == nested
    # a given folder is the only one searched, even when $BANDITLAB_DATA has the files
    write_movielens(no_data["env"] / "movielens-100k")
    with pytest.raises(DataNotFoundError):
        find_dataset("movielens-100k", tmp_path / "empty", owner="t")


def test_environment_variable_then_per_user_folder(no_data) -> None:
    user_copy = write_movielens(no_data["user"] / "ml-100k")
    assert find_dataset("movielens-100k", owner="t") == user_copy
    env_copy = write_movielens(no_data["env"] / "movielens-100k")
    assert find_dataset("movielens-100k", owner="t") == env_copy      # $BANDITLAB_DATA first


def test_gzipped_ratings_count_and_a_missing_file_does_not(no_data) -> None:
    folder = write_movielens(no_data["env"] / "ml-100k")
    folder.joinpath("u.data").rename(folder / "u.data.gz")
    assert find_dataset("movielens-100k", owner="t") == folder
    folder.joinpath("u.item").unlink()
    with pytest.raises(DataNotFoundError, match=r"u\.item or u\.item\.gz"):
        find_dataset("movielens-100k", owner="t")


def test_missing_files_give_one_line_naming_every_folder_and_the_remedy(no_data) -> None:
    with pytest.raises(DataNotFoundError) as info:
        find_dataset("movielens-100k", owner="loader")
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "\n" not in msg
    assert msg.startswith("loader: MovieLens 100K (u.data or u.data.gz and u.item or "
                          "u.item.gz) not found; looked in ")
    for root in (no_data["env"], no_data["user"]):
        for sub in ("movielens-100k", "ml-100k"):
            assert repr(str(root / sub)) in msg
    assert "($BANDITLAB_DATA)" in msg and "(per-user data folder)" in msg
    assert "https://grouplens.org/datasets/movielens/100k/" in msg
    assert "--data DIR" in msg and "$BANDITLAB_DATA" in msg


def test_missing_files_in_a_given_folder_name_it_and_the_parameter(tmp_path: Path,
                                                                   no_data) -> None:
    given = tmp_path / "mine"
    looked = ", ".join(repr(str(f)) for f in (given, given / "movielens-100k", given / "ml-100k"))
    with pytest.raises(DataNotFoundError, match=rf"^run: MovieLens 100K .* not found; looked in "
                       rf"{re.escape(looked)} \('data'\)\. .*as 'data' "
                       r"\(command line: --data DIR\)"):
        find_dataset("movielens-100k", given, owner="run", param="data")


def test_invalid_arguments(no_data) -> None:
    with pytest.raises(TypeError, match=r"^f: 'path' must be a str or Path to a folder holding "
                                        r"MovieLens 100K, or None; got int 3\.$"):
        find_dataset("movielens-100k", 3, owner="f")
    with pytest.raises(ValueError, match=r"^f: 'key' must be one of 'movielens-100k'; got "
                                         r"'wiki-vote'\.$"):
        find_dataset("wiki-vote", owner="f")


def test_unset_or_empty_variable_is_not_searched(no_data, monkeypatch) -> None:
    monkeypatch.setenv(DATA_ENV_VAR, "")
    assert [where for _, where in data_mod.data_folders()] == ["per-user data folder"]
    monkeypatch.delenv(DATA_ENV_VAR)
    assert [where for _, where in data_mod.data_folders()] == ["per-user data folder"]


@pytest.mark.parametrize(("platform", "env", "expected"), [
    ("linux", {}, "{home}/.local/share/banditlab"),
    ("linux", {"XDG_DATA_HOME": "{home}/xdg"}, "{home}/xdg/banditlab"),
    ("linux", {"XDG_DATA_HOME": "relative"}, "{home}/.local/share/banditlab"),
    ("darwin", {}, "{home}/Library/Application Support/banditlab"),
    ("win32", {"LOCALAPPDATA": "{home}/local"}, "{home}/local/banditlab"),
    ("win32", {}, "{home}/AppData/Local/banditlab"),
])
def test_user_data_dir_per_platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    platform: str, env: dict[str, str], expected: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    for var in ("XDG_DATA_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value.format(home=tmp_path))
    assert user_data_dir() == Path(expected.format(home=tmp_path))


def test_user_data_dir_without_a_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home(cls):
        raise RuntimeError("no home")

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(Path, "home", classmethod(no_home))
    assert user_data_dir() is None


def test_movielens_loader_uses_the_lookup(no_data) -> None:
    write_movielens(no_data["env"] / "ml-100k")
    env = movielens_cascading_mdp(n_items=2, list_size=2, horizon=2)
    assert (env.n_states, env.n_items) == (3, 2)
    with pytest.raises(DataNotFoundError, match=r"^movielens_cascading_mdp: MovieLens 100K"):
        movielens_cascading_mdp(no_data["user"], n_items=2, list_size=2, horizon=2)


def test_cascading_reproduction_finds_or_reports_the_data(tmp_path: Path, no_data,
                                                           caplog) -> None:
    ml = write_movielens(tmp_path / "given" / "ml-100k")
    assert cascading_rl.movielens_dir(tmp_path / "given") == ml
    with caplog.at_level(logging.WARNING, logger="banditlab.reproduce"):
        assert cascading_rl.movielens_dir() is None              # quick mode: synthetic
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage().startswith("cascading_rl: MovieLens 100K")
    assert record.getMessage().endswith("Running on synthetic instances instead.")
    with pytest.raises(DataNotFoundError, match=r"^cascading_rl: MovieLens 100K"):
        cascading_rl.movielens_dir(required=True)
    with pytest.raises(DataNotFoundError, match=r"\('data'\)"):
        cascading_rl.movielens_dir(tmp_path / "nope")
    # a full run without data stops at once, before writing anything
    out = tmp_path / "out"
    with pytest.raises(DataNotFoundError, match=r"^cascading_rl: MovieLens 100K"):
        cascading_rl.run(out, full=True, n_jobs=1)
    assert not out.exists()


def test_cascading_reproduction_shuffles_item_ids_per_instance(tmp_path: Path) -> None:
    """The panel's N = n instance is the loader's shuffled instance with seed ``seed + n``
    (the permutation itself is tested in test_cascading_env); bad options are refused before
    any work."""
    ml = write_movielens(tmp_path / "ml")
    kw = {"n_items": 3, "list_size": 3, "horizon": 3}
    pop = movielens_cascading_mdp(ml, **kw)
    for seed in range(6):
        env = cascading_rl._movielens_env(ml, 3, seed=seed, item_order="shuffled",
                                          attraction_scale=0.1)
        ref = movielens_cascading_mdp(ml, item_order="shuffled", seed=seed + 3,
                                      attraction_scale=0.1, **kw)
        np.testing.assert_array_equal(env.attraction, ref.attraction)
        np.testing.assert_array_equal(env.transitions, ref.transitions)
    same = cascading_rl._movielens_env(ml, 3, seed=5, item_order="popularity",
                                       attraction_scale=1.0)
    np.testing.assert_array_equal(same.attraction, pop.attraction)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"'item_order' must be one of 'shuffled', "
                                         r"'popularity'; got 'random'"):
        cascading_rl.run(out, data=ml, item_order="random")
    with pytest.raises(ValueError, match=r"'attraction_scale' must be a float in \(0, 1\]"):
        cascading_rl.run(out, data=ml, attraction_scale=0)
    assert not out.exists()


def test_reproductions_declare_known_data_sets() -> None:
    reps = list_reproductions()
    assert reps["cascading-rl"].datasets == ("movielens-100k",)
    for rep in reps.values():
        assert set(rep.datasets) <= set(DATASETS), rep.name


def _package_folders() -> list[Path]:
    return [Path(m.__file__).parent for m in (banditlab, banditlab.envs, banditlab.solvers,
                                              banditlab.theory_checks)]


def test_package_sources_hold_no_machine_specific_path() -> None:
    # absolute paths of one machine (and a checkout's neighbours) must not be defaults
    bad = ("/work", "/home", "/tmp", "/Users", "/mnt", "/root", "/data", "/srv", "/opt")
    found = []
    for folder in _package_folders():
        for source in sorted(folder.rglob("*.py")):
            tree = ast.parse(source.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value.startswith(bad)):
                    found.append(f"{source.name}:{node.lineno}: {node.value!r}")
                if (isinstance(node, ast.Attribute) and node.attr == "parents"
                        and isinstance(node.value, ast.Call)):
                    found.append(f"{source.name}:{node.lineno}: a path relative to the checkout")
    assert not found, found
