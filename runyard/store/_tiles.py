"""Tiles: the extremes of every run of TILE stored points, kept beside each chunk at ingest.

A chart of a long series asks for a few hundred buckets; the buckets' extremes are the
extremes of the tiles in them. Reading the tiles of a 1M-point series (about 4,000 of them)
instead of its points makes the first downsampled read after ingest as cheap as a cached one.

A tile holds its first and last point (by step, stable: equal steps keep their logged order)
and its points of least and greatest value, NaN aside (a tile of NaN only keeps its first
point, a NaN, in both places: a chart draws it as a gap).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    F64 = npt.NDArray[np.float64]

TILE = 256  # points per stored tile: 108 bytes of tile per 6 KB of points
FORMAT_V1 = 1
_KINDS = ("first", "min", "max", "last")


@functools.cache
def _dtype() -> np.dtype[np.void]:
    import numpy as np

    return np.dtype(
        [("count", "<i4"), ("min_pos", "<i4"), ("max_pos", "<i4")]
        + [
            (f"{k}_{f}", t)
            for k in _KINDS
            for f, t in (("step", "<i8"), ("v", "<f8"), ("ts", "<f8"))
        ]
    )


@dataclass
class Tiles:
    """Tiles as columns; ``pos_*`` is the point's place in its tile (ties and dedup)."""

    count: I64
    first_step: I64
    first_v: F64
    first_ts: F64
    last_step: I64
    last_v: F64
    last_ts: F64
    min_step: I64
    min_v: F64
    min_ts: F64
    min_pos: I64
    max_step: I64
    max_v: F64
    max_ts: F64
    max_pos: I64

    def __len__(self) -> int:
        return len(self.count)


_FIELDS = tuple(Tiles.__dataclass_fields__)


def group_argmin(values: F64, starts: I64) -> I64:
    """Per group (``values[starts[i]:starts[i+1]]``), the index of its least value, NaN aside;
    a group of NaN only gives its first index. O(n)."""
    import numpy as np

    n = len(values)
    nan = np.isnan(values)
    filled = np.where(nan, np.inf, values)
    mins = np.minimum.reduceat(filled, starts)
    gid = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    hit = np.flatnonzero((filled == mins[gid]) & ~nan)
    out = starts.astype(np.int64, copy=True)
    g = gid[hit]
    first = np.ones(len(hit), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    out[g[first]] = hit[first]
    return out


def sorted_points(steps: I64, values: F64, ts: F64) -> tuple[I64, F64, F64]:
    """Points in step order (stable), timestamps as the codec keeps them (microseconds)."""
    import numpy as np

    ts = np.round(np.asarray(ts, dtype=np.float64) * 1e6).astype(np.int64) / 1e6
    if len(steps) > 1 and np.any(steps[1:] < steps[:-1]):
        order = np.argsort(steps, kind="stable")
        return steps[order], values[order], ts[order]
    return steps, values, ts


def of_points(steps: I64, values: F64, ts: F64, size: int = TILE) -> Tiles:
    """Tiles of ``size`` consecutive points; the points must be in step order."""
    import numpy as np

    n = len(steps)
    starts = np.arange(0, n, size, dtype=np.int64)
    ends = np.append(starts[1:], n) - 1
    imin = group_argmin(values, starts)
    imax = group_argmin(-values, starts)
    return Tiles(
        count=ends - starts + 1,
        first_step=steps[starts], first_v=values[starts], first_ts=ts[starts],
        last_step=steps[ends], last_v=values[ends], last_ts=ts[ends],
        min_step=steps[imin], min_v=values[imin], min_ts=ts[imin], min_pos=imin - starts,
        max_step=steps[imax], max_v=values[imax], max_ts=ts[imax], max_pos=imax - starts,
    )  # fmt: skip


def each_point(steps: I64, values: F64, ts: F64) -> Tiles:
    """Every point its own tile (no copies): a short range downsampled from its points."""
    import numpy as np

    zero = np.zeros(len(steps), dtype=np.int64)
    return Tiles(
        count=zero + 1,
        first_step=steps, first_v=values, first_ts=ts,
        last_step=steps, last_v=values, last_ts=ts,
        min_step=steps, min_v=values, min_ts=ts, min_pos=zero,
        max_step=steps, max_v=values, max_ts=ts, max_pos=zero,
    )  # fmt: skip


def take(t: Tiles, start: int, stop: int) -> Tiles:
    """Tiles ``start`` to ``stop`` (views, no copies)."""
    return Tiles(**{name: getattr(t, name)[start:stop] for name in _FIELDS})


def concat(parts: Sequence[Tiles]) -> Tiles:
    """The tiles of several, in order, as one."""
    import numpy as np

    if len(parts) == 1:
        return parts[0]
    return Tiles(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS})


def encode(t: Tiles) -> bytes:
    import numpy as np

    arr = np.empty(len(t), dtype=_dtype())
    arr["count"], arr["min_pos"], arr["max_pos"] = t.count, t.min_pos, t.max_pos
    for k in _KINDS:
        arr[f"{k}_step"] = getattr(t, f"{k}_step")
        arr[f"{k}_v"] = getattr(t, f"{k}_v")
        arr[f"{k}_ts"] = getattr(t, f"{k}_ts")
    return bytes([FORMAT_V1]) + arr.tobytes()


def decode(blob: bytes) -> Tiles:
    return decode_many([blob])


def decode_many(blobs: Sequence[bytes]) -> Tiles:
    """The tiles of several blobs, in order, as one: one pass of NumPy whatever their number."""
    import numpy as np

    one = 1 + _dtype().itemsize
    if set(map(len, blobs)) == {one}:  # one tile each (a chunk's whole): no loop of Python
        framed = np.frombuffer(b"".join(blobs), dtype=[("format", "u1"), ("tile", _dtype())])
        if not (framed["format"] == FORMAT_V1).all():
            raise ValueError("unknown metric tile format")
        arr = framed["tile"]
    else:
        for blob in blobs:
            if not blob or blob[0] != FORMAT_V1:
                raise ValueError(f"unknown metric tile format {blob[:1]!r}")
        arr = np.frombuffer(b"".join(memoryview(b)[1:] for b in blobs), dtype=_dtype())
    cols = {name: arr[name] for name in arr.dtype.names or ()}
    return Tiles(
        count=cols["count"].astype(np.int64),
        min_pos=cols["min_pos"].astype(np.int64),
        max_pos=cols["max_pos"].astype(np.int64),
        **{f"{k}_{f}": cols[f"{k}_{f}"] for k in _KINDS for f in ("step", "v", "ts")},
    )


def buckets(first_step: I64, lo: int, hi: int, n: int) -> I64:
    """Bucket of each tile: the steps lo..hi cut in ``n`` equal parts, by the tile's first step."""
    import numpy as np

    span = hi - lo + 1
    if span * n < 2**62:
        b = (first_step - lo) * n // span
    else:  # steps far apart: floats, still monotone
        b = np.floor((first_step.astype(np.float64) - lo) * (n / span)).astype(np.int64)
    return np.clip(b, 0, n - 1)


def downsample(t: Tiles, max_points: int) -> tuple[I64, F64, F64]:
    """MinMax over tiles: the points a chart of ``t`` (in stored order) must show.

    The steps from the first to the last are cut into ``b = max(1, (max_points - 2) // 2)``
    equal buckets; each tile belongs to the bucket of its first step, so a bucket's points may
    reach past its end by less than one tile. The answer holds, for every bucket, its point of
    least value and its point of greatest value (NaN aside; a bucket of NaN only shows one NaN,
    a gap), and the series' first point and its last point (the last logged at the highest
    step): every extreme and the live end of a chart are exact, whatever the zoom. In step
    order (equal steps in logged order), each point once: at most ``2 b + 2`` points.
    """
    import numpy as np

    n = len(t)
    order = np.arange(n, dtype=np.int64)
    i_first = int(np.argmin(t.first_step))  # first occurrence: the earliest logged
    top = t.last_step.max()
    i_last = int(np.flatnonzero(t.last_step == top)[-1])
    lo, hi = int(t.first_step.min()), int(top)
    by_start = np.argsort(t.first_step, kind="stable")
    b = buckets(t.first_step[by_start], lo, hi, max(1, (max_points - 2) // 2))
    starts = np.flatnonzero(np.diff(b, prepend=-1))
    i_min = by_start[group_argmin(t.min_v[by_start], starts)]
    i_max = by_start[group_argmin(-t.max_v[by_start], starts)]
    steps = np.concatenate([t.first_step[[i_first]], t.min_step[i_min], t.max_step[i_max],
                            t.last_step[[i_last]]])  # fmt: skip
    values = np.concatenate([t.first_v[[i_first]], t.min_v[i_min], t.max_v[i_max],
                             t.last_v[[i_last]]])  # fmt: skip
    ts = np.concatenate([t.first_ts[[i_first]], t.min_ts[i_min], t.max_ts[i_max],
                         t.last_ts[[i_last]]])  # fmt: skip
    tile = np.concatenate([order[[i_first]], order[i_min], order[i_max], order[[i_last]]])
    last_pos = np.array([t.count[i_last] - 1], dtype=np.int64)
    pos = np.concatenate([last_pos * 0, t.min_pos[i_min], t.max_pos[i_max], last_pos])
    keep = np.lexsort((pos, tile, steps))
    steps, values, ts, tile, pos = steps[keep], values[keep], ts[keep], tile[keep], pos[keep]
    new = np.ones(len(steps), dtype=bool)
    new[1:] = (tile[1:] != tile[:-1]) | (pos[1:] != pos[:-1])
    return steps[new], values[new], ts[new]
