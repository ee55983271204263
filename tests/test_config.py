"""Experiment files (the one schema of ``banditlab run`` and sweeps): parsing, filled-in
arguments and one error per bad field."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from banditlab import EXP3, UCB, ConfigError, LinUCB
from banditlab.config import default_checkpoints, load_config, parse_config
from banditlab.envs import ENV_REGISTRY
from banditlab.policies import REGISTRY
from banditlab.runner import run_many

MEANS = [0.2, 0.5, 0.7]


def _base() -> dict:
    return {
        "horizon": 60, "n_seeds": 3, "seed": 4,
        "envs": [{"id": "banditlab/BernoulliBandit-v0", "kwargs": {"means": list(MEANS)}}],
        "policies": [{"name": "UCB"}, {"name": "EXP3"}],
    }


def test_valid_config_builds_every_pair_with_filled_arguments():
    data = _base()
    data["envs"].append({"id": "banditlab/BernoulliBandit-v0", "label": "two arms",
                         "kwargs": {"means": [0.1, 0.9], "horizon": 100}})
    cfg = parse_config(data, source="demo.toml")
    assert cfg.name == "demo"
    assert (cfg.horizon, cfg.n_runs, cfg.seed, cfg.engine) == (60, 3, 4, "auto")
    assert [(j.policy_label, j.env_label) for j in cfg.jobs] == [
        ("UCB", "BernoulliBandit"), ("EXP3", "BernoulliBandit"),
        ("UCB", "two arms"), ("EXP3", "two arms")]
    # n_arms comes from each env; EXP3's horizon and the first env's horizon from horizon
    assert [j.policy.n_arms for j in cfg.jobs] == [3, 3, 2, 2]
    assert isinstance(cfg.jobs[1].policy, EXP3)
    assert cfg.jobs[1].policy.get_params()["horizon"] == 60
    assert cfg.envs[0].env.horizon == 60 and cfg.envs[1].env.horizon == 100
    np.testing.assert_array_equal(cfg.envs[1].env.means, [0.1, 0.9])
    # the filled-in horizon is not part of what the user gave
    assert cfg.envs[0].kwargs == {"means": MEANS}


def test_linspace_and_one_valued_axes_are_equivalent_to_the_values():
    spaced = _base()
    spaced["envs"][0]["kwargs"]["means"] = {"linspace": [0.1, 0.9, 5]}
    table = _base()
    table["envs"][0] = {"id": "banditlab/BernoulliBandit-v0",
                        "grid": {"means": [[0.1, 0.3, 0.5, 0.7, 0.9]]}}
    a, b = parse_config(spaced), parse_config(table)
    np.testing.assert_allclose(a.envs[0].env.means, np.linspace(0.1, 0.9, 5), rtol=0, atol=0)
    np.testing.assert_allclose(a.envs[0].env.means, b.envs[0].env.means, atol=1e-15)


def test_defaults_and_overrides():
    data = _base()
    del data["seed"], data["n_seeds"]
    cfg = parse_config(data)
    assert cfg.seed is None and cfg.n_runs == 10 and cfg.engine == "auto"
    ck = default_checkpoints(60)
    np.testing.assert_array_equal(cfg.checkpoints, ck)
    assert ck[-1] == 60 and np.all(np.diff(ck) > 0)
    # the default merges evenly spaced and log-spaced rounds (both plot scales)
    big = default_checkpoints(100_000)
    assert big[0] == 1 and 500 in big and big[-1] == 100_000
    cfg = parse_config(data, engine="python", seed=9)
    assert cfg.engine == "python" and cfg.seed == 9
    data["checkpoints"] = [10, 30]
    np.testing.assert_array_equal(parse_config(data).checkpoints, [10, 30, 60])


def test_duplicate_policies_get_distinct_labels():
    data = _base()
    data["policies"] = [{"name": "UCB"}, {"name": "UCB", "params": {"alpha": 0.5}},
                        {"name": "UCB"}]
    labels = [j.policy_label for j in parse_config(data).jobs]
    assert labels == ["UCB#0", "UCB(alpha=0.5)", "UCB#2"]
    assert all(isinstance(j.policy, UCB) for j in parse_config(data).jobs)


def test_contextual_policy_gets_n_features_from_a_linear_env():
    data = _base()
    data["envs"] = [{"id": "banditlab/LinearBandit-v0",
                     "kwargs": {"theta": [1.0, 0.0, -1.0], "n_arms": 4}}]
    data["policies"] = [{"name": "LinUCB"}, {"name": "UCB"}]
    cfg = parse_config(data)
    pol = cfg.jobs[0].policy
    assert isinstance(pol, LinUCB) and pol.get_params()["n_features"] == 3 and pol.n_arms == 4


def _set(path: str, value):
    """A copy of the base config with one (dotted, indexed) entry replaced or deleted."""
    def edit(data: dict) -> dict:
        data = copy.deepcopy(data)
        keys = path.split(".")
        node = data
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = int(keys[-1]) if keys[-1].isdigit() else keys[-1]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return data
    return edit


_DELETE = object()

INVALID = {
    "bad value": (_set("policies.1.params", {"eta": -1.0}),
                  r"^policies\[1\]\.params\.eta: EXP3: 'eta' must be a float in \(0, inf\) or "
                  r"None; got -1\.0\.$"),
    "bad type": (_set("policies.0.params", {"alpha": "2"}),
                 r"^policies\[0\]\.params\.alpha: UCB: 'alpha' must be a float in \(0, inf\); "
                 r"got str"),
    "bool is not a number": (_set("horizon", True),
                             r"^horizon: must be an int in \[1, 4611686018427387904\]; got bool"),
    "unknown policy": (_set("policies.0.name", "UCB2"),
                       r"^policies\[0\]\.name: must be one of 'Uniform', .*'UCB', .*got 'UCB2'"),
    "unknown env": (_set("envs.0.id", "banditlab/Nope-v0"),
                    r"^envs\[0\]\.id: must be one of 'banditlab/BernoulliBandit-v0'.*got "
                    r"'banditlab/Nope-v0'"),
    "unknown policy argument": (_set("policies.0.params", {"alpah": 1.0}),
                                r"^policies\[0\]\.params\.alpah: not an argument of UCB; its "
                                r"arguments: 'alpha', 'sigma'\.$"),
    "unknown env argument": (_set("envs.0.kwargs.sigma", 1.0),
                             r"^envs\[0\]\.kwargs\.sigma: not an argument of "
                             r"banditlab/BernoulliBandit-v0; its arguments: .*'means', "
                             r"'horizon'\.$"),
    "argument written inline": (_set("policies.0.alpha", 1.0),
                                r"^policies\[0\]\.alpha: unknown key; the keys of \[\[policies\]\] "
                                r"are 'name', 'label', 'params', 'grid' \(constructor arguments "
                                r"go in params = \{ \.\.\. \}\)\.$"),
    "unknown top-level key": (_set("runs", 5), r"^runs: unknown top-level key; allowed: "
                                               r"'name', 'horizon', 'n_seeds'"),
    "old dialect": (_set("policy", []), r"^policy: renamed \[\[policies\]\]"),
    "missing horizon": (_set("horizon", _DELETE),
                        r"^horizon: missing; must be an int in \[1, 4611686018427387904\]\.$"),
    "missing policies": (_set("policies", _DELETE),
                         r"^policies: missing; add at least one \[\[policies\]\] table"),
    "empty env list": (_set("envs", []), r"^envs: must be a non-empty array of tables"),
    "single [envs] table": (_set("envs", {"id": "banditlab/BernoulliBandit-v0"}),
                            r"^envs: must be an array of tables \(\[\[envs\]\]"),
    "missing policy name": (_set("policies.0.name", _DELETE),
                            r"^policies\[0\]\.name: missing; must be one of 'Uniform'"),
    "missing env argument": (_set("envs.0.kwargs.means", _DELETE),
                             r"^envs\[0\]\.kwargs\.means: missing; required by "
                             r"banditlab/BernoulliBandit-v0"),
    "bad env value": (_set("envs.0.kwargs.means", [0.2, 1.5]),
                      r"^envs\[0\]\.kwargs\.means: BernoulliBandit: 'means' must be .* in "
                      r"\[0, 1\]"),
    "n_arms given": (_set("policies.0.params", {"n_arms": 3}),
                     r"^policies\[0\]\.params\.n_arms: set from each env"),
    "env shorter than horizon": (_set("envs.0.kwargs.horizon", 10),
                                 r"^envs\[0\]\.kwargs\.horizon: the env has horizon 10, shorter "
                                 r"than horizon = 60"),
    "bad engine": (_set("engine", "numba"),
                   r"^engine: must be one of 'auto', 'kernel', 'python'; got 'numba'\.$"),
    "negative seed": (_set("seed", -1), r"^seed: must be an int in \[0, inf\); got -1\.$"),
    "bad checkpoints": (_set("checkpoints", [30, 10]), r"^checkpoints: .*strictly increasing"),
    "bad linspace": (_set("envs.0.kwargs.means", {"linspace": [0.1, 0.9]}),
                     r"^envs\[0\]\.kwargs\.means\.linspace: must be \[start, stop, num\]"),
    "other inline table": (_set("envs.0.kwargs.means", {"range": [1, 2]}),
                           r"^envs\[0\]\.kwargs\.means: an inline table must be \{ linspace"),
    "argument given twice": (_set("envs.0.grid", {"means": [[0.5, 0.6]]}),
                             r"^envs\[0\]\.grid\.means: given twice"),
    "an axis with two values": (_set("policies.0.grid", {"alpha": [0.5, 2.0]}),
                                r"^policies\[0\]\.grid\.alpha: banditlab run takes one value "
                                r"per axis; .*banditlab sweep"),
    "duplicate labels": (_set("policies", [{"name": "UCB", "label": "a"},
                                           {"name": "EXP3", "label": "a"}]),
                         r"^policies\[1\]\.label: must be unique; 'a' is also the label of "
                         r"policies\[0\]\."),
    "contextual policy on a K-armed env": (_set("policies.0.name", "LinUCB"),
                                           r"^policies\[0\]: LinUCB follows CONTEXTUAL and "
                                           r"cannot run on envs\[0\].*'banditlab/LinearBandit"),
    "policy invalid for this env": (_set("policies", [{"name": "SequentialHalving"}]),
                                    None),
    "kernel engine impossible": (_set("envs", [{"id": "banditlab/LinearBandit-v0",
                                                "kwargs": {"theta": [1.0], "n_arms": 2}}]),
                                 None),
}


@pytest.mark.parametrize("case", list(INVALID), ids=list(INVALID))
def test_invalid_config_raises_one_config_error_naming_the_field(case):
    edit, pattern = INVALID[case]
    data = edit(_base())
    if case == "policy invalid for this env":
        data["envs"][0]["kwargs"]["means"] = [0.5]    # SequentialHalving needs at least 2 arms
        pattern = (r"^policies\[0\] on envs\[0\] \(BernoulliBandit\): SequentialHalving: "
                   r"'n_arms' must be an int in \[2, 16777216\]; got 1\.$")
    if case == "kernel engine impossible":
        data["engine"] = "kernel"   # UCB on a linear env runs on Python only
        pattern = r"^engine: UCB: engine='kernel' needs a 'karmed' env"
    with pytest.raises(ConfigError, match=pattern) as info:
        parse_config(data)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_override_errors_name_the_option():
    with pytest.raises(ConfigError, match=r"^--engine: must be one of 'auto', 'kernel', "):
        parse_config(_base(), engine="fast")
    with pytest.raises(ConfigError, match=r"^--seed: must be an int in \[0, inf\); got -3\.$"):
        parse_config(_base(), seed=-3)


def test_load_config_reads_toml_and_reports_file_errors(tmp_path: Path):
    good = tmp_path / "good.toml"
    good.write_text('horizon = 20\n[[envs]]\nid = "banditlab/BernoulliBandit-v0"\n'
                    'kwargs = { means = [0.3, 0.6] }\n[[policies]]\nname = "Uniform"\n'
                    'params = { mode = "random" }\n')
    cfg = load_config(good)
    assert cfg.name == "good" and cfg.jobs[0].policy.get_params()["mode"] == "random"
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\nhorizon = = 3\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML: .*line 2"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"missing\.toml: no such file\.$"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(TypeError, match=r"load_config: 'path' must be a str or Path"):
        load_config(3)


def test_quickstart_example_is_valid():
    root = Path(__file__).resolve().parent.parent
    cfg = load_config(root / "examples" / "quickstart.toml")
    names = {j.policy.name for j in cfg.jobs}
    assert names == {"UCB", "KLUCB", "ThompsonSampling", "EpsilonGreedy", "EXP3", "Uniform"}
    assert cfg.horizon == 10_000 and cfg.n_runs == 20 and cfg.seed == 0
    np.testing.assert_allclose(cfg.envs[0].env.means, np.linspace(0.1, 0.9, 10))


_FILLED = ("horizon", "budget", "n_features")


@pytest.mark.parametrize("env_id", list(ENV_REGISTRY))
def test_every_accepted_pair_runs_and_every_rejected_pair_names_the_policy(env_id):
    """Validation is complete: a config that parses runs; one that does not is a ConfigError."""
    cls, _, example = ENV_REGISTRY[env_id]
    probe = cls(**example)
    horizon = min(20, int(probe.horizon))
    env_kwargs = {k: v for k, v in example.items() if k != "horizon"}
    accepted = []
    for name, pcls in REGISTRY.items():
        kwargs = {k: v for k, v in pcls._contract_kwargs.items() if k not in _FILLED}
        data = {"horizon": horizon, "n_seeds": 1, "seed": 0,
                "envs": [{"id": env_id, "kwargs": env_kwargs}],
                "policies": [{"name": name, "params": kwargs}]}
        try:
            cfg = parse_config(data)
        except ConfigError as exc:
            assert str(exc).startswith("policies[0]"), str(exc)
            continue
        job = cfg.jobs[0]
        res = run_many(job.policy, job.env, cfg.horizon, n_runs=1, seed=0, engine=cfg.engine,
                       checkpoints=cfg.checkpoints)
        assert res.regret.shape == (1, cfg.checkpoints.shape[0])
        accepted.append(name)
    if getattr(probe, "family", None) == "karmed":
        assert "Uniform" in accepted                  # assumes nothing: fits every env
        if probe.reward_model.kind in ("bernoulli", "bounded"):
            assert {"UCB", "EXP3"} <= set(accepted)
    if getattr(probe, "family", None) == "linear":
        assert "LinUCB" in accepted
