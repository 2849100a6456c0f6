"""What MLflow's tracking API keeps beside a runyard run: key-value tags of runs and
experiments, and soft deletes (a deleted run or experiment is hidden, not removed)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

from runyard.entities import RunStatus
from runyard.errors import BadRequest, Conflict, NotFound
from runyard.store._locks import lock_run
from runyard.store.tables import (
    experiments,
    metric_summaries,
    mlflow_deleted,
    mlflow_experiment_tags,
    mlflow_run_tags,
    run_tags,
    runs,
)

Kind = Literal["run", "experiment"]
INPUTS_TAG = "runyard.mlflow.inputs"  # a run's dataset inputs, MLflow's JSON, in a list
DATASET_LABEL = "dataset:"  # a label per dataset name, so the dashboard shows and filters it


@dataclass(frozen=True, slots=True)
class PageRow:
    """A searched run as MLflow's JSON needs it (a whole `Run` carries its spec, summaries and
    datasets, several times the cost), hashable, so that its JSON is made once and reused
    while it reads the same: params as the column's JSON text, tags sorted, and the
    summaries' latest (key, value, step, timestamp) of each metric."""

    id: str
    name: str
    experiment_id: int
    status: RunStatus
    params: str
    created_at: float
    started_at: float | None
    ended_at: float | None
    deleted: bool
    tags: tuple[tuple[str, str], ...]
    latest: tuple[tuple[str, float, int | None, float | None], ...]


RunState = Literal["missing", "deleted", "active"]
_STATUSES = {s.value: s for s in RunStatus}  # a dict lookup; RunStatus(x) costs 10x more


def _state_select() -> sa.Select[Any]:
    """One row per run: is it in runyard's trash, or deleted by MLflow's client (itself or
    its experiment)? Built once; a write route asks it before every write."""
    d = mlflow_deleted.c
    run_gone = sa.exists().where(d.kind == "run", d.ref == runs.c.id)
    exp_gone = sa.exists().where(
        d.kind == "experiment", d.ref == sa.cast(runs.c.experiment_id, sa.String)
    )
    return sa.select(runs.c.deleted_at, run_gone, exp_gone).where(
        runs.c.id == sa.bindparam("run_id")
    )


class MlflowMeta:
    def __init__(self, engine: sa.Engine):
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._state = _state_select()

    def _upsert(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = [c.name for c in table.primary_key.columns]
        stmt = self._insert(table)
        conn.execute(
            stmt.on_conflict_do_update(index_elements=keys, set_={"value": stmt.excluded.value}),
            rows,
        )

    def set_run_tags(self, conn: sa.Connection, run_id: str, tags: dict[str, str]) -> None:
        """In the caller's transaction, so that a batch is written whole or not at all."""
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        self._upsert(conn, mlflow_run_tags, rows)

    def delete_run_tag(self, run_id: str, key: str) -> bool:
        t = mlflow_run_tags.c
        with self._engine.begin() as conn:
            done = conn.execute(
                mlflow_run_tags.delete().where(t.run_id == run_id, t.key == key)
            ).rowcount
        return bool(done)

    def run_tags(self, run_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        if not run_ids:
            return {}
        t = mlflow_run_tags.c
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t.run_id, t.key, t.value).where(t.run_id.in_(run_ids)))
            out: dict[str, dict[str, str]] = {}
            for run_id, key, value in rows:
                out.setdefault(run_id, {})[key] = value
        return out

    def set_experiment_tags(self, experiment_id: int, tags: dict[str, str]) -> None:
        rows = [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags.items()]
        with self._engine.begin() as conn:
            self._upsert(conn, mlflow_experiment_tags, rows)

    def delete_experiment_tag(self, experiment_id: int, key: str) -> bool:
        t = mlflow_experiment_tags.c
        with self._engine.begin() as conn:
            stmt = mlflow_experiment_tags.delete().where(
                t.experiment_id == experiment_id, t.key == key
            )
            return bool(conn.execute(stmt).rowcount)

    def experiment_tags(self, experiment_ids: Sequence[int]) -> dict[int, dict[str, str]]:
        t = mlflow_experiment_tags.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.experiment_id, t.key, t.value).where(
                    t.experiment_id.in_(list(experiment_ids))
                )
            )
            out: dict[int, dict[str, str]] = {}
            for exp_id, key, value in rows:
                out.setdefault(exp_id, {})[key] = value
        return out

    def set_deleted(self, kind: Kind, ref: str, deleted: bool) -> None:
        t = mlflow_deleted.c
        with self._engine.begin() as conn:
            conn.execute(mlflow_deleted.delete().where(t.kind == kind, t.ref == ref))
            if deleted:
                conn.execute(
                    mlflow_deleted.insert().values(kind=kind, ref=ref, deleted_at=time.time())
                )

    def deleted(self, kind: Kind, refs: Sequence[str]) -> dict[str, float]:
        """When each of ``refs`` that is deleted was deleted."""
        t = mlflow_deleted.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.ref, t.deleted_at).where(t.kind == kind, t.ref.in_(list(refs)))
            )
            return {ref: at for ref, at in rows}

    def run_state(self, run_id: str) -> RunState:
        """Whether a run can be written to, in one query (the MLflow client logs point by point)."""
        with self._engine.connect() as conn:
            row = conn.execute(self._state, {"run_id": run_id}).first()
        if row is None or row[0] is not None:
            return "missing"
        return "deleted" if row[1] or row[2] else "active"

    def page(self, run_ids: Sequence[str]) -> list[PageRow]:
        """A page of searched runs in the order asked, in three queries on one connection;
        the ids go as one JSON array (a thousand bound values cost more to build than the
        queries take). A run missing or in the trash is left out."""
        if not run_ids:
            return []
        ids = self._among(list(run_ids))
        r, t, m, d = runs.c, mlflow_run_tags.c, metric_summaries.c, mlflow_deleted.c
        gone = sa.exists().where(d.kind == "run", d.ref == r.id)
        head = sa.select(
            r.id, r.name, r.experiment_id, r.status, sa.cast(r.params, sa.Text),
            r.created_at, r.started_at, r.ended_at, gone,
        ).where(r.id.in_(ids), r.deleted_at.is_(None))  # fmt: skip
        tagged = sa.select(t.run_id, t.key, t.value).where(t.run_id.in_(ids))
        latest = (
            sa.select(m.run_id, m.key, m.last, m.last_step, m.last_ts)
            .where(m.run_id.in_(ids))
            .order_by(m.run_id, m.key)
        )
        tags: dict[str, list[tuple[str, str]]] = {}
        metrics: dict[str, list[tuple[str, float, int | None, float | None]]] = {}
        with self._engine.connect() as conn:
            found = {row[0]: row for row in conn.execute(head).all()}
            for run_id, key, value in conn.execute(tagged).all():
                tags.setdefault(run_id, []).append((key, value))
            for run_id, key, last, step, ts in conn.execute(latest).all():
                value = math.nan if last is None else last
                metrics.setdefault(run_id, []).append((key, value, step, ts))
        return [
            PageRow(
                row[0],
                row[1],
                row[2],
                _STATUSES[row[3]],
                row[4] or "{}",
                row[5],
                row[6],
                row[7],
                bool(row[8]),
                tuple(sorted(tags.get(row[0], ()))),
                tuple(metrics.get(row[0], ())),
            )  # fmt: skip
            for row in (found.get(i) for i in run_ids)
            if row is not None
        ]

    def _among(self, ids: list[str]) -> sa.ScalarSelect[Any]:
        """The values of `ids` as a subquery over one bound JSON array."""
        array = sa.bindparam("ids", orjson.dumps(ids).decode(), type_=sa.Text)
        if self._engine.dialect.name == "postgresql":
            return sa.select(
                sa.func.jsonb_array_elements_text(sa.cast(array, JSONB))
            ).scalar_subquery()
        each = sa.func.json_each(array).table_valued("value")
        return sa.select(each.c.value).scalar_subquery()

    @staticmethod
    def deleted_refs(kind: Kind) -> sa.Select[tuple[str]]:
        """A subquery of the refs of ``kind`` that are deleted, for NOT IN / IN filters."""
        return sa.select(mlflow_deleted.c.ref).where(mlflow_deleted.c.kind == kind)

    def log(
        self, run_id: str, params: dict[str, str], tags: dict[str, str], name: str | None = None
    ) -> None:
        """Params and tags of one request in one transaction. A param logged before with
        another value is refused (params are immutable) and nothing is written."""
        with self._engine.begin() as conn:
            if not lock_run(conn, run_id):  # concurrent batches of one run are not lost
                raise NotFound(f"Run with id={run_id} not found")
            old: dict[str, Any] = conn.execute(
                sa.select(runs.c.params).where(runs.c.id == run_id)
            ).scalar_one()
            for key, value in params.items():
                if key in old and _text(old[key]) != value:
                    raise BadRequest(
                        "Changing param values is not allowed. Param with key="
                        f"'{key}' was already logged with value='{_text(old[key])}' for run "
                        f"ID='{run_id}'. Attempted logging new value '{value}'."
                    )
            values: dict[str, Any] = {"updated_at": time.time()}
            if any(k not in old for k in params):
                values["params"] = {**old, **params}
            if name:
                values["name"] = name
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
            self.set_run_tags(conn, run_id, tags)

    def log_inputs(self, run_id: str, inputs: list[dict[str, Any]], names: list[str]) -> None:
        """Add dataset inputs (MLflow's `DatasetInput` JSON; one seen before is kept once) and
        a `dataset:NAME` label per dataset, in one transaction."""
        import orjson

        t = mlflow_run_tags.c
        with self._engine.begin() as conn:
            if not lock_run(conn, run_id):
                raise NotFound(f"Run with id={run_id} not found")
            labels = conn.execute(sa.select(runs.c.tags).where(runs.c.id == run_id)).scalar() or []
            stored = conn.execute(
                sa.select(t.value).where(t.run_id == run_id, t.key == INPUTS_TAG)
            ).scalar()
            kept: list[dict[str, Any]] = orjson.loads(stored) if stored else []
            kept += [i for i in inputs if i not in kept]
            self.set_run_tags(conn, run_id, {INPUTS_TAG: orjson.dumps(kept).decode()})
            new = [f"{DATASET_LABEL}{n}"[:250] for n in names]
            new = [label for label in dict.fromkeys(new) if label not in labels]
            if new:
                conn.execute(
                    runs.update()
                    .where(runs.c.id == run_id)
                    .values(tags=[*labels, *new], updated_at=time.time())
                )
                conn.execute(run_tags.insert(), [{"run_id": run_id, "tag": n} for n in new])

    def set_run_fields(self, run_id: str, **values: Any) -> None:
        """Times and status that MLflow's client chooses (start_time, end_time, reopening)."""
        with self._engine.begin() as conn:
            done = conn.execute(
                runs.update().where(runs.c.id == run_id).values(updated_at=time.time(), **values)
            )
            if done.rowcount == 0:
                raise NotFound(f"Run with id={run_id} not found")

    def rename_experiment(self, experiment_id: int, name: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    experiments.update().where(experiments.c.id == experiment_id).values(name=name)
                )
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"Experiment(name={name}) already exists.") from exc

    def latest_metrics(
        self, run_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, float, int | None, float | None]]]:
        """(key, value, step, timestamp) of each key's latest point, from the summaries."""
        if not run_ids:
            return {}
        t = metric_summaries.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.run_id, t.key, t.last, t.last_step, t.last_ts)
                .where(t.run_id.in_(list(run_ids)))
                .order_by(t.run_id, t.key)
            )
            out: dict[str, list[tuple[str, float, int | None, float | None]]] = {}
            for run_id, key, last, step, ts in rows:
                value = math.nan if last is None else last
                out.setdefault(run_id, []).append((key, value, step, ts))
        return out


def _text(value: Any) -> str:
    import orjson

    return value if isinstance(value, str) else orjson.dumps(value).decode()
