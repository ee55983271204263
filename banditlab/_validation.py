"""Declarative parameter constraints with one error-message template.

Every public constructor and function checks its arguments through these objects, so all
messages read the same way::

    UCB: 'alpha' must be a float in (0, inf); got -1.

A wrong *type* raises :class:`TypeError`, a wrong *value* raises :class:`ValueError`. ``bool``
is never accepted where a number is expected. Each constraint can also produce invalid values
(:meth:`Constraint.invalid_values`) so the contract tests exercise every error path.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import numpy as np

__all__ = [
    "Array",
    "Boolean",
    "Constraint",
    "Integer",
    "Options",
    "Real",
    "available_memory",
    "check_array",
    "check_bool",
    "check_integer",
    "check_memory",
    "check_option",
    "check_real",
    "check_size_memory",
    "validate",
]

#: largest number of arms a policy or env accepts (2**24): beyond it the per-arm state arrays
#: of one learner alone reach gigabytes, and every round of an index policy scans all arms
MAX_ARMS = 2**24
#: largest number of arms of the policies whose every round costs many passes over the arms
#: (2**16): Tsallis-INF (and Tsallis-INF-CB) finds its sampling distribution by Newton's method,
#: 20 to 200 passes over all arms per select and per update (at 2**24 arms one round takes
#: seconds), and ChebCB predicts every arm from its own Chebyshev fit and keeps an
#: ``n_coef x n_coef`` Gram matrix per arm (2**24 arms and 50 coefficients: 335 GB)
MAX_ARMS_ITERATIVE = 2**16
#: largest horizon (rounds, budget) of a bandit env or policy (2**62): counters are int64 with
#: room to spare (the streaming env's MAX_HORIZON is the same)
MAX_HORIZON = 2**62
#: largest number of independent runs one call accepts (2**31): each run has its own seeds and
#: result rows, held in memory at once
MAX_RUNS = 2**31
#: fraction of the available memory one request (a learner's state, a batch of results) may use
MEMORY_FRACTION = 0.5


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable`` of ``/proc/meminfo``, else physical)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (OSError, ValueError, AttributeError):
        return 2**34          # 16 GiB: a conservative guess where nothing can be read


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_memory(n_bytes: float, what: str, owner: str) -> None:
    """Refuse, before allocating, a request of ``n_bytes`` above ``MEMORY_FRACTION`` of the
    available memory: ``ValueError`` naming ``what`` (the sizes that ask for it)."""
    if n_bytes <= 2**26:        # 64 MiB: not worth reading /proc/meminfo
        return
    limit = MEMORY_FRACTION * available_memory()
    if not n_bytes <= limit:
        raise ValueError(f"{owner}: {what} needs about {_gib(n_bytes)} of memory, more than "
                         f"the {_gib(limit)} allowed (half of the {_gib(limit / MEMORY_FRACTION)}"
                         f" available); use smaller sizes.")


def check_size_memory(value: int, name: str, owner: str, n_bytes: Callable[[int], float],
                      what: str, low: int = 1) -> None:
    """Refuse, before allocating, a size ``value`` of parameter ``name`` whose memory
    ``n_bytes(value)`` (an increasing function) is above ``MEMORY_FRACTION`` of the available
    memory: ``ValueError`` giving the largest size that fits, ``what`` is allocated, and the
    value, e.g. ``LinUCB: 'n_features' must be an int in [1, 37000] (the n_features x
    n_features matrix V^-1 needs about 128 GiB, more than ...); got 2147483648.``"""
    need = float(n_bytes(value))
    if need <= 2**26:           # 64 MiB: not worth reading /proc/meminfo
        return
    limit = MEMORY_FRACTION * available_memory()
    if need <= limit:
        return
    lo, hi = low, int(value)    # n_bytes(lo) <= limit < n_bytes(hi): bisect for the largest fit
    if float(n_bytes(lo)) > limit:
        lo = low - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if float(n_bytes(mid)) <= limit:
            lo = mid
        else:
            hi = mid
    raise ValueError(f"{owner}: '{name}' must be an int in [{low}, {lo}] ({what} needs about "
                     f"{_gib(need)}, more than the {_gib(limit)} allowed: half of the "
                     f"{_gib(limit / MEMORY_FRACTION)} of memory available now); got {value}.")


def _fmt_bound(x: float | None, neg: bool) -> str:
    if x is None:
        return "-inf" if neg else "inf"
    if isinstance(x, float) and x.is_integer():
        return str(int(x)) if abs(x) < 1e15 else repr(x)
    return repr(x)


def _fmt_interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    return f"{left}{_fmt_bound(low, True)}, {_fmt_bound(high, False)}{right}"


def _in_interval(x: float, low: float | None, high: float | None, closed: str) -> bool:
    if low is not None:
        if closed in ("both", "left"):
            if x < low:
                return False
        elif x <= low:
            return False
    if high is not None:
        if closed in ("both", "right"):
            if x > high:
                return False
        elif x >= high:
            return False
    return True


def _got(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class Constraint:
    """A named rule for one parameter: ``check`` returns the coerced value or raises."""

    def describe(self) -> str:  # pragma: no cover - overridden
        raise AttributeError("Constraint subclasses define describe()")

    def check(self, value: Any, name: str, owner: str) -> Any:  # pragma: no cover
        raise AttributeError("Constraint subclasses define check()")

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        """Values this constraint must reject, with the exception type expected."""
        return [("not-a-valid-value", TypeError)]

    def _type_error(self, value: Any, name: str, owner: str) -> TypeError:
        return TypeError(
            f"{owner}: '{name}' must be {self.describe()}; "
            f"got {type(value).__name__} {_got(value)}."
        )

    def _value_error(self, value: Any, name: str, owner: str) -> ValueError:
        return ValueError(f"{owner}: '{name}' must be {self.describe()}; got {_got(value)}.")


class Real(Constraint):
    """A finite real number in an interval; returns ``float``."""

    def __init__(self, low: float | None = None, high: float | None = None,
                 closed: str = "both", allow_none: bool = False) -> None:
        self.low, self.high, self.closed, self.allow_none = low, high, closed, allow_none

    def describe(self) -> str:
        text = f"a float in {_fmt_interval(self.low, self.high, self.closed)}"
        return text + " or None" if self.allow_none else text

    def check(self, value: Any, name: str, owner: str) -> float | None:
        if value is None and self.allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._type_error(value, name, owner)
        x = float(value)
        if not math.isfinite(x) or not _in_interval(x, self.low, self.high, self.closed):
            raise self._value_error(value, name, owner)
        return x

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        out: list[tuple[Any, type[Exception]]] = [("1.0", TypeError), (True, TypeError),
                                                  (float("nan"), ValueError)]
        if self.low is not None:
            out.append((self.low if self.closed in ("right", "neither")
                        else self.low - max(1.0, abs(self.low)), ValueError))
        if self.high is not None:
            out.append((self.high if self.closed in ("left", "neither")
                        else self.high + max(1.0, abs(self.high)), ValueError))
        return out


class Integer(Constraint):
    """An integer in a closed interval; returns ``int`` (numpy integers accepted)."""

    def __init__(self, low: int | None = None, high: int | None = None,
                 allow_none: bool = False) -> None:
        self.low, self.high, self.allow_none = low, high, allow_none

    def describe(self) -> str:
        text = f"an int in {_fmt_interval(self.low, self.high, 'both')}"
        return text + " or None" if self.allow_none else text

    def check(self, value: Any, name: str, owner: str) -> int | None:
        if value is None and self.allow_none:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self._type_error(value, name, owner)
        v = int(value)
        if not _in_interval(v, self.low, self.high, "both"):
            raise self._value_error(value, name, owner)
        return v

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        out: list[tuple[Any, type[Exception]]] = [(1.5, TypeError), (True, TypeError)]
        if self.low is not None:
            out.append((self.low - 1, ValueError))
        if self.high is not None:
            out.append((self.high + 1, ValueError))
        return out


class Boolean(Constraint):
    """A ``bool`` (numpy bools accepted)."""

    def describe(self) -> str:
        return "a bool"

    def check(self, value: Any, name: str, owner: str) -> bool:
        if not isinstance(value, bool | np.bool_):
            raise self._type_error(value, name, owner)
        return bool(value)

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        return [(1, TypeError), ("yes", TypeError)]


class Options(Constraint):
    """One of a fixed set of strings."""

    def __init__(self, options: Iterable[str]) -> None:
        self.options = tuple(options)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def check(self, value: Any, name: str, owner: str) -> str:
        if not isinstance(value, str):
            raise self._type_error(value, name, owner)
        if value not in self.options:
            raise self._value_error(value, name, owner)
        return value

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        return [(3, TypeError), ("__no_such_option__", ValueError)]


class Array(Constraint):
    """A numeric array: dtype, number of dimensions, shape limits and an element range.

    ``shape`` entries may be ``None`` (any length). Returns a C-contiguous copy in ``dtype``.
    """

    def __init__(self, ndim: int = 1, *, dtype: type = np.float64, low: float | None = None,
                 high: float | None = None, closed: str = "both", min_len: int = 1,
                 shape: tuple[int | None, ...] | None = None, allow_none: bool = False) -> None:
        self.ndim, self.dtype, self.low, self.high = ndim, np.dtype(dtype), low, high
        self.closed, self.min_len, self.shape, self.allow_none = closed, min_len, shape, allow_none

    def describe(self) -> str:
        kind = "float" if self.dtype.kind == "f" else "int"
        text = f"a {self.ndim}-d array of {kind}s"
        if self.shape is not None:
            text += " of shape (" + ", ".join("any" if s is None else str(s)
                                              for s in self.shape) + ")"
        elif self.min_len > 1:
            text += f" with at least {self.min_len} entries per axis"
        elif self.min_len == 1:
            text += " (non-empty)"
        if self.low is not None or self.high is not None:
            text += f" with entries in {_fmt_interval(self.low, self.high, self.closed)}"
        if self.allow_none:
            text += ", or None"
        return text

    def check(self, value: Any, name: str, owner: str) -> np.ndarray | None:
        if value is None and self.allow_none:
            return None
        if isinstance(value, str | bytes | Mapping) or value is None:
            raise self._type_error(value, name, owner)
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise self._type_error(value, name, owner) from exc
        if arr.dtype == object or arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
            raise self._type_error(value, name, owner)
        if self.dtype.kind in "iu" and arr.dtype.kind == "f" and arr.size > 0:
            raise self._type_error(value, name, owner)
        if arr.ndim != self.ndim:
            raise ValueError(f"{owner}: '{name}' must be {self.describe()}; got an array with "
                             f"{arr.ndim} dimension(s) and shape {arr.shape}.")
        if any(s < self.min_len for s in arr.shape):
            raise self._value_error(value, name, owner)
        if self.shape is not None:
            for want, have in zip(self.shape, arr.shape):
                if want is not None and want != have:
                    raise ValueError(f"{owner}: '{name}' must be {self.describe()}; "
                                     f"got shape {arr.shape}.")
        out = np.ascontiguousarray(arr, dtype=self.dtype).copy()
        if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
            raise ValueError(f"{owner}: '{name}' must be {self.describe()}; "
                             "got non-finite entries.")
        if self.low is not None or self.high is not None:
            flat = out.ravel()
            bad = [x for x in flat if not _in_interval(float(x), self.low, self.high, self.closed)]
            if bad:
                raise ValueError(f"{owner}: '{name}' must be {self.describe()}; "
                                 f"got an entry equal to {bad[0].item()!r}.")
        return out

    def invalid_values(self) -> list[tuple[Any, type[Exception]]]:
        shape, integral = (2,) * self.ndim, self.dtype.kind in "iu"
        out: list[tuple[Any, type[Exception]]] = [
            ("abc", TypeError), (np.zeros((2,) * (self.ndim + 1), dtype=self.dtype), ValueError)]
        # values of the constraint's own dtype, so the error is about the value, not the type
        # steps of max(1, |bound|): a step of 1 vanishes next to a bound such as 1e100
        if self.low is not None:
            below = (math.floor(self.low - 1) if integral
                     else self.low - max(1.0, abs(self.low)))
            out.append((np.full(shape, below, dtype=self.dtype), ValueError))
        if self.high is not None:
            above = (math.ceil(self.high + 1) if integral
                     else self.high + max(1.0, abs(self.high)))
            out.append((np.full(shape, above, dtype=self.dtype), ValueError))
        return out


def validate(owner: str, constraints: Mapping[str, Constraint], values: Mapping[str, Any]
             ) -> dict[str, Any]:
    """Check each value against its constraint; return the coerced values by name."""
    return {name: constraints[name].check(value, name, owner) for name, value in values.items()}


def check_real(value: Any, name: str, *, owner: str, low: float | None = None,
               high: float | None = None, closed: str = "both") -> float:
    """Validate one real number (see :class:`Real`)."""
    return cast(float, Real(low, high, closed).check(value, name, owner))


def check_integer(value: Any, name: str, *, owner: str, low: int | None = None,
                  high: int | None = None) -> int:
    """Validate one integer (see :class:`Integer`)."""
    return cast(int, Integer(low, high).check(value, name, owner))


def check_bool(value: Any, name: str, *, owner: str) -> bool:
    """Validate one bool."""
    return Boolean().check(value, name, owner)


def check_option(value: Any, name: str, options: Iterable[str], *, owner: str) -> str:
    """Validate one string option."""
    return Options(options).check(value, name, owner)


def check_array(value: Any, name: str, *, owner: str, **spec: Any) -> np.ndarray:
    """Validate one array (see :class:`Array` for ``spec``)."""
    return cast(np.ndarray, Array(**spec).check(value, name, owner))
