"""Downsampled reads of metric series from their tiles: cost by pixels, not by history.

A chart of a 1M-point series reads about 4,000 tiles (stored with the chunks at ingest, see
_tiles.py) instead of decoding a million points; only chunks cut by the window's edges, and
chunks stored before tiles existed, are decoded. A range with few tiles for the buckets asked
(a deep zoom) is downsampled from its points, under the same guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from runyard.errors import NotFound
from runyard.store import _codec, _tiles
from runyard.store.tables import metric_chunks, metric_tiles, runs

ReadPoints = Callable[[str, Sequence[str], int | None, int | None], dict[str, Any]]


def _chunk_tiles(
    count: int, data: bytes, start: int | None, end: int | None
) -> _tiles.Tiles | None:
    """Tiles of the points of one stored chunk inside the window (None: none inside)."""
    import numpy as np

    steps, values, ts = _tiles.sorted_points(*_codec.decode(data, count))
    lo = 0 if start is None else int(np.searchsorted(steps, start, "left"))
    hi = len(steps) if end is None else int(np.searchsorted(steps, end, "right"))
    if hi <= lo:
        return None
    return _tiles.of_points(steps[lo:hi], values[lo:hi], ts[lo:hi])


def read_chart(
    engine: sa.Engine,
    read_points: ReadPoints,
    run_id: str,
    keys: Sequence[str] | None,
    start: int | None,
    end: int | None,
    max_points: int,
) -> dict[str, tuple[Any, Any, Any]]:
    """(steps, values, timestamps) per key: all points of the range when it holds at most
    ``max_points``, else the MinMax answer of ``_tiles.downsample`` (every bucket's extremes,
    the first and the last point)."""
    c, t = metric_chunks.c, metric_tiles.c
    inside = sa.and_(
        sa.true() if start is None else c.step_min >= start,
        sa.true() if end is None else c.step_max <= end,
    )
    has_tiles = sa.and_(t.data.is_not(None), inside)
    # One statement, one snapshot: a merge of chunks in between cannot hide points. The
    # points of a chunk are read only where its tiles cannot serve (SQLite skips the blob).
    stmt = (
        sa.select(
            c.key,
            c["count"],
            has_tiles.label("tiled"),
            sa.case((has_tiles, t.data), else_=c.data).label("data"),
        )
        .select_from(metric_chunks.outerjoin(metric_tiles, t.chunk_id == c.id))
        .where(c.run_id == run_id)
    )
    if keys is not None:
        stmt = stmt.where(c.key.in_(list(keys)))
    if start is not None:
        stmt = stmt.where(c.step_max >= start)
    if end is not None:
        stmt = stmt.where(c.step_min <= end)
    with engine.connect() as conn:
        if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
            raise NotFound(f"no run {run_id!r}")
        rows = conn.execute(stmt.order_by(c.key, c.step_min, c.id)).all()
    by_key: dict[str, list[Any]] = {}
    for row in rows:
        by_key.setdefault(row.key, []).append(row)
    buckets = max(1, (max_points - 2) // 2)
    out: dict[str, tuple[Any, Any, Any]] = {}
    for key, chunks in by_key.items():
        tiles: list[_tiles.Tiles] = []
        most = sum(r.count for r in chunks)  # points and tiles, counted before the window cuts
        if most > max_points and sum(-(-r.count // _tiles.TILE) for r in chunks) >= buckets:
            blobs = []  # in chunk order; a chunk without usable tiles gets them made here
            for r in chunks:
                if r.tiled:
                    blobs.append(r.data)
                elif (made := _chunk_tiles(r.count, r.data, start, end)) is not None:
                    blobs.append(_tiles.encode(made))
            if blobs:
                tiles = [_tiles.decode_many(blobs)]
        if sum(map(len, tiles)) >= buckets and sum(int(p.count.sum()) for p in tiles) > max_points:
            out[key] = _tiles.downsample(tiles[0], max_points)
            continue
        # Few points in the range, or fewer tiles than buckets (a deep zoom): from the points.
        s = read_points(run_id, [key], start, end).get(key)
        if s is None:
            continue
        if len(s.steps) <= max_points:
            out[key] = (s.steps, s.values, s.timestamps)
        else:
            each = _tiles.each_point(s.steps, s.values, s.timestamps)
            out[key] = _tiles.downsample(each, max_points)
    return out
