"""Data shared by every layer: statuses, goals and the records the store hands out.

Plain dataclasses and enums, no behaviour beyond what the names promise. Timestamps are
seconds since the epoch (UTC) as floats: cheap to store, compare and subtract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Metrics the server records about a job's processes (CPU, RSS, GPU memory) start with this;
# they are a run's metrics like any other, but say nothing about its training steps.
SYSTEM_METRIC_PREFIX = "system/"


class RunStatus(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PRUNED = "pruned"  # a sweep trial its pruner stopped: terminal, not a failure

    def is_terminal(self) -> bool:
        return self in _TERMINAL_RUN

    def is_active(self) -> bool:
        return self in (RunStatus.STARTING, RunStatus.RUNNING)


_TERMINAL_RUN = frozenset(
    {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.PRUNED}
)


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
    archived_at: float | None = None  # hidden from lists while set


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
    reason: str | None = None  # why it ended as it did, or why it is retrying
    priority: int = 0
    best: float | None = None  # best value of the primary metric by its goal
    best_step: int | None = None
    datasets: list[dict[str, str]] = field(default_factory=list)  # [{"name", "version"}] used
    sweep_id: str | None = None  # a sweep's trial: its sweep and trial number
    trial: int | None = None

    @property
    def depends_on(self) -> list[str]:
        """The runs this one waits for (its job spec's); none for a tracked-only run."""
        return list((self.spec or {}).get("depends_on", ()))

    @property
    def environment(self) -> dict[str, Any] | None:
        """The job's executable, cwd and environment as shown to people (secrets masked)."""
        from runyard._environment import describe

        return describe(self.spec)


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


class FailureClass(StrEnum):
    """Attempt endings that a job's `retry_on` may name."""

    FAILED = "failed"
    TIMED_OUT = "timed_out"
    LOST = "lost"
    # The executable or interpreter could not start (exit 127/126, "No module named"): a
    # configuration error that a retry cannot fix, so not retried unless named in retry_on.
    CANNOT_START = "cannot_start"


RETRIED_BY_DEFAULT = (FailureClass.FAILED, FailureClass.TIMED_OUT, FailureClass.LOST)


@dataclass(frozen=True, slots=True)
class Expectation:
    """An expected output of a job, checked into the run's checklist when it ends."""

    name: str
    glob: str
    min_count: int = 1
    min_bytes: int = 0
    hint: str = ""


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What to run and how (design.md §3); stored with the run, read by the scheduler."""

    command: list[str] | str
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    gpus: int = 0
    cpus: int = 1
    priority: int = 0
    max_retries: int = 3
    retry_delay_s: float = 60.0
    retry_backoff: float = 2.0
    retry_max_delay_s: float = 3600.0
    retry_on: tuple[FailureClass, ...] = RETRIED_BY_DEFAULT
    timeout_s: float | None = None
    grace_s: float = 10.0
    expect: tuple[Expectation, ...] = ()
    depends_on: tuple[str, ...] = ()
    # For programs without the SDK (runyard/capture/): what runyard reads from their output.
    metrics_patterns: tuple[str, ...] = ()
    checkpoints: tuple[str, ...] = ()  # globs, relative to cwd and to the run dir
    resume_args: tuple[str, ...] = ()  # appended on a retry that has a verified checkpoint
    captured_env: tuple[str, ...] = ()  # keys of `env` taken from the submitter's shell
    executable: str | None = None  # argv[0] as resolved on the submitter's PATH
    backend: str | None = None  # local | ray; None: the server's own (`--backend`)

    @property
    def argv(self) -> list[str]:
        return ["/bin/sh", "-c", self.command] if isinstance(self.command, str) else self.command

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        data = asdict(self)
        data["retry_on"] = [c.value for c in self.retry_on]
        data["expect"] = [asdict(e) for e in self.expect]
        data["depends_on"] = list(self.depends_on)
        for key in ("metrics_patterns", "checkpoints", "resume_args", "captured_env"):
            data[key] = list(getattr(self, key))
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSpec:
        data = dict(data)
        data["retry_on"] = tuple(
            FailureClass(c) for c in data.get("retry_on", list(RETRIED_BY_DEFAULT))
        )
        data["expect"] = tuple(Expectation(**e) for e in data.get("expect", ()))
        data["depends_on"] = tuple(data.get("depends_on", ()))
        for key in ("metrics_patterns", "checkpoints", "resume_args", "captured_env"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Attempt:
    run_id: str
    number: int
    status: AttemptStatus
    backend: str
    backend_ref: str | None
    pid: int | None
    pid_start_time: float | None
    gpus: list[int]
    exit_code: int | None
    signal: int | None
    reason: str | None
    started_at: float | None
    ended_at: float | None
