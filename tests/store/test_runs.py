from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from runyard.entities import RunStatus
from runyard.errors import BadRequest, Conflict, NotFound
from runyard.store import Store
from runyard.store.metrics import Series
from runyard.store.runs import RunQuery


def _final(store: Store, run_id: str, **metrics: float) -> None:
    store.metrics.ingest(
        run_id,
        [
            Series(k, np.array([10]), np.array([v], dtype=np.float64), np.array([1.0]))
            for k, v in metrics.items()
        ],
    )


def test_create_and_get_round_trip(store: Store) -> None:
    run = store.runs.create(
        experiment="mnist", name="first", params={"lr": 0.01, "layers": [64, 32]}, tags=["a", "a"]
    )
    got = store.runs.get(run.id)
    assert got.name == "first"
    assert got.experiment == "mnist"
    assert got.params == {"lr": 0.01, "layers": [64, 32]}
    assert got.tags == ["a"]
    assert got.status is RunStatus.RUNNING
    assert got.started_at is not None and got.ended_at is None
    assert got.run_dir.endswith(run.id)
    assert store.experiments.get("mnist").run_count == 1


def test_generated_names_and_unique_ids(store: Store) -> None:
    ids = {store.runs.create(experiment="e").id for _ in range(50)}
    assert len(ids) == 50
    assert all(store.runs.get(i).name.count("-") == 2 for i in ids)


def test_unknown_run_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.runs.get("nope")
    with pytest.raises(NotFound):
        store.runs.update("nope", name="x")


def test_update_labels(store: Store) -> None:
    run = store.runs.create(experiment="e", tags=["old"])
    store.runs.update(run.id, name="renamed", tags=["new", "best"], notes="promising")
    got = store.runs.get(run.id)
    assert (got.name, got.tags, got.notes) == ("renamed", ["new", "best"], "promising")
    assert [r.id for r in store.runs.list(RunQuery(tag="new")).runs] == [run.id]
    assert store.runs.list(RunQuery(tag="old")).runs == []


def test_filter_by_experiment_status_tag_and_name(store: Store) -> None:
    a = store.runs.create(experiment="a", name="alpha-run", tags=["x"])
    b = store.runs.create(experiment="b", name="beta_run", status=RunStatus.QUEUED)
    assert [r.id for r in store.runs.list(RunQuery(experiment="a")).runs] == [a.id]
    assert [r.id for r in store.runs.list(RunQuery(status=[RunStatus.QUEUED])).runs] == [b.id]
    assert [r.id for r in store.runs.list(RunQuery(tag="x")).runs] == [a.id]
    assert [r.id for r in store.runs.list(RunQuery(q="BETA")).runs] == [b.id]
    # LIKE wildcards in q are literal
    assert [r.id for r in store.runs.list(RunQuery(q="_")).runs] == [b.id]


def test_order_by_param_is_numeric_and_puts_missing_last(store: Store) -> None:
    ids = {}
    for lr in (0.1, 10, 9, 0.001):
        ids[lr] = store.runs.create(experiment="e", params={"lr": lr}).id
    missing = store.runs.create(experiment="e", params={}).id
    asc = [r.id for r in store.runs.list(RunQuery(order_by="params.lr")).runs]
    assert asc == [ids[0.001], ids[0.1], ids[9], ids[10], missing]
    desc = [r.id for r in store.runs.list(RunQuery(order_by="-params.lr")).runs]
    assert desc == [ids[10], ids[9], ids[0.1], ids[0.001], missing]


def test_filter_and_order_by_final_metric(store: Store) -> None:
    losses = {0.9: None, 0.2: None, 0.5: None, 0.05: None}
    for loss in losses:
        run = store.runs.create(experiment="e", params={"opt": "adam" if loss < 0.5 else "sgd"})
        _final(store, run.id, **{"val/loss": loss, "acc": 1 - loss})
        losses[loss] = run.id
    store.runs.create(experiment="e")  # no metrics: excluded by a metric filter
    page = store.runs.list(RunQuery(filter="metrics.val/loss < 0.5", order_by="metrics.val/loss"))
    assert [r.id for r in page.runs] == [losses[0.05], losses[0.2]]
    assert page.runs[0].metrics == {"val/loss": 0.05, "acc": 0.95}
    both = store.runs.list(
        RunQuery(filter='metrics.val/loss <= 0.5 and params.opt = "sgd"', order_by="-metrics.acc")
    )
    assert [r.id for r in both.runs] == [losses[0.5]]


def test_order_by_metric_puts_runs_without_it_last(store: Store) -> None:
    with_metric = store.runs.create(experiment="e")
    _final(store, with_metric.id, loss=1.0)
    without = store.runs.create(experiment="e")
    for order in ("metrics.loss", "metrics.loss desc"):
        assert [r.id for r in store.runs.list(RunQuery(order_by=order)).runs] == [
            with_metric.id,
            without.id,
        ]


def test_cursor_pages_through_every_run_once(store: Store) -> None:
    created = {store.runs.create(experiment="e", params={"i": i}).id for i in range(25)}
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = store.runs.list(RunQuery(limit=10, cursor=cursor, order_by="params.i"))
        seen += [r.id for r in page.runs]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 25 and set(seen) == created


@pytest.mark.parametrize(
    "query",
    [
        RunQuery(order_by="nonsense"),
        RunQuery(order_by="params."),
        RunQuery(filter="metrics.loss ~ 3"),
        RunQuery(filter="metrics.loss < abc"),
        RunQuery(filter="loss < 1"),
        RunQuery(filter="params.x = [1]"),
        RunQuery(cursor="not-a-cursor"),
        RunQuery(filter=" and ".join(["metrics.a < 1"] * 21)),
    ],
)
def test_bad_queries_are_refused_with_a_message(store: Store, query: RunQuery) -> None:
    with pytest.raises(BadRequest) as info:
        store.runs.list(query)
    assert info.value.message


def test_experiments_create_list_conflict(store: Store) -> None:
    exp = store.experiments.create("vision", "image models")
    assert store.experiments.get(exp.id).name == "vision"
    assert store.experiments.get("vision").description == "image models"
    with pytest.raises(Conflict):
        store.experiments.create("vision")
    assert [e.name for e in store.experiments.list()] == ["vision"]
    with pytest.raises(NotFound):
        store.experiments.get("missing")


def test_concurrent_first_runs_share_one_experiment(store: Store) -> None:
    errors: list[BaseException] = []

    def create() -> None:
        try:
            store.runs.create(experiment="race")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.experiments.get("race").run_count == 8


def test_params_written_at_once_by_many_writers_are_all_kept(store: Store) -> None:
    """Each writer merges its params into the run's under the row's lock: none is lost.
    (Seen: the Hugging Face Trainer sends its 146 params as two MLflow batches at once, and
    SQLite kept one of them.)"""
    run = store.runs.create(experiment="e")
    writers = 8
    barrier = threading.Barrier(writers)

    def write(i: int) -> None:
        barrier.wait()
        if i % 2:
            store.runs.update(run.id, params={f"sdk{i}.{k}": k for k in range(20)})
        else:
            store.mlflow.log(run.id, {f"mlflow{i}.{k}": str(k) for k in range(20)}, {})

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(write, range(writers)))
    assert len(store.runs.get(run.id).params) == writers * 20
