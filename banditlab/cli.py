"""The ``banditlab`` command: run experiments from TOML files, list components, reproduce papers.

Usage::

    banditlab run CONFIG.toml [--out DIR] [--n-jobs N] [--engine auto|kernel|python]
                              [--seed S] [--no-progress]
    banditlab list
    banditlab warmup [SYSTEM ...] [--n-jobs N] [--no-progress]
    banditlab reproduce NAME [--full] [--out DIR] [--seed S] [--n-jobs N] [--data DIR]
    banditlab reproduce --list
    banditlab sweep CONFIG.toml --store DIR [--local N | --scheduler ADDRESS | --serial]
    banditlab sweep status DIR
    banditlab plot DIR [--by COORD ...] [--log]

``run`` crosses every ``[[policies]]`` with every ``[[envs]]`` of the file (schema:
:mod:`banditlab.config`) and writes under ``DIR`` (default ``results/<experiment name>``):

* ``config.toml``: a copy of the configuration;
* ``runs/<env>/<policy>/``: each pair's :class:`~banditlab.results.Results` (``Results.save``:
  Parquet tables plus ``meta.json``; read back with ``banditlab.load_results``);
* ``regret.png``: mean cumulative regret per env, linear and log-log, with 10-90% bands;
* ``summary.csv``: one row per pair (final regret mean, sem, median, engine, wall time).

It prints the same summary as a table. A ``run`` stopped by Ctrl-C keeps the pairs it saved
(and its seed, in ``DIR/.run-state.json``); the same command then resumes: saved pairs are read
back, the others run with the same seed, and the numbers equal those of an uninterrupted run.
A run that completed leaves no state file, so running it again starts afresh.

Exit status (:mod:`banditlab.cli_args`), always with one line on stderr and no traceback: 0 on
success; 1 for a failure of the environment (a full disk, an output directory that cannot be
written, a sweep store in use), ``error: ...`` naming the path and what to do; 2 for an invalid
configuration, a file asking for more than :mod:`banditlab.limits` allows or a bad command
line, ``config error: <field>: <reason>``; 130 after Ctrl-C, ``interrupted: ...``, which stops
within a few seconds (worker processes are killed) and keeps the finished work.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import gc
import hashlib
import importlib
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
from numba.core import event

if TYPE_CHECKING:
    import pandas as pd

from banditlab._jit import has_cached_versions
from banditlab.cli_args import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    n_jobs_arg,
    non_negative_int,
    os_error_line,
)
from banditlab.config import ExperimentConfig, Job, load_config
from banditlab.engine import run_karmed
from banditlab.errors import ConfigError, DataNotFoundError, StoreLockedError
from banditlab.parallel import Background, CompileAhead, ProgressBar
from banditlab.results import Results, load_results
from banditlab.runner import ENGINES
from banditlab.systems import metric_label, run_system

__all__ = ["main", "plot_experiment", "run_experiment", "summary_frame", "summary_rows"]

#: the seed and finished pairs of a run under way, beside its results (see resume)
RUN_STATE = ".run-state.json"


def _slug(text: str) -> str:
    """A file-system friendly version of a label."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "x"


# -- run ----------------------------------------------------------------------------------------
def _fingerprint(config: ExperimentConfig) -> str:
    """What the numbers of a run depend on, hashed: a resumed run must match it exactly."""
    from banditlab import __version__

    doc = {"version": __version__, "horizon": config.horizon, "n_runs": config.n_runs,
           "seed": config.seed, "checkpoints": np.asarray(config.checkpoints).tolist(),
           "engine": config.engine, "check_rewards": config.check_rewards,
           "envs": [[e.id, e.label, e.kwargs] for e in config.envs],
           "policies": [[p.name, p.label, p.kwargs] for p in config.policies]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=repr).encode()).hexdigest()


def _read_state(file: Path, key: str) -> int | None:
    """The seed recorded by an interrupted run of the same experiment, if any."""
    try:
        state = json.loads(file.read_bytes())
    except (OSError, ValueError):
        return None
    seed = state.get("seed") if isinstance(state, dict) and state.get("key") == key else None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        return None
    return seed


def _write_state(file: Path, key: str, seed: int) -> None:
    tmp = file.with_name(f"{file.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps({"key": key, "seed": seed}))
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def _kept(where: Path, job: Job, config: ExperimentConfig, seed: int) -> Results | None:
    """The saved result of a pair finished before an interruption, if it reads back whole."""
    try:
        res = load_results(where)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    same = (res.seed_entropy == seed and res.n_runs == config.n_runs
            and res.horizon == config.horizon and res.policy == job.policy.name)
    return res if same else None


def _where(root: Path, job: Job) -> Path:
    return (root / "runs" / f"{job.env_index:02d}_{_slug(job.env_label)}"
            / f"{job.policy_index:02d}_{_slug(job.policy_label)}")


def _warm_job(config: ExperimentConfig, k: int) -> None:
    """Job ``k`` on a tiny instance (16 rounds, 2 runs): compiles and caches its kernels."""
    job = config.jobs[k]
    run_system(job.policy, job.env, min(config.horizon, 16), n_runs=min(config.n_runs, 2),
               seed=0, engine=config.engine, n_jobs=1, progress=False,
               check_rewards=config.check_rewards)


def run_experiment(config: ExperimentConfig, out: str | Path, *, n_jobs: int | None = None,
                   progress: bool = True, log: TextIO | None = None, resume: bool = False,
                   compile_ahead: bool | None = None, background: Background | None = None
                   ) -> list[tuple[Job, Results, Path]]:
    """Run every job of ``config`` and save each ``Results`` under ``out/runs``.

    Parameters
    ----------
    config : ExperimentConfig
        From :func:`banditlab.config.load_config`.
    out : path
        Output directory (created).
    n_jobs : int, optional
        Worker processes per job (see :func:`banditlab.run_many`; every system runs through
        :func:`banditlab.systems.run_system`); results do not depend on it.
    progress : bool, default True
        Print one line per finished job to ``log`` and show one tqdm bar over all the runs of
        all the jobs (with rate and ETA) once the whole is expected to last more than 2 s.
    log : text stream, optional
        Where progress lines go (default ``sys.stderr``).
    resume : bool, default False
        Record the experiment's fingerprint and seed in ``out/.run-state.json`` while running
        (the file is deleted at the end), and continue a run of the same experiment that was
        interrupted: the pairs it saved are read back (when they load whole and match its
        seed, runs and horizon), the others run with its seed. The ``banditlab run`` command
        passes True.
    compile_ahead : bool or None, default None
        Compile the kernels of later pairs in a helper process while this one runs pairs
        (:class:`banditlab.parallel.CompileAhead`; where ``fork`` exists). ``None`` does so
        when at least two more pairs are to run and ``n_jobs`` is ``None`` or 1: from the
        start on a fresh install (the K-armed trajectory loop has no compiled version in the
        cache, so every pair will compile), else once the first pair run here has compiled
        kernels (a new policy). On two cores a cold quickstart took about 11 s instead of
        16 when the helper was added, and 14 s instead of 18 on a slower day when it began
        starting at once. ``True`` from the start (with three pairs or more); ``False``
        never. Results do not depend on it.
    background : banditlab.parallel.Background, optional
        Save each result through it (in its helper process, while the next pair runs)
        instead of here; this function still returns only once every result is saved. The
        ``banditlab run`` command passes one (and draws the figure in it too).

    Returns
    -------
    list of (Job, Results, Path)
        In job order (env-major), with the directory each result was saved in.
    """
    if not isinstance(config, ExperimentConfig):
        raise TypeError(f"run_experiment: 'config' must be an ExperimentConfig; got "
                        f"{type(config).__name__}.")
    stream = sys.stderr if log is None else log
    root = Path(out)
    state_file, key = root / RUN_STATE, _fingerprint(config)
    earlier = _read_state(state_file, key) if resume else None
    seed = config.seed if earlier is None else earlier
    if seed is None:
        seed = int(np.random.SeedSequence().entropy)
    if resume:
        root.mkdir(parents=True, exist_ok=True)
        _write_state(state_file, key, seed)
    n = len(config.jobs)
    kept = {k: _kept(_where(root, job), job, config, seed) if earlier is not None else None
            for k, job in enumerate(config.jobs)}
    todo = sum(res is None for res in kept.values())
    # one bar over every run of every pair (shown once the whole is expected to last > 2 s)
    bar = ProgressBar(todo * config.n_runs, desc=config.name, show=None if progress else False)
    ahead = CompileAhead(n, functools.partial(_warm_job, config))
    want_ahead = (compile_ahead is not False and todo > 2
                  and (compile_ahead or n_jobs in (None, 1)))
    if compile_ahead is None and want_ahead and not has_cached_versions(run_karmed):
        compile_ahead = True                 # a fresh install: every pair will compile
    finished: dict[int, tuple[Job, Results, Path]] = {}

    def run_job(k: int) -> bool:
        """Run (or keep) pair ``k``; whether it compiled kernels in this process."""
        job = config.jobs[k]
        where = _where(root, job)
        res = kept[k]
        compiled = False
        if res is None:
            watch = (event.install_recorder("numba:compile")
                     if want_ahead and not ahead.started else contextlib.nullcontext())
            with watch as rec:
                res = run_system(job.policy, job.env, config.horizon, n_runs=config.n_runs,
                                 seed=seed, engine=config.engine, checkpoints=config.checkpoints,
                                 n_jobs=n_jobs, progress=bar,
                                 check_rewards=config.check_rewards)
            compiled = rec is not None and len(rec.buffer) > 0
            if background is None:
                _save_result(res, where)
            else:
                background.submit(_save_result, res, where)
            how = f"{res.wall_time_s:.2f} s ({res.engine})"
        else:
            how = "kept from the interrupted run"
        finished[k] = (job, res, where)
        if progress:
            bar.write(f"[{k + 1}/{n}] {job.policy_label} on {job.env_label}: {how}", stream)
        return compiled

    try:
        todo_first = next((k for k in range(n) if kept[k] is None), n)
        done_before = [k for k in range(n) if kept[k] is not None]   # nothing to compile
        if want_ahead and todo_first < n and compile_ahead:
            ahead.start(todo_first + 1, skip=done_before)
        later = []
        for k in range(n):
            if not ahead.claim(k):
                later.append(k)                  # the helper compiles it: run it at the end
                continue
            compiled = run_job(k)
            if want_ahead and (compiled or compile_ahead) and not ahead.started and \
                    sum(kept[j] is None for j in range(k + 1, n)) >= 2:
                ahead.start(k + 1, skip=done_before)
        for k in later:
            ahead.wait(k)
            run_job(k)
        if background is not None:
            background.wait()
    except BaseException:
        if background is not None:
            with contextlib.suppress(Exception):   # keep the pairs finished before the error
                background.wait()
        raise
    finally:
        ahead.close()
        bar.close()
    done = [finished[k] for k in range(n)]
    if resume:
        state_file.unlink(missing_ok=True)
    return done


def _save_result(res: Results, where: Path) -> None:
    try:
        res.save(where)
    except OSError as exc:
        raise OSError(exc.errno, f"{exc.strerror or exc}; give the output a directory "
                      "that can be written, with free space, then run the same "
                      "command again (finished pairs are kept)") from exc


def summary_rows(done: Sequence[tuple[Job, Results, Path]], root: str | Path | None = None
                 ) -> list[dict[str, Any]]:
    """One row per job: statistics of the final metric (regret, or the system's own: see
    ``metric``), engine, wall time and results directory."""
    rows: list[dict[str, Any]] = []
    for job, res, where in done:
        final = res.final_regret()
        sem = float(final.std(ddof=1) / np.sqrt(res.n_runs)) if res.n_runs > 1 else 0.0
        rows.append({
            "policy": job.policy_label, "env": job.env_label, "metric": metric_label(res.protocol),
            "horizon": res.horizon,
            "runs": res.n_runs, "mean_regret": float(final.mean()), "sem": sem,
            "median_regret": float(np.median(final)), "engine": res.engine,
            "wall_s": float(res.wall_time_s), "seed": res.seed_entropy,
            "results_dir": str(where.relative_to(root)) if root is not None else str(where),
        })
    return rows


def summary_frame(done: Sequence[tuple[Job, Results, Path]], root: str | Path | None = None
                  ) -> pd.DataFrame:
    """:func:`summary_rows` as a pandas DataFrame (what ``summary.csv`` holds)."""
    import pandas as pd

    return pd.DataFrame(summary_rows(done, root))


def _write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """``rows`` as CSV with a header (the bytes pandas' ``to_csv(index=False)`` writes for
    them: floats by repr, minimal quoting), without importing pandas."""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _format_table(rows: list[dict[str, Any]]) -> str:
    # other systems' metrics (an objective, a suboptimality) get a column naming them
    named = any(row["metric"] != metric_label("KARMED") for row in rows)
    cells = [["policy", "env", *(["metric"] if named else []),
              "mean ± sem" if named else "mean regret ± sem", "engine", "wall time"]]
    for row in rows:
        mean, sem = float(row["mean_regret"]), float(row["sem"])
        # a deterministic policy's sem is rounding noise (e.g. 2e-13): show it as 0
        sem = 0.0 if sem <= 1e-9 * max(1.0, abs(mean)) else sem
        cells.append([str(row["policy"]), str(row["env"]),
                      *([str(row["metric"])] if named else []), f"{mean:.4g} ± {sem:.2g}",
                      str(row["engine"]), f"{float(row['wall_s']):.2f} s"])
    widths = [max(len(r[c]) for r in cells) for c in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_experiment(done: Sequence[tuple[Job, Results, Path]], path: str | Path) -> Path:
    """Save mean regret curves, one row per env: linear (left) and log-log (right) axes."""
    from matplotlib.figure import Figure

    from banditlab.plot import plot_regret

    envs: dict[str, list[tuple[Job, Results]]] = {}
    for job, res, _ in done:
        envs.setdefault(job.env_label, []).append((job, res))
    rows = len(envs)
    width, height = 12.0, 4.2 * rows
    # fixed margins in inches (room for tick labels, axis labels and titles) instead of
    # tight_layout, which draws the whole figure once more to measure it
    left, right, gap_x, top, bottom, gap_y = 0.75, 0.15, 0.75, 0.35, 0.55, 0.9
    axis_w = (width - left - right - gap_x) / 2
    axis_h = (height - top - bottom - gap_y * (rows - 1)) / rows
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=gap_x / axis_w, hspace=gap_y / axis_h)
    axes = fig.subplots(rows, 2, squeeze=False)
    for row, (label, items) in enumerate(envs.items()):
        results = [r for _, r in items]
        labels = [j.policy_label for j, _ in items]
        for col, log in enumerate((False, True)):
            ax = plot_regret(results, ax=axes[row, col], log=log, labels=labels)
            # y fixed at the top: automatic placement measures every tick label first
            ax.set_title(f"{label} ({'log-log' if log else 'linear'})", y=1.0)
    out = Path(path)
    fig.savefig(out, dpi=110)
    return out


def _import_output() -> None:
    """What saving results and drawing the figure import (a helper process does it early),
    and a small figure drawn once: the first text drawn loads the font and builds the
    mathtext parser (log-axis tick labels are mathtext), about 0.3-0.4 s that the figure
    after the last pair no longer waits for."""
    for name in ("pandas", "pyarrow.parquet", "matplotlib.figure", "banditlab.plot"):
        importlib.import_module(name)
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 2.0))
    ax = fig.subplots()
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot([1.0, 100.0], [1.0, 1000.0], label="a")
    ax.set_title("a")
    ax.legend()
    fig.savefig(io.BytesIO(), dpi=30, format="png")


def _cannot_write(path: Path, exc: OSError) -> OSError:
    return OSError(exc.errno, f"--out: cannot write {str(path)!r} ({exc.strerror or exc}); "
                              "give --out a directory that can be written, with free space")


def _cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args.config, engine=args.engine, seed=args.seed,
                         check_rewards=False if args.no_check_rewards else None)
    out = Path(args.out) if args.out is not None else Path("results") / _slug(config.name)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: must be a directory; {str(out)!r} is a file.")
    copy = out / "config.toml"
    src = Path(args.config)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(out, exc) from exc
    try:
        if not (copy.exists() and copy.samefile(src)):
            shutil.copyfile(src, copy)
    except OSError as exc:
        raise _cannot_write(copy, exc) from exc
    start = time.perf_counter()
    # results are saved and the figure drawn in a helper process while the runs go on
    with Background(prepare=_import_output) as background:
        try:
            done = run_experiment(config, out, n_jobs=args.n_jobs,
                                  progress=not args.no_progress, resume=True,
                                  background=background)
        except KeyboardInterrupt:
            print(f"interrupted: the finished pairs are kept under {out / 'runs'}; run the "
                  "same command again to resume.", file=sys.stderr)
            return EXIT_INTERRUPTED
        rows = summary_rows(done, out)
        try:
            _write_csv(rows, out / "summary.csv")
            background.submit(plot_experiment, done, out / "regret.png")
            background.wait()
        except OSError as exc:
            raise _cannot_write(out, exc) from exc
    seed = done[0][1].seed_entropy
    print(f"{config.name}: {len(config.policies)} policies x {len(config.envs)} envs, "
          f"horizon {config.horizon}, {config.n_runs} runs, seed {seed}")
    print(_format_table(rows))
    print(f"total {time.perf_counter() - start:.2f} s; wrote {out / 'summary.csv'}, "
          f"{out / 'regret.png'} and {len(done)} results under {out / 'runs'}")
    return EXIT_OK


# -- list ---------------------------------------------------------------------------------------
def _cmd_list(args: argparse.Namespace) -> int:
    from banditlab.registry import by_protocol, describe
    from banditlab.reproduce import list_reproductions
    from banditlab.systems import env_catalogue, system_for_family

    def section(title: str, rows: list[tuple[str, str]]) -> None:
        print(title)
        width = max((len(a) for a, _ in rows), default=0)
        for a, b in rows:
            print(f"  {a.ljust(width)}  {b}")

    catalogue = env_catalogue()
    section("Environments and problems ([[envs]] id = ...; the system that runs on each):",
            [(i, f"{spec.description} [{system_for_family(spec.family).name}]")
             for i, spec in catalogue.items()])
    print()
    print("Algorithms, by protocol ([[policies]] name = ...):")
    for protocol, members in by_protocol().items():
        print()
        section(f"{protocol.name}: {protocol.description}",
                [(n, describe(c)) for n, c in members.items()])
    print()
    section("Reproductions (banditlab reproduce NAME):",
            [(n, r.description) for n, r in list_reproductions().items()])
    return EXIT_OK


# -- warmup -------------------------------------------------------------------------------------
def _cmd_warmup(args: argparse.Namespace) -> int:
    from banditlab._warmup import SYSTEMS, warmup

    unknown = [name for name in args.systems if name not in SYSTEMS]
    if unknown:
        raise ConfigError(f"warmup: SYSTEM must be one of {', '.join(map(repr, SYSTEMS))}; "
                          f"got {unknown[0]!r}.")
    spent = warmup(*args.systems, progress=not args.no_progress, n_jobs=args.n_jobs)
    for name, seconds in spent.items():
        print(f"{name:12s} {seconds:7.1f} s")
    return EXIT_OK


# -- reproduce ----------------------------------------------------------------------------------
def _cmd_reproduce(args: argparse.Namespace) -> int:
    from banditlab.reproduce import get_reproduction, list_reproductions

    if args.list:
        reps = list_reproductions()
        width = max((len(n) for n in reps), default=0)
        for name, rep in reps.items():
            print(f"{name.ljust(width)}  {rep.description}")
        return EXIT_OK
    if args.name is None:
        print("error: reproduce: give a NAME or --list (see banditlab reproduce --list).",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        rep = get_reproduction(args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    extra: dict[str, str] = {}
    if args.data is not None:
        if not rep.datasets:
            print(f"error: reproduce: --data: {rep.name!r} reads no data files.",
                  file=sys.stderr)
            return EXIT_USAGE
        extra["data"] = args.data
    out = Path(args.out) if args.out is not None else Path("results") / rep.name
    mode = "full" if args.full else "quick"
    print(f"reproduce {rep.name} ({mode}, seed {args.seed}): {rep.description}")
    start = time.perf_counter()
    logger = logging.getLogger("banditlab.reproduce")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  [%(asctime)s] %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        paths = rep.run(out, full=args.full, seed=args.seed, n_jobs=args.n_jobs, **extra)
    finally:
        logger.removeHandler(handler)
    print(f"done in {time.perf_counter() - start:.1f} s; wrote {len(paths)} files under {out}:")
    for p in paths:
        print(f"  {p}")
    return EXIT_OK


# -- entry point --------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    from banditlab import __version__

    parser = argparse.ArgumentParser(
        prog="banditlab", description="Run bandit experiments, list components, reproduce "
        "papers.")
    parser.add_argument("--version", action="version", version=f"banditlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{run,list,reproduce,sweep,plot}")

    p_run = sub.add_parser("run", help="run the policies x envs of a TOML file",
                           description="Run every [[policies]] on every [[envs]] of CONFIG "
                           "(schema: python -c 'import banditlab.config; "
                           "help(banditlab.config)').")
    p_run.add_argument("config", help="experiment file (.toml)")
    p_run.add_argument("--out", help="output directory (default results/<experiment name>)")
    p_run.add_argument("--n-jobs", type=n_jobs_arg, default=None,
                       help="worker processes per pair: -1 all cores (default: automatic)")
    p_run.add_argument("--engine", choices=ENGINES, default=None,
                       help="override the file's engine")
    p_run.add_argument("--seed", type=non_negative_int, default=None,
                       help="override the file's seed")
    p_run.add_argument("--no-progress", action="store_true", help="no progress output")
    p_run.add_argument("--no-check-rewards", action="store_true",
                       help="run policies on envs whose rewards break their reward model "
                            "(overrides the file's check_rewards)")
    p_run.set_defaults(func=_cmd_run)

    p_list = sub.add_parser("list", help="list environments, policies and reproductions")
    p_list.set_defaults(func=_cmd_list)

    from banditlab._warmup import SYSTEMS

    p_warm = sub.add_parser("warmup", help="compile every kernel (or one system's) into the "
                                           "cache, once")
    p_warm.add_argument("systems", nargs="*", metavar="SYSTEM",
                        help=f"any of {', '.join(SYSTEMS)} (default: all)")
    p_warm.add_argument("--n-jobs", type=n_jobs_arg, default=1,
                        help="worker processes compiling systems at once (-1: one per core; "
                             "default 1: here, one system after the other)")
    p_warm.add_argument("--no-progress", action="store_true", help="no progress bar")
    p_warm.set_defaults(func=_cmd_warmup)

    p_rep = sub.add_parser("reproduce", help="run a paper reproduction")
    p_rep.add_argument("name", nargs="?", help="reproduction name (see --list)")
    p_rep.add_argument("--list", action="store_true", help="list the reproductions")
    p_rep.add_argument("--full", action="store_true", help="paper scale (default: quick)")
    p_rep.add_argument("--out", help="output directory (default results/<name>)")
    p_rep.add_argument("--seed", type=non_negative_int, default=0, help="root seed (default 0)")
    p_rep.add_argument("--n-jobs", type=n_jobs_arg, default=None,
                       help="worker processes: -1 all cores (default: automatic)")
    p_rep.add_argument("--data", metavar="DIR",
                       help="data folder, or the data set's own folder (default: "
                            "$BANDITLAB_DATA, then the per-user data folder; see "
                            "banditlab.data)")
    p_rep.set_defaults(func=_cmd_reproduce)

    from banditlab.sweep_cli import add_subcommands  # `sweep`, `sweep status DIR` and `plot`

    add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:   # argparse: --help / --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("banditlab: error: choose a command: run, list, warmup, reproduce, sweep or plot.",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DataNotFoundError, StoreLockedError) as exc:
        # one line: where it looked and how to provide the files / who holds the store
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # stdout was closed early (e.g. ``banditlab list | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:      # the environment: a full disk, a path that cannot be written
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def console_main() -> int:
    """The ``banditlab`` command and ``python -m banditlab``: :func:`main` on ``sys.argv``,
    then a quick end of the process. Once the command is done, the garbage collector is
    stopped and every object handed to the permanent generation, so interpreter shutdown
    does not walk them all (with numba, matplotlib and pandas loaded that walk took 0.5-0.7
    s of a 3.6 s warm quickstart); atexit handlers, buffered output and child processes are
    handled as usual. :func:`main` itself leaves the collector alone: it also runs inside
    other programs (and the tests)."""
    code = main()
    gc.disable()
    gc.freeze()
    return code
