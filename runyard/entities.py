"""Data shared by every layer: statuses, goals and the records the store hands out.

Plain dataclasses and enums, no behaviour beyond what the names promise. Timestamps are
seconds since the epoch (UTC) as floats: cheap to store, compare and subtract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def is_terminal(self) -> bool:
        return self in _TERMINAL_RUN

    def is_active(self) -> bool:
        return self in (RunStatus.STARTING, RunStatus.RUNNING)


_TERMINAL_RUN = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})


class AttemptStatus(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    LOST = "lost"
    CANCELLED = "cancelled"

    def is_terminal(self) -> bool:
        return self not in (AttemptStatus.STARTING, AttemptStatus.RUNNING)


class Goal(StrEnum):
    """What "best" means for a metric; a metric without a goal has no best."""

    MIN = "min"
    MAX = "max"

    def better(self, a: float, b: float) -> bool:
        """True when ``a`` beats ``b``."""
        return a < b if self is Goal.MIN else a > b


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    name: str
    description: str
    created_at: float
    run_count: int = 0


@dataclass(slots=True)
class Progress:
    epoch: int | None = None
    total_epochs: int | None = None
    percent: float | None = None


@dataclass(slots=True)
class Run:
    id: str
    name: str
    experiment: str
    status: RunStatus
    params: dict[str, Any]
    tags: list[str]
    notes: str
    early_stopped: bool
    stopped_at_epoch: int | None
    progress: Progress
    attempt_count: int
    run_dir: str
    created_at: float
    started_at: float | None
    ended_at: float | None
    primary_metric: str | None = None
    metric_goals: dict[str, Goal] = field(default_factory=dict)
    spec: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # last value of each key


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """Per (run, key): kept up to date on ingest, so that lists and sorts never scan points."""

    key: str
    count: int
    last: float | None
    last_step: int | None
    min: float | None
    max: float | None
    best: float | None
    best_step: int | None
    goal: Goal | None
