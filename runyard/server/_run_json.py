"""Runs as JSON straight from their rows: the hot reads (the runs list, compare) without
building and validating a pydantic model per run. The shapes are `RunOut`'s and `CompareOut`'s,
which the OpenAPI document declares; tests/server/test_run_json.py holds them to the same
answer."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from runyard._environment import describe
from runyard.entities import Run
from runyard.store import listed_metrics
from runyard.store.compare import Comparison
from runyard.store.run_state import json_number
from runyard.store.runs import RowPage, primary_key

MAX_LISTED_PARAM = 1024  # bytes of JSON; a listing cuts longer params short
REMEMBERED_RUNS = 2048  # runs of listings kept as JSON, per process: at most ~8 MB
MAX_REMEMBERED_PARAMS = 2048  # bytes of a row's params JSON beyond which it is not kept
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = orjson.OPT_UTC_Z


def when(seconds: float | None) -> datetime | None:
    """A UNIX time as pydantic reads a float into a datetime (microseconds rounded half up)."""
    if seconds is None:
        return None
    whole = math.floor(seconds)
    return _EPOCH + timedelta(seconds=whole, microseconds=int((seconds - whole) * 1e6 + 0.5))


def _listed_params(text: str) -> tuple[Any, list[str]]:
    """Params as a listing shows them (from their JSON text): a 1 MB param is not sent on
    every page. Text no longer than the cut holds no param to cut: it is sent as it is."""
    if len(text) <= MAX_LISTED_PARAM:
        return orjson.Fragment(text), []
    params: dict[str, Any] = orjson.loads(text)
    cut: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (int, float, bool)) or value is None:
            continue  # short by nature
        encoded = orjson.dumps(value)
        if len(encoded) > MAX_LISTED_PARAM:
            cut[key] = encoded[:MAX_LISTED_PARAM].decode(errors="ignore") + "…"
    if not cut:
        return orjson.Fragment(text), []
    return {**params, **cut}, list(cut)


def run_json(m: Mapping[Any, Any], datasets: Sequence[dict[str, str]]) -> dict[str, Any]:
    """One run of a listing, in RunOut's shape, from its listed row (`Runs.list_rows`: JSON
    columns as text, passed on as they are where nothing in them changes)."""
    summaries = listed_metrics.listed(m["listed_metrics"])
    goals = m["metric_goals"]
    primary_metric = m["primary_metric"]
    primary = summaries.get(
        primary_key(primary_metric, orjson.loads(goals) if primary_metric is None else {}) or ""
    )
    params, truncated = _listed_params(m["params"])
    spec = orjson.loads(m["spec"]) if m["spec"] is not None else None
    return {
        "id": m["id"],
        "name": m["name"],
        "experiment": m["experiment_name"],
        "status": m["status"],
        "params": params,
        "tags": orjson.Fragment(m["tags"]),
        "notes": m["notes"],
        "early_stopped": bool(m["early_stopped"]),
        "stopped_at_epoch": m["stopped_at_epoch"],
        "progress": {
            "epoch": m["epoch"],
            "total_epochs": m["total_epochs"],
            "percent": m["percent"],
        },
        "attempt_count": m["attempt_count"],
        "run_dir": m["run_dir"],
        "created_at": when(m["created_at"]),
        "started_at": when(m["started_at"]),
        "ended_at": when(m["ended_at"]),
        "primary_metric": primary_metric,
        "metric_goals": orjson.Fragment(goals),
        "metrics": {k: v[0] for k, v in summaries.items()},
        "reason": m["reason"],
        "priority": m["priority"],
        "depends_on": list((spec or {}).get("depends_on", ())),
        "best": primary[1] if primary else None,
        "best_step": primary[2] if primary else None,
        "environment": describe(spec),
        "datasets": list(datasets),
        "params_truncated": truncated,
        "sweep_id": m["sweep_id"],
        "trial": m["trial"],
    }


def run_list_json(page: RowPage) -> bytes:
    """`GET /api/runs`'s answer, serialised once; each run's part is reused while its row and
    its datasets read the same (a dashboard lists the same runs again and again)."""
    runs = []
    for r in page.rows:
        row = tuple(r)
        used = tuple((d["name"], d["version"]) for d in page.datasets.get(r.id, ()))
        if len(r.params) > MAX_REMEMBERED_PARAMS:  # not kept: the key would hold them
            runs.append(_rendered(r._fields, row, used))
        else:
            runs.append(_remembered(r._fields, row, used))
    return orjson.dumps({"runs": runs, "next_cursor": page.next_cursor})


def _rendered(
    names: tuple[str, ...], row: tuple[Any, ...], used: tuple[tuple[str, str], ...]
) -> orjson.Fragment:
    """One run of a listing as JSON, from its listed row (`Runs.list_rows`) alone: the same
    row and datasets make the same bytes, whenever they are read."""
    datasets = [{"name": name, "version": version} for name, version in used]
    return orjson.Fragment(
        orjson.dumps(run_json(dict(zip(names, row, strict=True)), datasets), option=_OPTIONS)
    )


# Keyed by the whole row as read: a run changed in any way is a new key, never a stale answer.
_remembered = functools.lru_cache(maxsize=REMEMBERED_RUNS)(_rendered)


def run_dict(run: Run) -> dict[str, Any]:
    """One whole run (no param cut short) in RunOut's shape, from the store's Run."""
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status.value,
        "params": run.params,
        "tags": run.tags,
        "notes": run.notes,
        "early_stopped": run.early_stopped,
        "stopped_at_epoch": run.stopped_at_epoch,
        "progress": {
            "epoch": run.progress.epoch,
            "total_epochs": run.progress.total_epochs,
            "percent": run.progress.percent,
        },
        "attempt_count": run.attempt_count,
        "run_dir": run.run_dir,
        "created_at": when(run.created_at),
        "started_at": when(run.started_at),
        "ended_at": when(run.ended_at),
        "primary_metric": run.primary_metric,
        "metric_goals": {k: g.value for k, g in run.metric_goals.items()},
        "metrics": {k: json_number(v) for k, v in run.metrics.items()},
        "reason": run.reason,
        "priority": run.priority,
        "depends_on": run.depends_on,
        "best": json_number(run.best),
        "best_step": run.best_step,
        "environment": run.environment,
        "datasets": run.datasets,
        "params_truncated": [],
        "sweep_id": run.sweep_id,
        "trial": run.trial,
    }


def _numbers(d: Mapping[str, float | None]) -> dict[str, float | str | None]:
    return {k: json_number(v) for k, v in d.items()}


def compare_json(c: Comparison) -> bytes:
    """`POST /api/compare`'s answer (CompareOut's shape), serialised once."""
    return orjson.dumps(
        {
            "runs": [run_dict(r) for r in c.runs],
            "baseline": c.baseline,
            "config": [
                {"key": r.key, "values": r.values, "differs": r.differs, "missing": r.missing}
                for r in c.config
            ],
            "metrics": [
                {
                    "key": r.key,
                    "goal": r.goal.value if r.goal else None,
                    "values": _numbers(r.values),
                    "best_run_id": r.best_run_id,
                    "deltas": _numbers(r.deltas),
                    "missing": r.missing,
                }
                for r in c.metrics
            ],
        },
        option=_OPTIONS,
    )
