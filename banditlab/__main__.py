"""``python -m banditlab``: the command-line interface (see :mod:`banditlab.cli`)."""

from __future__ import annotations

from banditlab.cli import console_main

if __name__ == "__main__":
    raise SystemExit(console_main())
