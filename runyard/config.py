"""Settings: every RUNYARD_* variable, typed, with its default and one line of help.

Built once (``Settings()``) at the edge of the program and passed in explicitly, so that a
test can build its own.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PORT = 8420


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RUNYARD_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".runyard",
        description="Where the SQLite database and the run dirs live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; SQLite under home when unset "
        "(postgresql+psycopg://… for PostgreSQL).",
    )
    host: str = Field(default="127.0.0.1", description="Address the server binds.")
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="Port the server binds.")
    url: str = Field(
        default=f"http://127.0.0.1:{DEFAULT_PORT}",
        description="Where clients (CLI, SDK) reach the server.",
    )
    token: SecretStr | None = Field(
        default=None,
        description="Bearer token required by every route but /api/health when set.",
    )
    gpus: int | None = Field(
        default=None, ge=0, description="GPUs the scheduler hands out; NVML's count when unset."
    )
    slots: int | None = Field(
        default=None,
        ge=1,
        description="CPU slots the scheduler hands out; the CPU count when unset.",
    )
    db_busy_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="How long a write waits for a locked database before answering 503.",
    )
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, gt=0, description="Largest request body the server accepts."
    )
    poll_interval_s: float = Field(
        default=1.0, gt=0, description="How often the server reads the run dirs of active runs."
    )
    compact_interval_s: float = Field(
        default=30.0, gt=0, description="How often small metric chunks are merged."
    )
    sse_ping_s: float = Field(
        default=15.0, gt=0, description="Seconds between keep-alive comments on event streams."
    )
    max_page_size: int = Field(
        default=1000, gt=0, description="Largest `limit` of a listing request."
    )
    events_keep_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="How long the event log keeps events for reconnecting clients.",
    )
    events_keep_rows: int = Field(
        default=100_000, gt=0, description="The most events the event log keeps."
    )
    dataset_import_root: Path | None = Field(
        default=None,
        description="Folder whose files POST /api/datasets may register by server-side path; "
        "unset refuses server-side paths.",
    )
    dataset_max_bytes: int = Field(
        default=10 * 1024**3, gt=0, description="Largest total uncompressed size of an archive."
    )
    dataset_max_ratio: float = Field(
        default=100.0, gt=1, description="Largest uncompressed/compressed ratio of an archive."
    )
    dataset_max_entries: int = Field(
        default=200_000, gt=0, description="Most entries (files, folders, links) in an archive."
    )
    telemetry_interval_s: float = Field(
        default=5.0,
        ge=0.01,
        description="How often the server samples the host and each running job's processes.",
    )
    telemetry_history_h: float = Field(
        default=24.0, gt=0, le=24 * 31, description="Hours of host telemetry kept in memory."
    )
    backend: Literal["local", "ray"] = Field(
        default="local",
        description="Where jobs run: processes on this machine, or Ray Jobs on a Ray cluster.",
    )
    ray_address: str = Field(
        default="http://127.0.0.1:8265",
        description="The Ray cluster's dashboard (Jobs API) address, for the ray backend.",
    )
    ray_token: SecretStr | None = Field(
        default=None, description="Bearer token of a Ray cluster with token authentication."
    )
    shared_runs: bool = Field(
        default=False,
        description="Ray nodes see the server's run dirs (a shared filesystem): nothing is "
        "uploaded, jobs start in their cwd.",
    )
    warn_cpu_percent: float = Field(default=90.0, ge=0, le=100, description="CPU warning at.")
    crit_cpu_percent: float = Field(default=98.0, ge=0, le=100, description="CPU critical at.")
    warn_memory_percent: float = Field(default=85.0, ge=0, le=100, description="RAM warning at.")
    crit_memory_percent: float = Field(default=95.0, ge=0, le=100, description="RAM critical at.")
    warn_disk_percent: float = Field(
        default=85.0, ge=0, le=100, description="Disk (of home) warning at."
    )
    crit_disk_percent: float = Field(
        default=95.0, ge=0, le=100, description="Disk (of home) critical at."
    )
    warn_gpu_temp_c: float = Field(default=80.0, ge=0, description="GPU temperature warning at.")
    crit_gpu_temp_c: float = Field(default=90.0, ge=0, description="GPU temperature critical at.")
    trash_days: float = Field(
        default=30.0,
        ge=0,
        description="Days a deleted run waits in the trash (restorable) before `runyard gc` "
        "removes it.",
    )

    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the server answers to besides loopback and the bound address "
        "(comma-separated; `name` or `name:port`); any other Host header is refused.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (comma-separated) that may call the API from another site; "
        "no CORS headers are sent when empty.",
    )
    heartbeat_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="A tracked-only run with no SDK heartbeat for this long is failed as lost "
        "(a run may set its own).",
    )
    upload_idle_s: float = Field(
        default=60.0,
        gt=0,
        description="A chunk upload that sends no byte for this long is ended (what arrived is "
        "kept), so that the file is free for a retry from another node.",
    )
    session_ttl_s: float = Field(
        default=7 * 24 * 3600.0, gt=0, description="How long a dashboard login session lasts."
    )

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _warning_before_critical(self) -> Settings:
        for part in ("cpu_percent", "memory_percent", "disk_percent", "gpu_temp_c"):
            warn, crit = getattr(self, f"warn_{part}"), getattr(self, f"crit_{part}")
            if warn > crit:
                name = part.upper()
                raise ValueError(
                    f"RUNYARD_WARN_{name} ({warn}) is above RUNYARD_CRIT_{name} ({crit})"
                )
        return self

    @model_validator(mode="after")
    def _url_from_port(self) -> Settings:
        """RUNYARD_PORT alone is enough for a client on this machine to find the server."""
        if "url" not in self.model_fields_set and self.port and self.port != DEFAULT_PORT:
            self.url = f"http://127.0.0.1:{self.port}"
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'runyard.db'}"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    @property
    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
