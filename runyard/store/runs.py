"""Runs: create, read, list (filter, order, page) and label."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa

from runyard.entities import Goal, Progress, Run, RunStatus
from runyard.errors import BadRequest, Conflict, NotFound
from runyard.store import listed_metrics
from runyard.store._exists import deleted_message
from runyard.store._locks import lock_run
from runyard.store._query import parse_order
from runyard.store.datasets import uses_of_runs
from runyard.store.experiments import ensure_experiment
from runyard.store.listed_metrics import Summaries
from runyard.store.run_search import RunSearch
from runyard.store.search_filter import parse_filter
from runyard.store.tables import experiments, metric_summaries, run_dependencies, run_tags, runs

if TYPE_CHECKING:
    from runyard.store.events import Events  # it imports this module (through queue)

_ADJECTIVES = [
    "amber",
    "brave",
    "calm",
    "clever",
    "crisp",
    "daring",
    "eager",
    "fancy",
    "gentle",
    "golden",
    "happy",
    "keen",
    "lively",
    "lucky",
    "merry",
    "misty",
    "noble",
    "quick",
    "quiet",
    "rapid",
    "royal",
    "shiny",
    "silent",
    "smooth",
    "snowy",
    "solar",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wild",
    "witty",
    "young",
    "zesty",
]
_NOUNS = [
    "badger",
    "bison",
    "cedar",
    "comet",
    "cougar",
    "crane",
    "dawn",
    "delta",
    "eagle",
    "falcon",
    "fern",
    "fjord",
    "glade",
    "harbor",
    "heron",
    "island",
    "lagoon",
    "lynx",
    "maple",
    "meadow",
    "nebula",
    "otter",
    "panda",
    "pine",
    "quasar",
    "raven",
    "river",
    "sparrow",
    "summit",
    "tiger",
    "tundra",
    "valley",
    "willow",
]


def new_run_id() -> str:
    return secrets.token_hex(8)


def generate_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(100)}"


@dataclass(frozen=True)
class RunQuery:
    experiment: str | None = None
    status: Sequence[RunStatus] = ()
    tag: str | None = None
    q: str | None = None
    filter: str | None = None
    order_by: str | None = None
    limit: int = 100
    cursor: str | None = None
    sweep: str | None = None


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    next_cursor: str | None


@dataclass(frozen=True)
class RowPage:
    rows: Sequence[sa.Row[Any]]
    datasets: dict[str, list[dict[str, str]]]
    next_cursor: str | None


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise BadRequest(f"invalid cursor {cursor!r}: pass back the next_cursor of a page") from exc
    if not isinstance(offset, int) or offset < 0:
        raise BadRequest(f"invalid cursor {cursor!r}: pass back the next_cursor of a page")
    return offset


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_select(columns: Sequence[sa.ColumnElement[Any]] | None = None) -> sa.Select[Any]:
    picked = runs.c if columns is None else columns
    return sa.select(*picked, experiments.c.name.label("experiment_name")).join(
        experiments, experiments.c.id == runs.c.experiment_id
    )


# What a run shows (_to_run reads these): a list leaves the stored summary, the checklist and
# the progress log on disk, so that its sort and its reads carry narrow rows.
_SHOWN = [
    runs.c[name]
    for name in [
        "id",
        "name",
        "status",
        "params",
        "tags",
        "notes",
        "early_stopped",
        "stopped_at_epoch",
        "epoch",
        "total_epochs",
        "percent",
        "attempt_count",
        "run_dir",
        "created_at",
        "started_at",
        "ended_at",
        "primary_metric",
        "metric_goals",
        "spec",
        "reason",
        "priority",
        "sweep_id",
        "trial",
        "listed_metrics",
    ]
]
_JSON_SHOWN = ("params", "tags", "metric_goals", "spec")
# The list's columns: its JSON read as text (passed on to the answer, or decoded by orjson:
# no JSON type's processor per value), and each key's last and best from the run's row.
_LISTED = [sa.cast(c, sa.Text).label(c.name) if c.name in _JSON_SHOWN else c for c in _SHOWN]
_STATEMENTS_KEPT = 256  # list statements built, by query: a dashboard repeats its few


def primary_key(primary_metric: str | None, goals: dict[str, Any]) -> str | None:
    """The metric whose best stands for the run: the primary one, or the only one with a goal."""
    if primary_metric is not None:
        return primary_metric
    return next(iter(goals)) if len(goals) == 1 else None


def _decoded(row: sa.Row[Any]) -> tuple[dict[str, Any], Summaries]:
    """A listed row (its JSON as text) as `_to_run` reads a row, and its summaries."""
    m = dict(row._mapping)
    for name in _JSON_SHOWN:
        m[name] = None if m[name] is None else orjson.loads(m[name])
    return m, listed_metrics.summaries(m["listed_metrics"])


def _to_run(row: sa.Row[Any] | Mapping[str, Any], summaries: Summaries | None = None) -> Run:
    m = row if isinstance(row, Mapping) else row._mapping
    summaries = summaries or {}
    primary = summaries.get(primary_key(m["primary_metric"], m["metric_goals"]) or "")
    return Run(
        id=m["id"],
        name=m["name"],
        experiment=m["experiment_name"],
        status=RunStatus(m["status"]),
        params=m["params"],
        tags=m["tags"],
        notes=m["notes"],
        early_stopped=bool(m["early_stopped"]),
        stopped_at_epoch=m["stopped_at_epoch"],
        progress=Progress(m["epoch"], m["total_epochs"], m["percent"]),
        attempt_count=m["attempt_count"],
        run_dir=m["run_dir"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        primary_metric=m["primary_metric"],
        metric_goals={k: Goal(v) for k, v in m["metric_goals"].items()},
        spec=m["spec"],
        metrics={k: v[0] for k, v in summaries.items()},
        reason=m["reason"],
        priority=m["priority"],
        best=primary[1] if primary else None,
        best_step=primary[2] if primary else None,
        sweep_id=m["sweep_id"],
        trial=m["trial"],
    )


class Runs:
    def __init__(self, engine: sa.Engine, runs_root: Path):
        self._engine = engine
        self._runs_root = runs_root
        self._dialect = engine.dialect.name
        self._search = RunSearch(self._dialect)
        self._statements: dict[tuple[Any, ...], sa.Select[Any]] = {}

    def create(
        self,
        *,
        experiment: str,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
        notes: str = "",
        spec: dict[str, Any] | None = None,
        status: RunStatus = RunStatus.RUNNING,
        priority: int = 0,
        run_id: str | None = None,
        depends_on: Sequence[str] = (),
        started_at: float | None = None,
        sweep: tuple[str, int] | None = None,
        events: Events | None = None,
    ) -> Run:
        """A new run; a caller-chosen ``run_id`` that exists already is a Conflict.

        ``started_at`` backdates a tracked run that began earlier (an offline run synced).
        With ``events``, its "created" event commits with it (the caller announces it)."""
        chosen, run_id = run_id is not None, run_id or new_run_id()
        now = time.time()
        began = now if started_at is None else min(started_at, now)
        unique_tags = list(dict.fromkeys(tags))
        with self._engine.begin() as conn:
            experiment_id = ensure_experiment(conn, experiment)
            if chosen and conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first():
                raise Conflict(f"run {run_id!r} exists already")
            if (
                sweep
                and conn.execute(
                    sa.select(runs.c.id).where(
                        runs.c.sweep_id == sweep[0], runs.c.trial == sweep[1]
                    )
                ).first()
            ):
                raise Conflict(f"sweep {sweep[0]!r} has a run for trial {sweep[1]} already")
            run = Run(
                id=run_id,
                name=name or generate_name(),
                experiment=experiment,
                status=status,
                params=params or {},
                tags=unique_tags,
                notes=notes,
                early_stopped=False,
                stopped_at_epoch=None,
                progress=Progress(),
                attempt_count=0,
                run_dir=str(self._runs_root / run_id),
                created_at=began,
                started_at=began if status is RunStatus.RUNNING else None,
                ended_at=None,
                spec=spec,
                priority=priority,
                sweep_id=sweep[0] if sweep else None,
                trial=sweep[1] if sweep else None,
            )
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    experiment_id=experiment_id,
                    name=run.name,
                    status=status.value,
                    params=run.params,
                    tags=unique_tags,
                    notes=notes,
                    spec=spec,
                    priority=priority,
                    run_dir=run.run_dir,
                    metric_goals={},
                    created_at=began,
                    started_at=run.started_at,
                    heartbeat_at=now if status is RunStatus.RUNNING else None,  # alive now
                    updated_at=now,
                    sweep_id=run.sweep_id,
                    trial=run.trial,
                )
            )
            if unique_tags:
                conn.execute(run_tags.insert(), [{"run_id": run_id, "tag": t} for t in unique_tags])
            if depends_on:  # in the same transaction: the scheduler never sees the run without
                conn.execute(
                    run_dependencies.insert(),
                    [{"run_id": run_id, "depends_on": d} for d in dict.fromkeys(depends_on)],
                )
            if events is not None:
                data = {"status": status.value, "name": run.name, "experiment": experiment}
                events.append(conn, "created", [(run_id, data)])
        return run  # as get() would read it back: a new run has no metrics nor datasets

    def get(self, run_id: str) -> Run:
        with self._engine.connect() as conn:
            row = conn.execute(_run_select().where(runs.c.id == run_id)).first()
            if row is None:
                raise NotFound(f"no run {run_id!r}")
            if row.deleted_at is not None:
                raise NotFound(deleted_message(run_id), code="deleted")
            run = _to_run(row, listed_metrics.summaries(row.listed_metrics))
            run.datasets = uses_of_runs(conn, [run_id]).get(run_id, [])
            return run

    def get_many(self, run_ids: Sequence[str]) -> list[Run]:
        """Runs in the order asked, in two queries; NotFound names the first one missing."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                _run_select().where(runs.c.id.in_(list(run_ids)), runs.c.deleted_at.is_(None))
            ).all()
            used = uses_of_runs(conn, [r.id for r in rows])
        found = {r.id: _to_run(r, listed_metrics.summaries(r.listed_metrics)) for r in rows}
        for run in found.values():
            run.datasets = used.get(run.id, [])
        for run_id in run_ids:
            if run_id not in found:
                raise NotFound(f"no run {run_id!r}")
        return [found[run_id] for run_id in run_ids]

    def update(
        self,
        run_id: str,
        *,
        name: str | None = None,
        tags: Sequence[str] | None = None,
        notes: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Run:
        """Relabel a run; ``params`` are merged into the run's params."""
        values: dict[str, Any] = {"updated_at": time.time()}
        if name is not None:
            values["name"] = name
        if notes is not None:
            values["notes"] = notes
        with self._engine.begin() as conn:
            if tags is not None:
                values["tags"] = list(dict.fromkeys(tags))
            if params:  # merged under the row's lock: a concurrent update is not lost
                if not lock_run(conn, run_id):
                    raise NotFound(f"no run {run_id!r}")
                old = conn.execute(sa.select(runs.c.params).where(runs.c.id == run_id)).scalar_one()
                values["params"] = {**old, **params}
            done = conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.deleted_at.is_(None))
                .values(**values)
            )
            if done.rowcount == 0:  # never written back to life: a deleted run stays deleted
                gone = conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first()
                if gone:
                    raise NotFound(deleted_message(run_id), code="deleted")
                raise NotFound(f"no run {run_id!r}")
            if tags is not None:
                conn.execute(run_tags.delete().where(run_tags.c.run_id == run_id))
                if values["tags"]:
                    conn.execute(
                        run_tags.insert(), [{"run_id": run_id, "tag": t} for t in values["tags"]]
                    )
        return self.get(run_id)

    def list(self, query: RunQuery) -> RunPage:
        page = self.list_rows(query)
        runs_out = [_to_run(*_decoded(r)) for r in page.rows]
        for run in runs_out:
            run.datasets = page.datasets.get(run.id, [])
        return RunPage(runs_out, page.next_cursor)

    def iter_all(self, query: RunQuery, size: int = 1000) -> Iterator[Sequence[Run]]:
        """Every run the query matches (its cursor and limit aside), ``size`` at a time, from
        one streamed query: an export of 100,000 runs neither holds them at once nor sorts the
        table again for each page, as paging with an offset would."""
        stmt = self.list_statement(query)
        with self._engine.connect() as conn:
            result = conn.execution_options(yield_per=size).execute(stmt)
            for rows in result.partitions():
                ids = [r.id for r in rows]
                used = uses_of_runs(conn, ids)
                out = [_to_run(r, listed_metrics.summaries(r.listed_metrics)) for r in rows]
                for run in out:
                    run.datasets = used.get(run.id, [])
                yield out

    def list_rows(self, query: RunQuery) -> RowPage:
        """A page of the list as read: rows (their JSON columns as text, `listed_metrics`
        beside them) and the datasets used."""
        stmt = self._kept_statement(query)
        offset = _decode_cursor(query.cursor) if query.cursor else 0
        stmt = stmt.limit(query.limit + 1).offset(offset)
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
            page = rows[: query.limit]
            used = uses_of_runs(conn, [r.id for r in page])
        more = len(rows) > query.limit
        return RowPage(page, used, _encode_cursor(offset + query.limit) if more else None)

    def _kept_statement(self, query: RunQuery) -> sa.Select[Any]:
        """The list's statement, built once per query (a filter's parse and the select's build
        cost more than its run on a page of a hundred runs)."""
        key = (
            query.experiment,
            tuple(query.status),
            query.tag,
            query.q,
            query.filter,
            query.order_by,
            query.sweep,
        )
        stmt = self._statements.get(key)
        if stmt is None:
            stmt = self.list_statement(query, _LISTED)
            if len(self._statements) >= _STATEMENTS_KEPT:
                self._statements.clear()
            self._statements[key] = stmt
        return stmt

    def list_statement(
        self, query: RunQuery, columns: Sequence[sa.ColumnElement[Any]] = _SHOWN
    ) -> sa.Select[Any]:
        """The list's query, filtered and ordered, before its page is cut (EXPLAIN reads it)."""
        stmt = _run_select(columns).where(runs.c.deleted_at.is_(None))
        if query.experiment is not None:
            stmt = stmt.where(experiments.c.name == query.experiment)
        else:  # an archived experiment's runs show only when it is asked for by name
            stmt = stmt.where(experiments.c.archived_at.is_(None))
        if query.status:
            stmt = stmt.where(runs.c.status.in_([s.value for s in query.status]))
        if query.sweep is not None:
            stmt = stmt.where(runs.c.sweep_id == query.sweep)
        if query.tag is not None:
            stmt = stmt.where(
                sa.exists().where(run_tags.c.run_id == runs.c.id, run_tags.c.tag == query.tag)
            )
        if query.q:
            stmt = stmt.where(runs.c.name.ilike(f"%{_escape_like(query.q)}%", escape="\\"))
        order = parse_order(query.order_by)
        expr: sa.ColumnElement[Any]
        ordered: sa.FromClause | None = None
        if order.scope == "metrics":  # the ordered key's summary, joined to each run
            ordered = metric_summaries.alias("o")
            stmt = stmt.outerjoin(
                ordered, sa.and_(ordered.c.run_id == runs.c.id, ordered.c.key == order.key)
            )
            expr = ordered.c.last
        elif order.scope == "params":
            expr = self._search.param(order.key)
        else:
            expr = runs.c[order.key]
        for clause in parse_filter(query.filter):
            if ordered is not None and clause.entity == "metrics" and clause.key == order.key:
                # A filter on the ordered key reads the joined summary: the join becomes an
                # inner one, and the database walks the (key, last) index in order and stops
                # at the page, instead of sorting every run that matches.
                stmt = stmt.where(self._search.metric_on(ordered, clause))
            else:
                stmt = stmt.where(self._search.condition(clause))
        direction = expr.desc() if order.descending else expr.asc()
        return stmt.order_by(direction.nulls_last(), runs.c.id)
