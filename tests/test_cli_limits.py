"""Malformed invocations of ``banditlab run`` and ``banditlab sweep`` (issue 17, part 3): each
exits with status 2 (bad input) or 1 (the environment: a full disk, a path that cannot be
written) and one line on stderr naming the field or path and what to do; none hangs, none
prints a traceback. A file asking for more work than :mod:`banditlab.limits` allows is refused
before anything runs, with the estimate in the message."""

from __future__ import annotations

import errno
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import banditlab.config as config_module
import banditlab.sweep as sweep_module
from banditlab.cli import main
from banditlab.store import load_store, store_status

RUN = """\
horizon = 60
n_seeds = 3
seed = 11

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.2, 0.8] }

[[policies]]
name = "UCB"
"""

GRID = """\
seed = 3
n_seeds = 2
horizon = 50
checkpoints = 5

[[policies]]
name = "UCB"

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.2, 0.6] }
"""

BOUND = "[1, 4611686018427387904]"      # MAX_HORIZON = 2**62


def _nested(depth: int, kind: str) -> str:
    if kind == "arrays":
        return "[" * depth + "0.5" + "]" * depth
    return "{ a = " * depth + "0.5" + " }" * depth


def _many(n: int, table: str, name: str) -> str:
    return "".join(f'\n[[{table}]]\nname = "{name}"\nlabel = "p{i}"\n' for i in range(n))


def _sweep_many(n: int) -> str:
    return "".join(f'\n[[policies]]\nname = "UCB"\nparams = {{ alpha = {i + 1}.0 }}\n'
                   for i in range(n))


def _one_line(err: str, prefix: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), lines[0]
    assert "Traceback" not in err
    return lines[0]


# (file text, extra setup, expected exit status, expected text in the one line)
RUN_CASES = {
    "horizon 2**63-1": (RUN.replace("horizon = 60", f"horizon = {2**63 - 1}"), 2,
                        f"config error: horizon: must be an int in {BOUND}; got "
                        f"{2**63 - 1}."),
    "horizon 10**30": (RUN.replace("horizon = 60", f"horizon = {10**30}"), 2,
                       f"config error: horizon: must be an int in {BOUND}; got {10**30}."),
    "horizon 2**62 (rounds)": (RUN.replace("horizon = 60", f"horizon = {2**62}"), 2,
                               "config error: horizon: the file asks for 1.38e+19 rounds (1 "
                               "pairs x n_seeds=3 x horizon=4611686018427387904), more than "
                               "1e+13 (banditlab.limits.MAX_STEPS); lower horizon or n_seeds."),
    "linspace of 10**9 points": (RUN.replace("[0.2, 0.8]",
                                             "{ linspace = [0.1, 0.9, 1000000000] }"), 2,
                                 "envs[0].kwargs.means.linspace: must be [start, stop, num] "
                                 "with finite numbers start, stop and an int num in [1, "
                                 "1000000] (banditlab.limits.MAX_LINSPACE)"),
    "Gaussian means 1e308": (RUN.replace("BernoulliBandit", "GaussianBandit")
                             .replace("[0.2, 0.8]", "[1e308, -1e308]"), 2,
                             "config error: envs[0].kwargs.means: "),
    "arrays nested 2000 deep": (RUN.replace("[0.2, 0.8]", _nested(2000, "arrays")), 2,
                                "arrays or tables nested too deeply to read (the limit is 32 "
                                "levels, banditlab.limits.MAX_DEPTH); flatten them."),
    "arrays nested 40 deep": (RUN.replace("[0.2, 0.8]", _nested(40, "arrays")), 2,
                              "config error: envs[0].kwargs...: arrays and tables nested more "
                              "than 32 levels deep (banditlab.limits.MAX_DEPTH); flatten the "
                              "value."),
    "tables nested 2000 deep": (RUN.replace("[0.2, 0.8]", _nested(2000, "tables")), 2,
                                "nested too deeply to read"),
    "tables nested 40 deep": (RUN.replace("[0.2, 0.8]", _nested(40, "tables")), 2,
                              "config error: envs[0].kwargs...: arrays and tables nested more "
                              "than 32 levels deep"),
    "100,000 policies": (RUN + _many(100_000 - 1, "policies", "Uniform"), 2,
                         "config error: policies: the file asks for 100,000 (policy, env) "
                         "pairs (100000 [[policies]] x 1 [[envs]]), more than 10,000 "
                         "(banditlab.limits.MAX_CELLS); split it into several files."),
    "10**9 checkpoints": (RUN.replace("horizon = 60", "horizon = 1000000000\n"
                                      "checkpoints = 1000000000"), 2,
                          "config error: checkpoints: must be at most 1000000 evenly spaced "
                          "rounds (banditlab.limits.MAX_CHECKPOINTS); got 1000000000."),
    "results beyond memory": (RUN.replace("n_seeds = 3", f"n_seeds = {2**31}"), 2,
                              "config error: n_seeds: the results need about 1.02e+03 GiB of "
                              "memory (1 pairs x n_seeds=2147483648 x (60 checkpoints + up to "
                              "2 arms) x 8 bytes), more than the 2 GiB allowed (half of the 4 "
                              "GiB available now); lower n_seeds or checkpoints."),
}


@pytest.fixture
def four_gib(monkeypatch):
    """4 GiB of available memory, whatever the machine: the memory checks are deterministic."""
    for module in (config_module, sweep_module):
        monkeypatch.setattr(module, "available_memory", lambda: 2**32)


@pytest.mark.parametrize("case", list(RUN_CASES), ids=list(RUN_CASES))
def test_run_refuses_bad_or_oversized_files_in_one_line(case, tmp_path, capsys, four_gib):
    text, code, expected = RUN_CASES[case]
    cfg = tmp_path / "exp.toml"
    cfg.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == code
    line = _one_line(capsys.readouterr().err, "config error: ")
    assert expected in line, line
    assert not out.exists()                     # refused before anything is written


def _file_in_the_way(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("x")
    return tmp_path / "afile" / "out"


def _config_toml_a_directory(tmp_path: Path) -> Path:
    (tmp_path / "out" / "config.toml").mkdir(parents=True)
    return tmp_path / "out"


def _runs_a_file(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "runs").write_text("x")
    return tmp_path / "out"


@pytest.mark.parametrize(("setup", "expected"), [
    (_file_in_the_way, "error: --out: cannot write '{out}' (Not a directory); give --out a "
                       "directory that can be written, with free space."),
    (_config_toml_a_directory, "error: --out: cannot write '{out}/config.toml' (Is a "
                               "directory); give --out a directory that can be written"),
    (_runs_a_file, "then run the same command again (finished pairs are kept)."),
], ids=["parent is a file", "config.toml is a directory", "runs/ is a file"])
def test_run_output_that_cannot_be_written_exits_1(setup, expected, tmp_path, capsys):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(RUN)
    out = setup(tmp_path)
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 1
    line = _one_line(capsys.readouterr().err, "error: ")
    assert expected.format(out=out) in line, line
    assert str(out) in line


def test_run_on_a_full_disk_exits_1_and_resumes_once_there_is_room(tmp_path, capsys,
                                                                    monkeypatch):
    cfg = tmp_path / "exp.toml"
    cfg.write_text(RUN + _many(2, "policies", "ThompsonSampling"))
    out = tmp_path / "out"
    real, calls = pq.write_table, []

    def fill_up(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:                      # the first pair's two tables fit
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", fill_up)
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 1
    line = _one_line(capsys.readouterr().err, "error: Results.save: could not write ")
    assert "No space left on device" in line and "01_p0" in line
    assert line.endswith("give the output a directory that can be written, with free space, "
                         "then run the same command again (finished pairs are kept).")
    first = (out / "runs" / "00_BernoulliBandit" / "00_UCB" / "meta.json").read_bytes()
    monkeypatch.setattr(pq, "write_table", real)
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert (out / "runs" / "00_BernoulliBandit" / "00_UCB" / "meta.json").read_bytes() == first
    assert len(list(out.glob("runs/*/*/meta.json"))) == 3


# -- sweep ------------------------------------------------------------------------------------
SWEEP_CASES = {
    "horizon 2**62 (rounds)": (GRID.replace("horizon = 50", f"horizon = {2**62}"),
                               "sweep config: the grid asks for 9.22e+18 rounds (2 tasks x "
                               "horizon 4611686018427387904 per cell), more than 1e+13 "
                               "(banditlab.limits.MAX_STEPS); lower 'horizon' or 'n_seeds'."),
    "horizon 2**63-1": (GRID.replace("horizon = 50", f"horizon = {2**63 - 1}"),
                        f"sweep config: 'horizon' must be an int in {BOUND}; got "
                        f"{2**63 - 1}."),
    "horizon 10**30": (GRID.replace("horizon = 50", f"horizon = [50, {10**30}]"),
                       f"sweep config: 'horizon' must be an int in {BOUND}; got {10**30}."),
    "n_seeds 2**63-1": (GRID.replace("n_seeds = 2", f"n_seeds = {2**63 - 1}"),
                        "sweep config: the grid has 9.22e+18 tasks (1 cells x "
                        "n_seeds=9223372036854775807), more than 1,000,000 "
                        "(banditlab.limits.MAX_TASKS); lower 'n_seeds' or split the grid into "
                        "several stores."),
    "100,000 policies": (GRID + _sweep_many(100_000 - 1),
                         "sweep config: the grid has 100,000 cells (100000 [[policies]] x 1 "
                         "[[envs]] at least), more than 10,000 (banditlab.limits.MAX_CELLS); "
                         "split it into several grids (and stores)."),
    "101 x 100 cells": (GRID.replace('name = "UCB"', 'name = "UCB"\ngrid = { alpha = ['
                                     + ", ".join(f"{i + 1}.0" for i in range(101)) + "] }")
                        .replace("kwargs = { means = [0.2, 0.6] }", "grid = { means = ["
                                 + ", ".join(f"[0.2, {0.3 + i / 1000}]" for i in range(100))
                                 + "] }"),
                        "sweep config: the grid has 10,100 cells (101 policy settings x 100 "
                        "env settings x 1 horizons), more than 10,000 "
                        "(banditlab.limits.MAX_CELLS)"),
    "arrays nested 2000 deep": (GRID.replace("[0.2, 0.6]", _nested(2000, "arrays")),
                                "has arrays or tables nested too deeply to read"),
    "arrays nested 40 deep": (GRID.replace("[0.2, 0.6]", _nested(40, "arrays")),
                              "sweep config: 'envs[0].kwargs...' has arrays or tables nested "
                              "more than 32 levels deep (banditlab.limits.MAX_DEPTH); flatten "
                              "the value."),
    "tables nested 40 deep": (GRID.replace("[0.2, 0.6]", _nested(40, "tables")),
                              "nested more than 32 levels deep"),
    "10**9 checkpoints": (GRID.replace("horizon = 50", "horizon = 1000000000")
                          .replace("checkpoints = 5", "checkpoints = 1000000000"),
                          "sweep config: 'checkpoints' must be at most 1000000 evenly spaced "
                          "rounds (banditlab.limits.MAX_CHECKPOINTS); got 1000000000."),
    "a task beyond memory": (GRID.replace("horizon = 50", "horizon = 100000")
                             .replace("checkpoints = 5", "checkpoints = 100000")
                             .replace("[0.2, 0.6]", "[" + ", ".join(["0.5"] * 4000) + "]"),
                             "sweep config: one task of UCB on banditlab/BernoulliBandit-v0 "
                             "(100000 checkpoints x (4000 arms + 12) x 8 bytes, 3 copies while "
                             "it is written) needs about 8.97 GiB of memory, more than the 2 "
                             "GiB allowed (half of the 4 GiB available now); lower "
                             "'checkpoints' (every checkpoint is a row with the pulls of every "
                             "arm)."),
    "Gaussian means 1e308": (GRID.replace("BernoulliBandit", "GaussianBandit")
                             .replace("[0.2, 0.6]", "[1e308, -1e308]"),
                             "sweep config: the cell UCB{} on banditlab/GaussianBandit-v0"),
}


@pytest.mark.parametrize("case", list(SWEEP_CASES), ids=list(SWEEP_CASES))
def test_sweep_refuses_bad_or_oversized_grids_in_one_line(case, tmp_path, capsys, four_gib):
    text, expected = SWEEP_CASES[case]
    cfg = tmp_path / "grid.toml"
    cfg.write_text(text)
    store = tmp_path / "store"
    assert main(["sweep", str(cfg), "--store", str(store), "--serial", "--no-progress"]) == 2
    line = _one_line(capsys.readouterr().err, "config error: ")
    assert expected in line, line
    assert not store.exists()


def _store(tmp_path: Path, capsys) -> Path:
    cfg = tmp_path / "grid.toml"
    cfg.write_text(GRID)
    store = tmp_path / "store"
    assert main(["sweep", str(cfg), "--store", str(store), "--serial", "--no-progress"]) == 0
    capsys.readouterr()
    return store


@pytest.mark.parametrize(("damage", "expected"), [
    (lambda m: m.pop("task_ids"),
     "the manifest 'task_ids' must be a list of task ids (16 hex digits each); got nothing in "
     "'{store}/manifest.json'. The store is damaged: restore the file or start a new store."),
    (lambda m: m.update(task_ids=[1, 2]),
     "the manifest 'task_ids' must be a list of task ids (16 hex digits each); got [1, 2]"),
    (lambda m: m.update(grid="x"),
     "the manifest 'grid' must be a table (the normalised grid); got 'x'"),
    (lambda m: m.update(entropy=-1),
     "the manifest 'entropy' must be a non-negative int or a list of them; got -1"),
    ('{"format": 1, "grid": ', "'{store}/manifest.json' is not valid JSON ("),
    (b'{"format": 1, "grid": "\xc3\x28"}', "'{store}/manifest.json' is not valid JSON ("),
], ids=["no task_ids", "bad task_ids", "grid not a table", "negative entropy", "truncated",
        "not UTF-8"])
def test_a_damaged_manifest_is_one_line_for_sweep_and_status(damage, expected, tmp_path,
                                                             capsys):
    store = _store(tmp_path, capsys)
    file = store / "manifest.json"
    if callable(damage):
        manifest = json.loads(file.read_text())
        damage(manifest)
        file.write_text(json.dumps(manifest))
    else:
        file.write_bytes(damage if isinstance(damage, bytes) else damage.encode())
    assert main(["sweep", str(tmp_path / "grid.toml"), "--store", str(store), "--serial",
                 "--no-progress"]) == 2
    line = _one_line(capsys.readouterr().err, "config error: sweep: ")
    assert expected.format(store=store) in line, line
    assert main(["sweep", "status", str(store)]) == 2
    line = _one_line(capsys.readouterr().err, "config error: store_status: ")
    assert expected.format(store=store) in line, line


@pytest.mark.parametrize(("in_the_way", "store_name", "code", "expected"), [
    ("afile", "afile/store", 1, "error: sweep store: cannot write '{store}' (Not a directory); "
                                "choose a store directory that can be written (--store)."),
    ("store", "store", 2, "config error: sweep: 'store' must be a directory; got the file "
                          "'{store}'."),
], ids=["parent is a file", "store is a file"])
def test_sweep_store_paths_that_cannot_be_used(in_the_way, store_name, code, expected,
                                               tmp_path, capsys):
    cfg = tmp_path / "grid.toml"
    cfg.write_text(GRID)
    (tmp_path / in_the_way).write_text("x")
    store = tmp_path / store_name
    assert main(["sweep", str(cfg), "--store", str(store), "--serial", "--no-progress"]) == code
    line = _one_line(capsys.readouterr().err, expected.split(":")[0])
    assert line == expected.format(store=store)


def test_a_store_whose_runs_folder_cannot_be_written(tmp_path, capsys):
    store = _store(tmp_path, capsys)
    for shard in (store / "runs").iterdir():
        shard.unlink()
    (store / "runs").rmdir()
    (store / "runs").write_text("x")           # not a directory: nothing can be written
    assert main(["sweep", str(tmp_path / "grid.toml"), "--store", str(store), "--serial",
                 "--no-progress"]) == 1
    line = _one_line(capsys.readouterr().err, "error: sweep store: cannot write ")
    assert re.search(rf"cannot write '{re.escape(str(store))}/runs/[0-9a-f]{{32}}\.parquet' "
                     r"\(Not a directory\); choose a store directory that can be written "
                     r"\(--store\)\.$", line), line


def test_a_full_disk_mid_sweep_keeps_the_store_and_a_rerun_completes(tmp_path, capsys,
                                                                     monkeypatch):
    cfg = tmp_path / "grid.toml"
    cfg.write_text(GRID.replace("n_seeds = 2", "n_seeds = 4"))
    store = tmp_path / "store"
    real, calls = pq.write_table, []

    def fill_up(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "write_table", fill_up)
    assert main(["sweep", str(cfg), "--store", str(store), "--serial", "--no-progress",
                 "--batch-size", "1"]) == 1
    line = _one_line(capsys.readouterr().err, "error: sweep store: cannot write ")
    assert line.endswith("(No space left on device); free disk space, then run the sweep "
                         "again (finished tasks are kept).")
    assert store_status(store) == {"total": 4, "done": 2, "failed": 0, "pending": 2,
                                   "corrupt": 0, "extra": 0}
    assert not list((store / "runs").glob("*.tmp")) and not (store / "lock").exists()
    monkeypatch.setattr(pq, "write_table", real)
    assert main(["sweep", str(cfg), "--store", str(store), "--serial", "--no-progress"]) == 0
    assert "4/4 done, 0 failed, 0 pending (ran 2, skipped 2)" in capsys.readouterr().out
    assert load_store(store)["task_id"].nunique() == 4


def test_a_store_beyond_the_free_disk_space_is_refused_before_it_runs(tmp_path, capsys,
                                                                      monkeypatch):
    class Usage:
        total, used, free = 10**9, 10**9 - 1000, 1000

    monkeypatch.setattr(sweep_module.shutil, "disk_usage", lambda path: Usage)
    cfg = tmp_path / "grid.toml"
    cfg.write_text(GRID)
    store = tmp_path / "store"
    assert main(["sweep", str(cfg), "--store", str(store), "--serial", "--no-progress"]) == 1
    line = _one_line(capsys.readouterr().err, "error: sweep: the store ")
    need = 2 * 5 * (2 + 12) * 8 / 2**30          # tasks x checkpoints x (arms + 12) x 8 bytes
    assert line == (f"error: sweep: the store {str(store)!r} needs about {need:.3g} GiB more "
                    f"for 2 tasks, and its disk has {1000 / 2**30:.3g} GiB free; free disk "
                    "space, choose another --store, or lower 'checkpoints' or 'n_seeds'.")
    assert store_status(store)["done"] == 0
