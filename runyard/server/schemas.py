"""Request and response bodies of the REST API: the shapes clients rely on (design.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from runyard.entities import Goal, RunStatus

Key = Annotated[str, StringConstraints(min_length=1, max_length=250)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=250)]
Notes = Annotated[str, StringConstraints(max_length=100_000)]
MAX_TAGS = 100


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="strings")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str
    version: str


class ExperimentCreate(_In):
    name: Name
    description: Notes = ""


class ExperimentOut(_Out):
    id: int
    name: str
    description: str
    created_at: datetime
    run_count: int


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class RunCreate(_In):
    """A tracked-only run: the SDK or a user records a run that runyard does not launch."""

    name: Name | None = None
    experiment: Name = "default"
    params: dict[Key, Any] = Field(default_factory=dict)
    tags: Annotated[list[Key], Field(max_length=MAX_TAGS)] = Field(default_factory=list)
    notes: Notes = ""


class RunPatch(_In):
    name: Name | None = None
    tags: Annotated[list[Key], Field(max_length=MAX_TAGS)] | None = None
    notes: Notes | None = None


class ProgressOut(_Out):
    epoch: int | None
    total_epochs: int | None
    percent: float | None


class RunOut(_Out):
    id: str
    name: str
    experiment: str
    status: RunStatus
    params: dict[str, Any]
    tags: list[str]
    notes: str
    early_stopped: bool
    stopped_at_epoch: int | None
    progress: ProgressOut
    attempt_count: int
    run_dir: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    primary_metric: str | None
    metric_goals: dict[str, Goal]
    metrics: dict[str, float] = Field(description="The last value of each metric key.")


class RunList(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


Step = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class SeriesIn(_In):
    steps: list[Step]
    values: list[float | None] = Field(description="null stands for NaN.")
    timestamps: list[float] = Field(
        default_factory=list, description="Seconds since the epoch; the server's clock when empty."
    )


class MetricBatch(_In):
    """A batch of points; (source, seq) makes a replay of the same batch a no-op."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    seq: Annotated[int, Field(ge=0)] | None = None
    metrics: dict[Key, SeriesIn]


class IngestOut(BaseModel):
    accepted: int
    duplicate: bool
