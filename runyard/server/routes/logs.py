"""An attempt's log: read a chunk of it, or follow it as Server-Sent Events.

Logs are append-only files (`logs/attempt-N.log`, written by the shim). Readers never hold
them open between reads: the stream polls the size, reads in a worker thread and sends
complete lines only, until the store says the attempt has ended; then the rest, then `end`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent

from runyard.entities import Attempt, Run
from runyard.errors import NotFound
from runyard.server._deps import SettingsDep, StoreDep
from runyard.server.routes import ERRORS, Digits
from runyard.server.schemas import LogChunk, LogEnd, LogText
from runyard.store import Store

router = APIRouter(prefix="/api/runs/{run_id}", tags=["logs"], responses=ERRORS)

MAX_LOG_READ = 4 * 1024 * 1024  # bytes in one answer of GET /logs, and scanned for a tail
MAX_TAIL_LINES = 100_000
STREAM_CHUNK = 256 * 1024  # bytes in one `log` event at most
POLL_S = 0.15  # how often a stream looks at the file's size
STATE_POLL_S = 0.5  # how often it asks the store whether the attempt has ended


def _event_schema(kind: str, data: type[BaseModel]) -> dict[str, Any]:
    """One event as OpenAPI tools read a text/event-stream schema: its fields, JSON data."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": kind},
            "id": {"type": "string", "description": "The offset, for Last-Event-ID."},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data.model_json_schema(),
            },
        },
    }


STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`log` events (complete lines; `id` is the offset where they end), "
        "then one `end` event once the attempt has ended. Comment lines keep it alive.",
        "content": {
            "text/event-stream": {
                "schema": {"oneOf": [_event_schema("log", LogText), _event_schema("end", LogEnd)]}
            }
        },
    }
}

AttemptQuery = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="The latest when absent."), Digits
]
TailQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_TAIL_LINES,
        description=f"Only the last N lines (at most {MAX_TAIL_LINES:,}, "
        f"found in the last {MAX_LOG_READ // 2**20} MiB).",
    ),
    Digits,
]
OffsetQuery = Annotated[
    int | None,
    Query(ge=0, le=2**63 - 1, description="Start at this byte (an earlier answer's offset)."),
    Digits,
]


def _find_attempt(store: Store, run_id: str, number: int | None) -> tuple[Run, Attempt | None]:
    run = store.runs.get(run_id)
    attempts = store.jobs.attempts(run_id)
    if number is None:
        return run, attempts[-1] if attempts else None
    found = next((a for a in attempts if a.number == number), None)
    if found is None:
        raise NotFound(f"run {run_id!r} has no attempt {number}")
    return run, found


def _log_path(run: Run, number: int) -> Path:
    return Path(run.run_dir) / "logs" / f"attempt-{number}.log"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read(path: Path, start: int, limit: int) -> bytes:
    try:
        with path.open("rb") as f:
            f.seek(start)
            return f.read(limit)
    except FileNotFoundError:
        return b""


def _utf8_end(data: bytes) -> int:
    """Where ``data`` ends without a multi-byte character cut in two."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # the lead byte of the last character
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= need else len(data) - back
    return len(data)


def _whole(data: bytes, limit: int, lines_only: bool) -> bytes:
    """``data`` up to its last newline; a line longer than ``limit`` goes in pieces.
    Without ``lines_only``, a read that reached the end keeps its partial last line."""
    if not lines_only and len(data) < limit:
        return data
    cut = data.rfind(b"\n")
    if cut >= 0:
        return data[: cut + 1]
    return data[: _utf8_end(data)] if len(data) >= limit else b""


def _tail_start(path: Path, size: int, lines: int, lines_only: bool) -> int:
    """The offset where the last ``lines`` lines begin, looking at most MAX_LOG_READ back.
    With ``lines_only``, a partial last line is not counted (it is sent once complete)."""
    base = max(0, size - MAX_LOG_READ)
    data = _read(path, base, size - base)
    if lines_only:
        data = data[: data.rfind(b"\n") + 1]
    pos = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(lines):
        pos = data.rfind(b"\n", 0, pos)
        if pos < 0:
            if base == 0:
                return 0
            first = data.find(b"\n")  # the window began inside a line: skip that piece
            return base + first + 1 if first >= 0 else base
    return base + pos + 1


@router.get("/logs")
def read_logs(
    run_id: str,
    store: StoreDep,
    attempt: AttemptQuery = None,
    tail: TailQuery = None,
    offset: OffsetQuery = None,
) -> LogChunk:
    """A chunk of an attempt's log (at most 4 MiB): from `offset`, or its last `tail` lines,
    or from the start. An attempt that has written nothing yet gives an empty chunk."""
    run, found = _find_attempt(store, run_id, attempt)
    if found is None:
        return LogChunk(attempt=None, text="", offset=0, size=0, ended=run.status.is_terminal())
    path = _log_path(run, found.number)
    size = _size(path)
    if tail is not None:
        start = _tail_start(path, size, tail, lines_only=False)
    else:
        start = min(offset or 0, size)
    data = _whole(_read(path, start, MAX_LOG_READ), MAX_LOG_READ, lines_only=False)
    return LogChunk(
        attempt=found.number,
        text=data.decode("utf-8", errors="replace"),
        offset=start + len(data),
        size=size,
        ended=found.status.is_terminal() or run.status.is_terminal(),
    )


def _event(kind: str, pos: int, data: BaseModel) -> ServerSentEvent:
    return ServerSentEvent(data=data.model_dump_json(), event=kind, id=str(pos))


async def _follow(
    store: Store, run_id: str, number: int | None, start: int | None, tail: int | None
) -> AsyncIterator[ServerSentEvent]:
    """The events of one attempt's log; it waits for the run's first attempt if needed."""
    run, found = await anyio.to_thread.run_sync(_find_attempt, store, run_id, number)
    while found is None:  # queued: no attempt yet
        if run.status.is_terminal() or run.spec is None:  # ended, or tracked only: none will come
            yield _event("end", 0, LogEnd(attempt=None, status=run.status.value, offset=0))
            return
        await anyio.sleep(STATE_POLL_S)
        run, found = await anyio.to_thread.run_sync(_find_attempt, store, run_id, None)
    path = _log_path(run, found.number)
    ended = found.status.is_terminal() or run.status.is_terminal()
    checked = time.monotonic()
    size = await anyio.to_thread.run_sync(_size, path)
    if start is not None:
        pos = min(start, size)
    elif tail is not None:
        pos = await anyio.to_thread.run_sync(_tail_start, path, size, tail, not ended)
    else:
        pos = 0
    while True:
        if not ended and time.monotonic() - checked >= STATE_POLL_S:
            run, found = await anyio.to_thread.run_sync(_find_attempt, store, run_id, found.number)
            assert found is not None
            ended = found.status.is_terminal() or run.status.is_terminal()
            checked = time.monotonic()
        # Once ended, nobody writes any more: the partial last line is all there will be.
        data = await anyio.to_thread.run_sync(_read, path, pos, STREAM_CHUNK)
        data = _whole(data, STREAM_CHUNK, lines_only=not ended)
        if data:
            pos += len(data)
            yield _event("log", pos, LogText(text=data.decode("utf-8", "replace"), offset=pos))
            continue
        if ended:
            status = found.status if found.status.is_terminal() else run.status
            yield _event("end", pos, LogEnd(attempt=found.number, status=status.value, offset=pos))
            return
        await anyio.sleep(POLL_S)


@router.get("/logs/stream", response_class=EventSourceResponse, responses=STREAM)
async def stream_logs(
    run_id: str,
    store: StoreDep,
    settings: SettingsDep,
    attempt: AttemptQuery = None,
    tail: TailQuery = None,
    offset: OffsetQuery = None,
    last_event_id: Annotated[
        str | None,
        Header(description="Sent by EventSource on reconnect: resume at that offset."),
    ] = None,
) -> EventSourceResponse:
    """Follow an attempt's log as Server-Sent Events until it ends.

    Starts at `Last-Event-ID` (a reconnect), else `offset`, else the last `tail` lines,
    else the beginning; without `attempt`, follows the latest (waiting for the first one
    of a queued job; a tracked-only run has no log: it ends at once). Only complete lines
    are sent while the attempt runs."""
    await anyio.to_thread.run_sync(_find_attempt, store, run_id, attempt)  # 404s before 200
    start = offset
    if last_event_id and last_event_id.isascii() and last_event_id.isdigit():
        start = min(int(last_event_id), 2**63 - 1)
    return EventSourceResponse(
        _follow(store, run_id, attempt, start, tail),
        ping=settings.sse_ping_s,
        send_timeout=30,
    )
