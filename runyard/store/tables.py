"""SQLAlchemy Core tables: the single source of truth of runyard.

Timestamps are REAL seconds since the epoch (UTC). JSON is JSONB on PostgreSQL.
Alembic migrations under ``migrations/`` are the history of this file; change both together.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only aliases the rowid (and so autoincrements) for a column typed exactly INTEGER.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY_LEN = 250
RUN_ID_LEN = 32


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.id", ondelete="CASCADE")


experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(KEY_LEN), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("archived_at", sa.Float, nullable=True),  # hidden from lists while set
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(RUN_ID_LEN), primary_key=True),
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(KEY_LEN), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("spec", Json, nullable=True),  # the job spec; NULL for a tracked-only run
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("early_stopped", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("stopped_at_epoch", sa.Integer, nullable=True),
    sa.Column("epoch", sa.Integer, nullable=True),
    sa.Column("total_epochs", sa.Integer, nullable=True),
    sa.Column("percent", sa.Float, nullable=True),
    sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("run_dir", sa.Text, nullable=False),
    sa.Column("primary_metric", sa.String(KEY_LEN), nullable=True),
    sa.Column("metric_goals", Json, nullable=False),
    sa.Column("summary", Json, nullable=True),  # computed when the run ends
    # Each key's [last, best, best step] as the runs list shows them (JSON text, NaN and the
    # infinities as strings): metric_summaries in one row, written in the same transaction.
    sa.Column("listed_metrics", sa.Text, nullable=True),
    sa.Column("progress_log", Json, nullable=True),  # recent [epoch, time] pairs, for the ETA
    sa.Column("retry_at", sa.Float, nullable=True),  # when a `retrying` run is queued again
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("cancel_rollback", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reason", sa.Text, nullable=True),  # why it ended as it did, in words
    sa.Column("checklist", Json, nullable=True),  # expected outputs, checked when it ended
    sa.Column("heartbeat_at", sa.Float, nullable=True),  # the SDK's last sign of life
    sa.Column("heartbeat_timeout_s", sa.Float, nullable=True),  # None: the server's default
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("deleted_at", sa.Float, nullable=True),  # in the trash since; hidden while set
    sa.Index("ix_runs_experiment_created", "experiment_id", "created_at"),
    sa.Index("ix_runs_status_priority", "status", "priority", "created_at"),
    sa.Index("ix_runs_created", "created_at"),
    # A sweep trial (migration 0006): one run per (sweep, trial number), ever.
    sa.Column("sweep_id", sa.String(RUN_ID_LEN), nullable=True),
    sa.Column("trial", sa.Integer, nullable=True),
    sa.Column("stop_as", sa.String(16), nullable=True),  # the status a requested stop ends in
    sa.Column("stop_reason", sa.Text, nullable=True),
    sa.Index("ix_runs_sweep_trial", "sweep_id", "trial", unique=True),
)

sweeps = sa.Table(
    "sweeps",
    metadata,
    sa.Column("id", sa.String(RUN_ID_LEN), primary_key=True),
    sa.Column("name", sa.String(KEY_LEN), nullable=False),
    sa.Column("experiment", sa.String(KEY_LEN), nullable=False),
    sa.Column("spec", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | stopped | failed
    sa.Column("message", sa.Text, nullable=True),  # why it ended, or what is wrong
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_sweeps_created", "created_at"),
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column("tag", sa.String(KEY_LEN), primary_key=True),
    sa.Index("ix_run_tags_tag", "tag"),
)

run_dependencies = sa.Table(
    "run_dependencies",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column("depends_on", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("backend", sa.String(32), nullable=False),
    sa.Column("backend_ref", sa.Text, nullable=True),  # e.g. a Ray job id
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("pid_start_time", sa.Float, nullable=True),
    sa.Column("gpus", Json, nullable=False),
    sa.Column("exit_code", sa.Integer, nullable=True),
    sa.Column("signal", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("ended_at", sa.Float, nullable=True),
)

# One row per (run, key, ingested batch): packed, compressed arrays (see _codec.py).
metric_chunks = sa.Table(
    "metric_chunks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), nullable=False),
    sa.Column("key", sa.String(KEY_LEN), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("step_min", sa.BigInteger, nullable=False),
    sa.Column("step_max", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Index("ix_metric_chunks_run_key_step", "run_id", "key", "step_min"),
)

# The extremes of each run of 256 points of a chunk, and of the whole chunk (store/_tiles.py),
# written with the chunk: a chart of a long series reads these, not the points. Kept apart so
# that SQLite reads them without walking the chunk's blob.
metric_tiles = sa.Table(
    "metric_tiles",
    metadata,
    sa.Column(
        "chunk_id",
        BigId,
        sa.ForeignKey("metric_chunks.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("whole", sa.LargeBinary, nullable=False),  # the chunk as one tile
)

# Each chunk as one tile again, in a narrow table clustered by (run, key, step): a chart of a
# whole series (a run's page) reads its few thousand rows in one range scan, without visiting
# the chunks' rows (about a page each) or their 256-point tiles. Written with the chunk.
metric_heads = sa.Table(
    "metric_heads",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), primary_key=True),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("step_min", sa.BigInteger, primary_key=True),
    sa.Column(
        "chunk_id",
        BigId,
        sa.ForeignKey("metric_chunks.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("whole", sa.LargeBinary, nullable=False),
    sa.Index("ix_metric_heads_chunk_id", "chunk_id"),  # the cascade from a merged chunk
    sqlite_with_rowid=False,
)

# Kept current on ingest so that lists, sorts and compare never read points.
# A NULL `last` with count > 0 is a NaN: SQLite stores NaN as NULL.
metric_summaries = sa.Table(
    "metric_summaries",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("last", sa.Float, nullable=True),
    sa.Column("last_step", sa.BigInteger, nullable=True),
    sa.Column("min", sa.Float, nullable=True),
    sa.Column("max", sa.Float, nullable=True),
    sa.Column("best", sa.Float, nullable=True),
    sa.Column("best_step", sa.BigInteger, nullable=True),
    sa.Column("goal", sa.String(3), nullable=True),
    sa.Column("first_ts", sa.Float, nullable=True),
    sa.Column("last_ts", sa.Float, nullable=True),
    sa.Index("ix_metric_summaries_key_last", "key", "last"),
)

# Idempotent ingest: a batch is named by (run, source, seq); a replay is acknowledged, not stored.
metric_batches = sa.Table(
    "metric_batches",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
)

checkpoints = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), nullable=False),
    sa.Column("name", sa.String(KEY_LEN), nullable=False),
    sa.Column("path", sa.Text, nullable=False),  # relative to the run dir
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("step", sa.BigInteger, nullable=True),
    sa.Column("epoch", sa.Integer, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("metrics", Json, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "name"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), nullable=False),
    sa.Column("path", sa.String(1024), nullable=False),  # relative to the run dir
    sa.Column("attempt", sa.Integer, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("run_id", "path"),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(KEY_LEN), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("version", sa.String(64), nullable=False),  # derived from the manifest's hash
    sa.Column(
        "parent_id",
        sa.Integer,
        sa.ForeignKey("dataset_versions.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("steps", Json, nullable=False),  # transform steps that made it from its parent
    sa.Column("layout", Json, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("total_bytes", sa.BigInteger, nullable=False),
    sa.Column("validation", Json, nullable=True),  # the last validation report
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False, server_default=""),
    sa.Column("counts", Json, nullable=True),  # {split: {class: images}}
    sa.Column("source", sa.Text, nullable=True),  # where it came from, in words
    sa.UniqueConstraint("dataset_id", "version"),
)

dataset_files = sa.Table(
    "dataset_files",
    metadata,
    sa.Column(
        "version_id",
        sa.Integer,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Index("ix_dataset_files_sha256", "sha256"),
)

# A transform that makes a new version from `parent_id`, run by the server in the background.
dataset_jobs = sa.Table(
    "dataset_jobs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column(
        "dataset_id", sa.Integer, sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "parent_id",
        sa.Integer,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("steps", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),
    sa.Column(
        "version_id",
        sa.Integer,
        sa.ForeignKey("dataset_versions.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_dataset_jobs_status", "status"),
)

run_datasets = sa.Table(
    "run_datasets",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column(
        "version_id",
        sa.Integer,
        sa.ForeignKey("dataset_versions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

# The event log behind SSE: a client that reconnects with Last-Event-ID resumes from `id`.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(RUN_ID_LEN), nullable=True),
    sa.Column("data", Json, nullable=False),
    sa.Index("ix_events_run_id", "run_id", "id"),
)

# Dashboard logins: the key is an HMAC of the cookie's random id under the server's secret, so
# neither a stolen database nor another server's cookie opens a session.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Index("ix_sessions_expires_at", "expires_at"),
)

# MLflow's key-value tags of runs and experiments, and its soft delete (runyard/server/mlflow/).
mlflow_run_tags = sa.Table(
    "mlflow_run_tags",
    metadata,
    sa.Column("run_id", sa.String(RUN_ID_LEN), _run_fk(), primary_key=True),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

mlflow_experiment_tags = sa.Table(
    "mlflow_experiment_tags",
    metadata,
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(KEY_LEN), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# A run or experiment that MLflow's client deleted: hidden from its searches until restored.
mlflow_deleted = sa.Table(
    "mlflow_deleted",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),  # "run" | "experiment"
    sa.Column("ref", sa.String(RUN_ID_LEN), primary_key=True),
    sa.Column("deleted_at", sa.Float, nullable=False),
)
