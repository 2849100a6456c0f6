"""The queue: active, queued, completed and failed runs with their totals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from runyard.errors import BadRequest
from runyard.server._deps import SettingsDep, StoreDep
from runyard.server.routes import ERRORS, Digits
from runyard.server.schemas import QueueCounts, QueueOut, RunOut

router = APIRouter(prefix="/api/queue", tags=["queue"], responses=ERRORS)


@router.get("")
def get_queue(
    store: StoreDep,
    settings: SettingsDep,
    limit: Annotated[
        int, Query(ge=1, description="Runs listed per group, newest first."), Digits
    ] = 50,
) -> QueueOut:
    if limit > settings.max_page_size:
        raise BadRequest(f"limit {limit} is over the largest page size, {settings.max_page_size}")
    view = store.queue.view(limit)
    groups = {k: [RunOut.model_validate(r) for r in runs] for k, runs in view.groups.items()}
    return QueueOut(counts=QueueCounts(**view.counts), **groups)
