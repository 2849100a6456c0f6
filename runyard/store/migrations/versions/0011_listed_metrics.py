"""runs.listed_metrics: each key's last value and best on the run's row, for the runs list

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:00:00

Filled from metric_summaries, which every write of it now keeps in step.
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _number(x: float | None) -> float | str | None:
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listed_metrics", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT run_id, key, last, best, best_step FROM metric_summaries ORDER BY run_id, key"
        )
    ).all()  # read whole before the updates: a cursor left open beside them is not portable
    update = sa.text("UPDATE runs SET listed_metrics = :listed WHERE id = :id")
    batch: list[dict[str, Any]] = []
    for run_id, keyed in groupby(rows, key=lambda r: r[0]):
        listed = {
            key: [_number(math.nan if last is None else last), _number(best), best_step]
            for _, key, last, best, best_step in keyed
        }
        batch.append({"id": run_id, "listed": orjson.dumps(listed).decode()})
        if len(batch) >= 1000:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def downgrade() -> None:
    # Not in batch mode: on SQLite it would copy `runs` to a new table and drop the old one,
    # and with foreign keys on, the drop deletes every row that cascades from a run.
    op.execute("ALTER TABLE runs DROP COLUMN listed_metrics")  # SQLite 3.35+, PostgreSQL
