"""runs/search with MLflow's filter, order_by, run_view_type and page tokens, over the same
grammar and SQL as runyard's own run list; and logged-models/search, answered empty."""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter

from runyard.server._deps import StoreDep
from runyard.server.mlflow._errors import MlflowRoute, invalid
from runyard.server.mlflow._request import Body
from runyard.server.mlflow._wire import (
    FROM_MLFLOW,
    USER_TAG,
    integer_in,
    resolve_experiment,
    runs_page,
)
from runyard.server.mlflow.experiments import page_offset, page_token, view_type
from runyard.store.mlflow_meta import MlflowMeta
from runyard.store.run_search import search_ids
from runyard.store.search_filter import Comparison, OrderKey, parse_filter, parse_order_key
from runyard.store.tables import runs

router = APIRouter(prefix="/api/2.0/mlflow", route_class=MlflowRoute, include_in_schema=False)
MAX_RESULTS = 50000
_TIMES = {
    "start_time": "started_at",
    "created": "started_at",
    "Created": "started_at",
    "end_time": "ended_at",
}
_ATTRIBUTES = {
    "run_id": "id",
    "run_name": "name",
    "run name": "name",
    "Run name": "name",
    "Run Name": "name",
    "status": "status",
}


def _status(value: Any) -> Any:
    if isinstance(value, str) and value.upper() in FROM_MLFLOW:
        return FROM_MLFLOW[value.upper()].value
    return value


def _translate(c: Comparison) -> Comparison:
    """MLflow's attribute names and units as runyard's columns."""
    if c.entity != "attributes":
        return c
    if c.key in _TIMES:
        if not isinstance(c.value, (int, float)):
            raise invalid(f"attribute {c.key} is compared with a number of milliseconds")
        return dataclasses.replace(c, key=_TIMES[c.key], value=c.value / 1000)
    if c.key == "user_id":
        return dataclasses.replace(c, entity="tags", key=USER_TAG)
    if c.key not in _ATTRIBUTES:
        raise invalid(
            f"Invalid attribute key '{c.key}' specified. Valid keys are "
            f"{sorted({*_ATTRIBUTES, *_TIMES, 'user_id'})}"
        )
    value = _status(c.value) if c.key == "status" else c.value
    return dataclasses.replace(c, key=_ATTRIBUTES[c.key], value=value)


def _order(item: Any) -> OrderKey:
    key = parse_order_key(str(item))
    if key.entity != "attributes":
        return key
    column = _TIMES.get(key.key) or _ATTRIBUTES.get(key.key)
    if column is None:
        raise invalid(f"Invalid order_by clause {item!r}: unknown attribute {key.key!r}")
    return dataclasses.replace(key, key=column)


@router.post("/runs/search")
def search_runs(body: Body, store: StoreDep) -> dict[str, Any]:
    ids = body.get("experiment_ids") or []
    if not isinstance(ids, list):
        ids = [ids]
    experiments = [resolve_experiment(store, i).id for i in ids] if ids else []
    limit = integer_in(body.get("max_results"), "max_results", 1000)
    if not 1 <= limit <= MAX_RESULTS:
        raise invalid(
            f"Invalid value {limit} for parameter 'max_results' supplied. It must be at most "
            f"{MAX_RESULTS}, and at least 1."
        )
    clauses = [_translate(c) for c in parse_filter(body.get("filter") or "", "mlflow")]
    order_by = body.get("order_by") or []
    keys = [_order(item) for item in (order_by if isinstance(order_by, list) else [order_by])]
    if not any(k.entity == "attributes" and k.key == "started_at" for k in keys):
        keys.append(OrderKey("attributes", "started_at", True))
    view = view_type(body.get("run_view_type"))
    gone = sa.or_(
        runs.c.id.in_(MlflowMeta.deleted_refs("run")),
        sa.cast(runs.c.experiment_id, sa.String).in_(MlflowMeta.deleted_refs("experiment")),
    )
    where = [] if view == 3 else [~gone if view == 1 else gone]
    offset = page_offset(body.get("page_token"))
    page, more = search_ids(store.engine, experiments, where, clauses, keys, offset, limit)
    out: dict[str, Any] = {}
    if page:
        out["runs"] = runs_page(store, page)
    if more:
        out["next_page_token"] = page_token(offset + limit)
    return out


@router.post("/logged-models/search")
def search_logged_models(body: Body) -> dict[str, Any]:
    """runyard keeps no logged models: the answer is an empty page, as for a new server."""
    return {"models": []}
