"""Atomic replacement of a directory, and the consistency id of a saved Results directory.

:func:`write_dir_atomically` writes into a temporary directory beside the target, flushes every
file to disk, then puts it in place in one step: ``rename`` when the target does not exist, an
atomic exchange of the two directories (Linux ``renameat2(RENAME_EXCHANGE)``) when it does.
A reader therefore sees the complete old directory or the complete new one, whenever the
writing process dies. Where the exchange is unavailable, the old directory is first renamed
to a sibling ``.<name>.old-<id>`` and :func:`resolve_saved_dir` reads that sibling if a crash
left no target.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["resolve_saved_dir", "write_dir_atomically"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: a temporary directory untouched for this long belongs to a dead writer
_STALE_S = 3600.0


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where it is unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False                 # a kernel or filesystem without RENAME_EXCHANGE
    raise OSError(err, os.strerror(err), str(a))


def _fsync_tree(root: Path) -> None:
    for p in root.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_dir_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_dir)`` then put ``tmp_dir`` in place of ``target`` atomically.

    On any error the temporary directory is removed, ``target`` is left as it was, and the
    error propagates.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    tmp = target.parent / f".{target.name}.tmp-{tag}"
    tmp.mkdir()
    try:
        write(tmp)
        _fsync_tree(tmp)
        if not target.exists():
            os.rename(tmp, target)
        elif _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)          # now holds the old contents
        else:
            old = target.parent / f".{target.name}.old-{tag}"
            os.rename(target, old)
            os.rename(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # temporary directories of writers killed long ago (a live writer's is recent)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > _STALE_S:
                shutil.rmtree(stale)


def resolve_saved_dir(target: Path) -> Path:
    """``target``, or the old copy that an interrupted two-step replacement left beside it."""
    target = Path(target)
    if target.exists():
        return target
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    return olds[-1] if olds else target
