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
import http.client
import json
import logging
import os
import queue
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from runyard.sdk._files import signature

log = logging.getLogger("runyard.sdk.upload")
Known = tuple[str, tuple[int, int, int]]  # a file's SHA-256, and its signature when hashed
CHUNK = 128 * 1024 * 1024  # a request's body: the server writes it as it comes
PIECE = 1024 * 1024  # read from disk and sent at a time (a chunk is never held whole)
TAIL = 1024 * 1024  # sent last, once the hash being made beside the rest is ready
RETRY_S = (0.5, 1, 2, 4, 8)
# While another request is sending the same file (a chunk given up on by this client but not
# yet by the server, or another try of the job), its turn is waited for, up to three times the
# server's default RUNYARD_UPLOAD_IDLE_S (after which the server ends a stalled request).
IN_PROGRESS_PAUSE_S = 1.0
IN_PROGRESS_WAIT_S = 180.0


class Refused(Exception):
    """The server answered a chunk with an error (a 422: the file arrived torn)."""

    def __init__(self, status: int, text: str):
        super().__init__(f"{status}: {text[:300]}")
        self.status = status


def _error_code(text: bytes) -> str | None:
    """The `code` of a runyard error body, if it is one."""
    try:
        return str(json.loads(text)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _direct(url: str) -> bool:
    """Whether `url` is reached without a proxy, as httpx decides from the environment:
    only then does a chunk go out by sendfile(2) on a connection of our own."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    if parts.scheme not in proxies and "all" not in proxies:
        return True
    return bool(urllib.request.proxy_bypass(parts.hostname or ""))


def enabled() -> bool:
    return os.environ.get("RUNYARD_UPLOAD") == "1"


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Uploader:
    def __init__(self, url: str, token: str | None, run_id: str, run_dir: Path):
        self.base = f"{url.rstrip('/')}/api/runs/{run_id}"
        self.run_dir = run_dir
        self._auth = _headers(token)
        self._client = httpx.Client(headers=self._auth, timeout=60)
        self._direct = _direct(self.base)
        self._conn: http.client.HTTPConnection | None = None  # the chunks' own connection
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
                except (httpx.HTTPError, http.client.HTTPException, OSError, Refused) as exc:
                    if isinstance(exc, Refused) and exc.status == 422:
                        known = None  # refused whole: the next try hashes what is on disk
                    if pause is None:
                        log.warning("giving up on uploading %s: %s", relpath, exc)
                        self.failed.append(relpath)
                    else:
                        time.sleep(pause)
                except Exception:  # a bug here must not stop the files queued after it
                    log.exception("giving up on uploading %s", relpath)
                    self.failed.append(relpath)
                    break
            if self._queue.empty():
                self._idle.set()
        self._client.close()
        if self._conn is not None:
            self._conn.close()

    def _url(self, relpath: str) -> str:
        return f"{self.base}/uploads/{urllib.parse.quote(relpath)}"

    def _upload(self, relpath: str, path: Path, known: Known | None) -> None:
        """The file in chunks of up to CHUNK bytes, each streamed from disk a PIECE at a time
        (never held whole); the server checks the whole file's SHA-256, sent with the last.
        The hash is the one the file was placed with while the file is as it was then;
        else it is made in a thread while all but the last TAIL bytes are sent. A file seen
        changed before its last chunk is hashed again from disk for it, so the server, whose
        copy is torn, refuses it (422), as it refuses a copy torn unseen (in the same tick
        of the mtime); the next try sends the file whole, hashed anew."""
        before = os.stat(path)
        sha = known[0] if known is not None and known[1] == signature(before) else None
        hashed = None if sha is not None else _hash_beside(path)
        size = before.st_size
        waited_until = time.monotonic() + IN_PROGRESS_WAIT_S
        offset = self._offset(relpath, waited_until)
        with open(path, "rb", buffering=0) as f:
            while True:
                if sha is None and hashed is not None and offset >= size - TAIL:
                    sha = hashed()
                end = size if sha is not None else size - TAIL
                length = min(CHUNK, end - offset)
                if offset + length == size and signature(os.stat(path)) != signature(before):
                    sha = _sha256_of(path)  # changed while sent: the server refuses the mix
                query = urllib.parse.urlencode(
                    {"offset": offset, "size": size, "sha256": sha or "0" * 64}
                )  # the SHA-256 is checked with the last chunk only
                code, text = self._put(f"{self._url(relpath)}?{query}", f, offset, length)
                if code == 409:  # the server has another offset: go on from it
                    if _error_code(text) == "upload_in_progress":  # (another request's turn)
                        if time.monotonic() > waited_until:
                            raise Refused(code, text.decode(errors="replace"))
                        time.sleep(IN_PROGRESS_PAUSE_S)
                    offset = self._offset(relpath, waited_until)
                    continue
                if code >= 400:  # a 422 (mangled, or changed since hashed): all again
                    raise Refused(code, text.decode(errors="replace"))
                body = json.loads(text)
                if body["complete"]:
                    return
                offset = int(body["received"])

    def _offset(self, relpath: str, waited_until: float) -> int:
        """Where the server's copy ends; while another request is sending the file, its end
        is waited for (until `waited_until`), rather than sending a body to be refused."""
        while True:
            status = self._client.get(self._url(relpath))
            status.raise_for_status()
            body = status.json()
            if not body.get("receiving") or time.monotonic() > waited_until:
                return int(body["received"])
            time.sleep(IN_PROGRESS_PAUSE_S)

    def _put(self, url: str, f: Any, offset: int, length: int) -> tuple[int, bytes]:
        """PUT `length` bytes of `f` from `offset` as one request body: (status, body).

        Sent by sendfile(2) on a keep-alive connection of the stdlib's http.client, the
        file's pages go from the page cache to the socket without passing through this
        process: two copies fewer than reading and sending each piece, the sender's CPU
        0.2 s -> 0.05 s for 500 MB, uploads +15 % on a 2-core node (benchmarks/ray_bench.py).
        Through a proxy (HTTP(S)_PROXY), httpx sends it a piece at a time as before."""
        if not self._direct:
            r = self._client.put(
                url, content=_pieces(f, offset, length), headers={"Content-Length": str(length)}
            )
            return r.status_code, r.content
        parts = urllib.parse.urlsplit(url)
        conn = self._conn
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    parts.netloc, timeout=60, context=httpx.create_ssl_context()
                )
            else:
                conn = http.client.HTTPConnection(parts.netloc, timeout=60)
            self._conn = conn
        try:
            conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
            for name, value in self._auth.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(length))
            conn.endheaders()
            assert conn.sock is not None
            if length and conn.sock.sendfile(f, offset, length) != length:  # (0: an empty file)
                raise OSError(f"{f.name} got shorter while it was sent")
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            conn.close()  # the next request opens a new one
            self._conn = None
            raise
        if response.will_close:
            conn.close()
            self._conn = None
        return response.status, body


def _hash_beside(path: Path) -> Callable[[], str]:
    """Hash `path` in a thread (hashlib lets go of the GIL); the function returned waits for
    the hash, or raises what reading the file raised."""
    done: list[str | OSError] = []

    def work() -> None:
        try:
            done.append(_sha256_of(path))
        except OSError as exc:
            done.append(exc)

    thread = threading.Thread(target=work, name="runyard-upload-hash", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join()
        if isinstance(done[0], OSError):
            raise done[0]
        return done[0]

    return wait


def _pieces(f: Any, offset: int, length: int) -> Iterator[bytes]:
    """`length` bytes of `f` from `offset`, a PIECE at a time; a file that got shorter
    stops the request (OSError), and the next try starts from what the server has (so does
    sendfile's short count)."""
    f.seek(offset)
    while length > 0:
        piece = f.read(min(PIECE, length))
        if not piece:
            raise OSError(f"{f.name} got shorter while it was sent")
        length -= len(piece)
        yield piece


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


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
