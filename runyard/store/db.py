"""Engines and migrations: SQLite tuned for one busy box, PostgreSQL for many writers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from runyard.store import faults

MIGRATIONS = Path(__file__).with_name("migrations")


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(busy_ms: int) -> Callable[[sqlite3.Connection, Any], None]:
    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")  # first: WAL mode itself may wait
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it safe
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def make_engine(url: str, busy_timeout_s: float = 10.0) -> sa.Engine:
    """An engine for ``url``: SQLite files get WAL, a busy timeout and foreign keys;
    PostgreSQL the same wait for locks. Past it, or on a full disk, statements raise
    `Busy` (503) or `InsufficientStorage` (507): see `faults`."""
    parsed = make_url(url)
    busy_ms = max(1, int(busy_timeout_s * 1000))
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas(busy_ms))
    else:
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=8,
            max_overflow=8,
            pool_timeout=busy_timeout_s,
            connect_args={"options": f"-c lock_timeout={busy_ms}"},
            **kwargs,
        )
    faults.install(engine)
    return engine


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


HEAD = "0011"  # the newest migration; a test checks it against the scripts


def is_current(engine: sa.Engine) -> bool:
    """True when the schema is at HEAD, read with plain SQL (no Alembic import at start)."""
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    except sa.exc.DBAPIError:
        return False  # no alembic_version table yet


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is there already."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)
