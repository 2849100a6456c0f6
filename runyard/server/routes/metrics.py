from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from runyard._names import BAD_NAME, name_problem
from runyard.errors import BadRequest, PayloadTooLarge, RunyardError
from runyard.server._chart_cache import ChartCache
from runyard.server._deps import StoreDep
from runyard.server._reads import read
from runyard.server.routes import ERRORS, Digits
from runyard.server.schemas import GoalsIn, IngestOut, MetricBatch, MetricsOut, RunOut
from runyard.store.metrics import Series
from runyard.store.run_state import json_number

if TYPE_CHECKING:
    from runyard.store import Store

router = APIRouter(prefix="/api/runs/{run_id}", tags=["metrics"], responses=ERRORS)

MAX_POINTS_PER_BATCH = 2_000_000
MAX_POINTS_PER_READ_KEY = 5_000_000  # a whole series past this needs max_points (or a window)


def _batch_schema() -> dict[str, Any]:
    """The request body, declared by hand: the route parses it itself (see create_app)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/MetricBatch"}}
            },
        }
    }


@router.post(
    "/metrics",
    openapi_extra=_batch_schema(),
    responses={413: {"description": "Too many points in one batch"}},
)
async def ingest_metrics(run_id: str, request: Request, store: StoreDep) -> IngestOut:
    """Store a batch of points atomically; a replayed (source, seq) is acknowledged, not stored.

    The body is parsed by pydantic-core straight from bytes: several times faster than
    FastAPI's generic body handling for batches of many thousands of points.
    """
    import numpy as np

    try:
        batch = MetricBatch.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    total = sum(len(s.steps) for s in batch.metrics.values())
    if total > MAX_POINTS_PER_BATCH:
        raise PayloadTooLarge(f"batch holds {total} points; at most {MAX_POINTS_PER_BATCH}")
    series = []
    now = time.time()
    for key, s in batch.metrics.items():
        n = len(s.steps)
        if len(s.values) != n or (s.timestamps and len(s.timestamps) != n):
            raise BadRequest(f"metric {key!r}: steps, values and timestamps must align")
        values = np.array(s.values, dtype=np.float64)  # None becomes NaN
        ts = np.array(s.timestamps, dtype=np.float64) if s.timestamps else np.full(n, now)
        series.append(Series(key, np.array(s.steps, dtype=np.int64), values, ts))
    result = await run_in_threadpool(
        store.metrics.ingest, run_id, series, source=batch.source, seq=batch.seq
    )
    request.app.state.ingest_meter.add(result.accepted)
    if store.heartbeats.due(run_id):  # points are a sign of life (a lost run comes back)
        await run_in_threadpool(store.heartbeats.beat, run_id)
    return IngestOut(accepted=result.accepted, duplicate=result.duplicate)


def _series_json(s: Series) -> dict[str, Any]:
    import numpy as np

    values: Any = s.values
    if not np.isfinite(s.values).all():
        values = [json_number(v) for v in s.values.tolist()]
    return {"steps": s.steps, "values": values, "timestamps": s.timestamps}


def _wanted(keys: list[str] | None) -> list[str] | None:
    if not keys:
        return None
    for key in keys:  # names are data, but never empty or holding control characters
        if (problem := name_problem(key)) is not None:
            raise RunyardError(f"key {key[:80]!r} {problem}", status=400, code=BAD_NAME)
    if len(keys) == 1 and "," in keys[0]:  # a key with a comma, or an old client's list
        return [keys[0], *(k for k in keys[0].split(",") if k)]
    return keys


@router.get("/metrics", response_model=MetricsOut)
async def read_metrics(
    run_id: str,
    request: Request,
    store: StoreDep,
    keys: Annotated[
        list[str] | None,
        # One `?keys=a` reads the same as a list of one: say so, or fuzzers call it a string
        # where an array was due.
        WithJsonSchema(
            {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}
        ),
        Query(
            description="A key; repeat it for several (`?keys=a&keys=b`); all when absent. "
            "A single value with commas also asks for each comma-separated part (old clients)."
        ),
    ] = None,
    start: Annotated[
        int | None,
        Query(ge=-(2**63), le=2**63 - 1, description="First step (inclusive)."),
        Digits,
    ] = None,
    end: Annotated[
        int | None,
        Query(ge=-(2**63), le=2**63 - 1, description="Last step (inclusive)."),
        Digits,
    ] = None,
    max_points: Annotated[
        int | None,
        Query(
            ge=3,
            le=1_000_000,
            description="Downsample each key to at most this many points (4 at least): "
            "the steps cut in (max_points - 2) // 2 buckets, each bucket's least and greatest "
            "value (NaN aside), the first and the last point. Every point when no more.",
        ),
        Digits,
    ] = None,
) -> Response:
    """Columnar arrays per key, in step order."""
    if start is not None and end is not None and start > end:
        raise BadRequest(f"start {start} is after end {end}")
    wanted = _wanted(keys)
    if max_points is None:  # every point: up to millions, read in the thread pool
        body = await run_in_threadpool(_points, store, run_id, wanted, start, end)
    else:  # a chart: small, read from tiles, and asked for again and again
        cache: ChartCache = request.app.state.chart_cache
        body = await read(store, _chart, store, cache, run_id, wanted, start, end, max_points)
    return Response(body, media_type="application/json")


def _points(
    store: Store, run_id: str, wanted: list[str] | None, start: int | None, end: int | None
) -> bytes:
    """Every point of the keys in the window, or PayloadTooLarge past a key's limit."""
    data = store.metrics.read(run_id, wanted, start, end)
    for key, series in data.items():
        if len(series.steps) > MAX_POINTS_PER_READ_KEY:
            raise PayloadTooLarge(f"{key!r} holds {len(series.steps)} points: pass max_points")
    return _metrics_json(data)


def _metrics_json(data: dict[str, Series]) -> bytes:
    out = {key: _series_json(series) for key, series in data.items()}
    return orjson.dumps({"metrics": out}, option=orjson.OPT_SERIALIZE_NUMPY)


def _chart(
    store: Store,
    cache: ChartCache,
    run_id: str,
    wanted: list[str] | None,
    start: int | None,
    end: int | None,
    max_points: int,
) -> bytes:
    """A chart's answer: the cached one while the keys' data is unchanged, else made."""
    cache_key = (run_id, tuple(sorted(set(wanted))) if wanted else None, start, end, max_points)
    version = store.metrics.version(run_id, cache_key[1])
    if (hit := cache.get(cache_key, version)) is not None:
        return hit
    body = _metrics_json(store.metrics.chart(run_id, wanted, start, end, max_points))
    cache.put(cache_key, version, body)
    return body


@router.post("/metric-goals")
def set_metric_goals(run_id: str, body: GoalsIn, store: StoreDep) -> RunOut:
    """Say what "best" means per key (`run.define_metric`); stored points are re-ranked."""
    store.metrics.set_goals(run_id, body.goals, body.primary)
    return RunOut.model_validate(store.runs.get(run_id))
