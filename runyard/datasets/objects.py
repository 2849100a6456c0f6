"""The content-addressed object store: each distinct file once, under objects/ab/cdef…

A version is a manifest (path, size, SHA-256) over these objects, and its folder (a *view*) is
made of hard links to them (copies where the file system refuses links), so that training code
reads a plain folder while identical files across versions take the space of one. Objects are
read-only: a view is not for writing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from runyard.datasets.normalise import Source
from runyard.store.datasets import FileRecord

CHUNK = 1 << 20
THREADS = 2  # hashlib releases the GIL on large buffers: two threads keep two cores busy


def sha256_file(path: Path) -> tuple[str, int]:
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256")  # readinto one buffer; no copies
        return digest.hexdigest(), f.tell()


def hash_files(paths: Sequence[Path], threads: int = THREADS) -> list[tuple[str, int]]:
    """(sha256, size) of each path, in order, on ``threads`` threads.

    Each thread takes every n-th path and loops over its share: one task per file would cost
    more in scheduling than hashing a small image does.
    """
    if threads <= 1 or len(paths) < 2:
        return [sha256_file(p) for p in paths]
    shares = [paths[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(lambda share: [sha256_file(p) for p in share], shares))
    out: list[tuple[str, int]] = [("", 0)] * len(paths)
    for i, results in enumerate(done):
        out[i::threads] = results
    return out


def manifest_sha256(files: Iterable[FileRecord]) -> str:
    """The hash that names a version: one JSON line per file, sorted by path."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(orjson.dumps([f.path, f.size, f.sha256]) + b"\n")
    return h.hexdigest()


class ObjectStore:
    def __init__(self, root: Path):
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self.views = root / "views"

    def path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256[2:]

    def work_dir(self, prefix: str) -> Path:
        """A fresh folder on the store's file system, so that files move in by rename."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        path = self.tmp / f"{prefix}-{secrets.token_hex(6)}"
        path.mkdir()
        return path

    def _place(self, file: Path, sha256: str) -> None:
        target = self.path(sha256)
        if target.exists():
            file.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(file, 0o444)
        os.replace(file, target)  # atomic; a concurrent writer of the same bytes is harmless

    def put(self, source: Source) -> FileRecord:
        """Store one file: ours are moved in after hashing, the user's are copied while hashed."""
        known, size = source.sha256, source.size
        if known is not None and size is not None and self.path(known).is_file():
            return FileRecord(source.path, size, known)
        if source.owned and not source.file.is_symlink():
            sha, size = sha256_file(source.file)
            self._place(source.file, sha)
            return FileRecord(source.path, size, sha)
        self.tmp.mkdir(parents=True, exist_ok=True)
        part = self.tmp / f"obj-{secrets.token_hex(8)}"
        h = hashlib.sha256()
        size = 0
        try:
            with open(source.file, "rb") as src, open(part, "xb") as out:
                while chunk := src.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            self._place(part, h.hexdigest())
        finally:
            part.unlink(missing_ok=True)
        return FileRecord(source.path, size, h.hexdigest())

    def put_all(
        self,
        sources: Sequence[Source],
        progress: Callable[[int], None] | None = None,
        threads: int = THREADS,
    ) -> list[FileRecord]:
        out: list[FileRecord] = []
        with ThreadPoolExecutor(threads) as pool:
            for i, record in enumerate(pool.map(self.put, sources), 1):
                out.append(record)
                if progress is not None and i % 256 == 0:
                    progress(i)
        return out

    def view(self, name: str, version: str) -> Path:
        return self.views / name / version

    def make_view(self, name: str, version: str, files: Sequence[FileRecord]) -> Path:
        """The version's folder of hard links, made aside and renamed into place when whole."""
        final = self.view(name, version)
        if final.is_dir():
            return final  # the same content was registered before: it is the same folder
        final.parent.mkdir(parents=True, exist_ok=True)
        partial = final.with_name(f".{version}.partial-{secrets.token_hex(4)}")
        try:
            for f in files:
                target = partial / f.path
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(self.path(f.sha256), target)
                except OSError:  # another file system, or too many links to one inode
                    shutil.copyfile(self.path(f.sha256), target)
                    os.chmod(target, 0o444)
            partial.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(partial, final)
            except OSError:
                if not final.is_dir():  # not made by a concurrent register of the same content
                    raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return final
