"""A run's metric points read chunk by chunk, for exports that must not hold a whole series
(10 million points of one key would be 240 MB as arrays)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from runyard.store import _codec
from runyard.store._exists import require_run
from runyard.store.metrics import Series
from runyard.store.tables import metric_chunks

BATCH = 64  # chunks fetched from the database at a time


def iter_series(engine: sa.Engine, run_id: str, keys: list[str] | None = None) -> Iterator[Series]:
    """Each stored chunk as a Series, by key, then by first step: at most one chunk's points
    (and a batch of compressed chunks) in memory at a time."""
    c = metric_chunks.c
    stmt = sa.select(c.key, c.count, c.data).where(c.run_id == run_id)
    if keys:
        stmt = stmt.where(c.key.in_(keys))
    with engine.connect() as conn:
        require_run(conn, run_id)
        result = conn.execution_options(yield_per=BATCH).execute(
            stmt.order_by(c.key, c.step_min, c.id)
        )
        for key, count, data in result:
            steps, values, ts = _codec.decode(data, count)
            yield Series(key, steps, values, ts)
