"""Interaction protocols and the compile-time dispatch from ``Params`` types to kernels.

A policy is ``Params`` (an immutable NamedTuple of numbers), ``State`` (a NamedTuple of arrays
and scalars) and a :class:`Kernels` set of ``@njit`` functions. The protocol names which
kernels exist and their signatures:

``KARMED``
    ``init(params, n_arms) -> state`` (plain Python: allocation only),
    ``select(params, state, rng) -> arm`` and ``update(params, state, arm, reward) -> state``.
``CONTEXTUAL``
    ``init(params, n_arms, n_features)``, ``select(params, state, context, rng)`` and
    ``update(params, state, arm, reward, context)``; ``context`` is ``float64[n_arms, n_features]``.
``FIXED_BUDGET_BAI``
    ``KARMED`` plus ``recommend(params, state) -> arm``, the arm output when the budget ends.

The trajectory loops in :mod:`banditlab.engine` are written **once per protocol**. They call the
stubs below (:func:`policy_select`, ...), which Numba resolves at compile time, by the type of
``params``, to the registered kernel. Each algorithm's logic therefore exists once, in its
``select``/``update`` kernels; the step-by-step Python engine calls the very same kernels. This
replaces a per-policy copy of the loop skeleton (or kernels passed as function arguments, which
Numba cannot cache): the dispatch is an ``@overload``, so the loops load from Numba's on-disk
cache in a new process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from numba.extending import overload

__all__ = [
    "CONTEXTUAL",
    "FIXED_BUDGET_BAI",
    "KARMED",
    "Kernels",
    "Protocol",
    "kernels_for",
    "policy_recommend",
    "policy_select",
    "policy_select_ctx",
    "policy_update",
    "policy_update_ctx",
    "register_kernels",
    "registered_kernels",
]


@dataclass(frozen=True)
class Protocol:
    """An interaction protocol: its name, the kernels it needs and the env family it runs on."""

    name: str
    required: tuple[str, ...]
    env_family: str
    description: str

    def __repr__(self) -> str:
        return self.name


KARMED = Protocol("KARMED", ("init", "select", "update"), "karmed",
                  "K-armed bandit: select(params, state, rng), update(params, state, arm, reward)")
CONTEXTUAL = Protocol("CONTEXTUAL", ("init", "select", "update"), "linear",
                      "contextual/linear bandit: select(params, state, context, rng), "
                      "update(params, state, arm, reward, context)")
FIXED_BUDGET_BAI = Protocol("FIXED_BUDGET_BAI", ("init", "select", "update", "recommend"),
                            "karmed", "fixed-budget best-arm identification: KARMED plus "
                            "recommend(params, state)")


class Kernels(NamedTuple):
    """The kernels of one algorithm. ``init`` is plain Python; the others are ``@njit``."""

    init: Callable[..., Any]
    select: Callable[..., Any]
    update: Callable[..., Any]
    recommend: Callable[..., Any] | None = None
    action_probabilities: Callable[..., Any] | None = None


_KERNELS: dict[type, Kernels] = {}


def register_kernels(params_type: type, kernels: Kernels) -> Kernels:
    """Associate a ``Params`` NamedTuple class with its kernels (once per algorithm)."""
    if params_type in _KERNELS and _KERNELS[params_type] is not kernels:
        raise ValueError(f"register_kernels: {params_type.__name__} already has kernels.")
    _KERNELS[params_type] = kernels
    return kernels


def kernels_for(params_type: type) -> Kernels:
    """The kernels registered for a ``Params`` class."""
    try:
        return _KERNELS[params_type]
    except KeyError:
        raise TypeError(f"No kernels are registered for params type "
                        f"{params_type.__name__}.") from None


def registered_kernels(params_type: type) -> Kernels | None:
    """The kernels registered for ``params_type``, or None (used by the cache key)."""
    return _KERNELS.get(params_type)


def _lookup(numba_type: Any, what: str) -> Callable[..., Any]:
    cls = getattr(numba_type, "instance_class", None)
    kernel = getattr(_KERNELS.get(cls), what, None) if cls is not None else None
    if kernel is None:
        raise TypeError(f"no '{what}' kernel registered for params type {numba_type}")
    return kernel


# Pure-Python bodies: used when NUMBA_DISABLE_JIT=1, where the @overload is never consulted.
def policy_select(params, state, rng):
    """Dispatch to the ``select`` kernel of ``type(params)`` (K-armed)."""
    return _KERNELS[type(params)].select(params, state, rng)


def policy_update(params, state, arm, reward):
    """Dispatch to the ``update`` kernel of ``type(params)`` (K-armed)."""
    return _KERNELS[type(params)].update(params, state, arm, reward)


def policy_select_ctx(params, state, context, rng):
    """Dispatch to the ``select`` kernel of ``type(params)`` (contextual)."""
    return _KERNELS[type(params)].select(params, state, context, rng)


def policy_update_ctx(params, state, arm, reward, context):
    """Dispatch to the ``update`` kernel of ``type(params)`` (contextual)."""
    return _KERNELS[type(params)].update(params, state, arm, reward, context)


def policy_recommend(params, state):
    """Dispatch to the ``recommend`` kernel of ``type(params)``."""
    return _KERNELS[type(params)].recommend(params, state)


@overload(policy_select)
def _ov_select(params, state, rng):
    kernel = _lookup(params, "select")
    return lambda params, state, rng: kernel(params, state, rng)


@overload(policy_update)
def _ov_update(params, state, arm, reward):
    kernel = _lookup(params, "update")
    return lambda params, state, arm, reward: kernel(params, state, arm, reward)


@overload(policy_select_ctx)
def _ov_select_ctx(params, state, context, rng):
    kernel = _lookup(params, "select")
    return lambda params, state, context, rng: kernel(params, state, context, rng)


@overload(policy_update_ctx)
def _ov_update_ctx(params, state, arm, reward, context):
    kernel = _lookup(params, "update")
    return lambda params, state, arm, reward, context: kernel(params, state, arm, reward, context)


@overload(policy_recommend)
def _ov_recommend(params, state):
    kernel = _lookup(params, "recommend")
    return lambda params, state: kernel(params, state)
