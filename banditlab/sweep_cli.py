"""Command line of sweeps: ``banditlab sweep`` and ``banditlab plot``.

Usage::

    banditlab sweep CONFIG.toml --store DIR [--scheduler ADDRESS | --local N | --serial]
                                [--batch-size N] [--extend] [--no-retry] [--no-progress]
    banditlab sweep status DIR
    banditlab plot DIR [--by COORD [COORD ...]] [--out FILE] [--log]

``sweep`` runs the grid of ``CONFIG.toml`` (schema: :mod:`banditlab.sweep`) into the store
``DIR``, skipping finished tasks; ``--scheduler`` runs it on a Dask cluster (the
``distributed`` extra), ``--local N`` on N local processes (default: one per core).
``sweep status`` prints the done, failed and pending counts of a store. ``plot`` draws the
mean regret curves of a store, one panel per env, one curve per value of the ``--by`` grid
coordinates (columns of :func:`banditlab.store.load_store`: ``label``, ``policy``,
``horizon``, ``policy.<param>``, ``env.<kwarg>``), by default into ``DIR/regret.png``; a
coordinate that varies within a curve is an error (see :func:`banditlab.store.plot_store`).

Exit status (:mod:`banditlab.cli_args`): 0 on success; 1 when tasks failed (their tracebacks
are in ``DIR/failed``) or the environment failed: a store that cannot be written (a full disk,
an unwritable directory) or that another driver is using, with one ``error: ...`` line on
stderr naming the path and what to do; 2 for an invalid configuration, a grid beyond
:mod:`banditlab.limits` or a bad command line, with one ``config error: ...`` line; 130 after
Ctrl-C, with one ``interrupted: ...`` line: the finished tasks are in the store, and the same
command resumes.

:func:`add_subcommands` adds these commands to the ``banditlab`` parser and :func:`handle`
runs them; ``python -m banditlab.sweep_cli`` runs them on their own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from banditlab.cli_args import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, os_error_line
from banditlab.cli_args import positive_int as _positive_int
from banditlab.errors import ConfigError, StoreLockedError

__all__ = ["add_subcommands", "handle", "main"]


def add_subcommands(subparsers: Any) -> None:
    """Add ``sweep`` (with ``sweep status DIR``) and ``plot`` to an argparse subparsers object.

    Both set ``func=handle`` in the parsed namespace.
    """
    p = subparsers.add_parser(
        "sweep", help="run a grid of experiments into a resumable store",
        description="Run the grid of CONFIG.toml into the store DIR (finished tasks are "
        "skipped, failed ones retried), or `sweep status DIR` for the counts of a store. "
        "Grid schema: python -c 'import banditlab.sweep; help(banditlab.sweep)'.")
    p.add_argument("target", metavar="CONFIG.toml | status",
                   help="grid file, or the word 'status'")
    p.add_argument("status_dir", nargs="?", metavar="DIR",
                   help="with 'status': the store directory")
    p.add_argument("--store", metavar="DIR", help="store directory (created if needed)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="Dask scheduler address, e.g. tcp://host:8786 (distributed extra)")
    where.add_argument("--local", metavar="N", type=_positive_int,
                       help="N local worker processes (default: one per core)")
    where.add_argument("--serial", action="store_true", help="run in this process")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="tasks per submission and per shard (default: automatic)")
    p.add_argument("--extend", action="store_true",
                   help="accept a grid that differs from the store's (same seed)")
    p.add_argument("--no-retry", action="store_true", help="do not rerun failed tasks")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=handle, sweep_command="sweep")

    q = subparsers.add_parser(
        "plot", help="plot the regret curves of a sweep store",
        description="Mean cumulative regret per group of a sweep store, grouped by grid "
        "coordinates (label, policy, env, horizon, policy.<param>, env.<kwarg>).")
    q.add_argument("store", metavar="DIR", help="sweep store directory")
    q.add_argument("--by", nargs="+", default=["label"], metavar="COORD",
                   help="grouping coordinate(s) (default: label)")
    q.add_argument("--out", metavar="FILE", help="image file (default DIR/regret.png)")
    q.add_argument("--log", action="store_true", help="log-log axes")
    q.set_defaults(func=handle, sweep_command="plot")


def _client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler: needs the 'distributed' extra "
                          "(pip install 'banditlab[distributed]').") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"--scheduler: cannot connect to {address!r} ({exc}).") from None


def _cmd_status(args: argparse.Namespace) -> int:
    from banditlab.store import load_failures, store_status

    if args.status_dir is None:
        raise ConfigError("sweep status: give the store directory: banditlab sweep status DIR.")
    counts = store_status(args.status_dir)
    print(f"store:   {args.status_dir}")
    for key in ("total", "done", "failed", "pending"):
        print(f"{key + ':':8} {counts[key]}")
    if counts["corrupt"]:
        print(f"corrupt: {counts['corrupt']} file(s), their tasks count as pending")
    if counts["extra"]:
        print(f"extra:   {counts['extra']} finished task(s) outside the current grid")
    if counts["failed"]:
        fails = load_failures(args.status_dir)
        first = fails.iloc[0]
        print(f"first failure: task {first['task_id']} ({first['policy']} on {first['env']}): "
              f"{first['error']}")
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    from banditlab.sweep import sweep

    if args.target == "status":
        return _cmd_status(args)
    if args.status_dir is not None:
        raise ConfigError(f"sweep: unexpected argument {args.status_dir!r} (use --store DIR).")
    if args.store is None:
        raise ConfigError("sweep: --store DIR is required.")
    client = None
    executor: Any
    if args.scheduler is not None:
        client = _client(args.scheduler)
        executor = client
    elif args.serial:
        executor = "serial"
    else:
        executor = args.local
    try:
        summary = sweep(args.target, store=args.store, executor=executor,
                        batch_size=args.batch_size or "auto", extend=args.extend,
                        retry_failed=not args.no_retry, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"interrupted: the finished tasks are kept in the store {args.store}; run the "
              "same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if client is not None:
            client.close()
    print(f"{summary.done}/{summary.total} done, {summary.failed} failed, {summary.pending} "
          f"pending (ran {summary.ran}, skipped {summary.skipped}) in "
          f"{summary.wall_time_s:.1f} s; store {args.store}")
    return EXIT_FAILED if summary.failed else EXIT_OK


def _cmd_plot(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from banditlab.store import plot_store, read_manifest

    read_manifest(args.store, owner="plot")
    try:
        fig = plot_store(args.store, by=args.by, log=args.log)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    out = Path(args.out) if args.out else Path(args.store) / "regret.png"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(out)
    return EXIT_OK


def handle(args: argparse.Namespace) -> int:
    """Run a parsed ``sweep``/``plot`` command; return the exit status.

    A :class:`~banditlab.errors.ConfigError` becomes one ``config error: ...`` line on stderr
    and exit status 2; a store in use by another driver or an ``OSError`` (a full disk, a
    directory that cannot be written) one ``error: ...`` line and exit status 1; Ctrl-C one
    ``interrupted`` line and exit status 130. No traceback.
    """
    try:
        if args.sweep_command == "plot":
            return _cmd_plot(args)
        return _cmd_sweep(args)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        raise                   # stdout closed early: the caller's business (banditlab.cli)
    except OSError as exc:
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m banditlab.sweep_cli sweep ... | plot ...``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="banditlab", description="Sweeps and their plots.")
    sub = parser.add_subparsers(dest="command", metavar="{sweep,plot}")
    add_subcommands(sub)
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        return EXIT_USAGE
    return handle(args)


if __name__ == "__main__":
    sys.exit(main())
