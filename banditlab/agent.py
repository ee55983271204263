"""``Agent``: the one shell every learner shares, whatever its protocol.

A learner is ``Params`` (validated, immutable numbers), a ``State`` (arrays and scalars) and
the kernels of its protocol (:mod:`banditlab.protocols`). The shell does only what is the same
for every protocol:

* validation of constructor arguments against the class's declarative ``constraints``, with
  the library's one message template (:mod:`banditlab._validation`);
* ``get_params`` / ``with_params`` (a new, validated learner) and ``repr``;
* ``reset(seed=...)``: a new ``numpy.random.Generator`` from the seed and a fresh state;
* pickling (plain attributes: params, state, generator), so a learner can be copied into a
  worker process or saved mid-run and resumed with the same random stream.

Protocol-specific step methods live in thin subclasses that call the kernels:
:class:`banditlab.policy.Policy` (``select``/``update``/``recommend``),
:class:`banditlab.streaming.StreamingAlgorithm` and :class:`banditlab.cascading.CascadingAgent`
(``plan``/``select``/``update``).

Subclasses declare ``protocol``, ``kernels``, ``constraints`` and ``_contract_kwargs`` (small
valid arguments used by the contract tests), and implement ``__init__``: validate with
:meth:`_validate`, then set ``params``.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from banditlab._interrupt import install as install_interrupt_handler
from banditlab._seeding import check_seed, make_rng
from banditlab._validation import Constraint, check_memory, validate
from banditlab.protocols import Kernels, Protocol

__all__ = ["Agent"]


class Agent:
    """Base class of every banditlab learner (thin shell over Numba kernels).

    Attributes
    ----------
    params : NamedTuple
        Validated hyperparameters (immutable). Use :meth:`with_params` to change them.
    state : NamedTuple or None
        The learner's state after :meth:`reset`.
    rng : numpy.random.Generator
        The learner's own random stream, created by :meth:`reset`.
    """

    protocol: ClassVar[Protocol]
    kernels: ClassVar[Kernels]
    constraints: ClassVar[dict[str, Constraint]] = {}
    #: small valid keyword arguments used by the contract tests
    _contract_kwargs: ClassVar[dict[str, Any]] = {}

    params: NamedTuple
    state: Any
    rng: np.random.Generator

    # -- construction ---------------------------------------------------------------------
    def _validate(self, **values: Any) -> dict[str, Any]:
        """Validate constructor arguments, remember them for ``get_params``, return coerced."""
        out = validate(type(self).__name__, self.constraints, values)
        self._init_kwargs = dict(values)
        self._coerced = out
        return out

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments as given (after validation; arrays as lists)."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k, v in self._init_kwargs.items()}

    def with_params(self, **changes: Any) -> Agent:
        """A new, validated learner of the same class with some arguments changed."""
        return type(self)(**{**self._init_kwargs, **changes})

    @property
    def name(self) -> str:
        """Display name (the class name unless a subclass says more)."""
        return type(self).__name__

    # -- state ----------------------------------------------------------------------------
    def _init_state(self) -> Any:
        """A fresh state (the ``init`` kernel; shells whose state needs more override this)."""
        return None if self.kernels.init is None else self.kernels.init(self.params,
                                                                         *self._dims())

    def _dims(self) -> tuple[int, ...]:
        return ()

    def _state_nbytes(self) -> tuple[float, str] | None:
        """``(bytes, sizes)``: an estimate of the state's memory and the sizes that set it
        (``'n_arms=...'``), checked before any allocation; None when negligible."""
        return None

    def check_state_memory(self, owner: str | None = None) -> None:
        """Refuse (``ValueError`` naming the sizes) a state larger than memory allows,
        before allocating it (see :func:`banditlab._validation.check_memory`)."""
        est = self._state_nbytes()
        if est is not None:
            check_memory(est[0], est[1], owner or self.name)

    def _on_reset(self) -> None:
        """Hook for per-protocol bookkeeping after :meth:`reset`."""

    def reset(self, *, seed: int | None = None) -> Agent:
        """Start afresh: a new state and a new generator from ``seed`` (fresh entropy if None)."""
        install_interrupt_handler()       # Ctrl-C in a step loop: see banditlab._interrupt
        self.rng = make_rng(check_seed(seed, f"{self.name}.reset"))
        self.check_state_memory(f"{self.name}.reset")
        self.state = self._init_state()
        self._on_reset()
        return self

    def _require_state(self, what: str) -> None:
        if not hasattr(self, "rng"):
            raise RuntimeError(f"{self.name}.{what}: call reset(seed=...) first.")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                         if not isinstance(v, list))
        return f"{type(self).__name__}({args})"
