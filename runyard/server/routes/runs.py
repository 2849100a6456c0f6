from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from runyard.entities import RunStatus
from runyard.errors import BadRequest
from runyard.server._deps import SettingsDep, StoreDep
from runyard.server._reads import read
from runyard.server._run_json import run_list_json
from runyard.server.routes import ERRORS, Digits, jobs
from runyard.server.schemas import ErrorOut, RunCreate, RunList, RunOut, RunPatch
from runyard.store.runs import RunQuery

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERRORS)


def _statuses(text: str | None) -> list[RunStatus]:
    if not text:
        return []
    out = []
    for part in text.split(","):
        try:
            out.append(RunStatus(part.strip()))
        except ValueError:
            allowed = ", ".join(s.value for s in RunStatus)
            raise BadRequest(f"unknown status {part.strip()!r}: use one of {allowed}") from None
    return out


JOB_FIELDS = frozenset(RunCreate.model_fields) - {
    "id",
    "name",
    "experiment",
    "params",
    "tags",
    "notes",
    "started_at",
    "heartbeat_timeout_s",
}


@router.post("", status_code=201, responses={409: {"model": ErrorOut}})
def create_run(body: RunCreate, request: Request, store: StoreDep) -> RunOut:
    """Submit a job (with `command`), or record a tracked-only run (without)."""
    if body.command is not None:
        if body.id is not None:
            raise BadRequest("a job gets its id from the server: drop `id` or `command`")
        return RunOut.model_validate(jobs.submit(body, request, store))
    stray = sorted(JOB_FIELDS & body.model_fields_set)
    if stray:
        raise BadRequest(f"{', '.join(stray)} only apply to a job: add a `command`")
    run = store.runs.create(
        run_id=body.id,
        experiment=body.experiment,
        name=body.name,
        params=body.params,
        tags=body.tags,
        notes=body.notes,
        started_at=body.started_at,
        events=store.events,
    )
    store.events.announce("created")
    Path(run.run_dir).mkdir(parents=True, exist_ok=True)
    if body.heartbeat_timeout_s is not None:
        store.heartbeats.beat(run.id, timeout_s=body.heartbeat_timeout_s)
    return RunOut.model_validate(run)


@router.get("", response_model=RunList)
async def list_runs(
    store: StoreDep,
    settings: SettingsDep,
    experiment: str | None = None,
    status: Annotated[
        str | None, Query(description="One status or several, comma-separated.")
    ] = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(description="Substring of the run's name.")] = None,
    filter: Annotated[
        str | None,
        Query(description='e.g. `metrics.val/loss < 0.5 and params.optimizer = "adam"`'),
    ] = None,
    order_by: Annotated[
        str | None,
        Query(
            description="created_at (default, newest first), name, status, params.KEY or "
            "metrics.KEY; a leading '-' or a trailing ' desc' reverses"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1), Digits] = 100,
    cursor: str | None = None,
    sweep: Annotated[str | None, Query(description="Only the trials of this sweep.")] = None,
) -> Response:
    if limit > settings.max_page_size:
        raise BadRequest(f"limit {limit} is over the largest page size, {settings.max_page_size}")
    query = RunQuery(
        experiment=experiment,
        status=_statuses(status),
        tag=tag,
        q=q,
        filter=filter,
        order_by=order_by,
        limit=limit,
        cursor=cursor,
        sweep=sweep,
    )
    # Straight from the rows to JSON: no model per run, no second validation (the OpenAPI
    # document still says RunList, and tests/server/test_run_json.py holds the two equal).
    body = await read(store, lambda: run_list_json(store.runs.list_rows(query)))
    return Response(body, media_type="application/json")


@router.get("/{run_id}")
def get_run(run_id: str, store: StoreDep) -> RunOut:
    return RunOut.model_validate(store.runs.get(run_id))


@router.patch("/{run_id}")
def update_run(run_id: str, body: RunPatch, store: StoreDep) -> RunOut:
    return RunOut.model_validate(
        store.runs.update(
            run_id, name=body.name, tags=body.tags, notes=body.notes, params=body.params
        )
    )
