"""One parallel map for the whole library: run independent tasks here or in worker processes.

:func:`parallel_map` calls ``fn(task)`` for every task of a list and returns the results in
task order. :func:`banditlab.run_many`, the local executor of :func:`banditlab.sweep.sweep` and
the reproductions all fan out through it, so ``n_jobs``, the progress bar and the handling of
errors and dead workers mean the same thing everywhere.

Parameters
----------
n_jobs : None, -1 or int >= 1
    How many processes may run tasks.

    * ``None`` (automatic): the first task runs in this process and is timed; if that time
      times the number of tasks exceeds :data:`PARALLEL_MIN_SECONDS` (about 2 s), the other
      tasks go to one worker process per available core (never more workers than tasks left),
      otherwise they run here too. The first task may carry one-off costs (Numba compiling
      or loading kernels, which forked workers then inherit), so the estimate errs towards
      processes. A caller that knows the cost better passes ``estimate_s`` (the total
      seconds of all tasks run one after the other) and no task is timed.
    * ``k >= 1``: at most ``k`` processes. ``1`` runs every task in this process, without a
      pool.
    * ``-1``: one worker process per available core.

    "Available cores" are the CPUs this process may run on (``os.sched_getaffinity`` where the
    platform has it, else ``os.cpu_count()``), see :func:`available_cpus`. Wrong values raise
    with the library's message template, e.g.
    ``run_many: 'n_jobs' must be None, -1 or an int in [1, inf); got 0.``
progress : None or bool
    ``True``/``False`` force the tqdm bar on or off. ``None`` shows it once the run is expected
    to last more than :data:`PROGRESS_MIN_SECONDS` (about 2 s) of wall time: when ``estimate_s``
    says so, or, without an estimate, as soon as the time per task measured after the first
    one (which may carry one-off costs such as Numba compilation) extrapolates past it, or the
    run has already lasted that long. ``tqdm.auto`` is imported only when a bar is shown.

Notes
-----
**Results do not depend on** ``n_jobs``. Each task carries its own seeds (e.g. a pair from
:func:`banditlab._seeding.spawn_run_seeds`); nothing here draws or sets a seed, and results are
stored by task index whatever the order in which tasks finish.

**Worker processes** are started with the ``fork`` method where the platform has it, so
functions, policies and envs defined in a notebook or a script's ``__main__`` work in workers
(:func:`mp_context`). ``fn`` reaches each worker once, as the pool's initializer argument
(inherited, not pickled, under ``fork``); tasks and results are pickled. Consecutive tasks are
sent in groups (``chunksize``; by default about four groups per worker) to save round trips,
and at most two groups per worker are queued at a time.

**Errors.** By default (``errors='raise'``) the first exception seen is raised again in the
caller with its original type (a worker's traceback is attached as its ``__cause__``); tasks not
yet started are cancelled and the call returns once the running ones end. With
``errors='capture'`` a task that raises gets a :class:`TaskFailure` (the exception and its
formatted traceback) in its place in the results, and the other tasks go on.

**Dead workers.** A worker that dies (killed, out of memory, ``os._exit``) breaks its pool
(``BrokenProcessPool``) and nothing tells which task killed it. Every task then in flight (sent
to the pool, result not yet received) counts one break; a new pool is started and those with
at most ``max_restarts`` breaks are run again; the others fail with ``BrokenProcessPool``
(raised, or recorded as a :class:`TaskFailure` under ``errors='capture'``). Results already
received are kept. With ``isolate=True`` no task runs in this process, so a task that kills its
process never takes the caller with it.

**Interrupts and a dead caller.** Worker processes ignore SIGINT: Ctrl-C in a terminal reaches
the whole process group, and only the caller handles it. When the caller gets
``KeyboardInterrupt`` (or any other ``BaseException`` that is not an ``Exception``) while
workers run, it kills them at once instead of waiting for their tasks, and the interrupt
propagates; results already handed to ``on_result`` stay handed. A worker also exits by
itself when its caller dies, even by SIGKILL: on Linux the kernel kills it
(``PR_SET_PDEATHSIG``), and everywhere a watchdog thread in the worker checks every
:data:`PARENT_POLL_SECONDS` that its parent process is still the caller, so no worker
outlives its caller by more than a few seconds (a worker whose task holds the GIL, such as a
long Numba kernel, notices when the task returns where the kernel signal is unavailable).

Examples
--------
A runner with one task per run (its ``(env_seed, agent_seed)`` pair), returning one tuple per
run, in run order::

    def _seeded_run(agent, env, n_episodes, engine, seeds):    # module level: picklable
        return _one_run(agent, env, n_episodes, seeds[0], seeds[1], engine)

    job = functools.partial(_seeded_run, copy.deepcopy(agent), copy.deepcopy(env),
                            n_episodes, engine)
    rows = parallel_map(job, seeds, n_jobs=n_jobs, progress=progress, desc=agent.name,
                        unit="run", owner="run_episodes")
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import math
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from banditlab._interrupt import install as install_interrupt_handler
from banditlab._validation import Boolean, Integer, Options, Real

__all__ = [
    "COMPILE_BESIDE_ENV",
    "PARALLEL_MIN_SECONDS",
    "PARENT_POLL_SECONDS",
    "PROGRESS_MIN_SECONDS",
    "CompileAhead",
    "CompileBeside",
    "NJobs",
    "ProgressBar",
    "TaskFailure",
    "available_cpus",
    "check_n_jobs",
    "check_progress",
    "mp_context",
    "parallel_map",
]

#: with ``n_jobs=None``, work estimated to take longer than this (seconds, one task after the
#: other) runs in worker processes
PARALLEL_MIN_SECONDS = 2.0
#: with ``progress=None``, a run expected to last longer than this (seconds) shows a bar
PROGRESS_MIN_SECONDS = 2.0
#: how often (seconds) a worker's watchdog thread checks that its caller is alive
PARENT_POLL_SECONDS = 1.0
#: exit status of a worker that found its caller gone
_ORPHAN_EXIT = 70
#: ``prctl`` option: the signal a Linux process receives when the thread that forked it ends
_PR_SET_PDEATHSIG = 1


# -- n_jobs -----------------------------------------------------------------------------------
class NJobs(Integer):
    """``None``, ``-1`` or an int in ``[1, inf)``: the library-wide ``n_jobs`` constraint."""

    def __init__(self) -> None:
        super().__init__(1, None)

    def describe(self) -> str:
        return "None, -1 or " + super().describe()

    def check(self, value: Any, name: str, owner: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value == -1:
            return -1
        return super().check(value, name, owner)

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        return [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError),
                ("2", TypeError)]


def check_n_jobs(n_jobs: Any, owner: str, name: str = "n_jobs") -> int | None:
    """Validate an ``n_jobs`` argument; returns ``None``, ``-1`` or an int >= 1."""
    return NJobs().check(n_jobs, name, owner)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def mp_context() -> Any:
    """The ``fork`` context where available (else the platform default, ``None``)."""
    # fork keeps user-defined envs and policies (e.g. from a notebook) usable in workers
    return mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None


# -- progress ---------------------------------------------------------------------------------
class ProgressBar:
    """A tqdm bar that is created only when it is shown.

    Parameters
    ----------
    total : int
        Units of work in all (including ``initial``).
    desc, unit : str
        Passed to tqdm.
    show : None or bool
        ``True``/``False``: always / never. ``None``: from ``estimate_s`` when given, else once
        the run is expected to last more than :data:`PROGRESS_MIN_SECONDS` (module docstring).
    initial : int
        Units already done before this run (a resumed sweep); they do not count in the rate.
    estimate_s : float, optional
        Expected duration of the run, in seconds.
    """

    def __init__(self, total: int, *, desc: str | None = None, unit: str = "run",
                 show: bool | None = None, initial: int = 0,
                 estimate_s: float | None = None) -> None:
        self.total, self.desc, self.unit = int(total), desc, unit
        self.n = self._initial = int(initial)
        self._start = time.perf_counter()
        self._first: tuple[float, int] | None = None   # (time, n) at the first update
        self._tqdm: Any = None
        self._watch = show is None and estimate_s is None
        if show or (show is None and estimate_s is not None
                    and estimate_s > PROGRESS_MIN_SECONDS):
            self._open()

    @property
    def shown(self) -> bool:
        """Whether the tqdm bar exists."""
        return self._tqdm is not None

    def _open(self) -> None:
        # tqdm.auto is imported here only: importing it (it pulls in asyncio) takes 0.1-0.3 s
        from tqdm.auto import tqdm

        self._tqdm = tqdm(total=self.total, initial=self.n, desc=self.desc, unit=self.unit)

    def expected_seconds(self) -> float:
        """Expected wall time of the whole run, from the progress made so far."""
        now = time.perf_counter()
        if self._first is None or self.n == self._first[1]:
            return now - self._start
        t1, n1 = self._first
        per_unit = (now - t1) / (self.n - n1)
        return (t1 - self._start) + per_unit * (self.total - n1)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        self.n += n
        if self._tqdm is not None:
            self._tqdm.update(n)
            return
        if self._first is None:
            self._first = (time.perf_counter(), self.n)
        self.poll()

    def poll(self) -> None:
        """Show the bar if the run is now expected to last long enough (``show=None``)."""
        if (self._watch and self._tqdm is None and self.n < self.total
                and self.expected_seconds() > PROGRESS_MIN_SECONDS):
            self._open()

    def poll_interval(self) -> float | None:
        """How long to wait before the next :meth:`poll` can change anything (None: never)."""
        if not self._watch or self._tqdm is not None:
            return None
        return max(0.05, PROGRESS_MIN_SECONDS - (time.perf_counter() - self._start))

    def write(self, line: str, file: Any = None) -> None:
        """Print ``line`` (to ``file``, default stderr) without breaking the bar."""
        if self._tqdm is not None:
            self._tqdm.write(line, file=file or sys.stderr)
        else:
            print(line, file=file or sys.stderr, flush=True)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()


def check_progress(progress: Any, owner: str) -> None:
    """Refuse a ``progress`` argument that is not None, a bool or a :class:`ProgressBar`."""
    if progress is not None and not isinstance(progress, (bool, ProgressBar)):
        raise TypeError(f"{owner}: 'progress' must be a bool, None or a ProgressBar; got "
                        f"{progress!r}.")


# -- errors -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskFailure:
    """The result of a task that raised, under ``errors='capture'``.

    Attributes
    ----------
    exception : BaseException
        The exception (a ``RuntimeError`` with the same text when the original cannot be sent
        back from a worker process).
    traceback : str
        The formatted traceback, from the process the task ran in.
    """

    exception: BaseException
    traceback: str

    @property
    def error(self) -> str:
        """``'TypeName: message'``."""
        return f"{type(self.exception).__name__}: {self.exception}"

    @classmethod
    def from_exception(cls, exc: BaseException) -> TaskFailure:
        return cls(exc, "".join(traceback.format_exception(exc)))


def _portable(failure: TaskFailure) -> TaskFailure:
    """``failure`` with an exception that survives pickling (to leave a worker)."""
    try:
        pickle.loads(pickle.dumps(failure.exception))
    except Exception:
        return TaskFailure(RuntimeError(failure.error), failure.traceback)
    return failure


# -- worker side ------------------------------------------------------------------------------
_worker_fn: Callable[[Any], Any] | None = None


def _watch_parent(parent: int, interval: float) -> None:
    """Exit this process as soon as its parent is no longer ``parent`` (the caller died)."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(_ORPHAN_EXIT)


def _exit_with_parent(parent: int) -> None:
    """Make this worker die with its caller ``parent``, even when the caller is SIGKILLed."""
    if sys.platform.startswith("linux"):
        # the kernel sends SIGKILL when the forking thread ends: immediate, even while a
        # task holds the GIL in compiled code
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL),
                                                    0, 0, 0)
    if os.getppid() != parent:      # the caller died before the line above took effect
        os._exit(_ORPHAN_EXIT)
    threading.Thread(target=_watch_parent, args=(parent, PARENT_POLL_SECONDS), daemon=True,
                     name="banditlab-parent-watch").start()


def _install(fn: Callable[[Any], Any], parent: int | None = None) -> None:
    """Pool initializer: the function every task of this pool runs, and the worker's hygiene
    (SIGINT ignored, exit when the caller ``parent`` dies; module docstring)."""
    global _worker_fn
    _worker_fn = fn
    # Ctrl-C reaches the whole process group; the caller stops the workers itself
    with contextlib.suppress(ValueError):       # not this interpreter's main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if parent is not None:
        _exit_with_parent(parent)


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Hold SIGINT back in this thread while it forks workers (they start with it blocked,
    so a Ctrl-C before their initializer runs cannot make them print a traceback)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _kill_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Kill the pool's worker processes now (their running tasks are abandoned)."""
    kill = getattr(pool, "kill_workers", None)        # Python >= 3.14
    if callable(kill):
        with contextlib.suppress(Exception):
            kill()
            return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()


def _run_group(tasks: list[Any], capture: bool) -> list[Any]:
    fn = _worker_fn
    if fn is None:
        raise RuntimeError("parallel_map: worker process started without a task function")
    if not capture:
        return [fn(t) for t in tasks]
    out = []
    for t in tasks:
        try:
            out.append(fn(t))
        except Exception as exc:
            out.append(_portable(TaskFailure.from_exception(exc)))
    return out


# -- the map ----------------------------------------------------------------------------------
def _plural(k: int) -> str:
    return "1 time" if k == 1 else f"{k} times"


def parallel_map(fn: Callable[[Any], Any], tasks: Iterable[Any], *, n_jobs: int | None = None,
                 progress: bool | None = None, desc: str | None = None, unit: str = "run",
                 on_result: Callable[[int, Any], None] | None = None, errors: str = "raise",
                 max_restarts: int = 0, chunksize: int | None = None,
                 estimate_s: float | None = None, isolate: bool = False, collect: bool = True,
                 owner: str = "parallel_map") -> list[Any]:
    """Return ``[fn(task) for task in tasks]``, computed here or in worker processes.

    Parameters
    ----------
    fn : callable
        One argument, a task. For worker processes it must be picklable unless the ``fork``
        start method is used (Linux); a ``functools.partial`` of a module-level function over
        the fixed arguments is the usual form.
    tasks : iterable
        Read into a list first. Each task carries everything its result depends on (seeds
        included); tasks and results must be picklable to go through worker processes.
    n_jobs : None, -1 or int >= 1, default None
        Processes, as in the module docstring (``None``: automatic from a time estimate).
    progress : None, bool or ProgressBar, default None
        The tqdm bar (module docstring); it advances as tasks finish. A :class:`ProgressBar`
        is advanced as is and left open: one bar over several calls (its ``total`` counts
        the tasks of all of them).
    desc, unit : str
        The bar's label and unit.
    on_result : callable, optional
        ``on_result(index, result)`` in this process as each result arrives (in task order
        when the tasks run here, in order of completion from workers); ``result`` is a
        :class:`TaskFailure` for a failed task under ``errors='capture'``.
    errors : {'raise', 'capture'}, default 'raise'
        Raise the first exception of a task, or record a :class:`TaskFailure` and go on.
    max_restarts : int, default 0
        How many times a task in flight when a worker died is run again (module docstring).
    chunksize : int, optional
        Tasks per submission to a worker; default: about four submissions per worker.
    estimate_s : float, optional
        Expected seconds of all tasks run one after the other; replaces the timing of the
        first task for ``n_jobs=None`` and decides the bar for ``progress=None``.
    isolate : bool, default False
        Run every task in a worker process, even with one worker; ``n_jobs=None`` then means
        one worker per core unless ``estimate_s`` is small.
    collect : bool, default True
        Keep the results and return them; ``False`` hands them to ``on_result`` only (long
        streams of large results) and returns an empty list.
    owner : str
        The name in error messages (the public function calling this one).

    Returns
    -------
    list
        The results in task order (empty when ``collect=False``).

    Raises
    ------
    Exception
        Under ``errors='raise'``, the first exception raised by a task, with its own type.
    concurrent.futures.process.BrokenProcessPool
        Under ``errors='raise'``, when a worker died with a task in flight more than
        ``max_restarts`` times.
    """
    if not callable(fn):
        raise TypeError(f"{owner}: 'fn' must be callable; got {type(fn).__name__}.")
    try:
        items = list(tasks)
    except TypeError:
        raise TypeError(f"{owner}: 'tasks' must be iterable; got {type(tasks).__name__}."
                        ) from None
    jobs = check_n_jobs(n_jobs, owner)
    check_progress(progress, owner)
    if on_result is not None and not callable(on_result):
        raise TypeError(f"{owner}: 'on_result' must be callable or None; got "
                        f"{type(on_result).__name__}.")
    capture = Options(("raise", "capture")).check(errors, "errors", owner) == "capture"
    max_restarts = int(Integer(0, None).check(max_restarts, "max_restarts", owner))
    chunksize = Integer(1, None, allow_none=True).check(chunksize, "chunksize", owner)
    estimate_s = Real(0.0, None, allow_none=True).check(estimate_s, "estimate_s", owner)
    isolate = Boolean().check(isolate, "isolate", owner)
    collect = Boolean().check(collect, "collect", owner)

    install_interrupt_handler()           # Ctrl-C in kernels run here: see banditlab._interrupt
    n = len(items)
    results: list[Any] = [None] * n if collect else []
    if n == 0:
        return results
    shared = isinstance(progress, ProgressBar)
    bar = progress if shared else ProgressBar(n, desc=desc, unit=unit, show=progress,
                                              estimate_s=estimate_s)

    def finish(i: int, result: Any) -> None:
        if collect:
            results[i] = result
        if on_result is not None:
            on_result(i, result)
        bar.update(1)

    def run_here(i: int) -> None:
        try:
            result = fn(items[i])
        except Exception as exc:
            if not capture:
                raise
            result = TaskFailure.from_exception(exc)
        finish(i, result)

    try:
        first = 0
        if jobs is None:
            if estimate_s is not None:
                want = available_cpus() if estimate_s > PARALLEL_MIN_SECONDS else 1
            elif isolate:
                want = available_cpus()
            else:
                start = time.perf_counter()
                run_here(0)
                first = 1
                elapsed = time.perf_counter() - start
                want = available_cpus() if elapsed * n > PARALLEL_MIN_SECONDS else 1
        else:
            want = available_cpus() if jobs == -1 else jobs
        left = n - first
        workers = min(want, left)
        if left == 0:
            pass
        elif workers <= 1 and not isolate:
            for i in range(first, n):
                run_here(i)
        else:
            size = chunksize or max(1, math.ceil(left / (4 * workers)))
            groups = [list(range(lo, min(lo + size, n))) for lo in range(first, n, size)]
            _run_pools(fn, items, groups, max(workers, 1), capture, max_restarts, finish, bar,
                       owner)
    finally:
        if not shared:
            bar.close()
    return results


def _run_pools(fn: Callable[[Any], Any], items: list[Any], groups: list[list[int]],
               workers: int, capture: bool, max_restarts: int,
               finish: Callable[[int, Any], None], bar: ProgressBar, owner: str) -> None:
    """Run the groups of task indices in worker processes, restarting broken pools."""
    pending = deque(range(len(groups)))      # group numbers not yet sent (or to be re-sent)
    breaks = [0] * len(groups)
    window = 2 * workers                     # groups sent and not finished, at most
    while pending:
        pool = cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                      mp_context=mp_context(), initializer=_install,
                                      initargs=(fn, os.getpid()))
        lost: list[int] = []
        broken = False
        started = False
        try:
            inflight: dict[cf.Future[list[Any]], int] = {}
            while pending or inflight:
                while pending and not broken and len(inflight) < window:
                    g = pending.popleft()
                    try:
                        # the first submission forks the workers
                        with _sigint_blocked() if not started else contextlib.nullcontext():
                            fut = pool.submit(_run_group, [items[i] for i in groups[g]],
                                              capture)
                        started = True
                    except BrokenProcessPool:
                        pending.appendleft(g)       # never sent: no break counted
                        broken = True
                        break
                    inflight[fut] = g
                if not inflight:
                    break
                done, _ = cf.wait(inflight, timeout=bar.poll_interval(),
                                  return_when=cf.FIRST_COMPLETED)
                for fut in sorted(done, key=inflight.__getitem__):
                    g = inflight.pop(fut)
                    try:
                        out = fut.result()
                    except BrokenProcessPool:
                        lost.append(g)
                        broken = True
                        continue
                    except Exception as exc:
                        if not capture:
                            raise
                        failure = TaskFailure.from_exception(exc)
                        out = [failure] * len(groups[g])
                    for i, result in zip(groups[g], out):
                        finish(i, result)
                bar.poll()
        except BaseException as exc:
            if not isinstance(exc, Exception):
                # KeyboardInterrupt, SystemExit: stop now rather than when the tasks end
                _kill_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        # a worker died: which group killed it is unknown, so every group in flight counts
        # one break; those still under the limit go back to the front of the queue
        retry = []
        for g in sorted(lost):
            breaks[g] += 1
            if breaks[g] <= max_restarts:
                retry.append(g)
                continue
            exc = BrokenProcessPool(f"a worker process died while this task was in flight "
                                    f"({_plural(breaks[g])})")
            if not capture:
                raise BrokenProcessPool(
                    f"{owner}: a worker process died while task {groups[g][0]} was in flight "
                    f"({_plural(breaks[g])}; max_restarts={max_restarts}).")
            failure = TaskFailure(exc, f"{type(exc).__name__}: {exc}\n")
            for i in groups[g]:
                finish(i, failure)
        pending.extendleft(reversed(retry))


# -- compiling ahead --------------------------------------------------------------------------
_FREE, _CALLER, _HELPER, _DONE, _FAILED = 0, 1, 2, 3, 4


def _quiet_helper(parent: int) -> None:
    """A compiling helper's hygiene: SIGINT ignored, dies with its caller ``parent``, and
    nothing it prints reaches the terminal."""
    _install(lambda task: None, parent)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def _take(state: Any, k: int) -> bool:
    """Mark item ``k`` of a shared ``state`` array as the helper's, unless the caller (or the
    helper) has it already."""
    with state.get_lock():
        if state[k] != _FREE:
            return False
        state[k] = _HELPER
        return True


def _stop(proc: Any) -> None:
    """Kill a compiling helper if it still runs (what it was compiling is abandoned: cache
    entries are written whole) and reap it."""
    with contextlib.suppress(Exception):
        if proc.is_alive():
            proc.kill()
        proc.join()


def _compile_ahead(state: Any, warm: Callable[[int], Any], parent: int) -> None:
    """The helper of :class:`CompileAhead`: ``warm(k)`` for each task still free, in order."""
    _quiet_helper(parent)
    for k in range(len(state)):
        if not _take(state, k):
            continue                               # the caller's
        try:
            warm(k)
        except BaseException:                      # the caller runs the task and reports it
            pass
        state[k] = _DONE


class CompileAhead:
    """Compile the kernels of the later tasks of a sequence in a helper process.

    For a caller that runs tasks one after the other, each compiling the kernels it reaches
    on first use (the policy x env pairs of an experiment file on a fresh install): a forked
    helper and the caller take the tasks in order, each the next one still free (the caller
    with :meth:`claim`); the helper runs ``warm(k)`` (task ``k`` on a tiny instance, which
    compiles and caches its kernels). The caller then runs the tasks the helper took, after
    :meth:`wait`, loading their kernels from the on-disk cache (safe between processes:
    :mod:`banditlab._jit`). The two cores compile at once; results never depend on it.

    The helper is forked (it starts with what the caller has imported and compiled), ignores
    Ctrl-C (the caller stops it in :meth:`close`), dies with its caller, and writes nothing to
    the terminal. Where ``fork`` does not exist, :meth:`start` does nothing and every claim
    succeeds.
    """

    def __init__(self, n_tasks: int, warm: Callable[[int], Any]) -> None:
        self.n_tasks = int(n_tasks)
        self._warm = warm
        self._state: Any = None
        self._proc: Any = None

    @property
    def started(self) -> bool:
        return self._proc is not None

    def start(self, first: int, skip: Iterable[int] = ()) -> None:
        """Start the helper on tasks ``first, ...`` but those in ``skip`` (the caller has
        them and the ones before ``first``)."""
        ctx = mp_context()
        if ctx is None or self._proc is not None or first >= self.n_tasks:
            return
        self._state = ctx.Array("b", self.n_tasks)
        for k in [*range(first), *skip]:
            self._state[k] = _CALLER
        with _sigint_blocked():
            self._proc = ctx.Process(target=_compile_ahead, name="banditlab-compile-ahead",
                                     args=(self._state, self._warm, os.getpid()), daemon=True)
            self._proc.start()

    def claim(self, k: int) -> bool:
        """Take task ``k`` for the caller; False when the helper has it."""
        if self._state is None:
            return True
        with self._state.get_lock():
            if self._state[k] != _FREE:
                return self._state[k] == _CALLER
            self._state[k] = _CALLER
            return True

    def wait(self, k: int) -> None:
        """Until the helper is done with task ``k`` (or has gone)."""
        if self._state is None:
            return
        while self._state[k] == _HELPER and self._proc.is_alive():
            time.sleep(0.005)

    def close(self) -> None:
        """Stop the helper (a task it is compiling is abandoned: the cache stays sound)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)


def _compile_beside(state: Any, items: list[tuple[Any, tuple]], parent: int) -> None:
    """The helper of :class:`CompileBeside`: compile each item the caller has not taken."""
    _quiet_helper(parent)
    for k, (disp, argtypes) in enumerate(items):
        if not _take(state, k):
            continue                               # the caller's
        try:
            disp.compile(argtypes)                 # saved to the on-disk cache
        except BaseException:                      # the caller compiles it and reports it
            state[k] = _FAILED
        else:
            state[k] = _DONE


#: ``BANDITLAB_COMPILE_BESIDE=0`` turns :class:`CompileBeside` off (every kernel is then
#: compiled by the process that needs it, one after the other)
COMPILE_BESIDE_ENV = "BANDITLAB_COMPILE_BESIDE"


class CompileBeside:
    """Compile some kernels of a call in a helper process while the caller goes on.

    The first call of an entry point on a fresh install compiles its kernels one after the
    other, although some do not depend on each other: a solver's set-up kernel and its
    iteration loop, say, the loop being typed only when the set-up has run. Given the
    calls the caller will make later, as ``(dispatcher, arguments)`` pairs (arguments of the
    types the call will have; for a kernel's callee form, :func:`banditlab._jit.callee_of`,
    a call from another kernel), a forked helper compiles those versions into the on-disk
    cache while the caller compiles and runs the rest; when the caller reaches one of them,
    it loads the helper's version, waiting for the helper to finish it if it is still
    compiling it (a cache miss consults :func:`banditlab._jit.set_miss_hook`), so nothing is
    compiled twice. A version the helper has not begun when the caller needs it is compiled
    by the caller.

    Nothing starts when every version is already in memory or in the on-disk cache (a warm
    call costs a look at the cache index), when ``fork`` does not exist, when fewer than two
    cores are available, in a process that is itself a worker or helper, where the kernels
    have no on-disk cache, or when the environment variable ``BANDITLAB_COMPILE_BESIDE`` is
    ``0``. Results never depend on it: the helper only compiles.

    Use as a context manager around the part of the call that needs the versions; leaving it
    stops a helper that is still compiling (the cache stays sound: entries are written
    whole).
    """

    def __init__(self, items: Iterable[tuple[Any, tuple[Any, ...]]]) -> None:
        from banditlab import _jit

        #: every version named, compiled or not (what the call is expected to use); none
        #: where the kernels have no on-disk cache (NUMBA_DISABLE_JIT, no writable place)
        self._predicted = [(disp, _jit.argument_types(disp, args)) for disp, args in items
                           if _jit.cache_role(disp) is not None]
        self._items = [(disp, argtypes) for disp, argtypes in self._predicted
                       if not _jit.is_compiled(disp, argtypes)]
        self._keys = {(disp.py_func, _jit.cache_role(disp), argtypes): k
                      for k, (disp, argtypes) in enumerate(self._items)}
        self._state: Any = None
        self._proc: Any = None
        self._outer: Callable[[Any, str, tuple], bool] | None = None
        self._owner = -1

    @property
    def started(self) -> bool:
        return self._proc is not None

    def start(self) -> CompileBeside:
        ctx = mp_context()
        if (not self._items or ctx is None or self._proc is not None
                or os.environ.get(COMPILE_BESIDE_ENV, "1") == "0"
                or available_cpus() < 2 or mp.parent_process() is not None):
            return self
        from banditlab import _jit

        self._owner = os.getpid()
        self._state = ctx.Array("b", len(self._items))
        with _sigint_blocked():
            self._proc = ctx.Process(target=_compile_beside, name="banditlab-compile-beside",
                                     args=(self._state, self._items, os.getpid()),
                                     daemon=True)
            self._proc.start()
        self._outer = _jit.miss_hook()           # one started inside another's scope
        _jit.set_miss_hook(self._on_miss)
        return self

    def _on_miss(self, py_func: Any, role: str, argtypes: tuple) -> bool:
        """A cache miss here: False to compile it here (taken from the helper if it has not
        begun it), True once the helper has saved it."""
        if os.getpid() != self._owner:
            return False       # a process forked from the caller (a pool worker): on its own
        k = self._keys.get((py_func, role, argtypes))
        if k is None or self._state is None:
            return self._outer is not None and self._outer(py_func, role, argtypes)
        with self._state.get_lock():
            if self._state[k] == _FREE:
                self._state[k] = _CALLER
                return False
        while self._state[k] == _HELPER and self._proc.is_alive():
            time.sleep(0.002)
        return self._state[k] == _DONE

    def close(self) -> None:
        """Stop the helper (a version it is compiling is abandoned)."""
        from banditlab import _jit

        proc, self._proc = self._proc, None
        if proc is None:
            return
        _jit.set_miss_hook(self._outer)
        _stop(proc)

    def __enter__(self) -> CompileBeside:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- writing in the background ----------------------------------------------------------------
def _background(conn: Any, prepare: Callable[[], Any] | None, parent: int) -> None:
    """The helper of :class:`Background`: ``fn(*args)`` for each call received, in order."""
    _install(lambda task: None, parent)            # SIGINT ignored, dies with its caller
    if prepare is not None:
        with contextlib.suppress(Exception):       # a failed import shows in the call needing it
            prepare()
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:                           # the caller closes
            return
        fn, args = item
        try:
            fn(*args)
            reply: TaskFailure | None = None
        except Exception as exc:
            reply = _portable(TaskFailure.from_exception(exc))
        conn.send(reply)


class Background:
    """Run calls one after another in a forked helper process while the caller goes on.

    For output the caller must produce but need not wait for: saving results and drawing a
    figure while later runs compute (``banditlab run`` does so). :meth:`submit` sends
    ``fn`` and its arguments (pickled) to the helper, which runs the calls in the order
    submitted; :meth:`wait` returns once all have run. Each call runs whatever became of
    the ones before it; the first exception is raised again in the caller (with its original
    type where it can be pickled, else as a ``RuntimeError`` with its text) by the next
    :meth:`submit` or :meth:`wait`.

    ``prepare()`` runs first in the helper, while the caller works (imports the calls will
    need, say); its errors are ignored (a missing module then fails the call that uses it).
    The helper ignores Ctrl-C, so calls already submitted still run when the caller is
    interrupted and calls :meth:`wait`; it dies with its caller. A helper that dies (killed,
    out of memory) fails the call it was running, with a ``RuntimeError`` naming it, and the
    calls queued behind it run in the caller instead, as do later ones. Where ``fork`` does
    not exist, or before :meth:`start`, each call runs in the caller, inside :meth:`submit`.
    Use as a context manager (``with Background(...) as bg:``), which starts the helper and
    stops it at the end, calls not yet run included.
    """

    def __init__(self, prepare: Callable[[], Any] | None = None) -> None:
        self._prepare = prepare
        self._conn: Any = None
        self._proc: Any = None
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()  # unanswered
        self._failure: TaskFailure | None = None

    @property
    def started(self) -> bool:
        return self._proc is not None

    def start(self) -> Background:
        """Fork the helper (nothing where ``fork`` does not exist, or when started)."""
        ctx = mp_context()
        if ctx is None or self._proc is not None:
            return self
        here, there = ctx.Pipe()
        with _sigint_blocked():
            self._proc = ctx.Process(target=_background, name="banditlab-background",
                                     args=(there, self._prepare, os.getpid()), daemon=True)
            self._proc.start()
        there.close()
        self._conn = here
        return self

    def _receive(self, block: bool) -> None:
        while self._queue and (block or self._conn.poll()):
            try:
                reply = self._conn.recv()
            except (EOFError, OSError):
                self._helper_died()
                return
            self._queue.popleft()
            if isinstance(reply, TaskFailure) and self._failure is None:
                self._failure = reply

    def _drop_helper(self) -> int | None:
        """Forget a helper that has gone; its exit code."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        with contextlib.suppress(Exception):
            conn.close()
            proc.join(timeout=5)
        return proc.exitcode if proc is not None else None

    def _helper_died(self) -> None:
        """The helper is gone: fail the call it had not finished, run the queued ones here."""
        code = self._drop_helper()
        fn, _ = self._queue.popleft()
        lost = TaskFailure(RuntimeError(
            f"Background: the helper process died (exit code {code}) before finishing "
            f"{getattr(fn, '__qualname__', fn)!r}; the calls after it ran in this process"), "")
        self._failure = self._failure or lost
        while self._queue:
            fn, args = self._queue.popleft()
            try:
                fn(*args)
            except Exception as exc:
                self._failure = self._failure or TaskFailure.from_exception(exc)

    def _raise(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure.exception

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in the helper, after the calls submitted before."""
        if self._conn is not None:
            self._receive(block=False)      # also keeps the replies from piling up
        self._raise()
        if self._conn is None:
            fn(*args)
            return
        try:
            self._conn.send((fn, args))
        except OSError:                      # the helper has gone: this call runs here
            self._receive(block=True)        # its last replies, then the calls it left
            if self._conn is not None:
                self._drop_helper()          # it died idle
            self._raise()
            fn(*args)
            return
        self._queue.append((fn, args))

    def wait(self) -> None:
        """Until every call submitted has run; raises the first call's exception."""
        if self._conn is not None:
            self._receive(block=True)
        self._raise()

    def close(self) -> None:
        """Stop the helper (calls not yet run are dropped)."""
        conn, proc, busy = self._conn, self._proc, bool(self._queue)
        self._conn = self._proc = None
        self._queue.clear()
        if proc is None:
            return
        with contextlib.suppress(Exception):
            if not busy:
                conn.send(None)                  # idle: let it end by itself
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()                      # a save it abandons is atomic: no half file
            proc.join()
            conn.close()

    def __enter__(self) -> Background:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
