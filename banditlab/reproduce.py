"""Registry of paper reproductions, discovered from :mod:`banditlab.reproductions`.

Each module ``banditlab/reproductions/<name>.py`` defines a module-level ``REPRODUCTION``
(:class:`Reproduction`). Adding a reproduction is adding one file; nothing else is edited.
A reproduction runs quickly by default and at paper scale with ``full=True``; it writes its
tables (CSV and Parquet) and plots (PNG) under ``out`` and returns the paths it wrote.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Reproduction", "get_reproduction", "list_reproductions", "stage"]

#: Progress of long reproductions goes here (``banditlab reproduce`` shows it on stderr).
LOGGER = logging.getLogger("banditlab.reproduce")


@contextmanager
def stage(label: str) -> Iterator[None]:
    """Log ``label`` when a unit of a reproduction starts and its wall time when it ends.

    Library callers see nothing unless they configure logging; the CLI prints these lines, so
    a ``--full`` run that takes half an hour says where it is.
    """
    LOGGER.info("%s ...", label)
    start = time.perf_counter()
    yield
    LOGGER.info("%s: %.1f s", label, time.perf_counter() - start)


@dataclass(frozen=True)
class Reproduction:
    """A paper reproduction.

    Attributes
    ----------
    name : str
        CLI name, e.g. ``'streaming-mab'``.
    description : str
        One line: paper and what is reproduced.
    run : callable
        ``run(out: Path, *, full: bool, seed: int, n_jobs: int | None) -> list[Path]``; a
        reproduction that reads data files also takes ``data`` (a folder or None, see
        :func:`banditlab.data.find_dataset`; ``banditlab reproduce NAME --data DIR``).
    quick_budget_s : float
        Wall-time budget of the quick mode on 2 cores (documented, checked by its test).
    datasets : tuple of str
        Keys of :data:`banditlab.data.DATASETS` it reads (empty: it reads no files and its
        ``run`` takes no ``data``).
    """

    name: str
    description: str
    run: Callable[..., list[Path]]
    quick_budget_s: float = 180.0
    datasets: tuple[str, ...] = ()


def list_reproductions() -> dict[str, Reproduction]:
    """All reproductions, by name (imports every module of ``banditlab.reproductions``)."""
    import banditlab.reproductions as pkg

    found: dict[str, Reproduction] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        rep = getattr(module, "REPRODUCTION", None)
        if isinstance(rep, Reproduction):
            found[rep.name] = rep
    return found


def get_reproduction(name: str) -> Reproduction:
    """The reproduction called ``name``; ``ValueError`` listing the valid names otherwise."""
    reps = list_reproductions()
    if name not in reps:
        valid = ", ".join(repr(n) for n in reps) or "(none)"
        raise ValueError(f"reproduce: 'name' must be one of {valid}; got {name!r}.")
    return reps[name]
