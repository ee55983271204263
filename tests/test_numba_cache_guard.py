"""A stale Numba cache index that names a class which no longer exists is a miss, not a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

MODULE_V1 = textwrap.dedent("""
    from typing import NamedTuple
    from numba import njit

    class OldState(NamedTuple):
        x: float

    @njit(cache=True)
    def f(s):
        return s.x + 1.0

    def call():
        return f(OldState(1.0))
""")

# Same file name and function, the NamedTuple renamed (as when a State class is renamed in a
# new release); written with the same size so that only the unpickling can tell.
MODULE_V2 = MODULE_V1.replace("OldState", "NewState")

DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    if sys.argv[2] == "guarded":
        import banditlab  # installs the cache-index guard
    import cachedmod
    print(cachedmod.call())
""")


def _run(tmp: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(tmp / "driver.py"), str(tmp), mode], cwd=tmp,
                          capture_output=True, text=True, timeout=300)


def _stale_cache(tmp: Path) -> None:
    (tmp / "driver.py").write_text(DRIVER)
    (tmp / "cachedmod.py").write_text(MODULE_V1)
    first = _run(tmp, "plain")
    assert first.returncode == 0 and first.stdout.strip() == "2.0", first.stderr
    assert list((tmp / "__pycache__").glob("cachedmod.f-*.nbi"))
    (tmp / "cachedmod.py").write_text(MODULE_V2)


def test_guard_recompiles_instead_of_crashing(tmp_path: Path) -> None:
    _stale_cache(tmp_path)
    out = _run(tmp_path, "guarded")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2.0"


def test_canary_without_the_guard_numba_crashes(tmp_path: Path) -> None:
    _stale_cache(tmp_path)
    out = _run(tmp_path, "plain")
    assert out.returncode != 0 and "OldState" in out.stderr
