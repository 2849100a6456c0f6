"""Jobs: submission checks, cancel, retry, attempts and checklist."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from runyard.capture.checkpoints import check_glob
from runyard.capture.patterns import compile_patterns
from runyard.entities import Expectation, JobSpec, Run, RunStatus
from runyard.errors import BadRequest
from runyard.runner import checklist
from runyard.runner.scheduler import Scheduler
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import (
    AttemptList,
    AttemptOut,
    Checklist,
    ErrorOut,
    RunCreate,
    RunOut,
)
from runyard.store import Store

router = APIRouter(prefix="/api/runs/{run_id}", tags=["jobs"], responses=ERRORS)
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorOut}}


def _check_executable(argv0: str, cwd: Path, env: dict[str, str]) -> None:
    if "/" in argv0:
        path = (cwd / argv0).resolve()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise BadRequest(f"cannot run {argv0!r}: no executable file at {path}")
        return
    if shutil.which(argv0, path=env.get("PATH", os.environ.get("PATH"))) is None:
        raise BadRequest(f"cannot run {argv0!r}: no such executable on PATH")


def _check_capture(body: RunCreate) -> None:
    """What runyard will read from a program without the SDK: refused now, not at run time."""
    compile_patterns(body.metrics_patterns)
    for pattern in body.checkpoints:
        check_glob(pattern)
    for exp in body.expect:
        check_glob(exp.glob, f"expected output {exp.name!r}: glob")
    if body.resume_args and not body.checkpoints:
        raise BadRequest(
            "resume_args need a checkpoints glob: without one no checkpoint is known to resume from"
        )


def submit(body: RunCreate, request: Request, store: Store) -> Run:
    """Check a job spec against this server, then queue it."""
    return enqueue(body, request.app.state.scheduler, store)


def enqueue(
    body: RunCreate, scheduler: Scheduler, store: Store, sweep: tuple[str, int] | None = None
) -> Run:
    """Queue a checked job (a sweep's trial names its sweep and trial number)."""
    spec = job_spec(body, scheduler)
    run = store.jobs.submit(
        spec,
        experiment=body.experiment,
        name=body.name,
        params=body.params,
        tags=body.tags,
        notes=body.notes,
        sweep=sweep,
    )
    if body.goals:
        store.metrics.set_goals(run.id, dict(body.goals))
        run = store.runs.get(run.id)
    store.events.emit(
        "created", run.id, status=run.status.value, name=run.name, experiment=run.experiment
    )
    scheduler.wake()
    return run


def job_spec(body: RunCreate, scheduler: Scheduler) -> JobSpec:
    """The job spec of a body, checked against this server (cwd, executable, resources)."""
    assert body.command is not None
    cwd = Path(body.cwd) if body.cwd else Path.cwd()
    if not cwd.is_absolute():
        raise BadRequest(f"cwd {body.cwd!r} must be an absolute path")
    if not cwd.is_dir():
        raise BadRequest(f"cwd {str(cwd)!r} is not a directory on the server")
    if isinstance(body.command, list):
        _check_executable(body.command[0], cwd, body.env)
    _check_capture(body)
    name = body.backend or scheduler.backend.name
    if name not in scheduler.backends:
        raise BadRequest(
            f"this server has no {name} backend (it runs jobs on: "
            f"{', '.join(scheduler.backends)}); start it with --backend {name}"
        )
    backend, resources = scheduler.backends[name]
    if (refresh := getattr(backend, "refresh", None)) is not None:
        refresh(resources)  # a cluster: its size now (read at most every few seconds)
    if resources.where != "this server":  # a cluster: name what it has, as read
        if resources.known and (
            body.gpus > resources.total_gpus or body.cpus > resources.total_cpus
        ):
            raise BadRequest(
                f"the job asks for {body.gpus} GPU(s) and {body.cpus} CPU(s); {resources.where}"
            )
    elif body.gpus > resources.total_gpus:
        raise BadRequest(
            f"the job asks for {body.gpus} GPU(s); this server has {resources.total_gpus}"
        )
    elif body.cpus > resources.total_cpus:
        raise BadRequest(
            f"the job asks for {body.cpus} CPU slot(s); this server has {resources.total_cpus}"
        )
    return JobSpec(
        command=body.command,
        cwd=str(cwd),
        env=body.env,
        gpus=body.gpus,
        cpus=body.cpus,
        priority=body.priority,
        max_retries=body.max_retries,
        retry_delay_s=body.retry_delay_s,
        retry_backoff=body.retry_backoff,
        retry_max_delay_s=body.retry_max_delay_s,
        retry_on=tuple(dict.fromkeys(body.retry_on)),
        timeout_s=body.timeout_s,
        grace_s=body.grace_s,
        expect=tuple(Expectation(**e.model_dump()) for e in body.expect),
        depends_on=tuple(body.depends_on),
        metrics_patterns=tuple(body.metrics_patterns),
        checkpoints=tuple(body.checkpoints),
        resume_args=tuple(body.resume_args),
        captured_env=tuple(k for k in body.captured_env if k in body.env),
        executable=body.executable,
        backend=body.backend,
    )


@router.post("/cancel", responses=CONFLICT)
def cancel_run(
    run_id: str,
    request: Request,
    store: StoreDep,
    rollback: Annotated[
        bool, Query(description="Also remove the files the attempt wrote and its checkpoints.")
    ] = False,
) -> RunOut:
    """Queued runs leave the queue; running ones get SIGTERM, then SIGKILL after grace_s.

    A tracked-only run has no process of ours: it simply ends as cancelled."""
    run = store.runs.get(run_id)
    if run.spec is None and not run.status.is_terminal():
        store.run_state.finish(run_id, RunStatus.CANCELLED, reason="cancelled by request")
        return RunOut.model_validate(store.runs.get(run_id))
    status = store.jobs.request_cancel(run_id, rollback=rollback)
    request.app.state.scheduler.wake()  # stops the process, or settles its dependants
    run = store.runs.get(run_id)
    if status is RunStatus.CANCELLED:  # it never ran: no process to stop, no summary
        store.events.emit("status", run_id, status=run.status.value, reason=run.reason)
    return RunOut.model_validate(run)


@router.post("/retry", responses=CONFLICT)
def retry_run(run_id: str, request: Request, store: StoreDep) -> RunOut:
    """Queue an ended run again by hand; its attempts go on counting."""
    store.jobs.requeue(run_id)
    store.events.emit("status", run_id, status="queued", reason="retried by hand")
    request.app.state.scheduler.wake()
    return RunOut.model_validate(store.runs.get(run_id))


@router.get("/attempts")
def list_attempts(run_id: str, store: StoreDep) -> AttemptList:
    return AttemptList(attempts=[AttemptOut.model_validate(a) for a in store.jobs.attempts(run_id)])


@router.get("/checklist")
def get_checklist(run_id: str, store: StoreDep) -> Checklist:
    """The expected outputs: as checked when the run ended, or as they stand now."""
    run = store.runs.get(run_id)
    stored = store.jobs.checklist(run_id)
    if stored is not None and run.status.is_terminal():
        return Checklist.model_validate({"run_id": run_id, "final": True, "items": stored})
    spec = JobSpec.from_dict(run.spec) if run.spec else None
    items = checklist.evaluate(
        Path(run.run_dir),
        spec.expect if spec else (),
        store.files.checkpoints(run_id),
        cwd=Path(spec.cwd) if spec and spec.cwd else None,
        job=spec is not None,
    )
    return Checklist.model_validate({"run_id": run_id, "final": False, "items": items})
