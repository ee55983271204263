"""The one registry: every public algorithm of banditlab, by name, with its protocol.

Adding an algorithm is one file (its kernels and its shell, see README "Adding an algorithm or
a system") plus one line below. ``banditlab list`` prints the registry grouped by protocol, and
a test fails when a class exported by any banditlab module is missing from it.

:data:`banditlab.policies.REGISTRY` is the view of the bandit protocols (K-armed, contextual,
fixed-budget BAI) whose learners run through :func:`banditlab.run_many` and experiment files.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from banditlab.agent import Agent
from banditlab.protocols import PROTOCOLS, Protocol

__all__ = ["ALGORITHMS", "POLICY_NAMES", "algorithms", "by_protocol", "describe", "resolve_policy"]

#: every public algorithm: name -> (module, protocol name). Classes are imported on first use,
#: so ``import banditlab`` does not pay for the systems a user does not touch.
_ENTRIES: dict[str, tuple[str, str]] = {
    # K-armed
    "Uniform": ("banditlab.policies.uniform", "KARMED"),
    "EpsilonGreedy": ("banditlab.policies.epsilon_greedy", "KARMED"),
    "ExploreThenCommit": ("banditlab.policies.etc", "KARMED"),
    "UCB": ("banditlab.policies.ucb", "KARMED"),
    "KLUCB": ("banditlab.policies.klucb", "KARMED"),
    "MOSS": ("banditlab.policies.moss", "KARMED"),
    "BayesUCB": ("banditlab.policies.bayes_ucb", "KARMED"),
    "ThompsonSampling": ("banditlab.policies.thompson", "KARMED"),
    "GaussianThompsonSampling": ("banditlab.policies.thompson", "KARMED"),
    "SuccessiveElimination": ("banditlab.policies.successive_elimination", "KARMED"),
    "EXP3": ("banditlab.policies.exp3", "KARMED"),
    "TsallisINF": ("banditlab.policies.tsallis_inf", "KARMED"),
    # contextual
    "LinUCB": ("banditlab.policies.linucb", "CONTEXTUAL"),
    # fixed-budget best-arm identification
    "SequentialHalving": ("banditlab.policies.sequential_halving", "FIXED_BUDGET_BAI"),
    "SuccessiveRejects": ("banditlab.policies.successive_rejects", "FIXED_BUDGET_BAI"),
    # streaming
    "StreamingUniformExploration": ("banditlab.streaming.algorithms", "STREAMING"),
    "NaiveEpsBest": ("banditlab.streaming.algorithms", "STREAMING"),
    "GameOfArms": ("banditlab.streaming.algorithms", "STREAMING"),
    "LevelAlgorithm": ("banditlab.streaming.algorithms", "STREAMING"),
    # solver sequence (SOR tuning)
    "TsallisINFCB": ("banditlab.sor_tuning.tsallis_inf_cb", "SOLVER_SEQUENCE"),
    "ChebCB": ("banditlab.sor_tuning.chebcb", "SOLVER_SEQUENCE"),
    # episodic (cascading RL)
    "CascadingVI": ("banditlab.cascading.algorithms", "EPISODIC"),
    "CascadingVIBonus": ("banditlab.cascading.algorithms", "EPISODIC"),
    "CascadingVIBothHoeffding": ("banditlab.cascading.algorithms", "EPISODIC"),
    "CascadingVIOracle": ("banditlab.cascading.algorithms", "EPISODIC"),
    "AdaptVI": ("banditlab.cascading.algorithms", "EPISODIC"),
    "CascadingBPI": ("banditlab.cascading.algorithms", "EPISODIC_BPI"),
    "AdaptBPI": ("banditlab.cascading.algorithms", "EPISODIC_BPI"),
    # block coordinate descent
    "BCD": ("banditlab.solvers.bcd_algorithm", "BLOCK_DESCENT"),
}


class _Registry(Mapping[str, type[Agent]]):
    """A read-only name -> class mapping that imports each class when it is first looked up
    and checks that its name and protocol are the declared ones."""

    def __init__(self, entries: dict[str, tuple[str, str]]) -> None:
        self._entries = entries
        self._loaded: dict[str, type[Agent]] = {}

    def __getitem__(self, name: str) -> type[Agent]:
        if name not in self._loaded:
            module, protocol = self._entries[name]
            cls = getattr(importlib.import_module(module), name)
            if cls.__name__ != name or getattr(cls.protocol, "name", None) != protocol:
                raise RuntimeError(f"registry: {name!r} is declared {protocol} in "
                                   f"{module}; found {cls!r} following {cls.protocol!r}")
            self._loaded[name] = cls
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def protocol_name(self, name: str) -> str:
        """The declared protocol of ``name``, without importing its class."""
        return self._entries[name][1]

    def __repr__(self) -> str:
        return f"<banditlab registry of {len(self)} algorithms>"


#: every public algorithm class, by its public name
ALGORITHMS = _Registry(_ENTRIES)


def algorithms(*protocols: Protocol) -> dict[str, type[Agent]]:
    """The registered algorithms of the given protocols (all of them when none is given).

    Only the classes of those protocols are imported.
    """
    names = {p.name for p in protocols}
    return {n: ALGORITHMS[n] for n in ALGORITHMS
            if not protocols or ALGORITHMS.protocol_name(n) in names}


def by_protocol() -> dict[Protocol, dict[str, type[Agent]]]:
    """The registry grouped by protocol, in the order of :data:`~banditlab.protocols.PROTOCOLS`."""
    return {p: algorithms(p) for p in PROTOCOLS.values() if algorithms(p)}


def describe(cls: type) -> str:
    """First line of a class's docstring."""
    return (cls.__doc__ or "").strip().splitlines()[0]


def resolve_policy(name: str) -> type:
    """An algorithm class from its registered name (any protocol) or an import path
    ``"module:Class"`` (of a bandit policy: a user's own policy class).

    Raises ``KeyError`` for an unknown name, ``ImportError``/``AttributeError`` when the path
    cannot be imported, and ``TypeError`` when it names something that is not a
    :class:`~banditlab.policy.Policy` subclass of a bandit protocol.
    """
    from banditlab.policy import Policy

    if isinstance(name, str) and name in ALGORITHMS:
        return ALGORITHMS[name]
    if not isinstance(name, str) or ":" not in name:
        raise KeyError(name)
    module, _, attr = name.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    bandit = ("KARMED", "CONTEXTUAL", "FIXED_BUDGET_BAI")
    if not (isinstance(obj, type) and issubclass(obj, Policy)
            and getattr(obj.protocol, "name", None) in bandit):
        raise TypeError(f"{name!r} is not a banditlab Policy subclass of a bandit protocol "
                        f"({', '.join(bandit)}); got {obj!r}.")
    return obj


class _PolicyNames(Mapping[str, type]):
    """The names experiment files accept: every registered algorithm (listed) and any import
    path ``"module:Class"`` of a bandit Policy subclass (looked up on demand)."""

    def __getitem__(self, name: str) -> type:
        try:
            return resolve_policy(name)
        except (ImportError, AttributeError, TypeError, ValueError) as err:
            raise KeyError(name) from err

    def __contains__(self, name: object) -> bool:
        try:
            self[str(name)]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(ALGORITHMS)

    def __len__(self) -> int:
        return len(ALGORITHMS)


#: names for [[policies]] tables: registered names (any protocol) or "module:Class" import paths
POLICY_NAMES = _PolicyNames()
