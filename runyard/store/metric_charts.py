"""Downsampled reads of metric series from their tiles: cost by pixels, not by history.

Two levels are kept with every chunk at ingest (see _tiles.py): its tiles of 256 points, and
the chunk as one tile. A chart of a range that spans many chunks (at least two per bucket: a
10M-point run in 2,000 chunks) reads one small tile per chunk; one that spans fewer reads the
256-point tiles (a 1M-point series: about 4,000 tiles), never the points. Only chunks cut by
the window's edges, and chunks stored before tiles existed, are decoded. A range with fewer
tiles than buckets (a deep zoom) is downsampled from tiles of 32 points (chunk_cache.py:
made once per chunk and kept by the process), and one with fewer of those from its points,
under the same guarantee.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from runyard.store import _codec, _tiles
from runyard.store._exists import require_run
from runyard.store.chunk_cache import ChunkCache
from runyard.store.tables import metric_chunks, metric_heads, metric_tiles

ReadPoints = Callable[[str, Sequence[str], int | None, int | None], dict[str, Any]]


def _chunk_tiles(
    count: int, data: bytes, start: int | None, end: int | None, whole: bool
) -> _tiles.Tiles | None:
    """Tiles of the points of one stored chunk inside the window (None: none inside)."""
    import numpy as np

    steps, values, ts = _tiles.sorted_points(*_codec.decode(data, count))
    lo = 0 if start is None else int(np.searchsorted(steps, start, "left"))
    hi = len(steps) if end is None else int(np.searchsorted(steps, end, "right"))
    if hi <= lo:
        return None
    size = hi - lo if whole else _tiles.TILE
    return _tiles.of_points(steps[lo:hi], values[lo:hi], ts[lo:hi], size)


def _window(stmt: Any, start: int | None, end: int | None) -> Any:
    c = metric_chunks.c
    if start is not None:
        stmt = stmt.where(c.step_max >= start)
    if end is not None:
        stmt = stmt.where(c.step_min <= end)
    return stmt


def _tiles_of_key(
    conn: sa.Connection,
    chunk_cache: ChunkCache,
    run_id: str,
    key: str,
    start: int | None,
    end: int | None,
    whole: bool,
) -> _tiles.Tiles | None:
    """The tiles of ``key`` in the window, chunk by chunk in read order, at one level; a
    chunk the window cuts gives its fine tiles inside the window (chunk_cache.py)."""
    c, t = metric_chunks.c, metric_tiles.c
    inside = sa.and_(
        sa.true() if start is None else c.step_min >= start,
        sa.true() if end is None else c.step_max <= end,
    )
    stored = t.data.is_not(None)
    has_tiles = sa.and_(stored, inside)
    # The points of a chunk are read only where its tiles cannot serve (SQLite skips the blob).
    level = t.whole if whole else t.data
    stmt = (
        sa.select(c.id, c["count"], has_tiles, stored, sa.case((has_tiles, level), else_=c.data))
        .select_from(metric_chunks.outerjoin(metric_tiles, t.chunk_id == c.id))
        .where(c.run_id == run_id, c.key == key)
    )
    parts: list[_tiles.Tiles] = []
    blobs: list[bytes] = []
    rows = conn.execute(_window(stmt, start, end).order_by(c.step_min, c.id))
    for chunk_id, count, tiled, cut, data in rows:
        if tiled:
            blobs.append(data)
            continue
        if blobs:
            parts.append(_tiles.decode_many(blobs))
            blobs = []
        if cut:  # cut by the window: its fine tiles, decoded once by this process
            made = chunk_cache.window(chunk_id, count, data, start, end)
        else:  # stored before tiles: tiled from its points
            made = _chunk_tiles(count, data, start, end, whole)
        if made is not None:
            parts.append(made)
    if blobs:
        parts.append(_tiles.decode_many(blobs))
    return _tiles.concat(parts) if parts else None


def _heads(conn: sa.Connection, run_id: str, keys: Sequence[str] | None) -> dict[str, Any]:
    """For each key whose every chunk has its head: the chunks as one tile each (``Tiles``),
    in read order (step_min, then chunk id, as ``_tiles_of_key``). A key with a chunk of no
    head (stored before tiles, or by a batch of runs) is left out: the general path reads it."""
    c, h = metric_chunks.c, metric_heads.c
    heads = sa.select(h.key, h.whole).where(h.run_id == run_id)
    chunks = sa.select(c.key, sa.func.count()).where(c.run_id == run_id)  # the index alone
    if keys is not None:
        heads = heads.where(h.key.in_(list(keys)))
        chunks = chunks.where(c.key.in_(list(keys)))
    grouped: Any
    if keys is not None and len(keys) == 1:  # a chart's usual read: one key, no key column
        blobs = (
            conn.execute(heads.with_only_columns(h.whole).order_by(h.step_min, h.chunk_id))
            .scalars()
            .all()
        )
        grouped = [(keys[0], blobs)] if blobs else []
    else:
        rows = conn.execute(heads.order_by(h.key, h.step_min, h.chunk_id)).all()
        grouped = [
            (k, [r[1] for r in g]) for k, g in itertools.groupby(rows, operator.itemgetter(0))
        ]
    # Counted after the heads were read: a chunk written in between makes the key read the
    # general way, never a chart that misses it.
    stored: dict[str, int] = {k: int(n) for k, n in conn.execute(chunks.group_by(c.key))}
    return {
        key: _tiles.decode_many(blobs) for key, blobs in grouped if len(blobs) == stored.get(key)
    }


def read_chart(
    engine: sa.Engine,
    read_points: ReadPoints,
    run_id: str,
    keys: Sequence[str] | None,
    start: int | None,
    end: int | None,
    max_points: int,
    chunk_cache: ChunkCache,
) -> dict[str, tuple[Any, Any, Any]]:
    """(steps, values, timestamps) per key: all points of the range when it holds at most
    ``max_points``, else the MinMax answer of ``_tiles.downsample`` (every bucket's extremes,
    the first and the last point) over the tiles of one level: the stored ones (and the fine
    tiles of the chunks the window cuts), else the fine tiles of ``chunk_cache``, else every
    point its own."""
    c = metric_chunks.c
    buckets = max(1, (max_points - 2) // 2)
    sizes = sa.select(
        c.key,
        sa.func.count(),
        sa.func.sum(c["count"]),
        sa.func.sum((c["count"] + (_tiles.TILE - 1)) / _tiles.TILE),
    ).where(c.run_id == run_id)
    if keys is not None:
        sizes = sizes.where(c.key.in_(list(keys)))
    out: dict[str, tuple[Any, Any, Any]] = {}
    with engine.connect() as conn:
        require_run(conn, run_id)
        # A whole series (a run's page) is sized and read from the heads where it can be.
        heads = _heads(conn, run_id, keys) if start is None and end is None else {}
        counted: list[tuple[str, int, int, int]] = [
            (k, len(t), int(t.count.sum()), int(((t.count + _tiles.TILE - 1) // _tiles.TILE).sum()))
            for k, t in heads.items()
        ]
        if heads:
            sizes = sizes.where(c.key.not_in(list(heads)))
        # Chunks, points and tiles before the window cuts: they choose the level.
        counted += [
            (k, int(n), int(p), int(t))
            for k, n, p, t in conn.execute(_window(sizes, start, end).group_by(c.key))
        ]
        for key, chunks, points, tiles in sorted(counted):
            found = None
            if int(points) > max_points and int(tiles) >= buckets:
                whole = chunks >= 2 * buckets
                if whole and key in heads:
                    found = heads[key]
                else:
                    found = _tiles_of_key(conn, chunk_cache, run_id, key, start, end, whole)
            if found is not None and len(found) >= buckets and int(found.count.sum()) > max_points:
                out[key] = _tiles.downsample(found, max_points)
                continue
            if int(points) > max_points:
                # Fewer stored tiles than buckets (a deep zoom): tiles of fewer points, made
                # once per chunk and kept by this process.
                found = chunk_cache.fine_tiles(conn, run_id, key, start, end)
                if (
                    found is not None
                    and len(found) >= buckets
                    and int(found.count.sum()) > max_points  # else all of them, below
                ):
                    out[key] = _tiles.downsample(found, max_points)
                    continue
            # Few points in the range, or fewer tiles than buckets (a deep zoom): the points.
            s = read_points(run_id, [key], start, end).get(key)
            if s is None:
                continue
            if len(s.steps) <= max_points:
                out[key] = (s.steps, s.values, s.timestamps)
            else:
                each = _tiles.each_point(s.steps, s.values, s.timestamps)
                out[key] = _tiles.downsample(each, max_points)
    return out
