"""Charts from tiles: every bucket's extremes and the last point, checked against brute force."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from runyard.store import Store, _codec, _tiles
from runyard.store.chunk_cache import FINE
from runyard.store.metrics import Series
from runyard.store.tables import metric_chunks, metric_heads, metric_tiles

Point = tuple[int, Any]  # (step, value); NaN as the string "nan" so that it compares


def _p(step: Any, value: Any) -> Point:
    v = float(value)
    return (int(step), "nan" if math.isnan(v) else v)


def _stored_chunks(store: Store, run_id: str, key: str) -> list[tuple[Any, ...]]:
    """(steps, values, has tiles) of each chunk, in the order reads take them."""
    c, t = metric_chunks.c, metric_tiles.c
    stmt = (
        sa.select(c["count"], c.data, t.chunk_id.is_not(None))
        .select_from(metric_chunks.outerjoin(metric_tiles, t.chunk_id == c.id))
        .where(c.run_id == run_id, c.key == key)
        .order_by(c.step_min, c.id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for count, data, tiled in rows:
        steps, values, _ = _codec.decode(data, count)
        order = sorted(range(count), key=lambda i: int(steps[i]))  # stable: logged order
        out.append(([int(steps[i]) for i in order], [values[i] for i in order], bool(tiled)))
    return out


def _reference(
    chunks: list[tuple[Any, ...]], start: int | None, end: int | None, max_points: int
) -> tuple[list[Point] | None, list[list[Point]], Point, Point]:
    """Brute force, by the docstring of _tiles.downsample: (every point when no more than
    max_points, else None), the points each bucket's extremes must come from, first, last."""

    def inside(s: int) -> bool:
        return (start is None or s >= start) and (end is None or s <= end)

    chunks = [c for c in chunks if _spans(c, start, end)]  # what the read selects
    every = sorted(
        [(s, v) for steps, values, _ in chunks for s, v in zip(steps, values, strict=True)
         if inside(s)],
        key=lambda p: p[0],
    )  # fmt: skip
    nb = max(1, (max_points - 2) // 2)
    if len(every) <= max_points:
        return [_p(s, v) for s, v in every], [], _p(*every[0]), _p(*every[-1])
    tiles = []
    most = sum(len(c[0]) for c in chunks)  # before the window cuts: they choose the level
    if most > max_points and sum(-(-len(c[0]) // _tiles.TILE) for c in chunks) >= nb:
        whole = len(chunks) >= 2 * nb  # many chunks: each chunk one tile
        for steps, values, tiled in chunks:
            pts = [(s, v) for s, v in zip(steps, values, strict=True) if inside(s)]
            if tiled and len(pts) < len(steps):  # cut by the window: its fine tiles
                tiles += _fine(steps, values, inside)
                continue
            size = max(1, len(pts)) if whole else _tiles.TILE
            tiles += [pts[i : i + size] for i in range(0, len(pts), size)]
    if len(tiles) < nb:  # a deep zoom: tiles of FINE points; those the window cuts, points
        tiles = [t for steps, values, _ in chunks for t in _fine(steps, values, inside)]
    if len(tiles) < nb:  # a deeper zoom: each point is its own tile
        tiles = [[p] for p in every]
    lo, hi = min(t[0][0] for t in tiles), max(t[-1][0] for t in tiles)
    groups: list[list[tuple[int, float]]] = [[] for _ in range(nb)]
    for tile in tiles:
        groups[min(nb - 1, (tile[0][0] - lo) * nb // (hi - lo + 1))].extend(tile)
    must: list[list[Point]] = []
    for g in groups:
        finite = [p for p in g if not math.isnan(p[1])]
        if not g:
            continue
        if not finite:
            must.append([_p(*p) for p in g])
            continue
        for best in (min(v for _, v in finite), max(v for _, v in finite)):
            must.append([_p(s, v) for s, v in finite if v == best])
    top = max(s for s, _ in every)
    return None, must, _p(*every[0]), _p(*[p for p in every if p[0] == top][-1])


def _fine(steps: list[int], values: list[Any], inside: Any) -> list[list[tuple[int, Any]]]:
    """A chunk's tiles of FINE points inside the window; those the window cuts, point by point."""
    pts = list(zip(steps, values, strict=True))
    tiles = []
    for i in range(0, len(pts), FINE):
        tile = pts[i : i + FINE]
        if all(inside(s) for s, _ in tile):
            tiles.append(tile)
        else:
            tiles += [[p] for p in tile if inside(p[0])]
    return tiles


def _spans(chunk: tuple[Any, ...], start: int | None, end: int | None) -> bool:
    return (start is None or chunk[0][-1] >= start) and (end is None or chunk[0][0] <= end)


def _check(store: Store, run_id: str, start: int | None, end: int | None, mp: int) -> None:
    got = store.metrics.chart(run_id, ["k"], start, end, mp).get("k")
    chunks = _stored_chunks(store, run_id, "k")
    every = [
        _p(s, v)
        for steps, values, _ in chunks
        for s, v in zip(steps, values, strict=True)
        if (start is None or s >= start) and (end is None or s <= end)
    ]
    if not every:
        assert got is None or len(got.steps) == 0
        return
    assert got is not None
    answer = [_p(s, v) for s, v in zip(got.steps, got.values, strict=True)]
    assert list(got.steps) == sorted(got.steps)
    assert not Counter(answer) - Counter(every), "every point shown was stored"
    exact, must, first, last = _reference(chunks, start, end, mp)
    if exact is not None:
        assert answer == exact
        return
    assert len(answer) <= max(mp, 4)
    assert first in answer and last in answer
    shown = set(answer)
    for candidates in must:
        assert shown & set(candidates), f"a bucket's extreme is missing: one of {candidates[:3]}"


_values = st.one_of(
    st.floats(-1e6, 1e6),
    st.sampled_from([0.0, 1.0, -1.0, math.nan, math.inf, -math.inf]),
)


@st.composite
def _batches(draw: st.DrawFn) -> list[tuple[list[int], list[float]]]:
    out = []
    at = draw(st.integers(-1000, 1000))
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(1, 1500))
        if draw(st.booleans()):  # a training loop: steps go up
            gap = draw(st.integers(1, 3))
            steps = list(range(at, at + n * gap, gap))
            at += n * gap
        else:  # replays, resumes, several writers: steps overlap and repeat
            steps = draw(st.lists(st.integers(-50, 3000), min_size=n, max_size=n))
        values = draw(st.lists(_values, min_size=n, max_size=n))
        if draw(st.booleans()):  # a smooth stretch with one spike, as loss curves go
            values = [math.sin(i / 50) for i in range(n)]
            values[draw(st.integers(0, n - 1))] = draw(st.floats(-1e9, 1e9))
        out.append((steps, values))
    return out


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batches=_batches(),
    max_points=st.sampled_from([3, 4, 5, 8, 13, 40, 1000]),
    window=st.one_of(st.none(), st.tuples(st.integers(-100, 3000), st.integers(0, 3000))),
    merge=st.booleans(),
)
# A zoom onto 5 points (fewer than a chart shows) that cuts a fine tile into 5 tiles of a
# point, more than its buckets: every point is shown, none downsampled away (found in CI).
@example(
    batches=[([*range(44), 90, *range(100, 200)], [math.sin(i / 9) for i in range(145)])],
    max_points=8,
    window=(40, 95),
    merge=False,
)
def test_chart_holds_every_bucket_extreme_and_the_last_point(
    store: Store,
    batches: list[tuple[list[int], list[float]]],
    max_points: int,
    window: tuple[int, int] | None,
    merge: bool,
) -> None:
    run = store.runs.create(experiment="e")
    for i, (steps, values) in enumerate(batches):
        ts = np.linspace(1.7e9 + i, 1.7e9 + i + 1, len(steps))
        store.metrics.ingest(
            run.id, [Series("k", np.array(steps, np.int64), np.array(values, np.float64), ts)]
        )
    if merge:
        store.metrics.compact(small=4096, min_chunks=2, limit=10_000)
    start, end = (None, None) if window is None else (min(window), max(window))
    _check(store, run.id, start, end, max_points)
    _check(store, run.id, None, None, max_points)


def _tiles_of_each_chunk(store: Store, run_id: str) -> list[tuple[Any, Any]]:
    """(stored tiles, tiles made afresh from the chunk's points) of every chunk of the run,
    both levels."""
    c, t = metric_chunks.c, metric_tiles.c
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(c["count"], c.data, t.data, t.whole)
            .select_from(metric_chunks.outerjoin(metric_tiles, t.chunk_id == c.id))
            .where(c.run_id == run_id)
        ).all()
    out = []
    for count, data, tiles, whole in rows:
        points = _tiles.sorted_points(*_codec.decode(data, count))
        fresh = (_tiles.of_points(*points), _tiles.of_points(*points, size=count))
        out.append(((tiles, whole), tuple(_tiles.encode(f) for f in fresh)))
    return out


def test_tiles_stay_right_across_chunk_merges(store: Store) -> None:
    run = store.runs.create(experiment="e")
    rng = np.random.default_rng(7)
    values = rng.normal(size=20 * 300)
    values[4321] = 99.0  # the peak a chart must show, before and after the merge
    for i in range(0, len(values), 300):  # 20 small batches, as an SDK sends them
        steps = np.arange(i, i + 300, dtype=np.int64)[::-1].copy()  # logged out of order
        store.metrics.ingest(
            run.id, [Series("k", steps, values[i : i + 300][::-1].copy(), steps * 0.1)]
        )
    before = store.metrics.chart(run.id, ["k"], None, None, 24)["k"]
    assert store.metrics.compact(small=2048, min_chunks=8) == 1
    with store.engine.connect() as conn:
        chunks = conn.execute(sa.select(sa.func.count()).select_from(metric_chunks)).scalar()
        tiles = conn.execute(sa.select(sa.func.count()).select_from(metric_tiles)).scalar()
        heads = conn.execute(sa.select(sa.func.count()).select_from(metric_heads)).scalar()
    assert chunks == tiles == heads == 1  # the old chunks' tiles and heads went with them
    assert all(stored == fresh for stored, fresh in _tiles_of_each_chunk(store, run.id))
    after = store.metrics.chart(run.id, ["k"], None, None, 24)["k"]
    for got in (before, after):
        assert 99.0 in got.values and values.min() in got.values
        assert (got.steps[-1], got.values[-1]) == (5999, values[5999])
    _check(store, run.id, None, None, 24)
    _check(store, run.id, 1000, 4999, 24)


def test_chunks_stored_before_tiles_are_read_from_their_points(store: Store) -> None:
    run = store.runs.create(experiment="e")
    steps = np.arange(100_000, dtype=np.int64)
    values = np.cos(steps / 1000.0)
    values[77_777] = -5.0
    for i in range(0, 100_000, 25_000):
        sl = slice(i, i + 25_000)
        store.metrics.ingest(run.id, [Series("k", steps[sl], values[sl], steps[sl] * 0.5)])
    with_tiles = store.metrics.chart(run.id, ["k"], None, None, 200)["k"]
    with store.engine.begin() as conn:  # as after the upgrade that added the table
        conn.execute(metric_tiles.delete())
    without = store.metrics.chart(run.id, ["k"], None, None, 200)["k"]
    assert without.steps.tolist() == with_tiles.steps.tolist()
    assert without.values.tolist() == with_tiles.values.tolist()
    assert -5.0 in without.values
    _check(store, run.id, None, None, 200)


def test_each_chunk_gets_the_tiles_of_its_points(store: Store) -> None:
    run = store.runs.create(experiment="e")
    steps = np.array([5, 1, 3, 3, 2, 900, 0], dtype=np.int64)
    values = np.array([1.0, math.nan, -2.0, 7.0, math.inf, 0.5, math.nan])
    store.metrics.ingest(run.id, [Series("k", steps, values, 1.7e9 + steps / 3)])
    [(stored, fresh)] = _tiles_of_each_chunk(store, run.id)
    assert stored == fresh
    t = _tiles.decode(stored[0])
    assert (t.first_step[0], t.last_step[0], t.count[0]) == (0, 900, 7)
    assert (t.min_step[0], t.min_v[0], t.max_step[0], t.max_v[0]) == (3, -2.0, 2, math.inf)


def test_a_run_of_many_chunks_is_charted_from_one_tile_per_chunk(store: Store) -> None:
    run = store.runs.create(experiment="e")
    steps = np.arange(30_000, dtype=np.int64)
    values = np.sin(steps / 700.0)
    values[[123, 29_999 - 5]] = [42.0, -42.0]
    for i in range(0, 30_000, 100):  # 300 chunks: at least two per bucket at 40 points
        sl = slice(i, i + 100)
        store.metrics.ingest(run.id, [Series("k", steps[sl], values[sl], steps[sl] * 0.1)])
    got = store.metrics.chart(run.id, ["k"], None, None, 40)["k"]
    assert {42.0, -42.0} <= set(got.values.tolist()) and got.steps[-1] == 29_999
    _check(store, run.id, None, None, 40)
    _check(store, run.id, 1_234, 25_678, 40)


def test_a_whole_series_is_read_from_the_heads_and_only_when_every_chunk_has_one(
    store: Store,
) -> None:
    run = store.runs.create(experiment="e")
    steps = np.arange(30_000, dtype=np.int64)
    values = np.sin(steps / 700.0)
    for i in range(0, 30_000, 100):  # 300 chunks, each with its head
        sl = slice(i, i + 100)
        store.metrics.ingest(run.id, [Series("k", steps[sl], values[sl], steps[sl] * 0.1)])
    h = metric_heads.c
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(metric_heads)).scalar() == 300
    before = store.metrics.chart(run.id, ["k"], None, None, 40)["k"]
    # A head that says otherwise shows through: the whole series is read from the heads...
    planted = _tiles.of_points(
        np.array([5_000, 5_099], dtype=np.int64), np.array([1000.0, 0.0]), np.zeros(2), size=2
    )
    with store.engine.begin() as conn:
        conn.execute(
            metric_heads.update()
            .where(h.run_id == run.id, h.step_min == 5_000)
            .values(whole=_tiles.encode(planted))
        )
    assert 1000.0 in store.metrics.chart(run.id, ["k"], None, None, 40)["k"].values
    # ... and a chunk without its head sends the key the general way, which reads the tiles.
    with store.engine.begin() as conn:
        conn.execute(metric_heads.delete().where(h.run_id == run.id, h.step_min == 5_000))
    after = store.metrics.chart(run.id, ["k"], None, None, 40)["k"]
    assert after.steps.tolist() == before.steps.tolist()
    assert after.values.tolist() == before.values.tolist()
    _check(store, run.id, None, None, 40)
    # A zoom never reads the heads.
    _check(store, run.id, 1_234, 25_678, 40)


def test_a_deep_zoom_reads_fine_tiles_made_once_per_chunk(store: Store) -> None:
    """A window of fewer stored tiles than buckets (30k-60k points of 50k-point chunks, 1,000
    points asked) is drawn from tiles of 32 points, made on the first zoom and kept: the
    next zooms, at other windows, decode nothing. Every answer holds its buckets' extremes."""
    run = store.runs.create(experiment="e")
    n = 150_000
    steps = np.arange(n, dtype=np.int64)
    values = np.sin(steps / 900.0)
    values[[40_001, 77_777, 120_000]] = [9.0, -9.0, math.nan]  # spikes a zoom must show
    for i in range(0, n, 50_000):
        sl = slice(i, i + 50_000)
        store.metrics.ingest(run.id, [Series("k", steps[sl], values[sl], steps[sl] * 0.01)])
    kept = store.metrics._chunks._kept  # the process's decoded chunks
    rng = np.random.default_rng(3)
    for _ in range(4):
        start = int(rng.integers(0, 80_000))
        end = start + int(rng.integers(30_000, 60_000))
        _check(store, run.id, start, end, 1000)
    assert 2 <= len(kept) <= 3
    names = set(kept)
    got = store.metrics.chart(run.id, ["k"], 39_000, 79_000, 1000)["k"]
    assert {9.0, -9.0} <= set(got.values.tolist())
    assert got.steps[0] == 39_000 and got.steps[-1] == 79_000  # not a point outside
    _check(store, run.id, 39_000, 79_000, 1000)
    _check(store, run.id, 100_000, 149_999, 1000)
    assert set(kept) >= names and len(kept) <= 3  # nothing decoded twice
