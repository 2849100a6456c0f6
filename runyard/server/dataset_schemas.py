"""Request and response bodies of the dataset routes (the shapes the dashboard relies on)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from runyard.datasets.registry import Registry
from runyard.datasets.validate import ValidationConfig, summary
from runyard.store.datasets import VersionRecord

DatasetName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", max_length=100)
]
Column = Annotated[str, StringConstraints(min_length=1, max_length=250)]
Side = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ChecksIn(_In):
    """What validation expects; all optional (the defaults check structure, masks, leakage)."""

    image_size: tuple[Side, Side] | None = Field(default=None, description="[width, height]")
    channels: Annotated[int, Field(strict=True, ge=1, le=4)] | None = None
    pixel_range: tuple[float, float] | None = Field(default=None, description="[min, max]")
    binary_masks: bool = True
    required_columns: Annotated[list[Column], Field(max_length=100)] = Field(default_factory=list)
    id_column: Column | None = Field(
        default=None, description="Metadata column of the subject/patient id; guessed if unset."
    )
    id_pattern: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None,
        description="Regex over file names; its group `id` (or first group) is the subject.",
    )
    max_listed: Annotated[int, Field(strict=True, ge=1, le=1000)] = 20

    def config(self) -> ValidationConfig:
        return ValidationConfig(
            image_size=self.image_size,
            channels=self.channels,
            pixel_range=self.pixel_range,
            binary_masks=self.binary_masks,
            required_columns=tuple(self.required_columns),
            id_column=self.id_column,
            id_pattern=self.id_pattern,
            max_listed=self.max_listed,
        )


class DatasetCreate(_In):
    """Register a folder or an archive that is already on the server (JSON body)."""

    name: DatasetName
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="Inside RUNYARD_DATASET_IMPORT_ROOT: a folder, or a .zip/.tar* archive."
    )
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    checks: ChecksIn | None = None


class DatasetOut(_Out):
    name: str
    description: str
    created_at: datetime
    latest: str | None
    version_count: int


class DatasetList(BaseModel):
    datasets: list[DatasetOut]


class ValidationSummary(BaseModel):
    status: Literal["ok", "warnings", "errors"]
    errors: int
    warnings: int


class VersionOut(BaseModel):
    dataset: str
    version: str
    parent: str | None = Field(description="The version it was transformed from.")
    steps: list[dict[str, Any]] = Field(description="The transform steps that made it.")
    created_at: datetime
    file_count: int
    total_bytes: int
    layout: dict[str, Any]
    counts: dict[str, dict[str, int]] = Field(description="Images per split and class.")
    validation: ValidationSummary | None
    source: str | None


class DatasetDetail(DatasetOut):
    versions: list[VersionOut] = Field(description="Newest first.")


class FileOut(_Out):
    path: str
    size: int
    sha256: str


class ManifestOut(BaseModel):
    sha256: str = Field(description="The manifest's hash; the version id is its start.")
    file_count: int
    total_bytes: int
    extensions: dict[str, int]
    files: list[FileOut] = Field(description="The first `files` entries, by path.")
    truncated: bool


class RunRef(BaseModel):
    id: str
    name: str
    status: str


class VersionDetail(VersionOut):
    path: str = Field(description="The version's folder on the server (read-only hard links).")
    manifest: ManifestOut
    report: dict[str, Any] | None = Field(description="The last validation report.")
    runs: list[RunRef] = Field(description="Runs that declared they used this version.")


class RegisterOut(VersionDetail):
    created: bool = Field(description="False when the same content was registered already.")


class TransformIn(_In):
    steps: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        examples=["clahe:channel=green,crop:margin=0.1,resize:512"]
    )


class JobOut(_Out):
    id: int
    kind: str
    dataset: str
    parent: str
    steps: list[dict[str, Any]]
    status: Literal["queued", "running", "succeeded", "failed"]
    done: int
    total: int
    version: str | None = Field(description="The version it made, once it succeeded.")
    error: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class RunDatasetIn(_In):
    dataset: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="NAME@VERSION (a bare NAME means its latest version, resolved now)."
    )


class DatasetUse(BaseModel):
    name: str
    version: str


class RunDatasetList(BaseModel):
    datasets: list[DatasetUse]


def version_out(v: VersionRecord) -> VersionOut:
    fields = {k: getattr(v, k) for k in VersionOut.model_fields if k != "validation"}
    return VersionOut.model_validate({**fields, "validation": summary(v.validation)})


def version_detail(registry: Registry, v: VersionRecord, files: int) -> VersionDetail:
    """The version with the first ``files`` manifest entries, its report and its runs."""
    store = registry.store
    listed = store.datasets.files(v.id)
    extensions = Counter(PurePosixPath(f.path).suffix.lower() or "(none)" for f in listed)
    return VersionDetail(
        **version_out(v).model_dump(),
        path=str(registry.view(v)),
        manifest=ManifestOut(
            sha256=v.manifest_sha256,
            file_count=v.file_count,
            total_bytes=v.total_bytes,
            extensions=dict(sorted(extensions.items())),
            files=[FileOut.model_validate(f) for f in listed[:files]],
            truncated=len(listed) > files,
        ),
        report=v.validation,
        runs=[RunRef(**r) for r in store.datasets.runs_of(v.id)],
    )
