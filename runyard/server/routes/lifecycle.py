"""A run's progress, its end and its summary."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import (
    FinishIn,
    ProgressDetail,
    ProgressIn,
    RecentOut,
    RunOut,
    SummaryOut,
)
from runyard.store import Store

router = APIRouter(prefix="/api/runs/{run_id}", tags=["runs"], responses=ERRORS)


def _progress(store: Store, run_id: str) -> ProgressDetail:
    info = store.run_state.progress(run_id)
    run = store.runs.get(run_id)
    key = run.primary_metric or next(iter(run.metric_goals), None)
    recent = None
    if key is not None:
        series = store.metrics.recent(run_id, key)
        if series is not None:
            recent = RecentOut(key=key, steps=series.steps.tolist(), values=series.values.tolist())
    return ProgressDetail.model_validate({**info.__dict__, "recent": recent})


@router.get("/progress")
def get_progress(run_id: str, store: StoreDep) -> ProgressDetail:
    """Epochs done, percent (100 for an early-stopped run), ETA from the recent epoch rate."""
    return _progress(store, run_id)


@router.post("/progress")
def set_progress(run_id: str, body: ProgressIn, store: StoreDep) -> ProgressDetail:
    store.run_state.set_progress(
        run_id,
        epoch=body.epoch,
        total_epochs=body.total_epochs,
        early_stopped=body.early_stopped,
        stopped_at_epoch=body.stopped_at_epoch,
    )
    return _progress(store, run_id)


@router.post("/finish")
def finish_run(run_id: str, body: FinishIn, store: StoreDep) -> RunOut:
    """End a tracked run and compute its summary; a run that had ended is left as it is."""
    run = store.runs.get(run_id)
    if Path(run.run_dir).is_dir():  # what a program wrote in its last moments counts too
        store.run_files.scan(run_id, Path(run.run_dir))
    if body.dropped_points:
        store.events.emit("points_dropped", run_id, count=body.dropped_points)
    store.run_state.finish(
        run_id,
        body.status,
        early_stopped=body.early_stopped,
        stopped_at_epoch=body.stopped_at_epoch,
        ended_at=body.ended_at,
    )
    return RunOut.model_validate(store.runs.get(run_id))


@router.get("/summary")
def get_summary(run_id: str, store: StoreDep) -> SummaryOut:
    """Per-key count/last/min/max/best, duration, steps and epochs; stored when the run ended."""
    return SummaryOut.model_validate(store.run_state.summary(run_id))
