"""CSV for spreadsheets and papers: the runs table (`/api/runs.csv`, the same filters as
`/api/runs`, the columns asked for) and a run's full metric series
(`/api/runs/{id}/metrics.csv`). Both stream from one query: a batch of runs or a chunk of
points at a time."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from runyard.entities import Run
from runyard.errors import BadRequest
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.routes.runs import _statuses
from runyard.store import Store
from runyard.store.metric_export import iter_series
from runyard.store.runs import RunQuery

router = APIRouter(tags=["export"], responses=ERRORS)
PAGE = 1000
ATTRS = (
    "id", "name", "experiment", "status", "created_at", "started_at", "ended_at", "tags",
    "notes", "attempt_count", "priority", "best", "primary_metric", "early_stopped",
)  # fmt: skip
DEFAULT_COLUMNS = "id,name,experiment,status,created_at,ended_at,tags,best"
_CSV = {"text/csv": {"schema": {"type": "string"}}}


def _columns(text: str) -> list[str]:
    out = []
    for col in (c.strip() for c in text.split(",")):
        if not col:
            continue
        scope, _, key = col.partition(".")
        if col in ATTRS or (scope in ("params", "metrics") and key):
            out.append(col)
        else:
            raise BadRequest(
                f"unknown column {col!r}: use {', '.join(ATTRS)}, params.KEY or metrics.KEY"
            )
    if not out:
        raise BadRequest("columns is empty: name at least one")
    return out


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        import orjson

        return orjson.dumps(value).decode()
    return value


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _value(run: Run, col: str) -> Any:
    if col.startswith("params."):
        return run.params.get(col[7:])
    if col.startswith("metrics."):
        return run.metrics.get(col[8:])
    if col in ("created_at", "started_at", "ended_at"):
        return _when(getattr(run, col))
    return getattr(run, col)


def _lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _run_rows(store: Store, query: RunQuery, columns: list[str]) -> Iterator[list[Any]]:
    yield columns
    for page in store.runs.iter_all(query, PAGE):
        for run in page:
            yield [_cell(_value(run, c)) for c in columns]


def _csv(rows: Iterator[list[Any]], name: str) -> StreamingResponse:
    first = [next(rows)]  # the header, and any error of the first read, before the 200
    return StreamingResponse(
        _lines(_chain(first, rows)),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _chain(first: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from first
    yield from rest


@router.get(
    "/api/runs.csv",
    response_class=StreamingResponse,
    responses={200: {"content": _CSV, "description": "The runs table as CSV."}},
)
def runs_csv(
    store: StoreDep,
    experiment: str | None = None,
    status: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    filter: str | None = None,
    order_by: str | None = None,
    columns: Annotated[
        str,
        Query(description="Comma-separated: run fields, params.KEY, metrics.KEY (last value)."),
    ] = DEFAULT_COLUMNS,
) -> StreamingResponse:
    """Every run that matches (the filters of /api/runs), one row each, the columns asked."""
    cols = _columns(columns)
    query = RunQuery(
        experiment=experiment,
        status=_statuses(status),
        tag=tag,
        q=q,
        filter=filter,
        order_by=order_by,
    )
    store.runs.list(RunQuery(**{**query.__dict__, "limit": 1}))  # a bad filter: 400 now
    return _csv(_run_rows(store, query, cols), "runs.csv")


def _point_rows(store: Store, run_id: str, keys: list[str] | None) -> Iterator[list[Any]]:
    yield ["key", "step", "value", "timestamp"]
    for s in iter_series(store.engine, run_id, keys):
        for step, value, ts in zip(
            s.steps.tolist(), s.values.tolist(), s.timestamps.tolist(), strict=True
        ):
            yield [s.key, step, _cell(value), f"{ts:.6f}"]


@router.get(
    "/api/runs/{run_id}/metrics.csv",
    response_class=StreamingResponse,
    responses={200: {"content": _CSV, "description": "key,step,value,timestamp rows."}},
)
def metrics_csv(
    run_id: str,
    store: StoreDep,
    keys: Annotated[str | None, Query(description="Comma-separated; all keys when absent.")] = None,
) -> StreamingResponse:
    """Every point of the run's metrics (all of them, never downsampled), streamed."""
    store.runs.get(run_id)  # 404 before the stream starts
    wanted = [k for k in keys.split(",") if k] if keys else None
    return _csv(_point_rows(store, run_id, wanted), f"{run_id}-metrics.csv")
