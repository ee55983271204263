"""One registry: every public algorithm class of every banditlab module is registered."""

from __future__ import annotations

import importlib
import pkgutil
import types
from pathlib import Path

import pytest

import banditlab
from banditlab.agent import Agent
from banditlab.protocols import PROTOCOLS, Kernels
from banditlab.registry import ALGORITHMS, algorithms, by_protocol


def _all_modules() -> list[types.ModuleType]:
    """banditlab and every module below it (the checkout's envs/solvers/theory_checks too)."""
    mods = [banditlab]
    trees = [([str(Path(banditlab.__file__).parent)], "banditlab.")]
    trees += [(importlib.import_module(f"banditlab.{sub}").__path__, f"banditlab.{sub}.")
              for sub in ("envs", "solvers", "theory_checks")]
    for path, prefix in trees:
        for info in pkgutil.walk_packages(path, prefix=prefix):
            if info.name != "banditlab.__main__":
                mods.append(importlib.import_module(info.name))
    return mods


def _is_algorithm(obj: object) -> bool:
    """A concrete learner: an Agent subclass with the kernels of its own protocol (bases such
    as Policy or PythonPolicy have none)."""
    if not (isinstance(obj, type) and issubclass(obj, Agent)):
        return False
    kernels = getattr(obj, "kernels", None)
    return isinstance(kernels, Kernels) and all(
        getattr(kernels, k) is not None for k in obj.protocol.kernels)


def unregistered(modules: list[types.ModuleType]) -> set[str]:
    """Algorithm classes exported (``__all__``) by ``modules`` but absent from the registry."""
    registered = set(ALGORITHMS.values())
    missing = set()
    for mod in modules:
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if _is_algorithm(obj) and obj not in registered:
                missing.add(f"{mod.__name__}.{name}")
    return missing


def test_every_exported_algorithm_is_registered() -> None:
    modules = _all_modules()
    assert len(modules) > 40
    assert unregistered(modules) == set()


def test_canary_an_unregistered_export_is_found() -> None:
    from banditlab.policies.ucb import UCB, UCBParams

    class Unlisted(UCB):
        """A policy somebody forgot to register."""

        kernels = UCB.kernels._replace()          # its own Kernels object, same kernels

    fake = types.ModuleType("banditlab.fake")
    fake.__all__ = ["Unlisted", "UCBParams"]
    fake.Unlisted, fake.UCBParams = Unlisted, UCBParams
    assert unregistered([fake]) == {"banditlab.fake.Unlisted"}


def test_registry_names_protocols_and_views() -> None:
    for name, cls in ALGORITHMS.items():
        assert cls.__name__ == name
        assert cls.protocol in PROTOCOLS.values()
        for kernel in cls.protocol.kernels:                 # the protocol's kernels exist
            assert getattr(cls.kernels, kernel) is not None, (name, kernel)
    grouped = by_protocol()
    assert sum(len(v) for v in grouped.values()) == len(ALGORITHMS)
    assert {p.name for p in grouped} == set(PROTOCOLS)      # every protocol has algorithms
    assert set(banditlab.REGISTRY) <= set(ALGORITHMS)
    assert algorithms() == ALGORITHMS


@pytest.mark.parametrize("protocol", list(PROTOCOLS.values()), ids=list(PROTOCOLS))
def test_every_protocol_has_one_importable_loop(protocol) -> None:
    loop = protocol.resolve_loop()
    assert callable(loop)
    assert loop.__name__ == protocol.loop.split(":")[1]


def test_every_subpackage_is_installed() -> None:
    """pyproject's explicit package list names every package folder (else a fresh install
    lacks it while the checkout still imports)."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(("banditlab", *p.parent.relative_to(root / "banditlab").parts))
             for p in (root / "banditlab").rglob("__init__.py")}
    found |= {f"banditlab.{d}" for d in ("envs", "solvers", "theory_checks")}
    assert found - listed == set()


def test_import_banditlab_does_not_import_every_system() -> None:
    """The registry imports a class on first use: the research systems' algorithm modules stay
    out of ``import banditlab`` (its time roughly doubled when they were imported eagerly)."""
    import subprocess
    import sys

    code = ("import sys, banditlab; mods = [m for m in ('banditlab.sor_tuning', "
            "'banditlab.cascading.algorithms', 'banditlab.streaming.algorithms') "
            "if m in sys.modules]; print(mods)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
