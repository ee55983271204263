"""Treat an unreadable Numba cache index as a cache miss instead of a crash.

Numba unpickles a cached function's index (its compiled signatures) *before* comparing the
source stamp. A signature mentions the argument types, and for NamedTuple arguments that means
the Python classes: when a later version of a module renames or removes such a class (a
``State`` NamedTuple, say), loading the old index raises ``AttributeError`` on the first call,
even though the index is stale anyway. Upgrading banditlab in place leaves such files behind
(pip does not remove files it did not install). This wraps
``numba.core.caching.IndexDataCacheFile._load_index`` once so that an index that cannot be
unpickled reads as empty: the function is compiled again and the index rewritten, exactly what
a stale stamp already does. Any other error still propagates.
"""

from __future__ import annotations

import pickle
from typing import Any

from numba.core import caching

__all__ = ["harden_numba_cache_index"]


def harden_numba_cache_index() -> None:
    """Install the wrapper (idempotent)."""
    cls = caching.IndexDataCacheFile
    if getattr(cls._load_index, "_banditlab_hardened", False):
        return
    original = cls._load_index

    def _load_index(self: Any) -> dict:
        try:
            return original(self)
        except (AttributeError, ImportError, ModuleNotFoundError, pickle.UnpicklingError,
                EOFError):
            return {}

    _load_index._banditlab_hardened = True
    cls._load_index = _load_index
