"""banditlab.parallel.parallel_map: order, n_jobs, errors, dead workers, the progress bar.

The tasks here sleep or exit on purpose; the whole file takes a few seconds on 2 cores.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest

import banditlab as bl
from banditlab._interrupt import handler as interrupt_handler
from banditlab.envs import BernoulliBandit
from banditlab.parallel import (
    NJobs,
    TaskFailure,
    available_cpus,
    check_n_jobs,
    mp_context,
    parallel_map,
)


class TaskError(Exception):
    """An exception type of this module: it must come back from a worker as itself."""


def draw(task: tuple[int, float]) -> tuple[int, list[float], int]:
    """A seeded result, after a pause that makes later tasks finish first."""
    seed, pause = task
    time.sleep(pause)
    return seed, np.random.default_rng(seed).random(3).tolist(), os.getpid()


def sleep_then_pid(pause: float) -> int:
    time.sleep(pause)
    return os.getpid()


def fail_on_three(x: int) -> int:
    if x == 3:
        raise TaskError(f"task {x} failed")
    return 10 * x


def exit_on(task: tuple[int, int, str]) -> int:
    """``os._exit`` when ``x == kill``: always if ``marker`` is empty, else only once."""
    x, kill, marker = task
    if x == kill:
        if not marker:
            time.sleep(0.3)       # the other tasks in flight finish first
            os._exit(3)
        if not Path(marker).exists():
            Path(marker).touch()
            os._exit(3)
    return x


def _tasks(n: int = 7) -> list[tuple[int, float]]:
    # the first tasks sleep longest, so workers return results out of task order
    return [(100 + i, 0.01 * (n - i)) for i in range(n)]


# -- order and determinism --------------------------------------------------------------------
@pytest.mark.parametrize("n_jobs", [1, 2, None, -1])
def test_results_are_in_task_order_and_do_not_depend_on_n_jobs(n_jobs) -> None:
    tasks = _tasks()
    want = [(seed, np.random.default_rng(seed).random(3).tolist()) for seed, _ in tasks]
    got = parallel_map(draw, tasks, n_jobs=n_jobs, progress=False)
    assert [(seed, values) for seed, values, _ in got] == want
    pids = {pid for *_, pid in got}
    if n_jobs in (1, None):                # fast tasks: automatic mode stays in this process
        assert pids == {os.getpid()}
    else:
        assert os.getpid() not in pids and len(pids) <= min(2, available_cpus())


def test_chunks_and_on_result_see_every_task_once() -> None:
    seen: dict[int, int] = {}
    out = parallel_map(fail_on_three, [0, 1, 2, 4, 5, 6, 7], n_jobs=2, chunksize=3,
                       on_result=lambda i, r: seen.setdefault(i, r), progress=False)
    assert out == [0, 10, 20, 40, 50, 60, 70]
    assert seen == dict(enumerate(out))
    assert parallel_map(fail_on_three, [1, 2], n_jobs=2, collect=False, progress=False) == []
    assert parallel_map(fail_on_three, [], n_jobs=2) == []


def test_run_many_is_bit_identical_for_every_n_jobs() -> None:
    env = BernoulliBandit([0.2, 0.5, 0.7], horizon=300)
    ref = bl.run_many(bl.ThompsonSampling(3), env, n_runs=5, seed=11, n_jobs=1)
    for n_jobs in (2, None, -1):
        res = bl.run_many(bl.ThompsonSampling(3), env, n_runs=5, seed=11, n_jobs=n_jobs)
        assert res.regret.tobytes() == ref.regret.tobytes()
        assert res.pulls.tobytes() == ref.pulls.tobytes()


def test_automatic_mode_times_the_first_task() -> None:
    # 8 tasks of 0.3 s: estimated 2.4 s > 2 s, so after the first (here) the rest go to workers
    pids = parallel_map(sleep_then_pid, [0.3] * 8, progress=False)
    assert pids[0] == os.getpid() and os.getpid() not in pids[1:]
    # an explicit estimate replaces the timing: nothing runs here
    pids = parallel_map(sleep_then_pid, [0.0] * 3, estimate_s=60.0, progress=False)
    assert os.getpid() not in pids
    pids = parallel_map(sleep_then_pid, [0.0] * 3, estimate_s=0.5, progress=False)
    assert set(pids) == {os.getpid()}


def test_isolate_runs_even_one_worker_in_a_process() -> None:
    assert os.getpid() not in parallel_map(sleep_then_pid, [0.0, 0.0], n_jobs=1, isolate=True)


def test_fork_and_available_cores() -> None:
    if hasattr(os, "sched_getaffinity"):
        assert available_cpus() == len(os.sched_getaffinity(0))
    assert mp_context().get_start_method() == "fork"


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "exc"), NJobs().invalid_values())
def test_n_jobs_validation_messages(value, exc) -> None:
    got = f"{type(value).__name__} {value!r}" if exc is TypeError else repr(value)
    message = f"'n_jobs' must be None, -1 or an int in [1, inf); got {got}."
    for owner, call in (
            ("parallel_map", lambda: parallel_map(fail_on_three, [1], n_jobs=value)),
            ("run_many", lambda: bl.run_many(bl.UCB(2), BernoulliBandit([0.1, 0.9]),
                                             10, n_jobs=value)),
            ("sweep", lambda: check_n_jobs(value, "sweep"))):
        with pytest.raises(exc) as info:
            call()
        assert str(info.value) == f"{owner}: {message}"


def test_n_jobs_accepts_none_minus_one_and_positive_ints() -> None:
    assert [check_n_jobs(v, "x") for v in (None, -1, 1, np.int64(3))] == [None, -1, 1, 3]


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), [
    ({"progress": 1}, TypeError, r"parallel_map: 'progress' must be a bool, None or a "
                                 r"ProgressBar; got 1\."),
    ({"errors": "ignore"}, ValueError, r"parallel_map: 'errors' must be one of 'raise', "
                                       r"'capture'; got 'ignore'\."),
    ({"max_restarts": -1}, ValueError, r"'max_restarts' must be an int in \[0, inf\)"),
    ({"chunksize": 0}, ValueError, r"'chunksize' must be an int in \[1, inf\) or None"),
    ({"estimate_s": -1.0}, ValueError, r"'estimate_s' must be a float in \[0, inf\) or None"),
])
def test_other_arguments_are_validated(kwargs, exc, pattern) -> None:
    with pytest.raises(exc, match=pattern):
        parallel_map(fail_on_three, [1], **kwargs)


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_task_exception_propagates_with_its_type(n_jobs) -> None:
    with pytest.raises(TaskError, match="task 3 failed") as info:
        parallel_map(fail_on_three, range(6), n_jobs=n_jobs, chunksize=1, progress=False)
    if n_jobs > 1:   # the worker's traceback is attached
        assert "fail_on_three" in str(info.value.__cause__)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_captured_errors_leave_the_other_tasks_alone(n_jobs) -> None:
    out = parallel_map(fail_on_three, range(6), n_jobs=n_jobs, errors="capture", chunksize=2,
                       progress=False)
    assert [r for i, r in enumerate(out) if i != 3] == [0, 10, 20, 40, 50]
    failure = out[3]
    assert isinstance(failure, TaskFailure) and isinstance(failure.exception, TaskError)
    assert failure.error == "TaskError: task 3 failed"
    assert "Traceback (most recent call last)" in failure.traceback
    assert "fail_on_three" in failure.traceback


# -- dead workers -----------------------------------------------------------------------------
def test_a_worker_that_died_once_is_replaced_and_its_task_rerun(tmp_path) -> None:
    marker = str(tmp_path / "died")
    tasks = [(x, 2, marker) for x in range(6)]
    assert parallel_map(exit_on, tasks, n_jobs=2, max_restarts=1, progress=False) == \
        list(range(6))
    assert Path(marker).exists()


def test_a_task_that_keeps_killing_its_worker_fails_after_max_restarts() -> None:
    tasks = [(x, 2, "") for x in range(6)]
    out = parallel_map(exit_on, tasks, n_jobs=2, max_restarts=1, chunksize=1, errors="capture",
                       progress=False)
    assert [r for i, r in enumerate(out) if i != 2] == [0, 1, 3, 4, 5]
    assert isinstance(out[2], TaskFailure) and isinstance(out[2].exception, BrokenProcessPool)
    assert "worker process died while this task was in flight (2 times)" in out[2].error
    with pytest.raises(BrokenProcessPool, match=r"parallel_map: a worker process died while "
                                                r"task 2 was in flight \(1 time; "
                                                r"max_restarts=0\)"):
        parallel_map(exit_on, tasks, n_jobs=2, chunksize=1, progress=False)


# -- interrupts and the caller's death --------------------------------------------------------
def test_an_interrupt_kills_the_workers_at_once() -> None:
    """KeyboardInterrupt in the caller does not wait for a 60 s task: the workers are killed."""
    def interrupt(i: int, result: int) -> None:
        raise KeyboardInterrupt

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        parallel_map(sleep_then_pid, [0.0, 60.0, 60.0], n_jobs=2, chunksize=1, isolate=True,
                     on_result=interrupt, progress=False)
    assert time.perf_counter() - start < 5.0
    assert mp.active_children() == []


def ignores_sigint(_: int) -> bool:
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_workers_ignore_ctrl_c_and_the_caller_keeps_its_handler(python_sigint) -> None:
    before = signal.getsignal(signal.SIGINT)
    assert before is interrupt_handler      # installed on import (banditlab._interrupt)
    assert parallel_map(ignores_sigint, [0, 1], n_jobs=2, isolate=True, progress=False) == \
        [True, True]
    assert signal.getsignal(signal.SIGINT) is before


# -- progress bar -----------------------------------------------------------------------------
def test_bar_follows_the_time_estimate(capsys) -> None:
    # six tasks of 0.45 s in this process: expected 2.7 s, the bar appears
    parallel_map(sleep_then_pid, [0.45] * 6, n_jobs=1, desc="slow-tasks")
    assert "slow-tasks" in capsys.readouterr().err
    # short work: no bar, and tqdm is never needed
    parallel_map(sleep_then_pid, [0.01] * 6, n_jobs=1, desc="quick-tasks")
    assert "quick-tasks" not in capsys.readouterr().err
    # an explicit estimate decides up front
    parallel_map(sleep_then_pid, [0.0] * 3, n_jobs=1, desc="estimated", estimate_s=30.0)
    assert "estimated" in capsys.readouterr().err
    parallel_map(sleep_then_pid, [0.0] * 3, n_jobs=1, desc="small-estimate", estimate_s=0.1)
    assert "small-estimate" not in capsys.readouterr().err


def test_progress_true_and_false_force_the_bar(capsys) -> None:
    parallel_map(sleep_then_pid, [0.0] * 4, n_jobs=2, desc="forced-on", progress=True)
    err = capsys.readouterr().err
    assert "forced-on" in err and "4/4" in err
    parallel_map(sleep_then_pid, [0.0] * 3, n_jobs=1, desc="forced-off", progress=False,
                 estimate_s=100.0)
    assert "forced-off" not in capsys.readouterr().err


# -- compiling ahead ----------------------------------------------------------------------------
def _record_task(path: Path, k: int) -> None:
    with open(path, "a") as f:
        f.write(f"{k}\n")
    time.sleep(0.2)                              # long enough for the caller to meet it


def test_compile_ahead_splits_the_tasks_and_stops_its_helper(tmp_path: Path) -> None:
    """The helper and the caller take the free tasks in order; a task the helper holds is
    refused to the caller (run it after :meth:`wait`), a skipped one is never the helper's,
    and no task is warmed twice or by both. Without ``fork`` no helper starts and every task
    is the caller's."""
    from banditlab.parallel import CompileAhead

    log = tmp_path / "warmed"
    ahead = CompileAhead(6, functools.partial(_record_task, log))
    assert ahead.claim(0)                        # before start: everything is the caller's
    ahead.start(1, skip=[3])                     # task 3: the caller's (kept from a resume)
    if "fork" not in mp.get_all_start_methods():
        assert not ahead.started
        assert all(ahead.claim(k) for k in range(1, 6))
        ahead.close()
        assert not log.exists()
        return
    assert ahead.started
    deadline = time.monotonic() + 60
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.01)                          # the helper has taken task 1
    mine, later = [], []
    for k in range(1, 6):
        (mine if ahead.claim(k) else later).append(k)
    assert later[0] == 1 and 3 in mine and sorted(mine + later) == list(range(1, 6))
    for k in later:
        ahead.wait(k)
    ahead.close()
    assert [int(x) for x in log.read_text().split()] == later
    assert mp.active_children() == []


def test_compiling_ahead_changes_no_number(tmp_path: Path) -> None:
    """An experiment run with a helper compiling its last pairs gives the results of running
    every pair here, bit for bit, in job order."""
    from banditlab.cli import run_experiment
    from banditlab.config import load_config

    path = tmp_path / "exp.toml"
    path.write_text('horizon = 50\nn_seeds = 2\nseed = 4\n[[envs]]\n'
                    'id = "banditlab/BernoulliBandit-v0"\n'
                    'kwargs = { means = [0.2, 0.5, 0.7] }\n'
                    + "".join(f'[[policies]]\nname = "{name}"\n'
                              for name in ("UCB", "ThompsonSampling", "EXP3", "Uniform",
                                           "EpsilonGreedy")))
    config = load_config(path)
    ahead = run_experiment(config, tmp_path / "a", progress=False, compile_ahead=True)
    alone = run_experiment(config, tmp_path / "b", progress=False, compile_ahead=False)
    assert [j.policy_label for j, _, _ in ahead] == [j.policy_label for j, _, _ in alone]
    for (_, ra, _), (_, rb, _) in zip(ahead, alone, strict=True):
        assert ra.regret.tobytes() == rb.regret.tobytes()
        assert ra.pulls.tobytes() == rb.pulls.tobytes()
    assert mp.active_children() == []


def test_compile_ahead_without_fork_leaves_every_task_to_the_caller(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``fork`` does not exist (``mp_context()`` is None), no helper starts and every
    claim succeeds: the caller runs and compiles everything itself."""
    from banditlab import parallel
    from banditlab.parallel import CompileAhead

    monkeypatch.setattr(parallel, "mp_context", lambda: None)
    log = tmp_path / "warmed"
    ahead = CompileAhead(4, functools.partial(_record_task, log))
    ahead.start(1)
    assert not ahead.started
    assert all(ahead.claim(k) for k in range(4))
    ahead.wait(2)
    ahead.close()
    assert not log.exists()


# -- Background -------------------------------------------------------------------------------
def _append(path: Path, text: str, pause: float = 0.0) -> None:
    time.sleep(pause)
    with path.open("a") as f:
        f.write(f"{text} {os.getpid()}\n")


def _fail(message: str) -> None:
    raise TaskError(message)


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def _fail_unpicklable() -> None:
    raise _Unpicklable("lost in transit")


def _no_helper_without_fork() -> bool:
    """True where ``fork`` does not exist, after checking that no helper starts there (the
    calls then run in the caller: tested below on every platform, mp_context monkeypatched)."""
    from banditlab.parallel import Background

    if "fork" in mp.get_all_start_methods():
        return False
    with Background() as bg:
        assert not bg.started
    return True


def test_background_runs_the_calls_in_order_in_its_helper(tmp_path: Path) -> None:
    from banditlab.parallel import Background

    if _no_helper_without_fork():
        return
    log = tmp_path / "log"
    with Background(prepare=functools.partial(_append, log, "prepare")) as bg:
        assert bg.started
        for k, pause in enumerate((0.2, 0.0, 0.1)):   # the first is the slowest
            bg.submit(_append, log, str(k), pause)
        bg.wait()
        lines = [line.split() for line in log.read_text().splitlines()]
    assert [text for text, _ in lines] == ["prepare", "0", "1", "2"]
    assert {int(pid) for _, pid in lines} != {os.getpid()} and len({p for _, p in lines}) == 1
    assert mp.active_children() == []


def test_background_raises_the_first_failure_with_its_type(tmp_path: Path) -> None:
    from banditlab.parallel import Background

    if _no_helper_without_fork():
        return
    log = tmp_path / "log"
    with Background() as bg:
        bg.submit(_append, log, "a")
        bg.submit(_fail, "first")
        bg.submit(_fail, "second")
        bg.submit(_append, log, "b")              # later calls still run
        with pytest.raises(TaskError, match=r"^first$"):
            bg.wait()
        bg.wait()                                 # raised once
        bg.submit(_fail_unpicklable)
        with pytest.raises(RuntimeError, match="_Unpicklable: lost in transit"):
            bg.wait()
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["a", "b"]
    # a failure met while submitting is raised by that submit
    with Background() as bg:
        bg.submit(_fail, "early")
        deadline = time.monotonic() + 30
        with pytest.raises(TaskError, match="early"):
            while time.monotonic() < deadline:
                bg.submit(_append, log, "c", 0.05)
    assert mp.active_children() == []


def test_a_dead_helper_fails_its_call_and_the_rest_run_here(tmp_path: Path) -> None:
    """The call the helper died in fails with a RuntimeError naming it; the calls queued
    behind it, and later ones, run in the caller. Killed from outside while idle: the next
    call runs in the caller. ``close`` does not wait for a busy helper."""
    from banditlab.parallel import Background

    if _no_helper_without_fork():
        return
    log = tmp_path / "log"
    with Background() as bg:
        bg.submit(_append, log, "before")
        bg.submit(os._exit, 3)
        bg.submit(_append, log, "queued")
        with pytest.raises(RuntimeError, match=r"helper process died \(exit code 3\) before "
                                               r"finishing '_exit'"):
            bg.wait()
        assert not bg.started
        bg.submit(_append, log, "later")
        bg.wait()
    lines = [line.split() for line in log.read_text().splitlines()]
    assert [text for text, _ in lines] == ["before", "queued", "later"]
    assert int(lines[0][1]) != os.getpid() and int(lines[1][1]) == int(lines[2][1]) == os.getpid()

    log.unlink()
    with Background() as bg:
        bg.submit(_append, log, "there")
        bg.wait()
        os.kill(bg._proc.pid, signal.SIGKILL)
        bg._proc.join()
        bg.submit(_append, log, "here")
        bg.wait()
    assert [int(line.split()[1]) == os.getpid() for line in log.read_text().splitlines()] == [
        False, True]

    bg = Background().start()
    bg.submit(time.sleep, 60)
    start = time.monotonic()
    bg.close()                                    # the pending call is dropped, not awaited
    assert time.monotonic() - start < 10
    assert not bg.started and mp.active_children() == []


def test_background_without_fork_runs_each_call_in_the_caller(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from banditlab import parallel
    from banditlab.parallel import Background

    monkeypatch.setattr(parallel, "mp_context", lambda: None)
    log = tmp_path / "log"
    with Background(prepare=functools.partial(_append, log, "prepare")) as bg:
        assert not bg.started
        bg.submit(_append, log, "a")
        assert log.read_text().split() == ["a", str(os.getpid())]   # done on return
        with pytest.raises(TaskError, match="now"):
            bg.submit(_fail, "now")
        bg.wait()


def test_saving_in_the_background_changes_no_byte(tmp_path: Path) -> None:
    """``run_experiment`` with a :class:`Background` writes the files it writes alone, and
    returns only once they are all there."""
    from banditlab.cli import run_experiment
    from banditlab.config import load_config
    from banditlab.parallel import Background
    from banditlab.results import load_results

    path = tmp_path / "exp.toml"
    path.write_text('horizon = 40\nn_seeds = 2\nseed = 9\n[[envs]]\n'
                    'id = "banditlab/BernoulliBandit-v0"\nkwargs = { means = [0.3, 0.6] }\n'
                    '[[policies]]\nname = "UCB"\n[[policies]]\nname = "Uniform"\n')
    config = load_config(path)
    with Background() as bg:
        there = run_experiment(config, tmp_path / "a", progress=False, background=bg)
        assert bg.started == ("fork" in mp.get_all_start_methods())
        saved = {w.relative_to(tmp_path / "a"): sorted(p.name for p in w.iterdir())
                 for _, _, w in there}
    here = run_experiment(config, tmp_path / "b", progress=False)
    assert saved == {w.relative_to(tmp_path / "b"): sorted(p.name for p in w.iterdir())
                     for _, _, w in here}
    for (_, ra, wa), (_, rb, wb) in zip(there, here, strict=True):
        a, b = load_results(wa), load_results(wb)
        assert a.regret.tobytes() == b.regret.tobytes() == rb.regret.tobytes()
        assert a.pulls.tobytes() == b.pulls.tobytes() == ra.pulls.tobytes()


@pytest.mark.parametrize("fresh", [True, False])
def test_a_fresh_install_starts_the_compile_ahead_helper_before_the_first_pair(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh: bool) -> None:
    """With ``compile_ahead=None``, the helper takes the pairs after the first from the start
    when the K-armed loop has no compiled version cached (every pair will compile), and only
    once a pair has compiled kernels otherwise (here none does: the kernels are loaded)."""
    from banditlab import cli
    from banditlab.config import load_config

    ran: list[str] = []                     # pairs run here so far
    started: list[tuple[int, int]] = []     # (first task of the helper, pairs run before)
    run_system = cli.run_system
    monkeypatch.setattr(cli, "has_cached_versions", lambda disp: not fresh)
    monkeypatch.setattr(cli, "run_system", lambda *a, **k: ran.append(a[0]) or run_system(*a, **k))
    monkeypatch.setattr(cli.CompileAhead, "start",
                        lambda self, first, skip=(): started.append((first, len(ran))))
    path = tmp_path / "exp.toml"
    path.write_text('horizon = 20\nn_seeds = 1\nseed = 4\n[[envs]]\n'
                    'id = "banditlab/BernoulliBandit-v0"\nkwargs = { means = [0.2, 0.7] }\n'
                    + "".join(f'[[policies]]\nname = "{name}"\n'
                              for name in ("UCB", "EXP3", "Uniform")))
    cli.run_experiment(load_config(path), tmp_path / "out", progress=False)
    assert len(ran) == 3
    assert started[:1] == ([(1, 0)] if fresh else [])
