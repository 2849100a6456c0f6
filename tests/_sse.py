"""A small Server-Sent Events reader for tests: httpx streams, events parsed as they come."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Received:
    id: int
    kind: str
    data: dict[str, Any]
    at: float  # time.time() when it arrived


def events(response: httpx.Response) -> Iterator[Received | None]:
    """Parse ``response``'s stream; None for a comment (a ping)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if "data" in fields:
                yield Received(
                    int(fields["id"]), fields["event"], json.loads(fields["data"]), time.time()
                )
            else:
                yield None
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value


def read_until(
    stream: httpx.Response | Iterator[Received | None],
    done: Callable[[list[Received]], bool],
    timeout: float = 60.0,
) -> list[Received]:
    """Events until ``done(events so far)``; fails past ``timeout`` (pings keep reads short).
    Pass ``events(response)`` to go on reading the same stream afterwards."""
    got: list[Received] = []
    deadline = time.monotonic() + timeout
    parsed = events(stream) if isinstance(stream, httpx.Response) else stream
    for event in parsed:
        if event is not None:
            got.append(event)
            if done(got):
                return got
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"stream ended or timed out after {len(got)} events: {got[-5:]}")
