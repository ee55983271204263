"""``banditlab.warmup`` runs every system's entry points (late in the suite: mostly cached)."""

from __future__ import annotations

import banditlab as bl
from banditlab._warmup import SYSTEMS


def test_warmup_runs_every_system() -> None:
    spent = bl.warmup(progress=False)
    assert list(spent) == list(SYSTEMS)
    assert all(seconds >= 0.0 for seconds in spent.values())
    again = bl.warmup("bandits", "streaming", progress=False)
    assert list(again) == ["bandits", "streaming"]
