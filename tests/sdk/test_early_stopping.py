"""EarlyStopping's rule (patience, min_delta, mode) and what it records on the run."""

from __future__ import annotations

import pytest

import runyard
from runyard.sdk.run import Run
from tests.conftest import ServerProcess
from tests.sdk.conftest import get


class FakeRun:
    """Just what EarlyStopping talks to: the metric's goal, and where the stop is recorded."""

    def __init__(self, goals: dict[str, str] | None = None):
        self.goals = goals or {}
        self.stopped: list[int] = []

    def goal_of(self, key: str) -> str | None:
        return self.goals.get(key)

    def early_stop(self, epoch: int) -> None:
        self.stopped.append(epoch)


def stops_at(values: list[float], run: FakeRun | None = None, **kwargs: object) -> int | None:
    run = run or FakeRun()
    stopper = runyard.EarlyStopping(run, monitor="val/loss", **kwargs)  # type: ignore[arg-type]
    for epoch, value in enumerate(values):
        if stopper.step(value, epoch):
            assert run.stopped == [epoch]
            return epoch
    assert run.stopped == []
    return None


def test_patience_counts_epochs_without_improvement() -> None:
    assert stops_at([1.0, 0.9, 0.95, 0.96], patience=2) == 3
    assert stops_at([1.0, 0.9, 0.95, 0.8, 0.85, 0.86], patience=2) == 5
    assert stops_at([1.0, 0.9, 0.8, 0.7], patience=1) is None
    assert stops_at([1.0, 1.1], patience=0) == 1  # no patience: the first epoch without gain


def test_min_delta_ignores_tiny_improvements() -> None:
    assert stops_at([1.0, 0.999, 0.998], patience=2, min_delta=0.01) == 2
    assert stops_at([1.0, 0.98, 0.96], patience=2, min_delta=0.01) is None


def test_mode_max_and_goal_alias_and_the_runs_goal() -> None:
    rising = [0.1, 0.2, 0.3, 0.3, 0.3]
    assert stops_at(rising, patience=2, mode="max") == 4
    assert stops_at(rising, patience=2, goal="max") == 4
    assert stops_at(rising, FakeRun({"val/loss": "max"}), patience=2) == 4
    assert stops_at(rising, patience=2) == 2  # "min" by default: never better after 0.1
    with pytest.raises(ValueError):
        stops_at(rising, mode="max", goal="min")
    with pytest.raises(ValueError):
        stops_at(rising, mode="best")


def test_nan_never_improves() -> None:
    assert stops_at([float("nan"), float("nan")], patience=2) == 1
    assert stops_at([1.0, float("nan"), 0.5, float("nan")], patience=2) is None


def test_the_run_records_early_stopped_and_stopped_at_epoch(
    online: ServerProcess,
) -> None:
    with runyard.init() as run:
        assert isinstance(run, Run)
        stopper = runyard.EarlyStopping(run, monitor="val/loss", patience=2)
        for epoch, loss in enumerate([0.9, 0.5, 0.6, 0.7, 0.4]):
            run.log({"val/loss": loss}, step=epoch)
            run.progress(epoch + 1, total=5)
            if stopper.step(loss, epoch):
                break
    assert stopper.stopped_epoch == 3 and stopper.best == 0.5 and stopper.best_epoch == 1
    got = get(online.url, f"/api/runs/{run.id}")
    assert (got["status"], got["early_stopped"], got["stopped_at_epoch"]) == ("completed", True, 3)
    progress = get(online.url, f"/api/runs/{run.id}/progress")
    assert (progress["early_stopped"], progress["stopped_at_epoch"]) == (True, 3)
    summary = get(online.url, f"/api/runs/{run.id}/summary")
    assert (summary["early_stopped"], summary["stopped_at_epoch"]) == (True, 3)
