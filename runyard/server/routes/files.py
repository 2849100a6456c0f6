"""Checkpoint and artifact records; their paths stay inside the run dir."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import APIRouter

from runyard._paths import relative_to_root
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import (
    ArtifactIn,
    ArtifactList,
    ArtifactOut,
    CheckpointIn,
    CheckpointList,
    CheckpointOut,
)
from runyard.store.files import ArtifactRecord, CheckpointRecord

router = APIRouter(prefix="/api/runs/{run_id}", tags=["files"], responses=ERRORS)


@router.post("/checkpoints", status_code=201)
def add_checkpoint(run_id: str, body: CheckpointIn, store: StoreDep) -> CheckpointOut:
    """Register a checkpoint (the SDK placed the file in the run dir); a name again replaces it."""
    run = store.runs.get(run_id)
    record = CheckpointRecord(
        name=body.name,
        path=relative_to_root(Path(run.run_dir), body.path),
        attempt=body.attempt,
        step=body.step,
        epoch=body.epoch,
        size=body.size,
        sha256=body.sha256,
        metrics=body.metrics,
        created_at=time.time(),
    )
    return CheckpointOut.model_validate(store.files.add_checkpoint(run_id, record))


@router.get("/checkpoints")
def list_checkpoints(run_id: str, store: StoreDep) -> CheckpointList:
    return CheckpointList(
        checkpoints=[CheckpointOut.model_validate(c) for c in store.files.checkpoints(run_id)]
    )


@router.post("/artifacts", status_code=201)
def add_artifact(run_id: str, body: ArtifactIn, store: StoreDep) -> ArtifactOut:
    run = store.runs.get(run_id)
    record = ArtifactRecord(
        path=relative_to_root(Path(run.run_dir), body.path),
        attempt=body.attempt,
        size=body.size,
        sha256=body.sha256,
        created_at=time.time(),
    )
    return ArtifactOut.model_validate(store.files.add_artifact(run_id, record))


@router.get("/artifacts")
def list_artifacts(run_id: str, store: StoreDep) -> ArtifactList:
    return ArtifactList(
        artifacts=[ArtifactOut.model_validate(a) for a in store.files.artifacts(run_id)]
    )
