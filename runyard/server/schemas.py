"""Request and response bodies of the REST API: the shapes clients rely on (design.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from runyard._names import BAD_NAME, name_problem
from runyard.entities import RETRIED_BY_DEFAULT, AttemptStatus, FailureClass, Goal, RunStatus
from runyard.telemetry.health import Status as HealthStatus


def _a_name(value: str) -> str:
    problem = name_problem(value)
    if problem is not None:
        raise PydanticCustomError(BAD_NAME, "{problem}", {"problem": f"{value[:80]!r} {problem}"})
    return value


Key = Annotated[str, StringConstraints(min_length=1, max_length=250), AfterValidator(_a_name)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=250),
    AfterValidator(_a_name),
]
Notes = Annotated[str, StringConstraints(max_length=100_000)]
MAX_TAGS = 100
NonFinite = Literal["NaN", "Infinity", "-Infinity"]
# Integers are strict (`true` is not an epoch, 3.5 not a size) and bounded by the columns
# they land in (INTEGER is 32-bit on PostgreSQL, BIGINT 64-bit).
Step = Annotated[int, Field(strict=True, ge=-(2**63), le=2**63 - 1)]
Int32 = Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
Bytes = Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)]
# JSON has no NaN or infinities: such a float travels as "NaN", "Infinity" or "-Infinity".
JsonFloat = Annotated[
    float,
    WithJsonSchema({"anyOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]}),
]


class _In(BaseModel):
    # Strict: `true` is not an epoch, "1" not a delay, 0 not a flag. Enums opt out (their JSON
    # strings are validated in Python mode, where strict would want the enum object).
    model_config = ConfigDict(extra="forbid", strict=True)


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
    faults: dict[str, str] = Field(
        default_factory=dict,
        description="Faults seen in the last seconds (insufficient_storage, database_busy): "
        "code → message, for the dashboard's banner.",
    )


class ExperimentCreate(_In):
    name: Name
    description: Notes = ""


class ExperimentOut(_Out):
    id: int
    name: str
    description: str
    created_at: datetime
    run_count: int
    archived_at: datetime | None = Field(default=None, description="Hidden from lists since.")


class ExperimentPatch(_In):
    archived: bool = Field(description="Archive (hide from lists) or bring back.")


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class ExpectIn(_In):
    """An expected output: `glob` (inside the run dir) must match `min_count` files."""

    name: Key
    glob: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    min_count: Int32 = 1
    min_bytes: Bytes = 0
    hint: Annotated[str, StringConstraints(max_length=1000)] = ""


RunId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{7,31}$")]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
RelPath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class RunCreate(_In):
    """A tracked-only run: the SDK or a user records a run that runyard does not launch."""

    id: RunId | None = Field(
        default=None,
        description="Keep a client-made id (an offline run being synced); 409 if taken.",
    )
    name: Name | None = None
    experiment: Name = "default"
    params: dict[Key, Any] = Field(default_factory=dict, description="The run's config.")
    tags: Annotated[list[Key], Field(max_length=MAX_TAGS)] = Field(default_factory=list)
    notes: Notes = ""
    started_at: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="When a tracked run really started, UNIX seconds (an offline run being "
        "synced keeps its real duration); no later than now.",
    )
    heartbeat_timeout_s: Annotated[float, Field(gt=0, le=30 * 86400)] | None = Field(
        default=None,
        description="A tracked-only run is failed as lost after this long without a "
        "heartbeat (RUNYARD_HEARTBEAT_TIMEOUT_S when unset).",
    )
    # A job: with a command, runyard queues and runs it (design.md §3).
    command: (
        Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)]
        | (Annotated[str, StringConstraints(min_length=1)])
        | None
    ) = Field(default=None, description="argv list, or a string run by /bin/sh -c.")
    cwd: str | None = Field(default=None, description="Working directory; the server's if unset.")
    env: dict[Key, str] = Field(default_factory=dict)
    gpus: Annotated[int, Field(strict=True, ge=0, le=1024)] = 0
    cpus: Annotated[int, Field(strict=True, ge=1, le=4096)] = 1
    priority: Annotated[int, Field(strict=True, ge=-1000, le=1000)] = 0
    max_retries: Annotated[int, Field(strict=True, ge=0, le=100)] = 3
    retry_delay_s: Annotated[float, Field(ge=0, le=86400)] = 60.0
    retry_backoff: Annotated[float, Field(ge=1, le=10)] = 2.0
    retry_max_delay_s: Annotated[float, Field(ge=0, le=7 * 86400)] = 3600.0
    retry_on: list[Annotated[FailureClass, Field(strict=False)]] = Field(
        default_factory=lambda: list(RETRIED_BY_DEFAULT)
    )
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    grace_s: Annotated[float, Field(ge=0, le=3600)] = 10.0
    expect: Annotated[list[ExpectIn], Field(max_length=100)] = Field(default_factory=list)
    depends_on: Annotated[list[Key], Field(max_length=100)] = Field(default_factory=list)
    # For programs without the SDK (docs/unchanged-programs.md).
    metrics_patterns: Annotated[list[Pattern], Field(max_length=20)] = Field(
        default_factory=list,
        description="Regexes (named groups step, epoch, metrics) or presets 'key=value', "
        "'key: value' that turn log lines into metrics.",
    )
    goals: dict[Key, Annotated[Goal, Field(strict=False)]] = Field(
        default_factory=dict, description="min or max per metric key."
    )
    checkpoints: Annotated[list[Pattern], Field(max_length=20)] = Field(
        default_factory=list,
        description="Globs (relative to cwd and the run dir) of files registered as checkpoints.",
    )
    resume_args: Annotated[list[str], Field(max_length=50)] = Field(
        default_factory=list,
        description="Appended to the command on a retry with a verified checkpoint; "
        "{resume_from} is replaced by its path.",
    )
    captured_env: Annotated[list[Key], Field(max_length=100)] = Field(
        default_factory=list, description="Keys of env taken from the submitter's shell."
    )
    executable: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None, description="argv[0] as resolved on the submitter's PATH."
    )
    backend: Literal["local", "ray"] | None = Field(
        default=None,
        description="Where the job runs, on a server that has both (a Ray server also runs "
        "jobs on its own machine); the server's --backend if unset. 400 if it has no such.",
    )


class RunPatch(_In):
    name: Name | None = None
    tags: Annotated[list[Key], Field(max_length=MAX_TAGS)] | None = None
    notes: Notes | None = None
    params: dict[Key, Any] | None = Field(default=None, description="Merged into the params.")


class FinishIn(_In):
    status: Literal[RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED]
    early_stopped: bool | None = None
    stopped_at_epoch: Int32 | None = None
    ended_at: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        description="When a tracked run really ended, UNIX seconds (an offline run being "
        "synced); kept between its start and now.",
    )
    dropped_points: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] | None = Field(
        default=None, description="Points the SDK dropped while a full disk outlasted its buffer."
    )


class ProgressIn(_In):
    epoch: Int32 | None = Field(default=None, description="Completed epochs.")
    total_epochs: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] | None = None
    early_stopped: bool | None = None
    stopped_at_epoch: Int32 | None = None


class RecentOut(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")
    key: str
    steps: list[int]
    values: list[float]


class ProgressDetail(_Out):
    epoch: int | None
    total_epochs: int | None
    percent: float | None
    eta_s: float | None
    early_stopped: bool
    stopped_at_epoch: int | None
    recent: RecentOut | None = Field(
        default=None, description="The last points of the primary metric (or first goal metric)."
    )


class GoalsIn(_In):
    goals: dict[Key, Annotated[Goal, Field(strict=False)]]
    primary: Key | None = None


class MetricSummaryOut(_Out):
    count: int
    last: JsonFloat | None = Field(description='The value at the highest step; NaN as "NaN".')
    last_step: int | None
    min: JsonFloat | None
    max: JsonFloat | None
    best: JsonFloat | None = Field(description="By the key's goal; null when it has none.")
    best_step: int | None
    goal: Goal | None


class SummaryOut(_Out):
    metrics: dict[str, MetricSummaryOut]
    primary_metric: str | None
    duration_s: float | None
    steps: int | None
    epochs: int | None
    early_stopped: bool
    stopped_at_epoch: int | None


class CheckpointIn(_In):
    name: Key
    path: RelPath = Field(description="Relative to the run dir (or absolute inside it).")
    step: Step | None = None
    epoch: Int32 | None = None
    attempt: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] | None = None
    size: Bytes
    sha256: Sha256
    metrics: dict[Key, float | None] = Field(default_factory=dict)


class CheckpointOut(_Out):
    name: str
    path: str
    attempt: int | None
    step: int | None
    epoch: int | None
    size: int
    sha256: str
    metrics: dict[str, float | None]
    created_at: datetime


class CheckpointEntry(CheckpointOut):
    exists: bool = Field(description="The file is on disk inside the run dir.")


class CheckpointList(BaseModel):
    checkpoints: list[CheckpointEntry]


class ArtifactIn(_In):
    path: RelPath
    size: Bytes
    sha256: Sha256 | None = None
    attempt: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)] | None = None


class ArtifactOut(_Out):
    path: str
    attempt: int | None
    size: int
    sha256: str | None
    created_at: datetime


class ArtifactFile(BaseModel):
    path: str = Field(description="Relative to the run dir, with forward slashes.")
    size: int
    modified_at: datetime
    kind: Literal["log", "checkpoint", "artifact", "other"]
    registered: bool = Field(description="A checkpoint or artifact record names this file.")
    sha256: str | None = Field(description="The record's SHA-256; null when none was given.")


class ArtifactTree(BaseModel):
    """Every regular file under the run dir (symlinks are neither listed nor followed)."""

    root: str = Field(description="The run dir on the server.")
    total_bytes: int = Field(description="The sum of the listed files' sizes.")
    files: list[ArtifactFile] = Field(description="Sorted by path.")
    truncated: bool = Field(description="True when the run dir holds more than were listed.")
    skipped_links: int = Field(description="Symlinks found and left out.")


class SeriesOut(BaseModel):
    steps: list[int]
    values: list[float | str | None] = Field(description='NaN and ±inf as "NaN", "Infinity"…')
    timestamps: list[float]


class MetricsOut(BaseModel):
    metrics: dict[str, SeriesOut]


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
    metrics: dict[str, JsonFloat] = Field(description="The last value of each metric key.")
    reason: str | None = Field(description="Why it ended as it did, or why it is retrying.")
    priority: int = 0
    depends_on: list[str] = Field(
        default_factory=list, description="Runs that must complete first (a pipeline)."
    )
    best: JsonFloat | None = Field(
        default=None,
        description="Best value of the primary metric by its goal (the primary metric, or the "
        "only metric with a goal); null without one.",
    )
    best_step: int | None = Field(default=None, description="The step of `best`.")
    environment: dict[str, Any] | None = Field(
        default=None,
        description="A job's executable, cwd and environment (captured from the submitter's "
        "shell, or added), secrets masked; null for a tracked-only run.",
    )
    datasets: list[dict[str, str]] = Field(
        default_factory=list,
        description='The dataset versions the run declared it used: [{"name", "version"}].',
    )
    params_truncated: list[str] = Field(
        default_factory=list,
        description="Params longer than 1 KB that a listing cut short (to a string); "
        "GET /api/runs/{id} has them whole.",
    )
    sweep_id: str | None = Field(default=None, description="The sweep this run is a trial of.")
    trial: int | None = Field(default=None, description="Its trial number in that sweep.")


class AttemptOut(_Out):
    number: int
    status: AttemptStatus
    exit_code: int | None
    signal: int | None
    started_at: datetime | None
    ended_at: datetime | None
    reason: str | None
    pid: int | None
    gpus: list[int]
    backend: str


class AttemptList(BaseModel):
    attempts: list[AttemptOut]


class ChecklistItem(BaseModel):
    name: str
    status: Literal["PASS", "FAIL"]
    detail: str
    hint: str
    glob: str | None = None


class Checklist(BaseModel):
    run_id: str
    final: bool = Field(description="True once the run ended: the items will not change.")
    items: list[ChecklistItem]


class LogChunk(BaseModel):
    attempt: int | None
    text: str
    offset: int = Field(description="Where this text ends in the log: pass it back to follow.")
    size: int
    ended: bool = Field(description="The attempt has ended: no more text will come.")


class LogText(BaseModel):
    """The data of a `log` event of GET /logs/stream."""

    text: str = Field(description="Complete lines (the rest too, once the attempt has ended).")
    offset: int = Field(description="Where this text ends in the log: resume there.")


class LogEnd(BaseModel):
    """The data of the last event (`end`) of GET /logs/stream."""

    attempt: int | None = Field(description="null: the run never had an attempt.")
    status: str = Field(description="How the attempt ended (the run's status without one).")
    offset: int


class RunList(BaseModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class CompareIn(_In):
    run_ids: list[Key] = Field(description="2 to 10 runs, in the order of the table's columns.")
    baseline: Key | None = Field(
        default=None, description="The run that deltas are taken against; one of run_ids."
    )
    diff_only: bool = Field(
        default=False, description="Leave out config rows that are the same in every run."
    )


class ConfigRowOut(_Out):
    key: str = Field(description='A params key; nested dicts flattened with dots ("opt.lr").')
    values: dict[str, Any] = Field(description="Run id → value; null where the run lacks it.")
    differs: bool
    missing: dict[str, str] = Field(
        default_factory=dict,
        description='Run id → why it has no value ("not started", "no such key").',
    )


class MetricRowOut(_Out):
    key: str
    goal: Goal | None = Field(description="The runs' goal for the key; null if they disagree.")
    values: dict[str, JsonFloat | None] = Field(description="Run id → last value, or null.")
    best_run_id: str | None = Field(description="Best by the goal; NaN is never best.")
    deltas: dict[str, JsonFloat | None] = Field(description="Run id → value − the baseline's.")
    missing: dict[str, str] = Field(
        default_factory=dict,
        description='Run id → why it has no value ("not started", "not logged").',
    )


class CompareOut(_Out):
    runs: list[RunOut]
    baseline: str | None
    config: list[ConfigRowOut]
    metrics: list[MetricRowOut]


class QueueCounts(BaseModel):
    active: int = Field(description="starting + running")
    queued: int = Field(description="queued + retrying")
    completed: int
    failed: int = Field(description="failed only: cancelled and pruned are counted apart")
    cancelled: int = 0
    pruned: int = Field(default=0, description="sweep trials its pruner stopped")


class QueueOut(BaseModel):
    counts: QueueCounts = Field(description="Totals of each group.")
    active: list[RunOut] = Field(description="Newest first, at most `limit`; so are the others.")
    queued: list[RunOut]
    completed: list[RunOut]
    failed: list[RunOut]
    cancelled: list[RunOut] = Field(default_factory=list)
    pruned: list[RunOut] = Field(default_factory=list)


class SeriesIn(_In):
    steps: list[Step]
    values: list[float | NonFinite | None] = Field(
        description='null stands for NaN; NaN and ±inf may also be sent as "NaN", "Infinity"…'
    )
    timestamps: list[float] = Field(
        default_factory=list, description="Seconds since the epoch; the server's clock when empty."
    )


class MetricBatch(_In):
    """A batch of points; (source, seq) makes a replay of the same batch a no-op."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    seq: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1)] | None = None
    metrics: dict[Key, SeriesIn]


class IngestOut(BaseModel):
    accepted: int
    duplicate: bool


# --- system health (GET /api/system, /api/system/history) ---------------------------------


class CpuOut(_Out):
    percent: float = Field(description="Busy share of all cores, 0–100.")
    count: int
    load: list[float] = Field(description="Load average over 1, 5 and 15 minutes.")
    status: HealthStatus


class MemoryOut(_Out):
    total: int = Field(description="Bytes.")
    used: int
    available: int
    percent: float
    status: HealthStatus


class DiskOut(_Out):
    path: str = Field(description="The folder measured: RUNYARD_HOME (or its nearest parent).")
    total: int = Field(description="Bytes.")
    used: int
    free: int
    percent: float
    status: HealthStatus


class GpuOut(_Out):
    index: int
    name: str | None
    memory_used: int | None = Field(description="Bytes.")
    memory_total: int | None
    utilization: float | None = Field(description="Percent of time busy.")
    temperature: float | None = Field(description="°C.")
    status: HealthStatus
    error: str | None = Field(default=None, description="What NVML could not read, if anything.")
    memory_errors: int | None = Field(
        default=None,
        description="Uncorrected ECC memory errors since the driver loaded (null without ECC); "
        "any makes the GPU critical.",
    )


class ClusterNodeOut(BaseModel):
    node_id: str
    ip: str
    head: bool
    cpus: float
    gpus: float


class ClusterOut(BaseModel):
    """The Ray cluster as last read, and what runyard's queue has left of it."""

    address: str
    reachable: bool
    error: str | None = Field(description="Why it could not be read (null when reachable).")
    nodes: list[ClusterNodeOut]
    cpus: int
    gpus: int
    free_cpus: int
    free_gpus: int


class SystemOut(_Out):
    status: HealthStatus = Field(description="The worst status of the parts.")
    ts: datetime = Field(description="When the sample was taken.")
    uptime_s: float = Field(description="Seconds since the host booted.")
    cpu: CpuOut
    memory: MemoryOut
    disk: DiskOut
    gpus: list[GpuOut] = Field(description="Empty on a machine without NVML.")
    gpu_error: str | None = Field(
        default=None, description="NVML is there but failed as a whole (null without NVML)."
    )
    cluster: ClusterOut | None = Field(
        default=None, description="The Ray cluster jobs run on (null on the local backend)."
    )
    backends: list[str] = Field(
        default_factory=list,
        description="The backends a job may name (`backend`), the server's default first.",
    )


class GpuHistoryOut(BaseModel):
    index: int
    name: str | None
    utilization: list[float | None]
    memory_percent: list[float | None]


class SystemHistoryOut(BaseModel):
    interval_s: float
    ts: list[datetime]
    cpu_percent: list[float]
    memory_percent: list[float]
    disk_percent: list[float]
    gpus: list[GpuHistoryOut] = Field(description="Arrays aligned with `ts`; null: no reading.")
