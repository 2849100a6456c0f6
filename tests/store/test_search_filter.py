"""The one search grammar: parsing, error positions, and its SQL over both databases."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from runyard.store import Store
from runyard.store.metrics import Series
from runyard.store.runs import RunQuery
from runyard.store.search_filter import (
    Comparison,
    FilterError,
    parse_filter,
    parse_order_key,
)
from runyard.store.tables import mlflow_run_tags


def test_parses_every_entity_operator_and_quoting() -> None:
    text = (
        "metrics.`val/loss` < 0.5 AND params.optimizer = 'adam' and tags.\"my tag\" LIKE 'v%' "
        "AND attributes.run_id IN ('a', \"b\") AND tags.x IS NOT NULL AND params.y IS NULL "
        "AND run_name ILIKE '%Net%' AND metric.acc >= -1e-3 AND attr.status != 'FAILED'"
    )
    got = [(c.entity, c.key, c.op, c.value) for c in parse_filter(text, "mlflow")]
    assert got == [
        ("metrics", "val/loss", "<", 0.5),
        ("params", "optimizer", "=", "adam"),
        ("tags", "my tag", "LIKE", "v%"),
        ("attributes", "run_id", "IN", ("a", "b")),
        ("tags", "x", "IS NOT NULL", None),
        ("params", "y", "IS NULL", None),
        ("attributes", "run_name", "ILIKE", "%Net%"),
        ("metrics", "acc", ">=", -0.001),
        ("attributes", "status", "!=", "FAILED"),
    ]


def test_runyard_dialect_keeps_bare_keys_and_json_literals() -> None:
    got = parse_filter('metrics.val/loss <= 0.5 and params.opt = "sgd" and params.n = null')
    assert got == [
        Comparison("metrics", "val/loss", "<=", 0.5, 0),
        Comparison("params", "opt", "=", "sgd", 28),
        Comparison("params", "n", "=", None, 51),
    ]
    assert parse_filter("params.lr > 0.01")[0].value == 0.01
    assert parse_filter("   ") == []


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("metrics.loss ~ 3", 13, "expected an operator"),
        ("metrics.loss < 'a'", 15, "compared with a number"),
        ("params.a = 'x' OR params.b = 'y'", 15, "OR is not supported"),
        ("params.a = 'x", 11, "unterminated quote"),
        ("nope.a = 'x'", 0, "unknown entity"),
        ("params.a < 'x'", 9, "params compare with"),
        ("params.a = 3", 11, "quoted string"),
        ("attributes.run_name IN ('a')", 20, "run_id only"),
        ("attributes.run_id IN 'a'", 21, "list in parentheses"),
        ("metrics.a > 1 AND", 17, "ends where"),
        ("tags.x IS 'y'", 10, "NULL"),
    ],
)
def test_errors_point_at_the_character(text: str, position: int, words: str) -> None:
    with pytest.raises(FilterError) as err:
        parse_filter(text, "mlflow")
    assert err.value.position == position
    assert words in err.value.message and f"at character {position}" in err.value.message
    assert err.value.status == 400


def test_order_keys() -> None:
    assert parse_order_key("metrics.`val acc` DESC") == parse_order_key("metric.`val acc` desc")
    key = parse_order_key("attributes.start_time")
    assert (key.entity, key.key, key.descending) == ("attributes", "start_time", False)
    with pytest.raises(FilterError):
        parse_order_key("metrics.a b c")


def _run(store: Store, name: str, loss: float | None, **params: str) -> str:
    run = store.runs.create(experiment="e", name=name, params=params)
    if loss is not None:
        series = Series("val/loss", np.array([1]), np.array([loss]), np.array([1.0]))
        store.metrics.ingest(run.id, [series])
    return run.id


def test_sql_of_each_entity(store: Store) -> None:
    a = _run(store, "Alpha", 0.1, opt="Adam")
    b = _run(store, "beta", 0.9, opt="sgd")
    c = _run(store, "gamma", None)
    with store.engine.begin() as conn:
        conn.execute(mlflow_run_tags.insert().values(run_id=a, key="team", value="Vision"))
        conn.execute(mlflow_run_tags.insert().values(run_id=b, key="team", value="nlp"))

    def ids(text: str) -> set[str]:
        return {r.id for r in store.runs.list(RunQuery(filter=text)).runs}

    assert ids("metrics.`val/loss` < 0.5") == {a}
    assert ids("params.opt LIKE 'A%'") == {a}  # LIKE is case-sensitive, on SQLite too
    assert ids("params.opt ILIKE 'a%'") == {a}
    assert ids("params.opt IS NULL") == {c}
    assert ids("params.opt != 'sgd'") == {a}
    assert ids("tags.team = 'nlp'") == {b}
    assert ids("tags.team IS NULL") == {c}
    assert ids("tags.team ILIKE 'v%'") == {a}
    assert ids(f"attributes.run_id IN ('{a}', '{c}')") == {a, c}
    assert ids(f"run_id NOT IN ('{a}')") == {b, c}
    assert ids("attributes.run_name = 'beta'") == {b}
    assert ids("attributes.name LIKE '%ta'") == {b}
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mlflow_run_tags)).scalar() == 2
