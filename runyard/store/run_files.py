"""What a program without the SDK writes into its run dir: metrics.jsonl and progress.json.

metrics.jsonl is read from where the last read stopped, complete lines only; each read batch
is named (source "file:metrics.jsonl", seq = the byte offset where it ends), so re-reading a
region after a restart is acknowledged as a duplicate, never stored twice.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from runyard._names import name_problem
from runyard.store.metrics import Metrics, Series
from runyard.store.run_state import RunState
from runyard.store.tables import metric_batches

if TYPE_CHECKING:
    pass

log = logging.getLogger("runyard.run_files")

METRICS_FILE = "metrics.jsonl"
PROGRESS_FILE = "progress.json"
SOURCE = "file:metrics.jsonl"
MAX_READ = 64 * 1024 * 1024  # bytes of metrics.jsonl read per pass


@dataclass
class _Cursor:
    offset: int = 0
    lines: int = 0  # complete lines before offset: the step of a line that names none
    progress_stat: tuple[float, int] | None = None
    warned: set[str] = field(default_factory=set)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf"))
        return None
    return float(value)


class RunFiles:
    """Reads both files of active runs; one instance per server process."""

    def __init__(self, engine: sa.Engine, metrics: Metrics, run_state: RunState):
        self._engine = engine
        self._metrics = metrics
        self._state = run_state
        self._cursors: dict[str, _Cursor] = {}

    def _cursor(self, run_id: str, path: Path) -> _Cursor:
        cur = self._cursors.get(run_id)
        if cur is None:
            cur = self._cursors[run_id] = _Cursor()
            with self._engine.connect() as conn:
                done = conn.execute(
                    sa.select(sa.func.max(metric_batches.c.seq)).where(
                        metric_batches.c.run_id == run_id, metric_batches.c.source == SOURCE
                    )
                ).scalar()
            if done:
                cur.offset = int(done)
                with path.open("rb") as f:
                    cur.lines = f.read(cur.offset).count(b"\n")
        return cur

    def scan(self, run_id: str, run_dir: Path) -> int:
        """Ingest what is new in both files; the number of metric points stored."""
        stored = 0
        path = run_dir / METRICS_FILE
        first = run_id not in self._cursors
        if path.is_file():
            stored = self._read_metrics(run_id, path)
        self._read_progress(run_id, run_dir, recompute=first or stored > 0)
        return stored

    def forget(self, run_id: str) -> None:
        self._cursors.pop(run_id, None)

    def _read_metrics(self, run_id: str, path: Path) -> int:
        import numpy as np

        cur = self._cursor(run_id, path)
        if path.stat().st_size <= cur.offset:
            return 0
        with path.open("rb") as f:
            f.seek(cur.offset)
            chunk = f.read(MAX_READ)
        end = chunk.rfind(b"\n")
        if end < 0:
            return 0  # a line still being written
        chunk = chunk[: end + 1]
        columns: dict[str, tuple[list[int], list[float], list[float]]] = {}
        now = time.time()
        for i, raw in enumerate(chunk.splitlines()):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except ValueError:
                self._warn(
                    cur, run_id, f"line {cur.lines + i + 1} of {METRICS_FILE} is not a JSON object"
                )
                continue
            step = obj.get("step", cur.lines + i)
            if isinstance(step, bool) or not isinstance(step, int):
                self._warn(
                    cur, run_id, f"line {cur.lines + i + 1}: step {step!r} is not an integer"
                )
                continue
            ts = _number(obj.get("timestamp"))
            for key, value in obj.items():
                if key in ("step", "timestamp"):
                    continue
                number = _number(value)
                if number is None or len(key) > 250 or name_problem(key) is not None:
                    self._warn(cur, run_id, f"{METRICS_FILE}: {key!r} is not a numeric metric")
                    continue
                col = columns.setdefault(key, ([], [], []))
                col[0].append(step)
                col[1].append(number)
                col[2].append(now if ts is None or not math.isfinite(ts) else ts)
        series = [
            Series(k, np.array(s, dtype=np.int64), np.array(v), np.array(t))
            for k, (s, v, t) in columns.items()
        ]
        new_offset = cur.offset + len(chunk)
        result = self._metrics.ingest(run_id, series, source=SOURCE, seq=new_offset)
        cur.offset, cur.lines = new_offset, cur.lines + chunk.count(b"\n")
        return result.accepted

    def _read_progress(self, run_id: str, run_dir: Path, recompute: bool) -> None:
        """Take progress.json as written; a missing or corrupt one is rebuilt from the
        metrics, when there are new ones to rebuild it from."""
        path = run_dir / PROGRESS_FILE
        cur = self._cursors.setdefault(run_id, _Cursor())
        try:
            st = path.stat()
            stamp = (st.st_mtime, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp is not None and stamp == cur.progress_stat:
            return
        data = None
        if stamp is not None:
            try:
                data = json.loads(path.read_bytes())
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except ValueError:
                self._warn(cur, run_id, f"{PROGRESS_FILE} is corrupt; recomputed from the metrics")
        if data is not None and stamp is not None and self._older(run_id, stamp[0]):
            cur.progress_stat = stamp  # stale (e.g. read again after a restart): ignored
            return
        if data is not None:
            epoch = data.get("completed_epochs")
            total = data.get("total_epochs")
            stopped_at = data.get("early_stopped_at_epoch")
            self._state.set_progress(
                run_id,
                epoch=epoch if isinstance(epoch, int) and epoch >= 0 else None,
                total_epochs=total if isinstance(total, int) and total > 0 else None,
                early_stopped=bool(data["early_stopped"]) if "early_stopped" in data else None,
                stopped_at_epoch=stopped_at if isinstance(stopped_at, int) else None,
            )
            cur.progress_stat = stamp
            return
        if recompute and self._recompute_progress(run_id, path):
            st = path.stat()
            cur.progress_stat = (st.st_mtime, st.st_size)

    def _older(self, run_id: str, mtime: float) -> bool:
        """True when the store got its current progress after the file was last written:
        the file cannot be newer news, so it never moves progress back."""
        seen = self._state.progress_seen_at(run_id)
        return seen is not None and mtime < seen

    def _recompute_progress(self, run_id: str, path: Path) -> bool:
        """Rebuild progress.json from the `epoch` metric and what the store knows."""
        epochs = self._metrics.recent(run_id, "epoch", n=1)
        info = self._state.progress(run_id)
        epoch = info.epoch
        if epochs is not None and len(epochs.values) and math.isfinite(epochs.values[-1]):
            epoch = max(epoch or 0, int(epochs.values[-1]) + 1)
        if epoch is None:
            return False
        info = self._state.set_progress(run_id, epoch=epoch)
        doc = {
            "completed_epochs": info.epoch,
            "total_epochs": info.total_epochs,
            "progress_percentage": info.percent,
            "early_stopped": info.early_stopped,
            "early_stopped_at_epoch": info.stopped_at_epoch,
        }
        tmp = path.with_name(f".{PROGRESS_FILE}.tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)
        return True

    @staticmethod
    def _warn(cur: _Cursor, run_id: str, message: str) -> None:
        if message not in cur.warned and len(cur.warned) < 100:
            cur.warned.add(message)
            log.warning("run %s: %s", run_id, message)
