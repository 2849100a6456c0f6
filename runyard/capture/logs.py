"""Metrics from an attempt's log (logs/attempt-N.log), read from where the last read stopped.

Each read batch is stored under the source "log:attempt-N" with seq = the byte offset where
it ends, complete lines only; after a server restart the reader starts at the largest stored
offset, so no point is lost and none is stored twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from runyard.capture._points import Points, last_seq
from runyard.capture.patterns import Pattern, match_line
from runyard.store import Store

MAX_READ = 16 * 1024 * 1024  # bytes of log read per pass
SHIM_PREFIX = b"[runyard] "  # the supervisor's own notes in the log


@dataclass
class LogCursor:
    attempt: int
    source: str
    offset: int
    lines: int  # complete lines before offset: the step of a match that names none


def open_cursor(store: Store, run_id: str, path: Path, attempt: int) -> LogCursor:
    source = f"log:attempt-{attempt}"
    offset = last_seq(store.engine, run_id, source)
    lines = 0
    if offset:
        with path.open("rb") as f:
            lines = f.read(offset).count(b"\n")
    return LogCursor(attempt, source, offset, lines)


def read_log(
    store: Store, run_id: str, path: Path, cursor: LogCursor, patterns: list[Pattern]
) -> int:
    """Turn the new complete lines into metrics; the number of points stored."""
    try:
        if path.stat().st_size <= cursor.offset:
            return 0
        with path.open("rb") as f:
            f.seek(cursor.offset)
            chunk = f.read(MAX_READ)
    except FileNotFoundError:
        return 0
    end = chunk.rfind(b"\n")
    if end < 0:
        return 0  # a line still being written
    chunk = chunk[: end + 1]
    points = Points()
    now = time.time()
    for i, raw in enumerate(chunk.splitlines()):
        if not raw or raw.startswith(SHIM_PREFIX):
            continue
        found = match_line(patterns, raw.decode("utf-8", "replace").rstrip("\r"))
        if found is None:
            continue
        step = found.step if found.step is not None else cursor.lines + i
        if found.epoch is not None:
            points.add("epoch", step, found.epoch, now)
        for key, value in found.values.items():
            points.add(key, step, value, now)
    new_offset = cursor.offset + len(chunk)
    accepted = 0
    if len(points):  # lines without metrics are simply read again after a restart
        result = store.metrics.ingest(run_id, points.series(), source=cursor.source, seq=new_offset)
        accepted = result.accepted
    cursor.offset = new_offset
    cursor.lines += chunk.count(b"\n")
    return accepted
