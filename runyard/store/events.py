"""The event log: what happened to runs and the queue, in order (the SSE stream reads it).

Ids are handed out in commit order, so a reader that asks for `id > last seen` never skips a
row committed late: SQLite has one writer at a time, and on PostgreSQL every emit takes the
same transaction-level advisory lock. Each emit pokes the listeners of this process (the SSE
hub) at once; rows written by another process (a second server, `runyard sync`) are found
by polling. Frequent kinds (metrics, progress, queue counts) are throttled per run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.store._throttle import Throttle
from runyard.store.queue import queue_counts
from runyard.store.tables import events

log = logging.getLogger("runyard.events")

THROTTLE_S = 0.5  # at most one metrics/progress event per run, one queue event, per interval
STATUS_KINDS = frozenset({"created", "status", "deleted", "restored"})  # these change the counts
_LOCK_KEY = 0x72756E79617264  # "runyard": the advisory lock that orders emits on PostgreSQL


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    ts: float
    kind: str
    run_id: str | None
    data: dict[str, Any]


def _merge_metrics(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    steps = [s for s in (old["last_step"], new["last_step"]) if s is not None]
    return {
        "keys": sorted({*old["keys"], *new["keys"]}),
        "last_step": max(steps) if steps else None,
    }


class Events:
    def __init__(self, engine: sa.Engine, throttle_s: float = THROTTLE_S):
        self._engine = engine
        self._ordered = engine.dialect.name == "postgresql"
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._throttle = Throttle(self._send, throttle_s)
        self._counts: dict[str, int] | None = None  # the queue counts this process sent last
        self._shared = False  # other processes emit too (share()): the last counts are read

    def emit(self, kind: str, run_id: str | None = None, **data: Any) -> int:
        """Append one event now; its id."""
        with self._engine.begin() as conn:
            if self._ordered:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
            event_id = conn.execute(
                events.insert()
                .values(ts=time.time(), kind=kind, run_id=run_id, data=data)
                .returning(events.c.id)
            ).scalar_one()
        self._poke()
        if kind in STATUS_KINDS:
            self.queue_changed()
        return int(event_id)

    def append(
        self, conn: sa.Connection, kind: str, items: Sequence[tuple[str | None, dict[str, Any]]]
    ) -> None:
        """Append one event per (run_id, data), in order, in the caller's transaction: the
        events commit with the data they tell of. Call ``announce`` after the commit."""
        if not items:
            return
        if self._ordered:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
        now = time.time()
        conn.execute(
            events.insert(), [{"ts": now, "kind": kind, "run_id": r, "data": d} for r, d in items]
        )

    def announce(self, kind: str) -> None:
        """Tell this process's listeners of events ``append`` committed."""
        self._poke()
        if kind in STATUS_KINDS:
            self.queue_changed()

    # --- throttled kinds ------------------------------------------------------------------

    def metrics(self, run_id: str, keys: Iterable[str], last_step: int | None) -> None:
        data = {"keys": sorted(keys), "last_step": last_step}
        self._throttle.offer(("metrics", run_id), data, _merge_metrics)

    def progress(self, run_id: str, **fields: Any) -> None:
        self._throttle.offer(("progress", run_id), fields)

    def queue_changed(self) -> None:
        """The queue's counts follow in a `queue` event, when they did change."""
        self._throttle.offer(("queue", None), None)

    def flush(self, run_id: str) -> None:
        """Send the run's throttled events now: nothing of it may follow its end."""
        self._throttle.flush(lambda key: isinstance(key, tuple) and key[1] == run_id)

    def _send(self, key: Hashable, data: Any) -> None:
        assert isinstance(key, tuple)
        kind, run_id = key
        if kind != "queue":
            self.emit(kind, run_id, **data)
            return
        with self._engine.connect() as conn:
            counts = queue_counts(conn)
            last: Any = None
            if self._shared:  # another process may have sent other counts since: ask
                last = conn.execute(
                    sa.select(events.c.data)
                    .where(events.c.kind == "queue")
                    .order_by(events.c.id.desc())
                    .limit(1)
                ).scalar()
        with self._lock:
            if self._shared:
                self._counts = last.get("counts") if isinstance(last, dict) else None
            if counts == self._counts:
                return
            self._counts = counts
        self.emit("queue", counts=counts)

    def share(self) -> None:
        """Other processes emit into this log too (the workers of one server): the queue
        counts sent last are read from the log, not remembered."""
        self._shared = True

    # --- reading and upkeep ---------------------------------------------------------------

    def list(self, run_id: str | None = None, after: int = 0, limit: int = 1000) -> list[Event]:
        stmt = sa.select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
        if run_id is not None:
            stmt = stmt.where(events.c.run_id == run_id)
        with self._engine.connect() as conn:
            return [Event(**r._mapping) for r in conn.execute(stmt)]

    def last_id(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)

    def prune(self, max_age_s: float, max_rows: int) -> int:
        """Drop events older than ``max_age_s`` or past the newest ``max_rows``; the newest
        stays, so that SQLite never hands out its id again."""
        with self._engine.begin() as conn:
            newest = conn.execute(sa.select(sa.func.max(events.c.id))).scalar()
            if newest is None:
                return 0
            old = sa.or_(events.c.ts < time.time() - max_age_s, events.c.id <= newest - max_rows)
            done = conn.execute(events.delete().where(events.c.id < newest, old))
        return int(done.rowcount)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the emitting thread) after each event this process adds."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _poke(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:  # a listener's failure is its own, never the emitter's
                log.exception("event listener failed")

    def close(self) -> None:
        self._throttle.close()
