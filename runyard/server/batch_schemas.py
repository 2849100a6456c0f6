"""Bodies of `POST /api/runs:batch`: many tracked-only runs with their final metrics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from runyard.entities import Goal
from runyard.server.schemas import MAX_TAGS, Key, Name, NonFinite, Notes, RunId, Step
from runyard.store.run_batch import MAX_BATCH


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Timestamp = Annotated[float, Field(ge=0)]


class RunBatchItem(_In):
    """One tracked-only run of a batch; it is recorded as it is sent (nothing will run)."""

    id: RunId | None = Field(
        default=None, description="Keep a client-made id; the whole batch is refused if taken."
    )
    name: Name | None = None
    experiment: Name = "default"
    status: Literal["running", "completed", "failed", "cancelled"] = Field(
        default="completed",
        description="A run sent as running must then send heartbeats, or it is failed as lost.",
    )
    params: dict[Key, Any] = Field(default_factory=dict, description="The run's config.")
    tags: Annotated[list[Key], Field(max_length=MAX_TAGS)] = Field(default_factory=list)
    notes: Notes = ""
    started_at: Timestamp | None = Field(
        default=None, description="UNIX seconds, no later than now; now when unset."
    )
    ended_at: Timestamp | None = Field(
        default=None,
        description="UNIX seconds, for an ended run (now when unset or later); not before "
        "started_at.",
    )
    metrics: Annotated[dict[Key, float | NonFinite | None], Field(max_length=1000)] = Field(
        default_factory=dict,
        description='Final values, stored as one point each at `step`; null or "NaN" for NaN.',
    )
    step: Step = 0
    goals: dict[Key, Annotated[Goal, Field(strict=False)]] = Field(
        default_factory=dict, description="min or max per metric key, for the run's best."
    )
    mlflow_tags: dict[Key, Annotated[str, StringConstraints(max_length=8000)]] = Field(
        default_factory=dict,
        description="Key-value tags as MLflow's API shows them (an imported run's).",
    )


class RunBatchIn(_In):
    runs: Annotated[list[RunBatchItem], Field(min_length=1, max_length=MAX_BATCH)]


class RunBatchOut(BaseModel):
    ids: list[str] = Field(description="The created runs' ids, in the order they were sent.")
