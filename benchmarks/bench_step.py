"""Cost of one decision through the step API, against a plain-Python policy and the kernel engine.

Workload (issue 14): K = 10 arms, Bernoulli rewards with means ``linspace(0.1, 0.9, 10)``. A
*decision* is one ``select`` plus one ``update``. Rewards are drawn once, before timing, from a
table indexed by (round, arm), so every path below pays for its policy only.

``plain-Python UCB1``
    The reference: UCB1 (index ``mean + sqrt(2 log t / n)``, every arm once first) written in a
    dozen lines of Python over lists, as a user would embed it in a simulator.
``banditlab step API``
    ``policy.select()`` + ``policy.update(arm, reward)`` for UCB1, Thompson sampling, KL-UCB,
    EXP3 and LinUCB (d = 10, contexts drawn before timing, one array per round as an env
    returns them), the calls a simulator makes.
``banditlab kernel engine``
    ``run_many(..., engine="kernel")`` for UCB1: the whole trajectory in one compiled loop
    (its time includes the env's own reward draws), per pull, on one 2,000,000-round
    trajectory; and the same compiled loop over 1,000 trajectories of 2,000 rounds, the
    batched rows' workload, like for like (per pull: each run's fixed cost, about 0.1 ms of
    argument conversion that ``run_many`` pays once per run, is measured and subtracted).
``banditlab BatchedPolicy``
    ``BatchedPolicy(UCB(10), N)``: one ``select`` and one ``update`` call step all N copies,
    each on the kernel engine's problem (Bernoulli rewards with the chosen arm's mean) for
    2,000 rounds (20,000 for N = 1); reported per copy and step, for N = 1, 100, 1,000 and
    10,000. (Earlier versions fed every arm the same coin, which keeps UCB1 exploring and
    costs more per step than the kernel engine's long trajectory does.)
``MABWiser``
    UCB1 ``predict`` + ``partial_fit`` per decision, in this process, when MABWiser is
    installed in this interpreter (``pip install mabwiser``); reported as skipped otherwise.

Every timing is the median of ``--repeats`` repetitions after a warm-up that compiles the
kernels; ratios are to the plain-Python UCB1 loop measured in the same process. Issue 14's
targets: step API / plain Python <= 1.0 (part 1); a batched UCB1 step at N = 1,000 within
60 ns per copy, 1.3 times the kernel engine's cost per pull (part 2); the last line prints
that ratio against both kernel-engine rows.

Run ``python benchmarks/bench_step.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import time
from collections.abc import Callable

import numpy as np

import banditlab as bl

K = 10
MEANS = np.linspace(0.1, 0.9, K)


def _rewards(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, K)) < MEANS).astype(float)


def plain_python_ucb1(rewards: np.ndarray) -> float:
    """UCB1 in plain Python; returns seconds for ``len(rewards)`` decisions."""
    table = rewards.tolist()
    counts, sums = [0] * K, [0.0] * K
    start = time.perf_counter()
    for t, row in enumerate(table, start=1):
        if t <= K:
            arm = t - 1
        else:
            bonus = 2.0 * math.log(t)
            best, arm = -1.0, 0
            for a in range(K):
                index = sums[a] / counts[a] + math.sqrt(bonus / counts[a])
                if index > best:
                    best, arm = index, a
        counts[arm] += 1
        sums[arm] += row[arm]
    return time.perf_counter() - start


def step_api(policy: bl.Policy, rewards: np.ndarray, contexts: np.ndarray | None = None
             ) -> float:
    """``select`` + ``update`` through banditlab's step API; seconds for the whole loop."""
    policy.reset(seed=0)
    table = rewards.tolist()
    # one (K, d) array per round, made before timing: an env hands the policy an array it
    # made; slicing a 3-d array in the loop would time numpy's view creation instead
    rounds = None if contexts is None else list(contexts)
    select, update = policy.select, policy.update
    start = time.perf_counter()
    if contexts is None:
        for row in table:
            arm = select()
            update(arm, row[arm])
    else:
        for row, ctx in zip(table, rounds, strict=True):
            arm = select(ctx)
            update(arm, row[arm])
    return time.perf_counter() - start


def kernel_engine(horizon: int) -> float:
    env = bl.BernoulliBandit(MEANS, horizon=horizon)
    start = time.perf_counter()
    bl.run_many(bl.UCB(K), env, horizon, n_runs=1, seed=0, engine="kernel", n_jobs=1,
                progress=False, checkpoints=1)
    return time.perf_counter() - start


def kernel_engine_runs(n_runs: int, horizon: int) -> float:
    """Seconds per pull of the kernel engine's compiled loop (``banditlab.engine.run_karmed``,
    what ``run_many(..., engine="kernel")`` calls once per run) over ``n_runs`` trajectories
    of ``horizon`` rounds: the batched rows' workload. Each call also pays a fixed cost that
    does not depend on the horizon (mostly Numba's conversion of the two fresh generators,
    about 0.1 ms): it is measured with one-round runs from the same resets and subtracted,
    and the reset of the env and the policy before each run is not timed."""
    from banditlab.engine import run_karmed

    env = bl.BernoulliBandit(MEANS, horizon=horizon).unwrapped
    policy = bl.UCB(K)

    def loops(rounds: int) -> float:
        checkpoints = np.array([rounds], dtype=np.int64)
        total = 0.0
        for i in range(n_runs):
            env.reset(seed=i)
            policy.reset(seed=n_runs + i)
            arrays = env.kernel_arrays()
            start = time.perf_counter()
            run_karmed(policy.params, policy.state, policy.rng, arrays, env.np_random, rounds,
                       checkpoints)
            total += time.perf_counter() - start
        return total

    return (loops(horizon) - loops(1)) / (n_runs * (horizon - 1))


def batched(n_copies: int, steps: int) -> float:
    """Seconds per copy and step of ``BatchedPolicy(UCB(K), n_copies)`` on the kernel
    engine's problem: each copy's reward is Bernoulli with the mean of the arm it chose
    (uniforms drawn before timing; the comparison ``u < MEANS[actions]`` is timed, as the
    kernel engine's time includes its env's draws)."""
    from banditlab.batched import BatchedPolicy

    batch = BatchedPolicy(bl.UCB(K), n_copies).reset(seed=0)
    uniforms = np.random.default_rng(2).random((steps, n_copies))
    start = time.perf_counter()
    for u in uniforms:
        actions = batch.select()
        batch.update(actions, (u < MEANS[actions]).astype(np.float64))
    return (time.perf_counter() - start) / (steps * n_copies)


def mabwiser_ucb1(rewards: np.ndarray) -> float:
    """MABWiser's UCB1 (``alpha=1.0``: banditlab's ``UCB(alpha=2.0)``), ``predict`` +
    ``partial_fit`` per decision after a ``fit`` on one pull of every arm; seconds per
    decision."""
    from mabwiser.mab import MAB, LearningPolicy

    table = rewards.tolist()
    mab = MAB(arms=list(range(K)), learning_policy=LearningPolicy.UCB1(alpha=1.0), seed=0)
    mab.fit(decisions=list(range(K)), rewards=[table[a][a] for a in range(K)])
    start = time.perf_counter()
    for row in table[K:]:
        arm = mab.predict()
        mab.partial_fit([arm], [row[arm]])
    return (time.perf_counter() - start) / (len(table) - K)


def _median(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--steps", type=int, default=100_000, help="decisions per timing")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    steps = 5_000 if args.quick else args.steps
    repeats = 2 if args.quick else args.repeats
    rewards = _rewards(steps)
    d = 10
    contexts = np.random.default_rng(1).normal(size=(steps, K, d)) / math.sqrt(d)
    policies: list[tuple[str, bl.Policy, np.ndarray | None]] = [
        ("UCB1", bl.UCB(K), None),
        ("ThompsonSampling", bl.ThompsonSampling(K), None),
        ("KLUCB", bl.KLUCB(K), None),
        ("EXP3", bl.EXP3(K, horizon=steps), None),
        ("LinUCB d=10", bl.LinUCB(K, n_features=d), contexts),
    ]
    for _, policy, ctx in policies:                 # warm-up: compile or load every kernel
        step_api(policy, rewards[:50], None if ctx is None else ctx[:50])
    kernel_engine(100)

    ref = _median(lambda: plain_python_ucb1(rewards), repeats) / steps
    rows = [("plain-Python UCB1 (reference)", ref)]
    for name, policy, ctx in policies:
        rows.append((f"banditlab step API, {name}",
                     _median(lambda p=policy, c=ctx: step_api(p, rewards, c), repeats) / steps))
    long = steps * 20
    engine_long = _median(lambda: kernel_engine(long), repeats) / long
    rows.append((f"banditlab kernel engine, UCB1, 1 run x {long:,} rounds (per pull)",
                 engine_long))
    batched(2, 5)                                   # warm-up: compile or load the loops
    b_steps = max(20, steps // 50)
    # the N = 1,000 row and the kernel engine on its workload are timed in turns, so each
    # ratio compares two timings taken a second apart (this machine's speed drifts by tens
    # of percent over minutes)
    pairs = [(kernel_engine_runs(1_000, b_steps), batched(1_000, b_steps))
             for _ in range(repeats)]
    engine_same = statistics.median(e for e, _ in pairs)
    rows.append((f"banditlab kernel engine, UCB1, 1,000 runs x {b_steps:,} rounds (per pull)",
                 engine_same))
    for n in (1, 100, 1_000, 10_000):
        # every copy plays 2,000 rounds (20,000 for N = 1): mostly past the exploration of
        # the first rounds, as the kernel engine's long trajectory is
        n_steps = max(20, steps // 5) if n == 1 else b_steps
        sec = (statistics.median(b for _, b in pairs) if n == 1_000 else
               _median(lambda n=n, b=n_steps: batched(n, b), repeats))
        rows.append((f"banditlab BatchedPolicy, UCB1, N={n:,} (per copy)", sec))
    print(f"K = {K}, {steps:,} decisions per timing, median of {repeats}\n")
    width = max(len(name) for name, _ in rows)
    print(f"{'path':{width}} {'us/decision':>12} {'ratio':>8}")
    for name, sec in rows:
        print(f"{name:{width}} {sec * 1e6:12.3f} {sec / ref:8.2f}")
    at_1000 = dict(rows)["banditlab BatchedPolicy, UCB1, N=1,000 (per copy)"]
    ratios = sorted(b / e for e, b in pairs)
    print(f"\nBatchedPolicy N=1,000 / kernel engine per pull: {at_1000 / engine_long:.2f} "
          f"against one {long:,}-round trajectory; against 1,000 trajectories of "
          f"{b_steps:,} rounds (the same workload, timed in turns): median "
          f"{statistics.median(ratios):.2f}, range {ratios[0]:.2f}-{ratios[-1]:.2f}")
    if importlib.util.find_spec("mabwiser") is None:
        print(f"{'MABWiser UCB1 predict + partial_fit':{width}} {'skipped: not installed':>21}")
    else:                    # ~100x slower per decision: fewer decisions for the same time
        sec = _median(lambda: mabwiser_ucb1(rewards[:max(K + 50, steps // 50)]), repeats)
        print(f"{'MABWiser UCB1 predict + partial_fit':{width}} {sec * 1e6:12.3f} "
              f"{sec / ref:8.2f}")


if __name__ == "__main__":
    main()
