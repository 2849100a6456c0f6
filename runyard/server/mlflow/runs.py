"""Runs: create, get, update (end), delete, restore, params, tags and inputs.

A run created here is a tracked-only run of runyard (no job spec); its id is runyard's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from runyard.entities import Run, RunStatus
from runyard.errors import NotFound
from runyard.server._deps import StoreDep
from runyard.server.mlflow._errors import MlflowRoute, invalid, missing
from runyard.server.mlflow._request import Body, Query
from runyard.server.mlflow._wire import (
    FROM_MLFLOW,
    RUN_NAME_TAG,
    USER_TAG,
    resolve_experiment,
    runs_json,
    time_in,
)
from runyard.store import Store
from runyard.store.mlflow_meta import INPUTS_TAG

router = APIRouter(prefix="/api/2.0/mlflow/runs", route_class=MlflowRoute, include_in_schema=False)
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000


def run_id_of(body: dict[str, Any]) -> str:
    run_id = body.get("run_id") or body.get("run_uuid")
    if not run_id or not isinstance(run_id, str):
        raise invalid("Missing value for required parameter 'run_id'.")
    return run_id


def get_run(store: Store, run_id: str) -> Run:
    try:
        return store.runs.get(run_id)
    except NotFound:
        raise missing(f"Run with id={run_id} not found") from None


def active_id(store: Store, run_id: str) -> str:
    """The id of a run that may be written to, in one query: refused when it is unknown, or
    when MLflow's client deleted it (or its experiment).

    MLflow's client sends no heartbeat, so a write is its sign of life (heartbeats.py): a run
    that logs past the heartbeat timeout is not lost, and one marked lost comes back.
    """
    state = store.mlflow.run_state(run_id)
    if state == "missing":
        raise missing(f"Run with id={run_id} not found")
    if state == "deleted":
        raise invalid(f"The run {run_id} must be in the 'active' state. Current state is deleted.")
    store.heartbeats.beat(run_id)  # written at most every few seconds (it checks `due`)
    return run_id


def active_run(store: Store, run_id: str) -> Run:
    """The run, refused as `active_id` refuses it."""
    return get_run(store, active_id(store, run_id))


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key:
        raise invalid(f"Missing value for required parameter 'key' of a {what}.")
    if len(key) > MAX_KEY:
        raise invalid(f"{what} key '{key[:40]}…' had length {len(key)}, which exceeds {MAX_KEY}")
    return key


def check_param(param: dict[str, Any]) -> tuple[str, str]:
    key = check_key(param.get("key"), "param")
    value = param.get("value")
    text = "" if value is None else str(value)
    if len(text) > MAX_PARAM_VALUE:
        raise invalid(
            f"Param value for '{key}' had length {len(text)}, which exceeds {MAX_PARAM_VALUE}"
        )
    return key, text


def check_tag(tag: dict[str, Any]) -> tuple[str, str]:
    key = check_key(tag.get("key"), "tag")
    if key == INPUTS_TAG:
        raise invalid(f"Tag key '{key}' is reserved: runyard keeps a run's dataset inputs in it")
    value = tag.get("value")
    text = "" if value is None else str(value)
    if len(text) > MAX_TAG_VALUE:
        raise invalid(
            f"Tag value for '{key}' had length {len(text)}, which exceeds {MAX_TAG_VALUE}"
        )
    return key, text


def write(store: Store, run_id: str, params: dict[str, str], tags: dict[str, str]) -> None:
    """Params and tags in one transaction; the run-name tag renames the run."""
    name = tags.pop(RUN_NAME_TAG, None)
    store.mlflow.log(run_id, params, tags, name=name)


@router.post("/create")
def create(body: Body, store: StoreDep) -> dict[str, Any]:
    exp = resolve_experiment(store, body.get("experiment_id") or "0")
    if store.mlflow.deleted("experiment", [str(exp.id)]):
        raise invalid(
            f"Could not create run under non-active experiment with ID {body.get('experiment_id')}."
        )
    tags = dict(check_tag(t) for t in body.get("tags") or [])
    name = body.get("run_name") or tags.get(RUN_NAME_TAG) or None
    if name is not None and not isinstance(name, str):
        raise invalid(f"Invalid value {name!r} for parameter 'run_name'")
    if body.get("user_id") and USER_TAG not in tags:
        tags[USER_TAG] = str(body["user_id"])
    start = body.get("start_time")
    started = time_in(start, "start_time") if start is not None else None  # before any write
    run = store.runs.create(experiment=exp.name, name=name, status=RunStatus.RUNNING)
    if started is not None:
        store.mlflow.set_run_fields(run.id, created_at=started, started_at=started)
    tags.pop(RUN_NAME_TAG, None)
    write(store, run.id, {}, tags)
    return {"run": runs_json(store, [get_run(store, run.id)])[0]}


@router.get("/get")
def get(query: Query, store: StoreDep) -> dict[str, Any]:
    return {"run": runs_json(store, [get_run(store, run_id_of(query))])[0]}


@router.post("/update")
def update(body: Body, store: StoreDep) -> dict[str, Any]:
    run = active_run(store, run_id_of(body))
    status = body.get("status")
    if status is not None:
        target = FROM_MLFLOW.get(str(status))
        if target is None:
            raise invalid(f"Invalid value {status!r} for parameter 'status'")
        if target.is_terminal():
            end = body.get("end_time")
            ended = time_in(end, "end_time") if end is not None else None  # before any write
            store.run_state.finish(run.id, target)
            if ended is not None:
                store.mlflow.set_run_fields(run.id, ended_at=ended)
        elif run.status.is_terminal() and run.spec is None:  # a run resumed by its client
            store.mlflow.set_run_fields(run.id, status=target.value, ended_at=None, summary=None)
    if body.get("run_name"):
        write(store, run.id, {}, {RUN_NAME_TAG: str(body["run_name"])})
    return {"run_info": runs_json(store, [get_run(store, run.id)])[0]["info"]}


def _set_deleted(body: dict[str, Any], store: Store, deleted: bool) -> dict[str, Any]:
    run = get_run(store, run_id_of(body))
    store.mlflow.set_deleted("run", run.id, deleted)
    return {}


@router.post("/delete")
def delete(body: Body, store: StoreDep) -> dict[str, Any]:
    return _set_deleted(body, store, True)


@router.post("/restore")
def restore(body: Body, store: StoreDep) -> dict[str, Any]:
    return _set_deleted(body, store, False)


@router.post("/log-parameter")
def log_param(body: Body, store: StoreDep) -> dict[str, Any]:
    run_id = active_id(store, run_id_of(body))
    key, value = check_param(body)
    write(store, run_id, {key: value}, {})
    return {}


@router.post("/set-tag")
def set_tag(body: Body, store: StoreDep) -> dict[str, Any]:
    run_id = active_id(store, run_id_of(body))
    key, value = check_tag(body)
    write(store, run_id, {}, {key: value})
    return {}


@router.post("/delete-tag")
def delete_tag(body: Body, store: StoreDep) -> dict[str, Any]:
    run_id = active_id(store, run_id_of(body))
    key = check_key(body.get("key"), "tag")
    if not store.mlflow.delete_run_tag(run_id, key):
        raise missing(f"No tag with name: {key} in run with id {run_id}")
    return {}


@router.post("/log-inputs")
def log_inputs(body: Body, store: StoreDep) -> dict[str, Any]:
    """Dataset inputs are kept as MLflow sent them (get-run gives them back) and each dataset
    name becomes a `dataset:NAME` label of the run, shown and filtered in the dashboard.
    Model inputs (MLflow's logged models) have nowhere to go in runyard and are ignored."""
    run_id = active_id(store, run_id_of(body))
    datasets = body.get("datasets") or []
    if not isinstance(datasets, list):
        raise invalid("'datasets' must be a list")
    inputs = [_dataset_input(d) for d in datasets]
    if inputs:
        store.mlflow.log_inputs(run_id, inputs, [i["dataset"]["name"] for i in inputs])
    return {}


_DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")


def _dataset_input(item: Any) -> dict[str, Any]:
    """One `DatasetInput`: its dataset's name, digest, source type and source are required
    (as MLflow's server requires them), its tags are checked as run tags are."""
    if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
        raise invalid("each of 'datasets' must be an object with a 'dataset'")
    given = item["dataset"]
    dataset: dict[str, str] = {}
    for field in _DATASET_FIELDS:
        value = given.get(field)
        if value is None or value == "":
            if field in ("schema", "profile"):
                continue
            raise invalid(f"Missing value for required parameter 'dataset.{field}'.")
        if not isinstance(value, str):
            raise invalid(f"Invalid value {value!r} for parameter 'dataset.{field}'")
        dataset[field] = value
    check_key(dataset["name"], "dataset")
    tags = item.get("tags") or []
    if not isinstance(tags, list):
        raise invalid("'tags' of a dataset input must be a list")
    pairs = [check_tag(t if isinstance(t, dict) else {}) for t in tags]
    return {"tags": [{"key": k, "value": v} for k, v in pairs], "dataset": dataset}
