"""Waiting for a state in tests: poll with a deadline, never sleep for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(
    check: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "condition",
    state: Callable[[], Any] | None = None,
    every: float = 0.05,
) -> Any:
    """The first truthy value of ``check()``; AssertionError after ``timeout`` seconds,
    with what ``state()`` last showed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    seen = f"; last seen: {state()}" if state is not None else ""
    raise AssertionError(f"{what} not reached in {timeout} s{seen}")
