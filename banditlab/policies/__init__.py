"""Built-in policies. ``REGISTRY`` maps each public name to its class (one line each)."""

from __future__ import annotations

from banditlab.policies.chebcb import ChebCB
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
from banditlab.policies.tsallis_inf_cb import TsallisINFCB
from banditlab.policies.ucb import UCB
from banditlab.policies.uniform import Uniform
from banditlab.policy import Policy

__all__ = [
    "EXP3",
    "KLUCB",
    "REGISTRY",
    "UCB",
    "ChebCB",
    "EpsilonGreedy",
    "ExploreThenCommit",
    "GaussianThompsonSampling",
    "LinUCB",
    "SequentialHalving",
    "SuccessiveElimination",
    "SuccessiveRejects",
    "ThompsonSampling",
    "TsallisINF",
    "TsallisINFCB",
    "Uniform",
]

REGISTRY: dict[str, type[Policy]] = {
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
    "LinUCB": LinUCB,
    "SequentialHalving": SequentialHalving,
    "SuccessiveRejects": SuccessiveRejects,
}


def describe(cls: type[Policy]) -> str:
    """First line of a policy's docstring."""
    return (cls.__doc__ or "").strip().splitlines()[0]
