"""Seeding: one ``SeedSequence`` tree per experiment, two independent streams per run.

The one derivation of the whole library: run (or seed index) ``i`` under root entropy ``e``
gets::

    env_seed, policy_seed = SeedSequence(e, spawn_key=(i,)).generate_state(2, uint64)

(the ``i``-th child of ``SeedSequence(e).spawn(n)``), as Python ints, which reset the
environment and the policy. :func:`banditlab.run_many`, ``banditlab run``, sweeps
(:mod:`banditlab.sweep`, seed index ``i``) and the reproductions all use it
(:func:`run_seed_pair`), so one seed gives the same numbers through each of them, and every
policy on an env sees the same reward noise for the same ``i`` (common random numbers).
Nothing here (or anywhere in banditlab) touches the global ``np.random`` or ``random`` state.
With ``seed=None`` fresh OS entropy is drawn and returned, so the experiment can be replayed.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_seed_sequence", "check_seed", "make_rng", "run_seed_pair", "spawn_run_seeds"]

SeedLike = None | int | np.random.SeedSequence


def as_seed_sequence(seed: SeedLike, *, owner: str = "seed") -> np.random.SeedSequence:
    """Resolve ``None | int | SeedSequence`` into a ``SeedSequence``."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{owner}: 'seed' must be None, a non-negative int or a "
                        f"numpy.random.SeedSequence; got {type(seed).__name__} {seed!r}.")
    if int(seed) < 0:
        raise ValueError(f"{owner}: 'seed' must be None, a non-negative int or a "
                         f"numpy.random.SeedSequence; got {seed!r}.")
    return np.random.SeedSequence(int(seed))


def check_seed(seed: object, owner: str) -> int | None:
    """A ``reset(seed=...)`` argument: None or an int >= 0 (numpy integers too; no bools)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{owner}: 'seed' must be None or an int in [0, inf); got "
                        f"{type(seed).__name__} {seed!r}.")
    if int(seed) < 0:
        raise ValueError(f"{owner}: 'seed' must be None or an int in [0, inf); got {seed!r}.")
    return int(seed)


def spawn_run_seeds(seed: SeedLike, n_runs: int, *, owner: str = "run_many"
                    ) -> tuple[int | tuple[int, ...], list[tuple[int, int]]]:
    """Return ``(entropy, [(env_seed, policy_seed), ...])`` for ``n_runs`` runs.

    The children are spawned from the root in a fixed order, so run ``i`` gets the same pair
    whatever the number of processes or the order in which runs are executed.
    """
    given = as_seed_sequence(seed, owner=owner)
    if given.spawn_key:
        # A spawned child is not replayable from its entropy alone: root the runs at a 128-bit
        # int drawn from it instead, so that int (returned as the entropy) replays them.
        words = given.generate_state(4, np.uint32)
        given = np.random.SeedSequence(sum(int(w) << (32 * i) for i, w in enumerate(words)))
    # A fresh copy, so spawning here never depends on (or changes) what the caller spawned.
    root = np.random.SeedSequence(given.entropy, spawn_key=given.spawn_key,
                                  pool_size=given.pool_size)
    return root.entropy, [run_seed_pair(root.entropy, i, pool_size=root.pool_size)
                          for i in range(n_runs)]


def run_seed_pair(entropy: int | tuple[int, ...] | list[int], index: int, *,
                  pool_size: int = 4) -> tuple[int, int]:
    """``(env_seed, policy_seed)`` of run ``index`` under root ``entropy`` (module docstring):
    the ``index``-th child of ``SeedSequence(entropy).spawn(...)``."""
    child = np.random.SeedSequence(entropy, spawn_key=(int(index),), pool_size=pool_size)
    env_seed, policy_seed = (int(s) for s in child.generate_state(2, np.uint64))
    return env_seed, policy_seed


def make_rng(seed: int | None) -> np.random.Generator:
    """A PCG64 generator exactly as ``gymnasium`` builds one from an integer seed."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
