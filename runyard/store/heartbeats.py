"""Signs of life from a tracked-only run's script, and what their absence means.

A run that runyard launched is judged by its exit code. A tracked-only run (a script started
by hand) has no process of ours, so the SDK's deliveries and idle heartbeats are all the
server knows: when none has come for the run's timeout, the run is `failed` with reason
`lost: no heartbeat since …`; if points arrive after all, it is `running` again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from runyard.entities import RunStatus
from runyard.store.events import Events
from runyard.store.run_state import LOST, RunState
from runyard.store.tables import runs

# No job spec: SQL NULL, or the JSON null that a JSON column stores for None.
_TRACKED = sa.or_(runs.c.spec.is_(None), sa.cast(runs.c.spec, sa.Text) == "null")
WRITE_EVERY_S = 5.0  # a run that delivers many times a second updates its row at this pace


class Heartbeats:
    def __init__(self, engine: sa.Engine, run_state: RunState, events: Events | None = None):
        self._engine = engine
        self._run_state = run_state
        self._events = events
        self._written: dict[str, float] = {}
        self._pace = WRITE_EVERY_S  # a third of the server's timeout when that is shorter

    def due(self, run_id: str) -> bool:
        """Whether a sign of life from this run would be written now (a dict lookup)."""
        return time.monotonic() - self._written.get(run_id, -self._pace) >= self._pace

    def beat(self, run_id: str, timeout_s: float | None = None, force: bool = False) -> bool:
        """Record a sign of life; a run marked lost comes back to `running`. True if it did.

        A delivery's sign of life is written at most every WRITE_EVERY_S; an explicit
        heartbeat (``force``: the SDK sends one only when it has nothing to deliver) is
        always written, since the run's timeout may be shorter than that pace.
        """
        now = time.monotonic()
        if timeout_s is None and not force and not self.due(run_id):
            return False
        self._written[run_id] = now
        if len(self._written) > 100_000:
            self._written.clear()
        values: dict[str, Any] = {"heartbeat_at": time.time()}
        if timeout_s is not None:
            values["heartbeat_timeout_s"] = timeout_s
        lost = (
            (runs.c.id == run_id)
            & (runs.c.status == RunStatus.FAILED.value)
            & _TRACKED
            & runs.c.reason.startswith(LOST)
        )
        with self._engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
            revived = conn.execute(
                runs.update()
                .where(lost)
                .values(status=RunStatus.RUNNING.value, ended_at=None, reason=None)
            ).rowcount
        if revived and self._events is not None:
            self._events.emit(
                "status",
                run_id,
                status=RunStatus.RUNNING.value,
                reason="alive again: it reported after it had been marked lost",
            )
        return bool(revived)

    def sweep(self, default_timeout_s: float) -> list[str]:
        """Mark lost every running tracked-only run whose last sign of life is too old."""
        self._pace = min(WRITE_EVERY_S, default_timeout_s / 3)
        now = time.time()
        last = sa.func.coalesce(runs.c.heartbeat_at, runs.c.started_at, runs.c.created_at)
        limit = sa.func.coalesce(runs.c.heartbeat_timeout_s, default_timeout_s)
        with self._engine.connect() as conn:
            stale = conn.execute(
                sa.select(runs.c.id, last).where(
                    (runs.c.status == RunStatus.RUNNING.value) & _TRACKED & (last + limit < now)
                )
            ).all()
        lost = []
        for run_id, seen in stale:
            since = datetime.fromtimestamp(seen, UTC).isoformat(timespec="seconds")
            reason = f"{LOST}{since.replace('+00:00', 'Z')}"
            if self._run_state.finish(run_id, RunStatus.FAILED, reason=reason):
                self._written.pop(run_id, None)
                lost.append(run_id)
        return lost
