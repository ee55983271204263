"""Compare the cold first call of one script between two source trees, in CPU seconds.

``bench_cold.py`` reports wall-clock seconds, which on a shared machine move by more than many
compile-time changes between one hour and the next. This driver runs a script in fresh
processes, each with its own empty ``NUMBA_CACHE_DIR`` (everything the script reaches is
compiled), alternating the trees given (each put first on ``PYTHONPATH``), and reports the CPU
seconds (user + system) every process used: compilation is CPU-bound and single-threaded, so
CPU time is steadier than wall time when the machine is shared.

Run: ``python benchmarks/cold_ab.py TARGET --trees OLD NEW [--repeats 3]``; for example with
``OLD`` a ``git worktree`` of the commit before a change and ``NEW`` this checkout. ``TARGET``
is an entry point of ``bench_cold.py`` (``run_many``, ``streaming``, ``cascading``,
``sor_tuning``, ``bcd_lasso``, ``bcd_ls_gsl_matrix``, ``quickstart``) or a Python file.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_cold import _CHILD, ENTRY_POINTS  # beside this script (run as a script)


def _command(target: str, tree: str, out: str) -> list[str]:
    if target == "quickstart":
        return [sys.executable, "-m", "banditlab", "run",
                str(Path(tree, "examples", "quickstart.toml").resolve()), "--out", out,
                "--no-progress"]
    if target in ENTRY_POINTS:
        _, setup, call = ENTRY_POINTS[target]
        return [sys.executable, "-c", _CHILD.format(setup=setup, call=call)]
    return [sys.executable, os.path.abspath(target)]


def _cpu_seconds(target: str, tree: str) -> float:
    cache = tempfile.mkdtemp(prefix="banditlab-cold-")
    out = tempfile.mkdtemp(prefix="banditlab-out-")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env.update(NUMBA_CACHE_DIR=cache, PYTHONPATH=os.path.abspath(tree), MPLBACKEND="Agg")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        subprocess.run(_command(target, tree, out), cwd=out, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="entry point of bench_cold.py, or a Python file")
    parser.add_argument("--trees", nargs="+", required=True, help="source trees to compare")
    parser.add_argument("--repeats", type=int, default=3, help="processes per tree")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1; got {args.repeats}")
    if args.target not in ENTRY_POINTS and not os.path.isfile(args.target):
        parser.error(f"target must be one of {sorted(ENTRY_POINTS)} or a file; "
                     f"got {args.target!r}")
    times: dict[str, list[float]] = {tree: [] for tree in args.trees}
    for _ in range(args.repeats):
        for tree in args.trees:                    # alternated: load drifts hit both alike
            times[tree].append(_cpu_seconds(args.target, tree))
    for tree, ts in times.items():
        print(f"{tree}: CPU s {' '.join(f'{t:.2f}' for t in ts)}  "
              f"median {statistics.median(ts):.2f}")


if __name__ == "__main__":
    main()
