"""Built-in policies of the bandit protocols (one file each).

``REGISTRY`` maps the public name of each K-armed, contextual and fixed-budget BAI policy to its
class: a view of the one registry, :data:`banditlab.registry.ALGORITHMS`.
"""

from __future__ import annotations

from banditlab.policies.bayes_ucb import BayesUCB
from banditlab.policies.epsilon_greedy import EpsilonGreedy
from banditlab.policies.etc import ExploreThenCommit
from banditlab.policies.exp3 import EXP3
from banditlab.policies.klucb import KLUCB
from banditlab.policies.linucb import LinUCB
from banditlab.policies.moss import MOSS
from banditlab.policies.sequential_halving import SequentialHalving
from banditlab.policies.successive_elimination import SuccessiveElimination
from banditlab.policies.successive_rejects import SuccessiveRejects
from banditlab.policies.thompson import GaussianThompsonSampling, ThompsonSampling
from banditlab.policies.tsallis_inf import TsallisINF
from banditlab.policies.ucb import UCB
from banditlab.policies.uniform import Uniform
from banditlab.policy import Policy
from banditlab.protocols import CONTEXTUAL, FIXED_BUDGET_BAI, KARMED
from banditlab.registry import algorithms, describe

__all__ = [
    "EXP3",
    "KLUCB",
    "MOSS",
    "REGISTRY",
    "UCB",
    "BayesUCB",
    "EpsilonGreedy",
    "ExploreThenCommit",
    "GaussianThompsonSampling",
    "LinUCB",
    "SequentialHalving",
    "SuccessiveElimination",
    "SuccessiveRejects",
    "ThompsonSampling",
    "TsallisINF",
    "Uniform",
    "describe",
]

#: the bandit-protocol view of :data:`banditlab.registry.ALGORITHMS` (what ``run_many``,
#: experiment files and the bandit contract tests take)
REGISTRY: dict[str, type[Policy]] = {
    n: c for n, c in algorithms(KARMED, CONTEXTUAL, FIXED_BUDGET_BAI).items()
    if issubclass(c, Policy)}
