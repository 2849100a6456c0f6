"""The ASGI application: `create_app(settings, store)` wires routes, errors and middleware."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from runyard import __version__
from runyard.config import Settings
from runyard.errors import RunyardError
from runyard.runner.backend import Backend
from runyard.runner.local import LocalBackend
from runyard.runner.ray_cluster import ray_backend
from runyard.runner.resources import Resources, count_gpus
from runyard.runner.scheduler import Scheduler
from runyard.server import dashboard
from runyard.server._chart_cache import ChartCache
from runyard.server._middleware import BodyLimit, TokenAuth
from runyard.server.events import EventHub
from runyard.server.ingest_meter import IngestMeter
from runyard.server.maintenance import Maintenance
from runyard.server.routes import (
    artifacts,
    checkpoints,
    compare,
    datasets,
    events,
    experiments,
    export,
    health,
    jobs,
    lifecycle,
    logs,
    metrics,
    queue,
    runs,
    system,
    uploads,
)
from runyard.server.sampler import Sampler
from runyard.server.schemas import MetricBatch
from runyard.store import Store

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


async def _runyard_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RunyardError)
    return _error(exc.status, exc.code, exc.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
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
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
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


def create_app(settings: Settings, store: Store, backend: Backend | None = None) -> FastAPI:
    """The whole server: API, scheduler and maintenance threads (started by the lifespan)."""
    gpus = settings.gpus if settings.gpus is not None else count_gpus()
    resources = Resources(gpus=gpus, cpus=settings.slots or os.cpu_count() or 1)
    if backend is None:
        backend = (
            LocalBackend() if settings.backend == "local" else ray_backend(settings, resources)
        )
    scheduler = Scheduler(store, backend, settings, resources)
    sampler = Sampler(store, settings, expected_gpus=gpus)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        maintenance = Maintenance(store, settings)
        maintenance.start()
        scheduler.start()
        sampler.start()
        try:
            yield
        finally:
            sampler.stop()
            scheduler.stop()
            maintenance.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="runyard",
        version=__version__,
        description="Run, track and see machine-learning training.",
    )
    app.state.settings = settings
    app.state.store = store
    app.state.scheduler = scheduler
    app.state.chart_cache = ChartCache()
    app.state.sampler = sampler
    app.state.ingest_meter = IngestMeter()
    app.add_exception_handler(RunyardError, _runyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    app.state.event_hub = EventHub(store.events)
    routers = (health, experiments, runs, jobs, lifecycle, metrics, checkpoints, artifacts, logs)
    for module in (*routers, compare, queue, events, export, datasets, system, uploads):
        app.include_router(module.router)
    dashboard.mount(app)  # after the routers: /assets, then index.html for unknown non-API paths
    app.openapi = _openapi_with(app, (MetricBatch,))  # type: ignore[method-assign]
    # Added last, runs first: the body limit then auth wrap everything, docs included.
    token = settings.token_value
    if token:
        app.add_middleware(TokenAuth, token=token)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
