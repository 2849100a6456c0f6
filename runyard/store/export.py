"""The whole dashboard state at once, for `GET /api/export` and `runyard export`.

Each table is read once and grouped by run in memory: an export of 10,000 runs is six
queries, not 60,000. Only a run that has not ended (so has no stored summary) gets its
summary computed on its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runyard.entities import Attempt, Experiment, Run, RunStatus
from runyard.store.experiments import _select as _experiment_select
from runyard.store.files import ArtifactRecord, CheckpointRecord
from runyard.store.jobs import _to_attempt
from runyard.store.run_state import ProgressInfo, compute_summary, eta_of
from runyard.store.runs import _run_select, _Summaries, _to_run
from runyard.store.tables import artifacts, attempts, checkpoints, experiments, metric_summaries
from runyard.store.tables import runs as runs_table


@dataclass(frozen=True, slots=True)
class RunRecord:
    run: Run
    progress: ProgressInfo
    summary: dict[str, Any] | None
    attempts: list[Attempt]
    checkpoints: list[CheckpointRecord]
    artifacts: list[ArtifactRecord]
    checklist: list[dict[str, Any]] | None


@dataclass(frozen=True, slots=True)
class State:
    experiments: list[Experiment]
    runs: list[RunRecord]  # newest first, as the run list


def _grouped(conn: sa.Connection, stmt: sa.Select[Any], make: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(stmt):
        out[row.run_id].append(make(row))
    return out


def _summaries(conn: sa.Connection) -> dict[str, _Summaries]:
    t = metric_summaries.c
    out: dict[str, _Summaries] = defaultdict(dict)
    for run_id, key, last, best, best_step in conn.execute(
        sa.select(t.run_id, t.key, t.last, t.best, t.best_step)
    ):
        out[run_id][key] = (float("nan") if last is None else last, best, best_step)
    return out


def _progress(m: Any) -> ProgressInfo:
    ended = RunStatus(m["status"]).is_terminal()
    return ProgressInfo(
        epoch=m["epoch"],
        total_epochs=m["total_epochs"],
        percent=m["percent"],
        eta_s=None if ended else eta_of(m["progress_log"], m["epoch"], m["total_epochs"]),
        early_stopped=bool(m["early_stopped"]),
        stopped_at_epoch=m["stopped_at_epoch"],
    )


def export_state(engine: sa.Engine) -> State:
    """Everything the dashboard shows, read in one snapshot where the database gives one."""
    c, a = checkpoints.c, artifacts.c
    checkpoint_cols = [c[f] for f in CheckpointRecord.__dataclass_fields__]
    artifact_cols = [a[f] for f in ArtifactRecord.__dataclass_fields__]
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    with conn, conn.begin():
        exps = conn.execute(_experiment_select().order_by(experiments.c.created_at)).all()
        rows = conn.execute(
            _run_select().order_by(runs_table.c.created_at.desc(), runs_table.c.id)
        ).all()
        summaries = _summaries(conn)
        tries = _grouped(
            conn, sa.select(attempts).order_by(attempts.c.run_id, attempts.c.number), _to_attempt
        )
        ckpts = _grouped(
            conn,
            sa.select(c.run_id, *checkpoint_cols).order_by(c.created_at, c.id),
            lambda r: CheckpointRecord(*r[1:]),
        )
        files = _grouped(
            conn,
            sa.select(a.run_id, *artifact_cols).order_by(a.path),
            lambda r: ArtifactRecord(*r[1:]),
        )
        records = []
        for row in rows:
            m = row._mapping
            run_id = m["id"]
            summary = m["summary"] if m["summary"] is not None else compute_summary(conn, run_id)
            records.append(
                RunRecord(
                    run=_to_run(row, summaries.get(run_id)),
                    progress=_progress(m),
                    summary=summary,
                    attempts=tries.get(run_id, []),
                    checkpoints=ckpts.get(run_id, []),
                    artifacts=files.get(run_id, []),
                    checklist=m["checklist"],
                )
            )
    return State([Experiment(**r._mapping) for r in exps], records)
