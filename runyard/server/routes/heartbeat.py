"""`POST /api/runs/{id}/heartbeat`: an idle SDK says its script is alive (see heartbeats.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS

router = APIRouter(prefix="/api/runs/{run_id}", tags=["runs"], responses=ERRORS)


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    timeout_s: Annotated[float, Field(gt=0, le=30 * 86400)] | None = Field(
        default=None,
        description="This run's own heartbeat timeout (else RUNYARD_HEARTBEAT_TIMEOUT_S).",
    )


class HeartbeatOut(BaseModel):
    status: str = Field(description="The run's status after this heartbeat.")
    revived: bool = Field(description="True if the run had been marked lost and runs again.")


@router.post("/heartbeat")
async def heartbeat(run_id: str, store: StoreDep, body: HeartbeatIn | None = None) -> HeartbeatOut:
    """A sign of life from a tracked-only run's script; a run marked lost runs again."""
    run = await run_in_threadpool(store.runs.get, run_id)  # 404 for an unknown run
    timeout_s = body.timeout_s if body is not None else None
    revived = await run_in_threadpool(store.heartbeats.beat, run.id, timeout_s, True)
    status = store.runs.get(run_id).status.value if revived else run.status.value
    return HeartbeatOut(status=status, revived=revived)
