"""Ctrl-C that never lands inside Numba's argument conversion.

Calling a compiled kernel from Python converts its arguments and result: a
``numpy.random.Generator`` is unpacked through ``ctypes.cast`` (a Python function), a
``NamedTuple`` state is rebuilt through its Python ``__new__``, and a cold call runs Numba's
compiler, all in Python frames *inside* the native call. Python runs signal handlers at the next
bytecode boundary, so a Ctrl-C that arrives there raises ``KeyboardInterrupt`` in the middle of
that conversion; Numba's generated wrapper does not expect an exception at that point and the
process dies with a segmentation fault (about one interrupt in two in a loop of ``select``
calls, measured with ``tests/test_interrupts.py``'s canary).

:func:`install` replaces Python's default SIGINT handler (and only that one) with
:func:`handler`, which raises the same ``KeyboardInterrupt`` everywhere except in those frames:
there, and in any code that Numba or llvmlite called (compiling a kernel, loading it from the
cache: an interrupt raised in the import machinery they drive can be swallowed as "Exception
ignored"), it re-sends the interrupt to the main thread 2 ms later, until it lands in ordinary
Python code. A Ctrl-C during a kernel's compilation therefore takes effect when the compilation
ends.

It is installed when banditlab is imported and again by :meth:`banditlab.Policy.reset` and the
runners (Jupyter puts the default handler back before each cell), only in the main thread, and
never over a handler the program installed itself.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import signal
import threading
from types import CodeType, FrameType

import llvmlite
import numba

__all__ = ["handler", "install"]

#: delay before a deferred interrupt is delivered again, in seconds
RETRY_DELAY = 0.002

_COMPILER_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (numba, llvmlite))
_CTYPES_CAST = ctypes.cast.__code__


def _is_namedtuple_new(code: CodeType) -> bool:
    # collections.namedtuple compiles ``lambda _cls, ...: _tuple_new(_cls, (...))`` from a string
    return (code.co_filename == "<string>" and code.co_name == "<lambda>"
            and "_tuple_new" in code.co_names)


def _inside_kernel_call(frame: FrameType) -> bool:
    """Whether this frame runs inside a compiled call: it, or a frame it was called from, is
    ``ctypes.cast`` or a namedtuple's generated ``__new__`` (a conversion), or code of Numba or
    llvmlite (compiling, loading from the cache). The whole chain counts: a handler that runs
    while an earlier one is deferring (in a conversion) must defer too."""
    f: FrameType | None = frame
    while f is not None:
        code = f.f_code
        if (code is _CTYPES_CAST or code.co_filename.startswith(_COMPILER_DIRS)
                or _is_namedtuple_new(code)):
            return True
        f = f.f_back
    return False


def _send_again(signum: int) -> None:
    _thread.interrupt_main(signum)


def handler(signum: int, frame: FrameType | None) -> None:
    """SIGINT handler: ``KeyboardInterrupt`` now, or 2 ms later inside a kernel call."""
    if frame is not None and _inside_kernel_call(frame):
        timer = threading.Timer(RETRY_DELAY, _send_again, (signum,))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


def install() -> bool:
    """Put :func:`handler` in place of Python's default SIGINT handler; return whether it is
    in place now. Does nothing outside the main thread or over another handler."""
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGINT)
    if current is signal.default_int_handler:
        signal.signal(signal.SIGINT, handler)
        return True
    return current is handler
