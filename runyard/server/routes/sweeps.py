"""Sweeps: create (checked in full first: nothing is created for a bad one), list, show, stop."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from runyard.entities import Run, RunStatus
from runyard.errors import BadRequest
from runyard.runner.scheduler import Scheduler
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS, jobs
from runyard.server.schemas import ErrorOut, RunCreate
from runyard.server.sweep_schemas import (
    BestOut,
    CurveOut,
    SweepCreate,
    SweepDetail,
    SweepList,
    SweepOut,
    TrialOut,
    trial_body,
)
from runyard.store import Store
from runyard.store.sweeps import Sweep
from runyard.sweeps.controller import Submit
from runyard.sweeps.space import SweepSpec, from_dict, parse_sweep

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"], responses=ERRORS)
MAX_CURVE_POINTS = 500


def trial_run(sweep: Sweep, spec: SweepSpec, number: int, params: dict[str, Any]) -> RunCreate:
    """The RunCreate body of one trial: the sweep's job with its command filled in."""
    return trial_body(
        spec.job,
        command=spec.command_for(params),
        name=f"{sweep.name}-t{number}",
        experiment=sweep.experiment,
        params=params,
    )


def _sample(spec: SweepSpec) -> dict[str, Any]:
    """Some point of the space, to check that a trial's job would be accepted."""
    return {n: p.grid()[0] if p.type == "categorical" else p.low for n, p in spec.space.items()}


def _best(spec: SweepSpec, trials: list[TrialOut]) -> BestOut | None:
    goal = spec.objective.goal
    best: TrialOut | None = None
    for t in trials:
        if t.status is not RunStatus.COMPLETED or t.value is None or math.isnan(t.value):
            continue
        if best is None or goal.better(t.value, best.value):  # type: ignore[arg-type]
            best = t
    return None if best is None else BestOut(trial=best.trial, run_id=best.run_id, value=best.value)


def _trials(store: Store, sweep: Sweep, spec: SweepSpec) -> list[TrialOut]:
    objective = store.sweeps.objective(sweep.id, spec.objective.key)
    out = []
    for run in store.sweeps.trials(sweep.id):
        last, step, count = objective.get(run.id, (None, None, 0))
        out.append(
            TrialOut(
                trial=run.trial or 0,
                run_id=run.id,
                name=run.name,
                status=run.status,
                params=run.params,
                value=last,
                step=step,
                points=count,
                reason=run.reason,
            )
        )
    return out


def _sweep_out(sweep: Sweep, spec: SweepSpec, trials: list[TrialOut]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status.value] = counts.get(t.status.value, 0) + 1
    return {
        "id": sweep.id,
        "name": sweep.name,
        "experiment": sweep.experiment,
        "status": sweep.status,
        "message": sweep.message,
        "objective": str(spec.objective),
        "sampler": spec.sampler,
        "pruner": spec.pruner,
        "min_steps": spec.min_steps,
        "max_trials": spec.max_trials,
        "parallel": spec.parallel,
        "space": spec.to_dict()["space"],
        "command": spec.command,
        "created_at": sweep.created_at,
        "ended_at": sweep.ended_at,
        "counts": counts,
        "best": _best(spec, trials),
    }


@router.post("", status_code=201)
def create_sweep(body: SweepCreate, request: Request, store: StoreDep) -> SweepOut:
    """Check the sweep and one trial's job against this server, then start it."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise BadRequest(
            "sweeps need Optuna on the server: pip install 'runyard[sweeps]'"
        ) from None
    scheduler = request.app.state.scheduler
    doc = body.model_dump(include={"name", "objective", "space", "sampler", "max_trials"})
    doc.update(parallel=body.parallel, pruner=body.pruner, seed=body.seed)
    job = body.job()
    job["cwd"] = str(Path(body.cwd) if body.cwd else Path.cwd())
    if (refresh := getattr(scheduler.backend, "refresh", None)) is not None:
        refresh(scheduler.resources)  # a cluster: the slots are its CPUs, as read now
    spec = parse_sweep(doc, body.command, slots=scheduler.resources.total_cpus, job=job)
    if body.gpus and body.parallel * body.gpus > scheduler.resources.total_gpus:
        raise BadRequest(
            f"parallel is {body.parallel} × {body.gpus} GPU(s) a trial but this server has "
            f"{scheduler.resources.total_gpus}"
        )
    probe = Sweep("probe", spec.name, body.experiment or spec.name, {}, "running", None, 0, None)
    jobs.job_spec(trial_run(probe, spec, 0, _sample(spec)), scheduler)  # raises as a submit would
    sweep = store.sweeps.create(
        name=spec.name, experiment=body.experiment or spec.name, spec=spec.to_dict()
    )
    request.app.state.sweeper.wake()
    return SweepOut.model_validate(_sweep_out(sweep, spec, []))


@router.get("")
def list_sweeps(store: StoreDep) -> SweepList:
    out = []
    for sweep in store.sweeps.list():
        spec = from_dict(sweep.spec)
        out.append(SweepOut.model_validate(_sweep_out(sweep, spec, _trials(store, sweep, spec))))
    return SweepList(sweeps=out)


@router.get("/{sweep_id}")
def get_sweep(
    sweep_id: str,
    store: StoreDep,
    curves: Annotated[bool, Query(description="Add the objective by step of each trial.")] = False,
) -> SweepDetail:
    sweep = store.sweeps.get(sweep_id)
    spec = from_dict(sweep.spec)
    trials = _trials(store, sweep, spec)
    detail = SweepDetail.model_validate({**_sweep_out(sweep, spec, trials), "trials": trials})
    if curves:
        key = spec.objective.key
        for t in trials:
            series = store.metrics.read(t.run_id, [key]).get(key)
            if series is None:
                continue
            stride = max(1, math.ceil(len(series.steps) / MAX_CURVE_POINTS))
            detail.curves[t.run_id] = CurveOut(
                steps=series.steps[::stride].tolist(), values=series.values[::stride].tolist()
            )
    return detail


@router.post("/{sweep_id}/stop", responses={409: {"model": ErrorOut}})
def stop_sweep(sweep_id: str, request: Request, store: StoreDep) -> SweepOut:
    """No new trials; the running ones are cancelled."""
    sweep = store.sweeps.stop(sweep_id)
    request.app.state.sweeper.cancel_trials(sweep_id)
    spec = from_dict(sweep.spec)
    return SweepOut.model_validate(_sweep_out(sweep, spec, _trials(store, sweep, spec)))


def submit_trial(scheduler: Scheduler, store: Store) -> Submit:
    """The controller's submit: a trial through the normal job path."""

    def submit(sweep: Sweep, spec: SweepSpec, number: int, params: dict[str, Any]) -> Run:
        body = trial_run(sweep, spec, number, params)
        return jobs.enqueue(body, scheduler, store, sweep=(sweep.id, number))

    return submit
