"""The one check every read of a run's parts starts with: the run is there and not in the trash."""

from __future__ import annotations

import sqlalchemy as sa

from runyard.errors import NotFound
from runyard.store.tables import runs


def deleted_message(run_id: str) -> str:
    return (
        f"run {run_id!r} was deleted: it is in the trash (`runyard restore {run_id}` "
        "brings it back until `runyard gc` empties the trash)"
    )


def require_run(conn: sa.Connection, run_id: str) -> None:
    """NotFound for a run that never was and for one in the trash (code "deleted")."""
    row = conn.execute(sa.select(runs.c.deleted_at).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    if row.deleted_at is not None:
        raise NotFound(deleted_message(run_id), code="deleted")
