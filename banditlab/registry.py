"""The one registry: every public algorithm of banditlab, by name, with its protocol.

Adding an algorithm is one file (its kernels and its shell, see README "Adding an algorithm or
a system") plus one line below. ``banditlab list`` prints the registry grouped by protocol, and
a test fails when a class exported by any banditlab module is missing from it.

:data:`banditlab.policies.REGISTRY` is the view of the bandit protocols (K-armed, contextual,
fixed-budget BAI) whose learners run through :func:`banditlab.run_many` and experiment files.
"""

from __future__ import annotations

from banditlab.agent import Agent
from banditlab.cascading.algorithms import (
    AdaptVI,
    CascadingBPI,
    CascadingVI,
    CascadingVIBonus,
    CascadingVIOracle,
)
from banditlab.policies.epsilon_greedy import EpsilonGreedy
from banditlab.policies.etc import ExploreThenCommit
from banditlab.policies.exp3 import EXP3
from banditlab.policies.klucb import KLUCB
from banditlab.policies.linucb import LinUCB
from banditlab.policies.sequential_halving import SequentialHalving
from banditlab.policies.successive_elimination import SuccessiveElimination
from banditlab.policies.successive_rejects import SuccessiveRejects
from banditlab.policies.thompson import GaussianThompsonSampling, ThompsonSampling
from banditlab.policies.tsallis_inf import TsallisINF
from banditlab.policies.ucb import UCB
from banditlab.policies.uniform import Uniform
from banditlab.protocols import PROTOCOLS, Protocol
from banditlab.sor_tuning.chebcb import ChebCB
from banditlab.sor_tuning.tsallis_inf_cb import TsallisINFCB
from banditlab.streaming.algorithms import (
    GameOfArms,
    LevelAlgorithm,
    NaiveEpsBest,
    StreamingUniformExploration,
)

__all__ = ["ALGORITHMS", "algorithms", "by_protocol", "describe"]

#: every public algorithm class, by its public name
ALGORITHMS: dict[str, type[Agent]] = {
    # K-armed
    "Uniform": Uniform,
    "EpsilonGreedy": EpsilonGreedy,
    "ExploreThenCommit": ExploreThenCommit,
    "UCB": UCB,
    "KLUCB": KLUCB,
    "ThompsonSampling": ThompsonSampling,
    "GaussianThompsonSampling": GaussianThompsonSampling,
    "SuccessiveElimination": SuccessiveElimination,
    "EXP3": EXP3,
    "TsallisINF": TsallisINF,
    # contextual
    "LinUCB": LinUCB,
    # solver sequence (SOR tuning)
    "TsallisINFCB": TsallisINFCB,
    "ChebCB": ChebCB,
    # fixed-budget best-arm identification
    "SequentialHalving": SequentialHalving,
    "SuccessiveRejects": SuccessiveRejects,
    # streaming
    "StreamingUniformExploration": StreamingUniformExploration,
    "NaiveEpsBest": NaiveEpsBest,
    "GameOfArms": GameOfArms,
    "LevelAlgorithm": LevelAlgorithm,
    # episodic (cascading RL)
    "CascadingVI": CascadingVI,
    "CascadingVIBonus": CascadingVIBonus,
    "CascadingVIOracle": CascadingVIOracle,
    "AdaptVI": AdaptVI,
    "CascadingBPI": CascadingBPI,
}


def _check() -> None:
    for name, cls in ALGORITHMS.items():
        if name != cls.__name__ or cls.protocol not in PROTOCOLS.values():
            raise RuntimeError(f"registry: {name!r} -> {cls!r} has an undeclared protocol or "
                               "a name that differs from its class")


_check()


def algorithms(*protocols: Protocol) -> dict[str, type[Agent]]:
    """The registered algorithms of the given protocols (all of them when none is given)."""
    return {n: c for n, c in ALGORITHMS.items() if not protocols or c.protocol in protocols}


def by_protocol() -> dict[Protocol, dict[str, type[Agent]]]:
    """The registry grouped by protocol, in the order of :data:`~banditlab.protocols.PROTOCOLS`."""
    return {p: algorithms(p) for p in PROTOCOLS.values() if algorithms(p)}


def describe(cls: type) -> str:
    """First line of a class's docstring."""
    return (cls.__doc__ or "").strip().splitlines()[0]
