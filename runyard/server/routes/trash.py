"""Deleting a run (to the trash), restoring it, and what the trash holds."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from runyard.server._deps import SettingsDep, StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import ErrorOut, RunOut
from runyard.store.trash import TrashedRun

router = APIRouter(tags=["runs"], responses=ERRORS)
DAY_S = 86400.0


class TrashedOut(BaseModel):
    id: str
    name: str
    experiment: str
    status: str
    deleted_at: datetime
    purge_after: datetime  # `runyard gc` removes it for good from then on


class TrashList(BaseModel):
    runs: list[TrashedOut]


def _out(run: TrashedRun, trash_days: float) -> TrashedOut:
    return TrashedOut(
        id=run.id,
        name=run.name,
        experiment=run.experiment,
        status=run.status,
        deleted_at=datetime.fromtimestamp(run.deleted_at).astimezone(),
        purge_after=datetime.fromtimestamp(run.deleted_at + trash_days * DAY_S).astimezone(),
    )


@router.delete("/api/runs/{run_id}", responses={409: {"model": ErrorOut}})
def delete_run(run_id: str, store: StoreDep, settings: SettingsDep) -> TrashedOut:
    """Move an ended run to the trash (409 with the reason for a queued or running one)."""
    return _out(store.trash.delete(run_id), settings.trash_days)


@router.post("/api/runs/{run_id}/restore", responses={409: {"model": ErrorOut}})
def restore_run(run_id: str, store: StoreDep) -> RunOut:
    """Bring a deleted run back, with its folder, until `runyard gc` has emptied the trash."""
    store.trash.restore(run_id)
    return RunOut.model_validate(store.runs.get(run_id))


@router.get("/api/trash")
def list_trash(store: StoreDep, settings: SettingsDep) -> TrashList:
    """Deleted runs waiting to be purged, oldest deletion first."""
    return TrashList(runs=[_out(r, settings.trash_days) for r in store.trash.items()])
