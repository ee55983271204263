"""The protocol table and the one compile-time dispatch from ``Params`` types to kernels.

An algorithm is ``Params`` (an immutable NamedTuple of numbers), ``State`` (a NamedTuple of
arrays and scalars) and a :class:`Kernels` set of ``@njit`` functions. An interaction
*protocol* says which kernels an algorithm of that kind has, with which signatures, on which
family of environments it runs, and which **one** whole-trajectory loop plays it. Every
protocol of the library is declared in :data:`PROTOCOLS`:

``KARMED``
    ``init(params, n_arms) -> state`` (plain Python: allocation only),
    ``select(params, state, rng) -> arm``, ``update(params, state, arm, reward) -> state``.
    Loop: :func:`banditlab.engine.run_karmed`.
``CONTEXTUAL``
    ``init(params, n_arms, n_features)``, ``select(params, state, context, rng)``,
    ``update(params, state, arm, reward, context)``; ``context`` is
    ``float64[n_arms, n_features]``. Loop: :func:`banditlab.engine.run_contextual`.
``FIXED_BUDGET_BAI``
    ``KARMED`` plus ``recommend(params, state) -> arm``, the arm output when the budget ends.
    Loop: :func:`banditlab.engine.run_karmed`.
``STREAMING``
    ``explore(params, env, env_state, env_rng, rng) -> arm``: read the stream once through the
    env's kernels (which enforce the memory budget) and return the arm to commit to.
    Loop: :func:`banditlab.streaming.kernels.run_stream` (explore, then commit).
``SOLVER_SEQUENCE``
    The ``CONTEXTUAL`` kernels with one feature: a scalar context (e.g. a linear system's
    diagonal shift) arrives as ``float64[n_arms, 1]`` with equal rows, an arm is a relaxation
    parameter, the reward is minus the solver's iteration count. Loop:
    :func:`banditlab.sor_tuning.kernels.run_cost_table` (systems whose cost per arm is known).
``EPISODIC``
    ``init(params, ...)``, ``plan(params, state, episode) -> (upper, lower)`` (fills
    ``state.policy``), ``update(params, state, h, s, items, k, position, s_next, reward)``.
    Loop: :func:`banditlab.cascading.kernels.run_episodes_kernel` (regret minimisation).
``EPISODIC_BPI``
    The ``EPISODIC`` kernels, played until ``upper - lower <= epsilon`` (best policy
    identification). Loop: :func:`banditlab.cascading.kernels.run_bpi_kernel`.

A new system adds one :class:`Protocol` here, its loop, its env and its algorithms; a new
kernel name adds one dispatch stub at the end of this module.

Dispatch. The loops call the stubs below (:func:`call_select`, :func:`call_update`, ...).
Numba resolves each stub at compile time, by the type of ``params``, to the kernel registered
with :func:`register_kernels` and compiles it as a direct call; each stub serves every arity (the
contextual ``select`` takes one argument more than the K-armed one). So each algorithm's logic
exists once, in its kernels; the step-by-step Python API calls the very same kernels, and the
loops load from the on-disk cache in a new process (kernels passed as function arguments could
not be cached).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from numba.core import types
from numba.core.dispatcher import Dispatcher
from numba.core.errors import TypingError
from numba.core.typing import signature
from numba.core.typing.templates import AbstractTemplate, infer_global
from numba.extending import lower_builtin

__all__ = [
    "BLOCK_DESCENT",
    "CONTEXTUAL",
    "EPISODIC",
    "EPISODIC_BPI",
    "FIXED_BUDGET_BAI",
    "KARMED",
    "PROTOCOLS",
    "SOLVER_SEQUENCE",
    "STREAMING",
    "Kernels",
    "Protocol",
    "call_explore",
    "call_plan",
    "call_recommend",
    "call_select",
    "call_update",
    "kernels_for",
    "register_kernels",
    "registered_kernels",
]


@dataclass(frozen=True)
class Protocol:
    """An interaction protocol: its kernels, the env family it runs on and its one loop.

    Attributes
    ----------
    name : str
    kernels : tuple of str
        The kernels every algorithm of the protocol registers (besides ``init``).
    signatures : dict
        ``kernel name -> call signature``, as documentation and for error messages.
    env_family : str
        The ``family`` attribute of the envs it runs on.
    loop : str
        ``"module:function"`` of the whole-trajectory loop (imported on use).
    description : str
    optional : tuple of str
        Kernels some algorithms add (e.g. ``action_probabilities``).
    contextual : bool
        Whether ``select`` and ``update`` take a context matrix.
    """

    name: str
    kernels: tuple[str, ...]
    signatures: dict[str, str] = field(compare=False)
    env_family: str
    loop: str
    description: str
    optional: tuple[str, ...] = ()
    contextual: bool = False

    def __repr__(self) -> str:
        return self.name

    def resolve_loop(self) -> Callable[..., Any]:
        """The loop function itself."""
        import importlib

        module, name = self.loop.split(":")
        return getattr(importlib.import_module(module), name)


_SEL = "select(params, state, rng) -> arm"
_UPD = "update(params, state, arm, reward) -> state"
KARMED = Protocol(
    "KARMED", ("select", "update"), {"select": _SEL, "update": _UPD}, "karmed",
    "banditlab.engine:run_karmed", "K-armed bandit: one arm per round, its reward observed",
    optional=("action_probabilities",))
CONTEXTUAL = Protocol(
    "CONTEXTUAL", ("select", "update"),
    {"select": "select(params, state, context, rng) -> arm",
     "update": "update(params, state, arm, reward, context) -> state"}, "linear",
    "banditlab.engine:run_contextual",
    "contextual bandit: a feature matrix (n_arms, n_features) before each choice",
    optional=("action_probabilities",), contextual=True)
FIXED_BUDGET_BAI = Protocol(
    "FIXED_BUDGET_BAI", ("select", "update", "recommend"),
    {"select": _SEL, "update": _UPD, "recommend": "recommend(params, state) -> arm"}, "karmed",
    "banditlab.engine:run_karmed",
    "fixed-budget best-arm identification: K-armed play, then one recommended arm")
STREAMING = Protocol(
    "STREAMING", ("explore",),
    {"explore": "explore(params, env, env_state, env_rng, rng) -> arm"}, "streaming",
    "banditlab.streaming.kernels:run_stream",
    "single-pass streaming bandit: arms arrive once, bounded arm memory, then commit")
SOLVER_SEQUENCE = Protocol(
    "SOLVER_SEQUENCE", ("select", "update"),
    {"select": "select(params, state, context, rng) -> arm, context float64[n_arms, 1]",
     "update": "update(params, state, arm, reward, context) -> state"}, "sor",
    "banditlab.sor_tuning.kernels:run_cost_table",
    "solver sequence: a scalar context per linear system, an arm per relaxation parameter, "
    "reward = -iterations", optional=("action_probabilities",), contextual=True)
_PLAN = "plan(params, state, episode) -> (upper, lower)"
_EUPD = "update(params, state, h, s, items, k, position, s_next, reward) -> state"
EPISODIC = Protocol(
    "EPISODIC", ("plan", "update"), {"plan": _PLAN, "update": _EUPD}, "cascading",
    "banditlab.cascading.kernels:run_episodes_kernel",
    "episodic cascading MDP: plan a list policy per episode, learn from clicks")
EPISODIC_BPI = Protocol(
    "EPISODIC_BPI", ("plan", "update"), {"plan": _PLAN, "update": _EUPD}, "cascading",
    "banditlab.cascading.kernels:run_bpi_kernel",
    "best policy identification in a cascading MDP: play until the value gap is <= epsilon")
BLOCK_DESCENT = Protocol(
    "BLOCK_DESCENT", (), {}, "bcd", "banditlab.solvers.bcd:bcd",
    "block coordinate descent on a test problem: partition, selection and update rules as "
    "parameters, the objective per iteration as the metric")

#: every protocol, by name
PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    KARMED, CONTEXTUAL, FIXED_BUDGET_BAI, STREAMING, SOLVER_SEQUENCE, EPISODIC, EPISODIC_BPI,
    BLOCK_DESCENT)}


class Kernels(NamedTuple):
    """The kernels of one algorithm: ``init`` (plain Python) and ``@njit`` functions.

    Only the kernels its protocol names (and optional ones it offers) are set.
    """

    init: Callable[..., Any] | None
    select: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    recommend: Callable[..., Any] | None = None
    action_probabilities: Callable[..., Any] | None = None
    plan: Callable[..., Any] | None = None
    explore: Callable[..., Any] | None = None


_KERNELS: dict[type, Kernels] = {}


def register_kernels(params_type: type, kernels: Kernels, protocol: Protocol | None = None
                     ) -> Kernels:
    """Associate a ``Params`` NamedTuple class with its kernels (once per algorithm).

    With ``protocol``, check that every kernel the protocol names is present.
    """
    if params_type in _KERNELS and _KERNELS[params_type] is not kernels:
        raise ValueError(f"register_kernels: {params_type.__name__} already has kernels.")
    if protocol is not None:
        missing = [k for k in protocol.kernels if getattr(kernels, k) is None]
        if missing:
            raise TypeError(f"register_kernels: {params_type.__name__} follows "
                            f"{protocol.name}, which needs kernels {missing}.")
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


def _kernel_for(name: str, params_type: Any) -> Any:
    """The registered ``name`` kernel for the Numba type of ``params`` (typing error if none)."""
    cls = getattr(params_type, "instance_class", None)
    kernel = getattr(_KERNELS.get(cls), name, None) if cls is not None else None
    if kernel is None:
        raise TypingError(f"no '{name}' kernel registered for params type {params_type}")
    if not isinstance(kernel, Dispatcher):
        raise TypingError(f"the '{name}' kernel registered for {cls.__name__} is not "
                          f"compiled (got {kernel!r}); decorate it with numba.njit")
    return kernel


def _make_stub(name: str) -> Callable[..., Any]:
    """A dispatch stub for kernel ``name``: plain Python body, plus its Numba typing and lowering.

    In compiled code a call of the stub *is* a call of the registered kernel: the typing asks
    the kernel's dispatcher for the signature (compiling the kernel if needed) and the lowering
    emits a direct call to that compiled kernel, as for any call of one ``@njit`` function from
    another. (An ``@overload`` returning ``lambda params, *args: kernel(params, *args)`` does the
    same through one more compiled function per call site, which costs a whole LLVM module,
    optimised and turned into machine code, at every first compilation.)
    """

    def stub(params, *args):
        # the body runs only without JIT (NUMBA_DISABLE_JIT=1): the typing below replaces it
        return getattr(_KERNELS[type(params)], name)(params, *args)

    stub.__name__ = stub.__qualname__ = f"call_{name}"
    stub.__doc__ = f"Call the ``{name}`` kernel registered for ``type(params)``."

    def _kernel_signature(typingctx: Any, argtys: tuple[Any, ...]) -> Any:
        kernel = _kernel_for(name, argtys[0])
        return kernel, typingctx.resolve_function_type(types.Dispatcher(kernel), argtys, {})

    class _Typing(AbstractTemplate):
        key = stub

        def generic(self, args: tuple[Any, ...], kws: dict[str, Any]) -> Any:
            if kws or not args:
                return None
            _, ksig = _kernel_signature(self.context, tuple(args))
            return None if ksig is None else signature(ksig.return_type, *args)

    infer_global(stub, types.Function(_Typing))

    @lower_builtin(stub, types.Any, types.VarArg(types.Any))
    def _lower(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        kernel, ksig = _kernel_signature(context.typing_context, sig.args)
        argvals = [context.cast(builder, v, ty, kty)
                   for v, ty, kty in zip(args, sig.args, ksig.args)]
        out = context.get_function(types.Dispatcher(kernel), ksig)(builder, argvals)
        return context.cast(builder, out, ksig.return_type, sig.return_type)

    return stub


call_select = _make_stub("select")
call_update = _make_stub("update")
call_recommend = _make_stub("recommend")
call_plan = _make_stub("plan")
call_explore = _make_stub("explore")
