"""The SSE hub on a real store: replay, catch-up behind its ring, other writers, order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from runyard.config import Settings
from runyard.server.events import EventHub
from runyard.server.maintenance import Maintenance
from runyard.store import Store
from runyard.store.events import Event


async def _take(hub: EventHub, after: int | None, n: int, started: Callable[[], Any] | None = None,
                timeout: float = 20) -> list[Event]:  # fmt: skip
    """The first ``n`` events of a stream; ``started`` runs (in a thread) once it listens."""
    out: list[Event] = []
    stream = hub.stream(after)
    try:
        async with asyncio.timeout(timeout):
            reader = asyncio.ensure_future(_collect(stream, out, n))
            if started is not None:
                await _until(lambda: hub._ready.is_set())
                await asyncio.to_thread(started)
            await reader
    finally:
        await stream.aclose()
    return out


async def _collect(stream: Any, out: list[Event], n: int) -> None:
    async for event in stream:
        out.append(event)
        if len(out) == n:
            return


async def _until(check: Callable[[], bool] | Callable[[], Awaitable[bool]]) -> None:
    while not check():
        await asyncio.sleep(0.01)


def _emit(store: Store, n: int, kind: str = "x") -> list[int]:
    return [store.events.emit(kind, None, n=i) for i in range(n)]


def test_replays_then_follows_past_a_small_ring(store: Store) -> None:
    before = _emit(store, 20)
    hub = EventHub(store.events, keep=4)
    later: list[int] = []
    got = asyncio.run(_take(hub, 0, 30, started=lambda: later.extend(_emit(store, 10))))
    assert [e.id for e in got] == before + later


def test_new_clients_start_now_and_after_skips(store: Store) -> None:
    old = _emit(store, 3)
    hub = EventHub(store.events)
    new: list[int] = []
    got = asyncio.run(_take(hub, None, 2, started=lambda: new.extend(_emit(store, 2))))
    assert [e.id for e in got] == new
    assert [e.id for e in asyncio.run(_take(hub, old[1], 3))] == [old[2], *new]


def test_events_of_another_writer_arrive_by_polling(store: Store, settings: Settings) -> None:
    other = Store.open(settings.db_url, settings.runs_dir, migrate=False)  # as another process
    try:
        hub = EventHub(store.events, poll_s=0.05)
        ids: list[int] = []
        got = asyncio.run(_take(hub, None, 3, started=lambda: ids.extend(_emit(other, 3, "y"))))
        assert [e.id for e in got] == ids and {e.kind for e in got} == {"y"}
    finally:
        other.close()


def test_a_slow_client_catches_up_in_order(store: Store) -> None:
    hub = EventHub(store.events, keep=4)

    async def main() -> list[int]:
        stream = hub.stream(None)
        try:
            async with asyncio.timeout(20):
                first = asyncio.ensure_future(anext(stream))
                await _until(lambda: hub._ready.is_set())
                ids = await asyncio.to_thread(_emit, store, 1)
                got = [(await first).id]
                ids += await asyncio.to_thread(_emit, store, 12)
                await _until(lambda: hub._last == ids[-1])  # the ring moved past the client
                while len(got) < len(ids):
                    got.append((await anext(stream)).id)
                assert got == ids
                return got
        finally:
            await stream.aclose()

    assert len(asyncio.run(main())) == 13


def test_maintenance_keeps_the_event_log_bounded(store: Store, settings: Settings) -> None:
    ids = _emit(store, 10)
    bounded = settings.model_copy(update={"events_keep_rows": 3})
    Maintenance(store, bounded).run_once()
    assert [e.id for e in store.events.list()] == ids[-3:]
