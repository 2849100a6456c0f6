"""A bounded, in-memory time series of host samples, served column by column for charts.

A ring buffer (deque with maxlen) of small tuples: 24 h at 5 s is 17,280 rows, a few MB.
It is rebuilt from nothing at a restart: host history is for a glance, not for the record.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from runyard.telemetry.host import HostSample


@dataclass(frozen=True)
class _Row:
    ts: float
    cpu_percent: float
    memory_percent: float
    disk_percent: float
    gpus: tuple[tuple[int, str | None, float | None, float | None], ...]  # index, name, util, mem%


class History:
    def __init__(self, interval_s: float, capacity: int):
        self.interval_s = interval_s
        self._rows: deque[_Row] = deque(maxlen=max(1, capacity))
        self._lock = threading.Lock()

    @classmethod
    def for_window(cls, interval_s: float, hours: float) -> History:
        return cls(interval_s, int(hours * 3600 / interval_s) + 1)

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, sample: HostSample) -> None:
        row = _Row(
            sample.ts,
            sample.cpu.percent,
            sample.memory.percent,
            sample.disk.percent,
            tuple((g.index, g.name, g.utilization, g.memory_percent) for g in sample.gpus),
        )
        with self._lock:
            self._rows.append(row)

    def columns(self, minutes: float, now: float | None = None) -> dict[str, Any]:
        """The last ``minutes`` as aligned arrays; a GPU missing from a sample has nulls."""
        since = (now if now is not None else time.time()) - minutes * 60
        with self._lock:
            rows = list(self._rows)
        rows = rows[bisect.bisect_left(rows, since, key=lambda r: r.ts) :]
        names: dict[int, str | None] = {}
        for row in rows:
            for index, name, _, _ in row.gpus:
                names[index] = name or names.get(index)
        gpus = []
        for index in sorted(names):
            util: list[float | None] = []
            mem: list[float | None] = []
            for row in rows:
                hit = next((g for g in row.gpus if g[0] == index), None)
                util.append(hit[2] if hit else None)
                mem.append(hit[3] if hit else None)
            gpus.append(
                {"index": index, "name": names[index], "utilization": util, "memory_percent": mem}
            )
        return {
            "interval_s": self.interval_s,
            "ts": [r.ts for r in rows],
            "cpu_percent": [r.cpu_percent for r in rows],
            "memory_percent": [r.memory_percent for r in rows],
            "disk_percent": [r.disk_percent for r in rows],
            "gpus": gpus,
        }
