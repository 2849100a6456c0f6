"""Datasets: register (an upload, or a path under RUNYARD_DATASET_IMPORT_ROOT), list, show,
validate, transform (a background job), and the runs that used a version."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from runyard._paths import confine
from runyard.datasets.jobs import TransformRunner
from runyard.datasets.registry import Registered, Registry, check_name
from runyard.datasets.transforms import parse_steps
from runyard.datasets.unpack import archive_suffix
from runyard.datasets.validate import ValidationConfig
from runyard.errors import BadRequest, NotFound, RunyardError
from runyard.server._deps import SettingsDep, StoreDep
from runyard.server.dataset_schemas import (
    ChecksIn,
    DatasetCreate,
    DatasetDetail,
    DatasetList,
    DatasetOut,
    DatasetUse,
    JobOut,
    RegisterOut,
    RunDatasetIn,
    RunDatasetList,
    TransformIn,
    VersionDetail,
    version_detail,
    version_out,
)
from runyard.server.routes import ERRORS, Digits
from runyard.server.schemas import ErrorOut
from runyard.store import Store
from runyard.store.datasets import parse_ref

router = APIRouter(tags=["datasets"], responses=ERRORS)
_lock = threading.Lock()
COPY_CHUNK = 1 << 20


def _services(request: Request) -> tuple[Registry, TransformRunner]:
    """One registry and one transform runner per app, made on the first dataset request."""
    state = request.app.state
    with _lock:
        if getattr(state, "dataset_runner", None) is None:
            registry = Registry(state.store, state.settings)
            state.dataset_registry = registry
            state.dataset_runner = TransformRunner(registry)
    return state.dataset_registry, state.dataset_runner


def _registry(request: Request) -> Registry:
    return _services(request)[0]


def _runner(request: Request) -> TransformRunner:
    return _services(request)[1]


RegistryDep = Annotated[Registry, Depends(_registry)]
RunnerDep = Annotated[TransformRunner, Depends(_runner)]


@router.get("/api/datasets")
def list_datasets(store: StoreDep, _registry: RegistryDep) -> DatasetList:
    return DatasetList(datasets=[DatasetOut.model_validate(d) for d in store.datasets.all()])


def _registered(done: Registered, registry: Registry, response: Response) -> RegisterOut:
    response.status_code = 201 if done.created else 200
    detail = version_detail(registry, done.version, files=100)
    return RegisterOut(**detail.model_dump(), created=done.created)


def _checks(raw: Any) -> ValidationConfig | None:
    """The `checks` form field: ChecksIn as JSON."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise BadRequest("checks must be a JSON text field, not a file")
    try:
        return ChecksIn.model_validate_json(raw).config()
    except ValidationError as exc:
        raise BadRequest(f"checks: {exc.errors()[0]['msg']}") from None


async def _from_upload(request: Request, registry: Registry) -> Registered:
    async with request.form(max_files=1, max_fields=8) as form:
        name, upload = form.get("name"), form.get("file")
        if not isinstance(name, str) or not isinstance(upload, UploadFile):
            raise BadRequest("a multipart upload needs a `name` field and a `file` part")
        check_name(name)
        description = form.get("description")
        checks = _checks(form.get("checks"))
        filename = upload.filename or "upload"
        if archive_suffix(filename) is None:
            raise BadRequest(f"{filename} is not a .zip, .tar, .tar.gz, .tgz, .tar.bz2 or .tar.xz")
        work = registry.objects.work_dir("upload")
        try:
            saved = work / "archive"
            with saved.open("wb") as out:
                while chunk := await upload.read(COPY_CHUNK):
                    out.write(chunk)
            return await run_in_threadpool(
                registry.add_archive,
                name,
                saved,
                filename=filename,
                description=description if isinstance(description, str) else "",
                checks=checks,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _from_path(body: DatasetCreate, registry: Registry, root: Path | None) -> Registered:
    if root is None:
        raise RunyardError(
            "registering a server-side path is off: set RUNYARD_DATASET_IMPORT_ROOT to the "
            "folder it may read, or upload the archive (multipart)",
            status=403,
            code="forbidden",
        )
    path = confine(root, body.path)
    checks = body.checks.config() if body.checks else None
    if path.is_dir():
        return registry.add_folder(body.name, path, description=body.description, checks=checks)
    if path.is_file():
        return registry.add_archive(body.name, path, description=body.description, checks=checks)
    raise BadRequest(f"{body.path} is neither a folder nor a file under the import root")


def _inline_schema(model: type[DatasetCreate]) -> dict[str, Any]:
    """Its JSON schema for OpenAPI; what it refers to (ChecksIn) is a component already."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


@router.post(
    "/api/datasets",
    status_code=201,
    responses={
        200: {"description": "The same content was registered already"},
        403: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inline_schema(DatasetCreate)},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["name", "file"],
                        "properties": {
                            "name": {"type": "string"},
                            "description": {"type": "string"},
                            "checks": {"type": "string", "description": "ChecksIn as JSON"},
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                },
            },
        }
    },
)
async def create_dataset(
    request: Request, response: Response, settings: SettingsDep, registry: RegistryDep
) -> RegisterOut:
    """Register a version from an uploaded archive (multipart: name, file, description?,
    checks?) or from a folder/archive under RUNYARD_DATASET_IMPORT_ROOT (JSON)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        done = await _from_upload(request, registry)
    elif kind == "application/json":
        try:
            body = DatasetCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise RunyardError(
                f"{where}: {first['msg']}", status=422, code="invalid_request"
            ) from None
        done = await run_in_threadpool(_from_path, body, registry, settings.dataset_import_root)
    else:
        raise RunyardError(
            "send JSON (a server-side path) or multipart/form-data (an upload)",
            status=415,
            code="unsupported_media_type",
        )
    return _registered(done, registry, response)


@router.get("/api/datasets/jobs/{job_id}")
def get_job(
    job_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], store: StoreDep, _runner: RunnerDep
) -> JobOut:
    return JobOut.model_validate(store.dataset_jobs.get(job_id))


@router.get("/api/datasets/{name}")
def get_dataset(name: str, store: StoreDep, _registry: RegistryDep) -> DatasetDetail:
    dataset = store.datasets.get(name)
    return DatasetDetail(
        **DatasetOut.model_validate(dataset).model_dump(),
        versions=[version_out(v) for v in store.datasets.versions(name)],
    )


@router.get("/api/datasets/{name}/versions/{version}")
def get_version(
    name: str,
    version: str,
    registry: RegistryDep,
    files: Annotated[
        int, Query(ge=0, le=100_000, description="Manifest entries to list."), Digits
    ] = 100,
) -> VersionDetail:
    record = registry.store.datasets.version(name, version)
    return version_detail(registry, record, files)


@router.post("/api/datasets/{name}/versions/{version}/validate")
def validate_version(
    name: str, version: str, registry: RegistryDep, body: ChecksIn | None = None
) -> dict[str, Any]:
    """Check the version again (with these expectations); the report is stored with it."""
    record = registry.store.datasets.version(name, version)
    return registry.revalidate(name, record.version, (body or ChecksIn()).config())


@router.post("/api/datasets/{name}/versions/{version}/transform", status_code=202)
def transform_version(
    name: str, version: str, body: TransformIn, store: StoreDep, runner: RunnerDep
) -> JobOut:
    """Start a job that makes a new version with these steps; follow it at /jobs/{id}."""
    steps = parse_steps(body.steps)
    parent = store.datasets.version(name, version)
    return JobOut.model_validate(runner.submit(parent, steps))


def _uses(store: Store, run_id: str) -> RunDatasetList:
    return RunDatasetList(datasets=[DatasetUse(**d) for d in store.datasets.of_run(run_id)])


@router.post("/api/runs/{run_id}/datasets", status_code=201)
def use_dataset(run_id: str, body: RunDatasetIn, store: StoreDep) -> RunDatasetList:
    """Record that a run used NAME@VERSION; saying it again changes nothing. A version that
    does not exist is a bad request (400): the run, which the path names, does exist."""
    name, version = parse_ref(body.dataset)
    store.runs.get(run_id)
    try:
        record = store.datasets.version(name, version)
    except NotFound as exc:
        raise BadRequest(exc.message) from None
    store.datasets.link_run(run_id, record.id)
    return _uses(store, run_id)


@router.get("/api/runs/{run_id}/datasets")
def run_datasets(run_id: str, store: StoreDep) -> RunDatasetList:
    store.runs.get(run_id)
    return _uses(store, run_id)
