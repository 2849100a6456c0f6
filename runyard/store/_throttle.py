"""At most one call per key per interval, and never a lost last one.

A run that ingests a million points a second must not write a million event rows, yet a
dashboard must learn of its last batch: the first offer of an interval goes out at once (the
leading edge), later ones are merged and go out when the interval is over (the trailing
edge), from one background thread started on first need.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from runyard.store import faults

log = logging.getLogger("runyard.events")

Merge = Callable[[Any, Any], Any]
STALE_KEYS = 10_000  # past this many remembered keys, forget those idle for an interval


def _latest(_old: Any, new: Any) -> Any:
    return new


class Throttle:
    def __init__(self, send: Callable[[Hashable, Any], None], interval: float):
        self._send = send
        self._interval = interval
        self._cond = threading.Condition()
        self._last: dict[Hashable, float] = {}  # key → when it was last sent (monotonic)
        self._pending: dict[Hashable, Any] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def offer(self, key: Hashable, data: Any, merge: Merge = _latest) -> None:
        now = time.monotonic()
        with self._cond:
            if key in self._pending:
                self._pending[key] = merge(self._pending[key], data)
                return
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                self._pending[key] = data
                self._start()
                self._cond.notify()
                return
            self._last[key] = now
            if len(self._last) > STALE_KEYS:
                self._forget_stale(now)
        self._safe_send(key, data)

    def flush(self, match: Callable[[Hashable], bool]) -> None:
        """Send what waits for the keys that ``match`` now (e.g. before a run's end)."""
        with self._cond:
            due = [(k, self._pending.pop(k)) for k in list(self._pending) if match(k)]
            now = time.monotonic()
            for key, _ in due:
                self._last[key] = now
        for key, data in due:
            self._safe_send(key, data)

    def close(self) -> None:
        """Send what waits and stop the thread."""
        self.flush(lambda _key: True)
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="runyard-throttle", daemon=True)
            self._thread.start()

    def _forget_stale(self, now: float) -> None:
        for key in [k for k, t in self._last.items() if now - t >= self._interval]:
            if key not in self._pending:
                del self._last[key]

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if not self._pending:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                due_at = {k: self._last.get(k, now) + self._interval for k in self._pending}
                due = [k for k, at in due_at.items() if at <= now]
                if not due:
                    self._cond.wait(min(due_at.values()) - now)
                    continue
                batch = [(k, self._pending.pop(k)) for k in due]
                for key in due:
                    self._last[key] = now
                self._cond.release()
                try:
                    for key, data in batch:
                        self._safe_send(key, data)
                finally:
                    self._cond.acquire()

    def _safe_send(self, key: Hashable, data: Any) -> None:
        """Throttled events tell of a change already made: failing to tell must not fail it
        (an ingest, a run's end), nor stop the other sends."""
        try:
            self._send(key, data)
        except Exception as exc:
            if faults.report(exc, log, f"could not send the event {key!r}") is None:
                return
            with self._cond:  # a full disk or a busy database: send it again next interval
                self._pending.setdefault(key, data)
                self._last[key] = time.monotonic()
                self._start()
                self._cond.notify()
