"""State that each worker of `--workers N` holds, kept right across the workers: two stores
(two engines, as two processes have) over one database, two meters over one file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.entities import JobSpec, RunStatus
from runyard.server import shared_meter
from runyard.server.app import create_app
from runyard.server.leader import Doorbell, lock_for
from runyard.server.sessions import SessionBook
from runyard.store import Store
from runyard.store.events import Events
from runyard.store.tables import runs


@pytest.fixture
def two(settings: Settings) -> Iterator[tuple[Store, Store]]:
    a = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    b = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    yield a, b
    a.close()
    b.close()


def test_queue_counts_follow_what_another_worker_sent(two: tuple[Store, Store]) -> None:
    a, b = (Events(s.engine, throttle_s=0.0) for s in two)
    a.share()
    b.share()
    run = two[0].runs.create(experiment="e")  # tracked: running
    a.queue_changed()  # a sends: one running

    def status(value: RunStatus) -> None:  # what the workers' requests do, in short
        with two[0].engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run.id).values(status=value.value))

    status(RunStatus.COMPLETED)
    b.queue_changed()  # b sends: none running
    status(RunStatus.RUNNING)
    a.queue_changed()  # what a sent first, but not what was sent last: it goes out
    queue = [e.data["counts"] for e in a.list() if e.kind == "queue"]
    assert len(queue) == 3
    assert queue[0] == queue[2] != queue[1]


def test_the_leader_lock_is_one_holders(two: tuple[Store, Store]) -> None:
    first, second = (lock_for(s.engine) for s in two)
    assert first.try_acquire()
    assert first.held()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()  # let go: the next one takes it
    second.release()


def test_the_doorbell_reaches_the_listener(tmp_path: Path) -> None:
    import threading

    heard = threading.Event()
    leader, follower = Doorbell(str(tmp_path)), Doorbell(str(tmp_path))
    leader.listen(heard.set)
    follower.ring()
    assert heard.wait(10)
    leader.close()
    follower.close()


def test_the_one_time_code_opens_one_worker_once(two: tuple[Store, Store]) -> None:
    books = [SessionBook(s.sessions, "s3cret", 60.0) for s in two]
    for book in books:
        book.share_login_code("the-code")
    assert books[0].token_matches("the-code")
    assert not books[1].token_matches("the-code")  # used up, though this worker never saw it
    assert books[1].token_matches("s3cret")


def test_the_ingest_meter_counts_every_workers_points(tmp_path: Path) -> None:
    path = tmp_path / "ingest.meter"
    shared_meter.create(path)
    a, b = shared_meter.SharedIngestMeter(path), shared_meter.SharedIngestMeter(path)
    a.add(100)
    b.add(50)
    b.add(0)
    assert a.total == b.total == 150
    assert a.rate() == b.rate() == 150.0  # the first second: over one second


def test_a_follower_reads_free_slots_from_the_store(
    settings: Settings, two: tuple[Store, Store]
) -> None:
    leader_store, follower_store = two
    held = lock_for(leader_store.engine)
    assert held.try_acquire()  # another worker leads
    try:
        run = leader_store.jobs.submit(JobSpec(command=["true"], cpus=3), experiment="e")
        number = leader_store.jobs.claim(run.id, "local", [])
        assert number == 1
        follower = create_app(
            settings.model_copy(update={"slots": 4, "gpus": 0}),
            follower_store,
            leader=lock_for(follower_store.engine),
        )
        with TestClient(follower):
            assert not follower.state.roles.leading
            assert follower.state.roles.free_slots() == (0, 1)  # the leader's 3 CPUs are taken
    finally:
        held.release()
