"""metric_heads: each chunk as one tile, clustered by (run, key, step), for whole-series charts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 19:10:00

Filled from the chunks that have tiles; those without (stored before 0009, or by a batch of
runs) have no head, and a chart of their key reads as before (the same answer, only slower).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_heads",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("step_min", sa.BigInteger(), nullable=False),
        sa.Column(
            "chunk_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("whole", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["metric_chunks.id"],
            name=op.f("fk_metric_heads_chunk_id_metric_chunks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "key", "step_min", "chunk_id", name=op.f("pk_metric_heads")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_metric_heads_chunk_id", "metric_heads", ["chunk_id"])
    op.execute(
        "INSERT INTO metric_heads (run_id, key, step_min, chunk_id, count, whole) "
        "SELECT c.run_id, c.key, c.step_min, c.id, c.count, t.whole "
        "FROM metric_chunks c JOIN metric_tiles t ON t.chunk_id = c.id"
    )


def downgrade() -> None:
    op.drop_index("ix_metric_heads_chunk_id", table_name="metric_heads")
    op.drop_table("metric_heads")
