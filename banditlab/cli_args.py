"""Argument types shared by the ``banditlab`` subcommands (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse

__all__ = ["non_negative_int", "positive_int"]


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
