"""Metric points accepted by the ingest route: a running total and points/s over the last
minute (for a glance without PromQL's rate()). Cheap enough to call on every batch."""

from __future__ import annotations

import threading
import time
from collections import deque

RATE_WINDOW_S = 60


class IngestMeter:
    def __init__(self) -> None:
        self.total = 0
        self._seconds: deque[list[int]] = deque()  # [whole monotonic second, points]
        self._born = time.monotonic()
        self._lock = threading.Lock()

    def add(self, points: int) -> None:
        if points <= 0:
            return
        now = int(time.monotonic())
        with self._lock:
            self.total += points
            if self._seconds and self._seconds[-1][0] == now:
                self._seconds[-1][1] += points
            else:
                self._seconds.append([now, points])
            while self._seconds[0][0] <= now - RATE_WINDOW_S:
                self._seconds.popleft()

    def rate(self) -> float:
        """Points per second over the last minute (over the uptime, in the first minute)."""
        now = time.monotonic()
        window = min(float(RATE_WINDOW_S), max(1.0, now - self._born))
        with self._lock:
            points = sum(n for sec, n in self._seconds if sec + 1 > now - window)
        return points / window
