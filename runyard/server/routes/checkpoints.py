"""Checkpoint records: registered by the SDK, listed with whether their file is still there,
deleted with their file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Response

from runyard._paths import check_name, confine, confine_relative, relative_to_root
from runyard.errors import BadRequest, Conflict
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import (
    CheckpointEntry,
    CheckpointIn,
    CheckpointList,
    CheckpointOut,
    ErrorOut,
)
from runyard.store.files import CheckpointRecord

router = APIRouter(prefix="/api/runs/{run_id}", tags=["files"], responses=ERRORS)
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut}}


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


def _exists(run_dir: Path, path: str) -> bool:
    try:
        return confine(run_dir, path).is_file()
    except BadRequest:
        return False  # a link swapped in since it was registered points out


@router.get("/checkpoints")
def list_checkpoints(run_id: str, store: StoreDep) -> CheckpointList:
    """The records, oldest first; `exists` tells those whose file was removed by hand."""
    run_dir = Path(store.runs.get(run_id).run_dir)
    return CheckpointList(
        checkpoints=[
            CheckpointEntry.model_validate(
                {**CheckpointOut.model_validate(c).model_dump(), "exists": _exists(run_dir, c.path)}
            )
            for c in store.files.checkpoints(run_id)
        ]
    )


def _remover(run_dir: Path) -> Callable[[CheckpointRecord], None]:
    def remove(record: CheckpointRecord) -> None:
        confine_relative(run_dir, record.path)  # refuses a path that resolves out of the run dir
        rel = PurePosixPath(record.path)
        # Unlink the entry itself, in its confined folder: a link inside goes, not its target.
        parent = confine(run_dir, str(rel.parent)) if rel.parent != PurePosixPath(".") else None
        entry = (parent or run_dir.resolve()) / rel.name
        try:
            entry.unlink(missing_ok=True)
        except OSError as exc:
            raise Conflict(f"cannot remove {record.path!r}: {exc.strerror}") from None

    return remove


@router.delete(
    "/checkpoints/{name:path}",
    status_code=204,
    response_class=Response,
    responses=CONFLICT,
)
def delete_checkpoint(run_id: str, name: str, store: StoreDep) -> Response:
    """Remove a checkpoint's file and its record; the record is kept if the file cannot go."""
    check_name(name)
    run_dir = Path(store.runs.get(run_id).run_dir)
    store.files.remove_checkpoint(run_id, name, _remover(run_dir))
    store.events.emit("checkpoint", run_id, name=name, deleted=True)
    return Response(status_code=204)
