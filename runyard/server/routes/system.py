"""Host health for people (/api/system, its history for charts) and for Prometheus (/metrics)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query, Request, Response

from runyard.server.routes import ERRORS, Digits
from runyard.server.sampler import Sampler
from runyard.server.schemas import ClusterNodeOut, ClusterOut, SystemHistoryOut, SystemOut

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

router = APIRouter(tags=["system"], responses=ERRORS)
MAX_HISTORY_MINUTES = 31 * 24 * 60
_registry_lock = threading.Lock()


def _sampler(request: Request) -> Sampler:
    sampler: Sampler = request.app.state.sampler
    return sampler


@router.get("/api/system")
def system(request: Request) -> SystemOut:
    """CPU, RAM, the disk of RUNYARD_HOME, load, uptime and each GPU, each with a status
    (healthy / warning / critical by the RUNYARD_WARN_* / RUNYARD_CRIT_* thresholds), as of
    the telemetry thread's newest sample."""
    out = SystemOut.model_validate(_sampler(request).latest(), from_attributes=True)
    scheduler = request.app.state.scheduler
    out.backends = list(scheduler.backends)
    roles = getattr(request.app.state, "roles", None)
    for backend, resources in scheduler.backends.values():
        if (refresh := getattr(backend, "refresh", None)) is None:
            continue
        view = refresh(resources)
        # A follower worker does not schedule: it counts what the live attempts leave.
        if roles is not None and backend is scheduler.backend:
            free_gpus, free_cpus = roles.free_slots()
        else:
            free_gpus, free_cpus = resources.free
        out.cluster = ClusterOut(
            address=view.address,
            reachable=view.reachable,
            error=view.error,
            nodes=[ClusterNodeOut(**vars(n)) for n in view.nodes],
            cpus=view.cpus,
            gpus=view.gpus,
            free_cpus=free_cpus if view.reachable else 0,
            free_gpus=free_gpus if view.reachable else 0,
        )
    return out


@router.get("/api/system/history")
def system_history(
    request: Request,
    minutes: Annotated[
        int,
        Query(ge=1, le=MAX_HISTORY_MINUTES, description="How far back (at most what is kept)."),
        Digits,
    ] = 60,
) -> SystemHistoryOut:
    """Host samples of the last `minutes`, as aligned arrays (one entry per sample)."""
    return SystemHistoryOut.model_validate(_sampler(request).history.columns(minutes))


def _registry(request: Request) -> CollectorRegistry:
    """The app's own registry (never prometheus_client's global one), made at the first scrape."""
    state = request.app.state
    with _registry_lock:
        registry: CollectorRegistry | None = getattr(state, "prometheus", None)
        if registry is None:
            from runyard.server.prometheus import build_registry

            registry = state.prometheus = build_registry(
                state.store,
                state.scheduler.resources,
                state.sampler,
                state.ingest_meter,
                free=state.roles.free_slots,
            )
    return registry


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def prometheus_metrics(request: Request) -> Response:
    """Runs by status, queue length, slots, ingest rate and host gauges, for Prometheus."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(_registry(request)), media_type=CONTENT_TYPE_LATEST)
