"""Faults of the box, not bugs: a full disk (507) and a busy database (503).

`classify` turns what a write raised (an ``OSError`` with ENOSPC, SQLite's "database or disk
is full" / "database is locked", PostgreSQL's lock_timeout, serialization and disk-full
states) into the `RunyardError` that says what happened. The engine applies it at the store
boundary (`install`); the server's error handlers and the scheduler apply it to what comes
from elsewhere (a run dir's file). `Episodes` logs each kind once per episode, not once per
request, and tells the dashboard which faults are current.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runyard.errors import Busy, InsufficientStorage, RunyardError

log = logging.getLogger("runyard.faults")

RETRY_AFTER_S = 2
EPISODE_GAP_S = 30.0  # a fault not seen for this long has ended; the next one is logged again
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = ("database or disk is full", "disk is full")
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
# lock_not_available, serialization_failure, deadlock_detected, query_canceled (timeouts),
# too_many_connections, cannot_connect_now
_PG_BUSY = frozenset({"55P03", "40001", "40P01", "57014", "53300", "57P03"})
_PG_FULL = frozenset({"53100"})  # disk_full


def mount_point(path: str | os.PathLike[str]) -> Path:
    """The mount point of the filesystem that holds ``path`` (or would hold it)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, sa.exc.DBAPIError):
            orig = e.orig
            todo.append(orig if isinstance(orig, BaseException) else None)
        todo.extend((e.__cause__, e.__context__))


def disk_full(where: str | os.PathLike[str] | None) -> InsufficientStorage:
    if where is None:
        return InsufficientStorage(
            "the database server's disk is full: free some space there; nothing was written"
        )
    mount = mount_point(where)
    return InsufficientStorage(
        f"no space left on the filesystem mounted at {mount} (writing {where}): "
        "free some space there; nothing was written"
    )


def busy() -> Busy:
    return Busy(
        "the database is busy (locked by another process or transaction past the busy "
        f"timeout); nothing was written, try again in {RETRY_AFTER_S} s",
        retry_after=RETRY_AFTER_S,
    )


def classify(
    exc: BaseException, where: str | os.PathLike[str] | None = None
) -> RunyardError | None:
    """The fault that ``exc`` reports, or None when it is something else (a bug).

    ``where`` names the file written when the exception does not (the SQLite database file;
    None for a database on another machine).
    """
    for e in _chain(exc):
        if isinstance(e, (Busy, InsufficientStorage)):
            return e
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return disk_full(e.filename if isinstance(e.filename, str) else where)
        state = getattr(e, "sqlstate", None)
        if state in _PG_FULL:
            return disk_full(None)
        if state in _PG_BUSY:
            return busy()
        if isinstance(e, sqlite3.Error):
            text = str(e).lower()
            if any(s in text for s in _SQLITE_FULL):
                return disk_full(where)
            if any(s in text for s in _SQLITE_BUSY):
                return busy()
        if isinstance(e, sa.exc.TimeoutError):  # no pooled connection came free in time
            return busy()
    return None


def install(engine: sa.Engine) -> None:
    """Raise faults as `Busy` / `InsufficientStorage` from every statement of ``engine``."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    where = database if database and database != ":memory:" else None

    def on_error(context: Any) -> BaseException | None:
        return classify(context.original_exception, where)

    sa.event.listen(engine, "handle_error", on_error, retval=True)


class Episodes:
    """Log each kind of fault once per episode; say which are current (for the dashboard)."""

    def __init__(self, gap_s: float = EPISODE_GAP_S):
        self._gap = gap_s
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, str]] = {}  # code → (last seen, message)

    def note(self, fault: RunyardError, where: str = "request") -> None:
        now = time.monotonic()
        with self._lock:
            last = self._seen.get(fault.code)
            self._seen[fault.code] = (now, fault.message)
        if last is None or now - last[0] > self._gap:
            log.warning(
                "%s (%s; logged once until it has been quiet for %g s)",
                fault.message,
                where,
                self._gap,
            )

    def current(self, within_s: float = 10.0) -> dict[str, str]:
        """code → message of the faults seen within the last ``within_s`` seconds."""
        now = time.monotonic()
        with self._lock:
            return {c: m for c, (t, m) in self._seen.items() if now - t <= within_s}


EPISODES = Episodes()  # one per process: the server's handlers and its scheduler share it


def report(
    exc: BaseException,
    logger: logging.Logger,
    what: str,
    where: str | os.PathLike[str] | None = None,
) -> RunyardError | None:
    """Log what a background pass raised: a fault once per episode, anything else in full."""
    fault = classify(exc, where)
    if fault is None:
        logger.error(what, exc_info=exc)
    else:
        EPISODES.note(fault, what)
    return fault
