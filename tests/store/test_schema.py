"""The schema: migrations match the tables, and SQLite runs tuned."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from runyard.store import Store
from runyard.store.db import (
    HEAD,
    current_revision,
    head_revision,
    is_current,
    make_engine,
    upgrade,
)
from runyard.store.tables import metadata


def test_migrations_build_exactly_the_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == [], f"tables.py and the migrations differ: {diff}"


def test_upgrade_is_idempotent_and_reaches_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'runyard.db'}")
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision() is not None
    assert is_current(engine)
    engine.dispose()


def test_head_constant_names_the_newest_migration() -> None:
    assert head_revision() == HEAD


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}", tmp_path / "runs")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    store.close()


def test_foreign_keys_are_enforced(store: Store) -> None:
    from runyard.store.tables import run_tags

    with store.engine.connect() as conn:
        try:
            conn.execute(run_tags.insert().values(run_id="missing", tag="x"))
            conn.commit()
        except sa.exc.IntegrityError:
            conn.rollback()
        else:
            raise AssertionError("a tag for a missing run was accepted")
