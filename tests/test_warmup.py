"""``banditlab.warmup`` runs every system's entry points (late in the suite: mostly cached)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import banditlab as bl
from banditlab._warmup import SYSTEMS


def test_warmup_runs_every_system() -> None:
    spent = bl.warmup(progress=False)
    assert list(spent) == list(SYSTEMS)
    assert all(seconds >= 0.0 for seconds in spent.values())
    again = bl.warmup("bandits", "streaming", progress=False)
    assert list(again) == ["bandits", "streaming"]


def test_warmup_refuses_a_bad_n_jobs() -> None:
    with pytest.raises(ValueError, match="n_jobs"):
        bl.warmup("bcd", n_jobs=0, progress=False)
    with pytest.raises(TypeError, match="n_jobs"):
        bl.warmup("bcd", n_jobs=1.5, progress=False)


WORKERS_DRIVER = textwrap.dedent("""
    import json
    import banditlab as bl
    spent = bl.warmup("bcd", "sor_tuning", n_jobs=2, progress=False)
    # the parent compiled nothing: the workers did, into the cache
    print(json.dumps({"names": list(spent)}))
""")


def test_warmup_in_worker_processes_fills_the_cache(tmp_path: Path) -> None:
    """Two workers compile a system each into an empty cache; the next process finds every
    kernel of those systems there."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT",)}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    res = subprocess.run([sys.executable, "-c", WORKERS_DRIVER], env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout.strip().splitlines()[-1])["names"] == ["bcd", "sor_tuning"]
    index = {p.name for p in (tmp_path / "cache").rglob("*.nbi")}
    assert any("bcd" in name for name in index) and any("sor" in name for name in index), index
    check = textwrap.dedent("""
        import json, numba
        from numba.core import event
        from banditlab._warmup import SYSTEMS
        # nothing compiled at all: the step box of OmegaTuner's policy too (it was made by
        # Numba's StructRef constructor, compiled anew in every process)
        with event.install_recorder("numba:compile") as rec:
            SYSTEMS["bcd"](); SYSTEMS["sor_tuning"]()
        from numba.core.registry import CPUDispatcher
        from banditlab._jit import _PackageCache
        import gc
        ours = [d for d in gc.get_objects() if isinstance(d, CPUDispatcher)
                and isinstance(d._cache, _PackageCache)]
        print(json.dumps({"misses": sum(sum(d.stats.cache_misses.values()) for d in ours),
                          "hits": sum(sum(d.stats.cache_hits.values()) for d in ours),
                          "compiled": sorted({ev.data["dispatcher"].py_func.__qualname__
                                              for _, ev in rec.buffer})}))
    """)
    res = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["misses"] == 0 and got["hits"] > 0 and got["compiled"] == [], got
