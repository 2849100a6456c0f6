"""metric_tiles: the extremes of each run of 256 points of a chunk and of the chunk, for charts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 15:40:00

Chunks stored before this revision have no tiles: a chart reads their points instead (the
same answer, only slower); chunks the background merge rewrites get theirs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_tiles",
        sa.Column(
            "chunk_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("whole", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["metric_chunks.id"],
            name=op.f("fk_metric_tiles_chunk_id_metric_chunks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chunk_id", name=op.f("pk_metric_tiles")),
    )


def downgrade() -> None:
    op.drop_table("metric_tiles")
