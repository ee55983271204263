"""Reproduction registry (discovery, contract of every entry) and the ``baselines`` reproduction."""

from __future__ import annotations

import inspect
import re
import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import rel_entr

from banditlab.reproduce import Reproduction, get_reproduction, list_reproductions
from banditlab.reproductions import baselines


def test_every_module_defines_a_well_formed_reproduction():
    reps = list_reproductions()
    assert "baselines" in reps
    for name, rep in reps.items():
        assert isinstance(rep, Reproduction) and rep.name == name
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", name), name
        assert rep.description.strip() and "\n" not in rep.description
        assert 0 < rep.quick_budget_s <= 180.0, name        # quick mode: < 3 min on 2 cores
        params = inspect.signature(rep.run).parameters
        assert next(iter(params)) == "out"
        for kw in ("full", "seed", "n_jobs"):
            assert params[kw].kind is inspect.Parameter.KEYWORD_ONLY, (name, kw)


def test_get_reproduction_names_the_valid_choices():
    assert get_reproduction("baselines") is list_reproductions()["baselines"]
    with pytest.raises(ValueError, match=r"^reproduce: 'name' must be one of .*'baselines'.*; "
                                         r"got 'nope'\.$"):
        get_reproduction("nope")


def _kl(p: float, q: float) -> float:
    return float(rel_entr(p, q) + rel_entr(1 - p, 1 - q))


def test_lai_robbins_constant_against_scipy_kl():
    means = [0.6, 0.5, 0.5, 0.2]
    expected = 2 * 0.1 / _kl(0.5, 0.6) + 0.4 / _kl(0.2, 0.6)
    assert baselines.lai_robbins_constant(means) == pytest.approx(expected, rel=1e-12)
    assert baselines.lai_robbins_constant([0.3, 0.3]) == 0.0      # no suboptimal arm
    with pytest.raises(ValueError, match=r"'means' must be a 1-d array of floats in \(0, 1\)"):
        baselines.lai_robbins_constant([0.0, 0.5])


def test_make_policies_validates_and_uses_the_documented_settings():
    pols = baselines.make_policies(10, 2000)
    assert len(pols) == 8 and "ETC(m=35)" in pols          # ceil((2000 / 10) ** (2/3)) = 35
    assert pols["SuccElim"].get_params()["delta"] == pytest.approx(1 / 2000)
    with pytest.raises(ValueError, match=r"make_policies: 'horizon' must be an int in "
                                         r"\[10, inf\); got 5\."):
        baselines.make_policies(10, 5)


def test_baselines_quick_run(tmp_path):
    start = time.perf_counter()
    paths = baselines.run(tmp_path, full=False, seed=0, n_jobs=None)
    elapsed = time.perf_counter() - start
    assert elapsed < baselines.REPRODUCTION.quick_budget_s
    names = sorted(p.name for p in paths)
    assert names == sorted(["baselines_summary.csv", "baselines_summary.parquet",
                            "baselines_curves.csv", "baselines_curves.parquet",
                            "baselines_regret.png", "baselines_final_regret.png"])
    assert all(p.is_file() for p in paths)
    summary = pd.read_csv(tmp_path / "baselines_summary.csv")
    pd.testing.assert_frame_equal(summary, pd.read_parquet(tmp_path / "baselines_summary.parquet"),
                                  check_dtype=False)
    assert len(summary) == 16 and set(summary["instance"]) == set(baselines.INSTANCES)
    reg = summary.set_index(["instance", "policy"])["mean_regret"]
    horizon = int(summary["horizon"].iloc[0])
    for instance, means in baselines.INSTANCES.items():
        # round-robin uniform play: exactly horizon / K pulls of every arm (closed form)
        closed_form = horizon / len(means) * float(np.sum(means.max() - means))
        assert reg[(instance, "Uniform")] == pytest.approx(closed_form, rel=1e-12)
    # the classic ordering on the easy instance (margins are > 5 sems at this seed)
    easy = reg["linspace"]
    assert easy["Thompson"] < easy["UCB1"] < easy["Uniform"]
    assert easy["KL-UCB"] < easy["UCB1"]
    curves = pd.read_parquet(tmp_path / "baselines_curves.parquet")
    last = curves[curves["t"] == horizon].set_index(["instance", "policy"])["mean_regret"]
    pd.testing.assert_series_equal(last.sort_index(), reg.sort_index(), check_names=False)


def test_baselines_rejects_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match=r"baselines: 'full' must be a bool"):
        baselines.run(tmp_path, full=1, seed=0, n_jobs=None)
    with pytest.raises(ValueError,
                       match=r"baselines: 'n_jobs' must be None, -1 or an int in \[1, inf\)"):
        baselines.run(tmp_path, full=False, seed=0, n_jobs=0)
