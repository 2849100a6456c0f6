"""The live event stream behind `GET /api/events`.

One poller per server reads new rows of the event log and keeps the most recent in a ring;
every SSE client reads the ring from its own cursor, so a hundred dashboards cost one query
per change, and a slow client holds a cursor, never a queue. A client whose cursor fell
behind the ring (it reconnected late, or reads slowly) catches up from the database.

The poller wakes when this process emits (the store's listener, called from any thread) and
every POLL_S regardless, for events that another process wrote. It runs only while some
client listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator

from starlette.concurrency import run_in_threadpool

from runyard.store import faults
from runyard.store.events import Event, Events

log = logging.getLogger("runyard.events")

POLL_S = 0.25
RING = 4096  # recent events served from memory
BATCH = 500  # events read from the database, or handed to a client, at a time


class EventHub:
    def __init__(self, events: Events, *, poll_s: float = POLL_S, keep: int = RING):
        self._events = events
        self._poll_s = poll_s
        self._ring: deque[Event] = deque(maxlen=keep)
        self._base = 0  # the ring holds every event with an id above this
        self._last = 0  # the newest id read
        self._clients = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()

    @property
    def listeners(self) -> int:
        """Clients streaming now."""
        return self._clients

    async def stream(self, after: int | None = None) -> AsyncGenerator[Event, None]:
        """Events with an id above ``after`` (from now on when None), in order, forever."""
        self._clients += 1
        try:
            self._start()
            await self._ready.wait()
            cursor = self._last if after is None else after
            while True:
                batch = await self._after(cursor)
                for event in batch:
                    yield event
                    cursor = event.id
                if batch:
                    continue
                cursor = max(cursor, min(self._base, self._last))  # pruned meanwhile
                await self._wait_past(cursor)
        finally:
            self._clients -= 1
            if not self._clients:
                self._wake.set()  # the poller sees that nobody listens and stops

    async def _wait_past(self, cursor: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._last > cursor)

    async def _after(self, cursor: int) -> list[Event]:
        if cursor < self._base:  # behind the ring: catch up from the database
            return await run_in_threadpool(self._events.list, None, cursor, BATCH)
        newer: list[Event] = []
        for event in reversed(self._ring):
            if event.id <= cursor:
                break
            newer.append(event)
        return newer[::-1][:BATCH]

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and loop is self._loop:
            return
        self._loop = loop
        self._ready, self._wake = asyncio.Event(), asyncio.Event()
        self._changed = asyncio.Condition()
        self._task = loop.create_task(self._poll())

    def _poke(self) -> None:
        """Called by the store after each emit of this process, from whatever thread."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody listens
                loop.call_soon_threadsafe(self._wake.set)

    async def _poll(self) -> None:
        self._ring.clear()
        while True:
            try:
                self._last = self._base = await run_in_threadpool(self._events.last_id)
                break
            except Exception as exc:
                faults.report(exc, log, "could not read the event log; trying again")
                await asyncio.sleep(self._poll_s)
        self._events.subscribe(self._poke)
        self._ready.set()
        try:
            while self._clients > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_s)
                self._wake.clear()
                try:
                    await self._fetch()
                except Exception as exc:  # the database may be away for a moment; try again
                    faults.report(exc, log, "could not read new events")
        finally:
            self._events.unsubscribe(self._poke)

    async def _fetch(self) -> None:
        while True:
            batch = await run_in_threadpool(self._events.list, None, self._last, BATCH)
            if not batch:
                return
            for event in batch:
                if len(self._ring) == self._ring.maxlen:
                    self._base = self._ring[0].id
                self._ring.append(event)
            self._last = batch[-1].id
            async with self._changed:
                self._changed.notify_all()
            if len(batch) < BATCH:
                return
