"""Parsed search clauses (search_filter.py) as SQL over runs, their params, metric summaries
and key-value tags; used by runyard's run list and by MLflow's runs/search alike."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from runyard.errors import BadRequest
from runyard.store.search_filter import Comparison, OrderKey
from runyard.store.tables import metric_summaries, mlflow_run_tags, runs

# Attribute names a filter may use, mapped to columns; MLflow's names are mapped by its layer.
ATTRIBUTE_COLUMNS = {
    "id": "id",
    "run_id": "id",
    "name": "name",
    "run_name": "name",
    "run name": "name",
    "status": "status",
    "created_at": "created_at",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "updated_at": "updated_at",
    "priority": "priority",
}

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
}


def _glob(pattern: str) -> str:
    """A LIKE pattern as SQLite GLOB, which (unlike SQLite's LIKE) is case-sensitive."""
    out = []
    for ch in pattern:
        out.append({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(ch, ch))
    return "".join(out)


class RunSearch:
    """Builds WHERE and ORDER BY terms for one database dialect."""

    def __init__(self, dialect: str):
        self.postgres = dialect == "postgresql"

    def param(self, key: str, *, text: bool = False) -> sa.ColumnElement[Any]:
        if self.postgres:
            return runs.c.params[key].as_string() if text else runs.c.params[key]
        if '"' in key:
            raise BadRequest(f"parameter key {key!r} cannot be queried: it holds a double quote")
        return sa.func.json_extract(runs.c.params, f'$."{key}"')

    def _param_literal(self, value: Any) -> sa.ColumnElement[Any]:
        if self.postgres:
            return sa.cast(sa.literal(orjson.dumps(value).decode()), JSONB)
        return sa.literal(value)

    def _string_match(self, expr: Any, op: str, value: str) -> sa.ColumnElement[Any]:
        if op == "LIKE":
            match: sa.ColumnElement[Any] = (
                expr.like(value) if self.postgres else expr.op("GLOB")(_glob(value))
            )
            return match
        if op == "ILIKE":
            return sa.func.lower(expr).like(value.lower())
        compare = _OPS[op]
        return compare(expr, value)  # type: ignore[no-any-return]

    def metric_on(self, summary: sa.FromClause, c: Comparison) -> sa.ColumnElement[Any]:
        """``c``, a clause on metrics, on its key's summary row already joined to the run."""
        return _OPS[c.op](summary.c.last, float(c.value))  # type: ignore[no-any-return]

    def condition(self, c: Comparison) -> sa.ColumnElement[Any]:
        if c.entity == "metrics":
            s = metric_summaries  # an IN, not a correlated EXISTS: it can use (key, last)
            return runs.c.id.in_(
                sa.select(s.c.run_id).where(s.c.key == c.key, self.metric_on(s, c))
            )
        if c.entity == "tags":
            t = mlflow_run_tags
            has = sa.exists().where(t.c.run_id == runs.c.id, t.c.key == c.key)
            if c.op == "IS NULL":
                return ~has
            if c.op == "IS NOT NULL":
                return has
            return has.where(self._string_match(t.c.value, c.op, str(c.value)))
        if c.entity == "params":
            if c.op == "IS NULL" or (c.value is None and c.op == "="):
                return self.param(c.key).is_(None)
            if c.op == "IS NOT NULL" or (c.value is None and c.op == "!="):
                return self.param(c.key).is_not(None)
            if isinstance(c.value, str):
                return self._string_match(self.param(c.key, text=True), c.op, c.value)
            if c.op not in _OPS:
                raise BadRequest(f"params.{c.key} {c.op} needs a quoted string")
            return _OPS[c.op](self.param(c.key), self._param_literal(c.value))  # type: ignore[no-any-return]
        column = ATTRIBUTE_COLUMNS.get(c.key)
        if column is None:
            raise BadRequest(
                f"unknown attribute {c.key!r}: use one of {', '.join(sorted(ATTRIBUTE_COLUMNS))}"
            )
        col = runs.c[column]
        if c.op == "IN":
            return col.in_(list(c.value))
        if c.op == "NOT IN":
            return col.not_in(list(c.value))
        if c.op in ("IS NULL", "IS NOT NULL"):
            return col.is_(None) if c.op == "IS NULL" else col.is_not(None)
        if isinstance(c.value, str):
            return self._string_match(col, c.op, c.value)
        return _OPS[c.op](col, c.value)  # type: ignore[no-any-return]

    def where(self, stmt: sa.Select[Any], clauses: Sequence[Comparison]) -> sa.Select[Any]:
        for clause in clauses:
            stmt = stmt.where(self.condition(clause))
        return stmt

    def order(self, stmt: sa.Select[Any], keys: Sequence[OrderKey]) -> sa.Select[Any]:
        """ORDER BY the keys in turn; runs without a key's value sort last either way."""
        terms = []
        for i, k in enumerate(keys):
            expr: sa.ColumnElement[Any]
            if k.entity == "metrics":
                s = metric_summaries.alias(f"om{i}")
                stmt = stmt.outerjoin(s, sa.and_(s.c.run_id == runs.c.id, s.c.key == k.key))
                expr = s.c.last
            elif k.entity == "tags":
                t = mlflow_run_tags.alias(f"ot{i}")
                stmt = stmt.outerjoin(t, sa.and_(t.c.run_id == runs.c.id, t.c.key == k.key))
                expr = t.c.value
            elif k.entity == "params":
                expr = self.param(k.key)
            else:
                column = ATTRIBUTE_COLUMNS.get(k.key)
                if column is None:
                    raise BadRequest(f"unknown attribute {k.key!r} in order_by")
                expr = runs.c[column]
            terms.append((expr.desc() if k.descending else expr.asc()).nulls_last())
        return stmt.order_by(*terms)


def search_ids(
    engine: sa.Engine,
    experiment_ids: Sequence[int],
    where: Sequence[sa.ColumnElement[Any]],
    clauses: Sequence[Comparison],
    keys: Sequence[OrderKey],
    offset: int,
    limit: int,
) -> tuple[list[str], bool]:
    """Ids of one page of runs in ``experiment_ids``, and whether more follow."""
    search = RunSearch(engine.dialect.name)
    stmt = sa.select(runs.c.id).where(runs.c.experiment_id.in_(list(experiment_ids)), *where)
    stmt = search.order(search.where(stmt, clauses), keys).order_by(runs.c.id)
    with engine.connect() as conn:
        ids = list(conn.execute(stmt.offset(offset).limit(limit + 1)).scalars())
    return ids[:limit], len(ids) > limit
