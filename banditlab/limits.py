"""Limits on the work one experiment file may ask for, checked before anything runs.

``banditlab run`` (:func:`banditlab.config.parse_config`) and ``banditlab sweep``
(:func:`banditlab.sweep.normalize_grid` and :func:`banditlab.sweep.sweep`) estimate the work a
file asks for from its sizes, before the first run, and refuse a request beyond these limits
with a :class:`~banditlab.errors.ConfigError` that gives the estimate and names the fields to
lower (the command line exits with status 2). The limits are module attributes read at every
check, so a user with a larger machine may raise them (``banditlab.limits.MAX_STEPS = 10**14``).

:data:`MAX_CELLS` (10,000)
    ``run``: (policy, env) pairs; ``sweep``: cells of the grid (policies x parameter values x
    envs x keyword values x horizons). The driver builds and checks every one before the first
    run (about 0.5 ms each), and every ``run`` pair writes a result directory of its own.
:data:`MAX_TASKS` (1,000,000)
    Tasks of one sweep (cells x ``n_seeds``): the manifest lists every task id, and the driver
    derives the seeds of every task before the first one runs (about 20 us each).
:data:`MAX_STEPS` (10**13)
    Rounds in all: runs x horizon, summed over the pairs or cells. The kernel engine plays
    about 4e6 to 4e7 rounds per second on one core depending on the policy, the Python engine
    about 5e4, so 10**13 rounds keep even a 64-core machine busy for hours to days.
:data:`MAX_CHECKPOINTS` (10**6)
    Evenly spaced checkpoints of one run (``checkpoints = N``), more than any plot shows: every
    run keeps a float per checkpoint, a sweep store a row (with the pulls of every arm) per
    checkpoint and task, and computing 10**6 checkpoints takes about a second.
:data:`MAX_LINSPACE` (10**6)
    Points of one ``{ linspace = [start, stop, num] }`` array of a ``run`` file.
:data:`MAX_DEPTH` (32)
    Arrays and tables nested in one value (parsers and encoders recurse once per level).

Memory and disk are measured when the check runs. The results a ``run`` holds at once (the
regret at every checkpoint and the pulls of every arm, 8 bytes each, for every run of every
pair) and one sweep batch while its shard is written (three copies) may use at most
``MEMORY_FRACTION`` (half) of the memory available now (``MemAvailable`` of ``/proc/meminfo``,
else the physical memory; see :func:`banditlab._validation.available_memory`). A sweep store
must fit the free space of its filesystem; a store that would not is refused with
``OSError`` (``ENOSPC``, exit status 1) before the first task runs.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = [
    "MAX_CELLS",
    "MAX_CHECKPOINTS",
    "MAX_DEPTH",
    "MAX_LINSPACE",
    "MAX_STEPS",
    "MAX_TASKS",
    "clip",
    "count",
    "format_path",
    "gib",
    "short_repr",
    "too_deep",
]

#: (policy, env) pairs of a ``run`` file, cells of a sweep grid
MAX_CELLS = 10_000
#: tasks (cells x n_seeds) of one sweep
MAX_TASKS = 1_000_000
#: rounds in all (runs x horizon over every pair or cell)
MAX_STEPS = 10**13
#: evenly spaced checkpoints of one run
MAX_CHECKPOINTS = 10**6
#: points of one ``linspace`` array
MAX_LINSPACE = 10**6
#: levels of arrays and tables nested in one value
MAX_DEPTH = 32


def count(n: int | float) -> str:
    """``n`` for a message: digits with separators, or 3 significant digits when huge."""
    return f"{int(n):,}" if n < 10**12 else f"{float(n):.3g}"


def clip(text: str, width: int = 300) -> str:
    """``text`` on one line, cut to ``width`` characters (a parser's message may quote a whole
    key path)."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def short_repr(value: Any, width: int = 80) -> str:
    """``repr(value)`` for a message: its lines joined by one space (indentation dropped, so an
    array's repr keeps its first row as printed), cut to ``width`` characters. Long lists,
    dicts and strings are abbreviated before they are printed (:mod:`reprlib`), so a huge
    value costs no more than a short one."""
    short = reprlib.Repr()
    short.maxlist = short.maxtuple = short.maxset = short.maxdict = 20
    short.maxstring = short.maxlong = width
    short.maxother = 10**6          # other objects (arrays): their own repr, cut below
    text = " ".join(line.strip() for line in short.repr(value).splitlines())
    return text if len(text) <= width else text[:width - 3] + "..."


def gib(n_bytes: float) -> str:
    """Bytes as GiB for a message."""
    return f"{n_bytes / 2**30:.3g} GiB"


def too_deep(value: Any, limit: int) -> list[Any] | None:
    """The key path (keys and indices) of a list or dict nested ``limit`` levels below
    ``value``, or None. Iterative: safe on values nested far deeper than Python recurses."""
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            children: Any = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if len(path) >= limit:
            return path
        stack.extend((child, [*path, key]) for key, child in children)
    return None


def format_path(path: list[Any], shown: int = 3) -> str:
    """``['envs', 0, 'kwargs', 'means']`` -> ``envs[0].kwargs...``; only the first ``shown`` keys,
    then ``...``."""
    out = ""
    for key in path[:shown]:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out + ("..." if len(path) > shown else "")
