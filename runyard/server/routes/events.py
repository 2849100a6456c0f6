"""`GET /api/events`: run and queue changes as Server-Sent Events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from runyard.errors import BadRequest
from runyard.server.events import EventHub
from runyard.server.routes import ERRORS, Digits
from runyard.store.events import Event

router = APIRouter(prefix="/api/events", tags=["events"])
PING_S = 15
SEND_TIMEOUT_S = 30  # a client that takes no bytes for this long is dropped
SHUTDOWN_GRACE_S = 1.0

_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An endless `text/event-stream`: `id: <event id>`, `event: <kind>`, "
        '`data: {"id", "ts", "kind", "run_id", ...fields}`; a comment ping every 15 s. Kinds: '
        "created, status, progress, summary, metrics, queue and others.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    400: ERRORS[400],
}


def _iso(ts: float) -> str:
    """The same ISO-8601 form as the API's datetimes."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _frame(event: Event) -> ServerSentEvent:
    ts = _iso(event.ts)
    body = {**event.data, "id": event.id, "ts": ts, "kind": event.kind, "run_id": event.run_id}
    return ServerSentEvent(orjson.dumps(body).decode(), id=str(event.id), event=event.kind)


async def _frames(
    events: AsyncGenerator[Event, None], shutdown: anyio.Event
) -> AsyncIterator[ServerSentEvent]:
    """Frames until the server shuts down; then the stream ends as a response should, and
    the uvicorn log stays clean."""
    stop = asyncio.ensure_future(shutdown.wait())
    following: asyncio.Future[Event] | None = None
    try:
        while True:
            following = asyncio.ensure_future(anext(events))
            await asyncio.wait({following, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():
                return
            event, following = following.result(), None
            yield _frame(event)
    finally:
        with anyio.CancelScope(shield=True):  # the hub must see this client leave
            stop.cancel()
            if following is not None:
                following.cancel()
                await asyncio.wait({following})
            await events.aclose()


def _cursor(last_event_id: str | None, after: int | None) -> int | None:
    """Last-Event-ID (what a reconnecting EventSource sends) wins over ?after=."""
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        cursor = int(last_event_id)
    except ValueError:
        cursor = -1
    if not 0 <= cursor <= 2**63 - 1:
        raise BadRequest(f"Last-Event-ID {last_event_id!r} is not an event id (an integer ≥ 0)")
    return cursor


@router.get("", response_class=EventSourceResponse, responses=_STREAM)
async def stream_events(
    request: Request,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**63 - 1,
            description="Replay the kept events after this id; new ones only if unset.",
        ),
        Digits,
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="Sent by a reconnecting EventSource; wins over `after`.")
    ] = None,
) -> EventSourceResponse:
    """Run created / status / progress / summary / metrics and queue changes, live."""
    cursor = _cursor(last_event_id, after)
    hub: EventHub = request.app.state.event_hub
    shutdown = anyio.Event()
    return EventSourceResponse(
        _frames(hub.stream(cursor), shutdown),
        ping=PING_S,
        send_timeout=SEND_TIMEOUT_S,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
    )
