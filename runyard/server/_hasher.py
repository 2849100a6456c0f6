"""The SHA-256 of a file being received, computed in a thread of its own while the body
arrives (hashlib lets go of the GIL), so that the last chunk does not read the file again.

It is given the file's bytes in order, either as the pieces the event loop received
(`update`), or, where the body went from the socket into the file without passing through
this process (`_splice.py`), as the file's length so far (`upto`): the thread then maps the
new range of the file (its pages are still in the page cache) and hashes it there, without
copying it.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import queue
import threading
from typing import Any

# Bytes received but not hashed yet, at most, of pieces held in memory: past that the body
# waits for the hash (which would otherwise be left with a backlog at the end, and hold it
# all in memory). Ranges of the file are not held: they are not counted.
HASH_BEHIND = 16 << 20
_Item = tuple[list[bytes], int] | tuple[None, int] | int | None


class Hasher:
    """Hashes the bytes of one file from its start; `queued` is how far the bytes given to it
    go (the file's offset to go on from), `behind` how many of the pieces given it has yet
    to hash."""

    def __init__(self, digest: Any):
        self._digest = digest
        self._items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.behind = 0
        self.queued = 0
        self._failed = False
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._thread = threading.Thread(target=self._work, name="runyard-upload-hash", daemon=True)
        self._thread.start()

    def update(self, pieces: list[bytes]) -> None:
        """Hash these pieces next."""
        size = sum(map(len, pieces))
        with self._lock:
            self.behind += size
        self.queued += size
        self._items.put((pieces, size))

    def read_from(self, fd: int) -> None:
        """The bytes given by `upto` from now on are read from `fd` (a file open for reading,
        which the hasher closes once it is done with it)."""
        self._items.put((None, fd))

    def upto(self, end: int) -> None:
        """Hash the file's bytes from where the hash is to `end` next (read from the file
        given by `read_from`)."""
        if end > self.queued:
            self.queued = end
            self._items.put(end)

    async def caught_up(self) -> None:
        """Waits until at most half of HASH_BEHIND is left to hash."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.behind <= HASH_BEHIND // 2:
                return
            self._waiter = (loop, future)
        await future

    def result(self) -> Any | None:
        """The hash of every byte given (waits for the thread to catch up); None if the file
        could not be read back (then it is read again whole)."""
        self.close()
        return None if self._failed else self._digest

    def close(self) -> None:
        if self._thread.is_alive():
            self._items.put(None)
            self._thread.join()

    def _work(self) -> None:
        reader = -1
        done = 0
        try:
            while (item := self._items.get()) is not None:
                if isinstance(item, int):
                    try:
                        if not self._failed:
                            _hash_range(self._digest, reader, done, item)
                    except (OSError, ValueError):  # the file was cut short under it
                        self._failed = True  # no hash, rather than a wrong one
                    done = item
                    continue
                pieces, size = item
                if pieces is None:
                    if reader >= 0:
                        os.close(reader)
                    reader = size
                    continue
                for piece in pieces:
                    self._digest.update(piece)
                done += size
                with self._lock:
                    self.behind -= size
                    waiter = self._waiter if self.behind <= HASH_BEHIND // 2 else None
                    if waiter is not None:
                        self._waiter = None
                if waiter is not None:
                    loop, future = waiter
                    loop.call_soon_threadsafe(_settle, future)
        finally:
            if reader >= 0:
                os.close(reader)


def _hash_range(digest: Any, fd: int, start: int, end: int) -> None:
    """Hash bytes [start, end) of the file `fd` through a map of them (its offset must be a
    multiple of the page size: the map starts at the page that holds `start`)."""
    base = start - start % mmap.ALLOCATIONGRANULARITY
    with (
        mmap.mmap(fd, end - base, offset=base, access=mmap.ACCESS_READ) as mapped,
        memoryview(mapped) as whole,
        whole[start - base :] as wanted,
    ):
        digest.update(wanted)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():  # the request may have gone meanwhile
        future.set_result(None)
