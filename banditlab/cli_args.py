"""Argument types shared by the ``banditlab`` subcommands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse

__all__ = ["n_jobs_arg", "non_negative_int", "positive_int"]


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
