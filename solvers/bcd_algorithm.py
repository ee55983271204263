"""Block coordinate descent as a registered algorithm (the ``BLOCK_DESCENT`` protocol).

:class:`BCD` holds one choice of partition, selection and update rules (the arguments of
:func:`~banditlab.solvers.bcd`) as validated parameters, so the rules can be named in an
experiment file and swept like any other algorithm's parameters::

    [[policies]]
    name = "BCD"
    params = { partition = "variable", update = "gradient" }
    grid = { selection = ["random", "gs", "gsd"] }

    [[envs]]
    id = "bcd/dataset_a"
    kwargs = { m = 100, p = 400 }

The "environments" of this protocol are test problems, named in :data:`PROBLEMS`; the file's
``horizon`` is the number of iterations (``max_iter``), and the seed of run ``i`` seeds the
random rules (problems are fixed by their own arguments, ``seed`` included).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, NamedTuple

from banditlab._validation import Boolean, Integer, Options, Real
from banditlab.agent import Agent
from banditlab.envs import PROBLEMS
from banditlab.protocols import BLOCK_DESCENT, Kernels
from banditlab.solvers.bcd import PARTITIONS, SELECTIONS, UPDATES, BCDResult, bcd
from banditlab.solvers.bcd_problems import BCDProblem

__all__ = ["BCD", "PROBLEMS", "make_problem"]

# the table lives with the env ids (banditlab.envs), which experiment files read without
# importing any solver

_SCORES = ("paper", "l1")

def problem_factory(problem_id: str) -> Any:
    """The function that builds the problem named ``problem_id`` (a key of :data:`PROBLEMS`)."""
    module, _, name = PROBLEMS[problem_id][0].partition(":")
    return getattr(importlib.import_module(module), name)


def make_problem(problem_id: str, kwargs: dict[str, Any] | None = None) -> BCDProblem:
    """Build the problem ``problem_id`` with keyword arguments ``kwargs``."""
    if not isinstance(problem_id, str) or problem_id not in PROBLEMS:
        raise ValueError(f"make_problem: 'problem_id' must be one of "
                         f"{', '.join(map(repr, PROBLEMS))}; got {problem_id!r}.")
    factory = problem_factory(problem_id)
    given = dict(kwargs or {})
    allowed = list(inspect.signature(factory).parameters)
    unknown = [k for k in given if k not in allowed]
    if unknown:
        raise TypeError(f"make_problem: {problem_id} takes {', '.join(map(repr, allowed))}; "
                        f"got {unknown[0]!r}.")
    return factory(**given)


class BCDParams(NamedTuple):
    partition: int        # index into PARTITIONS
    selection: int        # index into SELECTIONS
    update: int           # index into UPDATES
    block_size: int
    tol: float            # 0.0: no tolerance (run max_iter iterations); given tols are > 0
    score: int            # index into ('paper', 'l1')
    working_set: bool
    check_every: int      # 0: one pass (bcd's default)


class BCD(Agent):
    """Block coordinate descent with a chosen partition, selection rule and update.

    Nutini, Laradji & Schmidt (JMLR 2022): greedy (Gauss–Southwell-type) selection rules beat
    random and cyclic ones, and they compose freely with fixed or variable blocks and with
    gradient, matrix, Newton or exact (message-passing) updates. :meth:`solve` runs
    :func:`banditlab.solvers.bcd` with these rules; invalid combinations are refused there,
    when a problem is given, with the reason and what to use instead.

    Parameters
    ----------
    partition : str, default 'sorted'
        One of :data:`~banditlab.solvers.bcd.PARTITIONS`.
    selection : str, default 'gs'
    update : str, default 'gradient'
    block_size : int, default 5
    tol : float, optional
        Stop when the optimality measure (``max |grad f|``, or the duality gap of an L1
        problem) is at most ``tol``; default: run every iteration of the budget.
    score : {'paper', 'l1'}, default 'paper'
    working_set : bool, default False
    check_every : int, optional
        Iterations between tolerance checks (default: one pass over the blocks).
    """

    protocol = BLOCK_DESCENT
    kernels = Kernels(init=None)
    constraints = {"partition": Options(PARTITIONS), "selection": Options(SELECTIONS),
                   "update": Options(UPDATES), "block_size": Integer(1, 2**31 - 1),
                   "tol": Real(0.0, None, closed="neither", allow_none=True),
                   "score": Options(_SCORES), "working_set": Boolean(),
                   "check_every": Integer(1, 2**31 - 1, allow_none=True)}
    _contract_kwargs = {"partition": "variable", "selection": "gs", "update": "gradient",
                        "block_size": 2}

    def __init__(self, *, partition: str = "sorted", selection: str = "gs",
                 update: str = "gradient", block_size: int = 5, tol: float | None = None,
                 score: str = "paper", working_set: bool = False,
                 check_every: int | None = None) -> None:
        v = self._validate(partition=partition, selection=selection, update=update,
                           block_size=block_size, tol=tol, score=score,
                           working_set=working_set, check_every=check_every)
        self.params = BCDParams(
            PARTITIONS.index(v["partition"]), SELECTIONS.index(v["selection"]),
            UPDATES.index(v["update"]), int(v["block_size"]),
            0.0 if v["tol"] is None else float(v["tol"]), _SCORES.index(v["score"]),
            bool(v["working_set"]), 0 if v["check_every"] is None else int(v["check_every"]))

    def options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`~banditlab.solvers.bcd` these parameters stand for."""
        p = self.params
        return {"partition": PARTITIONS[p.partition], "selection": SELECTIONS[p.selection],
                "update": UPDATES[p.update], "block_size": p.block_size,
                "tol": None if p.tol == 0.0 else p.tol, "score": _SCORES[p.score],
                "working_set": p.working_set,
                "check_every": None if p.check_every == 0 else p.check_every}

    def check_problem(self, problem: Any, owner: str = "BCD") -> BCDProblem:
        """Refuse a problem these rules cannot run on (``TypeError`` / ``ValueError`` from
        :func:`~banditlab.solvers.bcd`'s checks, without iterating)."""
        if not isinstance(problem, BCDProblem):
            raise TypeError(f"{owner}: the problem must be a banditlab BCDProblem; got "
                            f"{type(problem).__name__}.")
        bcd(problem, max_iter=0, seed=0, **self.options())
        return problem

    def solve(self, problem: BCDProblem, *, max_iter: int, seed: Any = None) -> BCDResult:
        """Minimise ``problem`` for at most ``max_iter`` iterations (``F`` recorded at every
        iteration); ``seed`` seeds the random rules."""
        return bcd(problem, max_iter=max_iter, seed=seed, record=True, **self.options())
