"""Runs as JSON straight from their rows: the hot reads (the runs list) without building and
validating a pydantic model per run. The shape is `RunOut`'s, which the OpenAPI document
declares; tests/server/test_run_json.py holds the two to the same answer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from runyard._environment import describe
from runyard.store.runs import RowPage, primary_key

MAX_LISTED_PARAM = 1024  # bytes of JSON; a listing cuts longer params short
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONS = orjson.OPT_UTC_Z


def when(seconds: float | None) -> datetime | None:
    """A UNIX time as pydantic reads a float into a datetime (microseconds rounded half up)."""
    if seconds is None:
        return None
    whole = math.floor(seconds)
    return _EPOCH + timedelta(seconds=whole, microseconds=int((seconds - whole) * 1e6 + 0.5))


def number(x: float | None) -> float | str | None:
    """A float as JSON holds it: NaN and ±inf as strings."""
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _listed_params(params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Params as a listing shows them: a 1 MB param is not sent on every page."""
    cut: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, (int, float, bool)) or value is None:
            continue  # short by nature
        text = orjson.dumps(value)
        if len(text) > MAX_LISTED_PARAM:
            cut[key] = text[:MAX_LISTED_PARAM].decode(errors="ignore") + "…"
    if not cut:
        return params, []
    return {**params, **cut}, list(cut)


def run_json(
    m: Mapping[Any, Any],
    summaries: Mapping[str, tuple[float, float | None, int | None]] | None,
    datasets: Sequence[dict[str, str]],
) -> dict[str, Any]:
    """One run of a listing, in RunOut's shape, from its row and its metric summaries."""
    summaries = summaries or {}
    primary = summaries.get(primary_key(m["primary_metric"], m["metric_goals"]) or "")
    params, truncated = _listed_params(m["params"])
    spec = m["spec"]
    return {
        "id": m["id"],
        "name": m["name"],
        "experiment": m["experiment_name"],
        "status": m["status"],
        "params": params,
        "tags": m["tags"],
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
        "primary_metric": m["primary_metric"],
        "metric_goals": m["metric_goals"],
        "metrics": {k: number(v[0]) for k, v in summaries.items()},
        "reason": m["reason"],
        "priority": m["priority"],
        "depends_on": list((spec or {}).get("depends_on", ())),
        "best": number(primary[1]) if primary else None,
        "best_step": primary[2] if primary else None,
        "environment": describe(spec),
        "datasets": list(datasets),
        "params_truncated": truncated,
        "sweep_id": m["sweep_id"],
        "trial": m["trial"],
    }


def run_list_json(page: RowPage) -> bytes:
    """`GET /api/runs`'s answer, serialised once."""
    runs = [
        run_json(r._mapping, page.summaries.get(r.id), page.datasets.get(r.id, ()))
        for r in page.rows
    ]
    return orjson.dumps({"runs": runs, "next_cursor": page.next_cursor}, option=_OPTIONS)
