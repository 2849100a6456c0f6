"""Experiments: named groups of runs, created on first use."""

from __future__ import annotations

import time

import sqlalchemy as sa

from runyard.entities import Experiment
from runyard.errors import Conflict, NotFound
from runyard.store._insert import insert_new
from runyard.store.tables import experiments, runs


def ensure_experiment(conn: sa.Connection, name: str) -> int:
    """The id of experiment ``name``, created if it does not exist (race-safe)."""
    found = conn.execute(sa.select(experiments.c.id).where(experiments.c.name == name)).scalar()
    if found is not None:
        return int(found)
    insert_new(conn, experiments, name=name, created_at=time.time())  # or made concurrently
    return int(
        conn.execute(sa.select(experiments.c.id).where(experiments.c.name == name)).scalar_one()
    )


def _select() -> sa.Select[tuple[int, str, str, float, int, float | None]]:
    count = (
        sa.select(sa.func.count())
        .where(runs.c.experiment_id == experiments.c.id, runs.c.deleted_at.is_(None))
        .scalar_subquery()
    )
    return sa.select(
        experiments.c.id,
        experiments.c.name,
        experiments.c.description,
        experiments.c.created_at,
        count.label("run_count"),
        experiments.c.archived_at,
    )


class Experiments:
    def __init__(self, engine: sa.Engine):
        self._engine = engine

    def create(self, name: str, description: str = "") -> Experiment:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    experiments.insert().values(
                        name=name, description=description, created_at=time.time()
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"experiment {name!r} exists already") from exc
        return self.get(name)

    def list(self, *, archived: bool = False) -> list[Experiment]:
        """The experiments in use, newest first; with ``archived``, the archived ones instead."""
        hidden = experiments.c.archived_at
        stmt = _select().where(hidden.is_not(None) if archived else hidden.is_(None))
        with self._engine.connect() as conn:
            rows = conn.execute(stmt.order_by(experiments.c.created_at.desc())).all()
        return [Experiment(**row._mapping) for row in rows]

    def set_archived(self, ref: str | int, archived: bool) -> Experiment:
        """Archive (hide from lists) or unarchive; repeating either is harmless."""
        found = self.get(ref)
        with self._engine.begin() as conn:
            conn.execute(
                experiments.update()
                .where(experiments.c.id == found.id)
                .values(archived_at=(found.archived_at or time.time()) if archived else None)
            )
        return self.get(found.id)

    def get(self, ref: str | int) -> Experiment:
        """By name, else by id: an experiment may be named "42" (names are what people type)."""
        row = None
        with self._engine.connect() as conn:
            if isinstance(ref, str):
                row = conn.execute(_select().where(experiments.c.name == ref)).first()
            number = isinstance(ref, int) or (ref.isascii() and ref.isdigit() and len(ref) <= 18)
            if row is None and number:
                row = conn.execute(_select().where(experiments.c.id == int(ref))).first()
        if row is None:
            raise NotFound(f"no experiment {ref!r}")
        return Experiment(**row._mapping)
