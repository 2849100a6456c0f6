"""The event log: order, queue counts, throttling, the end of a run, pruning, listeners."""

from __future__ import annotations

import threading
import time

import numpy as np
import sqlalchemy as sa

from runyard.entities import RunStatus
from runyard.store import Store
from runyard.store.metrics import Series
from runyard.store.queue import GROUPS
from runyard.store.tables import events


def _series(key: str, first: int, n: int = 3) -> Series:
    steps = np.arange(first, first + n, dtype=np.int64)
    return Series(key, steps, np.ones(n), np.zeros(n))


def _kinds(store: Store, run_id: str | None = None) -> list[str]:
    return [e.kind for e in store.events.list(run_id)]


def test_ids_grow_and_list_reads_after(store: Store) -> None:
    assert store.events.last_id() == 0
    ids = [store.events.emit("resume_skip", None, n=i) for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert store.events.last_id() == ids[-1]
    after = store.events.list(after=ids[1])
    assert [e.id for e in after] == ids[2:]
    assert [e.data["n"] for e in after] == [2, 3, 4]


def test_status_changes_carry_the_queue_counts(store: Store) -> None:
    run = store.runs.create(experiment="e")  # running
    store.events.emit("created", run.id, status="running")
    queue = [e for e in store.events.list() if e.kind == "queue"]
    groups = dict.fromkeys(GROUPS, 0)  # cancelled (and pruned) counted apart from failed
    assert [e.data["counts"] for e in queue] == [{**groups, "active": 1}]
    store.events.emit("status", run.id, status="running")  # nothing moved
    store.events.close()  # sends what the throttle holds
    assert len([e for e in store.events.list() if e.kind == "queue"]) == 1


def test_metrics_events_are_throttled_and_the_last_arrives(store: Store) -> None:
    run = store.runs.create(experiment="e")
    start = time.monotonic()
    for i in range(200):
        store.metrics.ingest(run.id, [_series("loss", 3 * i), _series(f"k{i % 3}", 3 * i)])
    elapsed = time.monotonic() - start
    store.events.close()
    sent = [e for e in store.events.list(run.id) if e.kind == "metrics"]
    assert 1 <= len(sent) <= 2 + elapsed / 0.5  # one per half second, plus the last
    assert sent[-1].data["last_step"] == 3 * 199 + 2
    # Each event names the keys that changed since the one before: together, every key.
    assert set().union(*(e.data["keys"] for e in sent)) == {"loss", "k0", "k1", "k2"}


def test_progress_events(store: Store) -> None:
    run = store.runs.create(experiment="e")
    store.run_state.set_progress(run.id, epoch=1, total_epochs=4)
    (event,) = [e for e in store.events.list(run.id) if e.kind == "progress"]
    assert event.data["epoch"] == 1 and event.data["total_epochs"] == 4
    assert event.data["percent"] == 25.0 and "eta_s" in event.data


def test_a_runs_end_comes_after_its_last_metrics_then_its_summary(store: Store) -> None:
    run = store.runs.create(experiment="e")
    store.metrics.ingest(run.id, [_series("loss", 0)])
    store.metrics.ingest(run.id, [_series("loss", 3)])  # held back by the throttle
    assert store.run_state.finish(run.id, RunStatus.COMPLETED)
    mine = store.events.list(run.id)
    assert [e.kind for e in mine] == ["metrics", "metrics", "status", "summary"]
    assert mine[1].data["last_step"] == 5
    assert mine[2].data == {"status": "completed", "reason": None}
    assert not store.run_state.finish(run.id, RunStatus.FAILED)  # ended: no second end
    assert _kinds(store, run.id) == ["metrics", "metrics", "status", "summary"]


def test_prune_keeps_the_newest(store: Store) -> None:
    ids = [store.events.emit("x") for _ in range(10)]
    assert store.events.prune(max_age_s=3600, max_rows=3) == 7
    assert [e.id for e in store.events.list()] == ids[-3:]
    with store.engine.begin() as conn:
        conn.execute(sa.update(events).values(ts=time.time() - 7200))
    assert store.events.prune(max_age_s=3600, max_rows=1000) == 2
    assert [e.id for e in store.events.list()] == ids[-1:]
    assert store.events.emit("x") > ids[-1]  # an id is never handed out twice


def test_listeners_hear_emits_from_any_thread(store: Store) -> None:
    heard: list[str] = []
    listener = lambda: heard.append(threading.current_thread().name)  # noqa: E731
    store.events.subscribe(listener)
    thread = threading.Thread(target=store.events.emit, args=("x",), name="emitter")
    thread.start()
    thread.join()
    store.events.emit("x")
    store.events.unsubscribe(listener)
    store.events.emit("x")
    assert heard == ["emitter", threading.current_thread().name]


def test_an_event_that_cannot_be_written_fails_no_ingest(store: Store) -> None:
    run = store.runs.create(experiment="e")
    events.drop(store.engine)  # the event log is gone: telling of a change must not undo it
    try:
        assert store.metrics.ingest(run.id, [_series("loss", 0)]).accepted == 3
        store.run_state.set_progress(run.id, epoch=1, total_epochs=2)
    finally:
        events.create(store.engine)
    assert store.metrics.read(run.id)["loss"].steps.tolist() == [0, 1, 2]
