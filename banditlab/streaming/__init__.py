"""Single-pass streaming multi-armed bandits with bounded arm memory (Wang, ICML 2023).

The ``STREAMING`` protocol: arms arrive once each, the learner may pull only the arms it
stores (within an arm-memory budget the env enforces), then commits. Split by role:

* :mod:`banditlab.streaming.kernels`: each algorithm's ``explore`` kernel and the one loop;
* :mod:`banditlab.streaming.algorithms`: the shells (validation, params, memory budget);
* :mod:`banditlab.streaming.runner`: :func:`run_streaming`, many seeded runs.

The environment is :class:`banditlab.envs.streaming.StreamingBandit`.
"""

from __future__ import annotations

from banditlab.streaming.algorithms import (
    ALGORITHMS,
    GameOfArms,
    LevelAlgorithm,
    NaiveEpsBest,
    StreamingAlgorithm,
    StreamingUniformExploration,
)
from banditlab.streaming.kernels import default_eps, level_schedule, run_stream
from banditlab.streaming.runner import run_one, run_streaming

__all__ = [
    "ALGORITHMS",
    "GameOfArms",
    "LevelAlgorithm",
    "NaiveEpsBest",
    "StreamingAlgorithm",
    "StreamingUniformExploration",
    "default_eps",
    "level_schedule",
    "run_one",
    "run_stream",
    "run_streaming",
]
