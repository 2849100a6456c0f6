"""datasets: manifest hash, counts and source of a version; transform jobs; files by hash

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manifest_sha256", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("counts", _Json, nullable=True))
        batch_op.add_column(sa.Column("source", sa.Text(), nullable=True))
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_files_sha256", ["sha256"], unique=False)
    op.create_table(
        "dataset_jobs",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("steps", _Json, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.id"],
            name=op.f("fk_dataset_jobs_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dataset_jobs_parent_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["dataset_versions.id"],
            name=op.f("fk_dataset_jobs_version_id_dataset_versions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_jobs")),
    )
    with op.batch_alter_table("dataset_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_jobs_status", ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dataset_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_jobs_status")
    op.drop_table("dataset_jobs")
    with op.batch_alter_table("dataset_files", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_files_sha256")
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_column("source")
        batch_op.drop_column("counts")
        batch_op.drop_column("manifest_sha256")
