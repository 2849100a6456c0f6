"""Writing a file that arrives over time: its blocks reserved a little ahead of its bytes,
and their write to disk started early, so that the disk keeps pace and the final fsync is short.

Linux keeps written pages dirty in memory until a fsync (or until gigabytes are dirty), so a
file received over minutes is written to disk only when it is fsynced, at once: for 500 MB
about a quarter of a second here, added to the upload's end. `sync_file_range(2)` with
SYNC_FILE_RANGE_WRITE starts the write of a range and returns without waiting; called as a
file grows, the disk writes beside the receiving, and the fsync finds almost nothing left
(0.26 s -> 0.003 s measured).

`fallocate(2)` with FALLOC_FL_KEEP_SIZE reserves the blocks of the bytes about to come without
changing the file's size: ext4 then places each page written into blocks it already has,
instead of reserving and later allocating them one by one (delayed allocation). Writing 500
MB into page cache cost 0.15 s of CPU instead of 0.20 s here, and the file lies in fewer
pieces on disk.

Python's `os` binds neither (`os.posix_fallocate` cannot keep the size, and writes zeros
where the file system has no fallocate): libc's, through ctypes. Elsewhere (not Linux), and
on file systems without them, they do nothing and the writes go on as before.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable
from typing import Any

_WRITE = 2  # SYNC_FILE_RANGE_WRITE
_KEEP_SIZE = 1  # FALLOC_FL_KEEP_SIZE


def _libc(name: str, *argtypes: Any) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Any = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


@functools.cache
def _sync_file_range() -> Callable[..., int] | None:
    return _libc("sync_file_range", ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)


@functools.cache
def _fallocate() -> Callable[..., int] | None:
    return _libc("fallocate", ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing `length` bytes of `fd` from `offset` to disk; returns
    at once. Its result is not read: a failure to write shows in the fsync that follows."""
    fn = _sync_file_range()
    if fn is not None:
        fn(fd, offset, length, _WRITE)


def reserve(fd: int, offset: int, length: int) -> bool:
    """Reserve the disk blocks of `length` bytes of `fd` from `offset`, its size unchanged;
    whether the file system did. A failure (no room for all of them, no fallocate here) is
    left to the writes: they fail where they would have failed anyway, or succeed."""
    fn = _fallocate()
    return fn is not None and fn(fd, _KEEP_SIZE, offset, length) == 0
