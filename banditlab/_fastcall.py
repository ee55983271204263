"""The step API's calls into the kernels, without Numba's per-call costs.

Calling a compiled function from Python makes Numba type every argument and convert it. For a
policy's ``select(params, state, rng)`` two of those costs dwarf the kernel: typing the
``Params``/``State`` NamedTuples (a Python-level ``typeof`` on every call) and converting the
``numpy.random.Generator``, which runs ``ctypes.cast`` three times per call (about 10 us of a
12 us ``select`` on the reference machine, issue 14). This module removes both:

* **the generator** is passed as a *handle*, a ``uint64`` array of the addresses Numba's own
  conversion reads (:func:`rng_handle`: the bit generator's state, its three ``next_*``
  functions and the bit generator itself), and :func:`generator_from_handle` rebuilds Numba's
  ``Generator`` value from it inside compiled code. The kernel then draws through the same
  numpy bit generator as before, so every draw is the one the ``Generator`` would have given
  (bit-identical; the handle is valid while the ``Generator`` it came from is alive, which the
  policy holding both guarantees);
* **typing and conversion** are done once: a policy's ``params``, ``state`` and handle live in
  a :class:`StepBox` (a numba StructRef), and :func:`box_entry_points` compiles
  ``select`` and ``update`` for its type and returns the compiled entry points bound to the
  box's address (:func:`box_address`; :func:`box_at` rebuilds the box inside), so a call
  converts one int and looks up no types; ``update`` keeps the new state in the box.
  :class:`banditlab.policy.Policy` drops the box whenever its ``params``, ``rng``, ``state``,
  ``reward_model`` or ``check_rewards`` is replaced, and reads the state back only when
  Python asks for it.

This is the one module that relies on Numba internals: the data model of
``types.NumPyRandomGeneratorType`` (struct members in ``numba/np/random/generator_core.py``),
the StructRef data model (one ``meminfo`` member) behind :func:`box_address` and
:func:`box_at`,
the array data model behind :func:`row_view` (``numba.np.arrayobj.populate_array`` with a null
``meminfo``), ``numba.experimental.structref`` and ``Dispatcher.compile`` returning the
compiled entry point. ``tests/test_fastcall.py`` checks them against the installed Numba and
fails loudly if an upgrade changes them; ``pyproject.toml`` pins numba below the next minor
version for the same reason.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.experimental import structref
from numba.extending import intrinsic

from banditlab._jit import callee_of, njit
from banditlab.protocols import call_select, call_update, kernels_for

__all__ = ["CONTEXT_REFUSED", "JIT", "StepBox", "admitted", "box_entry_points", "data_address",
           "generator_from_handle", "rng_handle", "row_view"]

#: False under NUMBA_DISABLE_JIT=1: the policies then call their Python kernels directly
JIT = not numba.config.DISABLE_JIT

_GENERATOR = types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")
_BIT_GENERATOR = types.NumPyRandomBitGeneratorType("bit_generator")
#: the members of Numba's bit-generator struct that a handle carries, in handle order
HANDLE_FIELDS = ("state_address", "state", "fnptr_next_uint64", "fnptr_next_uint32",
                 "fnptr_next_double", "bit_generator")


def rng_handle(rng: np.random.Generator) -> np.ndarray:
    """The addresses Numba's conversion of ``rng`` reads, as ``uint64[6]`` (HANDLE_FIELDS)."""
    c = rng.bit_generator.ctypes

    def address(fn: Any) -> int:
        return int(ctypes.cast(fn, ctypes.c_void_p).value or 0)

    return np.array([int(c.state_address), int(c.state.value or 0), address(c.next_uint64),
                     address(c.next_uint32), address(c.next_double),
                     int(c.bit_generator.value or 0)], dtype=np.uint64)


@intrinsic
def generator_from_handle(typingctx: Any, handle: Any) -> Any:
    """Numba's ``Generator`` value for a handle made by :func:`rng_handle` (no Python object:
    its ``parent`` and ``meminfo`` are null, so it cannot be returned to Python)."""
    if not (isinstance(handle, types.Array) and handle.dtype == types.uint64
            and handle.ndim == 1):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        uintp = context.get_value_type(types.uintp)
        bitgen = cgutils.create_struct_proxy(_BIT_GENERATOR)(context, builder)
        bitgen.parent = cgutils.get_null_value(context.get_value_type(types.pyobject))
        for i, name in enumerate(HANDLE_FIELDS):
            value = builder.load(builder.gep(arr.data, [ir.Constant(ir.IntType(64), i)]))
            setattr(bitgen, name, builder.zext(value, uintp) if value.type.width < uintp.width
                    else builder.trunc(value, uintp) if value.type.width > uintp.width
                    else value)
        gen = cgutils.create_struct_proxy(_GENERATOR)(context, builder)
        gen.bit_generator = bitgen._getvalue()
        gen.meminfo = cgutils.get_null_value(gen.meminfo.type)
        gen.parent = cgutils.get_null_value(context.get_value_type(types.pyobject))
        return gen._getvalue()

    return _GENERATOR(handle), codegen


@intrinsic
def row_view(typingctx: Any, arr: Any, i: Any) -> Any:
    """``arr[i]`` of a C-contiguous array of 2 or more dimensions, as a view with a null
    ``meminfo``: no reference count is taken or released (``BatchedPolicy`` builds one per
    field, copy and step; with counts these atomic operations cost more than the kernel).
    Valid while ``arr`` is alive; never return it to Python."""
    if not (isinstance(arr, types.Array) and arr.ndim >= 2 and arr.layout == "C"
            and isinstance(i, types.Integer)):
        return None
    out_t = arr.copy(ndim=arr.ndim - 1, layout="C", readonly=False)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        from numba.np.arrayobj import populate_array

        src = context.make_array(signature.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], signature.args[1], types.intp)
        shapes = cgutils.unpack_tuple(builder, src.shape)
        strides = cgutils.unpack_tuple(builder, src.strides)
        offset = builder.mul(idx, strides[0])
        data = builder.inttoptr(builder.add(builder.ptrtoint(src.data, offset.type), offset),
                                src.data.type)
        out = context.make_array(out_t)(context, builder)
        populate_array(out, data=data, shape=cgutils.pack_array(builder, shapes[1:]),
                       strides=cgutils.pack_array(builder, strides[1:]),
                       itemsize=src.itemsize, meminfo=None)
        return out._getvalue()

    return out_t(arr, i), codegen


@intrinsic
def data_address(typingctx: Any, arr: Any) -> Any:
    """The address of an array's first element, as an ``intp`` (no reference taken)."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        src = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(src.data, context.get_value_type(types.intp))

    return types.intp(arr), codegen


@intrinsic
def box_address(typingctx: Any, box: Any) -> Any:
    """The address of a :class:`StepBox`'s meminfo, as an ``intp`` (no reference taken)."""
    if not isinstance(box, StepBoxType):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        st = cgutils.create_struct_proxy(signature.args[0])(context, builder, value=args[0])
        return builder.ptrtoint(st.meminfo, context.get_value_type(types.intp))

    return types.intp(box), codegen


@intrinsic
def box_at(typingctx: Any, address: Any, box_type: Any) -> Any:
    """The :class:`StepBox` of type ``box_type`` (a ``TypeRef``) whose meminfo is at
    ``address`` (from :func:`box_address`), with a reference taken for the caller (which
    releases it). Valid while the box is alive; the policy holding the entry points holds
    the box."""
    if not (isinstance(address, types.Integer) and isinstance(box_type, types.TypeRef)
            and isinstance(box_type.instance_type, StepBoxType)):
        return None
    box_t = box_type.instance_type

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        st = cgutils.create_struct_proxy(box_t)(context, builder)
        st.meminfo = builder.inttoptr(args[0], st.meminfo.type)
        value = st._getvalue()
        context.nrt.incref(builder, box_t, value)
        return value

    return box_t(address, box_type), codegen


# -- the step box: params, state and generator handle kept inside compiled code ---------------
@structref.register
class StepBoxType(types.StructRef):
    """Numba type of :class:`StepBox` (one per params, state and handle type)."""

    def preprocess_fields(self, fields: Any) -> Any:
        return tuple((name, types.unliteral(t)) for name, t in fields)


class StepBox(structref.StructRefProxy):
    """A policy's ``params``, ``state`` and generator handle, held by compiled code.

    Passing one box is the cheapest argument a compiled call can take (a pointer): the step
    API calls :func:`box_select` and :func:`box_update` with it, and ``update`` stores the new
    state in the box instead of converting it to Python and back at every step. The policy
    reads the state back (:func:`box_state`) only when Python asks for it.

    The box also holds what ``update`` checks (so the Python side checks only the argument
    types): the admitted rewards' finite bounds ``low <= reward <= high``, ``integer`` (only
    integer rewards), the action range ``n_arms``; and for contextual policies a copy of the
    last ``select``'s features (``context``, ``ready`` once a ``select`` filled it), which
    ``update`` learns from.
    """


structref.define_proxy(StepBox, StepBoxType, ["params", "state", "handle", "low", "high",
                                              "integer", "n_arms", "context", "ready"])

#: what box_select_context returns for features it refuses (the Python side then takes the
#: checked path, which raises the error or copies the array into the layout the box needs)
CONTEXT_REFUSED = -1


@njit
def box_select(address, box_type):
    box = box_at(address, box_type)
    return call_select(box.params, box.state, generator_from_handle(box.handle))


@njit
def box_select_context(address, box_type, context):
    """Copy ``context`` (float64, the box's shape: the caller checked both) into the box and
    select from it; :data:`CONTEXT_REFUSED` when it is not C-contiguous or holds a non-finite
    entry (nothing is copied then)."""
    box = box_at(address, box_type)
    n_arms, d = box.context.shape
    if context.strides[0] != 8 * d or context.strides[1] != 8:
        return CONTEXT_REFUSED
    for a in range(n_arms):
        for j in range(d):
            if not np.isfinite(context[a, j]):
                return CONTEXT_REFUSED
    box.context[:, :] = context
    box.ready = True
    return call_select(box.params, box.state, box.context, generator_from_handle(box.handle))


@njit
def admitted(arm, reward, n_arms, low, high, integer):
    """Whether ``update(arm, reward)`` may go ahead: ``arm`` in ``[0, n_arms)``, ``reward`` in
    ``[low, high]`` (finite bounds: NaN and inf fail) and an integer when ``integer`` (the
    bounds of :meth:`banditlab.reward_models.RewardModel.compiled_bounds`)."""
    return (0 <= arm < n_arms and low <= reward <= high
            and not (integer and reward != np.floor(reward)))


@njit
def _admitted(box, arm, reward):
    return admitted(arm, reward, box.n_arms, box.low, box.high, box.integer)


@njit
def box_update(address, box_type, arm, reward):
    """Apply ``update`` if ``arm`` is in range and ``reward`` admitted (True), else change
    nothing (False: the Python side raises the error)."""
    box = box_at(address, box_type)
    if not _admitted(box, arm, reward):
        return False
    box.state = call_update(box.params, box.state, arm, reward)
    return True


@njit
def box_update_context(address, box_type, arm, reward):
    """As :func:`box_update`, learning from the features of the last select; False also when
    no select has filled them yet."""
    box = box_at(address, box_type)
    if not (box.ready and _admitted(box, arm, reward)):
        return False
    box.state = call_update(box.params, box.state, arm, reward, box.context)
    return True


@njit
def _new_box(params, state, handle, low, high, integer, n_arms, context, ready):
    """A new :class:`StepBox`. Calling ``StepBox(...)`` from Python compiles Numba's own
    constructor in every process (it is not cached: 0.1-0.4 s more at the first step of a
    warm process, measured on ``OmegaTuner.solve``); this one is cached like every kernel."""
    return StepBox(params, state, handle, low, high, integer, n_arms, context, ready)


@njit
def _address_of(box):
    return box_address(box)


@njit
def box_state(box):
    return box.state


@njit
def box_context(box):
    return box.ready, box.context.copy()


def box_entry_points(params: Any, state: Any, handle: np.ndarray, *, low: float, high: float,
                     integer: bool, n_arms: int, context: np.ndarray | None, ready: bool
                     ) -> tuple[StepBox, Callable[..., Any], Callable[..., Any],
                                Callable[..., Any], Callable[..., Any] | None] | None:
    """``(box, select, update, read_state, read_context)`` for these arguments: a new
    :class:`StepBox` and the compiled entry points for its type (compiled, or loaded from the
    on-disk cache, on the first call for a type): ``select()`` (``select(context)``) and
    ``update(arm, reward)`` are bound to the box, ``read_state(box)`` and
    ``read_context(box)`` take it; ``read_context`` is None for K-armed policies. None when
    the policy's ``update`` kernel returns a state of another type than it takes (the box
    could not hold it), where the policy calls its kernels directly instead.

    ``context`` (contextual policies; None otherwise) is the features the last ``select``
    was given when ``ready``, else any array of their shape.
    """
    p, s = numba.typeof(params), numba.typeof(state)
    update_kernel = kernels_for(type(params)).update
    sig = (p, s, types.int64, types.float64)
    if context is not None:
        context = np.array(context, dtype=np.float64, order="C")       # the box's own copy
        sig += (numba.typeof(context),)
    update_kernel = callee_of(update_kernel)    # the form box_update below calls
    update_kernel.compile(sig)
    if update_kernel.overloads[sig].signature.return_type != s:
        return None
    box = _new_box(params, state, handle, float(low), float(high), bool(integer), int(n_arms),
                   context if context is not None else np.empty((0, 0)),
                   bool(ready and context is not None))
    b = numba.typeof(box)
    ref, address, arm, reward = types.TypeRef(b), types.intp, types.int64, types.float64
    # the entry points take the box's address, bound with partial: unboxing an int costs a
    # fraction of unboxing the StructRef proxy (about 90 ns less per call)
    at = (_address_of.compile((b,))(box), b)
    if context is None:
        select = box_select.compile((address, ref))
        update = box_update.compile((address, ref, arm, reward))
        read_context = None
    else:
        select = box_select_context.compile((address, ref, numba.typeof(context)))
        update = box_update_context.compile((address, ref, arm, reward))
        read_context = box_context.compile((b,))
    return (box, functools.partial(select, *at), functools.partial(update, *at),
            box_state.compile((b,)), read_context)
