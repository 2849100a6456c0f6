"""Each run's listed metrics (`runs.listed_metrics`, what the runs list shows: every key's last
value and the primary metric's best) equal its per-key summaries after every kind of write,
including writes into one run at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from alembic import command

from runyard.entities import Goal, RunStatus
from runyard.store import Store
from runyard.store.db import _alembic_config
from runyard.store.metrics import Series
from runyard.store.run_batch import NewRun, create_runs
from runyard.store.runs import RunQuery
from runyard.store.tables import runs


def _series(key: str, steps: list[int], values: list[float]) -> Series:
    return Series(
        key,
        np.array(steps, dtype=np.int64),
        np.array(values, dtype=np.float64),
        np.arange(len(steps), dtype=np.float64) + 1.0,
    )


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


def _check(store: Store, run_id: str) -> None:
    """The run as listed, as read alone and as its per-key summaries say."""
    summaries = {s.key: s for s in store.metrics.summaries(run_id)}
    (listed,) = [r for r in store.runs.list(RunQuery(limit=1000)).runs if r.id == run_id]
    alone = store.runs.get(run_id)
    for run in (listed, alone):
        assert set(run.metrics) == set(summaries)
        for key, s in summaries.items():
            assert _same(run.metrics[key], s.last), key
        primary = summaries.get(run.primary_metric or "")
        if primary is not None:
            assert _same(run.best, primary.best)
            assert run.best_step == primary.best_step


def test_every_write_keeps_the_listed_metrics_true(store: Store) -> None:
    run = store.runs.create(experiment="e")
    _check(store, run.id)  # none yet
    store.metrics.ingest(run.id, [_series("loss", [0, 1, 2], [3.0, 1.0, 2.0])])
    _check(store, run.id)
    store.metrics.set_goals(run.id, {"loss": Goal.MIN}, primary="loss")
    assert store.runs.get(run.id).best == 1.0
    _check(store, run.id)
    store.metrics.ingest(
        run.id,
        [
            _series("loss", [3], [0.5]),
            _series("nan", [0], [math.nan]),
            _series("up", [0, 1], [1.0, math.inf]),
            _series("down", [0], [-math.inf]),
        ],
    )
    got = store.runs.get(run.id)
    assert got.best == 0.5 and got.best_step == 3
    assert math.isnan(got.metrics["nan"]) and got.metrics["up"] == math.inf
    assert got.metrics["down"] == -math.inf
    _check(store, run.id)
    store.run_state.finish(run.id, RunStatus.COMPLETED)
    store.metrics.ingest(run.id, [_series("loss", [4], [0.25])])  # a late point
    assert store.runs.get(run.id).metrics["loss"] == 0.25
    _check(store, run.id)
    store.mlflow.log(run.id, {}, {"a.tag": "x"})  # no metric: nothing listed changes
    _check(store, run.id)

    (batch_id,) = create_runs(
        store.engine,
        store.runs_root,
        [NewRun(experiment="e", metrics={"acc": 0.9, "gap": math.nan}, goals={"acc": Goal.MAX})],
    )
    _check(store, batch_id)
    assert store.runs.get(batch_id).metrics["acc"] == 0.9


def test_ingests_into_one_run_at_once_all_show(store: Store) -> None:
    """Eight writers of eight keys at a barrier: every key is listed with its last value (on
    PostgreSQL, a writer that read the summaries before another committed would drop it)."""
    run = store.runs.create(experiment="e")
    writers = 8
    barrier = threading.Barrier(writers)

    def write(i: int) -> None:
        barrier.wait()
        for step in range(5):
            store.metrics.ingest(run.id, [_series(f"k{i}", [step], [float(i * 10 + step)])])

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    got = store.runs.get(run.id)
    assert got.metrics == {f"k{i}": float(i * 10 + 4) for i in range(writers)}
    _check(store, run.id)


def test_the_migration_fills_them_from_the_summaries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runyard.db'}"
    store = Store.open(url, tmp_path / "runs")
    try:
        run = store.runs.create(experiment="e")
        store.metrics.ingest(run.id, [_series("loss", [0, 1], [2.0, math.nan])])
        store.metrics.set_goals(run.id, {"loss": Goal.MIN}, primary="loss")
        before = store.runs.get(run.id)
        with store.engine.begin() as conn:  # as a database stored before revision 0011
            command.downgrade(_alembic_config(conn), "0010")
        with store.engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        with store.engine.connect() as conn:
            text = conn.execute(sa.select(runs.c.listed_metrics)).scalar_one()
        assert text is not None
        after = store.runs.get(run.id)
        assert math.isnan(after.metrics["loss"]) and math.isnan(before.metrics["loss"])
        assert (after.best, after.best_step) == (before.best, before.best_step) == (2.0, 0)
    finally:
        store.close()
