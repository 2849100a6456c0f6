"""Metrics: log one, log a batch (with params and tags), and read a key's history by page."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from runyard.server._deps import StoreDep
from runyard.server.mlflow._errors import MlflowRoute, invalid
from runyard.server.mlflow._request import Body, Query
from runyard.server.mlflow._wire import integer_in, number_in, number_out, text_in
from runyard.server.mlflow.experiments import page_offset, page_token
from runyard.server.mlflow.runs import (
    MAX_KEY,
    active_id,
    check_key,
    check_param,
    check_tag,
    get_run,
    run_id_of,
    write,
)
from runyard.store import Store
from runyard.store.metrics import Series

router = APIRouter(prefix="/api/2.0/mlflow", route_class=MlflowRoute, include_in_schema=False)
MAX_METRICS = 1000
MAX_PARAMS = 100
MAX_TAGS = 100
MAX_ENTITIES = 1000
_MAX_STEP = 2**63 - 1


def _point(m: dict[str, Any]) -> tuple[str, int, float, float]:
    if not isinstance(m, dict):
        raise invalid(f"a metric must be an object, got {m!r}")
    key = check_key(m.get("key"), "metric")
    value = number_in(m.get("value"), f"Got invalid value {m.get('value')!r} for metric '{key}'")
    step = integer_in(m.get("step"), "step", 0)
    if not -_MAX_STEP <= step <= _MAX_STEP:
        raise invalid(f"step {step} of metric '{key}' is out of the int64 range")
    stamp = m.get("timestamp")
    ts = time.time() if stamp in (None, "") else integer_in(stamp, "timestamp") / 1000
    return key, step, value, ts


_NUMBERS = frozenset({float, int})  # by exact type: a bool is not a metric value


def _points(metrics: list[Any]) -> list[tuple[str, int, float, float]]:
    """`_point` of each metric, the common case (a key, numbers, a timestamp) checked in one
    tight loop: a batch of 1,000 costs a quarter of what one call per metric does. Anything
    else takes `_point`, which names what is wrong."""
    out = []
    for m in metrics:
        if type(m) is dict:
            key, step, stamp = m.get("key"), m.get("step", 0), m.get("timestamp")
            value: Any = m.get("value")
            if (
                type(key) is str
                and 0 < len(key) <= MAX_KEY
                and type(value) in _NUMBERS
                and type(step) is int
                and -_MAX_STEP <= step <= _MAX_STEP
                and type(stamp) is int
            ):
                out.append((key, step, float(value), stamp / 1000))
                continue
        out.append(_point(m))
    return out


def ingest(store: Store, run_id: str, points: list[tuple[str, int, float, float]]) -> None:
    import numpy as np

    by_key: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for key, step, value, ts in points:
        by_key[key].append((step, value, ts))
    series = [
        Series(
            key,
            np.array([p[0] for p in pts], dtype=np.int64),
            np.array([p[1] for p in pts], dtype=np.float64),
            np.array([p[2] for p in pts], dtype=np.float64),
        )
        for key, pts in by_key.items()
    ]
    if series:
        store.metrics.ingest(run_id, series)


@router.post("/runs/log-metric")
def log_metric(body: Body, store: StoreDep) -> dict[str, Any]:
    ingest(store, active_id(store, run_id_of(body)), [_point(body)])
    return {}


def _list(body: dict[str, Any], key: str, limit: int) -> list[Any]:
    items = body.get(key) or []
    if not isinstance(items, list):
        raise invalid(f"'{key}' must be a list")
    if len(items) > limit:
        raise invalid(
            f"A batch logging request can contain at most {limit} {key}. Got {len(items)} "
            f"{key}. Please split up {key} across multiple requests and try again."
        )
    return items


@router.post("/runs/log-batch")
def log_batch(body: Body, store: StoreDep) -> dict[str, Any]:
    """Everything is checked before anything is written, so a refused batch leaves no trace."""
    run_id = run_id_of(body)
    metrics = _list(body, "metrics", MAX_METRICS)
    params = _list(body, "params", MAX_PARAMS)
    tags = _list(body, "tags", MAX_TAGS)
    if len(metrics) + len(params) + len(tags) > MAX_ENTITIES:
        raise invalid(
            f"A batch logging request can contain at most {MAX_ENTITIES} total metrics, params "
            f"and tags. Got {len(metrics) + len(params) + len(tags)}."
        )
    points = _points(metrics)
    param_values: dict[str, str] = {}
    for p in params:
        key, value = check_param(p if isinstance(p, dict) else {})
        if param_values.get(key, value) != value:
            raise invalid(f"Duplicate parameter keys have been submitted: ['{key}'].")
        param_values[key] = value
    tag_values = dict(check_tag(t if isinstance(t, dict) else {}) for t in tags)
    active_id(store, run_id)
    if param_values or tag_values:
        write(store, run_id, param_values, tag_values)
    ingest(store, run_id, points)
    return {}


# The client reads a long history in pages of 25,000: the sorted points of the few keys read
# last are kept while the key's version (count, last step, last timestamp) stays the same, so
# each page does not decode and sort the whole series again.
_SORTED: OrderedDict[tuple[int, str, str], tuple[Any, tuple[Any, Any, Any]]] = OrderedDict()
_SORTED_KEYS = 4
_SORTED_LOCK = threading.Lock()


def _sorted_history(store: Store, run_id: str, key: str) -> tuple[Any, Any, Any] | None:
    """(steps, values, timestamps in ms) of a key, in MLflow's order: (step, timestamp, value)."""
    import numpy as np

    slot = (id(store.engine), run_id, key)
    version = store.metrics.version(run_id, [key])
    with _SORTED_LOCK:
        hit = _SORTED.get(slot)
        if hit is not None and hit[0] == version:
            _SORTED.move_to_end(slot)
            return hit[1]
    series = store.metrics.read(run_id, [key]).get(key)
    if series is None:
        return None
    stamps_ms = (series.timestamps * 1000).round().astype("int64")
    order = np.lexsort((series.values, stamps_ms, series.steps))
    arrays = (series.steps[order], series.values[order], stamps_ms[order])
    with _SORTED_LOCK:
        _SORTED[slot] = (version, arrays)
        _SORTED.move_to_end(slot)
        while len(_SORTED) > _SORTED_KEYS:
            _SORTED.popitem(last=False)
    return arrays


@router.get("/metrics/get-history")
def get_history(query: Query, store: StoreDep) -> Response:
    import orjson

    run = get_run(store, run_id_of(query))
    key = text_in(query, "metric_key")
    points = _sorted_history(store, run.id, key)
    offset = page_offset(query.get("page_token"))
    limit = query.get("max_results")
    total = 0 if points is None else len(points[0])
    end = total if limit in (None, "") else offset + integer_in(limit, "max_results")
    if end < offset:
        raise invalid(f"Invalid value {limit} for parameter 'max_results' supplied.")
    out: dict[str, Any] = {}
    if points is not None and offset < total:
        import numpy as np

        steps = points[0][offset:end].tolist()
        page = points[1][offset:end]
        values = page.tolist()
        if not np.isfinite(page).all():  # "NaN", "Infinity", "-Infinity" as MLflow writes them
            values = [number_out(v) for v in values]
        stamps = points[2][offset:end].tolist()
        out["metrics"] = [
            {"key": key, "value": v, "timestamp": t, "step": s}
            for s, v, t in zip(steps, values, stamps, strict=True)
        ]
    if end < total:
        out["next_page_token"] = page_token(end)
    return Response(orjson.dumps(out), media_type="application/json")
