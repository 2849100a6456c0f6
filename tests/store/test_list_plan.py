"""The runs list's query plans: a filter on a metric and an order read indexes, never a full
scan of a table, and never a metric chunk (the list's fields come from the run row and the
per-(run, key) summaries). Checked with EXPLAIN on SQLite and PostgreSQL."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from runyard.store import Store
from runyard.store.run_batch import NewRun, create_runs
from runyard.store.runs import RunQuery

QUERIES = [
    RunQuery(experiment="plan", filter="metrics.m0 < 0.5", order_by="metrics.m0"),
    RunQuery(experiment="plan", filter="metrics.m0 < 0.5", order_by="-created_at"),
    RunQuery(filter="metrics.m0 >= 0.25 and metrics.m1 < 0.9", order_by="-metrics.m1"),
    RunQuery(filter='metrics.m0 < 0.5 and params.opt = "adam"', order_by="metrics.m0"),
]


def _plan(store: Store, query: RunQuery) -> str:
    stmt = store.runs.list_statement(query).limit(query.limit + 1)
    sql = str(stmt.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
            return "\n".join(str(r[-1]) for r in rows)
        # Tiny tables make any plan a sequential scan; without that option PostgreSQL shows
        # whether an index can serve each step (a step no index serves stays a Seq Scan).
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        rows = conn.exec_driver_sql("EXPLAIN " + sql).all()
        return "\n".join(str(r[0]) for r in rows)


def _full_scans(plan: str, dialect: str) -> list[str]:
    lines = plan.splitlines()
    if dialect == "sqlite":  # "SCAN t USING INDEX i" walks an index in order: that is fine
        return [line for line in lines if line.startswith("SCAN") and "USING" not in line]
    return [line for line in lines if "Seq Scan" in line]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.filter} / {q.order_by}")
def test_filtered_ordered_list_uses_indexes(store: Store, query: RunQuery) -> None:
    rnd = random.Random(0)
    runs = [
        NewRun(
            experiment=rnd.choice(["plan", "other"]),
            params={"opt": rnd.choice(["adam", "sgd"])},
            metrics={f"m{k}": rnd.random() for k in range(3)},
        )
        for _ in range(200)
    ]
    create_runs(store.engine, store.runs_root, runs)
    plan = _plan(store, query)
    dialect = store.engine.dialect.name
    assert not _full_scans(plan, dialect), plan
    assert "metric_chunks" not in plan, plan
    assert "metric_summaries" in plan or "ix_metric_summaries" in plan, plan
    # and the answer is right: the plan is not bought with a wrong result
    page = store.runs.list(query)
    assert page.runs and all(r.metrics["m0"] < 0.5 for r in page.runs if "0.5" in str(query))


def test_a_filter_on_the_ordered_metric_walks_its_index_and_answers_the_same(
    store: Store,
) -> None:
    """A filter on the metric the list is ordered by reads the ordered key's joined summary:
    the database walks the (key, last) index in order and stops at the page, rather than
    sorting every match. The answer is the one the words ask for, NaN and missing keys aside."""
    rnd = random.Random(1)
    runs = []
    for i in range(120):
        metrics = {"m1": rnd.random()}
        if i % 10:  # every tenth run has no m0, and another tenth a NaN
            metrics["m0"] = float("nan") if i % 10 == 5 else rnd.choice([0.1, 0.3, rnd.random()])
        runs.append(NewRun(experiment="plan", metrics=metrics))
    create_runs(store.engine, store.runs_root, runs)
    every = store.runs.list(RunQuery(limit=1000)).runs
    for filt, keep in [
        ("metrics.m0 < 0.5", lambda m: m["m0"] < 0.5),
        ("metrics.m0 >= 0.2 and metrics.m1 < 0.9", lambda m: m["m0"] >= 0.2 and m["m1"] < 0.9),
    ]:
        for order, descending in [("metrics.m0", False), ("-metrics.m0", True)]:
            got = store.runs.list(RunQuery(filter=filt, order_by=order, limit=1000)).runs
            matching = [
                r for r in every if "m0" in r.metrics and r.metrics["m0"] == r.metrics["m0"]
            ]
            matching = [r for r in matching if keep(r.metrics)]
            matching.sort(key=lambda r: r.id)
            matching.sort(key=lambda r: r.metrics["m0"], reverse=descending)
            assert [r.id for r in got] == [r.id for r in matching], (filt, order)
            paged = store.runs.list(RunQuery(filter=filt, order_by=order, limit=7)).runs
            assert [r.id for r in paged] == [r.id for r in matching[:7]]
    if store.engine.dialect.name == "sqlite":
        plan = _plan(store, RunQuery(filter="metrics.m0 < 0.5", order_by="metrics.m0"))
        assert "ix_metric_summaries_key_last" in plan, plan
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # no sort of every match
