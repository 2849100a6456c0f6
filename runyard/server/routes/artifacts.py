"""A run dir's files: artifact records, the tree of everything in it, and downloads.

Every path a request names is resolved inside its run dir (runyard._paths); a download is
Starlette's FileResponse (Range requests included), with its range errors in our error shape.
"""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.responses import FileResponse, Response
from starlette.types import Message, Receive, Scope, Send

from runyard._paths import confine_relative, relative_to_root
from runyard.errors import BadRequest, NotFound, RunyardError
from runyard.server import _run_tree
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.schemas import ArtifactFile, ArtifactIn, ArtifactOut, ArtifactTree, ErrorOut
from runyard.store.files import ArtifactRecord

router = APIRouter(prefix="/api/runs/{run_id}", tags=["files"], responses=ERRORS)

# The content type follows the file's extension (a .json file is served as JSON): any type
# may come, with no schema but that of its bytes.
_FILE = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}, "*/*": {}}
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file; its content type follows its extension.", "content": _FILE},
    206: {"description": "The byte range(s) asked for with a Range header.", "content": _FILE},
    416: {"model": ErrorOut, "description": "The Range starts past the end of the file."},
}
# A run dir holds what jobs wrote: shown inline, but never run as a page of this origin.
_DOWNLOAD_HEADERS = {"x-content-type-options": "nosniff", "content-security-policy": "sandbox"}


@router.post("/artifacts", status_code=201)
def add_artifact(run_id: str, body: ArtifactIn, store: StoreDep) -> ArtifactOut:
    run = store.runs.get(run_id)
    record = ArtifactRecord(
        path=relative_to_root(Path(run.run_dir), body.path),
        attempt=body.attempt,
        size=body.size,
        sha256=body.sha256,
        created_at=time.time(),
    )
    return ArtifactOut.model_validate(store.files.add_artifact(run_id, record))


@router.get("/artifacts")
def list_files(run_id: str, store: StoreDep) -> ArtifactTree:
    """Every file in the run dir (logs, checkpoints, artifacts, the rest) with its size;
    those a checkpoint or artifact record names are `registered`, with the record's SHA-256.
    At most 10,000 files: `truncated` says when there are more."""
    run = store.runs.get(run_id)
    artifacts = {a.path: a.sha256 for a in store.files.artifacts(run_id)}
    checkpoints = {c.path: c.sha256 for c in store.files.checkpoints(run_id)}
    sums: dict[str, str | None] = {**artifacts, **checkpoints}
    tree = _run_tree.walk(Path(run.run_dir))
    files = [
        ArtifactFile(
            path=f.path,
            size=f.size,
            modified_at=datetime.fromtimestamp(f.modified_at, UTC),
            kind=_run_tree.kind_of(f.path, checkpoints.keys(), artifacts.keys()),
            registered=f.path in sums,
            sha256=sums.get(f.path),
        )
        for f in tree.files
    ]
    return ArtifactTree(
        root=run.run_dir,
        total_bytes=sum(f.size for f in tree.files),
        files=files,
        truncated=tree.truncated,
        skipped_links=tree.skipped_links,
    )


class _Download(FileResponse):
    """FileResponse whose 400 (malformed Range) and 416 answers carry {"error": …} JSON."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, _json_errors(send))


def _range_error(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> RunyardError:
    if status == 400:
        return BadRequest(f"bad Range header: {body.decode(errors='replace') or 'malformed'}")
    size = dict(headers).get(b"content-range", b"").decode().rpartition("/")[2]
    return RunyardError(
        f"the range starts past the end of the file ({size} bytes)",
        status=416,
        code="range_not_satisfiable",
    )


def _json_errors(send: Send) -> Send:
    held: Message | None = None

    async def wrapped(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] in (400, 416):
            held = message
            return
        if held is None or message["type"] != "http.response.body":
            await send(message)
            return
        skip = (b"content-type", b"content-length")
        headers = [(k, v) for k, v in held["headers"] if k.lower() not in skip]
        error = _range_error(held["status"], message.get("body", b""), headers)
        body = orjson.dumps(error.to_dict())
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({**held, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        held = None

    return wrapped


@router.get("/artifacts/{path:path}", response_class=Response, responses=DOWNLOAD)
def download(run_id: str, path: str, store: StoreDep) -> Response:
    """Download a file of the run dir by its relative path; `Range: bytes=…` is honoured
    (206). Paths that leave the run dir (`..`, absolute, links pointing out) are refused."""
    run = store.runs.get(run_id)
    target = confine_relative(Path(run.run_dir), path)
    try:
        st = target.stat()
    except FileNotFoundError:
        raise NotFound(f"run {run_id!r} has no file {path!r}") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadRequest(f"{path!r} is a folder; GET /api/runs/{run_id}/artifacts lists the files")
    if not stat.S_ISREG(st.st_mode):
        raise BadRequest(f"{path!r} is not a regular file")
    return _Download(
        target,
        stat_result=st,
        media_type=_run_tree.media_type(target),
        headers=_DOWNLOAD_HEADERS,
        filename=target.name,
        content_disposition_type="inline",
    )
