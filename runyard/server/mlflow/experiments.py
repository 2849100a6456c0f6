"""Experiments: create, get (by id or name), search, rename, delete, restore and tags."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson
from fastapi import APIRouter

from runyard.entities import Experiment
from runyard.errors import Conflict, NotFound
from runyard.server._deps import StoreDep
from runyard.server.mlflow._errors import (
    RESOURCE_ALREADY_EXISTS,
    MlflowError,
    MlflowRoute,
    invalid,
    missing,
)
from runyard.server.mlflow._request import Body, Query
from runyard.server.mlflow._wire import (
    DEFAULT_EXPERIMENT,
    experiment_id,
    experiment_json,
    experiment_name,
    integer_in,
    resolve_experiment,
    text_in,
)
from runyard.store import Store
from runyard.store.search_filter import Comparison, parse_filter, parse_order_key

router = APIRouter(
    prefix="/api/2.0/mlflow/experiments", route_class=MlflowRoute, include_in_schema=False
)
VIEW_TYPES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3, "1": 1, "2": 2, "3": 3}
MAX_NAME = 250


def view_type(value: Any) -> int:
    view = VIEW_TYPES.get(str(value if value is not None else "ACTIVE_ONLY").upper())
    if view is None:
        raise invalid(f"Invalid view_type {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL")
    return view


def page_offset(token: Any) -> int:
    if not token:
        return 0
    try:
        data = orjson.loads(base64.b64decode(str(token), validate=True))
        offset = data["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise invalid(f"Invalid page token {token!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise invalid(f"Invalid page token {token!r}")
    return offset


def page_token(offset: int) -> str:
    return base64.b64encode(orjson.dumps({"offset": offset})).decode()


def _by_name(store: Store, name: str) -> Experiment:
    if name == "Default":
        return resolve_experiment(store, "0")  # always exists
    try:
        return store.experiments.get(name)
    except NotFound:
        raise missing(f"Could not find experiment with name '{name}'") from None


@router.post("/create")
def create(body: Body, store: StoreDep) -> dict[str, Any]:
    name = text_in(body, "name")
    if len(name) > MAX_NAME or name in ("Default", DEFAULT_EXPERIMENT):
        if len(name) > MAX_NAME:
            raise invalid(f"Experiment name exceeds the maximum length of {MAX_NAME}")
        raise MlflowError(RESOURCE_ALREADY_EXISTS, f"Experiment(name={name}) already exists.")
    tags = {str(t.get("key")): str(t.get("value", "")) for t in body.get("tags") or []}
    try:
        exp = store.experiments.create(name)
    except Conflict:
        raise MlflowError(
            RESOURCE_ALREADY_EXISTS, f"Experiment(name={name}) already exists."
        ) from None
    if tags:
        store.mlflow.set_experiment_tags(exp.id, tags)
    return {"experiment_id": experiment_id(exp)}


@router.get("/get")
def get(query: Query, store: StoreDep) -> dict[str, Any]:
    exp = resolve_experiment(store, query.get("experiment_id"))
    return {"experiment": experiment_json(store, exp)}


@router.get("/get-by-name")
def get_by_name(query: Query, store: StoreDep) -> dict[str, Any]:
    name = text_in(query, "experiment_name")
    return {"experiment": experiment_json(store, _by_name(store, name))}


def _like(pattern: str, flags: int = 0) -> re.Pattern[str]:
    parts = (".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), flags | re.DOTALL)


def _matches(value: str | None, c: Comparison) -> bool:
    if c.op == "IS NULL":
        return value is None
    if c.op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    if c.op == "=":
        return value == str(c.value)
    if c.op == "!=":
        return value != str(c.value)
    if c.op in ("LIKE", "ILIKE"):
        return (
            _like(str(c.value), re.IGNORECASE if c.op == "ILIKE" else 0).fullmatch(value)
            is not None
        )
    raise invalid(f"Invalid comparator {c.op!r} for experiments")


@router.post("/search")
def search(body: Body, store: StoreDep) -> dict[str, Any]:
    view = view_type(body.get("view_type"))
    limit = integer_in(body.get("max_results"), "max_results", 1000)
    if not 1 <= limit <= 50000:
        raise invalid(f"Invalid value {limit} for parameter 'max_results' supplied.")
    clauses = parse_filter(body.get("filter") or "", "mlflow")
    resolve_experiment(store, "0")  # "Default" always exists
    found = store.experiments.list()
    tags = store.mlflow.experiment_tags([e.id for e in found])
    deleted = store.mlflow.deleted("experiment", [str(e.id) for e in found])
    chosen = []
    for exp in found:
        gone = str(exp.id) in deleted
        if (view == 1 and gone) or (view == 2 and not gone):
            continue
        ok = True
        for c in clauses:
            if c.entity == "tags":
                ok = ok and _matches(tags.get(exp.id, {}).get(c.key), c)
            elif c.entity == "attributes" and c.key == "name":
                ok = ok and _matches(experiment_name(exp), c)
            else:
                raise invalid(f"Invalid filter on experiments: {c.entity}.{c.key}")
        if ok:
            chosen.append(exp)
    chosen.sort(key=lambda e: (-e.created_at, e.id))
    for item in reversed(body.get("order_by") or []):
        key = parse_order_key(str(item))
        if key.entity != "attributes" or key.key not in (
            "name",
            "experiment_id",
            "creation_time",
            "last_update_time",
        ):
            raise invalid(f"Invalid order_by clause {item!r}")
        sort_key: Any = {
            "name": experiment_name,
            "experiment_id": lambda e: int(experiment_id(e)),
        }.get(key.key, lambda e: e.created_at)
        chosen.sort(key=sort_key, reverse=key.descending)
    offset = page_offset(body.get("page_token"))
    page = chosen[offset : offset + limit]
    out: dict[str, Any] = {"experiments": [experiment_json(store, e) for e in page]}
    if offset + limit < len(chosen):
        out["next_page_token"] = page_token(offset + limit)
    return out


@router.post("/update")
def update(body: Body, store: StoreDep) -> dict[str, Any]:
    exp = resolve_experiment(store, body.get("experiment_id"))
    name = text_in(body, "new_name")
    if exp.name == DEFAULT_EXPERIMENT:
        raise invalid("The Default experiment cannot be renamed")
    store.mlflow.rename_experiment(exp.id, name)
    return {}


def _set_deleted(body: dict[str, Any], store: Store, deleted: bool) -> dict[str, Any]:
    exp = resolve_experiment(store, body.get("experiment_id"))
    if deleted and exp.name == DEFAULT_EXPERIMENT:
        raise invalid("Cannot delete an experiment with the ID '0', the Default experiment.")
    store.mlflow.set_deleted("experiment", str(exp.id), deleted)
    return {}


@router.post("/delete")
def delete(body: Body, store: StoreDep) -> dict[str, Any]:
    return _set_deleted(body, store, True)


@router.post("/restore")
def restore(body: Body, store: StoreDep) -> dict[str, Any]:
    return _set_deleted(body, store, False)


@router.post("/set-experiment-tag")
def set_tag(body: Body, store: StoreDep) -> dict[str, Any]:
    exp = resolve_experiment(store, body.get("experiment_id"))
    key = text_in(body, "key")
    store.mlflow.set_experiment_tags(exp.id, {key: str(body.get("value") or "")})
    return {}


@router.post("/delete-experiment-tag")
def delete_tag(body: Body, store: StoreDep) -> dict[str, Any]:
    exp = resolve_experiment(store, body.get("experiment_id"))
    key = text_in(body, "key")
    if not store.mlflow.delete_experiment_tag(exp.id, key):
        raise missing(f"No tag with name: {key} in experiment with id {experiment_id(exp)}")
    return {}
