"""A small Server-Sent Events reader for tests: events as they arrive, pings included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    event: str  # "ping" for a comment line
    id: str | None = None
    data: Any = None


def events(response: httpx.Response) -> Iterator[Event]:
    """Parse the stream line by line (the format of the HTML standard, §9.2)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if fields:
                data = fields.get("data")
                yield Event(fields.get("event", "message"), fields.get("id"),
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
