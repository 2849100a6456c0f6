"""runyard's records in MLflow's JSON, and MLflow's values in runyard's terms.

MLflow names experiments by number strings ("0" is "Default", runyard's `default`), runs by
runyard's run ids, times in integer milliseconds, and non-finite metric values as the strings
"NaN", "Infinity" and "-Infinity" (proto3 JSON).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import orjson

from runyard.entities import Experiment, Run, RunStatus
from runyard.errors import NotFound
from runyard.server.mlflow._errors import invalid, missing
from runyard.store import Store
from runyard.store.mlflow_meta import INPUTS_TAG, PageRow

DEFAULT_EXPERIMENT = "default"  # runyard's; MLflow's "Default", id "0"
DEFAULT_ID = "0"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"

TO_MLFLOW = {
    RunStatus.QUEUED: "SCHEDULED",
    RunStatus.STARTING: "SCHEDULED",
    RunStatus.RETRYING: "SCHEDULED",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.COMPLETED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELLED: "KILLED",
}
FROM_MLFLOW = {
    "RUNNING": RunStatus.RUNNING,
    "SCHEDULED": RunStatus.RUNNING,  # a tracked-only run has no queue to wait in
    "FINISHED": RunStatus.COMPLETED,
    "FAILED": RunStatus.FAILED,
    "KILLED": RunStatus.CANCELLED,
}
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


def number_out(x: float | None) -> float | str:
    if x is None or math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def number_in(value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None:
        raise invalid(f"{what} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid(f"{what} must be a number, got {value!r}")


MAX_TIME_MS = 253_402_300_799_000  # the last millisecond a datetime can hold (year 9999)


def time_in(value: Any, what: str) -> float:
    """A timestamp in milliseconds (MLflow's unit) as UNIX seconds; INVALID_PARAMETER_VALUE
    outside year 1970 to 9999, which no date type of the API can carry."""
    ms = integer_in(value, what)
    if not 0 <= ms <= MAX_TIME_MS:
        raise invalid(f"{what} {ms} is not a time between 1970 and 9999 in milliseconds")
    return ms / 1000


def integer_in(value: Any, what: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise invalid(f"missing value for required parameter '{what}'")
        return default
    if isinstance(value, bool):
        raise invalid(f"{what} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"{what} must be an integer, got {value!r}") from None


def text_in(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{key}'.")
        return ""
    if not isinstance(value, str):
        raise invalid(f"Invalid value {value!r} for parameter '{key}': expected a string")
    return value


def param_text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def experiment_id(exp: Experiment) -> str:
    return DEFAULT_ID if exp.name == DEFAULT_EXPERIMENT else str(exp.id)


def experiment_name(exp: Experiment) -> str:
    return "Default" if exp.name == DEFAULT_EXPERIMENT else exp.name


def resolve_experiment(store: Store, mlflow_id: Any) -> Experiment:
    ref = str(mlflow_id if mlflow_id is not None else "").strip()
    if not ref:
        raise invalid("Missing value for required parameter 'experiment_id'.")
    try:
        if ref == DEFAULT_ID:
            store.experiments.get(DEFAULT_EXPERIMENT)  # created on first use
            return store.experiments.get(DEFAULT_EXPERIMENT)
        if not ref.isdigit():
            raise invalid(f"Invalid experiment id {ref!r}: experiment ids are integers")
        return store.experiments.get(int(ref))
    except NotFound:
        if ref == DEFAULT_ID:
            store.experiments.create(DEFAULT_EXPERIMENT)
            return store.experiments.get(DEFAULT_EXPERIMENT)
        raise missing(f"No Experiment with id={ref} exists") from None


def experiment_json(store: Store, exp: Experiment) -> dict[str, Any]:
    tags = store.mlflow.experiment_tags([exp.id]).get(exp.id, {})
    deleted = store.mlflow.deleted("experiment", [str(exp.id)])
    eid = experiment_id(exp)
    out: dict[str, Any] = {
        "experiment_id": eid,
        "name": experiment_name(exp),
        "artifact_location": f"mlflow-artifacts:/{eid}",
        "lifecycle_stage": "deleted" if deleted else "active",
        "creation_time": ms(exp.created_at),
        "last_update_time": ms(deleted.get(str(exp.id), exp.created_at)),
    }
    if tags:
        out["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return out


EXACT_LATEST_RUNS = 50


def _exact(
    store: Store, run_id: str, rows: list[tuple[str, float, int | None, float | None]]
) -> list[tuple[str, float, int | None, float | None]]:
    """MLflow's latest point is the greatest (step, timestamp, value); the summaries keep the
    last one logged at the greatest step. Read the points at that step to break ties."""
    out = []
    for key, value, step, ts in rows:
        series = store.metrics.read(run_id, [key], start=step, end=step).get(key)
        if series is not None and len(series.steps) > 1:
            points = zip(series.timestamps.tolist(), series.values.tolist(), strict=True)
            ts, value = max(points, key=lambda p: (p[0], -math.inf if math.isnan(p[1]) else p[1]))
        elif series is not None and len(series.steps) == 1:
            ts = float(series.timestamps[0])
        out.append((key, value, step, ts))
    return out


def runs_json(store: Store, runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Runs in MLflow's shape, their tags, deletes and latest metrics read in a few queries."""
    ids = [r.id for r in runs]
    tags = store.mlflow.run_tags(ids)
    latest = store.mlflow.latest_metrics(ids)
    if len(runs) <= EXACT_LATEST_RUNS:
        latest = {run_id: _exact(store, run_id, rows) for run_id, rows in latest.items()}
    deleted = store.mlflow.deleted("run", ids)
    experiments = {e.name: e for e in store.experiments.list()}
    gone_exps = store.mlflow.deleted("experiment", [str(e.id) for e in experiments.values()])
    out = []
    for run in runs:
        exp = experiments[run.experiment]
        is_deleted = run.id in deleted or str(exp.id) in gone_exps
        out.append(
            _run_dict(
                run.id,
                run.name,
                run.status,
                run.created_at,
                run.started_at,
                run.ended_at,
                run.params,
                experiment_id(exp),
                tags.get(run.id, {}),
                latest.get(run.id, []),
                is_deleted,
            )  # fmt: skip
        )
    return out


def runs_page(store: Store, run_ids: Sequence[str]) -> list[orjson.Fragment]:
    """The JSON of a page of searched runs (as `runs_json` makes it), each run's made once
    and reused while what it is made of reads the same."""
    rows = store.mlflow.page(run_ids)
    if len(rows) <= EXACT_LATEST_RUNS:
        rows = [
            dataclasses.replace(row, latest=tuple(_exact(store, row.id, list(row.latest))))
            for row in rows
        ]
    experiments = {e.id: e for e in store.experiments.list()}
    gone = store.mlflow.deleted("experiment", [str(i) for i in experiments])
    out = []
    for row in rows:
        key = (row, experiment_id(experiments[row.experiment_id]), str(row.experiment_id) in gone)
        small = len(row.params) <= _KEPT_PARAMS and len(row.tags) <= _KEPT_TAGS
        out.append(_page_json(*key) if small else _page_json.__wrapped__(*key))
    return out


_KEPT_PARAMS = 2048  # bytes of params JSON, and tags, past which a run's JSON is not kept
_KEPT_TAGS = 32


@functools.lru_cache(maxsize=4096)
def _page_json(row: PageRow, eid: str, experiment_deleted: bool) -> orjson.Fragment:
    made = _run_dict(
        row.id, row.name, row.status, row.created_at, row.started_at, row.ended_at,
        orjson.loads(row.params), eid, dict(row.tags), row.latest,
        row.deleted or experiment_deleted,
    )  # fmt: skip
    return orjson.Fragment(orjson.dumps(made))


def _run_dict(
    run_id: str,
    name: str,
    status: RunStatus,
    created_at: float,
    started_at: float | None,
    ended_at: float | None,
    params: dict[str, Any],
    eid: str,
    tags: dict[str, str],
    latest: Sequence[tuple[str, float, int | None, float | None]],
    is_deleted: bool,
) -> dict[str, Any]:
    run_tags = {**tags, RUN_NAME_TAG: name}
    inputs = run_tags.pop(INPUTS_TAG, None)
    info: dict[str, Any] = {
        "run_id": run_id,
        "run_uuid": run_id,
        "run_name": name,
        "experiment_id": eid,
        "user_id": run_tags.get(USER_TAG, ""),
        "status": TO_MLFLOW[status],
        "start_time": ms(started_at if started_at is not None else created_at),
        "artifact_uri": f"mlflow-artifacts:/{eid}/{run_id}/artifacts",
        "lifecycle_stage": "deleted" if is_deleted else "active",
    }
    if ended_at is not None:
        info["end_time"] = ms(ended_at)
    data: dict[str, Any] = {}
    metrics = [
        {"key": k, "value": number_out(v), "timestamp": ms(ts) or 0, "step": step or 0}
        for k, v, step, ts in latest
    ]
    if metrics:
        data["metrics"] = metrics
    if params:
        data["params"] = [{"key": k, "value": param_text(v)} for k, v in params.items()]
    data["tags"] = [{"key": k, "value": v} for k, v in sorted(run_tags.items())]
    datasets = {"dataset_inputs": orjson.loads(inputs)} if inputs else {}
    return {"info": info, "data": data, "inputs": datasets}
