"""The dispatch stubs of :mod:`banditlab.protocols` in compiled code.

A stub call in a kernel is resolved by the type of ``params`` to the registered kernel and
compiled as a direct call of it; these tests pin what a user registering their own ``Params``
type sees: the kernel's own result (argument types converted as for a direct call), and a
typing error that names the problem when nothing usable is registered.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import pytest

from banditlab.protocols import Kernels, call_select, call_update, register_kernels


class _CountingParams(NamedTuple):
    step: float


@numba.njit
def _select(params, state, rng):
    return int(np.argmin(state))


@numba.njit
def _update(params, state, arm, reward):
    state[arm] += params.step * reward
    return state


register_kernels(_CountingParams, Kernels(None, _select, _update))


class _UnregisteredParams(NamedTuple):
    step: float


class _UncompiledParams(NamedTuple):
    step: float


def _plain_select(params, state, rng):   # registered without numba.njit
    return 0


register_kernels(_UncompiledParams, Kernels(None, _plain_select, _update))


@numba.njit
def _loop(params, state, rng, rounds):
    for _ in range(rounds):
        arm = call_select(params, state, rng)
        state = call_update(params, state, arm, 1)      # an int literal where a float goes
    return state


def test_a_stub_call_is_the_registered_kernel() -> None:
    state = _loop(_CountingParams(0.5), np.zeros(3), np.random.default_rng(0), 7)
    # argmin picks the lowest count first: 7 rounds over 3 arms, 0.5 per round
    np.testing.assert_array_equal(state, [1.5, 1.0, 1.0])
    # the same as calling the kernels one by one from Python
    ref = np.zeros(3)
    for _ in range(7):
        ref = _update(_CountingParams(0.5), ref, _select(_CountingParams(0.5), ref, None), 1.0)
    np.testing.assert_array_equal(state, ref)


def test_an_unregistered_params_type_is_a_typing_error_naming_it() -> None:
    with pytest.raises(numba.core.errors.TypingError,
                       match=r"no 'select' kernel registered for params type _UnregisteredParams"):
        _loop(_UnregisteredParams(0.5), np.zeros(3), np.random.default_rng(0), 1)


def test_a_kernel_that_is_not_compiled_is_a_typing_error_saying_so() -> None:
    with pytest.raises(numba.core.errors.TypingError,
                       match=r"'select' kernel registered for _UncompiledParams is not compiled"):
        _loop(_UncompiledParams(0.5), np.zeros(3), np.random.default_rng(0), 1)
