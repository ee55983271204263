"""Generated invalid arguments for the public entry points beyond the registered algorithms:
runners, solvers, loaders and theory checks.

Every argument is described by its kind (an int in a range, a float in a range, a bool, an
option, a seed, a path, ...); hypothesis draws values of the wrong type or outside the range,
and each must raise ``TypeError`` or ``ValueError`` with the library's one template,
``<owner>: '<name>' must be ...`` -- never another exception, a silent acceptance or a hang.
(Constructors of algorithms and envs are covered the same way by ``test_algorithms.py`` and
``test_envs.py``, from their declared constraints.)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import banditlab as bl
from banditlab.cascading import CascadingVI, run_episodes
from banditlab.envs.cascading import CascadingMDP
from banditlab.envs.streaming import StreamingBandit
from banditlab.solvers import BCD, bcd, poisson_2d, sor, ssor_pcg
from banditlab.solvers.bcd_problems import LeastSquares
from banditlab.store import load_store
from banditlab.streaming import run_streaming
from banditlab.systems import run_system
from banditlab.theory_checks import (
    exp3_regret_bound,
    hoeffding_slack,
    moss_regret_bound,
    ucb_regret_bound,
)

_WRONG_TYPES = st.one_of(st.text(max_size=3), st.lists(st.integers(), max_size=2),
                         st.just(object()), st.just(complex(1, 1)))


def bad_int(low: int | None, high: int | None) -> st.SearchStrategy:
    out = [_WRONG_TYPES, st.booleans(), st.floats(allow_nan=True, allow_infinity=True)]
    if low is not None:
        out.append(st.integers(max_value=low - 1))
    if high is not None:
        out.append(st.integers(min_value=high + 1))
    return st.one_of(*out)


def bad_real(low: float | None, high: float | None, *, open_low: bool = False) -> st.SearchStrategy:
    out = [_WRONG_TYPES, st.booleans(), st.sampled_from([math.nan, math.inf, -math.inf])]
    if low is not None:
        out.append(st.floats(max_value=low, exclude_max=not open_low, allow_nan=False,
                             allow_infinity=False))
    if high is not None:
        out.append(st.floats(min_value=high, exclude_min=True, allow_nan=False,
                             allow_infinity=False))
    return st.one_of(*out)


BAD_BOOL = st.one_of(_WRONG_TYPES, st.integers(), st.floats(allow_nan=False))
BAD_OPTION = st.one_of(_WRONG_TYPES.filter(lambda v: not isinstance(v, str)),
                       st.text(min_size=1, max_size=5).filter(lambda s: s not in (
                           "auto", "kernel", "python", "forward", "backward", "symmetric",
                           "textbook", "repo", "sorted", "gs", "gradient")))
BAD_SEED = st.one_of(_WRONG_TYPES, st.booleans(), st.integers(max_value=-1),
                     st.floats(allow_nan=True))
BAD_N_JOBS = st.one_of(_WRONG_TYPES, st.booleans(), st.floats(allow_nan=False),
                       st.integers(max_value=-2), st.just(0))
BAD_PATH = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(),
                     st.lists(st.integers(), max_size=2))


def _bandit_env() -> bl.BernoulliBandit:
    return bl.BernoulliBandit([0.2, 0.5], horizon=20)


def _stream_env() -> StreamingBandit:
    return StreamingBandit([0.2, 0.4, 0.6, 0.8], horizon=100, memory=2)


def _cascade_env() -> CascadingMDP:
    return CascadingMDP([[0.5, 0.2, 0.1], [0.3, 0.3, 0.6]], [[1.0, 0.5, 0.2], [0.4, 0.9, 0.7]],
                        [[[0.5, 0.5]] * 4, [[0.2, 0.8]] * 4], list_size=2, horizon=3)


def _ls() -> LeastSquares:
    rng = np.random.default_rng(0)
    return LeastSquares(rng.standard_normal((8, 4)), rng.standard_normal(8))


#: (owner in the message, a call taking one keyword, the keyword, invalid values)
CASES: list[tuple[str, Callable[..., Any], str, st.SearchStrategy]] = [
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "n_runs",
     bad_int(1, 2**31)),
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "horizon",
     bad_int(1, 20)),
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "engine", BAD_OPTION),
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "seed", BAD_SEED),
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "n_jobs",
     BAD_N_JOBS),
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "progress",
     st.one_of(_WRONG_TYPES, st.integers(), st.floats(allow_nan=False))),
    ("run_many", lambda **kw: bl.run_many(bl.UCB(2), _bandit_env(), **kw), "check_rewards",
     BAD_BOOL),
    ("run_many", lambda **kw: bl.run(bl.UCB(2), _bandit_env(), **kw), "seed", BAD_SEED),
    ("run_streaming", lambda **kw: run_streaming(bl.NaiveEpsBest(), _stream_env(), **kw),
     "n_runs", bad_int(1, 2**31)),
    ("run_streaming", lambda **kw: run_streaming(bl.NaiveEpsBest(), _stream_env(), **kw),
     "seed", BAD_SEED),
    ("run_streaming", lambda **kw: run_streaming(bl.NaiveEpsBest(), _stream_env(), **kw),
     "n_jobs", BAD_N_JOBS),
    ("run_episodes", lambda **kw: run_episodes(CascadingVI.for_env(_cascade_env()),
                                               _cascade_env(), **{"n_episodes": 5, **kw}),
     "n_episodes", bad_int(1, None)),
    ("run_episodes", lambda **kw: run_episodes(CascadingVI.for_env(_cascade_env()),
                                               _cascade_env(), 5, **kw), "n_runs",
     bad_int(1, 2**31)),
    ("run_episodes", lambda **kw: run_episodes(CascadingVI.for_env(_cascade_env()),
                                               _cascade_env(), 5, **kw), "seed", BAD_SEED),
    ("run_system", lambda **kw: run_system(BCD(partition="variable"), _ls(),
                                           **{"horizon": 3, **kw}), "horizon", bad_int(1, None)),
    ("run_system", lambda **kw: run_system(BCD(partition="variable"), _ls(), 3, **kw),
     "n_runs", bad_int(1, 2**31)),
    ("run_system", lambda **kw: run_system(BCD(partition="variable"), _ls(), 3, **kw),
     "engine", BAD_OPTION),
    ("run_system", lambda **kw: run_system(BCD(partition="variable"), _ls(), 3, **kw),
     "seed", BAD_SEED),
    ("run_system", lambda **kw: run_system(BCD(partition="variable"), _ls(), 3, **kw),
     "n_jobs", BAD_N_JOBS),
    ("run_system", lambda **kw: run_system(BCD(partition="variable"), _ls(), 3, **kw),
     "check_rewards", BAD_BOOL),
    ("sor", lambda **kw: sor(poisson_2d(3), np.ones(9), **{"omega": 1.2, **kw}), "omega",
     bad_real(0.0, 2.0, open_low=True).filter(lambda v: not (isinstance(v, float) and v == 2.0))
     ),
    ("sor", lambda **kw: sor(poisson_2d(3), np.ones(9), omega=1.2, **kw), "maxiter",
     bad_int(1, None)),
    ("sor", lambda **kw: sor(poisson_2d(3), np.ones(9), omega=1.2, **kw), "tol",
     bad_real(0.0, None)),
    ("sor", lambda **kw: sor(poisson_2d(3), np.ones(9), omega=1.2, **kw), "sweep", BAD_OPTION),
    ("ssor_pcg", lambda **kw: ssor_pcg(poisson_2d(3), np.ones(9), omega=1.2, **kw), "maxiter",
     bad_int(1, None)),
    ("ssor_pcg", lambda **kw: ssor_pcg(poisson_2d(3), np.ones(9), omega=1.2, **kw), "order",
     BAD_OPTION),
    ("bcd", lambda **kw: bcd(_ls(), **kw), "max_iter", bad_int(0, None)),
    ("bcd", lambda **kw: bcd(_ls(), **kw), "block_size", bad_int(1, None)),
    ("bcd", lambda **kw: bcd(_ls(), **kw), "selection", BAD_OPTION),
    ("bcd", lambda **kw: bcd(_ls(), **kw), "update", BAD_OPTION),
    ("Results.load", lambda **kw: bl.load_results(**kw), "path", BAD_PATH),
    ("load_store", lambda **kw: load_store(**kw), "path", BAD_PATH),
    ("ucb_regret_bound", lambda **kw: ucb_regret_bound(**{"means": [0.1, 0.5],
                                                          "horizon": 10, "sigma": 1.0, **kw}),
     "sigma", bad_real(0.0, None)),
    ("ucb_regret_bound", lambda **kw: ucb_regret_bound(**{"means": [0.1, 0.5],
                                                          "horizon": 10, "sigma": 1.0, **kw}),
     "horizon", bad_int(1, None)),
    ("moss_regret_bound", lambda **kw: moss_regret_bound(**{"n_arms": 2, "horizon": 10, **kw}),
     "n_arms", bad_int(1, None)),
    ("exp3_regret_bound", lambda **kw: exp3_regret_bound(**{"n_arms": 2, "horizon": 10, **kw}),
     "n_arms", bad_int(2, None)),
    ("hoeffding_slack", lambda **kw: hoeffding_slack(**{"n": 3, "width": 1.0,
                                                        "fail_prob": 0.1, **kw}),
     "fail_prob", bad_real(0.0, 1.0)),
]


@pytest.mark.parametrize(("owner", "call", "name", "values"), CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_invalid_arguments_get_the_template(owner: str, call: Callable[..., Any], name: str,
                                            values: st.SearchStrategy) -> None:
    pattern = re.compile(rf"^{re.escape(owner)}: '{name}' must be ")

    @settings(max_examples=15, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(value=values)
    def check(value: Any) -> None:
        with pytest.raises((TypeError, ValueError)) as info:
            call(**{name: value})
        assert pattern.match(str(info.value)), (value, str(info.value))

    check()


def test_loaders_name_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"^Results\.load: no meta\.json in "):
        bl.load_results(tmp_path / "nothing")
    with pytest.raises(bl.ConfigError, match=r"^load_store: 'path' must be a sweep store "
                                             r"directory with a manifest\.json; got "):
        load_store(tmp_path / "nothing")


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: bl.UCB(2**31), r"^UCB: 'n_arms' must be an int in \[1, 16777216\]; got 2147483648"),
    (lambda: bl.run_many(bl.UCB(2), _bandit_env(), n_runs=2**63),
     r"^run_many: 'n_runs' must be an int in \[1, 2147483648\]"),
    (lambda: bl.run_many(bl.UCB(2), bl.BernoulliBandit([0.2, 0.5], horizon=10**9),
                         n_runs=2**30, checkpoints=1000),
     r"^run_many: n_runs=1073741824 x \(1000 checkpoints \+ 2 arms\) needs about .* GiB of "
     r"memory, more than the .* allowed"),
    (lambda: bl.LinUCB(2, n_features=2**20),
     r"^LinUCB: 'n_features' must be an int in \[1, \d+\] \(.* needs about .* GiB.*\); "
     r"got 1048576\.$"),
    (lambda: CascadingVI(n_states=2**20, n_items=10, list_size=3, horizon=3),
     r"^CascadingVI: n_states=1048576, n_items=10, list_size=3, horizon=3 needs about"),
    (lambda: bl.AdaptVI(n_states=2, n_items=2**20, list_size=10, horizon=3),
     r"^AdaptVI: n_states=2, n_lists=4\.61e\+18 .* needs about"),
    (lambda: bl.BernoulliBandit([0.5], horizon=2**63),
     r"^BernoulliBandit: 'horizon' must be an int in \[1, 4611686018427387904\]"),
    (lambda: bl.GaussianBandit([1e300, 0.0]),
     r"^GaussianBandit: 'means' must be .* entries in \[-1e\+100, 1e\+100\]"),
    (lambda: bl.LinearBandit([1.0, 1e300], n_arms=3),
     r"^LinearBandit: 'theta' must be .* entries in \[-1e\+100, 1e\+100\]"),
], ids=["n_arms", "n_runs", "results-memory", "linucb-memory", "cascading-memory",
        "adaptvi-lists", "horizon", "gaussian-means", "linear-theta"])
def test_sizes_are_checked_before_allocation(call: Callable[[], Any], pattern: str) -> None:
    """Sizes that validate as numbers but could not be allocated are refused up front, with
    the sizes and the estimate named (no MemoryError, OverflowError or hang)."""
    with pytest.raises(ValueError, match=pattern):
        call()
