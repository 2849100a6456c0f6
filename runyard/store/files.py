"""Records of the files a run keeps in its run dir: checkpoints and artifacts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runyard.errors import NotFound
from runyard.store._exists import require_run
from runyard.store.tables import artifacts, checkpoints


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    name: str
    path: str  # relative to the run dir
    attempt: int | None
    step: int | None
    epoch: int | None
    size: int
    sha256: str
    metrics: dict[str, Any]
    created_at: float


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    path: str
    attempt: int | None
    size: int
    sha256: str | None
    created_at: float


class Files:
    def __init__(self, engine: sa.Engine):
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def _upsert(self, table: sa.Table, key: list[str], row: dict[str, Any]) -> None:
        stmt = self._insert(table).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in key],
            set_={c: stmt.excluded[c] for c in row if c not in key},
        )
        with self._engine.begin() as conn:
            require_run(conn, row["run_id"])
            conn.execute(stmt)

    def add_checkpoint(self, run_id: str, record: CheckpointRecord) -> CheckpointRecord:
        """Register a checkpoint; the same name again replaces the record."""
        self._upsert(checkpoints, ["run_id", "name"], {"run_id": run_id, **asdict(record)})
        return record

    def checkpoints(self, run_id: str) -> list[CheckpointRecord]:
        c = checkpoints.c
        cols = [c[f] for f in CheckpointRecord.__dataclass_fields__]
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            rows = conn.execute(
                sa.select(*cols).where(c.run_id == run_id).order_by(c.created_at, c.id)
            ).all()
        return [CheckpointRecord(**r._mapping) for r in rows]

    def delete_checkpoints(self, run_id: str, *, attempt: int, since: float) -> int:
        """Drop the records a (cancelled) attempt made: by its number, or made since it began."""
        c = checkpoints.c
        with self._engine.begin() as conn:
            done = conn.execute(
                checkpoints.delete().where(
                    c.run_id == run_id, sa.or_(c.attempt == attempt, c.created_at >= since)
                )
            )
        return int(done.rowcount)

    def delete_checkpoint(self, run_id: str, name: str) -> bool:
        c = checkpoints.c
        with self._engine.begin() as conn:
            done = conn.execute(checkpoints.delete().where(c.run_id == run_id, c.name == name))
        return bool(done.rowcount)

    def remove_checkpoint(
        self, run_id: str, name: str, remove_file: Callable[[CheckpointRecord], None]
    ) -> CheckpointRecord:
        """Drop a checkpoint's record and, inside the same transaction, its file.

        `remove_file` runs after the row is deleted and before the commit: if it raises, the
        record stays. A crash between the file's removal and the commit leaves a record
        whose file is gone, which the listing shows (`exists`) and a second call clears.
        A file that another record of the run still names (two names registered for one
        file) is kept.
        """
        c = checkpoints.c
        cols = [c[f] for f in CheckpointRecord.__dataclass_fields__]
        with self._engine.begin() as conn:
            require_run(conn, run_id)
            row = conn.execute(
                checkpoints.delete().where(c.run_id == run_id, c.name == name).returning(*cols)
            ).first()
            if row is None:
                raise NotFound(f"run {run_id!r} has no checkpoint {name!r}")
            record = CheckpointRecord(**row._mapping)
            shared = conn.execute(
                sa.select(c.id).where(c.run_id == run_id, c.path == record.path).limit(1)
            ).first()
            if shared is None:
                remove_file(record)
        return record

    def add_artifact(self, run_id: str, record: ArtifactRecord) -> ArtifactRecord:
        self._upsert(artifacts, ["run_id", "path"], {"run_id": run_id, **asdict(record)})
        return record

    def artifacts(self, run_id: str) -> list[ArtifactRecord]:
        a = artifacts.c
        cols = [a[f] for f in ArtifactRecord.__dataclass_fields__]
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            rows = conn.execute(sa.select(*cols).where(a.run_id == run_id).order_by(a.path)).all()
        return [ArtifactRecord(**r._mapping) for r in rows]
