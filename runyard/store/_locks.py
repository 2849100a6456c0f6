"""Row locks for a read-then-write of a run, the same on SQLite and PostgreSQL.

Python's SQLite driver does not BEGIN before a SELECT (and SQLite ignores FOR UPDATE), so a
read at the start of a transaction is outside it: two writers each read the old params and
the second overwrites the first. Writing the row first takes the lock on both engines (the
database's write lock on SQLite, waiting out the busy timeout; the row's lock on
PostgreSQL), and what the transaction reads after it is the newest committed state.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from runyard.store.tables import runs


def lock_run(conn: sa.Connection, run_id: str) -> bool:
    """Lock the run's row for the rest of ``conn``'s transaction; False when there is none."""
    done = conn.execute(runs.update().where(runs.c.id == run_id).values(updated_at=time.time()))
    return done.rowcount > 0
