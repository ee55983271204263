"""banditlab: fast, tested bandit policies, environments and experiment tools.

Public API::

    from banditlab import UCB, BernoulliBandit, run_many
    res = run_many(UCB(3), BernoulliBandit([0.2, 0.5, 0.7], horizon=1000), n_runs=20, seed=0)
    res.plot(log=True)
"""

from __future__ import annotations

from banditlab import (
    _checkout as _checkout,  # first: maps envs/solvers/theory_checks in a checkout
)
from banditlab import (
    envs,  # registers the gymnasium ids
)
from banditlab._interrupt import install as _install_interrupt_handler
from banditlab._validation import Boolean, Integer, Options, Real
from banditlab._warmup import warmup
from banditlab.envs import (
    AdversarialBandit,
    BanditEnv,
    BernoulliBandit,
    BetaBandit,
    ExponentialBandit,
    GaussianBandit,
    LinearBandit,
    PoissonBandit,
)
from banditlab.errors import (
    BanditlabError,
    BanditlabWarning,
    ConfigError,
    IncompatibleEnvError,
)
from banditlab.policies import (
    EXP3,
    KLUCB,
    MOSS,
    REGISTRY,
    UCB,
    BayesUCB,
    EpsilonGreedy,
    ExploreThenCommit,
    GaussianThompsonSampling,
    LinUCB,
    SequentialHalving,
    SuccessiveElimination,
    SuccessiveRejects,
    ThompsonSampling,
    TsallisINF,
    Uniform,
)
from banditlab.policy import Policy
from banditlab.protocols import CONTEXTUAL, FIXED_BUDGET_BAI, KARMED
from banditlab.python_policy import PythonPolicy
from banditlab.results import Results, bai_error_rate, load_results
from banditlab.reward_models import RewardModel, RewardModelError
from banditlab.runner import run, run_many

__version__ = "0.1.0"

_install_interrupt_handler()   # Ctrl-C never inside a kernel call's conversion (see the module)

__all__ = [
    "CONTEXTUAL",
    "EXP3",
    "FIXED_BUDGET_BAI",
    "KARMED",
    "KLUCB",
    "MOSS",
    "REGISTRY",
    "UCB",
    "AdversarialBandit",
    "BanditEnv",
    "BanditlabError",
    "BanditlabWarning",
    "BayesUCB",
    "BernoulliBandit",
    "BetaBandit",
    "Boolean",
    "ConfigError",
    "EpsilonGreedy",
    "ExploreThenCommit",
    "ExponentialBandit",
    "GaussianBandit",
    "GaussianThompsonSampling",
    "IncompatibleEnvError",
    "Integer",
    "LinUCB",
    "LinearBandit",
    "Options",
    "PoissonBandit",
    "Policy",
    "PythonPolicy",
    "Real",
    "Results",
    "RewardModel",
    "RewardModelError",
    "SequentialHalving",
    "SuccessiveElimination",
    "SuccessiveRejects",
    "ThompsonSampling",
    "TsallisINF",
    "Uniform",
    "__version__",
    "bai_error_rate",
    "envs",
    "load_results",
    "run",
    "run_many",
    "warmup",
]


def __getattr__(name: str) -> object:
    """Every registered algorithm is an attribute of the package (``banditlab.GameOfArms``,
    ``banditlab.CascadingVI``, ...), imported on first use so that ``import banditlab`` stays
    fast."""
    from banditlab.registry import ALGORITHMS

    if name in ALGORITHMS:
        return ALGORITHMS[name]
    raise AttributeError(f"module 'banditlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    from banditlab.registry import ALGORITHMS

    return sorted({*globals(), *ALGORITHMS})
