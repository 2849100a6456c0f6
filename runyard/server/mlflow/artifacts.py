"""MLflow's artifact proxy: upload (PUT), list, download and delete a run's artifacts.

A run's artifact URI is `mlflow-artifacts:/<experiment>/<run>/artifacts`; its files live in
the run's own `artifacts/` folder, so that runyard's dashboard shows them. Every path is
confined to that folder (runyard._paths): `..`, absolute paths and links pointing out are
refused. The upload reads the raw body as it streams: it is a file, never JSON.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from runyard._paths import confine_relative, is_inside
from runyard.entities import Run
from runyard.server import _run_tree
from runyard.server._deps import StoreDep
from runyard.server.mlflow._errors import MlflowRoute, invalid, missing
from runyard.server.mlflow._request import Query
from runyard.server.mlflow._wire import resolve_experiment
from runyard.server.mlflow.runs import get_run
from runyard.store import Store
from runyard.store.files import ArtifactRecord

router = APIRouter(
    prefix="/api/2.0/mlflow-artifacts/artifacts", route_class=MlflowRoute, include_in_schema=False
)
ARTIFACTS = "artifacts"
_HEADERS = {"x-content-type-options": "nosniff", "content-security-policy": "sandbox"}


def _locate(store: Store, path: str) -> tuple[Run, Path, Path]:
    """(run, its artifact root, the confined target) of `<experiment>/<run>/artifacts/<rel>`."""
    parts = path.strip("/").split("/", 3)
    if len(parts) < 3 or parts[2] != ARTIFACTS:
        raise invalid(f"artifact path {path!r} is not <experiment id>/<run id>/artifacts/…")
    exp = resolve_experiment(store, parts[0])
    run = get_run(store, parts[1])
    if run.experiment != exp.name:
        raise missing(f"Run with id={run.id} is not in experiment {parts[0]}")
    root = Path(run.run_dir) / ARTIFACTS
    rel = parts[3] if len(parts) == 4 else ""
    return run, root, confine_relative(root, rel) if rel.strip("/") else root.resolve()


# The file goes up as raw bytes of any type (the browser guard still refuses foreign origins).
@router.put("/{path:path}", openapi_extra={"requestBody": {"content": {"*/*": {}}}})
async def upload(path: str, request: Request, store: StoreDep) -> dict[str, Any]:
    run, root, target = await run_in_threadpool(_locate, store, path)
    if target == root.resolve() or target.is_dir():
        raise invalid(f"artifact path {path!r} names a folder, not a file")
    await run_in_threadpool(target.parent.mkdir, parents=True, exist_ok=True)
    if not is_inside(root, target.parent):  # a link made meanwhile
        raise invalid(f"artifact path {path!r} is outside the run's artifacts")
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        os.replace(tmp, target)  # whole or not at all
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    record = ArtifactRecord(
        path=target.relative_to(Path(run.run_dir).resolve()).as_posix(),
        attempt=None,
        size=size,
        sha256=digest.hexdigest(),
        created_at=time.time(),
    )
    await run_in_threadpool(store.files.add_artifact, run.id, record)
    return {}


@router.get("")
def list_artifacts(query: Query, store: StoreDep) -> dict[str, Any]:
    path = str(query.get("path") or "")
    _, root, target = _locate(store, path)
    if not target.is_dir():
        return {}  # a file or nothing: MLflow lists neither
    files = []
    for entry in sorted(target.iterdir()):
        if entry.name.startswith(".upload-") or not is_inside(root, entry):
            continue
        st = entry.stat()
        if stat.S_ISDIR(st.st_mode):
            files.append({"path": entry.name, "is_dir": True})
        elif stat.S_ISREG(st.st_mode):
            files.append({"path": entry.name, "is_dir": False, "file_size": st.st_size})
    return {"files": files} if files else {}


@router.get("/{path:path}", response_class=Response)
def download(path: str, store: StoreDep) -> Response:
    _, _, target = _locate(store, path)
    try:
        st = target.stat()
    except FileNotFoundError:
        raise missing(f"No such artifact: {path!r}") from None
    if not stat.S_ISREG(st.st_mode):
        raise invalid(f"artifact {path!r} is not a file")
    return FileResponse(
        target, stat_result=st, media_type=_run_tree.media_type(target), headers=_HEADERS
    )


@router.delete("/{path:path}")
def delete(path: str, store: StoreDep) -> dict[str, Any]:
    _, root, target = _locate(store, path)
    if target == root.resolve():
        shutil.rmtree(target, ignore_errors=True)
    elif target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    else:
        raise missing(f"No such artifact: {path!r}")
    return {}
