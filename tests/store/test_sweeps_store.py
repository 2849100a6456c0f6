"""The sweeps table and trial runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from runyard.entities import JobSpec, RunStatus
from runyard.errors import Conflict, NotFound
from runyard.store import Store


def _trial(store: Store, sweep_id: str, number: int) -> str:
    spec = JobSpec(command=["true"])
    run = store.jobs.submit(spec, experiment="sw", params={"lr": 0.1}, sweep=(sweep_id, number))
    assert (run.sweep_id, run.trial) == (sweep_id, number)
    return run.id


def test_one_run_per_trial_and_the_runs_filter(store: Store) -> None:
    sweep = store.sweeps.create(name="s", experiment="sw", spec={"name": "s"})
    assert sweep.status == "running" and store.sweeps.list(running_only=True) == [sweep]
    a, b = _trial(store, sweep.id, 0), _trial(store, sweep.id, 1)
    with pytest.raises(Conflict):
        _trial(store, sweep.id, 1)  # a trial is submitted once, ever
    store.jobs.submit(JobSpec(command=["true"]), experiment="sw")  # not a trial
    assert [r.id for r in store.sweeps.trials(sweep.id)] == [a, b]
    assert store.sweeps.trial_numbers(sweep.id) == {0: a, 1: b}
    assert store.sweeps.end(sweep.id, "completed", "best: trial 1")
    assert not store.sweeps.end(sweep.id, "failed")  # an ending is final
    with pytest.raises(Conflict):
        store.sweeps.stop(sweep.id)
    with pytest.raises(NotFound):
        store.sweeps.get("nope")


def test_a_pruned_stop_ends_pruned(store: Store) -> None:
    sweep = store.sweeps.create(name="s", experiment="sw", spec={"name": "s"})
    queued = _trial(store, sweep.id, 0)
    status = store.jobs.request_cancel(queued, stop_as=RunStatus.PRUNED, reason="pruned at step 3")
    assert status is RunStatus.PRUNED
    run = store.runs.get(queued)
    assert run.status is RunStatus.PRUNED and run.status.is_terminal()
    assert run.reason == "pruned at step 3"
    active = _trial(store, sweep.id, 1)
    assert store.jobs.claim(active, "local", []) == 1
    store.jobs.request_cancel(active, stop_as=RunStatus.PRUNED, reason="pruned at step 5")
    assert store.jobs.stop_ending(active) == (RunStatus.PRUNED, "pruned at step 5")
    plain = _trial(store, sweep.id, 2)
    store.jobs.claim(plain, "local", [])
    store.jobs.request_cancel(plain)
    assert store.jobs.stop_ending(plain) == (RunStatus.CANCELLED, "cancelled by request")
    assert store.queue.counts()["failed"] == 0  # pruned is no failure
