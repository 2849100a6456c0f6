from __future__ import annotations

from fastapi import APIRouter

from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import ErrorOut, ExperimentCreate, ExperimentList, ExperimentOut

router = APIRouter(prefix="/api/experiments", tags=["experiments"], responses=ERRORS)


@router.get("")
def list_experiments(store: StoreDep) -> ExperimentList:
    return ExperimentList(
        experiments=[ExperimentOut.model_validate(e) for e in store.experiments.list()]
    )


@router.post("", status_code=201, responses={409: {"model": ErrorOut}})
def create_experiment(body: ExperimentCreate, store: StoreDep) -> ExperimentOut:
    return ExperimentOut.model_validate(store.experiments.create(body.name, body.description))


@router.get("/{ref:path}")
def get_experiment(ref: str, store: StoreDep) -> ExperimentOut:
    """`ref` is the experiment's id or its name."""
    return ExperimentOut.model_validate(store.experiments.get(ref))
