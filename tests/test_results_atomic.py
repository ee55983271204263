"""``Results.save`` is atomic and ``load_results`` refuses directories that mix two saves."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import banditlab as bl
from banditlab import _atomic


def _a() -> bl.Results:
    env = bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=200)
    return bl.run_many(bl.UCB(3), env, n_runs=4, seed=1, n_jobs=1)


def _b() -> bl.Results:
    env = bl.BernoulliBandit([0.2, 0.5, 0.7], horizon=300)
    return bl.run_many(bl.Uniform(3), env, n_runs=7, seed=2, n_jobs=1)


def _which(res: bl.Results, a: bl.Results, b: bl.Results) -> str:
    for name, ref in (("a", a), ("b", b)):
        if (res.policy == ref.policy and res.regret.tobytes() == ref.regret.tobytes()
                and np.array_equal(res.pulls, ref.pulls) and res.horizon == ref.horizon):
            return name
    raise AssertionError(f"loaded a result that is neither save: {res.policy}, "
                         f"{res.regret.shape}")


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[2])
    import test_results_atomic as t
    a, b = t._a(), t._b()
    a.save(sys.argv[1])
    print("ready", flush=True)
    while True:
        b.save(sys.argv[1])
        a.save(sys.argv[1])
""")


def test_killing_a_saving_process_leaves_the_old_or_the_new_result(tmp_path: Path) -> None:
    a, b = _a(), _b()
    target = tmp_path / "res"
    rng = random.Random(0)
    seen = set()
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target),
                                 str(Path(__file__).parent)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        seen.add(_which(bl.load_results(target), a, b))
    assert seen <= {"a", "b"}


def test_a_directory_mixing_two_saves_is_refused(tmp_path: Path) -> None:
    a, b = _a(), _b()
    da, db = a.save(tmp_path / "a"), b.save(tmp_path / "b")
    shutil.copy(db / "regret.parquet", da / "regret.parquet")
    with pytest.raises(ValueError, match=r"belongs to another save .*mixes two results"):
        bl.load_results(da)
    # a truncated file is named too (not a raw pyarrow error)
    a.save(da)
    data = (da / "pulls.parquet").read_bytes()
    (da / "pulls.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"pulls\.parquet' is missing or unreadable"):
        bl.load_results(da)


def test_a_failed_save_keeps_the_old_result(tmp_path: Path, monkeypatch) -> None:
    a, b = _a(), _b()
    target = a.save(tmp_path / "res")
    calls = []
    real = pq.write_table

    def full_disk(table, where, *args, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", full_disk)
    with pytest.raises(OSError, match=r"Results\.save: could not write .*No space left on "
                                      r"device.*previous result there is unchanged"):
        b.save(target)
    monkeypatch.undo()
    assert _which(bl.load_results(target), a, b) == "a"
    assert not list(tmp_path.glob(".res.tmp-*"))           # nothing left behind


def test_replacement_without_the_atomic_exchange(tmp_path: Path, monkeypatch) -> None:
    """Where renameat2 is unavailable: two renames, and a reader recovers the old copy."""
    a, b = _a(), _b()
    target = a.save(tmp_path / "res")
    monkeypatch.setattr(_atomic, "_exchange", lambda x, y: False)
    b.save(target)
    assert _which(bl.load_results(target), a, b) == "b"
    # a writer killed between its two renames leaves only the old copy beside the target
    os.rename(target, tmp_path / ".res.old-dead")
    assert _which(bl.load_results(target), a, b) == "b"


def test_load_rejects_a_path_that_is_not_a_path() -> None:
    with pytest.raises(TypeError, match=r"Results\.load: 'path' must be a str or "
                                        r"os\.PathLike .*; got float 1\.5\."):
        bl.load_results(1.5)


class _Killed(BaseException):
    """Stands for the process dying at this point of a save."""


def _direct_save(res: bl.Results, target: Path) -> None:
    """The pre-atomic save, kept as the canary: files written in place, one after the other."""
    target.mkdir(parents=True, exist_ok=True)
    import json
    import uuid

    import pyarrow as pa

    save_id = uuid.uuid4().hex
    for name, frame in (("regret.parquet", res.to_frame()), ("pulls.parquet",
                                                            res.pulls_frame())):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({b"banditlab_save_id": save_id.encode()})
        pq.write_table(table, target / name)
    meta = {**res.metadata(), "save_id": save_id, "files": ["pulls.parquet", "regret.parquet"]}
    (target / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("writer", ["atomic", "canary: in place"])
def test_death_at_every_point_of_a_save(writer: str, tmp_path: Path, monkeypatch) -> None:
    """Fault injection: the writer dies after k of its two Parquet files, for every k, and (the
    atomic writer) at its commit step."""
    a, b = _a(), _b()
    outcomes = []
    for k in range(2):
        target = tmp_path / f"res{k}"
        a.save(target)
        real, calls = pq.write_table, []

        def dies(table, where, *args, _k=k, _real=real, _calls=calls, **kwargs):
            _calls.append(where)
            if len(_calls) > _k:
                raise _Killed
            return _real(table, where, *args, **kwargs)

        monkeypatch.setattr(pq, "write_table", dies)
        with pytest.raises(_Killed):
            b.save(target) if writer == "atomic" else _direct_save(b, target)
        monkeypatch.undo()
        try:
            outcomes.append(_which(bl.load_results(target), a, b))
        except ValueError:
            outcomes.append("refused")
    if writer == "atomic":
        target = tmp_path / "commit"
        a.save(target)

        def dies_at_commit(x: Path, y: Path) -> bool:
            raise _Killed

        monkeypatch.setattr(_atomic, "_exchange", dies_at_commit)
        with pytest.raises(_Killed):
            b.save(target)
        monkeypatch.undo()
        outcomes.append(_which(bl.load_results(target), a, b))
        assert outcomes == ["a", "a", "a"]              # the old result, whole, every time
    else:
        assert "refused" in outcomes                    # in place: a mix, caught by the id
