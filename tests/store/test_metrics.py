from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from runyard.entities import Goal
from runyard.errors import NotFound
from runyard.store import Store, _codec
from runyard.store.metrics import Series
from runyard.store.tables import runs


def _series(key: str, steps: list[int], values: list[float]) -> Series:
    n = len(steps)
    return Series(
        key,
        np.array(steps, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.linspace(1.7e9, 1.7e9 + n, n),
    )


def _set_goal(store: Store, run_id: str, key: str, goal: Goal) -> None:
    with store.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(metric_goals={key: goal}))


def test_ingest_then_read_in_step_order(store: Store) -> None:
    run = store.runs.create(experiment="e")
    store.metrics.ingest(run.id, [_series("loss", [3, 4, 5], [0.3, 0.4, 0.5])])
    store.metrics.ingest(run.id, [_series("loss", [0, 1, 2], [0.0, 0.1, 0.2])])
    got = store.metrics.read(run.id)["loss"]
    assert got.steps.tolist() == [0, 1, 2, 3, 4, 5]
    assert got.values.tolist() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    window = store.metrics.read(run.id, ["loss"], start=2, end=4)["loss"]
    assert window.steps.tolist() == [2, 3, 4]


def test_replayed_batch_is_acknowledged_not_stored(store: Store) -> None:
    run = store.runs.create(experiment="e")
    batch = [_series("loss", [0, 1], [1.0, 0.5])]
    first = store.metrics.ingest(run.id, batch, source="sdk-1", seq=0)
    again = store.metrics.ingest(run.id, batch, source="sdk-1", seq=0)
    other = store.metrics.ingest(run.id, batch, source="sdk-2", seq=0)
    assert (first.accepted, first.duplicate) == (2, False)
    assert (again.accepted, again.duplicate) == (0, True)
    assert other.accepted == 2
    assert len(store.metrics.read(run.id)["loss"].steps) == 4
    assert store.metrics.summaries(run.id)[0].count == 4


def test_summary_tracks_last_min_max_and_best_by_goal(store: Store) -> None:
    run = store.runs.create(experiment="e")
    _set_goal(store, run.id, "val/acc", Goal.MAX)
    store.metrics.ingest(run.id, [_series("val/acc", [0, 1, 2], [0.5, 0.9, 0.7])])
    store.metrics.ingest(run.id, [_series("val/acc", [3, 4], [0.8, 0.95]), _series("x", [0], [1])])
    acc, x = store.metrics.summaries(run.id)
    assert (acc.count, acc.last, acc.last_step) == (5, 0.95, 4)
    assert (acc.min, acc.max, acc.best, acc.best_step, acc.goal) == (0.5, 0.95, 0.95, 4, Goal.MAX)
    assert (x.best, x.goal) == (None, None)  # no goal, no best


def test_late_batch_does_not_become_last(store: Store) -> None:
    run = store.runs.create(experiment="e")
    store.metrics.ingest(run.id, [_series("loss", [10, 11], [0.2, 0.1])])
    store.metrics.ingest(run.id, [_series("loss", [0], [9.0])])  # an old point arriving late
    (s,) = store.metrics.summaries(run.id)
    assert (s.last, s.last_step, s.max) == (0.1, 11, 9.0)


def test_nan_and_inf_are_kept(store: Store) -> None:
    run = store.runs.create(experiment="e")
    _set_goal(store, run.id, "loss", Goal.MIN)
    store.metrics.ingest(
        run.id, [_series("loss", [0, 1, 2, 3], [1.0, math.inf, -math.inf, math.nan])]
    )
    got = store.metrics.read(run.id)["loss"].values
    assert got[0] == 1.0 and got[1] == math.inf and got[2] == -math.inf and math.isnan(got[3])
    (s,) = store.metrics.summaries(run.id)
    assert math.isnan(s.last) and s.min == -math.inf and s.max == math.inf and s.best == -math.inf
    assert math.isnan(store.runs.get(run.id).metrics["loss"])


def test_unknown_run(store: Store) -> None:
    with pytest.raises(NotFound):
        store.metrics.ingest("nope", [_series("loss", [0], [1.0])])
    with pytest.raises(NotFound):
        store.metrics.read("nope")


@given(
    hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(-(2**62), 2**62)),
    st.data(),
)
def test_codec_round_trips_bit_exact(steps: np.ndarray, data: st.DataObject) -> None:
    n = len(steps)
    values = data.draw(hnp.arrays(np.float64, n, elements=st.floats(allow_nan=True, width=64)))
    ts = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0, 4e9)))
    s, v, t = _codec.decode(_codec.encode(steps, values, ts), n)
    assert s.tolist() == steps.tolist()
    assert v.tobytes() == values.tobytes()  # NaN payloads and signed zeros included
    assert np.allclose(t, ts, rtol=0, atol=1e-6)


def test_codec_compresses_a_training_curve() -> None:
    n = 100_000
    steps = np.arange(n, dtype=np.int64)
    values = np.exp(-steps / 20_000) + np.random.default_rng(0).normal(0, 0.01, n)
    ts = 1.7e9 + steps * 0.01
    assert len(_codec.encode(steps, values, ts)) / n < 12


def test_corrupt_chunk_is_refused() -> None:
    with pytest.raises(ValueError):
        _codec.decode(b"\x09garbage", 1)
    blob = _codec.encode(np.arange(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError):
        _codec.decode(blob, 4)


def test_chunks_are_deleted_with_their_run(store: Store) -> None:
    run = store.runs.create(experiment="e")
    store.metrics.ingest(run.id, [_series("loss", [0], [1.0])])
    with store.engine.begin() as conn:
        conn.execute(runs.delete().where(runs.c.id == run.id))
        left = conn.execute(sa.text("SELECT count(*) FROM metric_chunks")).scalar()
    assert left == 0
