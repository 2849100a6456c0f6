"""Points gathered by a reader, as the store's Series."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from runyard.store.metrics import Series
from runyard.store.tables import metric_batches


class Points:
    def __init__(self) -> None:
        self._columns: dict[str, tuple[list[int], list[float], list[float]]] = {}

    def add(self, key: str, step: int, value: float, timestamp: float) -> None:
        if len(key) > 250:
            return
        col = self._columns.setdefault(key, ([], [], []))
        col[0].append(step)
        col[1].append(value)
        col[2].append(timestamp)

    def __len__(self) -> int:
        return sum(len(c[0]) for c in self._columns.values())

    def series(self) -> list[Series]:
        import numpy as np

        return [
            Series(k, np.array(s, dtype=np.int64), np.array(v, dtype=np.float64), np.array(t))
            for k, (s, v, t) in self._columns.items()
        ]


def source_name(prefix: str, name: str) -> str:
    """A batch source of at most 64 characters that names one file of one run."""
    if len(prefix) + len(name) <= 64:
        return prefix + name
    return prefix + hashlib.sha256(name.encode()).hexdigest()[: 64 - len(prefix)]


def last_seq(engine: sa.Engine, run_id: str, source: str) -> int:
    """Where the last batch of this source ended (0 when none was stored)."""
    c = metric_batches.c
    with engine.connect() as conn:
        done = conn.execute(
            sa.select(sa.func.max(c.seq)).where(c.run_id == run_id, c.source == source)
        ).scalar()
    return int(done or 0)
