"""The ASGI application: `create_app(settings, store)` wires routes, errors and middleware."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import compile_path

from runyard import __version__
from runyard._names import BAD_NAME
from runyard.config import Settings
from runyard.errors import Busy, InsufficientStorage, RunyardError
from runyard.runner.backend import Backend
from runyard.runner.local import LocalBackend
from runyard.runner.ray_cluster import ray_backend
from runyard.runner.resources import Resources, count_gpus
from runyard.runner.scheduler import Scheduler
from runyard.server import dashboard, docs
from runyard.server import mlflow as mlflow_api
from runyard.server._chart_cache import ChartCache
from runyard.server._middleware import BodyLimit, TokenAuth
from runyard.server.auth import BrowserGuard, require_declared_media_type
from runyard.server.events import EventHub
from runyard.server.ingest_meter import IngestMeter
from runyard.server.leader import Lock
from runyard.server.maintenance import Maintenance
from runyard.server.roles import Roles
from runyard.server.routes import (
    artifacts,
    bulk,
    checkpoints,
    compare,
    csv_export,
    datasets,
    evaluation,
    events,
    experiments,
    export,
    gc,
    health,
    heartbeat,
    jobs,
    lifecycle,
    logs,
    media,
    metrics,
    queue,
    run_batch,
    runs,
    session,
    sweeps,
    system,
    trash,
    uploads,
)
from runyard.server.sampler import Sampler
from runyard.server.schemas import MetricBatch
from runyard.server.sessions import SessionBook
from runyard.store import Store, faults
from runyard.sweeps.controller import SweepController

log = logging.getLogger("runyard.server")

_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _runyard_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RunyardError)
    response = _error(exc.status, exc.code, exc.message)
    if isinstance(exc, (Busy, InsufficientStorage)):
        faults.EPISODES.note(exc, f"{request.method} {request.url.path}")
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _fault_or_bug(request: Request, exc: Exception) -> JSONResponse:
    """An OSError or a database error: a full disk or a busy database says so, else a bug."""
    fault = faults.classify(exc, request.app.state.settings.home)
    if fault is not None:
        return await _runyard_error(request, fault)
    return await _unexpected(request, exc)


def _no_name(err: Any) -> bool:
    """A key or name that is empty, only whitespace or holds control characters."""
    blank = isinstance(err.get("input"), str) and not err["input"].strip()
    return bool(err.get("type") == BAD_NAME or (err.get("type") == "string_too_short" and blank))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    if any(_no_name(err) for err in exc.errors()):
        return _error(400, BAD_NAME, "; ".join(parts))
    return _error(422, "invalid_request", "; ".join(parts) or "invalid request")


def _allowed_methods(request: Request) -> str:
    """Every method of every route on this path: Starlette names only the first route's."""
    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(
        request.app.state, "allow_table", None
    )
    if table is None:
        table = [
            (compile_path(ctx.path)[0], ctx.methods)
            for ctx in iter_route_contexts(request.app.routes)
            if ctx.path and ctx.methods
        ]
        request.app.state.allow_table = table
    methods = set().union(*(m for regex, m in table if regex.match(request.url.path)))
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and (page := dashboard.page_for(request)) is not None:
        return page  # a dashboard path (/, /runs/ID…): the single-page app routes it
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = _error(exc.status_code, code, str(exc.detail))
    if mlflow_api.is_mlflow_path(request.url.path):  # an endpoint of MLflow's that runyard lacks
        response = JSONResponse(
            mlflow_api.shaped(exc.status_code, str(exc.detail)), exc.status_code
        )
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    fault = faults.classify(exc, request.app.state.settings.home)
    if fault is not None:
        return await _runyard_error(request, fault)
    log.exception("unhandled error", exc_info=exc)
    return _error(500, "internal", "internal server error (a bug in runyard; see the server log)")


def _openapi_with(
    app: FastAPI, models: tuple[type[BaseModel], ...]
) -> Callable[[], dict[str, Any]]:
    """OpenAPI that also declares bodies that routes parse themselves (fast paths)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(js.pop("$defs", {}))
                components[model.__name__] = js
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def create_app(
    settings: Settings, store: Store, backend: Backend | None = None, leader: Lock | None = None
) -> FastAPI:
    """The whole server: API, scheduler and maintenance threads (started by the lifespan).

    With ``leader`` (a worker among several), the threads but telemetry run only while this
    process holds that lock."""
    gpus = settings.gpus if settings.gpus is not None else count_gpus()
    cpus = settings.slots or os.cpu_count() or 1
    resources = Resources(gpus=gpus, cpus=cpus)
    others: dict[str, tuple[Backend, Resources]] = {}
    if backend is None:
        backend = (
            LocalBackend() if settings.backend == "local" else ray_backend(settings, resources)
        )
        if settings.backend == "ray":  # a job may still ask for this machine (`backend: local`)
            others["local"] = (LocalBackend(), Resources(gpus=gpus, cpus=cpus))
    scheduler = Scheduler(store, backend, settings, resources, others)
    sampler = Sampler(store, settings, expected_gpus=gpus)
    sweeper = SweepController(
        store, settings, sweeps.submit_trial(scheduler, store), scheduler.wake
    )

    maintenance = Maintenance(store, settings, capture=scheduler.capture)
    roles = Roles(maintenance, scheduler, sampler, sweeper)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if leader is None:
            roles.start()
        else:  # one of several workers: it leads once it holds the lock
            roles.follow(leader, pid_file=settings.home / "leader.pid")
        try:
            yield
        finally:
            roles.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="runyard",
        version=__version__,
        description="Run, track and see machine-learning training.",
        dependencies=[Depends(require_declared_media_type)],
        docs_url=None,  # served by docs.mount, from packaged assets instead of a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.scheduler = scheduler
    app.state.chart_cache = ChartCache()
    app.state.sampler = sampler
    app.state.sweeper = sweeper
    app.state.roles = roles
    app.state.ingest_meter = IngestMeter()
    app.add_exception_handler(RunyardError, _runyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OSError, _fault_or_bug)
    app.add_exception_handler(sa.exc.SQLAlchemyError, _fault_or_bug)
    app.add_exception_handler(Exception, _unexpected)
    app.state.event_hub = EventHub(store.events)
    routers = (health, experiments, runs, jobs, lifecycle, metrics, checkpoints, artifacts, logs)
    extra = (compare, queue, events, export, datasets, system, session, heartbeat, evaluation)
    app.include_router(run_batch.router)  # early: routes are matched in order, it is hot
    for module in (*routers, *extra, uploads):
        app.include_router(module.router)
    app.include_router(sweeps.router)
    app.include_router(trash.router)  # DELETE /api/runs/{id}, restore, the trash
    app.include_router(media.router)  # texts and images a run logged
    app.include_router(csv_export.router)  # /api/runs.csv, /api/runs/{id}/metrics.csv
    app.include_router(bulk.router)  # POST /api/bulk/runs: delete or tag many runs
    app.include_router(gc.router)  # /api/gc: what `runyard gc` lists and removes
    docs.mount(app)  # /docs and /redoc, offline
    mlflow_api.include(app)  # MLflow's tracking API, in MLflow's error shape
    dashboard.mount(app)  # after the routers: /assets, then index.html for unknown non-API paths
    app.openapi = _openapi_with(app, (MetricBatch,))  # type: ignore[method-assign]
    # Added last, runs first: the body limit then auth wrap everything, docs included.
    token = settings.token_value
    if token:
        app.state.sessions = SessionBook(store.sessions, token, settings.session_ttl_s)
        app.add_middleware(TokenAuth, token=token, sessions=app.state.sessions)
    if settings.cors_origins:  # outside auth: a preflight carries no credentials
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["authorization", "content-type", "last-event-id"],
            allow_credentials=True,
        )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, streamed=uploads.STREAMED)
    app.add_middleware(
        BrowserGuard,
        allowed_hosts=settings.allowed_hosts,
        bound=settings.host,
        cors_origins=settings.cors_origins,
    )
    return app
