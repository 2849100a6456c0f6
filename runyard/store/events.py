"""The event log: what happened to runs and the queue, in order (SSE reads it later)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.store.tables import events


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    ts: float
    kind: str
    run_id: str | None
    data: dict[str, Any]


class Events:
    def __init__(self, engine: sa.Engine):
        self._engine = engine

    def emit(self, kind: str, run_id: str | None = None, **data: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                events.insert().values(ts=time.time(), kind=kind, run_id=run_id, data=data)
            )

    def list(self, run_id: str | None = None, after: int = 0, limit: int = 1000) -> list[Event]:
        stmt = sa.select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
        if run_id is not None:
            stmt = stmt.where(events.c.run_id == run_id)
        with self._engine.connect() as conn:
            return [Event(**r._mapping) for r in conn.execute(stmt)]
