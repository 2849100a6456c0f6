"""Runs side by side: where their configs differ and how their final metrics rank.

Pure functions over `Run` records (their params, the last value of each metric and their
goals), so that the API and the CLI agree and a test needs no server. No metric name is
special: "best" is decided per key by the goal the runs declared for it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from runyard.entities import Goal, Run
from runyard.errors import BadRequest

MIN_RUNS, MAX_RUNS = 2, 10


@dataclass(frozen=True, slots=True)
class ConfigRow:
    key: str  # nested params flattened with dots: {"opt": {"lr": 1}} → "opt.lr"
    values: dict[str, Any]  # run id → value; None where the run lacks the key
    differs: bool
    missing: dict[str, str]  # run id → why it has no value ("not started", "no such key")


@dataclass(frozen=True, slots=True)
class MetricRow:
    key: str
    goal: Goal | None  # None when the runs disagree on it or declared none
    values: dict[str, float | None]  # run id → last value (NaN stays NaN); None when absent
    best_run_id: str | None
    deltas: dict[str, float | None]  # run id → value − the baseline's; None when not finite
    missing: dict[str, str]  # run id → why it has no value ("not started", "not logged")


@dataclass(frozen=True, slots=True)
class Comparison:
    runs: list[Run]
    baseline: str | None
    config: list[ConfigRow]
    metrics: list[MetricRow]


def check_request(run_ids: Sequence[str], baseline: str | None) -> None:
    """Bad requests are refused before any run is read."""
    if not MIN_RUNS <= len(run_ids) <= MAX_RUNS:
        raise BadRequest(f"compare takes {MIN_RUNS} to {MAX_RUNS} runs, not {len(run_ids)}")
    seen: set[str] = set()
    for run_id in run_ids:
        if run_id in seen:
            raise BadRequest(f"run {run_id!r} is named twice")
        seen.add(run_id)
    if baseline is not None and baseline not in seen:
        raise BadRequest(f"the baseline {baseline!r} is not one of the compared runs")


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys; lists and empty dicts stay values."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _canonical(value: Any) -> Any:
    """Equal configs compare equal: 1 and 1.0 alike, true and 1 not, dict order ignored."""
    if value is None or isinstance(value, (bool, str)):
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", value)
    return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def _why_missing(run: Run, absent: str) -> str:
    """Why a cell is empty, in words: the table shows "—" and this, never a bare null."""
    return "not started" if run.started_at is None else absent


def _config(runs: Sequence[Run], diff_only: bool) -> list[ConfigRow]:
    flat = {run.id: flatten(run.params) for run in runs}
    keys = sorted({key for params in flat.values() for key in params})
    rows = []
    for key in keys:
        values = {run_id: params.get(key) for run_id, params in flat.items()}
        missing = {r.id: _why_missing(r, "no such key") for r in runs if key not in flat[r.id]}
        differs = len({_canonical(v) for v in values.values()}) > 1
        if differs or not diff_only:
            rows.append(ConfigRow(key, values, differs, missing))
    return rows


def _goal(runs: Sequence[Run], key: str) -> Goal | None:
    goals = {run.metric_goals.get(key) for run in runs if key in run.metrics}
    return goals.pop() if len(goals) == 1 else None


def _best(values: dict[str, float | None], goal: Goal | None) -> str | None:
    if goal is None:
        return None
    best: tuple[str, float] | None = None
    for run_id, value in values.items():  # in the order asked: the first of equals wins
        if value is None or math.isnan(value):
            continue  # NaN is never best
        if best is None or goal.better(value, best[1]):
            best = (run_id, value)
    return best[0] if best else None


def _delta(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or not (math.isfinite(value) and math.isfinite(base)):
        return None
    return value - base


def _deltas(values: dict[str, float | None], baseline: str | None) -> dict[str, float | None]:
    base = values.get(baseline) if baseline is not None else None
    return {run_id: _delta(value, base) for run_id, value in values.items()}


def compare(
    runs: Sequence[Run], baseline: str | None = None, diff_only: bool = False
) -> Comparison:
    """Config rows for every key of any run's params; metric rows for every key any run
    logged, holding its last value, the best run by the key's goal and deltas to the
    baseline."""
    keys = sorted({key for run in runs for key in run.metrics})
    metrics = []
    for key in keys:
        values = {run.id: run.metrics.get(key) for run in runs}
        missing = {r.id: _why_missing(r, "not logged") for r in runs if key not in r.metrics}
        goal = _goal(runs, key)
        best, deltas = _best(values, goal), _deltas(values, baseline)
        metrics.append(MetricRow(key, goal, values, best, deltas, missing))
    return Comparison(list(runs), baseline, _config(runs, diff_only), metrics)
