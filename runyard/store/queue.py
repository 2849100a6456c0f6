"""The queue at a glance: runs in the groups the dashboard shows, with their totals."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runyard.entities import Run, RunStatus
from runyard.store.runs import RunQuery, Runs
from runyard.store.tables import runs

GROUPS: dict[str, tuple[RunStatus, ...]] = {
    "active": (RunStatus.STARTING, RunStatus.RUNNING),
    "queued": (RunStatus.QUEUED, RunStatus.RETRYING),
    "completed": (RunStatus.COMPLETED,),
    # Each way of ending short is counted apart: a cancel or a prune is not a failure.
    "failed": (RunStatus.FAILED,),
    "cancelled": (RunStatus.CANCELLED,),
}
_PRUNED = next((s for s in RunStatus if s.value == "pruned"), None)  # a sweep's stopped trial
if _PRUNED is not None:
    GROUPS["pruned"] = (_PRUNED,)


def queue_counts(conn: sa.Connection) -> dict[str, int]:
    """How many runs each group holds: one GROUP BY over the status index."""
    rows = conn.execute(
        sa.select(runs.c.status, sa.func.count())
        .where(runs.c.deleted_at.is_(None))
        .group_by(runs.c.status)
    )
    by_status = {status: int(n) for status, n in rows}
    return {
        group: sum(by_status.get(s.value, 0) for s in statuses)
        for group, statuses in GROUPS.items()
    }


@dataclass(frozen=True)
class QueueView:
    counts: dict[str, int]  # totals per group
    groups: dict[str, list[Run]]  # the newest `limit` runs of each group


class Queue:
    def __init__(self, engine: sa.Engine, runs_repo: Runs):
        self._engine = engine
        self._runs = runs_repo

    def counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            return queue_counts(conn)

    def view(self, limit: int = 50) -> QueueView:
        groups = {
            group: self._runs.list(RunQuery(status=statuses, limit=limit)).runs
            for group, statuses in GROUPS.items()
        }
        return QueueView(self.counts(), groups)
