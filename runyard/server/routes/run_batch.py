"""`POST /api/runs:batch`: many tracked-only runs in one request and one transaction."""

from __future__ import annotations

import math

from fastapi import APIRouter

from runyard.entities import Goal, RunStatus
from runyard.server._deps import StoreDep
from runyard.server.batch_schemas import RunBatchIn, RunBatchItem, RunBatchOut
from runyard.server.routes import ERRORS
from runyard.server.schemas import ErrorOut
from runyard.store import Store
from runyard.store.run_batch import NewRun, create_runs

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERRORS)
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _value(v: float | str | None) -> float:
    if v is None:
        return math.nan
    return _NON_FINITE[v] if isinstance(v, str) else float(v)


def _new_run(item: RunBatchItem) -> NewRun:
    return NewRun(
        experiment=item.experiment,
        run_id=item.id,
        name=item.name,
        status=RunStatus(item.status),
        params=item.params,
        tags=item.tags,
        notes=item.notes,
        started_at=item.started_at,
        ended_at=item.ended_at,
        metrics={k: _value(v) for k, v in item.metrics.items()},
        step=item.step,
        goals={k: Goal(g) for k, g in item.goals.items()},
        mlflow_tags=item.mlflow_tags,
    )


def _create(store: Store, body: RunBatchIn) -> list[str]:
    new = [_new_run(r) for r in body.runs]
    ids = create_runs(store.engine, store.runs_root, new, store.events)
    store.events.announce("created")
    return ids  # run dirs are made by what first writes into them (an upload, an artifact)


@router.post(":batch", status_code=201, responses={409: {"model": ErrorOut}}, summary="Create runs")
def create_runs_batch(body: RunBatchIn, store: StoreDep) -> RunBatchOut:
    """Record up to 1,000 tracked-only runs, with params, tags and final metrics, at once.

    All or nothing: one bad run refuses the batch, with its index (`runs[i]`) and the
    reason, and no run of it is created."""
    return RunBatchOut(ids=_create(store, body))
