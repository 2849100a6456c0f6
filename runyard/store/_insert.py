"""An INSERT that a concurrent or repeated one makes a no-op, in one statement.

Not a SAVEPOINT around an INSERT that may fail: Python's sqlite3 module does not open a
transaction before a SAVEPOINT, so releasing it would commit everything before it on its
own, and what follows would no longer be atomic with it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


def insert_new(conn: sa.Connection, table: sa.Table, **values: Any) -> bool:
    """Insert the row unless one with the same unique key exists; True if it was inserted."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None  # (psycopg's rowcount here is -1)
