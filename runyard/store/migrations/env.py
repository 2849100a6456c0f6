"""Alembic environment: runs on the connection handed over by ``runyard.store.db.upgrade``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from runyard.store.tables import metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:  # `alembic` run by hand: use the configured URL or the settings' database
    from runyard.config import Settings
    from runyard.store.db import make_engine

    _engine = make_engine(context.config.get_main_option("sqlalchemy.url") or Settings().db_url)
    with _engine.begin() as _conn:
        _run(_conn)
