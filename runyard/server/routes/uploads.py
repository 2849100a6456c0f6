"""Uploads: files a job wrote on another machine (a Ray node), sent in chunks.

`PUT /api/runs/{id}/uploads/{path}?offset=&size=&sha256=` appends one chunk (the raw body)
to a partial file kept under `.uploads/` in the run dir; a chunk at the wrong offset gets a
409 that names the offset to go on from (a client that lost its place asks with GET). The
last chunk makes the file whole: its SHA-256 is checked, and only a match is moved into
place, atomically; a mismatch discards the partial file (422). One request at a time appends
to a file (409 `upload_in_progress` for another meanwhile), and a chunk that sends nothing for
RUNYARD_UPLOAD_IDLE_S is ended (408), what arrived kept. Downloads use the artifacts route
(`GET /api/runs/{id}/artifacts/{path}`). How a chunk's body is received, written and hashed
is `_body.py`'s.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from runyard._paths import check_name, confine_relative
from runyard.errors import BadRequest, Conflict, RunyardError
from runyard.server._body import receive
from runyard.server._deps import StoreDep
from runyard.server._hasher import Hasher
from runyard.server.routes import ERRORS
from runyard.server.schemas import ErrorOut

router = APIRouter(prefix="/api/runs/{run_id}/uploads", tags=["files"], responses=ERRORS)
CONFLICT: dict[int | str, dict[str, Any]] = {
    408: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
}
PARTS = ".uploads"
FOLDERS = ("checkpoints", "artifacts")
TOP_FILES = ("progress.json", "metrics.jsonl")  # shipped by the sidecar
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A chunk is written to disk as it arrives and bounded by the file's size: the server's
# body limit, made for bodies held in memory, does not apply (a client sends 128 MB a chunk).
STREAMED = re.compile(r"^/api/runs/[^/]+/uploads/")


class Unprocessable(RunyardError):
    status = 422
    code = "checksum_mismatch"


class InProgress(Conflict):
    code = "upload_in_progress"


class UploadOut(BaseModel):
    path: str
    received: int
    complete: bool
    receiving: bool = Field(
        default=False, description="Another request is sending this file now: wait for its end."
    )


def _part(run_dir: Path, path: str) -> Path:
    check_name(path)
    top = path.split("/", 1)
    if not (path in TOP_FILES or (len(top) == 2 and top[0] in FOLDERS)):
        raise BadRequest(
            f"{path!r}: uploads go under {'/ or '.join(FOLDERS)}/, or are one of "
            f"{', '.join(TOP_FILES)}"
        )
    if confine_relative(run_dir, path).is_dir():
        raise BadRequest(f"{path!r} is a folder in the run dir")
    digest = hashlib.sha256(path.encode()).hexdigest()[:32]
    return run_dir / PARTS / f"{digest}.part"


@router.get("/{path:path}")
def upload_status(run_id: str, path: str, store: StoreDep) -> UploadOut:
    """How much of `path` has arrived: the offset to go on from; and whether a request is
    sending it now (a client that waits for that one's end sends no body only to be refused)."""
    run_dir = Path(store.runs.get(run_id).run_dir)
    part = _part(run_dir, path)
    try:
        with open(part, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                receiving = False
            except BlockingIOError:
                receiving = True
            received = os.fstat(f.fileno()).st_size
        return UploadOut(path=path, received=received, complete=False, receiving=receiving)
    except FileNotFoundError:
        pass
    done = confine_relative(run_dir, path)
    return UploadOut(path=path, received=0, complete=done.is_file())


@router.put("/{path:path}", responses=CONFLICT)
async def upload_chunk(
    run_id: str,
    path: str,
    request: Request,
    store: StoreDep,
    offset: Annotated[int, Query(ge=0, description="Where this chunk starts in the file.")],
    size: Annotated[int, Query(ge=0, description="The whole file's size in bytes.")],
    sha256: Annotated[str, Query(description="The whole file's SHA-256 (hex).")],
) -> UploadOut:
    """Append one chunk; the last one checks the SHA-256 and moves the file into place.

    The body is written as it arrives and hashed on the way: the hash of what came before
    is kept by this process between a client's chunks (one connection is served by one
    process), so the last chunk does not read the whole file again; a chunk that finds no
    such hash (after a restart, or from another process) leaves it to the last one."""
    if not SHA256.match(sha256):
        raise BadRequest("sha256 must be 64 lowercase hex digits")
    run_dir = Path(store.runs.get(run_id).run_dir)
    part = _part(run_dir, path)
    target = confine_relative(run_dir, path)
    # Checked here so that a chunk at a wrong offset creates no empty partial file (the status
    # GET would then no longer say the file is complete), and again once the file is claimed.
    have = part.stat().st_size if part.exists() else 0
    if offset != have:
        raise Conflict(f"{path!r}: {have} byte(s) received; send from offset {have}")
    length = request.headers.get("content-length", "")
    if length.isdigit() and offset + int(length) > size:
        raise BadRequest(f"{path!r}: the chunk ends past the file's size, {size}")
    part.parent.mkdir(parents=True, exist_ok=True)
    idle_s = request.app.state.settings.upload_idle_s
    with open(part, "ab", buffering=0) as f:
        have = _claim(f, part, path)  # this request alone appends to the file until it ends
        if offset != have:
            raise Conflict(f"{path!r}: {have} byte(s) received; send from offset {have}")
        # The hash of what came before goes on in its thread while the client sends the next
        # chunk: only the last chunk waits for it.
        hasher = _HASHES.pop((part, have), None) if have else Hasher(hashlib.sha256())
        kept = sealing = False  # the hasher is handed on, to the next chunk or to the seal
        try:
            received = await receive(request, f, have, size, hasher, path, idle_s)
            if received < size:
                if hasher is not None:
                    _keep_hash(part, received, hasher)
                    kept = True
                return UploadOut(path=path, received=received, complete=False)
            sealing = True
        finally:
            if hasher is not None and not (kept or sealing):
                hasher.close()
        got = await run_in_threadpool(_seal, part, hasher)  # fsync and hash: off the event loop
        if got != sha256:
            part.unlink()
            raise Unprocessable(f"{path!r} arrived with SHA-256 {got}, not {sha256}: send it again")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)  # still claimed: no other request appends to it meanwhile
    return UploadOut(path=path, received=size, complete=True)


def _claim(f: Any, part: Path, path: str) -> int:
    """Lock the partial file for this request (flock: across the server's processes too) and
    return its size. A second request for the same file while one is being received (a
    client that gave up on a stalled chunk, a job's retry on another node beside the first
    try) gets a 409, instead of appending beside it (and, once the first had sealed the file,
    to the sealed file itself). The path may have been sealed and moved away since it was
    opened: then the client is told to ask again."""
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise InProgress(
            f"{path!r} is being received by another request; ask for its offset and go on "
            "once that one has ended"
        ) from None
    try:
        same = os.stat(part).st_ino == os.fstat(f.fileno()).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        raise Conflict(f"{path!r} was completed meanwhile; ask for its offset")
    return os.fstat(f.fileno()).st_size


def _seal(part: Path, hasher: Hasher | None) -> str:
    """The whole file's SHA-256, once it is on disk. Without a hash of the earlier chunks
    (they went to another process, or before a restart) the file is read again."""
    with open(part, "rb") as whole:
        os.fsync(whole.fileno())
        digest = hasher.result() if hasher is not None else None
        if digest is None:
            digest = hashlib.file_digest(whole, "sha256")
    return str(digest.hexdigest())


# (partial file, bytes received) → the hasher of those bytes (its thread may still be at it),
# for the next chunk of the same file.
_HASHES: OrderedDict[tuple[Path, int], Hasher] = OrderedDict()
_KEPT = 64  # files being uploaded at once through this process, at most


def _keep_hash(part: Path, received: int, hasher: Hasher) -> None:
    _HASHES[(part, received)] = hasher
    while len(_HASHES) > _KEPT:
        _HASHES.popitem(last=False)[1].close()
