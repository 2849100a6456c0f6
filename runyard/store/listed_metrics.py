"""A run's metrics as the runs list shows them, kept on the run's row.

The list shows each key's last value and the best (and its step) of the run's primary metric.
Reading them from metric_summaries costs a row per key, five hundred for a page of a hundred
runs; the list instead reads one JSON text per run, `runs.listed_metrics`:
``{"key": [last, best, best_step], ...}``, NaN and the infinities as the strings "NaN",
"Infinity" and "-Infinity" (JSON has none), as the API sends them.

Every write of metric_summaries rewrites it in the same transaction (`refresh`), under the
run's row lock (`_locks.lock_run`), which such a writer takes first: two ingests into one run
at once then write it one after the other, the second from both (on PostgreSQL, a statement
that waited on the lock would otherwise read from its snapshot of before the first
committed), and every writer takes the run's lock before the summaries' rows (no deadlock).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
import sqlalchemy as sa

from runyard.store.run_state import json_number
from runyard.store.tables import metric_summaries, runs

# key -> (last value, best, step of the best), numbers as floats (a NaN last is math.nan)
Summaries = dict[str, tuple[float, float | None, int | None]]

_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode(rows: Iterable[tuple[str, float | None, float | None, int | None]]) -> str | None:
    """The column's text from (key, last, best, best_step) rows; a NULL last is a NaN."""
    out = {
        key: [json_number(math.nan if last is None else last), json_number(best), best_step]
        for key, last, best, best_step in rows
    }
    return orjson.dumps(out).decode() if out else None


def listed(text: str | None) -> dict[str, list[Any]]:
    """The column as the API shows it: key -> [last, best, best_step], JSON-ready."""
    return orjson.loads(text) if text else {}


def summaries(text: str | None) -> Summaries:
    """The column as numbers, for a `Run`."""
    return {
        key: (float(_FLOATS.get(last, last)), _float(best), step)  # a last is never null
        for key, (last, best, step) in listed(text).items()
    }


def _float(x: float | str | None) -> float | None:
    return _FLOATS[x] if isinstance(x, str) else x


def refresh(conn: sa.Connection, run_id: str) -> None:
    """Rewrite the run's listed metrics from its metric_summaries; ``conn``'s transaction
    holds the run's lock (`lock_run`) since before it wrote them, or SQLite's write lock."""
    rows = conn.execute(_READ, {"of_run": run_id}).all()
    conn.execute(_WRITE, {"the_run": run_id, "listed": encode(map(tuple, rows))})


# Built once: an ingest runs these every batch, and building them costs more than running them.
_READ = (
    sa.select(
        metric_summaries.c.key,
        metric_summaries.c.last,
        metric_summaries.c.best,
        metric_summaries.c.best_step,
    )
    .where(metric_summaries.c.run_id == sa.bindparam("of_run"))
    .order_by(metric_summaries.c.key)
)
_WRITE = (
    runs.update()
    .where(runs.c.id == sa.bindparam("the_run"))
    .values(listed_metrics=sa.bindparam("listed"))
)


def from_summary_rows(rows: Iterable[Mapping[str, Any]]) -> str | None:
    """The column's text from metric_summaries rows about to be written (a batch of runs)."""
    ordered = sorted(rows, key=lambda r: str(r["key"]))
    return encode((r["key"], r["last"], r["best"], r["best_step"]) for r in ordered)
