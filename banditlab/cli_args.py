"""Shared by the ``banditlab`` subcommands: argument types (argparse ``type=`` callables),
exit statuses and the one-line report of an environment failure.

Exit statuses: :data:`EXIT_OK` (0); :data:`EXIT_FAILED` (1) for a failure of the environment
(a full disk, a directory that cannot be written, a store in use by another driver) or of
tasks; :data:`EXIT_USAGE` (2) for bad input (the command line, a configuration, a request
beyond :mod:`banditlab.limits`); :data:`EXIT_INTERRUPTED` (130, the shell's value for
SIGINT) after Ctrl-C.
"""

from __future__ import annotations

import argparse
import errno
import os

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "n_jobs_arg",
           "non_negative_int", "os_error_line", "positive_int"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_ADVICE = (
    ({errno.ENOSPC, errno.EDQUOT, errno.EFBIG}, "free disk space, then run the command again"),
    ({errno.EACCES, errno.EPERM, errno.EROFS}, "choose a directory you can write to"),
    ({errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.ENAMETOOLONG},
     "fix the path or choose another one (a file stands where a directory is expected, or "
     "the reverse)"),
)


def os_error_line(exc: OSError) -> str:
    """One line for an ``OSError``: its reason, the path it names and what to do.

    banditlab's own messages (no ``filename``) already say what to do; a raw error from the
    system gets advice chosen by its ``errno``.
    """
    text = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return " ".join(text.split()) + ("" if text.rstrip().endswith(".") else ".")
    name = exc.filename
    text = f"{text}: {os.fsdecode(name) if isinstance(name, str | bytes) else str(name)!r}"
    advice = next((a for codes, a in _ADVICE if exc.errno in codes),
                  "check the path and its disk")
    return " ".join(f"{text}; {advice}.".split())


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int in [{low}, inf); got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an int in [{low}, inf); got {value}")
    return value


def positive_int(text: str) -> int:
    """An int >= 1 (worker counts, batch sizes)."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An int >= 0 (seeds)."""
    return _int_at_least(text, 0)


def n_jobs_arg(text: str) -> int:
    """``-1`` (all cores) or an int >= 1: the library's ``n_jobs`` (see banditlab.parallel)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value != -1 and value < 1:
        raise argparse.ArgumentTypeError(f"must be -1 or an int in [1, inf); got {text!r}")
    return value
