"""The export document (`GET /api/export`, `runyard export`) and its published JSON Schema.

runyard/store/export.py builds the document; these models describe it. docs/export.schema.json
is generated from them, and a test fails when it is stale:

    python -m runyard.server.export_schema > docs/export.schema.json
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runyard.server.schemas import (
    AttemptOut,
    ChecklistItem,
    ExperimentOut,
    JsonFloat,
    ProgressOut,
    RunOut,
    SummaryOut,
)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="strings")


class ExportProgress(ProgressOut):
    eta_s: float | None = Field(description="Seconds left at the recent epoch rate.")
    early_stopped: bool
    stopped_at_epoch: int | None


class ExportCheckpoint(_Out):
    name: str
    path: str = Field(description="Relative to the run dir.")
    attempt: int | None
    step: int | None
    epoch: int | None
    size: int
    sha256: str
    metrics: dict[str, JsonFloat | None]
    created_at: datetime


class ExportArtifact(_Out):
    path: str = Field(description="Relative to the run dir.")
    attempt: int | None
    size: int
    sha256: str | None
    created_at: datetime


class ExportRun(RunOut):
    """A run as `GET /api/runs/{id}` gives it, with everything the dashboard shows of it."""

    progress: ExportProgress
    summary: SummaryOut | None = Field(
        description="Stored when the run ended; as it stands now for a run that has not."
    )
    attempts: list[AttemptOut]
    checkpoints: list[ExportCheckpoint] = Field(description="Registered checkpoint records.")
    artifacts: list[ExportArtifact] = Field(description="Registered artifact records.")
    checklist: list[ChecklistItem] | None = Field(
        description="Expected outputs as checked when the run ended; null before."
    )


class ExportOut(_Out):
    """The whole dashboard state: every experiment and every run (newest first)."""

    format: Literal["runyard-export"]
    version: Literal[1]
    exported_at: datetime
    experiments: list[ExperimentOut]
    runs: list[ExportRun]


def json_schema() -> dict[str, Any]:
    schema = ExportOut.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
