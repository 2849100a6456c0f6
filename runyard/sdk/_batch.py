"""Rows queued by `Run.log` to the body of one metrics request (see tracking-protocol.md).

This runs on the writer thread for every point logged, so it must outpace `Run.log` itself.
"""

from __future__ import annotations

from typing import Any

import orjson

_INF = float("inf")

# A row is what `Run.log` queues: {0: step, 1: time, key: value, …}. A dict of numbers and
# strings is not tracked by the garbage collector (a tuple holding a dict would be), so a
# backlog of rows while the writer catches up costs the collector nothing.
Row = dict[Any, Any]


def _json_float(x: float) -> float | str:
    if x == _INF:
        return "Infinity"
    if x == -_INF:
        return "-Infinity"
    return x


def columns(rows: list[Row]) -> dict[str, tuple[list[int], list[Any], list[float]]]:
    """Rows to (steps, values, timestamps) per key.

    A script logs the same keys call after call, so runs of rows with the same keys are
    transposed with zip (in C) rather than point by point: this thread must outpace `log`.
    """
    cols: dict[str, tuple[list[int], list[Any], list[float]]] = {}
    start, n = 0, len(rows)
    while start < n:
        keys = tuple(rows[start])
        end = start + 1
        while end < n and tuple(rows[end]) == keys:
            end += 1
        steps, stamps, *series = zip(*[r.values() for r in rows[start:end]], strict=True)
        for key, values in zip(keys[2:], series, strict=True):
            col = cols.get(key)
            if col is None:
                cols[key] = (list(steps), list(values), list(stamps))
            else:
                col[0].extend(steps)
                col[1].extend(values)
                col[2].extend(stamps)
        start = end
    return cols


def metrics_body(source: str, seq: int, rows: list[Row]) -> bytes:
    """The batch as JSON: named by (source, seq) so that the server stores it once."""
    metrics = {}
    for key, (steps, values, stamps) in columns(rows).items():
        if _INF in values or -_INF in values:  # JSON has no infinity; NaN dumps as null
            values = [_json_float(v) for v in values]
        metrics[key] = {"steps": steps, "values": values, "timestamps": stamps}
    return orjson.dumps({"source": source, "seq": seq, "metrics": metrics})
