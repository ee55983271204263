"""CompileBeside: kernels compiled in a helper process while the caller goes on.

Each test runs a driver in a fresh process with its own empty kernel cache, on two small
kernels of a module written for the test (``setup`` and ``loop``, the helper being handed
``loop``), and reads back what the driver's own process compiled (Numba's compile events).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from banditlab.parallel import available_cpus, mp_context

#: whether a helper can start here (it needs fork and two cores); where it cannot, the same
#: drivers check that none starts and the caller compiles everything itself
HELPER = mp_context() is not None and available_cpus() >= 2

KERNELS = textwrap.dedent('''
    from banditlab._jit import njit

    @njit
    def setup(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * x[i]
        return s

    @njit
    def loop(x, n):
        s = 0.0
        for k in range(n):
            for i in range(x.shape[0]):
                s += x[i] * k
        return s
''')

DRIVER = textwrap.dedent('''
    import json, os, signal, sys, time
    sys.path.insert(0, sys.argv[1])
    import numba
    import numpy as np
    from numba.core import event
    from banditlab.parallel import CompileBeside
    import kernels

    here = []

    class Listener(event.Listener):
        def on_start(self, ev):
            here.append(ev.data["dispatcher"].py_func.__name__)

        def on_end(self, ev):
            pass

    event.register("numba:compile", Listener())
    mode = sys.argv[2]
    x = np.arange(5.0)
    args = ("ab", 3) if mode == "bad" else (x, 3)       # "ab": a call that cannot be typed
    out = {}
    with CompileBeside([(kernels.loop, args)]) as beside:
        out["started"] = beside.started
        if beside.started:
            while beside._state[0] == 0:    # the helper has begun the loop
                time.sleep(0.001)
            if mode == "kill":
                os.kill(beside._proc.pid, signal.SIGKILL)
            if mode == "fork":              # a pool worker forked while the helper compiles
                import multiprocessing as mp
                child = mp.get_context("fork").Process(target=kernels.loop, args=(x, 3))
                child.start()
                child.join()
                out["child"] = child.exitcode
        out["setup"] = kernels.setup(x)
        if mode == "bad":
            try:
                kernels.loop("ab", 3)
            except numba.core.errors.TypingError:
                out["error"] = "TypingError"
        out["loop"] = kernels.loop(x, 3)
    out["here"] = here
    print(json.dumps(out))
''')


def _drive(tmp: Path, mode: str = "plain", cache: str = "cache", **env_extra: str) -> dict:
    (tmp / "kernels.py").write_text(KERNELS)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_DISABLE_JIT", "PYTHONPATH")}
    env.update(NUMBA_CACHE_DIR=str(tmp / cache), BANDITLAB_COMPILE_BESIDE="1")
    env.update(env_extra)                    # (the suite turns helpers off: tests/conftest.py)
    out = subprocess.run([sys.executable, "-c", DRIVER, str(tmp), mode], cwd=tmp, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_helper_compiles_the_loop_and_the_caller_loads_it(tmp_path: Path) -> None:
    cold = _drive(tmp_path)
    assert cold["started"] is HELPER
    assert "setup" in cold["here"] and ("loop" in cold["here"]) is not HELPER  # loaded if so
    assert cold["loop"] == 30.0 and cold["setup"] == 30.0
    warm = _drive(tmp_path)                  # both in the cache: no helper, nothing compiled
    assert not warm["started"] and warm["here"] == []
    assert warm["loop"] == cold["loop"]


def test_turned_off_by_the_environment(tmp_path: Path) -> None:
    out = _drive(tmp_path, BANDITLAB_COMPILE_BESIDE="0")
    assert not out["started"] and "loop" in out["here"] and out["loop"] == 30.0


def test_a_killed_helper_leaves_the_caller_to_compile(tmp_path: Path) -> None:
    out = _drive(tmp_path, "kill")
    assert out["started"] is HELPER and "loop" in out["here"] and out["loop"] == 30.0


def test_a_version_the_helper_cannot_compile_fails_in_the_caller_as_usual(
        tmp_path: Path) -> None:
    out = _drive(tmp_path, "bad")
    assert out["started"] is HELPER and out["error"] == "TypingError" and out["loop"] == 30.0


def test_entry_points_that_name_kernels_run_without_jit(tmp_path: Path) -> None:
    """Under NUMBA_DISABLE_JIT the kernels are plain functions: bcd and run_episodes name
    none for a helper and run as usual."""
    script = textwrap.dedent('''
        import numpy as np
        from banditlab.cascading import CascadingVI, run_episodes
        from banditlab.envs.cascading import random_cascading_mdp
        from banditlab.solvers import L1LeastSquares, bcd
        rng = np.random.default_rng(0)
        M, y = rng.standard_normal((20, 5)), rng.standard_normal(20)
        res = bcd(L1LeastSquares(M, y, lam=0.1), update="prox_gradient", max_iter=5)
        assert res.n_iter == 5 and np.all(np.isfinite(res.x))
        env = random_cascading_mdp(3, 4, 2, 2, seed=0)
        out = run_episodes(CascadingVI.for_env(env), env, 2, seed=0, n_jobs=1, progress=False)
        assert np.all(np.isfinite(out.regret))
        print("ok")
    ''')
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NUMBA_DISABLE_JIT"] = "1"
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_a_process_forked_while_the_helper_compiles_compiles_on_its_own(tmp_path: Path) -> None:
    """A worker forked from the caller inherits its cache hook; a miss there must not touch
    the caller's helper (which is not the worker's child) but compile as usual."""
    out = _drive(tmp_path, "fork")
    assert out["started"] is HELPER and out["loop"] == 30.0
    assert out.get("child", 0) == 0
