"""The trash: a deleted run is hidden and its folder set aside until `runyard gc` purges it.

Deletion is two steps that are each safe to repeat: the row is marked (only while the run is
terminal and not already deleted, in one conditional UPDATE, so a run that a retry brought
back to life is never deleted under it), then its folder is renamed into
``<runs root>/.trash/<run id>``. Restoring undoes both; purging removes the row (its metrics,
files and events go with it by cascade) and the folder.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from runyard.entities import RunStatus
from runyard.errors import Conflict, NotFound
from runyard.store.events import Events
from runyard.store.tables import experiments, runs

TRASH_DIR = ".trash"
_TERMINAL = [s.value for s in RunStatus if s.is_terminal()]


@dataclass(frozen=True, slots=True)
class TrashedRun:
    id: str
    name: str
    experiment: str
    status: str
    deleted_at: float
    folder: Path  # where its files wait; may not exist (a run that wrote nothing)

    def bytes(self) -> int:
        if not self.folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def _refusal(run_id: str, status: str) -> str:
    if status in (RunStatus.QUEUED, RunStatus.RETRYING):
        return f"run {run_id!r} is {status}: cancel it first (`runyard cancel {run_id}`)"
    return f"run {run_id!r} is {status}: only an ended run can be deleted; cancel it first"


class Trash:
    def __init__(self, engine: sa.Engine, runs_root: Path, events: Events):
        self._engine = engine
        self.root = runs_root / TRASH_DIR
        self._events = events

    def folder(self, run_id: str) -> Path:
        return self.root / run_id

    def delete(self, run_id: str) -> TrashedRun:
        """Move an ended run to the trash; Conflict (with the reason) for a live one."""
        now = time.time()
        with self._engine.begin() as conn:
            row = conn.execute(
                sa.select(runs.c.status, runs.c.deleted_at, runs.c.run_dir).where(
                    runs.c.id == run_id
                )
            ).first()
            if row is None:
                raise NotFound(f"no run {run_id!r}")
            if row.deleted_at is not None:
                raise Conflict(f"run {run_id!r} is in the trash already")
            done = conn.execute(
                runs.update()
                .where(
                    runs.c.id == run_id,
                    runs.c.deleted_at.is_(None),
                    runs.c.status.in_(_TERMINAL),
                )
                .values(deleted_at=now, updated_at=now)
            )
            if done.rowcount == 0:
                raise Conflict(_refusal(run_id, row.status))
            run_dir = Path(row.run_dir)
            if run_dir.is_dir():  # inside the transaction: a failed move leaves the run as it was
                self.root.mkdir(parents=True, exist_ok=True)
                target = self.folder(run_id)
                if target.exists():  # left by an earlier purge that was interrupted
                    shutil.rmtree(target)
                shutil.move(str(run_dir), str(target))
        self._events.emit("deleted", run_id)
        return self.get(run_id)

    def restore(self, run_id: str) -> None:
        """Bring a run back from the trash, its folder where it was."""
        with self._engine.begin() as conn:
            row = conn.execute(
                sa.select(runs.c.deleted_at, runs.c.run_dir).where(runs.c.id == run_id)
            ).first()
            if row is None:
                raise NotFound(f"no run {run_id!r} (purged from the trash, or never made)")
            if row.deleted_at is None:
                raise Conflict(f"run {run_id!r} is not in the trash")
            conn.execute(runs.update().where(runs.c.id == run_id).values(deleted_at=None))
            source, run_dir = self.folder(run_id), Path(row.run_dir)
            if source.is_dir():
                if run_dir.exists():
                    raise Conflict(f"cannot restore {run_id!r}: {run_dir} exists")
                run_dir.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(run_dir))
        self._events.emit("restored", run_id)

    def get(self, run_id: str) -> TrashedRun:
        found = self._select(runs.c.id == run_id)
        if not found:
            raise NotFound(f"no run {run_id!r} in the trash")
        return found[0]

    def items(self, deleted_before: float | None = None) -> list[TrashedRun]:
        """Runs in the trash, oldest deletion first; only those deleted before a time if given."""
        if deleted_before is None:
            return self._select(sa.true())
        return self._select(runs.c.deleted_at < deleted_before)

    def purge(self, run_id: str) -> None:
        """Remove a trashed run for good: its folder, then its row (and all that hangs on it)."""
        shutil.rmtree(self.folder(run_id), ignore_errors=True)
        with self._engine.begin() as conn:
            conn.execute(runs.delete().where(runs.c.id == run_id, runs.c.deleted_at.is_not(None)))

    def _select(self, where: sa.ColumnElement[bool]) -> list[TrashedRun]:
        stmt = (
            sa.select(
                runs.c.id,
                runs.c.name,
                experiments.c.name.label("experiment"),
                runs.c.status,
                runs.c.deleted_at,
            )
            .join(experiments, experiments.c.id == runs.c.experiment_id)
            .where(runs.c.deleted_at.is_not(None), where)
            .order_by(runs.c.deleted_at, runs.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            TrashedRun(r.id, r.name, r.experiment, r.status, r.deleted_at, self.folder(r.id))
            for r in rows
        ]
