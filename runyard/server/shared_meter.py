"""The ingest meter of `--workers N`: one count for the whole server, whichever worker took
the points, in a small file that every worker maps (``<home>/ingest.meter``, made afresh by
the supervisor at each start, like a one-process meter is).

Layout: the start (monotonic seconds, float64), the total (int64), then a ring of 60
(whole monotonic second, points) pairs. Updates hold an exclusive `flock`; CLOCK_MONOTONIC
is the same clock in every process of the machine.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
import time
from pathlib import Path

from runyard.server.ingest_meter import RATE_WINDOW_S, IngestMeter

_HEAD = struct.Struct("<dq")
_SLOT = struct.Struct("<qq")
SIZE = _HEAD.size + RATE_WINDOW_S * _SLOT.size


def create(path: Path) -> None:
    """A fresh meter file (zero points, started now)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(SIZE)
    _HEAD.pack_into(data, 0, time.monotonic(), 0)
    for i in range(RATE_WINDOW_S):
        _SLOT.pack_into(data, _HEAD.size + i * _SLOT.size, -1, 0)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, path)


class SharedIngestMeter(IngestMeter):
    def __init__(self, path: Path):
        super().__init__()
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, SIZE)
        self._thread_lock = threading.Lock()

    def add(self, points: int) -> None:
        if points <= 0:
            return
        now = int(time.monotonic())
        offset = _HEAD.size + (now % RATE_WINDOW_S) * _SLOT.size
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                born, total = _HEAD.unpack_from(self._map, 0)
                _HEAD.pack_into(self._map, 0, born, total + points)
                second, count = _SLOT.unpack_from(self._map, offset)
                _SLOT.pack_into(self._map, offset, now, (count if second == now else 0) + points)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    @property
    def total(self) -> int:
        return int(_HEAD.unpack_from(self._map, 0)[1])

    @total.setter
    def total(self, _value: int) -> None:  # the base class's __init__ sets it
        pass

    def rate(self) -> float:
        now = time.monotonic()
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_SH)
            try:
                born = float(_HEAD.unpack_from(self._map, 0)[0])
                slots = [
                    _SLOT.unpack_from(self._map, _HEAD.size + i * _SLOT.size)
                    for i in range(RATE_WINDOW_S)
                ]
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        window = min(float(RATE_WINDOW_S), max(1.0, now - born))
        points = sum(int(n) for sec, n in slots if sec >= 0 and sec + 1 > now - window)
        return points / window
