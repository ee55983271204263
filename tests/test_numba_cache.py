"""The kernel cache is sound: an edit to any kernel file reaches every compiled caller.

Each test works on a private copy of the package (laid out as an install would be), runs a
driver in fresh processes, edits one file of the copy between them, and checks that the next
process behaves according to the edited source, with no cache file deleted by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import banditlab
from banditlab._jit import package_roots

# UCB on a 4-armed bandit whose best arm is the last: pull counts on both engines.
DRIVER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import banditlab as bl
    assert bl.__file__.startswith(sys.argv[1]), bl.__file__
    env = bl.BernoulliBandit([0.5, 0.5, 0.5, 0.9], horizon=400)
    out = {}
    for engine in ("kernel", "python"):
        res = bl.run_many(bl.UCB(4), env, n_runs=1, seed=3, engine=engine, n_jobs=1)
        out[engine] = res.pulls[0].tolist()
    print(json.dumps(out))
""")

TIE_TO_FIRST = '''
@njit
def argmax_tiebreak(values, rng):
    """Edited in a test: always arm 0."""
    return 0
'''


def _copy_package(dest: Path) -> Path:
    """Copy banditlab (and the folders a checkout maps into it) as an installed tree."""
    roots = package_roots()
    target = dest / "banditlab"
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc")
    shutil.copytree(roots[0], target, ignore=ignore)
    for extra in roots[1:]:
        if not (target / extra.name).exists():
            shutil.copytree(extra, target / extra.name, ignore=ignore)
    return target


def _run(tmp: Path, script: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_DISABLE_JIT", "NUMBA_CACHE_DIR", "PYTHONPATH")}
    out = subprocess.run([sys.executable, "-c", script, str(tmp)], cwd=tmp, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _replace_function(path: Path, name: str, new_source: str) -> None:
    """Replace the decorated module-level function ``name`` in ``path`` by ``new_source``."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"def {name}("))
    end = start + 1
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t)"):
        end += 1
    path.write_text("".join(lines[:start]) + new_source.lstrip("\n") + "\n\n"
                    + "".join(lines[end:]))


@pytest.mark.parametrize("stamp", ["package", "canary: numba's own file stamp"])
def test_editing_a_shared_helper_reaches_both_engines(tmp_path: Path, stamp: str) -> None:
    pkg = _copy_package(tmp_path)
    if stamp != "package":
        # the canary: the same copy with Numba's per-file stamp must keep the stale code
        jit = pkg / "_jit.py"
        jit.write_text(jit.read_text().replace(
            "return package_digest()", "return super().get_source_stamp()"))
    before = _run(tmp_path, DRIVER)
    assert before["kernel"] == before["python"]
    assert before["kernel"][0] < 100 and before["kernel"][3] > 200   # UCB finds arm 3
    # a second process loads from the cache and agrees
    assert _run(tmp_path, DRIVER) == before
    assert list((pkg / "kernels" / "__pycache__").glob("common.argmax_tiebreak-*.nbi"))

    _replace_function(pkg / "kernels" / "common.py", "argmax_tiebreak", TIE_TO_FIRST)
    after = _run(tmp_path, DRIVER)
    if stamp == "package":
        # each arm once, then every tie-broken choice goes to arm 0
        assert after["kernel"] == after["python"] == [397, 1, 1, 1]
    else:
        assert after == before


USER_MODULE = textwrap.dedent('''
    from typing import NamedTuple
    import numpy as np
    from banditlab._jit import njit
    from banditlab.protocols import Kernels, register_kernels

    class FixedParams(NamedTuple):
        arm: int

    class FixedState(NamedTuple):
        t: int

    def init(params, n_arms):
        return FixedState(0)

    @njit
    def select(params, state, rng):
        return params.arm

    @njit
    def update(params, state, arm, reward):
        return FixedState(state.t + 1)

    KERNELS = register_kernels(FixedParams, Kernels(init, select, update))
''')

USER_DRIVER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import banditlab as bl
    from banditlab.engine import run_karmed
    import userpolicy
    env = bl.BernoulliBandit([0.2, 0.8], horizon=10)
    env.reset(seed=0)
    params = userpolicy.FixedParams(1)
    regret, pulls, _ = run_karmed(params, userpolicy.init(params, 2), np.random.default_rng(0),
                                  env.kernel_arrays(), env.np_random, 10,
                                  np.arange(1, 11, dtype=np.int64))
    print(json.dumps(pulls.tolist()))
""")


def test_editing_a_user_kernel_reaches_the_cached_engine_loop(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    (tmp_path / "userpolicy.py").write_text(USER_MODULE)
    assert _run(tmp_path, USER_DRIVER) == [0, 10]
    edited = USER_MODULE.replace("return params.arm", "return 1 - params.arm")
    (tmp_path / "userpolicy.py").write_text(edited)
    assert _run(tmp_path, USER_DRIVER) == [10, 0]


STALE_V1 = textwrap.dedent("""
    from typing import NamedTuple
    from banditlab._jit import njit

    class OldState(NamedTuple):
        x: float

    @njit
    def f(s):
        return s.x + 1.0

    def call():
        return f(OldState(1.0))
""")

STALE_DRIVER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import banditlab
    from banditlab import cachedmod
    print(json.dumps(cachedmod.call()))
""")


def test_an_index_naming_a_removed_class_is_a_miss(tmp_path: Path) -> None:
    """A cached index that names a class an upgrade renamed recompiles instead of crashing."""
    pkg = _copy_package(tmp_path)
    (pkg / "cachedmod.py").write_text(STALE_V1)
    assert _run(tmp_path, STALE_DRIVER) == 2.0
    # same size, class renamed: only unpickling the old index can notice
    (pkg / "cachedmod.py").write_text(STALE_V1.replace("OldState", "NewState"))
    assert _run(tmp_path, STALE_DRIVER) == 2.0


def test_no_module_bypasses_the_package_cache() -> None:
    """Every kernel goes through banditlab._jit.njit (plain numba caching is unsound here)."""
    offenders = []
    for root in package_roots():
        for path in root.rglob("*.py"):
            text = path.read_text()
            if path.name != "_jit.py" and ("cache=True" in text
                                           or "from numba import njit" in text):
                offenders.append(str(path.relative_to(root.parent)))
    assert not offenders, offenders
    assert Path(banditlab.__file__).parent in package_roots()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_data_file_is_a_miss(tmp_path: Path, damage: str) -> None:
    """A damaged ``.nbc`` (the compiled code, not the index) recompiles instead of breaking
    every later run; the canary checks that the first run did write data files to damage."""
    pkg = _copy_package(tmp_path)
    (pkg / "cachedmod.py").write_text(STALE_V1)
    assert _run(tmp_path, STALE_DRIVER) == 2.0
    data = list(tmp_path.rglob("*.nbc"))
    assert data, "the first run cached nothing"
    for f in data:
        raw = f.read_bytes()
        f.write_bytes({"garbage": os.urandom(len(raw)), "truncated": raw[: len(raw) // 2],
                       "empty": b""}[damage])
    assert _run(tmp_path, STALE_DRIVER) == 2.0
    # the engine loops: compiled over any damaged entry of theirs, then loaded from the
    # rewritten entries by the next process, with the same pulls on both engines
    first, second = _run(tmp_path, DRIVER), _run(tmp_path, DRIVER)
    assert first == second and first["kernel"] == first["python"], (first, second)


NO_CACHE_MODULE = textwrap.dedent("""
    from banditlab._jit import njit

    @njit
    def f(x):
        return x + 1.0

    @njit
    def g(x):
        return 2.0 * x
""")

NO_CACHE_DRIVER = textwrap.dedent("""
    import json, sys, warnings
    sys.path.insert(0, sys.argv[1])
    from banditlab import _jit
    _jit._CacheImpl._locator_classes = []          # no location can be written
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import nocache_mod
        out = [nocache_mod.f(1.0), nocache_mod.g(2.0)]
    print(json.dumps({"out": out, "warnings": [str(w.message) for w in caught]}))
""")


def test_no_writable_cache_location_compiles_in_memory(tmp_path: Path) -> None:
    _copy_package(tmp_path)
    (tmp_path / "nocache_mod.py").write_text(NO_CACHE_MODULE)
    got = _run(tmp_path, NO_CACHE_DRIVER)
    assert got["out"] == [2.0, 4.0]
    assert len(got["warnings"]) == 1
    assert "no writable location for the kernel cache" in got["warnings"][0]
    assert "NUMBA_CACHE_DIR" in got["warnings"][0]


# -- saving from several processes at once ------------------------------------------------------
def _interleaved_saves(cls: type, tmp_path: Path) -> dict:
    """Process B reads the index, process A saves a first overload, B saves a second one (two
    index files on one path, the interleaving forced); returns what each key loads back."""
    tmp_path.mkdir(parents=True)
    a = cls(cache_path=str(tmp_path), filename_base="mod.f-1.py3", source_stamp="s")
    b = cls(cache_path=str(tmp_path), filename_base="mod.f-1.py3", source_stamp="s")
    k1, k2 = ("(int64,)", "magic"), ("(float64,)", "magic")
    load_b = b._load_index

    def b_reads_then_a_saves() -> dict:
        seen = load_b()
        b._load_index = load_b                   # only the first read is raced
        a.save(k1, "overload for int64")
        return seen

    b._load_index = b_reads_then_a_saves
    b.save(k2, "overload for float64")
    fresh = cls(cache_path=str(tmp_path), filename_base="mod.f-1.py3", source_stamp="s")
    return {key: fresh.load(key) for key in (k1, k2)}


def test_racing_saves_never_map_a_signature_to_another_overload(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    """Even without the lock (taken away here to force the race), every index entry loads its
    own overload: data files are named by their key. Numba's own scheme gives both overloads
    one numbered file, and the int64 signature would load float64 machine code (canary)."""
    from numba.core import caching

    from banditlab import _jit

    numba_way = _interleaved_saves(caching.IndexDataCacheFile, tmp_path / "numba")
    assert numba_way[("(float64,)", "magic")] == "overload for float64"
    assert numba_way[("(int64,)", "magic")] in (None, "overload for float64")   # lost or wrong

    @contextlib.contextmanager
    def no_lock(path: str) -> Iterator[None]:
        yield

    monkeypatch.setattr(_jit, "_locked", no_lock)
    ours = _interleaved_saves(_jit._IndexFile, tmp_path / "ours")
    assert ours[("(float64,)", "magic")] == "overload for float64"
    assert ours[("(int64,)", "magic")] in (None, "overload for int64")          # never wrong


CONCURRENT_MODULE = textwrap.dedent('''
    from banditlab._jit import njit

    @njit
    def scaled(x, k):
        return x * k
''')

CONCURRENT_DRIVER = textwrap.dedent("""
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    import concmod
    kind, go = sys.argv[2], sys.argv[3]
    while not os.path.exists(go):               # both processes start compiling together
        time.sleep(0.001)
    types = {"ints": [np.int8(3), np.int16(3), np.int32(3), np.int64(3), np.uint8(3),
                      np.uint16(3)],
             "floats": [np.float32(3), 3.0, 3j, np.complex64(3), True, np.uint32(3)],
             "all": None}[kind]
    if types is None:
        types = [np.int8(3), np.int16(3), np.int32(3), np.int64(3), np.uint8(3), np.uint16(3),
                 np.float32(3), 3.0, 3j, np.complex64(3), True, np.uint32(3)]
    out = [str(concmod.scaled(x, 2)) for x in types]
    print(json.dumps({"out": out, "misses": sum(concmod.scaled.stats.cache_misses.values())}))
""")


def test_processes_compiling_other_overloads_at_once_keep_them_all(tmp_path: Path) -> None:
    """Two processes compile six overloads each of one kernel into one cache at the same time;
    a third process then loads all twelve, none compiled, each computing its own type's
    result."""
    (tmp_path / "concmod.py").write_text(CONCURRENT_MODULE)
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_DISABLE_JIT", "PYTHONPATH")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_DRIVER, str(tmp_path), kind,
                               str(go)], env=env, stdout=subprocess.PIPE, text=True)
             for kind in ("ints", "floats")]
    go.write_text("")
    for p in procs:
        p.communicate(timeout=600)
        assert p.returncode == 0
    res = subprocess.run([sys.executable, "-c", CONCURRENT_DRIVER, str(tmp_path), "all",
                          str(go)], env=env, capture_output=True, text=True, timeout=600,
                         check=True)
    got = json.loads(res.stdout)
    assert got["misses"] == 0, got
    assert got["out"] == ["6", "6", "6", "6", "6", "6", "6.0", "6.0", "6j",
                          "(6+0j)", "2", "6"]


# -- one compiled version per helper -------------------------------------------------------------
def test_constants_passed_between_kernels_compile_one_version() -> None:
    """A helper called from compiled code with different constants is compiled once, for
    int64, not once per constant as plain ``numba.njit`` does (shown alongside)."""
    import numba

    from banditlab._jit import callee_of, njit

    for make, versions in ((njit, 1), (numba.njit, 3)):
        helper = make(lambda x, code: x + code)

        def caller(x, helper=helper):
            return helper(x, 1) + helper(x, 2) + helper(x, 3)

        assert make(caller)(1.0) == 9.0
        compiled = callee_of(helper)          # what calls from compiled code compile
        assert len(compiled.signatures) == versions, compiled.signatures
        if make is njit:
            assert str(compiled.signatures[0][1]) == "int64"


# -- a kernel's two compiled forms -------------------------------------------------------------
TWO_FORMS_MODULE = textwrap.dedent("""
    from banditlab._jit import njit

    @njit
    def helper(x, k):
        return x * k + 1.0

    @njit
    def caller(x):
        return helper(x, 3) + helper(x, 4)
""")

TWO_FORMS_DRIVER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from banditlab._jit import callee_of
    import twoforms as m
    which = sys.argv[2]
    out = m.caller(2.0) if which == "caller" else m.helper(2.0, 3)
    inner = callee_of(m.helper)
    print(json.dumps({"out": out, "python_forms": len(m.helper.overloads),
                      "callee_forms": len(inner.overloads),
                      "python_misses": sum(m.helper.stats.cache_misses.values()),
                      "python_hits": sum(m.helper.stats.cache_hits.values())}))
""")


def test_a_kernel_called_from_kernels_and_from_python_keeps_two_cached_forms(
        tmp_path: Path) -> None:
    """Called from another kernel, a kernel is compiled without its Python wrappers; a later
    process calling it from Python must not load that form from the cache (there is no
    wrapper to run: a crash), but compile and then load its own."""
    (tmp_path / "twoforms.py").write_text(TWO_FORMS_MODULE)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "PYTHONPATH")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")

    def run(which: str) -> dict:
        res = subprocess.run([sys.executable, "-c", TWO_FORMS_DRIVER, str(tmp_path), which],
                             env=env, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr[-3000:]
        return json.loads(res.stdout.strip().splitlines()[-1])

    first = run("caller")
    assert first["out"] == 16.0
    assert first["python_forms"] == 0 and first["callee_forms"] == 1   # no wrapper compiled
    second = run("helper")                 # the callee form is in the cache, not this one
    assert second["out"] == 7.0
    assert (second["python_misses"], second["python_hits"]) == (1, 0)
    third = run("helper")
    assert third["out"] == 7.0
    assert (third["python_misses"], third["python_hits"]) == (0, 1)
