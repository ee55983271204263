"""Speed of banditlab's bandit engines against a hand-written Numba loop and peer libraries.

Workload (from the foundation issue): K = 10 Bernoulli arms with means ``linspace(0.1, 0.9)``,
horizon T = 100,000, 10 independent runs, for UCB1 (``UCB(alpha=2.0)``, index
``mean + sqrt(2 log t / n)``) and Beta–Bernoulli Thompson sampling (Beta(1, 1) prior).

Implementations, all timed with ``time.perf_counter`` after a warm-up that compiles every Numba
function, each repeated several times (repeats interleaved, medians reported):

``banditlab run_many (kernel)``
    The public API: ``run_many(policy, env, T, n_runs=10, engine="kernel", n_jobs=1)``.
``banditlab engine loop``
    Only the calls of :func:`banditlab.engine.run_karmed` (no seeding, copying or ``Results``).
``hand-written @njit``
    The reference: one minimal ``@njit`` function per algorithm, written below, with the same
    arithmetic and the same random draws per round (one uniform for the reward; UCB: no other
    draw, argmax takes the first maximum; Thompson: one ``rng.beta`` per arm) and the same
    pseudo-regret accumulation; its seeds are independent of banditlab's.
``hand-written @njit, incremental UCB``
    Not a target: the same UCB1 decisions with the index restructured as
    ``mean_a + sqrt(alpha log t) * n_a^(-1/2)`` (per-arm terms updated only for the pulled arm),
    to show how much of UCB's time is the K square roots and divisions per round.
``banditlab run_many (python)``
    The step-by-step gymnasium engine (same kernels, one Python call per step), on a shorter
    horizon; it uses the same seeds as the kernel engine, so its regret must be bit-identical to
    the kernel engine's at that horizon.
``SMPyBandits`` / ``MABWiser``
    Peer libraries, each run by a driver script in ``benchmarks/peers/`` in a subprocess (their
    own interpreter: SMPyBandits 0.9.7 needs SciPy < 1.14, so it lives in
    ``benchmarks/.venv-smpy``; create it with ``bash benchmarks/peers/setup_peers.sh``). A peer
    that is not installed is reported as skipped, with the reason.

Regret agreement: for every implementation, the mean final pseudo-regret +- sem over its runs is
compared with banditlab's kernel engine at the same horizon by Welch's z statistic
``(m1 - m2) / sqrt(sem1^2 + sem2^2)``; they agree when ``|z| <= 3``. A canary (UCB with alpha=1.0
against alpha=2.0, both on the kernel engine) must *disagree*, showing that the check has power.

Cold start: new Python processes (subprocesses), started once Numba's on-disk cache is warm,
time ``import banditlab`` and their first ``run_many`` (T steps, one run) for each algorithm
separately; a process whose engine loop missed the cache is discarded and reported.

Run ``python benchmarks/bench_bandits.py`` (``--quick`` for a smaller smoke run, ``--help`` for
all options).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from banditlab.engine import run_karmed
from banditlab.envs.karmed import BernoulliBandit
from banditlab.policies.thompson import ThompsonSampling
from banditlab.policies.ucb import UCB
from banditlab.runner import run_many

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
DEFAULT_SMPY_PYTHON = HERE / ".venv-smpy" / "bin" / "python"
ALGOS = ("ucb", "thompson")
ALGO_NAMES = {"ucb": "UCB1 (alpha=2)", "thompson": "Thompson (Beta)"}
Z_THRESHOLD = 3.0
CANARY_ALPHA = 1.0           # UCB exploration scale of the canary (UCB1 is 2.0)

# targets of the foundation issue
TARGET_REF_RATIO = 1.3       # kernel engine time / hand-written reference time, at most
TARGET_SMPY_SPEEDUP = 300.0  # SMPyBandits time / kernel engine time on UCB1, at least
TARGET_COLD_FIRST_S = 1.0    # first simulation in a new process (cache warm), at most


# ---------------------------------------------------------------------------------------------
# The hand-written references. Deliberately minimal: scalars and flat arrays in one function.
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def reference_ucb1(means, horizon, alpha, env_rng):
    """UCB1: pull each arm once, then argmax of ``sums/n + sqrt(alpha log t / n)``."""
    k = means.shape[0]
    counts = np.zeros(k)
    sums = np.zeros(k)
    best = means.max()
    regret = 0.0
    for t in range(horizon):
        if t < k:
            arm = t
        else:
            c = alpha * np.log(t)
            arm = 0
            top = -np.inf
            for a in range(k):
                v = sums[a] / counts[a] + np.sqrt(c / counts[a])
                if v > top:
                    top = v
                    arm = a
        reward = 1.0 if env_rng.random() < means[arm] else 0.0
        counts[arm] += 1.0
        sums[arm] += reward
        regret += best - means[arm]
    return regret


@njit(cache=True)
def reference_ucb1_incremental(means, horizon, alpha, env_rng):
    """UCB1 with per-arm ``mean`` and ``1/sqrt(n)`` cached: one log and one sqrt per round."""
    k = means.shape[0]
    counts = np.zeros(k)
    sums = np.zeros(k)
    mean = np.zeros(k)
    inv_sqrt_n = np.zeros(k)
    best = means.max()
    regret = 0.0
    for t in range(horizon):
        if t < k:
            arm = t
        else:
            c = np.sqrt(alpha * np.log(t))
            arm = 0
            top = -np.inf
            for a in range(k):
                v = mean[a] + c * inv_sqrt_n[a]
                if v > top:
                    top = v
                    arm = a
        reward = 1.0 if env_rng.random() < means[arm] else 0.0
        counts[arm] += 1.0
        sums[arm] += reward
        mean[arm] = sums[arm] / counts[arm]
        inv_sqrt_n[arm] = 1.0 / np.sqrt(counts[arm])
        regret += best - means[arm]
    return regret


@njit(cache=True)
def reference_thompson(means, horizon, env_rng, rng):
    """Beta–Bernoulli Thompson sampling with a Beta(1, 1) prior, argmax of one draw per arm."""
    k = means.shape[0]
    successes = np.zeros(k)
    failures = np.zeros(k)
    best = means.max()
    regret = 0.0
    for _ in range(horizon):
        arm = 0
        top = -np.inf
        for a in range(k):
            v = rng.beta(1.0 + successes[a], 1.0 + failures[a])
            if v > top:
                top = v
                arm = a
        reward = 1.0 if env_rng.random() < means[arm] else 0.0
        successes[arm] += reward
        failures[arm] += 1.0 - reward
        regret += best - means[arm]
    return regret


# ---------------------------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------------------------
class Stopwatch:
    """Accumulates wall-clock (``perf_counter``) and CPU (``process_time``) seconds.

    Wall time is the measure of the issue; the process's CPU time is shown beside it because
    on a shared machine wall time also counts the time the process waited for a core.
    """

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall0, self._cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._wall0
        self.cpu += time.process_time() - self._cpu0


@dataclass
class Entry:
    """One implementation of one algorithm: timings (ns per pull) and final regrets."""

    algo: str
    name: str
    horizon: int
    runs: int
    wall_ns: list[float] = field(default_factory=list)  # one value per repeat (peers: per run)
    cpu_ns: list[float] = field(default_factory=list)
    regrets: np.ndarray | None = None
    note: str = ""
    skipped: str = ""

    def add(self, watch: Stopwatch, pulls: int) -> None:
        self.wall_ns.append(watch.wall / pulls * 1e9)
        self.cpu_ns.append(watch.cpu / pulls * 1e9)

    @property
    def wall(self) -> float:
        return statistics.median(self.wall_ns) if self.wall_ns else math.nan

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ns) if self.cpu_ns else math.nan


def mean_sem(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    sem = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else math.nan
    return float(x.mean()), sem


def welch_z(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's z for equal means: ``(mean_a - mean_b) / sqrt(sem_a^2 + sem_b^2)``."""
    ma, sa = mean_sem(a)
    mb, sb = mean_sem(b)
    se = math.hypot(sa, sb)
    if se == 0.0:
        return 0.0 if ma == mb else math.inf
    return (ma - mb) / se


def make_policy(algo: str, alpha: float = 2.0) -> Any:
    return UCB(10, alpha=alpha) if algo == "ucb" else ThompsonSampling(10)


# ---------------------------------------------------------------------------------------------
# Timed workloads; each returns (Stopwatch, final regrets[, Results])
# ---------------------------------------------------------------------------------------------
def time_run_many(algo: str, env: BernoulliBandit, horizon: int, runs: int, seed: int,
                  engine: str, checkpoints: np.ndarray) -> tuple[Stopwatch, np.ndarray, Any]:
    policy = make_policy(algo)
    with Stopwatch() as watch:
        res = run_many(policy, env, horizon, n_runs=runs, seed=seed, engine=engine, n_jobs=1,
                       progress=False, checkpoints=checkpoints)
    return watch, res.regret[:, -1].copy(), res


def time_engine_loop(algo: str, env: BernoulliBandit, horizon: int, runs: int, seed: int
                     ) -> tuple[Stopwatch, np.ndarray]:
    """Only the ``run_karmed`` calls, with the seeds run_many uses (same regrets)."""
    from banditlab._seeding import spawn_run_seeds

    policy = make_policy(algo)
    _, seeds = spawn_run_seeds(seed, runs)
    ck = np.array([horizon], dtype=np.int64)
    watch, regrets = Stopwatch(), np.empty(runs)
    for i, (env_seed, policy_seed) in enumerate(seeds):
        env.reset(seed=env_seed)
        policy.reset(seed=policy_seed)
        arrays, env_rng = env.kernel_arrays(), env.np_random
        with watch:
            regret, _, _ = run_karmed(policy.params, policy.state, policy.rng, arrays, env_rng,
                                      horizon, ck)
        regrets[i] = regret[-1]
    return watch, regrets


def time_reference(algo: str, means: np.ndarray, horizon: int, runs: int, seed: int,
                   incremental: bool = False) -> tuple[Stopwatch, np.ndarray]:
    """The hand-written loops, on seeds independent of banditlab's."""
    regrets = np.empty(runs)
    rngs = []
    for child in np.random.SeedSequence([seed, 1]).spawn(runs):
        env_ss, pol_ss = child.spawn(2)
        rngs.append((np.random.default_rng(env_ss), np.random.default_rng(pol_ss)))
    with Stopwatch() as watch:
        for i, (env_rng, rng) in enumerate(rngs):
            if algo == "thompson":
                regrets[i] = reference_thompson(means, horizon, env_rng, rng)
            elif incremental:
                regrets[i] = reference_ucb1_incremental(means, horizon, 2.0, env_rng)
            else:
                regrets[i] = reference_ucb1(means, horizon, 2.0, env_rng)
    return watch, regrets


def warm_up(means: np.ndarray, env: BernoulliBandit) -> None:
    """Compile (or load from Numba's cache) everything that is timed."""
    ck = np.array([50], dtype=np.int64)
    for algo in ALGOS:
        time_run_many(algo, env, 50, 1, 0, "kernel", ck)
        time_run_many(algo, env, 50, 1, 0, "python", ck)
        time_engine_loop(algo, env, 50, 1, 0)
        time_reference(algo, means, 50, 1, 0)
    time_reference("ucb", means, 50, 1, 0, incremental=True)


# ---------------------------------------------------------------------------------------------
# Peers and the cold start, in subprocesses
# ---------------------------------------------------------------------------------------------
def run_driver(python: str, driver: Path, algo: str, horizon: int, runs: int, seed: int,
               timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run a peer driver; returns (parsed JSON, "") or (None, why it was skipped)."""
    cmd = [python, str(driver), "--policy", algo, "--horizon", str(horizon), "--runs",
           str(runs), "--seed", str(seed)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:.0f} s"
    except OSError as exc:
        return None, f"could not start {python}: {exc}"
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
        return None, f"driver failed (exit {proc.returncode}): {tail}"
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        return None, "driver printed no JSON"
    return json.loads(lines[-1]), ""


def peer_entries(library: str, python: str, driver: Path, horizon: int, runs: int, seed: int,
                 timeout: float, missing: str) -> list[Entry]:
    out = []
    for algo in ALGOS:
        entry = Entry(algo, library, horizon, runs)
        if missing:
            entry.skipped = missing
        else:
            data, why = run_driver(python, driver, algo, horizon, runs, seed, timeout)
            if data is None:
                entry.skipped = why
            else:
                entry.wall_ns = [x / horizon * 1e9 for x in data["seconds_per_run"]]
                entry.cpu_ns = [x / horizon * 1e9 for x in data["cpu_seconds_per_run"]]
                entry.regrets = np.asarray(data["final_regret"], dtype=np.float64)
                entry.note = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
        out.append(entry)
    return out


COLD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    from banditlab.engine import run_karmed
    from banditlab.envs.karmed import BernoulliBandit
    from banditlab.policies.thompson import ThompsonSampling
    from banditlab.policies.ucb import UCB
    from banditlab.runner import run_many
    t_import = time.perf_counter() - t0
    horizon, algo = int(sys.argv[1]), sys.argv[2]
    env = BernoulliBandit(np.linspace(0.1, 0.9, 10), horizon=horizon)
    policy = UCB(10, alpha=2.0) if algo == "ucb" else ThompsonSampling(10)
    t1, c1 = time.perf_counter(), time.process_time()
    run_many(policy, env, horizon, n_runs=1, seed=0, engine="kernel", n_jobs=1, progress=False)
    t_first, c_first = time.perf_counter() - t1, time.process_time() - c1
    t2 = time.perf_counter()
    run_many(policy, env, horizon, n_runs=1, seed=1, engine="kernel", n_jobs=1, progress=False)
    t_second = time.perf_counter() - t2
    st = run_karmed.stats
    print(json.dumps({"import_s": t_import, "first_s": t_first, "first_cpu_s": c_first,
                      "second_s": t_second,
                      "cache_hits": sum(st.cache_hits.values()),
                      "cache_misses": sum(st.cache_misses.values()),
                      "banditlab": __import__("banditlab").__file__}))
""")


def cold_start(algo: str, horizon: int, repeats: int, python: str, attempts: int
               ) -> dict[str, Any]:
    """Medians over ``repeats`` new processes that loaded the engine loop from Numba's cache.

    One unmeasured process first makes sure the cache holds this algorithm's loop for the
    current sources. A measured process that still missed the cache (the sources changed in
    between, as happens in a checkout that is being edited: the loop's cache stamp covers every
    kernel source) compiled instead; it is discarded and counted, and another is started, up to
    ``attempts`` extra processes. The processes run in a temporary directory so that the
    interpreter imports the installed banditlab, not a ``banditlab/`` folder in the cwd.
    """
    import tempfile

    rows, discarded = [], 0
    with tempfile.TemporaryDirectory() as cwd:
        def one() -> dict[str, Any]:
            proc = subprocess.run([python, "-c", COLD_SCRIPT, str(horizon), algo], cwd=cwd,
                                  capture_output=True, text=True, check=True, timeout=900)
            return json.loads(proc.stdout.strip().splitlines()[-1])

        one()  # fills the cache if needed (not measured)
        while len(rows) < repeats and discarded <= attempts:
            row = one()
            if row["cache_misses"] == 0 and row["cache_hits"] > 0:
                rows.append(row)
            else:
                discarded += 1
    if not rows:
        return {"skipped": f"every new process recompiled ({discarded} tried): the sources "
                           "kept changing; rerun on a quiet checkout or with --cold-python"}
    return {"import_s": statistics.median(r["import_s"] for r in rows),
            "first_s": statistics.median(r["first_s"] for r in rows),
            "first_max_s": max(r["first_s"] for r in rows),
            "first_cpu_s": statistics.median(r["first_cpu_s"] for r in rows),
            "second_s": statistics.median(r["second_s"] for r in rows),
            "processes": len(rows), "discarded": discarded, "python": python}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def fmt_ns(ns: float) -> str:
    if math.isnan(ns):
        return "–"
    if ns >= 1e4:
        return f"{ns / 1e3:,.1f} µs"
    return f"{ns:,.1f} ns"


def fmt_regret(x: np.ndarray | None) -> str:
    if x is None:
        return "–"
    m, s = mean_sem(x)
    return f"{m:.1f} ± {s:.1f}"


def report(entries: list[Entry], kernel_at: dict[str, dict[int, np.ndarray]],
           ratios: dict[str, dict[str, list[float]]], cold: dict[str, dict[str, Any]],
           canary: dict[str, Any], args: argparse.Namespace, info: dict[str, Any]) -> str:
    """The markdown report: the table, the canary, the cold start and the targets."""
    lines = [f"Workload: K=10 Bernoulli arms, means linspace(0.1, 0.9); T={args.horizon:,}, "
             f"{args.runs} runs; timings are medians over {args.repeats} interleaved repeats "
             "(peers: over their runs).",
             f"Machine: {info['machine']}; load average (1, 5, 15 min) at start "
             f"{info['load_start']}, at end {info['load_end']}.",
             f"Versions: {info['versions']}", ""]
    lines.append("| algorithm | implementation | T × runs | wall / pull | CPU / pull | "
                 "× kernel (wall) | × kernel (CPU) | final regret (mean ± sem) | z vs kernel "
                 "| agree |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    checks: list[tuple[str, bool | None]] = []  # None: skipped
    kernel = {e.algo: e for e in entries if e.name == KERNEL}
    for e in entries:
        head = f"| {ALGO_NAMES[e.algo]} | {e.name} |"
        if e.skipped:
            lines.append(f"{head} – | skipped: {e.skipped} | – | – | – | – | – | – |")
            checks.append((f"{ALGO_NAMES[e.algo]}: {e.name} not run ({e.skipped})", None))
            continue
        paired = ratios.get(f"{e.algo}:{e.name}")
        if paired is not None:
            rel_w = f"{statistics.median(paired['wall']):.2f}× (paired)"
            rel_c = f"{statistics.median(paired['cpu']):.2f}× (paired)"
        else:
            rel_w = f"{e.wall / kernel[e.algo].wall:,.2f}×"
            rel_c = f"{e.cpu / kernel[e.algo].cpu:,.2f}×"
        ref = kernel_at[e.algo].get(e.horizon)
        if e.name == KERNEL or ref is None or e.regrets is None:
            z_txt, agree_txt = "–", "–"
        else:
            z = welch_z(e.regrets, ref)
            ok = abs(z) <= Z_THRESHOLD
            same = e.regrets.shape[0] <= ref.shape[0] and np.array_equal(
                e.regrets, ref[: e.regrets.shape[0]])
            z_txt = f"{z:+.2f}"
            agree_txt = ("yes (bit-identical)" if same else "yes") if ok else "**NO**"
            checks.append((f"{ALGO_NAMES[e.algo]}: {e.name} regret agrees with the kernel "
                           f"engine's (|z| = {abs(z):.2f} <= {Z_THRESHOLD})", ok))
        lines.append(f"{head} {e.horizon:,} × {e.runs} | {fmt_ns(e.wall)} | {fmt_ns(e.cpu)} | "
                     f"{rel_w} | {rel_c} | {fmt_regret(e.regrets)} | {z_txt} | {agree_txt} |")
    lines += ["", f"`× kernel`: time per pull of the row over that of `{KERNEL}` (> 1: slower "
              "than banditlab). (paired): median of per-repeat ratios of runs timed back to back "
              "in this process; peers run in their own processes (median over their runs). "
              "`wall` is time.perf_counter, `CPU` the process's time.process_time (less "
              "sensitive to other jobs on the machine). `z vs kernel`: Welch z of the final "
              "regrets against the kernel engine's at the same horizon (its "
              f"{args.runs} runs; shorter horizons read from its checkpoints); they agree when "
              f"|z| <= {Z_THRESHOLD}. Bit-identical: same seeds as the kernel engine, same "
              "regrets.", ""]
    for algo in ALGOS:
        shorter = [f"T={h:,}: {fmt_regret(r)}" for h, r in sorted(kernel_at[algo].items())
                   if h != args.horizon]
        if shorter:
            lines.append(f"Kernel engine regret of {ALGO_NAMES[algo]} at the shorter horizons: "
                         + "; ".join(shorter) + ".")
    lines.append("")
    verdict = "disagree (the check has power)" if canary["ok"] else "**agree: check too weak**"
    lines.append(f"Canary (must disagree): kernel UCB alpha={CANARY_ALPHA} vs alpha=2.0 at "
                 f"T={args.horizon:,}: {canary['other']} vs {canary['ucb1']}, "
                 f"z = {canary['z']:+.2f} -> {verdict}")
    checks.append((f"canary: UCB alpha={CANARY_ALPHA} vs alpha=2 told apart "
                   f"(|z| = {abs(canary['z']):.2f} > {Z_THRESHOLD})", canary["ok"]))
    lines.append("")
    if cold:
        lines.append("Cold start: new processes started once Numba's cache is warm; each imports "
                     f"banditlab, then times its first run_many (one run, T={args.horizon:,}, "
                     "kernel engine, engine loop loaded from the on-disk cache) and a second "
                     "one; medians over the processes.")
        lines += ["", "| algorithm | import banditlab | first run, wall (max) | first run, CPU "
                  "| import + first run | second run | processes (discarded) |",
                  "|---|---|---|---|---|---|---|"]
        for algo, c in cold.items():
            if "skipped" in c:
                lines.append(f"| {ALGO_NAMES[algo]} | skipped: {c['skipped']} | – | – | – | – "
                             "| – |")
                checks.append((f"{ALGO_NAMES[algo]}: cold start not measured", None))
                continue
            lines.append(f"| {ALGO_NAMES[algo]} | {c['import_s']:.3f} s | {c['first_s']:.3f} s "
                         f"({c['first_max_s']:.3f} s) | {c['first_cpu_s']:.3f} s | "
                         f"{c['import_s'] + c['first_s']:.3f} s | {c['second_s']:.3f} s | "
                         f"{c['processes']} ({c['discarded']}) |")
            checks.append((f"{ALGO_NAMES[algo]}: first simulation in a new process takes "
                           f"{c['first_s']:.3f} s (median wall; max {c['first_max_s']:.3f} s) "
                           f"< {TARGET_COLD_FIRST_S} s", c["first_s"] < TARGET_COLD_FIRST_S))
        python = next((c["python"] for c in cold.values() if "python" in c), "?")
        lines += ["", "Discarded: processes that recompiled because the sources changed "
                  f"between processes (excluded). Interpreter: `{python}`.", ""]
    for algo in ALGOS:
        paired = ratios.get(f"{algo}:{REFERENCE}")
        if paired is not None:
            # ratios hold (row time / kernel time) per repeat; the target is kernel / reference
            r = statistics.median(1.0 / x for x in paired["wall"])
            r_cpu = statistics.median(1.0 / x for x in paired["cpu"])
            checks.append((f"{ALGO_NAMES[algo]}: kernel engine (run_many) / hand-written "
                           f"reference = {r:.2f} (CPU time: {r_cpu:.2f}) <= "
                           f"{TARGET_REF_RATIO}", r <= TARGET_REF_RATIO))
    smpy = next((e for e in entries if e.algo == "ucb" and e.name == "SMPyBandits"), None)
    if smpy is not None and not smpy.skipped:
        speed = smpy.wall / kernel["ucb"].wall
        speed_cpu = smpy.cpu / kernel["ucb"].cpu
        checks.append((f"UCB1: kernel engine is {speed:,.0f}× faster than SMPyBandits (CPU "
                       f"time: {speed_cpu:,.0f}×), target >= {TARGET_SMPY_SPEEDUP:.0f}×",
                       speed >= TARGET_SMPY_SPEEDUP))
    lines += ["Targets:", ""]
    verdicts = {True: "PASS", False: "FAIL", None: "SKIP"}
    lines += [f"- {verdicts[ok]}: {text}" for text, ok in checks]
    return "\n".join(lines)


KERNEL = "banditlab run_many (kernel)"
ENGINE = "banditlab engine loop (run_karmed)"
REFERENCE = "hand-written @njit (reference)"
INCREMENTAL = "hand-written @njit, incremental index (not a target)"
PYTHON = "banditlab run_many (python)"


def machine_info() -> dict[str, Any]:
    import numba

    import banditlab

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"machine": f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}",
            "versions": f"banditlab {banditlab.__version__}, numpy {np.__version__}, "
                        f"numba {numba.__version__}",
            "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--horizon", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=7, help="timing repeats (median reported)")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--python-horizon", type=int, default=20_000)
    p.add_argument("--python-runs", type=int, default=3)
    p.add_argument("--python-repeats", type=int, default=3)
    p.add_argument("--smpy-python", default=str(DEFAULT_SMPY_PYTHON),
                   help="interpreter with SMPyBandits (default: benchmarks/.venv-smpy)")
    p.add_argument("--smpy-horizon", type=int, default=None, help="default: --horizon")
    p.add_argument("--smpy-runs", type=int, default=None, help="default: --runs")
    p.add_argument("--mabwiser-python", default=sys.executable,
                   help="interpreter with MABWiser (default: this one)")
    p.add_argument("--mabwiser-horizon", type=int, default=2_000)
    p.add_argument("--mabwiser-runs", type=int, default=5)
    p.add_argument("--cold-repeats", type=int, default=5, help="new processes for cold start")
    p.add_argument("--cold-attempts", type=int, default=6,
                   help="extra processes allowed when one recompiled (sources changed)")
    p.add_argument("--cold-python", default=sys.executable,
                   help="interpreter for the cold-start processes (default: this one); see "
                        "benchmarks/peers/setup_cold_env.sh for a frozen install")
    p.add_argument("--no-peers", action="store_true", help="skip SMPyBandits and MABWiser")
    p.add_argument("--no-cold", action="store_true", help="skip the cold-start measurement")
    p.add_argument("--peer-timeout", type=float, default=1800.0)
    p.add_argument("--quick", action="store_true",
                   help="small smoke run: T=20000, 4 runs, 3 repeats, short peer runs")
    p.add_argument("--json", type=Path, default=None, help="also write raw numbers here")
    args = p.parse_args(argv)
    if args.quick:
        args.horizon, args.runs, args.repeats = 20_000, 4, 3
        args.python_horizon, args.python_runs, args.python_repeats = 5_000, 2, 2
        args.mabwiser_horizon, args.mabwiser_runs, args.cold_repeats = 500, 2, 1
        args.smpy_runs = args.smpy_runs or 2
    # absolute paths (not resolve(): a venv's bin/python is a symlink that must stay one), as
    # the cold-start processes run in a temporary directory
    args.smpy_python = os.path.abspath(args.smpy_python)
    args.mabwiser_python = os.path.abspath(args.mabwiser_python)
    args.cold_python = os.path.abspath(args.cold_python)
    args.smpy_horizon = args.smpy_horizon or args.horizon
    args.smpy_runs = args.smpy_runs or args.runs
    for name in ("horizon", "runs", "repeats", "python_horizon", "python_runs",
                 "python_repeats", "smpy_horizon", "smpy_runs", "mabwiser_horizon",
                 "mabwiser_runs", "cold_repeats"):
        low = 2 if name.endswith("runs") else 1
        if getattr(args, name) < low:
            p.error(f"--{name.replace('_', '-')} must be >= {low}")
    if max(args.python_horizon, args.mabwiser_horizon, args.smpy_horizon) > args.horizon:
        p.error("peer and python horizons must not exceed --horizon")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    info = machine_info()
    means = np.linspace(0.1, 0.9, 10)
    env = BernoulliBandit(means, horizon=args.horizon)
    ck = np.unique(np.array([args.python_horizon, args.mabwiser_horizon, args.smpy_horizon,
                             args.horizon], dtype=np.int64))
    print(f"banditlab bandit benchmark: T={args.horizon:,}, {args.runs} runs, "
          f"{args.repeats} repeats ({info['machine']})", flush=True)
    warm_up(means, env)

    entries: list[Entry] = []
    ratios: dict[str, dict[str, list[float]]] = {}
    kernel_at: dict[str, dict[int, np.ndarray]] = {}
    pulls = args.horizon * args.runs
    for algo in ALGOS:
        impls = [KERNEL, ENGINE, REFERENCE] + ([INCREMENTAL] if algo == "ucb" else [])
        found = {name: Entry(algo, name, args.horizon, args.runs) for name in impls}
        for _ in range(args.repeats):
            # interleaved repeats: a slow spell on the shared machine hits all rows alike
            watch: dict[str, Stopwatch] = {}
            watch[KERNEL], found[KERNEL].regrets, res = time_run_many(
                algo, env, args.horizon, args.runs, args.seed, "kernel", ck)
            kernel_at[algo] = {int(h): res.regret[:, j].copy()
                               for j, h in enumerate(res.checkpoints)}
            watch[ENGINE], found[ENGINE].regrets = time_engine_loop(
                algo, env, args.horizon, args.runs, args.seed)
            watch[REFERENCE], found[REFERENCE].regrets = time_reference(
                algo, means, args.horizon, args.runs, args.seed)
            if algo == "ucb":
                watch[INCREMENTAL], found[INCREMENTAL].regrets = time_reference(
                    algo, means, args.horizon, args.runs, args.seed, incremental=True)
            for name, w in watch.items():
                found[name].add(w, pulls)
                if name != KERNEL:
                    r = ratios.setdefault(f"{algo}:{name}", {"wall": [], "cpu": []})
                    r["wall"].append(w.wall / watch[KERNEL].wall)
                    r["cpu"].append(w.cpu / watch[KERNEL].cpu)
        entries.extend(found.values())
        py = Entry(algo, PYTHON, args.python_horizon, args.python_runs)
        for _ in range(args.python_repeats):
            w, py.regrets, _ = time_run_many(algo, env, args.python_horizon, args.python_runs,
                                             args.seed, "python",
                                             np.array([args.python_horizon], dtype=np.int64))
            py.add(w, args.python_horizon * args.python_runs)
        entries.append(py)
        print(f"  {ALGO_NAMES[algo]}: kernel {fmt_ns(found[KERNEL].wall)}, reference "
              f"{fmt_ns(found[REFERENCE].wall)}, python {fmt_ns(py.wall)} per pull (wall)",
              flush=True)

    # Canary: a UCB with a different exploration scale (independent seeds) must be told apart
    # from UCB1 by the same test that declares the implementations in agreement.
    res_c = run_many(make_policy("ucb", alpha=CANARY_ALPHA), env, args.horizon,
                     n_runs=args.runs, seed=args.seed + 1, engine="kernel", n_jobs=1,
                     progress=False)
    z_canary = welch_z(res_c.regret[:, -1], kernel_at["ucb"][args.horizon])
    canary = {"other": fmt_regret(res_c.regret[:, -1]),
              "ucb1": fmt_regret(kernel_at["ucb"][args.horizon]),
              "z": z_canary, "ok": abs(z_canary) > Z_THRESHOLD}

    if args.no_peers:
        for algo in ALGOS:
            entries.append(Entry(algo, "SMPyBandits", args.smpy_horizon, args.smpy_runs,
                                 skipped="--no-peers"))
            entries.append(Entry(algo, "MABWiser", args.mabwiser_horizon, args.mabwiser_runs,
                                 skipped="--no-peers"))
    else:
        smpy_missing = ""
        if not Path(args.smpy_python).exists():
            smpy_missing = (f"{args.smpy_python} not found; run bash "
                            "benchmarks/peers/setup_peers.sh")
        print("  running SMPyBandits ...", flush=True)
        entries += peer_entries("SMPyBandits", args.smpy_python, PEERS / "smpy_driver.py",
                                args.smpy_horizon, args.smpy_runs, args.seed,
                                args.peer_timeout, smpy_missing)
        mab_missing = ""
        if (args.mabwiser_python == os.path.abspath(sys.executable)
                and importlib.util.find_spec("mabwiser") is None):
            mab_missing = "mabwiser is not installed (pip install mabwiser)"
        print("  running MABWiser ...", flush=True)
        entries += peer_entries("MABWiser", args.mabwiser_python, PEERS / "mabwiser_driver.py",
                                args.mabwiser_horizon, args.mabwiser_runs, args.seed,
                                args.peer_timeout, mab_missing)

    cold: dict[str, dict[str, Any]] = {}
    if not args.no_cold:
        print("  cold start in new processes ...", flush=True)
        for algo in ALGOS:
            cold[algo] = cold_start(algo, args.horizon, args.cold_repeats, args.cold_python,
                                    args.cold_attempts)

    info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    order = {name: i for i, name in enumerate(
        [KERNEL, ENGINE, REFERENCE, INCREMENTAL, PYTHON, "SMPyBandits", "MABWiser"])}
    entries.sort(key=lambda e: (ALGOS.index(e.algo), order[e.name]))
    text = report(entries, kernel_at, ratios, cold, canary, args, info)
    print()
    print(text)
    if args.json is not None:
        raw = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
               "info": info, "cold": cold, "canary": canary,
               "ratios_vs_kernel": ratios,
               "entries": [{"algo": e.algo, "name": e.name, "horizon": e.horizon, "runs": e.runs,
                            "wall_ns_per_pull": e.wall_ns, "cpu_ns_per_pull": e.cpu_ns,
                            "skipped": e.skipped, "note": e.note,
                            "final_regret": None if e.regrets is None else e.regrets.tolist()}
                           for e in entries]}
        args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
