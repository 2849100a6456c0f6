"""compare(): config diff, final metrics, best by goal and deltas, on Run records."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from runyard.entities import Goal, Progress, Run, RunStatus
from runyard.errors import BadRequest, NotFound
from runyard.store import Store
from runyard.store.compare import check_request, compare, flatten
from runyard.store.metrics import Series


def _run(
    run_id: str,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    goals: dict[str, Goal] | None = None,
) -> Run:
    return Run(
        id=run_id,
        name=run_id,
        experiment="e",
        status=RunStatus.COMPLETED,
        params=params or {},
        tags=[],
        notes="",
        early_stopped=False,
        stopped_at_epoch=None,
        progress=Progress(),
        attempt_count=0,
        run_dir="/nowhere",
        created_at=0.0,
        started_at=None,
        ended_at=None,
        metric_goals=goals or {},
        metrics=metrics or {},
    )


def test_flatten_nests_with_dots_and_keeps_lists() -> None:
    params = {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99], "sched": {"step": 3}}}
    assert flatten(params) == {
        "lr": 0.1,
        "opt.name": "adam",
        "opt.betas": [0.9, 0.99],
        "opt.sched.step": 3,
    }
    assert flatten({"empty": {}}) == {"empty": {}}


def test_config_diff_covers_every_key_of_every_run() -> None:
    a = _run("a", {"lr": 0.1, "opt": {"name": "adam"}, "seed": 1, "flag": True})
    b = _run("b", {"lr": 0.01, "opt": {"name": "adam"}, "seed": 1.0, "flag": 1, "extra": "x"})
    rows = {r.key: r for r in compare([a, b]).config}
    assert sorted(rows) == ["extra", "flag", "lr", "opt.name", "seed"]
    assert rows["lr"].values == {"a": 0.1, "b": 0.01} and rows["lr"].differs
    assert rows["extra"].values == {"a": None, "b": "x"} and rows["extra"].differs
    assert not rows["opt.name"].differs
    assert not rows["seed"].differs  # 1 and 1.0 are the same number
    assert rows["flag"].differs  # true is not 1
    only = compare([a, b], diff_only=True).config
    assert [r.key for r in only] == ["extra", "flag", "lr"]


def test_metrics_best_by_goal_nan_never_best_and_deltas() -> None:
    goals = {"val/loss": Goal.MIN, "val/acc": Goal.MAX}
    a = _run("a", metrics={"val/loss": 0.5, "val/acc": 0.8}, goals=goals)
    b = _run("b", metrics={"val/loss": math.nan, "val/acc": 0.9}, goals=goals)
    c = _run("c", metrics={"val/loss": 0.3, "other": 7.0}, goals=goals)
    rows = {r.key: r for r in compare([a, b, c], baseline="a").metrics}
    assert sorted(rows) == ["other", "val/acc", "val/loss"]
    loss = rows["val/loss"]
    assert loss.goal is Goal.MIN and loss.best_run_id == "c"
    assert math.isnan(loss.values["b"])
    assert loss.deltas["a"] == 0.0 and loss.deltas["b"] is None
    assert loss.deltas["c"] == pytest.approx(-0.2)
    acc = rows["val/acc"]
    assert acc.goal is Goal.MAX and acc.best_run_id == "b"
    assert acc.values["c"] is None and acc.deltas["c"] is None
    assert rows["other"].goal is None and rows["other"].best_run_id is None  # no goal declared
    no_base = compare([a, b, c]).metrics[0]
    assert set(no_base.deltas.values()) == {None}


def test_goal_is_null_when_runs_disagree() -> None:
    a = _run("a", metrics={"score": 1.0}, goals={"score": Goal.MIN})
    b = _run("b", metrics={"score": 2.0}, goals={"score": Goal.MAX})
    c = _run("c", metrics={"score": 3.0})
    assert compare([a, b]).metrics[0].goal is None
    assert compare([a, b]).metrics[0].best_run_id is None
    row = compare([a, c]).metrics[0]  # one has no goal: no agreement either
    assert row.goal is None and row.best_run_id is None


def test_all_nan_has_no_best() -> None:
    goals = {"m": Goal.MIN}
    runs = [_run(i, metrics={"m": math.nan}, goals=goals) for i in ("a", "b")]
    rows = compare(runs).metrics
    assert rows[0].goal is Goal.MIN and rows[0].best_run_id is None


@pytest.mark.parametrize(
    ("ids", "baseline", "message"),
    [
        (["a"], None, "2 to 10"),
        ([f"r{i}" for i in range(11)], None, "2 to 10"),
        (["a", "b", "a"], None, "twice"),
        (["a", "b"], "c", "baseline"),
    ],
)
def test_bad_requests(ids: list[str], baseline: str | None, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        check_request(ids, baseline)


def test_get_many_keeps_order_and_reads_summaries(store: Store) -> None:
    a = store.runs.create(experiment="e", params={"lr": 0.1})
    b = store.runs.create(experiment="e", params={"lr": 0.2})
    store.metrics.set_goals(b.id, {"val/loss": Goal.MIN}, primary="val/loss")
    steps = np.array([1, 2, 3], dtype=np.int64)
    store.metrics.ingest(b.id, [Series("val/loss", steps, np.array([0.5, 0.2, 0.4]), np.zeros(3))])
    got = store.runs.get_many([b.id, a.id])
    assert [r.id for r in got] == [b.id, a.id]
    assert got[0].metrics == {"val/loss": 0.4}
    assert (got[0].best, got[0].best_step) == (0.2, 2)
    assert (got[1].best, got[1].best_step) == (None, None)
    with pytest.raises(NotFound, match="nope"):
        store.runs.get_many([a.id, "nope"])
    row = compare(got, baseline=a.id).config[0]
    assert row.key == "lr" and row.differs


def test_an_empty_cell_says_why() -> None:
    started = _run("a", {"lr": 0.1, "seed": 1}, metrics={"loss": 0.5})
    started.started_at = 1.0
    queued = _run("q", {"lr": 0.2})  # never started: no seed, no loss yet
    cmp = compare([started, queued])
    config = {r.key: r for r in cmp.config}
    assert config["seed"].missing == {"q": "not started"}
    assert config["lr"].missing == {}
    assert cmp.metrics[0].missing == {"q": "not started"}
    queued.started_at = 2.0
    cmp = compare([started, queued])
    assert cmp.config[1].missing == {"q": "no such key"}
    assert cmp.metrics[0].missing == {"q": "not logged"}
