"""Shell for contextual policies whose context is one real number (e.g. a diagonal shift).

They follow the ``SOLVER_SEQUENCE`` protocol (the ``CONTEXTUAL`` kernels with one feature): the
kernels receive the context as a ``float64[n_arms, 1]`` matrix whose rows all hold the scalar
(only ``context[0, 0]`` is read).
``select`` accepts the scalar itself, a length-1 array (a gymnasium ``Box((1,))`` observation)
or the ``(n_arms, 1)`` matrix; a bool (or a bool array) is refused with ``TypeError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from banditlab.policy import Policy
from banditlab.protocols import SOLVER_SEQUENCE

__all__ = ["ScalarContextPolicy"]


class ScalarContextPolicy(Policy):
    """Base of policies with a scalar context (``SOLVER_SEQUENCE`` protocol)."""

    protocol = SOLVER_SEQUENCE

    def _dims(self) -> tuple[int, ...]:
        return (self.n_arms, 1)

    def select(self, obs: Any = None) -> int:
        """Choose an action for the scalar context ``obs``."""
        self._require_state("select")
        is_bool = False
        if type(obs) is not float:
            try:
                is_bool = np.asarray(obs).dtype.kind == "b"
            except (TypeError, ValueError):
                pass
        if is_bool:     # a bool is not a context (np.asarray(True, float) would read it as 1.0)
            raise TypeError(f"{self.name}.select: 'obs' must be a finite float (the context); "
                            f"got {type(obs).__name__} {obs!r}.")
        try:
            arr = np.asarray(obs, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.asarray([np.nan])
        if arr.size == 1:
            c = float(arr.reshape(-1)[0])
        elif arr.shape == (self.n_arms, 1) and np.all(arr == arr[0, 0]):
            c = float(arr[0, 0])
        else:
            c = float("nan")
        if not np.isfinite(c):
            raise ValueError(f"{self.name}.select: 'obs' must be a finite float (the context); "
                             f"got {obs!r}.")
        return super().select(np.full((self.n_arms, 1), c))
