"""Many tracked runs at once: params, tags and final metrics, written in one transaction.

A client that holds many finished runs (an import, a grid of cheap evaluations) sends them in
one request instead of two per run. Every run is checked before anything is written, and the
whole batch is written in one transaction: a bad run refuses the batch, naming its index.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runyard.entities import Goal, RunStatus
from runyard.errors import BadRequest, Conflict
from runyard.store import _codec, listed_metrics
from runyard.store.events import Events
from runyard.store.experiments import ensure_experiment
from runyard.store.run_state import percent_of, summary_entry, summary_from
from runyard.store.runs import generate_name, new_run_id
from runyard.store.tables import (
    metric_chunks,
    metric_summaries,
    mlflow_run_tags,
    run_tags,
    runs,
)

MAX_BATCH = 1000


@dataclass(frozen=True)
class NewRun:
    """One run of a batch. ``metrics`` are final values, stored as one point each at ``step``."""

    experiment: str = "default"
    run_id: str | None = None
    name: str | None = None
    status: RunStatus = RunStatus.COMPLETED
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()
    notes: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    step: int = 0
    goals: Mapping[str, Goal] = field(default_factory=dict)
    mlflow_tags: Mapping[str, str] = field(default_factory=dict)  # MLflow's key-value tags


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


def _summary_row(
    run_id: str, key: str, value: float, step: int, ts: float, goal: Goal | None
) -> dict[str, Any]:
    finite = not math.isnan(value)
    return {
        "run_id": run_id,
        "key": key,
        "count": 1,
        "last": _opt(value),
        "last_step": step,
        "min": value if finite else None,
        "max": value if finite else None,
        "best": value if finite and goal is not None else None,
        "best_step": step if finite and goal is not None else None,
        "goal": goal.value if goal else None,
        "first_ts": ts,
        "last_ts": ts,
    }


def _check(runs_in: Sequence[NewRun], now: float) -> None:
    if not runs_in:
        raise BadRequest("the batch holds no runs")
    if len(runs_in) > MAX_BATCH:
        raise BadRequest(f"the batch holds {len(runs_in)} runs; at most {MAX_BATCH}")
    seen: dict[str, int] = {}
    for i, r in enumerate(runs_in):
        if r.run_id is not None:
            if r.run_id in seen:
                raise BadRequest(f"runs[{i}]: id {r.run_id!r} is also runs[{seen[r.run_id]}]'s")
            seen[r.run_id] = i
        if r.ended_at is not None and not r.status.is_terminal():
            raise BadRequest(f"runs[{i}]: ended_at is given but status {r.status.value} has not")
        start = now if r.started_at is None else min(r.started_at, now)
        if r.ended_at is not None and r.ended_at < start:
            raise BadRequest(f"runs[{i}]: ended_at is before started_at")
        stray = sorted(set(r.goals) - set(r.metrics))
        if stray:
            raise BadRequest(f"runs[{i}]: goals for metrics it does not have: {', '.join(stray)}")


def create_runs(
    engine: sa.Engine, runs_root: Path, runs_in: Sequence[NewRun], events: Events | None = None
) -> list[str]:
    """Create every run or none; their ids, in the order given.

    BadRequest or Conflict names the first bad run as ``runs[i]``. A "created" event per run
    commits with the runs (the caller announces them after)."""
    now = time.time()
    _check(runs_in, now)
    ids = [r.run_id or new_run_id() for r in runs_in]
    run_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    kv_rows: list[dict[str, Any]] = []
    chunk_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    with engine.begin() as conn:
        chosen = {r.run_id: i for i, r in enumerate(runs_in) if r.run_id is not None}
        if chosen:
            taken = conn.execute(sa.select(runs.c.id).where(runs.c.id.in_(list(chosen)))).scalars()
            first = min((chosen[t] for t in taken), default=None)
            if first is not None:
                raise Conflict(f"runs[{first}]: run {ids[first]!r} exists already")
        experiment_ids = {
            name: ensure_experiment(conn, name) for name in {r.experiment for r in runs_in}
        }
        for run_id, r in zip(ids, runs_in, strict=True):
            began = now if r.started_at is None else min(r.started_at, now)
            terminal = r.status.is_terminal()
            ended = (min(r.ended_at, now) if r.ended_at is not None else now) if terminal else None
            ts = ended if ended is not None else now
            unique_tags = list(dict.fromkeys(r.tags))
            row: dict[str, Any] = {
                "id": run_id,
                "experiment_id": experiment_ids[r.experiment],
                "name": r.name or generate_name(),
                "status": r.status.value,
                "params": dict(r.params),
                "tags": unique_tags,
                "notes": r.notes,
                "spec": None,
                "priority": 0,
                "early_stopped": False,
                "stopped_at_epoch": None,
                "epoch": None,
                "total_epochs": None,
                "percent": percent_of(None, None, False, r.status),
                "run_dir": str(runs_root / run_id),
                "primary_metric": None,
                "metric_goals": {k: g.value for k, g in r.goals.items()},
                "created_at": began,
                "started_at": began,
                "ended_at": ended,
                "updated_at": now,
                "summary": None,
            }
            tag_rows += [{"run_id": run_id, "tag": t} for t in unique_tags]
            kv_rows += [{"run_id": run_id, "key": k, "value": v} for k, v in r.mlflow_tags.items()]
            keyed = []
            for key, value in r.metrics.items():
                chunk_rows.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "count": 1,
                        "step_min": r.step,
                        "step_max": r.step,
                        "data": _codec.encode_point(r.step, value, ts),
                    }
                )
                keyed.append(_summary_row(run_id, key, value, r.step, ts, r.goals.get(key)))
            summary_rows += keyed
            row["listed_metrics"] = listed_metrics.from_summary_rows(keyed)
            if terminal:  # what finishing a run stores, made from what is written here
                row["summary"] = summary_from(
                    row, {s["key"]: summary_entry(s) for s in sorted(keyed, key=_by_key)}
                )
            run_rows.append(row)
        try:
            conn.execute(runs.insert(), run_rows)
        except sa.exc.IntegrityError as exc:  # an id taken since the check above
            raise Conflict("an id of the batch was taken meanwhile; nothing was created") from exc
        for table, rows in (
            (run_tags, tag_rows),
            (mlflow_run_tags, kv_rows),
            (metric_chunks, chunk_rows),
            (metric_summaries, summary_rows),
        ):
            if rows:
                conn.execute(table.insert(), rows)
        if events is not None:  # last: on PostgreSQL it takes the lock that orders events
            created = [
                (r["id"], {"status": r["status"], "name": r["name"], "experiment": n.experiment})
                for r, n in zip(run_rows, runs_in, strict=True)
            ]
            events.append(conn, "created", created)
    return ids


def _by_key(row: dict[str, Any]) -> str:
    return str(row["key"])
