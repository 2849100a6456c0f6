from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import (
    ErrorOut,
    ExperimentCreate,
    ExperimentList,
    ExperimentOut,
    ExperimentPatch,
)

router = APIRouter(prefix="/api/experiments", tags=["experiments"], responses=ERRORS)


@router.get("")
def list_experiments(
    store: StoreDep,
    archived: Annotated[
        bool, Query(description="List the archived experiments instead of those in use.")
    ] = False,
) -> ExperimentList:
    return ExperimentList(
        experiments=[
            ExperimentOut.model_validate(e) for e in store.experiments.list(archived=archived)
        ]
    )


@router.post("", status_code=201, responses={409: {"model": ErrorOut}})
def create_experiment(body: ExperimentCreate, store: StoreDep) -> ExperimentOut:
    return ExperimentOut.model_validate(store.experiments.create(body.name, body.description))


@router.get("/{ref:path}")
def get_experiment(ref: str, store: StoreDep) -> ExperimentOut:
    """`ref` is the experiment's id or its name."""
    return ExperimentOut.model_validate(store.experiments.get(ref))


@router.patch("/{ref:path}")  # as GET: a name may hold "/", and both match the same paths
def update_experiment(ref: str, body: ExperimentPatch, store: StoreDep) -> ExperimentOut:
    """Archive an experiment (it and its runs leave the lists, nothing is deleted) or unarchive."""
    return ExperimentOut.model_validate(store.experiments.set_archived(ref, body.archived))
