"""Shipping files to the server from a machine that does not share its disk (a Ray node).

On with `RUNYARD_UPLOAD=1` (set by a backend whose nodes see only scratch). Checkpoints and
artifacts placed in the local run dir are sent by one background thread, in chunks that
resume where the server stopped (a chunk at the wrong offset gets a 409 naming the right
one), each file checked by SHA-256 on arrival; `run.log` never waits for it. On a retry,
`RUNYARD_RESUME_FROM` is the checkpoint's path relative to the run dir: it is downloaded
into the local run dir and checked against its SHA-256 before `run.resume_from` returns.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from runyard.sdk._files import signature

log = logging.getLogger("runyard.sdk.upload")
Known = tuple[str, tuple[int, int, int]]  # a file's SHA-256, and its signature when hashed
CHUNK = 8 * 1024 * 1024  # under the server's body limit
RETRY_S = (0.5, 1, 2, 4, 8)


def enabled() -> bool:
    return os.environ.get("RUNYARD_UPLOAD") == "1"


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Uploader:
    def __init__(self, url: str, token: str | None, run_id: str, run_dir: Path):
        self.base = f"{url.rstrip('/')}/api/runs/{run_id}"
        self.run_dir = run_dir
        self._client = httpx.Client(headers=_headers(token), timeout=60)
        self._queue: queue.Queue[tuple[str, Path, Known | None] | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self.failed: list[str] = []
        self._thread = threading.Thread(target=self._work, name="runyard-upload", daemon=True)
        self._thread.start()

    def send(self, relpath: str, source: Path | None = None, known: Known | None = None) -> None:
        """Queue `run_dir/relpath` (or the file `source`, sent as relpath) for upload;
        returns at once. `known`: the file's SHA-256 and its signature when it was hashed
        (`run.checkpoint` hashes what it places): the file is not hashed again unless it
        changed since."""
        self._idle.clear()
        self._queue.put((relpath, source or self.run_dir / relpath, known))

    def wait(self, timeout: float) -> bool:
        """True once everything queued has been sent (or given up on)."""
        return self._idle.wait(timeout)

    def close(self, timeout: float) -> bool:
        done = self.wait(timeout)
        self._queue.put(None)
        return done and not self.failed

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            relpath, source, known = item
            for pause in (*RETRY_S, None):
                try:
                    self._upload(relpath, source, known)
                    break
                except (httpx.HTTPError, OSError) as exc:
                    if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 422:
                        known = None  # refused whole: the next try hashes what is on disk
                    if pause is None:
                        log.warning("giving up on uploading %s: %s", relpath, exc)
                        self.failed.append(relpath)
                    else:
                        time.sleep(pause)
            if self._queue.empty():
                self._idle.set()
        self._client.close()

    def _url(self, relpath: str) -> str:
        return f"{self.base}/uploads/{urllib.parse.quote(relpath)}"

    def _upload(self, relpath: str, path: Path, known: Known | None) -> None:
        """One pass over the file: each chunk is hashed as it is read and sent (unless its
        hash is known); the whole file's SHA-256 goes with the last. A file changed while it
        was sent (its size or mtime moved) is hashed afresh from disk for that last chunk,
        so the server refuses the torn copy (422) and it is sent again."""
        before = os.stat(path)
        sha_known = known[0] if known is not None and known[1] == signature(before) else None
        status = self._client.get(self._url(relpath))
        status.raise_for_status()
        offset = int(status.json()["received"])
        digest = None if sha_known else _hash_prefix(path, offset)
        size = before.st_size
        with open(path, "rb") as f:
            while True:
                f.seek(offset)
                chunk = f.read(CHUNK)
                last = offset + len(chunk) >= size
                hashing = None
                if digest is not None:  # beside the sending (hashlib lets go of the GIL)
                    hashing = threading.Thread(target=digest.update, args=(chunk,))
                    hashing.start()
                sha = "0" * 64  # checked with the last chunk only
                if last:
                    if hashing is not None:
                        hashing.join()
                    sha = digest.hexdigest() if digest is not None else str(sha_known)
                    if _changed(before, os.stat(path)):
                        with open(path, "rb") as again:
                            sha = hashlib.file_digest(again, "sha256").hexdigest()
                params: dict[str, str | int] = {"offset": offset, "size": size, "sha256": sha}
                try:
                    r = self._client.put(self._url(relpath), params=params, content=chunk)
                finally:
                    if hashing is not None:
                        hashing.join()
                if r.status_code == 409:  # the server has another offset: go on from it
                    offset = int(self._client.get(self._url(relpath)).json()["received"])
                    digest = None if sha_known else _hash_prefix(path, offset)
                    continue
                r.raise_for_status()  # a 422 (mangled, or changed while sent): all again
                body = r.json()
                if body["complete"]:
                    return
                offset = int(body["received"])


def _hash_prefix(path: Path, size: int) -> Any:
    """The running SHA-256 of the file's first `size` bytes (those the server has)."""
    digest = hashlib.sha256()
    if size:
        with open(path, "rb") as f:
            while size > 0:
                block = f.read(min(size, 1 << 20))
                if not block:
                    break
                digest.update(block)
                size -= len(block)
    return digest


def _changed(a: os.stat_result, b: os.stat_result) -> bool:
    return signature(a) != signature(b)


def fetch_resume(url: str, token: str | None, run_id: str, run_dir: Path) -> Path | None:
    """The checkpoint to resume from, downloaded into the local run dir and verified."""
    rel = os.environ.get("RUNYARD_RESUME_FROM")
    if not rel:
        return None
    if os.path.isabs(rel):  # not in the run dir (a checkpoint in cwd): not fetched
        return Path(rel)
    expected = os.environ.get("RUNYARD_RESUME_SHA256")
    local = run_dir / rel
    if expected and local.is_file():  # fetched already (by the job's entrypoint)
        with open(local, "rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() == expected:
                return local
    base = f"{url.rstrip('/')}/api/runs/{run_id}/artifacts/{urllib.parse.quote(rel)}"
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.download")
    digest = hashlib.sha256()
    with (
        httpx.Client(headers=_headers(token), timeout=60) as client,
        client.stream("GET", base) as r,
    ):
        r.raise_for_status()
        with open(tmp, "wb") as f:
            for block in r.iter_bytes(1 << 20):
                digest.update(block)
                f.write(block)
    if expected and digest.hexdigest() != expected:
        tmp.unlink()
        raise RuntimeError(f"the checkpoint {rel} arrived with the wrong SHA-256")
    os.replace(tmp, local)
    return local
