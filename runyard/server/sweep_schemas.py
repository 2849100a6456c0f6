"""Bodies of the sweeps routes (`GET|POST /api/sweeps`, …): a sweep, its trials, its curves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from runyard.entities import RunStatus
from runyard.server.schemas import JsonFloat, Key, Name, RunCreate


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="strings")


# The trials' job fields that a sweep passes on (the rest is the sweep's to decide).
TRIAL_JOB_FIELDS = (
    "cwd",
    "env",
    "gpus",
    "cpus",
    "max_retries",
    "retry_delay_s",
    "retry_backoff",
    "retry_max_delay_s",
    "timeout_s",
    "grace_s",
    "tags",
)


class SweepCreate(_In):
    """The sweep file's fields (see docs/sweeps.md) plus the trial command and job fields."""

    name: Name
    objective: str = Field(description="`key:min` or `key:max`, e.g. `val/loss:min`.")
    space: dict[Key, Any] = Field(
        description="name → {type: float|int, low, high, log?, step?} or "
        "{type: categorical, choices: [...]}"
    )
    sampler: str = Field(default="tpe", description="tpe | random | grid")
    pruner: dict[str, Any] | str | None = Field(
        default=None, description="{type: asha|median|none, min_steps, reduction_factor}"
    )
    max_trials: Annotated[int, Field(strict=True, ge=1, le=10_000)] = 16
    parallel: Annotated[int, Field(strict=True, ge=1, le=1024)] = 1
    seed: Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)] | None = None
    experiment: Name | None = Field(default=None, description="The trials' (default: name).")
    command: (
        Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]
        | Annotated[str, StringConstraints(min_length=1)]
    ) = Field(description="argv list (or /bin/sh -c string) with {param} placeholders.")
    cwd: str | None = None
    env: dict[Key, str] = Field(default_factory=dict)
    gpus: Annotated[int, Field(strict=True, ge=0, le=1024)] = 0
    cpus: Annotated[int, Field(strict=True, ge=1, le=4096)] = 1
    max_retries: Annotated[int, Field(strict=True, ge=0, le=100)] = 3
    retry_delay_s: Annotated[float, Field(ge=0, le=86400)] = 60.0
    retry_backoff: Annotated[float, Field(ge=1, le=10)] = 2.0
    retry_max_delay_s: Annotated[float, Field(ge=0, le=7 * 86400)] = 3600.0
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    grace_s: Annotated[float, Field(ge=0, le=3600)] = 10.0
    tags: Annotated[list[Key], Field(max_length=100)] = Field(default_factory=list)

    def job(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in TRIAL_JOB_FIELDS}


def trial_body(job: dict[str, Any], **fields: Any) -> RunCreate:
    """A trial's job: the sweep's job fields plus its own command, name and params."""
    return RunCreate.model_validate({**job, **fields}, strict=False)


class BestOut(_Out):
    trial: int
    run_id: str
    value: JsonFloat


class SweepOut(_Out):
    id: str
    name: str
    experiment: str
    status: str = Field(description="running | completed | stopped | failed")
    message: str | None = Field(description="Why it ended, or what is wrong with it.")
    objective: str
    sampler: str
    pruner: str
    min_steps: int
    max_trials: int
    parallel: int
    space: dict[str, Any]
    command: list[str] | str
    created_at: datetime
    ended_at: datetime | None
    counts: dict[str, int] = Field(description="Trials by run status.")
    best: BestOut | None = Field(description="The best completed trial by the objective.")


class SweepList(BaseModel):
    sweeps: list[SweepOut]


class TrialOut(_Out):
    trial: int
    run_id: str
    name: str
    status: RunStatus
    params: dict[str, Any]
    value: JsonFloat | None = Field(description="The objective's last value.")
    step: int | None = Field(description="The objective's last step.")
    points: int = Field(description="How many objective points the trial logged.")
    reason: str | None


class CurveOut(_Out):
    steps: list[int]
    values: list[JsonFloat]


class SweepDetail(SweepOut):
    trials: list[TrialOut]
    curves: dict[str, CurveOut] = Field(
        default_factory=dict, description="run id → the objective by step (with ?curves=true)."
    )
