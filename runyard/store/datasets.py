"""Datasets, their immutable versions (a manifest of files each) and the runs that used them.

The files themselves live in a content-addressed object store on disk (runyard.datasets.registry);
this module only keeps the records. A version is written in one transaction with its manifest,
so a version is either whole or absent.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.errors import BadRequest, NotFound
from runyard.store._exists import require_run
from runyard.store._insert import insert_new
from runyard.store.tables import dataset_files, dataset_versions, datasets, run_datasets, runs

LATEST = "latest"


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    id: int
    name: str
    description: str
    created_at: float
    latest: str | None
    version_count: int


@dataclass(frozen=True, slots=True)
class FileRecord:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    dataset: str
    version: str
    parent: str | None
    steps: list[Any]
    layout: dict[str, Any]
    counts: dict[str, dict[str, int]]
    file_count: int
    total_bytes: int
    manifest_sha256: str
    validation: dict[str, Any] | None
    source: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class NewVersion:
    """What registering a version writes; `parent_id` and `steps` record its lineage."""

    version: str
    manifest_sha256: str
    files: Sequence[FileRecord]
    layout: dict[str, Any]
    counts: dict[str, dict[str, int]]
    source: str | None = None
    parent_id: int | None = None
    steps: Sequence[Any] = ()


def parse_ref(ref: str) -> tuple[str, str]:
    """``name@version`` (or a bare ``name``, meaning its latest version) split in two."""
    name, _, version = ref.partition("@")
    if not name:
        raise BadRequest(f"dataset reference {ref!r} has no name: use NAME@VERSION")
    return name, version or LATEST


def uses_of_runs(
    conn: sa.Connection, run_ids: Sequence[str] | None
) -> dict[str, list[dict[str, str]]]:
    """``{run_id: [{"name", "version"}]}``: the versions each run declared, by name (every
    run's when ``run_ids`` is None)."""
    if run_ids is not None and not run_ids:
        return {}
    v = dataset_versions.c
    stmt = (
        sa.select(run_datasets.c.run_id, datasets.c.name, v.version)
        .join(dataset_versions, v.id == run_datasets.c.version_id)
        .join(datasets, datasets.c.id == v.dataset_id)
        .order_by(datasets.c.name, v.version)
    )
    if run_ids is not None:
        stmt = stmt.where(run_datasets.c.run_id.in_(run_ids))
    out: dict[str, list[dict[str, str]]] = {}
    for run_id, name, version in conn.execute(stmt):
        out.setdefault(run_id, []).append({"name": name, "version": version})
    return out


def _version_select() -> sa.Select[Any]:
    v, parent = dataset_versions, dataset_versions.alias("parent")
    return (
        sa.select(v, datasets.c.name.label("dataset_name"), parent.c.version.label("parent_v"))
        .join(datasets, datasets.c.id == v.c.dataset_id)
        .outerjoin(parent, parent.c.id == v.c.parent_id)
    )


def _to_version(row: sa.Row[Any]) -> VersionRecord:
    m = row._mapping
    return VersionRecord(
        id=m["id"],
        dataset=m["dataset_name"],
        version=m["version"],
        parent=m["parent_v"],
        steps=list(m["steps"]),
        layout=m["layout"],
        counts=m["counts"] or {},
        file_count=m["file_count"],
        total_bytes=m["total_bytes"],
        manifest_sha256=m["manifest_sha256"],
        validation=m["validation"],
        source=m["source"],
        created_at=m["created_at"],
    )


def _dataset_select() -> sa.Select[Any]:
    v = dataset_versions
    count = sa.select(sa.func.count()).where(v.c.dataset_id == datasets.c.id).scalar_subquery()
    latest = (
        sa.select(v.c.version)
        .where(v.c.dataset_id == datasets.c.id)
        .order_by(v.c.created_at.desc(), v.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.select(
        datasets.c.id,
        datasets.c.name,
        datasets.c.description,
        datasets.c.created_at,
        latest.label("latest"),
        count.label("version_count"),
    )


class Datasets:
    def __init__(self, engine: sa.Engine):
        self._engine = engine

    # --- datasets ---------------------------------------------------------------------------

    def all(self) -> list[DatasetRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(_dataset_select().order_by(datasets.c.name)).all()
        return [DatasetRecord(**r._mapping) for r in rows]

    def get(self, name: str) -> DatasetRecord:
        with self._engine.connect() as conn:
            row = conn.execute(_dataset_select().where(datasets.c.name == name)).first()
        if row is None:
            raise NotFound(f"no dataset {name!r}")
        return DatasetRecord(**row._mapping)

    def _ensure(self, conn: sa.Connection, name: str, description: str) -> int:
        found = conn.execute(sa.select(datasets.c.id).where(datasets.c.name == name)).scalar()
        if found is not None:
            return int(found)
        # or made by a concurrent request between our select and insert
        insert_new(conn, datasets, name=name, description=description, created_at=time.time())
        return int(
            conn.execute(sa.select(datasets.c.id).where(datasets.c.name == name)).scalar_one()
        )

    # --- versions ---------------------------------------------------------------------------

    def versions(self, name: str) -> list[VersionRecord]:
        self.get(name)
        v = dataset_versions.c
        stmt = _version_select().where(datasets.c.name == name)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt.order_by(v.created_at.desc(), v.id.desc())).all()
        return [_to_version(r) for r in rows]

    def version(self, name: str, version: str = LATEST) -> VersionRecord:
        v = dataset_versions.c
        stmt = _version_select().where(datasets.c.name == name)
        if version == LATEST:
            stmt = stmt.order_by(v.created_at.desc(), v.id.desc()).limit(1)
        else:
            stmt = stmt.where(v.version == version)
        with self._engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            self.get(name)  # a missing dataset says so, not "no version"
            raise NotFound(f"dataset {name!r} has no version {version!r}")
        return _to_version(row)

    def add_version(
        self, name: str, new: NewVersion, description: str = ""
    ) -> tuple[VersionRecord, bool]:
        """Record a version; the same content again returns the existing one (created=False)."""
        v = dataset_versions.c
        try:
            with self._engine.begin() as conn:
                dataset_id = self._ensure(conn, name, description)
                found = conn.execute(
                    sa.select(v.id).where(v.dataset_id == dataset_id, v.version == new.version)
                ).first()
                if found is not None:
                    return self.version(name, new.version), False
                version_id = conn.execute(
                    dataset_versions.insert()
                    .values(
                        dataset_id=dataset_id,
                        version=new.version,
                        parent_id=new.parent_id,
                        steps=list(new.steps),
                        layout=new.layout,
                        counts=new.counts,
                        file_count=len(new.files),
                        total_bytes=sum(f.size for f in new.files),
                        manifest_sha256=new.manifest_sha256,
                        source=new.source,
                        created_at=time.time(),
                    )
                    .returning(v.id)
                ).scalar_one()
                if new.files:
                    conn.execute(
                        dataset_files.insert(),
                        [
                            dict(version_id=version_id, path=f.path, size=f.size, sha256=f.sha256)
                            for f in new.files
                        ],
                    )
        except sa.exc.IntegrityError:
            return self.version(name, new.version), False  # registered concurrently
        return self.version(name, new.version), True

    def files(self, version_id: int, limit: int | None = None) -> list[FileRecord]:
        f = dataset_files.c
        stmt = sa.select(f.path, f.size, f.sha256).where(f.version_id == version_id)
        stmt = stmt.order_by(f.path)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._engine.connect() as conn:
            return [FileRecord(*r) for r in conn.execute(stmt)]

    def set_validation(self, version_id: int, report: dict[str, Any]) -> None:
        """The one thing of a version that may change: its report is derived, not content."""
        with self._engine.begin() as conn:
            conn.execute(
                dataset_versions.update()
                .where(dataset_versions.c.id == version_id)
                .values(validation=report)
            )

    def referenced(self, sha256: str) -> bool:
        stmt = sa.select(dataset_files.c.path).where(dataset_files.c.sha256 == sha256).limit(1)
        with self._engine.connect() as conn:
            return conn.execute(stmt).first() is not None

    # --- runs that used a version -------------------------------------------------------------

    def link_run(self, run_id: str, version_id: int) -> None:
        """Record that a run used a version; saying it twice changes nothing."""
        with self._engine.begin() as conn:
            require_run(conn, run_id)
            exists = conn.execute(
                sa.select(run_datasets.c.run_id).where(
                    run_datasets.c.run_id == run_id, run_datasets.c.version_id == version_id
                )
            ).first()
            if exists is None:  # or linked by a concurrent request meanwhile
                insert_new(conn, run_datasets, run_id=run_id, version_id=version_id)

    def of_run(self, run_id: str) -> list[dict[str, str]]:
        """``[{"name", "version"}]`` of the versions a run declared, by name."""
        with self._engine.connect() as conn:
            return uses_of_runs(conn, [run_id]).get(run_id, [])

    def runs_of(self, version_id: int) -> list[dict[str, Any]]:
        """``[{"id", "name", "status"}]`` of the runs that declared a version, newest first."""
        stmt = (
            sa.select(runs.c.id, runs.c.name, runs.c.status)
            .join(run_datasets, run_datasets.c.run_id == runs.c.id)
            .where(run_datasets.c.version_id == version_id)
            .order_by(runs.c.created_at.desc())
        )
        with self._engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]
