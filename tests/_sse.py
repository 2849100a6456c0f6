"""A small Server-Sent Events reader for tests: events as they arrive, pings included."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    event: str  # "ping" for a comment line
    id: int | None = None
    data: Any = None
    at: float = field(default_factory=time.time)  # when it arrived

    @property
    def kind(self) -> str:
        return self.event


def events(response: httpx.Response) -> Iterator[Event]:
    """Parse the stream line by line (the format of the HTML standard, §9.2)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if fields:
                data = fields.get("data")
                ident = fields.get("id")
                yield Event(fields.get("event", "message"), int(ident) if ident else None,
                            json.loads(data) if data else None)  # fmt: skip
                fields = {}
            continue
        if line.startswith(":"):
            yield Event("ping")
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields[name] = f"{fields[name]}\n{value}" if name == "data" and name in fields else value


def until(stream: Iterator[Event], kind: str) -> Event:
    """The next event of ``kind``, skipping pings (only pings may come before it)."""
    for event in stream:
        if event.event == kind:
            return event
        assert event.event == "ping", event
    raise AssertionError(f"the stream ended before an {kind!r} event")


def read_until(
    stream: httpx.Response | Iterator[Event],
    done: Callable[[list[Event]], bool],
    timeout: float = 60.0,
) -> list[Event]:
    """Events (pings left out) until ``done(events so far)``; fails past ``timeout`` (pings
    keep reads short). Pass ``events(response)`` to go on reading the same stream afterwards."""
    got: list[Event] = []
    deadline = time.monotonic() + timeout
    parsed = events(stream) if isinstance(stream, httpx.Response) else stream
    for event in parsed:
        if event.event != "ping":
            got.append(event)
            if done(got):
                return got
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"stream ended or timed out after {len(got)} events: {got[-5:]}")
