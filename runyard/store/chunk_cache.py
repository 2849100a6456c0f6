"""Decoded chunks with their fine tiles, kept per process for deep zooms.

A zoom into a window that holds fewer stored tiles (256 points each, _tiles.py) than the
chart has buckets cannot be drawn from them: it was drawn from its points, which decodes
every chunk the window touches (50,000 points each, about 10 ms apiece). A chunk never
changes (a merge writes its points as a new chunk), so its decoded points and their tiles of
FINE points are kept here, in a least-recently-used map bounded by bytes: the first zoom into
a series decodes its chunks once, and the next ones, whatever their window, read tiles of
FINE points. An entry is named by the chunk's id and a CRC of its stored bytes (SQLite may
give a deleted chunk's id to a new one): never another chunk's.

The answer keeps _tiles.downsample's guarantee, with tiles of FINE points; the points a
window cuts off a tile count each as a tile of its own, so no point outside the window shows.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from runyard.store import _codec, _tiles
from runyard.store.tables import metric_chunks

if TYPE_CHECKING:
    from runyard.store._tiles import F64, I64

_Name = tuple[int, int, int]  # chunk id, point count, CRC-32 of the stored bytes
FINE = 32  # points per fine tile: 108 bytes of tile per 768 bytes of decoded points
MAX_BYTES = 32 * 2**20  # per process: a series of about 1.2M points


@dataclass(frozen=True)
class Decoded:
    """One chunk's points in step order (stable) and their tiles of FINE points."""

    steps: I64
    values: F64
    ts: F64
    tiles: _tiles.Tiles

    @property
    def nbytes(self) -> int:
        t = self.tiles
        columns = [getattr(t, name) for name in t.__dataclass_fields__]
        return int(self.steps.nbytes * 3 + sum(c.nbytes for c in columns))

    def window(self, start: int | None, end: int | None) -> _tiles.Tiles | None:
        """Its fine tiles wholly inside start..end, and every point inside of the tiles the
        window cuts as a tile of its own, in step order (None: no point inside)."""
        import numpy as np

        n = len(self.steps)
        lo = 0 if start is None else int(np.searchsorted(self.steps, start, "left"))
        hi = n if end is None else int(np.searchsorted(self.steps, end, "right"))
        if hi <= lo:
            return None
        first = -(-lo // FINE)  # the first tile that starts inside
        stop = len(self.tiles) if hi == n else hi // FINE  # past the last that ends inside
        if stop <= first:
            return self._points(lo, hi)
        parts = [self._points(lo, first * FINE), _tiles.take(self.tiles, first, stop)]
        if stop < len(self.tiles):
            parts.append(self._points(stop * FINE, hi))
        return _tiles.concat([p for p in parts if len(p)])

    def _points(self, lo: int, hi: int) -> _tiles.Tiles:
        return _tiles.each_point(self.steps[lo:hi], self.values[lo:hi], self.ts[lo:hi])


def decode(count: int, data: bytes) -> Decoded:
    steps, values, ts = _tiles.sorted_points(*_codec.decode(data, count))
    return Decoded(steps, values, ts, _tiles.of_points(steps, values, ts, FINE))


class ChunkCache:
    """Decoded chunks by id, the least recently used dropped past ``max_bytes``."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self._max = max_bytes
        self._lock = threading.Lock()
        self._kept: OrderedDict[_Name, Decoded] = OrderedDict()
        self._bytes = 0

    def fine_tiles(
        self, conn: sa.Connection, run_id: str, key: str, start: int | None, end: int | None
    ) -> _tiles.Tiles | None:
        """The fine tiles of ``key`` in the window, chunk by chunk in read order (step_min,
        then id, as the stored tiles are read); None when no point is inside."""
        c = metric_chunks.c
        stmt = sa.select(c.id, c["count"], c.data).where(c.run_id == run_id, c.key == key)
        if start is not None:
            stmt = stmt.where(c.step_max >= start)
        if end is not None:
            stmt = stmt.where(c.step_min <= end)
        parts = []
        for chunk_id, count, data in conn.execute(stmt.order_by(c.step_min, c.id)):
            if (part := self.window(chunk_id, count, data, start, end)) is not None:
                parts.append(part)
        return _tiles.concat(parts) if parts else None

    def window(
        self, chunk_id: int, count: int, data: bytes, start: int | None, end: int | None
    ) -> _tiles.Tiles | None:
        """One stored chunk's fine tiles in the window (`Decoded.window`), decoded once."""
        name = (chunk_id, count, zlib.crc32(data))
        decoded = self._get(name)
        if decoded is None:
            decoded = self._put(name, decode(count, data))
        return decoded.window(start, end)

    def _get(self, name: _Name) -> Decoded | None:
        with self._lock:
            decoded = self._kept.get(name)
            if decoded is not None:
                self._kept.move_to_end(name)
            return decoded

    def _put(self, name: _Name, decoded: Decoded) -> Decoded:
        size = decoded.nbytes
        if size > self._max // 2:  # a chunk this big would push out everything else
            return decoded
        with self._lock:
            if name not in self._kept:
                self._kept[name] = decoded
                self._bytes += size
            while self._bytes > self._max:
                _, old = self._kept.popitem(last=False)
                self._bytes -= old.nbytes
        return decoded
