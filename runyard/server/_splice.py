"""Moving a request body from its socket into a file without it passing through this process.

Received the usual way, each byte of an upload is copied from the kernel into uvloop's
buffer, by httptools into a bytes object, and from it back into the kernel's page cache, all
on the event loop's thread; and the hash reads it from those bytes. `splice(2)` moves the
socket's pages into a pipe and from the pipe into the file inside the kernel, and the hash
reads the file's new pages where they lie (`_hasher.py`). One 500 MB PUT on this 2-core VM:
1,378 MB/s this way, 836 MB/s through the route's receive loop, 1,084 MB/s by a bare
`recv_into` loop (5 rounds each, the same sendfile client).

This runs in a thread of its own, so the event loop serves other requests meanwhile; the
connection's transport has stopped reading (`protocol.py`). Linux only; elsewhere, and where
the server was not started with runyard's protocol (the tests' in-process client), the body is
received the usual way.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import sys
import threading
import time
from collections.abc import Callable

_SET_PIPE_SIZE = 1031  # F_SETPIPE_SZ
PIPE = 1 << 20  # bytes moved from the socket at once (the pipe is made this large)
_SLICE_MS = 1000  # how often a wait for the client looks at the stop flag
_GONE = (errno.ECONNRESET, errno.EPIPE, errno.ETIMEDOUT)


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "splice")


class Stalled(Exception):
    """The client sent nothing for the idle time: what arrived stays in the file."""


class Stopped(Exception):
    """The request was given up (the server is stopping): what arrived stays in the file."""


def into_file(
    sock: int,
    fd: int,
    offset: int,
    length: int,
    idle_s: float,
    stop: threading.Event,
    progress: Callable[[int], None],
) -> int:
    """Move up to `length` bytes from the socket `sock` into the file `fd` at `offset`, and
    return how many arrived (fewer: the client went away). `progress(end)` is called with the
    file's end as it grows (at most a pipe's worth at a time). Raises Stalled after `idle_s`
    without a byte, Stopped once `stop` is set while waiting, and OSError for a write that
    failed (a full disk: the bytes written before it stay)."""
    r, w = os.pipe()
    try:
        with contextlib.suppress(OSError):  # (a smaller pipe moves less at a time)
            fcntl.fcntl(w, _SET_PIPE_SIZE, PIPE)
        waiting = select.poll()
        waiting.register(sock, select.POLLIN)
        got = 0
        heard = time.monotonic()
        while got < length:
            try:
                n = os.splice(sock, w, min(PIPE, length - got), flags=os.SPLICE_F_MOVE)
            except BlockingIOError:
                _wait(waiting, heard, idle_s, stop)
                continue
            except OSError as e:
                if e.errno in _GONE:
                    break
                raise
            if not n:
                break  # the client closed the connection: what it sent stays
            heard = time.monotonic()
            moved = 0
            try:
                while moved < n:
                    if offset < 0:  # (a file without offsets: /dev/null)
                        moved += os.splice(r, fd, n - moved)
                    else:
                        moved += os.splice(r, fd, n - moved, offset_dst=offset + got + moved)
            except OSError:
                if offset >= 0:
                    discard(sock, length - got - n, idle_s, stop)
                raise
            got += n
            progress(offset + got)
        return got
    finally:
        os.close(r)
        os.close(w)


def discard(sock: int, length: int, idle_s: float, stop: threading.Event) -> None:
    """Read and drop the rest of a body that will not be kept (its write failed), so that the
    client, still sending it, reads the answer instead of a reset connection."""
    with open(os.devnull, "wb") as null, contextlib.suppress(Stalled, Stopped, OSError):
        into_file(sock, null.fileno(), -1, length, idle_s, stop, lambda _: None)


def _wait(waiting: select.poll, heard: float, idle_s: float, stop: threading.Event) -> None:
    left = heard + idle_s - time.monotonic()
    if left <= 0:
        raise Stalled
    waiting.poll(min(_SLICE_MS, max(1, int(left * 1000))))
    if stop.is_set():
        raise Stopped
