"""``PythonPolicy``: write a policy in plain Python, with no Numba and no kernels.

Subclass it, say which protocol the policy speaks (``KARMED`` by default, ``CONTEXTUAL``, or
``FIXED_BUDGET_BAI`` with a :meth:`recommend`), and write four methods::

    import numpy as np
    import banditlab as bl

    class SlidingWindowUCB(bl.PythonPolicy):
        \"\"\"UCB over the last ``window`` rounds (Garivier & Moulines, 2011).\"\"\"

        constraints = {"n_arms": bl.Integer(1, None), "window": bl.Integer(1, None)}

        def __init__(self, n_arms, *, window=200):
            super().__init__(n_arms, window=window)      # validates, records the arguments

        def reset_state(self):                           # self.rng is ready here
            self.history = []

        def select(self, obs=None):
            ...                                          # an int in [0, n_arms)

        def update(self, action, reward, obs=None):
            self.history.append((action, reward))

Such a policy runs wherever a built-in one does, on the Python engine (the gymnasium loop
``select -> step -> update``): :func:`banditlab.run_many`, sweeps, and experiment files, where it
is named by its import path (``name = "mypkg.mymodule:SlidingWindowUCB"``). Use ``self.rng``
(created by ``reset(seed=...)``) for every random draw, so that runs replay from their seed.
:func:`banditlab.testing.check_algorithm` checks it (validation, determinism, pickling).
``constraints`` is optional; without it the arguments are recorded but not checked, except
``n_arms``.
"""

from __future__ import annotations

from typing import Any

from banditlab._validation import Integer
from banditlab.policy import Policy
from banditlab.protocols import FIXED_BUDGET_BAI, KARMED, Kernels

__all__ = ["PythonPolicy"]


class PythonPolicy(Policy):
    """Base class of a policy written in plain Python (see the module docstring).

    A subclass must define ``select`` and ``update`` (and ``recommend`` for
    ``FIXED_BUDGET_BAI``); this is checked when the subclass is created.
    """

    protocol = KARMED
    kernels = Kernels(None)      # no kernels: the runner uses the Python engine

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        needed = ["select", "update"] + (["recommend"] if cls.protocol is FIXED_BUDGET_BAI
                                         else [])
        missing = [m for m in needed if getattr(cls, m) is getattr(Policy, m)]
        if missing:
            raise TypeError(f"{cls.__name__}: a PythonPolicy must define "
                            f"{', '.join(missing)}; see banditlab.python_policy.")

    def __init__(self, n_arms: int, **params: Any) -> None:
        owner = type(self).__name__
        values = {"n_arms": n_arms, **params}
        checked = {name: self.constraints[name].check(value, name, owner)
                   if name in self.constraints else value for name, value in values.items()}
        checked["n_arms"] = int(Integer(1, None).check(checked["n_arms"], "n_arms", owner))
        self._init_kwargs = dict(values)
        self._coerced = checked
        self.n_arms = checked["n_arms"]
        #: the validated arguments besides n_arms (a dict: there are no kernels to feed)
        self.params = {k: v for k, v in checked.items() if k != "n_arms"}

    def reset_state(self) -> None:
        """(Re)initialise the policy's own attributes; ``self.rng`` is already set.

        The default keeps nothing; override it when the policy has state.
        """

    def _init_state(self) -> None:
        self.reset_state()
