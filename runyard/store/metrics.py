"""Metric points: chunked ingest with idempotent batches, per-key summaries, columnar reads."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runyard.entities import Goal, MetricSummary, RunStatus
from runyard.errors import NotFound
from runyard.store import _codec, _tiles, listed_metrics
from runyard.store._exists import require_run
from runyard.store._locks import lock_run
from runyard.store.chunk_cache import ChunkCache
from runyard.store.events import Events
from runyard.store.tables import (
    metric_batches,
    metric_chunks,
    metric_heads,
    metric_summaries,
    metric_tiles,
    runs,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SMALL_CHUNK = 2048  # chunks under this many points get merged in the background
MERGED_CHUNK = 65536


@dataclass(frozen=True)
class Series:
    """Points of one key, arrays aligned."""

    key: str
    steps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    timestamps: npt.NDArray[np.float64]


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicate: bool


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _batch_summary(s: Series, goal: Goal | None) -> dict[str, Any]:
    import numpy as np

    last_i = len(s.steps) - 1 - int(np.argmax(s.steps[::-1]))  # last point at the highest step
    finite = ~np.isnan(s.values)
    row: dict[str, Any] = {
        "key": s.key,
        "count": len(s.steps),
        "last": _opt(s.values[last_i]),
        "last_step": int(s.steps[last_i]),
        "min": None,
        "max": None,
        "best": None,
        "best_step": None,
        "goal": goal.value if goal else None,
        "first_ts": float(s.timestamps.min()),
        "last_ts": float(s.timestamps.max()),
    }
    if finite.any():
        vals, steps = s.values[finite], s.steps[finite]
        i_min, i_max = int(np.argmin(vals)), int(np.argmax(vals))
        row["min"], row["max"] = float(vals[i_min]), float(vals[i_max])
        if goal is not None:
            i = i_min if goal is Goal.MIN else i_max
            row["best"], row["best_step"] = float(vals[i]), int(steps[i])
    return row


def _lesser(a: Any, b: Any) -> sa.ColumnElement[Any]:
    return sa.case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def _greater(a: Any, b: Any) -> sa.ColumnElement[Any]:
    return sa.case((a.is_(None), b), (b.is_(None), a), (a >= b, a), else_=b)


@functools.cache
def _decoder() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="runyard-decode")


def _goals_and_status(conn: sa.Connection, run_id: str) -> Any:
    run = conn.execute(
        sa.select(runs.c.metric_goals, runs.c.status).where(runs.c.id == run_id)
    ).first()
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    return run


def _insert_chunks(
    conn: sa.Connection, run_id: str, parts: Sequence[tuple[str, Any, Any, Any]]
) -> None:
    """Chunks of (key, steps, values, timestamps), each with its tiles, in this transaction."""
    rows, tiles = [], []
    for key, steps, values, ts in parts:
        rows.append(
            {
                "run_id": run_id,
                "key": key,
                "count": len(steps),
                "step_min": int(steps.min()),
                "step_max": int(steps.max()),
                "data": _codec.encode(steps, values, ts),
            }
        )
        points = _tiles.sorted_points(steps, values, ts)
        tiles.append(
            {
                "data": _tiles.encode(_tiles.of_points(*points)),
                "whole": _tiles.encode(_tiles.of_points(*points, size=len(steps))),
            }
        )
    ids = list(
        conn.execute(
            metric_chunks.insert().returning(metric_chunks.c.id, sort_by_parameter_order=True),
            rows,
        ).scalars()
    )
    conn.execute(
        metric_tiles.insert(),
        [{"chunk_id": i, **t} for i, t in zip(ids, tiles, strict=True)],
    )
    conn.execute(
        metric_heads.insert(),
        [
            {
                "run_id": run_id,
                "key": r["key"],
                "step_min": r["step_min"],
                "chunk_id": i,
                "count": r["count"],
                "whole": t["whole"],
            }
            for i, r, t in zip(ids, rows, tiles, strict=True)
        ],
    )


def _refresh_summary(conn: sa.Connection, run_id: str) -> None:
    from runyard.store.run_state import compute_summary

    summary = compute_summary(conn, run_id)
    conn.execute(runs.update().where(runs.c.id == run_id).values(summary=summary))


class _Raced(Exception):
    """Chunks being merged were merged by another compaction first."""


class Metrics:
    def __init__(self, engine: sa.Engine, events: Events | None = None):
        self._engine = engine
        self._events = events
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._upsert = self._upsert_summaries()  # built once: building it costs ~1 ms a batch
        self._chunks = ChunkCache()  # decoded chunks for deep zooms (chunk_cache.py)
        # An ingest rewrites the run's listed metrics from its summaries: on PostgreSQL under
        # the run's row lock; SQLite's transaction holds the database's one write lock from
        # its first write, before it reads the summaries, and a lock of the row first would
        # only hold that lock longer (ingests from many runs at once wait on it).
        self._row_locks = engine.dialect.name == "postgresql"

    def _upsert_summaries(self) -> Any:
        t = metric_summaries
        stmt = self._insert(t)
        ex = stmt.excluded
        newer = sa.or_(t.c.last_step.is_(None), ex.last_step >= t.c.last_step)
        improves = sa.or_(
            t.c.best.is_(None),
            sa.and_(ex.goal == Goal.MIN.value, ex.best < t.c.best),
            sa.and_(ex.goal == Goal.MAX.value, ex.best > t.c.best),
        )
        has_new_best = sa.and_(ex.best.is_not(None), improves)
        return stmt.on_conflict_do_update(
            index_elements=[t.c.run_id, t.c.key],
            set_={
                "count": t.c.count + ex.count,
                "last": sa.case((newer, ex.last), else_=t.c.last),
                "last_step": sa.case((newer, ex.last_step), else_=t.c.last_step),
                "min": _lesser(t.c.min, ex.min),
                "max": _greater(t.c.max, ex.max),
                "best": sa.case((has_new_best, ex.best), else_=t.c.best),
                "best_step": sa.case((has_new_best, ex.best_step), else_=t.c.best_step),
                "goal": ex.goal,
                "first_ts": _lesser(t.c.first_ts, ex.first_ts),
                "last_ts": _greater(t.c.last_ts, ex.last_ts),
            },
        )

    def ingest(
        self,
        run_id: str,
        series: Sequence[Series],
        *,
        source: str | None = None,
        seq: int | None = None,
    ) -> IngestResult:
        """Store one batch atomically; a batch seen before (same source and seq) is skipped."""
        points = sum(len(s.steps) for s in series)
        with self._engine.begin() as conn:
            if self._row_locks:  # first, as every writer of a run: no lock-order deadlock
                lock_run(conn, run_id)
            run = _goals_and_status(conn, run_id)
            if source is not None and seq is not None:
                # One statement, not a SAVEPOINT: pysqlite does not BEGIN before a SAVEPOINT,
                # so releasing it would commit the batch's name apart from its points.
                named = conn.execute(
                    self._insert(metric_batches)
                    .values(
                        run_id=run_id,
                        source=source,
                        seq=seq,
                        points=points,
                        received_at=time.time(),
                    )
                    .on_conflict_do_nothing()
                    .returning(metric_batches.c.seq)  # psycopg's rowcount here is -1
                ).first()
                if named is None:
                    return IngestResult(accepted=0, duplicate=True)
            nonempty = [s for s in series if len(s.steps)]
            if not nonempty:
                return IngestResult(accepted=0, duplicate=False)
            _insert_chunks(
                conn, run_id, [(s.key, s.steps, s.values, s.timestamps) for s in nonempty]
            )
            metric_goals = run.metric_goals
            rows = []
            for s in nonempty:
                goal = metric_goals.get(s.key)
                rows.append({"run_id": run_id, **_batch_summary(s, Goal(goal) if goal else None)})
            conn.execute(self._upsert, rows)
            listed_metrics.refresh(conn, run_id)
            if RunStatus(run.status).is_terminal():  # late points: keep the stored summary true
                _refresh_summary(conn, run_id)
        if self._events is not None:
            last_step = max(int(s.steps.max()) for s in nonempty)
            self._events.metrics(run_id, [s.key for s in nonempty], last_step)
        return IngestResult(accepted=points, duplicate=False)

    def set_goals(self, run_id: str, goals: dict[str, Goal], primary: str | None = None) -> None:
        """Say what "best" means per key; the best of points already stored is recomputed."""
        with self._engine.begin() as conn:
            lock_run(conn, run_id)  # the goals are merged: a concurrent change is not lost
            run = _goals_and_status(conn, run_id)
            merged = {**run.metric_goals, **{k: g.value for k, g in goals.items()}}
            values: dict[str, Any] = {"metric_goals": merged}
            if primary is not None:
                values["primary_metric"] = primary
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
            for key, goal in goals.items():
                self._recompute_best(conn, run_id, key, goal)
            listed_metrics.refresh(conn, run_id)
            if RunStatus(run.status).is_terminal():
                _refresh_summary(conn, run_id)

    def _recompute_best(self, conn: sa.Connection, run_id: str, key: str, goal: Goal) -> None:
        import numpy as np

        c = metric_chunks.c
        chunks = conn.execute(
            sa.select(c.count, c.data).where(c.run_id == run_id, c.key == key)
        ).all()
        best: float | None = None
        best_step: int | None = None
        for count, data in chunks:
            steps, values, _ = _codec.decode(data, count)
            finite = ~np.isnan(values)
            if not finite.any():
                continue
            vals = values[finite]
            i = int(np.argmin(vals) if goal is Goal.MIN else np.argmax(vals))
            if best is None or goal.better(float(vals[i]), best):
                best, best_step = float(vals[i]), int(steps[finite][i])
        t = metric_summaries
        conn.execute(
            t.update()
            .where(t.c.run_id == run_id, t.c.key == key)
            .values(goal=goal.value, best=best, best_step=best_step)
        )

    def recent(self, run_id: str, key: str, n: int = 50) -> Series | None:
        """The last ``n`` points of ``key`` by step, reading only the newest chunks."""
        import numpy as np

        c = metric_chunks.c
        parts = []
        seen = 0
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.count, c.data)
                .where(c.run_id == run_id, c.key == key)
                .order_by(c.step_max.desc(), c.id.desc())
            )
            for count, data in rows:
                parts.append(_codec.decode(data, count))
                seen += count
                if seen >= n:
                    break
        if not parts:
            return None
        steps = np.concatenate([p[0] for p in parts])
        order = np.argsort(steps, kind="stable")[-n:]
        values = np.concatenate([p[1] for p in parts])
        ts = np.concatenate([p[2] for p in parts])
        return Series(key, steps[order], values[order], ts[order])

    def compact(self, small: int = SMALL_CHUNK, min_chunks: int = 8, limit: int = 50) -> int:
        """Merge runs of small chunks (many tiny SDK batches) into big ones; keys merged.

        Each (run, key) is rewritten in one transaction, so a reader sees the old chunks or the
        new ones, never both or neither.
        """
        c = metric_chunks.c
        with self._engine.connect() as conn:
            groups = conn.execute(
                sa.select(c.run_id, c.key)
                .where(c.count < small)
                .group_by(c.run_id, c.key)
                .having(sa.func.count() >= min_chunks)
                .limit(limit)
            ).all()
        for run_id, key in groups:
            try:
                self._compact_one(run_id, key, small)
            except _Raced:
                continue  # another compaction took these chunks first: nothing merged twice
        return len(groups)

    def _compact_one(self, run_id: str, key: str, small: int) -> None:
        import numpy as np

        c = metric_chunks.c
        with self._engine.begin() as conn:
            rows = conn.execute(
                sa.select(c.id, c.count, c.data)
                .where(c.run_id == run_id, c.key == key, c.count < small)
                .order_by(c.step_min, c.id)
            ).all()
            if len(rows) < 2:
                return
            parts = [_codec.decode(data, count) for _, count, data in rows]
            steps = np.concatenate([p[0] for p in parts])
            values = np.concatenate([p[1] for p in parts])
            ts = np.concatenate([p[2] for p in parts])
            order = np.argsort(steps, kind="stable")
            steps, values, ts = steps[order], values[order], ts[order]
            # SQLite's driver read the rows before the transaction began: what the delete
            # (which takes the write lock) finds gone was merged by someone else meanwhile.
            gone = conn.execute(metric_chunks.delete().where(c.id.in_([r[0] for r in rows])))
            if gone.rowcount != len(rows):
                raise _Raced
            cut = range(0, len(steps), MERGED_CHUNK)
            # The old chunks' tiles went with them (ON DELETE CASCADE); the new get theirs.
            _insert_chunks(
                conn,
                run_id,
                [
                    (key, steps[i : i + MERGED_CHUNK], values[i : i + MERGED_CHUNK],
                     ts[i : i + MERGED_CHUNK])
                    for i in cut
                ],
            )  # fmt: skip

    def version(self, run_id: str, keys: Sequence[str] | None = None) -> tuple[Any, ...]:
        """What a read of these keys would return changes only when this does (NotFound: no run).

        Every ingest that adds points raises a key's count in the same transaction, and a
        merge of chunks keeps the points as they were: (key, count, last_step, last_ts) per key
        is a cheap stand-in for the data. Read it before the data, so a cached read is never
        older than its version.
        """
        t = metric_summaries
        stmt = sa.select(t.c.key, t.c["count"], t.c.last_step, t.c.last_ts).where(
            t.c.run_id == run_id
        )
        if keys is not None:
            stmt = stmt.where(t.c.key.in_(list(keys)))
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            return tuple(tuple(r) for r in conn.execute(stmt.order_by(t.c.key)))

    def summaries(self, run_id: str) -> list[MetricSummary]:
        t = metric_summaries
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.run_id == run_id).order_by(t.c.key)).all()
        return [
            MetricSummary(
                key=r.key,
                count=r._mapping["count"],
                last=math.nan if r.last is None else r.last,
                last_step=r.last_step,
                min=r.min,
                max=r.max,
                best=r.best,
                best_step=r.best_step,
                goal=Goal(r.goal) if r.goal else None,
            )
            for r in rows
        ]

    def chart(
        self,
        run_id: str,
        keys: Sequence[str] | None,
        start: int | None,
        end: int | None,
        max_points: int,
    ) -> dict[str, Series]:
        """What a chart of ``max_points`` shows of each key between start and end: every point
        when there are no more, else each bucket's extremes with the first and last point
        (see _tiles.downsample), read from the tiles kept at ingest rather than the points."""
        from runyard.store.metric_charts import read_chart

        got = read_chart(
            self._engine, self.read, run_id, keys, start, end, max_points, self._chunks
        )
        return {key: Series(key, *arrays) for key, arrays in got.items()}

    def read(
        self,
        run_id: str,
        keys: Sequence[str] | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> dict[str, Series]:
        """Every point of ``keys`` (all keys when None) with start <= step <= end, by step."""
        import numpy as np

        c = metric_chunks.c
        stmt = sa.select(c.key, c.count, c.data).where(c.run_id == run_id)
        if keys is not None:
            stmt = stmt.where(c.key.in_(list(keys)))
        if start is not None:
            stmt = stmt.where(c.step_max >= start)
        if end is not None:
            stmt = stmt.where(c.step_min <= end)
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            rows = conn.execute(stmt.order_by(c.key, c.step_min, c.id)).all()
        # zlib and NumPy release the GIL: big reads decode their chunks on two threads.
        if len(rows) > 2:
            decoded = list(_decoder().map(lambda r: _codec.decode(r[2], r[1]), rows))
        else:
            decoded = [_codec.decode(data, count) for _, count, data in rows]
        parts: dict[str, list[tuple[Any, Any, Any]]] = {}
        for (key, _, _), part in zip(rows, decoded, strict=True):
            parts.setdefault(key, []).append(part)
        out = {}
        for key, chunks in parts.items():
            steps = np.concatenate([p[0] for p in chunks])
            values = np.concatenate([p[1] for p in chunks])
            ts = np.concatenate([p[2] for p in chunks])
            if np.any(steps[1:] < steps[:-1]):
                order = np.argsort(steps, kind="stable")
                steps, values, ts = steps[order], values[order], ts[order]
            if start is not None or end is not None:
                lo = 0 if start is None else int(np.searchsorted(steps, start, "left"))
                hi = len(steps) if end is None else int(np.searchsorted(steps, end, "right"))
                steps, values, ts = steps[lo:hi], values[lo:hi], ts[lo:hi]
            out[key] = Series(key, steps, values, ts)
        return out
