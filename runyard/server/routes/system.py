"""Host health for people (/api/system, its history for charts) and for Prometheus (/metrics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from runyard.server.routes import ERRORS
from runyard.server.sampler import Sampler
from runyard.server.schemas import SystemHistoryOut, SystemOut

router = APIRouter(tags=["system"], responses=ERRORS)
MAX_HISTORY_MINUTES = 31 * 24 * 60


def _sampler(request: Request) -> Sampler:
    sampler: Sampler = request.app.state.sampler
    return sampler


@router.get("/api/system")
def system(request: Request) -> SystemOut:
    """CPU, RAM, the disk of RUNYARD_HOME, load, uptime and each GPU, each with a status
    (healthy / warning / critical by the RUNYARD_WARN_* / RUNYARD_CRIT_* thresholds), as of
    the telemetry thread's newest sample."""
    return SystemOut.model_validate(_sampler(request).latest(), from_attributes=True)


@router.get("/api/system/history")
def system_history(
    request: Request,
    minutes: Annotated[
        int, Query(ge=1, le=MAX_HISTORY_MINUTES, description="How far back (at most what is kept).")
    ] = 60,
) -> SystemHistoryOut:
    """Host samples of the last `minutes`, as aligned arrays (one entry per sample)."""
    return SystemHistoryOut.model_validate(_sampler(request).history.columns(minutes))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def prometheus_metrics(request: Request) -> Response:
    """Runs by status, queue length, slots, ingest rate and host gauges, for Prometheus."""
    registry: CollectorRegistry = request.app.state.prometheus
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
