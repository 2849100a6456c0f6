"""Placing checkpoints and artifacts inside the run dir, durably, with their size and SHA-256.

The server only ever records paths relative to the run dir, so a file must live there before it
is registered. A hard link costs nothing however large the file is; a copy is the fallback
when the source is on another filesystem. Note that a hard link shares the inode: a program
that later rewrites the *same source path in place* also changes the placed file, so save each
checkpoint to a new path (or into ``run.dir/checkpoints/`` directly, which needs no placement).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from runyard.sdk._spool import fsync_dir


@dataclass(frozen=True, slots=True)
class Placed:
    path: Path  # where the file now is, inside the run dir
    relpath: str  # the same, relative to the run dir, with forward slashes
    size: int
    sha256: str
    hashed: tuple[int, int, int]  # the file's (size, mtime_ns, inode) when it was hashed


def signature(st: os.stat_result) -> tuple[int, int, int]:
    """What tells a file apart from itself rewritten: its size, mtime and inode."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def check_name(name: str, what: str) -> PurePosixPath:
    """A relative path that stays inside its folder (``..``, absolute and empty are refused)."""
    rel = PurePosixPath(name.replace(os.sep, "/"))
    if not name or rel.is_absolute() or any(p in ("", ".", "..") for p in rel.parts):
        raise ValueError(f"{what} name {name!r} must be a relative path inside the run dir")
    return rel


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def place(src: str | os.PathLike[str], run_dir: Path, folder: str, name: str | None) -> Placed:
    """Put ``src`` at ``run_dir/folder/name`` (link, else copy), fsynced, and hash it."""
    source = Path(src)
    if not source.is_file():
        raise FileNotFoundError(f"{source} is not a file")
    rel = PurePosixPath(folder) / check_name(name or source.name, "file")
    dest = run_dir.joinpath(*rel.parts)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not (dest.exists() and os.path.samefile(source, dest)):
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        try:
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()  # a full disk leaves no half-made copy behind
            raise
    _fsync_file(dest)
    fsync_dir(dest.parent)
    before = dest.stat()  # taken before the hash: a rewrite while hashing shows in it
    return Placed(dest, str(rel), before.st_size, sha256_of(dest), signature(before))
