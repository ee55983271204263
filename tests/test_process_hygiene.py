"""Process hygiene of ``banditlab run`` and ``banditlab sweep`` (issue 13, part 4), on real
processes: Ctrl-C stops fast with one line and a rerun resumes, workers die with a killed
driver, one driver per store, and a worker killed mid-task loses nothing.

Every test starts the command line in a subprocess of its own session (so signals reach it
and its workers only) with timeouts, and kills whatever is left in ``finally``. The tests need
POSIX process groups and signals (Linux, where CI runs).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from banditlab import load_results
from banditlab.cli import main
from banditlab.errors import StoreLockedError
from banditlab.store import LOCK, StoreLock, load_store, scan_store, store_status
from banditlab.sweep import sweep

# a python-engine grid: about 0.1-0.3 s per task, long enough to interrupt mid-sweep
GRID = """
seed = 5
n_seeds = 6
horizon = {horizon}
checkpoints = 4
engine = "{engine}"

[[policies]]
name = "UCB"

[[policies]]
name = "EpsilonGreedy"
params = {{ epsilon = 0.1 }}

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = {{ means = [0.3, 0.5, 0.6] }}
"""

RUN = """
horizon = 8000
n_seeds = 2
engine = "python"
checkpoints = 4

[[envs]]
id = "banditlab/BernoulliBandit-v0"
kwargs = { means = [0.3, 0.5, 0.6] }

[[policies]]
name = "UCB"

[[policies]]
name = "ThompsonSampling"

[[policies]]
name = "EpsilonGreedy"
params = { epsilon = 0.1 }

[[policies]]
name = "Uniform"

[[policies]]
name = "KLUCB"
"""


def _env() -> dict[str, str]:
    # the installed package, as a user runs it (see test_sweep_cli)
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _saved(out: Path) -> list[Path]:
    """The results saved under ``out/runs`` (not the hidden directory of a save in progress)."""
    return [p for p in out.glob("runs/*/*/meta.json") if not p.parent.name.startswith(".")]


def _default_sigint() -> None:
    # a test run in the background of a non-interactive shell ignores SIGINT; the command
    # under test must start with it handled, as in a terminal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "banditlab", *argv], cwd=cwd, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)


def _ctrl_c(proc: subprocess.Popen[str]) -> str:
    """Send SIGINT to the group (what Ctrl-C in a terminal does); the command must exit with
    status 130 within 5 s. Returns its stderr."""
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert elapsed < 5.0, elapsed
    assert proc.returncode == 130
    return err


def _kill_group(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def _wait_for(condition, proc: subprocess.Popen[str], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"the command ended before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            kids = [c for c, pp in parents.items() if pp == p]
            out += kids
            todo += kids
        return out
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _shards(store: Path) -> int:
    return len(list((store / "runs").glob("*.parquet"))) if (store / "runs").is_dir() else 0


def _frame(store: Path) -> pd.DataFrame:
    cols = ["task_id", "t", "regret", "pulls", "env_seed", "policy_seed"]
    return load_store(store)[cols]


def test_ctrl_c_on_sweep_stops_fast_with_one_line_and_a_rerun_resumes(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(GRID.format(horizon=6000, engine="python"))
    store = tmp_path / "store"
    proc = _start(["sweep", str(config), "--store", str(store), "--local", "2",
                   "--batch-size", "1", "--no-progress"], tmp_path)
    try:
        _wait_for(lambda: _shards(store) >= 2, proc, "two tasks were stored")
        workers = _children(proc.pid)
        assert workers, "the sweep runs no worker process"
        err = _ctrl_c(proc)
    finally:
        _kill_group(proc)
    assert err.strip().splitlines() == [
        f"interrupted: the finished tasks are kept in the store {store}; run the same command "
        "again to resume."]
    deadline = time.monotonic() + 10
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_running, workers))
    status = store_status(store)
    assert status["corrupt"] == 0 and 2 <= status["done"] < status["total"] == 12
    assert not (store / LOCK).exists()
    kept = set(scan_store(store).done)
    again = sweep(config, store=store, executor=2, progress=False)
    assert (again.done, again.failed, again.skipped) == (12, 0, len(kept))
    ref = sweep(config, store=tmp_path / "ref", executor=2, progress=False)
    pd.testing.assert_frame_equal(_frame(store), _frame(tmp_path / "ref"))
    assert ref.done == 12


def test_ctrl_c_on_run_stops_fast_keeps_finished_pairs_and_resumes(tmp_path, capsys):
    config = tmp_path / "exp.toml"
    config.write_text(RUN)                      # no seed: a resumed run reuses the recorded one
    out = tmp_path / "out"
    proc = _start(["run", str(config), "--out", str(out), "--n-jobs", "1", "--no-progress"],
                  tmp_path)
    try:
        _wait_for(lambda: len(_saved(out)) >= 2, proc, "two pairs were saved")
        err = _ctrl_c(proc)
    finally:
        _kill_group(proc)
    assert err.strip().splitlines() == [
        f"interrupted: the finished pairs are kept under {out / 'runs'}; run the same command "
        "again to resume."]
    state = json.loads((out / ".run-state.json").read_text())
    kept = {p: p.read_bytes() for p in _saved(out)}
    assert 2 <= len(kept) < 5
    assert main(["run", str(config), "--out", str(out), "--no-progress"]) == 0
    assert f"seed {state['seed']}" in capsys.readouterr().out
    assert not (out / ".run-state.json").exists()
    for file, meta in kept.items():             # read back, not run again
        assert file.read_bytes() == meta
    ref = tmp_path / "ref"
    assert main(["run", str(config), "--out", str(ref), "--seed", str(state["seed"]),
                 "--no-progress"]) == 0
    dirs = sorted(p.relative_to(ref) for p in ref.glob("runs/*/*"))
    assert dirs == sorted(p.relative_to(out) for p in out.glob("runs/*/*")) and len(dirs) == 5
    for d in dirs:
        a, b = load_results(out / d), load_results(ref / d)
        assert (a.regret == b.regret).all() and (a.pulls == b.pulls).all()


@pytest.mark.parametrize(("engine", "horizon"), [("python", 2_000_000), ("kernel", 10**9)],
                         ids=["python-engine", "kernel-holding-the-GIL"])
def test_workers_exit_when_the_driver_is_killed(engine, horizon, tmp_path):
    """SIGKILL the driver only: its workers, busy with long tasks, must exit within 10 s."""
    config = tmp_path / "grid.toml"
    config.write_text(GRID.format(horizon=horizon, engine=engine))
    store = tmp_path / "store"
    proc = _start(["sweep", str(config), "--store", str(store), "--local", "2",
                   "--batch-size", "1", "--no-progress"], tmp_path)
    workers: list[int] = []
    try:
        _wait_for(lambda: len(_children(proc.pid)) >= 2, proc, "two workers started")
        time.sleep(0.5)                          # both are inside a task by now
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        killed = time.monotonic()
        while any(map(_running, workers)) and time.monotonic() - killed < 15:
            time.sleep(0.05)
        elapsed = time.monotonic() - killed
        assert not any(map(_running, workers)), f"orphans after {elapsed:.1f} s"
        assert elapsed < 10.0
    finally:
        _kill_group(proc)
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    # the dead driver's lock is stale: the next driver takes it over
    with StoreLock(store):
        assert json.loads((store / LOCK).read_text())["pid"] == os.getpid()
    assert not (store / LOCK).exists()


HOLDER = textwrap.dedent("""
    import sys
    from banditlab.sweep import sweep
    sweep(sys.argv[1], store=sys.argv[2], executor="serial", progress=False)
""")


def test_a_second_driver_is_refused_while_the_first_holds_the_store(tmp_path, capsys):
    config = tmp_path / "grid.toml"
    config.write_text(GRID.format(horizon=10**7, engine="python"))     # never ends here
    store = tmp_path / "store"
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    proc = subprocess.Popen([sys.executable, str(script), str(config), str(store)],
                            cwd=tmp_path, env=_env(), stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)
    try:
        _wait_for(lambda: (store / "manifest.json").exists() and (store / LOCK).exists(),
                  proc, "the first driver opened the store")
        holder = json.loads((store / LOCK).read_text())
        assert holder["pid"] == proc.pid and holder["host"] == socket.gethostname()
        busy = (f"the store {str(store)!r} is in use by process {proc.pid} on host "
                f"{socket.gethostname()!r} (since {holder['since']}); wait for that sweep to "
                "end or stop it, then run again.")
        with pytest.raises(StoreLockedError) as info:
            sweep(config, store=store, executor="serial", progress=False)
        assert str(info.value) == f"sweep: {busy}"
        capsys.readouterr()
        assert main(["sweep", str(config), "--store", str(store), "--serial",
                     "--no-progress"]) == 1
        assert capsys.readouterr().err.splitlines() == [f"error: sweep: {busy}"]
        assert proc.poll() is None              # the first driver is undisturbed
    finally:
        _kill_group(proc)
    # its lock file is left behind, naming a dead process: taken over
    assert json.loads((store / LOCK).read_text())["pid"] == proc.pid
    with StoreLock(store):
        assert json.loads((store / LOCK).read_text())["pid"] == os.getpid()


def test_stale_foreign_and_same_process_locks(tmp_path):
    small = GRID.format(horizon=50, engine="auto").replace("n_seeds = 6", "n_seeds = 2")
    config = tmp_path / "grid.toml"
    config.write_text(small)
    store = tmp_path / "store"
    # a lock left by a process of this host that no longer exists
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=60)
    store.mkdir()
    (store / LOCK).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(),
                                          "since": "2024-01-01T00:00:00"}))
    assert sweep(config, store=store, executor="serial", progress=False).done == 4
    assert not (store / LOCK).exists()
    # a lock of another host cannot be checked from here: refused, with what to do
    (store / LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere.example",
                                          "since": "2024-01-01T00:00:00"}))
    with pytest.raises(StoreLockedError, match=r"locked by process 1 on host "
                                               r"'elsewhere\.example' .* cannot be checked "
                                               r"from host .* delete '.*lock' and run again"):
        sweep(config, store=store, executor="serial", progress=False)
    (store / LOCK).unlink()
    # two sweeps of one process on one store
    with StoreLock(store), pytest.raises(StoreLockedError, match="another sweep of this "
                                                                  "process"):
        sweep(config, store=store, executor="serial", progress=False)
    assert not (store / LOCK).exists()


def test_ctrl_c_waits_for_the_shard_being_written(python_sigint):
    """The driver holds SIGINT while it writes a shard, then stops (a store never loses a
    batch it received)."""
    from banditlab.sweep import _interrupts_held

    done = []
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with _interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)                    # the handler has run by now: held
            done.append("written")
    assert done == ["written"]
    assert signal.getsignal(signal.SIGINT) is before


def test_a_worker_killed_from_outside_mid_task_loses_nothing(tmp_path):
    config = tmp_path / "grid.toml"
    config.write_text(GRID.format(horizon=6000, engine="python"))
    store = tmp_path / "store"
    proc = _start(["sweep", str(config), "--store", str(store), "--local", "2",
                   "--batch-size", "1", "--no-progress"], tmp_path)
    try:
        _wait_for(lambda: _shards(store) >= 1 and len(_children(proc.pid)) >= 2, proc,
                  "a task was stored")
        os.kill(_children(proc.pid)[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, err
    assert "12/12 done, 0 failed, 0 pending" in out and "Traceback" not in err
    ref = sweep(config, store=tmp_path / "ref", executor=2, progress=False)
    assert ref.done == 12
    pd.testing.assert_frame_equal(_frame(store), _frame(tmp_path / "ref"))
