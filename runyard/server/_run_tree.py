"""The files of a run dir as the API shows them, and how a download names its content type."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator, KeysView
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Kind = Literal["log", "checkpoint", "artifact", "other"]

MAX_FILES = 10_000  # files listed at most; the answer says `truncated` past it
MAX_SCANNED = 100_000  # directory entries looked at, so that a huge tree answers quickly

# Suffixes that training code writes as text but that mimetypes does not know (or calls
# something a browser would not show).
_TEXT_SUFFIXES = frozenset(
    {".log", ".out", ".err", ".jsonl", ".ndjson", ".yaml", ".yml", ".toml", ".cfg", ".ini"}
)
_KIND_OF_FOLDER: dict[str, Kind] = {
    "logs": "log",
    "checkpoints": "checkpoint",
    "artifacts": "artifact",
}
_COMPRESSED = {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}


@dataclass(frozen=True, slots=True)
class TreeFile:
    path: str  # relative, forward slashes
    size: int
    modified_at: float


@dataclass(frozen=True, slots=True)
class Tree:
    files: list[TreeFile]
    truncated: bool
    skipped_links: int


def _sorted_entries(path: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return iter(())  # unreadable, or removed while we walked
    return iter(entries)


def walk(root: Path) -> Tree:
    """Regular files under ``root``, depth first in name order (so sorted by path parts).

    Symlinks are counted, never listed nor followed: the tree stays the run dir's own.
    """
    files: list[TreeFile] = []
    links = scanned = 0
    base = len(str(root)) + 1
    stack = [_sorted_entries(str(root))] if root.is_dir() else []
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        scanned += 1
        if len(files) >= MAX_FILES or scanned > MAX_SCANNED:
            return Tree(files, True, links)
        try:
            if entry.is_symlink():
                links += 1
            elif entry.is_dir(follow_symlinks=False):
                stack.append(_sorted_entries(entry.path))
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                files.append(TreeFile(entry.path[base:], st.st_size, st.st_mtime))
        except OSError:
            continue  # removed while we walked
    return Tree(files, False, links)


def kind_of(path: str, checkpoints: KeysView[str], artifacts: KeysView[str]) -> Kind:
    """What a file is: by its record first, else by the folder it sits in."""
    if path in checkpoints:
        return "checkpoint"
    if path in artifacts:
        return "artifact"
    top = path.split("/", 1)[0] if "/" in path else ""
    return _KIND_OF_FOLDER.get(top, "other")


def media_type(path: Path) -> str:
    """Content type by extension; text for the logs and the formats ML code writes as text,
    octet-stream when unknown or compressed (a .tar.gz is not a tar to a browser)."""
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        return "text/plain"
    kind, encoding = mimetypes.guess_type(path.name, strict=False)
    if encoding is not None:
        return _COMPRESSED.get(encoding, "application/octet-stream")
    return kind or "application/octet-stream"
