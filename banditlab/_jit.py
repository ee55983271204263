"""``njit``: Numba's ``njit`` with one on-disk cache that is sound across files.

Every banditlab kernel is compiled with :func:`njit` from this module (a test checks that no
module of the package calls ``numba.njit`` itself). It differs from ``numba.njit(cache=True)``
in what makes a cached function stale:

* **Numba** stamps a cached function with its own source file only. A compiled function that
  reaches a kernel in another file (a shared helper in :mod:`banditlab.kernels`, an env kernel,
  a policy's ``select`` reached through the protocol dispatch) keeps its old machine code after
  that other file is edited, until the cache files are deleted by hand.
* **Here** the stamp of every kernel is a digest of the *contents* of every Python file of the
  package (``banditlab/``, and ``envs/``/``solvers/``/``theory_checks/`` where a source
  checkout keeps them beside it). Editing any of them invalidates every cached kernel in the
  next process; installing the same files again (or a ``git checkout`` that only touches
  modification times) does not.
* Algorithms defined **outside** the package (a user's ``Params`` type with kernels in their own
  module) reach banditlab's cached trajectory loops through the dispatch too. For each argument
  type of a compiled signature that is a ``NamedTuple`` class defined outside the package, the
  cache key also holds a digest of that class's source file and of the files of the kernels
  registered for it, so editing such a kernel compiles the loop anew for that type. (Helpers
  that such a kernel imports from yet another file of the user's are not tracked: numba's own
  rule applies to them.)
* An index that can no longer be unpickled (it names a class that an upgrade renamed) reads as
  a cache miss instead of raising ``AttributeError`` on the first call, and so does a damaged
  data file (``.nbc``: truncated, overwritten, unreadable): the kernel is compiled again and the
  entry rewritten.
* Where no cache location is writable (a read-only install, no writable home directory and no
  ``NUMBA_CACHE_DIR``) kernels are compiled in memory in every process, with one
  :class:`~banditlab.errors.BanditlabWarning` saying how to enable the cache.

Every edit therefore recompiles the kernels a process uses once (a few seconds each); a fresh
install compiles them once anyway. ``NUMBA_DISABLE_JIT=1`` returns the plain Python functions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import inspect
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba
from numba.core import caching, sigutils, types

__all__ = ["argument_types", "cache_role", "callee_of", "has_cached_versions", "is_compiled",
           "miss_hook", "njit", "package_digest", "package_roots", "set_miss_hook"]

_PACKAGE = "banditlab"
_MAPPED = ("envs", "solvers", "theory_checks")


def package_roots() -> tuple[Path, ...]:
    """The folders holding banditlab's Python files (installed or in a source checkout)."""
    roots = [Path(__file__).resolve().parent]
    for sub in _MAPPED:
        try:
            spec = importlib.util.find_spec(f"{_PACKAGE}.{sub}")
        except (ImportError, ValueError):
            spec = None
        for loc in (spec.submodule_search_locations or []) if spec is not None else []:
            path = Path(loc).resolve()
            if path.is_dir() and not any(path.is_relative_to(r) for r in roots):
                roots.append(path)
    return tuple(roots)


def _digest_files(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.name).encode())
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(b"<unreadable>")
    return h.hexdigest()


@functools.cache
def package_digest() -> str:
    """SHA-256 of the contents of every ``.py`` file under :func:`package_roots` (cached)."""
    files: list[Path] = []
    for root in package_roots():
        files += sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)
    return _digest_files(files)


def _inside_package(path: Path) -> bool:
    return any(path.is_relative_to(r) for r in package_roots())


def _external_sources(sig: Any) -> str:
    """Digest of the user files behind the NamedTuple argument types of ``sig`` (or '')."""
    from banditlab.protocols import registered_kernels

    files: set[Path] = set()
    for t in getattr(sig, "args", sig) if sig is not None else ():
        cls = getattr(t, "instance_class", None)
        if cls is None:
            continue
        funcs: list[Any] = [cls]
        kernels = registered_kernels(cls)
        if kernels is not None:
            funcs += [getattr(k, "py_func", k) for k in kernels if k is not None]
        for obj in funcs:
            try:
                path = Path(inspect.getfile(obj)).resolve()
            except (TypeError, OSError):
                continue
            if path.is_file() and not _inside_package(path):
                files.add(path)
    return _digest_files(sorted(files)) if files else ""


class _PackageStampMixin:
    """Locator mixin: the source stamp is the package digest, not the function's own file."""

    def get_source_stamp(self) -> str:
        return package_digest()


class _UserProvidedLocator(_PackageStampMixin, caching.UserProvidedCacheLocator):
    pass


class _InTreeLocator(_PackageStampMixin, caching.InTreeCacheLocator):
    pass


class _UserWideLocator(_PackageStampMixin, caching.UserWideCacheLocator):
    pass


class _CacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = [_UserProvidedLocator, _InTreeLocator, _UserWideLocator]


_UNREADABLE = (AttributeError, ImportError, pickle.UnpicklingError, EOFError, ValueError,
               TypeError, IndexError, KeyError, MemoryError, OverflowError)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (created if needed) between processes; no lock
    where ``fcntl`` is missing (Windows) or the file cannot be opened."""
    try:
        import fcntl
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                     # releases the lock


class _IndexFile(caching.IndexDataCacheFile):
    """An index or a data file that cannot be unpickled (a class it names is gone, the file
    is damaged) is a miss.

    Saving is safe between processes that share the cache directory (worker pools, a sweep's
    workers, two notebooks): numba's own ``save`` reads the index, picks the first unused data
    file number and writes both back with no lock, so two processes saving different
    overloads of one kernel at the same moment can lose an index entry or, worse, write two
    overloads to one data file that the index then maps to the wrong signature. Here the data
    file is named by a digest of the key and the source stamp, and the index is read, updated
    and written under an exclusive lock (:func:`_locked`), after the data file is complete.
    """

    def save(self, key: Any, data: Any) -> None:
        digest = hashlib.sha256(repr((key, self._source_stamp)).encode()).hexdigest()[:20]
        name = f"{self._index_name[:-len('.nbi')]}.{digest}.nbc"
        with _locked(self._index_path + ".lock"):
            overloads = self._load_index()
            if not overloads:
                self._remove_stale(keep=name)
            self._save_data(name, data)          # whole before the index names it
            if overloads.get(key) != name:
                overloads[key] = name
                self._save_index(overloads)

    def _remove_stale(self, keep: str) -> None:
        """An empty or outdated index: the data files of this kernel are from another source
        stamp (numba reuses its numbered files; digests would pile up), so they go."""
        base = self._index_name[:-len(".nbi")]
        try:
            names = os.listdir(self._cache_path)
        except OSError:
            return
        for name in names:
            if name != keep and name.startswith(base + ".") and name.endswith(".nbc") and \
                    "." not in name[len(base) + 1:-len(".nbc")]:
                try:
                    os.unlink(os.path.join(self._cache_path, name))
                except OSError:
                    pass

    def _load_index(self) -> dict:
        try:
            return super()._load_index()
        except _UNREADABLE:
            return {}

    def _load_data(self, name: str) -> Any:
        try:
            return super()._load_data(name)
        except _UNREADABLE:
            return None


class _PackageCache(caching.FunctionCache):
    """``FunctionCache`` with the package-wide stamp and the user-kernel key."""

    _impl_class = _CacheImpl

    def __init__(self, py_func: Callable[..., Any]) -> None:
        self._name = repr(py_func)
        self._py_func = py_func
        self._impl = self._impl_class(py_func)
        self._cache_path = self._impl.locator.get_cache_path()
        self._cache_file = _IndexFile(cache_path=self._cache_path,
                                      filename_base=self._impl.filename_base,
                                      source_stamp=self._impl.locator.get_source_stamp())
        self.enable()

    #: told apart in the index: a kernel's two compiled forms (see :func:`_split_callee`)
    _role = "python"

    def _index_key(self, sig: Any, codegen: Any) -> tuple:
        return (*super()._index_key(sig, codegen), _external_sources(sig), self._role)

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        """A cached entry that unpickles but cannot be rebuilt (damaged object code) is a
        miss: the kernel is compiled again and its entry overwritten. A miss for a version
        that a helper process is compiling (:func:`set_miss_hook`) waits for the helper to
        save it, then loads it."""
        cres = self._load_or_none(sig, target_context)
        hook = _miss_hook
        if cres is None and hook is not None and hook(self._py_func, self._role, tuple(sig)):
            cres = self._load_or_none(sig, target_context)
        return cres

    def _load_or_none(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except Exception:   # any failure to rebuild a cache entry means: compile again
            return None

    def index(self) -> dict[Any, Any]:
        """The on-disk index of this kernel's versions (empty when absent or unreadable)."""
        try:
            return self._cache_file._load_index()
        except Exception:
            return {}

    def has(self, sig: Any, codegen: Any) -> bool:
        """Whether the on-disk index names a version for ``sig`` (nothing is loaded)."""
        try:
            key = self._index_key(sig, codegen)
        except Exception:
            return False
        return key in self.index()


class _CalleeCache(_PackageCache):
    """The cache of a kernel's form without Python wrappers (its own index entries)."""

    _role = "callee"


#: called on a cache miss as ``hook(py_func, role, argument_types)``; True when the version
#: has just been saved by another process (load again). See :func:`set_miss_hook`.
_miss_hook: Callable[[Any, str, tuple], bool] | None = None


def set_miss_hook(hook: Callable[[Any, str, tuple], bool] | None) -> None:
    """Install (or remove, with None) the function a cache miss consults before compiling:
    :class:`banditlab.parallel.CompileBeside` uses it to make this process wait for a kernel
    its helper is compiling instead of compiling it a second time."""
    global _miss_hook
    _miss_hook = hook


def miss_hook() -> Callable[[Any, str, tuple], bool] | None:
    """The hook :func:`set_miss_hook` installed (None: none)."""
    return _miss_hook


def cache_role(disp: Any) -> str | None:
    """The role under which ``disp`` keeps its versions in the on-disk cache ("python" or
    "callee"), or None when it has no on-disk cache (a function typed at a prompt, no
    writable location, ``NUMBA_DISABLE_JIT``)."""
    cache = getattr(disp, "_cache", None)
    return cache._role if isinstance(cache, _PackageCache) else None


def argument_types(disp: Any, args: tuple) -> tuple:
    """The types ``disp`` compiles a version for when called with ``args``: as Numba types a
    call from Python, or, for a dispatcher of a kernel's callee form (:func:`callee_of`), a
    call from another kernel (plain types, no literals: :func:`_typed_without_literals`)."""
    if cache_role(disp) == "callee":
        return tuple(types.unliteral(numba.typeof(a)) for a in args)
    return tuple(disp.typeof_pyval(a) for a in args)


def is_compiled(disp: Any, argtypes: tuple) -> bool:
    """Whether ``disp`` has a version for ``argtypes`` in this process or in the on-disk
    cache (read from the index only: nothing is loaded or compiled)."""
    if tuple(argtypes) in disp.overloads:
        return True
    cache = getattr(disp, "_cache", None)
    return isinstance(cache, _PackageCache) and cache.has(tuple(argtypes),
                                                          disp.targetctx.codegen())


def has_cached_versions(disp: Any) -> bool:
    """Whether the on-disk cache holds any version of ``disp`` compiled from the current
    sources (False on a fresh install, after an edit of the package, or without a cache)."""
    cache = getattr(disp, "_cache", None)
    return isinstance(cache, _PackageCache) and bool(cache.index())


_warned_no_cache = False


def _warn_no_cache(name: str, exc: Exception) -> None:
    global _warned_no_cache
    if _warned_no_cache:
        return
    _warned_no_cache = True
    import warnings

    from banditlab.errors import BanditlabWarning

    warnings.warn(f"banditlab: no writable location for the kernel cache ({exc}); kernels are "
                  f"compiled in memory in every process. Set NUMBA_CACHE_DIR to a writable "
                  f"directory to keep them (first kernel: {name}).", BanditlabWarning,
                  stacklevel=3)


def _typed_without_literals(disp: Any) -> None:
    """Compile ``disp`` for the plain types of its arguments when another kernel calls it.

    Numba types a constant argument of a call from compiled code as a literal
    (``Literal[int](3)``) and compiles the callee once per distinct constant: a helper called
    with eleven different error codes was compiled eleven times at the first call of a
    streaming run. The plain types (``int64``) give one version for every value; no kernel
    here branches on the type of a literal argument."""
    original = disp.get_call_template

    def get_call_template(args: Any, kws: Any) -> Any:
        return original(tuple(types.unliteral(a) for a in args),
                        {k: types.unliteral(v) for k, v in kws.items()})

    disp.get_call_template = get_call_template


def _enable_cache(disp: Any, cache_class: type, f: Callable[..., Any]) -> None:
    """What ``Dispatcher.enable_caching()`` does, with our cache class."""
    try:
        disp._cache = cache_class(disp.py_func)
    except RuntimeError as exc:      # numba: "cannot cache function ...: no locator"
        # a function typed at a prompt or in a notebook cell has no file to cache beside:
        # compiled in memory, as numba does; a real file means no location is writable,
        # which the user should hear about once
        try:
            has_file = os.path.isfile(inspect.getfile(f))
        except (TypeError, OSError):
            has_file = False
        if has_file:
            _warn_no_cache(getattr(f, "__qualname__", repr(f)), exc)


def _split_callee(disp: Any, f: Callable[..., Any], options: dict[str, Any]) -> None:
    """Compile ``disp`` without its Python wrappers when another kernel calls it.

    Numba compiles every version of a jitted function with two wrappers, one that unboxes
    Python arguments (for a NamedTuple state of ten arrays, more code than many kernels) and
    one C entry point, and optimises and generates machine code for them, although a kernel
    that only other kernels call never runs either. Here a call from compiled code is typed
    and lowered against a second dispatcher of the same function compiled without them
    (cached under its own key); Python calls still compile and run the full version. A
    kernel called both ways in one process is compiled once each way.
    """
    callee = numba.njit(**{**options, "no_cpython_wrapper": True,
                           "no_cfunc_wrapper": True})(f)
    _typed_without_literals(callee)
    _enable_cache(callee, _CalleeCache, f)
    own_overload = disp.get_overload

    def get_overload(sig: Any) -> Any:
        args, _ = sigutils.normalize_signature(sig)
        cres = callee.overloads.get(tuple(args))
        return cres.entry_point if cres is not None else own_overload(sig)

    disp.get_call_template = callee.get_call_template
    disp.get_overload = get_overload
    disp._banditlab_callee = callee


def callee_of(disp: Any) -> Any:
    """The dispatcher that compiles ``disp`` when other kernels call it (``disp`` itself for
    a function not made by :func:`njit`, or made with ``inline`` or without wrappers)."""
    return getattr(disp, "_banditlab_callee", disp)


def njit(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """``numba.njit`` with the package-wide cache (``cache`` is always on; do not pass it).

    Usable bare (``@njit``) or with Numba's options (``@njit(inline="always")``). A call from
    another kernel compiles the function without its Python wrappers (:func:`_split_callee`).
    """
    if "cache" in options:
        raise TypeError("banditlab._jit.njit: kernels are always cached; drop 'cache='.")

    def wrap(f: Callable[..., Any]) -> Any:
        disp = numba.njit(**options)(f)
        if isinstance(disp, numba.core.dispatcher.Dispatcher) and os.environ.get(
                "NUMBA_DISABLE_JIT", "0") != "1":
            _enable_cache(disp, _PackageCache, f)
            if options.get("inline", "never") == "never" and not (
                    options.get("no_cpython_wrapper") or options.get("no_cfunc_wrapper")):
                _split_callee(disp, f, options)      # calls from kernels type the callee
            else:
                _typed_without_literals(disp)
        return disp

    return wrap if func is None else wrap(func)
