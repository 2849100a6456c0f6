"""The whole dashboard state as one document, for `GET /api/export` and `runyard export`.

Each table is read once and grouped by run in memory: an export of 10,000 runs is seven
queries, not 60,000; only a run that has not ended (so has no stored summary) gets its
summary computed on its own. The document is built as plain dicts, ready for orjson
(datetimes for times, "NaN" strings for NaN): going through the pydantic models would cost
about half a millisecond a run. Those models (runyard/server/export_schema.py) publish its
JSON Schema, and the tests hold every export to it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from runyard._environment import describe
from runyard.entities import RunStatus
from runyard.store.datasets import uses_of_runs
from runyard.store.experiments import _select as _experiment_select
from runyard.store.run_state import compute_summary, eta_of, json_number
from runyard.store.runs import primary_key
from runyard.store.tables import (
    artifacts,
    attempts,
    checkpoints,
    experiments,
    metric_summaries,
    runs,
)

FORMAT = "runyard-export"
VERSION = 1

_ATTEMPT = ("number", "status", "exit_code", "signal", "started_at", "ended_at", "reason", "pid",
            "gpus", "backend")  # fmt: skip
_CHECKPOINT = ("name", "path", "attempt", "step", "epoch", "size", "sha256", "metrics",
               "created_at")  # fmt: skip
_ARTIFACT = ("path", "attempt", "size", "sha256", "created_at")
_TIMES = frozenset({"created_at", "started_at", "ended_at"})


def _time(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _records(conn: sa.Connection, table: sa.Table, fields: tuple[str, ...],
             order: list[Any]) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """Rows of a per-run table as the API shows them, grouped by run."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    timed = [i for i, f in enumerate(fields) if f in _TIMES]
    for run_id, *values in conn.execute(
        sa.select(table.c.run_id, *(table.c[f] for f in fields)).order_by(*order)
    ):
        for i in timed:
            values[i] = _time(values[i])
        record = dict(zip(fields, values, strict=True))
        if "metrics" in record:
            record["metrics"] = {k: json_number(v) for k, v in record["metrics"].items()}
        out[run_id].append(record)
    return out


def _summaries(conn: sa.Connection) -> dict[str, dict[str, tuple[Any, Any, Any]]]:
    t = metric_summaries.c
    out: dict[str, dict[str, tuple[Any, Any, Any]]] = defaultdict(dict)
    for run_id, key, last, best, best_step in conn.execute(
        sa.select(t.run_id, t.key, t.last, t.best, t.best_step)
    ):
        out[run_id][key] = ("NaN" if last is None else json_number(last), best, best_step)
    return out


def _run(conn: sa.Connection, m: Any, metrics: dict[str, tuple[Any, Any, Any]]) -> dict[str, Any]:
    ended = RunStatus(m["status"]).is_terminal()
    primary = metrics.get(primary_key(m["primary_metric"], m["metric_goals"]) or "")
    return {
        "id": m["id"],
        "name": m["name"],
        "experiment": m["experiment_name"],
        "status": m["status"],
        "params": m["params"],
        "params_truncated": [],  # the export carries every param whole
        "tags": m["tags"],
        "notes": m["notes"],
        "early_stopped": bool(m["early_stopped"]),
        "stopped_at_epoch": m["stopped_at_epoch"],
        "progress": {
            "epoch": m["epoch"],
            "total_epochs": m["total_epochs"],
            "percent": m["percent"],
            "eta_s": None if ended else eta_of(m["progress_log"], m["epoch"], m["total_epochs"]),
            "early_stopped": bool(m["early_stopped"]),
            "stopped_at_epoch": m["stopped_at_epoch"],
        },
        "attempt_count": m["attempt_count"],
        "run_dir": m["run_dir"],
        "created_at": _time(m["created_at"]),
        "started_at": _time(m["started_at"]),
        "ended_at": _time(m["ended_at"]),
        "primary_metric": m["primary_metric"],
        "metric_goals": m["metric_goals"],
        "metrics": {k: v[0] for k, v in metrics.items()},
        "reason": m["reason"],
        "priority": m["priority"],
        "best": json_number(primary[1]) if primary else None,
        "best_step": primary[2] if primary else None,
        "depends_on": list((m["spec"] or {}).get("depends_on", ())),
        "environment": describe(m["spec"]),
        "sweep_id": m["sweep_id"],
        "trial": m["trial"],
        "summary": m["summary"] if m["summary"] is not None else compute_summary(conn, m["id"]),
        "checklist": m["checklist"],
    }


def export_document(engine: sa.Engine, exported_at: float) -> dict[str, Any]:
    """Everything the dashboard shows, read in one snapshot where the database gives one;
    runs newest first, as the run list."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn, conn.begin():
        e = experiments.c
        exps = conn.execute(_experiment_select().order_by(e.created_at, e.id))
        experiment_docs = [
            {f: r._mapping[f] for f in ("id", "name", "description", "run_count")}
            | {"created_at": _time(r._mapping["created_at"])}
            | {"archived_at": _time(r._mapping["archived_at"])}
            for r in exps
        ]
        summaries = _summaries(conn)
        tries = _records(conn, attempts, _ATTEMPT, [attempts.c.run_id, attempts.c.number])
        c = checkpoints.c
        ckpts = _records(conn, checkpoints, _CHECKPOINT, [c.created_at, c.id])
        files = _records(conn, artifacts, _ARTIFACT, [artifacts.c.path])
        used = uses_of_runs(conn, None)
        rows = conn.execute(
            sa.select(runs, experiments.c.name.label("experiment_name"))
            .join(experiments, experiments.c.id == runs.c.experiment_id)
            .where(runs.c.deleted_at.is_(None))  # what is in the trash is not shown
            .order_by(runs.c.created_at.desc(), runs.c.id)
        )
        run_docs = []
        for row in rows.all():
            m = row._mapping
            run_id = m["id"]
            doc = _run(conn, m, summaries.get(run_id, {}))
            doc["attempts"] = tries.get(run_id, [])
            doc["checkpoints"] = ckpts.get(run_id, [])
            doc["artifacts"] = files.get(run_id, [])
            doc["datasets"] = used.get(run_id, [])
            run_docs.append(doc)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _time(exported_at),
        "experiments": experiment_docs,
        "runs": run_docs,
    }
