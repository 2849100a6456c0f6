"""An upload chunk's body, written into the partial file as it arrives and handed to the
file's hash on the way.

Where the server runs runyard's protocol on Linux, the body is taken from its socket and
moved into the file inside the kernel, in a thread of its own (`_splice.py`): an upload
~1.6x as fast as receiving it through the event loop, which is then free for other requests.
Elsewhere (the tests' in-process client, a body without a Content-Length) it comes through
ASGI's receive, a piece at a time, as before.

Either way the file's blocks are reserved up to RESERVE_AHEAD past what arrived (an upload
+6 % here), the write of every FLUSH_EVERY bytes to disk is started at once (`_writeback.py`),
and a client that sends nothing for `idle_s` (its node gone mid-chunk: nothing tells the
server) is given up with what arrived kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from runyard._writeback import reserve, start_writeback
from runyard.errors import BadRequest, RunyardError
from runyard.server import _splice
from runyard.server._hasher import HASH_BEHIND, Hasher
from runyard.server.protocol import TAKE, Taken

BLOCK = 1 << 20
FLUSH_EVERY = 8 * BLOCK  # written bytes whose write to disk starts at once (_writeback.py)
# Disk blocks reserved ahead of the bytes received (_writeback.py), at most: a client that
# declares a terabyte and sends nothing holds no more of the disk than this.
RESERVE_AHEAD = 32 * BLOCK
T = TypeVar("T")


class Stalled(RunyardError):
    status = 408
    code = "request_timeout"

    @classmethod
    def after(cls, path: str, idle_s: float) -> Stalled:
        return cls(f"{path!r}: no byte of the chunk for {idle_s:g} s")


class Stopping(RunyardError):
    status = 503
    code = "server_stopping"


async def receive(
    request: Request,
    f: Any,
    have: int,
    size: int,
    hasher: Hasher | None,
    path: str,
    idle_s: float,
) -> int:
    """Write the body to the partial file `f` (of `have` bytes, open for appending) as it
    comes, hand it to `hasher`, and return the file's size now (short of the whole body if
    the client went away). The body must not end past `size`."""
    take = request.scope.get("extensions", {}).get(TAKE) if _splice.available() else None
    taken = take() if take is not None else None
    if taken is None:
        return await _streamed(request, f, have, size, hasher, path, idle_s)
    try:
        return await _spliced(taken, f, have, size, hasher, path, idle_s)
    finally:
        os.close(taken.fd)


class _Ahead:
    """Reserves the file's blocks ahead of its end, and starts their write to disk behind it."""

    def __init__(self, fd: int, end: int, size: int):
        self.fd, self.size = fd, size
        self.reserved = self.flushed = end

    def at(self, end: int) -> None:
        if self.reserved - end < RESERVE_AHEAD // 2 and self.reserved < self.size:
            ahead = min(self.size, end + RESERVE_AHEAD)
            reserve(self.fd, self.reserved, ahead - self.reserved)
            self.reserved = ahead
        if end - self.flushed >= FLUSH_EVERY:
            start_writeback(self.fd, self.flushed, end - self.flushed)
            self.flushed = end


async def _spliced(
    taken: Taken, f: Any, have: int, size: int, hasher: Hasher | None, path: str, idle_s: float
) -> int:
    """The body moved from the socket into the file by `_splice.into_file`, in a thread; the
    hash reads the file's new pages every FLUSH_EVERY bytes."""
    same_file = f"/proc/self/fd/{f.fileno()}"  # opened anew: splice(2) refuses O_APPEND
    writer = os.open(same_file, os.O_WRONLY | os.O_CLOEXEC)
    try:
        ahead = _Ahead(writer, have, size)
        ahead.at(have)
        try:
            _write_all(f, taken.head)
        except OSError:  # (a full disk) the client still sends: it is to read the answer
            drop = functools.partial(_splice.discard, taken.fd, taken.rest, idle_s, taken.stop)
            await _in_thread(drop, taken.stop)
            raise
        if hasher is not None:
            hasher.update([taken.head])
        start = have + len(taken.head)
        if not taken.rest:
            taken.read_whole()
            return start
        if hasher is not None:
            hasher.read_from(os.open(same_file, os.O_RDONLY | os.O_CLOEXEC))

        def moved(end: int) -> None:
            flushed = ahead.flushed
            ahead.at(end)
            if hasher is not None and ahead.flushed != flushed:
                hasher.upto(end)

        work = functools.partial(
            _splice.into_file, taken.fd, writer, start, taken.rest, idle_s, taken.stop, moved
        )
        try:
            got = await _in_thread(work, taken.stop)
        except _splice.Stalled:
            raise Stalled.after(path, idle_s) from None
        except _splice.Stopped:
            raise Stopping(
                f"{path!r}: the server is stopping; {os.fstat(writer).st_size} byte(s) of the "
                "file arrived: send the rest from there once it is back"
            ) from None
    finally:
        os.close(writer)
    if hasher is not None:
        hasher.upto(start + got)
        hasher.read_from(-1)  # its file is let go of until the next chunk
    if got == taken.rest:
        taken.read_whole()  # the client's next chunk may come on the same connection
    return start + got


async def _in_thread(work: Callable[[], T], stop: threading.Event) -> T:
    """`work()` in a thread of its own (a chunk may take minutes: not one of the pool's),
    awaited; if the request is given up meanwhile, `stop` is set and the thread waited for
    (it writes into a file the request is about to close)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = work()
        except BaseException as e:  # handed to the request, whatever it is
            outcome = functools.partial(_fail, done, e)
        else:
            outcome = functools.partial(_settle, done, result)
        with contextlib.suppress(RuntimeError):  # (the loop is closed: nobody is waiting)
            loop.call_soon_threadsafe(outcome)

    threading.Thread(target=run, name="runyard-upload-body", daemon=True).start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([done])
        raise


def _settle(future: asyncio.Future[T], result: T) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


async def _streamed(
    request: Request,
    f: Any,
    have: int,
    size: int,
    hasher: Hasher | None,
    path: str,
    idle_s: float,
) -> int:
    """The body through ASGI's receive: each piece written as it arrives (up to 256 KB), and
    handed to the hashing thread a MB at a time, without copying. (Gathered into 1 MB writes,
    new page cache filled up to 5x slower than in 64 KB writes on this VM, in some rounds; in
    others both were slow.) The idle deadline is pushed back once a second at most: a timer
    per piece cost ~10 % of an upload's speed here."""
    received = have
    ahead = _Ahead(f.fileno(), have, size)
    pieces: list[bytes] = []
    pending = 0
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(idle_s) as deadline:
            armed = loop.time()
            async for piece in request.stream():
                if (now := loop.time()) - armed >= 1.0:
                    deadline.reschedule(now + idle_s)
                    armed = now
                if received + len(piece) > size:
                    f.truncate(have)
                    raise BadRequest(f"{path!r}: the chunk ends past the file's size, {size}")
                ahead.at(received)
                _write_all(f, piece)
                received += len(piece)
                if hasher is not None:
                    pieces.append(piece)
                    pending += len(piece)
                    if pending >= BLOCK:
                        hasher.update(pieces)
                        pieces, pending = [], 0
                        if hasher.behind > HASH_BEHIND:
                            await hasher.caught_up()
    except TimeoutError:
        raise Stalled.after(path, idle_s) from None
    if hasher is not None and pieces:
        hasher.update(pieces)
    return received


def _write_all(f: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:  # a write to a file may be short (a signal, a disk filling up)
        view = view[f.write(view) :]
