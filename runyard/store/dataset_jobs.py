"""Transform jobs: queued → running → succeeded | failed, with progress the CLI follows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.errors import NotFound
from runyard.store.tables import dataset_jobs, dataset_versions, datasets

ACTIVE = ("queued", "running")


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: int
    kind: str
    dataset: str
    parent: str
    steps: list[Any]
    status: str
    done: int
    total: int
    version: str | None  # what it made, once it succeeded
    error: str | None
    created_at: float
    started_at: float | None
    ended_at: float | None


def _select() -> sa.Select[Any]:
    j = dataset_jobs
    parent, made = dataset_versions.alias("parent"), dataset_versions.alias("made")
    return (
        sa.select(
            j.c.id,
            j.c.kind,
            datasets.c.name.label("dataset"),
            parent.c.version.label("parent"),
            j.c.steps,
            j.c.status,
            j.c.done,
            j.c.total,
            made.c.version.label("version"),
            j.c.error,
            j.c.created_at,
            j.c.started_at,
            j.c.ended_at,
        )
        .join(datasets, datasets.c.id == j.c.dataset_id)
        .join(parent, parent.c.id == j.c.parent_id)
        .outerjoin(made, made.c.id == j.c.version_id)
    )


class DatasetJobs:
    def __init__(self, engine: sa.Engine):
        self._engine = engine

    def create(self, parent_id: int, kind: str, steps: list[Any]) -> JobRecord:
        now = time.time()
        with self._engine.begin() as conn:
            dataset_id = conn.execute(
                sa.select(dataset_versions.c.dataset_id).where(dataset_versions.c.id == parent_id)
            ).scalar_one()
            job_id = conn.execute(
                dataset_jobs.insert()
                .values(
                    dataset_id=dataset_id,
                    parent_id=parent_id,
                    kind=kind,
                    steps=steps,
                    status="queued",
                    created_at=now,
                    updated_at=now,
                )
                .returning(dataset_jobs.c.id)
            ).scalar_one()
        return self.get(int(job_id))

    def get(self, job_id: int) -> JobRecord:
        with self._engine.connect() as conn:
            row = conn.execute(_select().where(dataset_jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no dataset job {job_id}")
        return JobRecord(**row._mapping)

    def _update(self, job_id: int, **values: Any) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                dataset_jobs.update()
                .where(dataset_jobs.c.id == job_id)
                .values(updated_at=time.time(), **values)
            )

    def start(self, job_id: int, total: int) -> None:
        self._update(job_id, status="running", total=total, started_at=time.time())

    def progress(self, job_id: int, done: int) -> None:
        self._update(job_id, done=done)

    def succeed(self, job_id: int, version_id: int) -> None:
        self._update(job_id, status="succeeded", version_id=version_id, ended_at=time.time())

    def fail(self, job_id: int, error: str) -> None:
        self._update(job_id, status="failed", error=error, ended_at=time.time())

    def fail_unfinished(self, reason: str) -> int:
        """Jobs a previous server left queued or running: they will never finish now."""
        now = time.time()
        with self._engine.begin() as conn:
            done = conn.execute(
                dataset_jobs.update()
                .where(dataset_jobs.c.status.in_(ACTIVE))
                .values(status="failed", error=reason, ended_at=now, updated_at=now)
            )
        return int(done.rowcount)
