"""A bounded, in-memory time series of host samples, served column by column for charts.

A ring buffer of plain double arrays (stdlib `array`), one per column, NaN where a GPU gave
no reading: 24 h at 5 s is 17,280 rows, about 140 KB a column (eight GPUs: under 3 MB in
all). It starts empty at each start of the server: host history is for a glance, not for
the record.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from array import array
from typing import Any

from runyard.telemetry.host import HostSample

MAX_ROWS = 1_000_000  # whatever the window and interval say
_HOST = ("ts", "cpu_percent", "memory_percent", "disk_percent")


def _nan_to_none(values: array[float]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


class History:
    def __init__(self, interval_s: float, capacity: int):
        self.interval_s = interval_s
        self.capacity = max(1, min(capacity, MAX_ROWS))
        self._appended = 0
        self._host = {name: array("d") for name in _HOST}
        self._gpus: dict[int, tuple[array[float], array[float]]] = {}  # utilization, memory %
        self._names: dict[int, str | None] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_window(cls, interval_s: float, hours: float) -> History:
        return cls(interval_s, int(hours * 3600 / interval_s) + 1)

    def __len__(self) -> int:
        return min(self._appended, self.capacity)

    def append(self, sample: HostSample) -> None:
        values = (sample.ts, sample.cpu.percent, sample.memory.percent, sample.disk.percent)
        readings = {g.index: g for g in sample.gpus}
        with self._lock:
            full = self._appended >= self.capacity
            at = self._appended % self.capacity
            for index in readings.keys() - self._gpus.keys():  # first seen: NaN until now
                n = len(self)
                self._gpus[index] = (array("d", [math.nan]) * n, array("d", [math.nan]) * n)
            for name, value in zip(_HOST, values, strict=True):
                self._put(self._host[name], at, full, value)
            for index, (util, mem) in self._gpus.items():
                gpu = readings.get(index)
                u = gpu.utilization if gpu is not None else None
                m = gpu.memory_percent if gpu is not None else None
                self._put(util, at, full, math.nan if u is None else u)
                self._put(mem, at, full, math.nan if m is None else m)
                if gpu is not None and gpu.name:
                    self._names[index] = gpu.name
            self._appended += 1

    @staticmethod
    def _put(column: array[float], at: int, full: bool, value: float) -> None:
        if full:
            column[at] = value
        else:
            column.append(value)

    def _ordered(self, column: array[float]) -> array[float]:
        """Oldest first (the ring's physical order is rotated once it has wrapped)."""
        if self._appended <= self.capacity:
            return column[:]
        at = self._appended % self.capacity
        return column[at:] + column[:at]

    def columns(self, minutes: float, now: float | None = None) -> dict[str, Any]:
        """The last ``minutes`` as aligned arrays; null where a GPU gave no reading."""
        since = (now if now is not None else time.time()) - minutes * 60
        with self._lock:
            host = {name: self._ordered(col) for name, col in self._host.items()}
            gpus = {i: (self._ordered(u), self._ordered(m)) for i, (u, m) in self._gpus.items()}
            names = dict(self._names)
        start = bisect.bisect_left(host["ts"], since)
        out: dict[str, Any] = {"interval_s": self.interval_s}
        out.update({name: col[start:].tolist() for name, col in host.items()})
        out["gpus"] = [
            {
                "index": index,
                "name": names.get(index),
                "utilization": _nan_to_none(util[start:]),
                "memory_percent": _nan_to_none(mem[start:]),
            }
            for index, (util, mem) in sorted(gpus.items())
        ]
        return out
