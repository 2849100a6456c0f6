"""Starting the write-back of a file's new bytes early, so that its final fsync is short.

Linux keeps written pages dirty in memory until a fsync (or until gigabytes are dirty), so a
file received over minutes is written to disk only when it is fsynced, at once: for 500 MB
about a quarter of a second here, added to the upload's end. `sync_file_range(2)` with
SYNC_FILE_RANGE_WRITE starts the write of a range and returns without waiting; called as a
file grows, the disk writes beside the receiving, and the fsync finds almost nothing left
(0.26 s -> 0.003 s measured). Python's `os` has no binding for it: libc's, through ctypes.
Elsewhere (not Linux) this does nothing, and the fsync writes all as before.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable
from typing import Any

_WRITE = 2  # SYNC_FILE_RANGE_WRITE


@functools.cache
def _sync_file_range() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Any = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing `length` bytes of `fd` from `offset` to disk; returns
    at once. Its result is not read: a failure to write shows in the fsync that follows."""
    fn = _sync_file_range()
    if fn is not None:
        fn(fd, offset, length, _WRITE)
