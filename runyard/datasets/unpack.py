"""Unpacking untrusted archives: whole and inside the target, or refused with nothing left behind.

Tar members go through the standard library's ``tarfile.data_filter`` (links and paths that
leave the target, device files, FIFOs) after our own checks of the name (absolute paths, drive
letters, ``..``), which that filter would quietly rewrite rather than refuse. Zip has no such
filter, so each member is checked here and its bytes are counted while they stream out:
header sizes are only used for an early refusal, never trusted to bound what is written.
Archives found inside the archive are unpacked in place (to ``max_depth`` levels) against the
same budget, so a nested bomb meets the same size and ratio limits as a flat one.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import re
import secrets
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from runyard.config import Settings
from runyard.errors import BadRequest

CHUNK = 1 << 20
MAX_LINK_TARGET = 4096
_SUFFIXES = {
    ".zip": "zip",
    ".tar": "tar",
    ".tar.gz": "tar",
    ".tgz": "tar",
    ".tar.bz2": "tar",
    ".tbz2": "tar",
    ".tar.xz": "tar",
    ".txz": "tar",
}
_DRIVE = re.compile(r"^[A-Za-z]:")
_READ_ERRORS = (
    zipfile.BadZipFile,
    tarfile.TarError,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
    KeyError,  # a tar hard link to a member that is not there
)


class UnsafeArchive(BadRequest):
    code = "unsafe_archive"


class CorruptArchive(BadRequest):
    code = "corrupt_archive"


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 10 * 1024**3
    max_ratio: float = 100.0
    max_entries: int = 200_000
    max_depth: int = 3  # archives inside archives inside archives
    ratio_slack: int = 1 << 20  # small archives of text may compress far better than bombs do

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_bytes=settings.dataset_max_bytes,
            max_ratio=settings.dataset_max_ratio,
            max_entries=settings.dataset_max_entries,
        )


def archive_suffix(name: str) -> str | None:
    """The archive suffix ``name`` ends with (longest first), or None."""
    lower = name.lower()
    found = [s for s in _SUFFIXES if lower.endswith(s)]
    return max(found, key=len) if found else None


class _Budget:
    """What all levels of one archive may write, counted as it is written."""

    def __init__(self, limits: Limits, compressed: int, name: str):
        self.limits = limits
        self.compressed = max(compressed, 1)
        self.name = name
        self.written = 0
        self.entries = 0

    def entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise UnsafeArchive(
                f"{self.name} has more than {self.limits.max_entries} entries "
                "(RUNYARD_DATASET_MAX_ENTRIES)"
            )

    def add(self, n: int) -> None:
        self.written += n
        limits = self.limits
        if self.written > limits.max_bytes:
            raise UnsafeArchive(
                f"{self.name} unpacks to more than {limits.max_bytes} bytes "
                "(RUNYARD_DATASET_MAX_BYTES)"
            )
        if self.written > limits.ratio_slack and self.written > limits.max_ratio * self.compressed:
            raise UnsafeArchive(
                f"{self.name} expands more than {limits.max_ratio:g} times its size: "
                "a compression bomb? (RUNYARD_DATASET_MAX_RATIO)"
            )


def safe_name(name: str) -> str | None:
    """The member name as a clean relative path; None for the root itself; refused if it
    is absolute, has a drive letter or backslashes, or climbs out with ``..``."""
    if "\x00" in name or "\\" in name:
        raise UnsafeArchive(f"entry {name!r} holds a NUL byte or a backslash")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeArchive(f"entry {name!r} is an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"entry {name!r} climbs out of the target with '..'")
    return "/".join(parts) or None


def _inside(root: Path, path: str | Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base + os.sep)


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, budget: _Budget) -> None:
    budget.entry()
    rel = safe_name(info.filename)
    if rel is None:
        return
    if info.flag_bits & 0x1:
        raise UnsafeArchive(f"entry {rel!r} is encrypted")
    target = root / rel
    if not _inside(root, target.parent):
        raise UnsafeArchive(f"entry {rel!r} would be written through a link outside the target")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
        raise UnsafeArchive(f"entry {rel!r} is a device file, FIFO or socket")
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == stat.S_IFLNK:
        with zf.open(info) as src:
            link = src.read(MAX_LINK_TARGET + 1).decode("utf-8", "replace")
        if len(link) > MAX_LINK_TARGET or link.startswith("/") or not link:
            raise UnsafeArchive(f"entry {rel!r} is a link to an absolute or odd path")
        if not _inside(root, target.parent / link):
            raise UnsafeArchive(f"entry {rel!r} links outside the target ({link!r})")
        os.symlink(link, target)
        return
    try:
        out = open(target, "xb")  # noqa: SIM115 (closed below); never follows an existing link
    except FileExistsError:
        raise UnsafeArchive(f"entry {rel!r} appears twice") from None
    with out, zf.open(info) as src:
        while chunk := src.read(CHUNK):
            budget.add(len(chunk))
            out.write(chunk)


def _unzip(path: Path, root: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        limits = budget.limits
        if budget.entries + len(infos) > limits.max_entries:
            raise UnsafeArchive(
                f"{budget.name} has more than {limits.max_entries} entries "
                "(RUNYARD_DATASET_MAX_ENTRIES)"
            )
        if budget.written + sum(i.file_size for i in infos) > limits.max_bytes:
            raise UnsafeArchive(
                f"{budget.name} says it unpacks to more than {limits.max_bytes} bytes "
                "(RUNYARD_DATASET_MAX_BYTES)"
            )
        for info in infos:
            _zip_member(zf, info, root, budget)


_FILTER_REASONS = {
    tarfile.AbsolutePathError: "is an absolute path",
    tarfile.OutsideDestinationError: "would be written outside the target",
    tarfile.SpecialFileError: "is a device file or FIFO",
    tarfile.AbsoluteLinkError: "is a link to an absolute path",
    tarfile.LinkOutsideDestinationError: "links outside the target",
}


def _untar(path: Path, root: Path, budget: _Budget) -> None:
    def check(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        budget.entry()
        if safe_name(member.name) is None and not member.isdir():
            raise UnsafeArchive(f"entry {member.name!r} would replace the target folder")
        if member.isreg() or member.islnk():
            budget.add(member.size)
        try:
            return tarfile.data_filter(member, dest)
        except tarfile.FilterError as exc:
            why = _FILTER_REASONS.get(type(exc), "is refused by the tar data filter")
            raise UnsafeArchive(f"entry {member.name!r} {why}") from None

    with tarfile.open(path, "r:*") as tf:
        tf.extractall(root, filter=check)
        # Read to the end, so that gzip/xz check their CRC; padding counts against the budget.
        if tf.fileobj is not None:
            while chunk := tf.fileobj.read(CHUNK):
                budget.add(len(chunk))


def _links_stay_inside(root: Path, budget: _Budget) -> None:
    """Each link was checked when made; a later link can still redirect an earlier one."""
    for d, dirs, files in os.walk(root):
        for entry in (*dirs, *files):
            path = os.path.join(d, entry)
            if os.path.islink(path) and not _inside(root, path):
                rel = os.path.relpath(path, root)
                raise UnsafeArchive(f"{budget.name}: link {rel!r} points outside the target")


def _extract(path: Path, root: Path, budget: _Budget, depth: int) -> None:
    suffix = archive_suffix(path.name)
    kind = _SUFFIXES.get(suffix or "")
    if kind is None:
        raise BadRequest(
            f"{path.name} is not an archive runyard unpacks: use one of {', '.join(_SUFFIXES)}"
        )
    try:
        (_unzip if kind == "zip" else _untar)(path, root, budget)
    except _READ_ERRORS as exc:
        raise CorruptArchive(f"{path.name} is corrupt or truncated: {exc}") from None
    _links_stay_inside(root, budget)
    _nested(root, budget, depth)


def _nested(root: Path, budget: _Budget, depth: int) -> None:
    """Unpack the archives found inside, each into a folder named after it."""
    found = [
        Path(d, f)
        for d, _dirs, files in os.walk(root)
        for f in files
        if archive_suffix(f) and not os.path.islink(os.path.join(d, f))
    ]
    for inner in sorted(found):
        if depth + 1 > budget.limits.max_depth:
            raise UnsafeArchive(
                f"{budget.name} nests archives more than {budget.limits.max_depth} levels deep"
            )
        suffix = archive_suffix(inner.name) or ""
        folder = inner.with_name(inner.name[: -len(suffix)] or "archive")
        if folder.exists() or folder.is_symlink():
            folder = inner.with_name(inner.name + ".contents")
        folder.mkdir()
        _extract(inner, folder, budget, depth + 1)
        inner.unlink()


def unpack(archive: Path, dest: Path, limits: Limits, *, name: str | None = None) -> Path:
    """Unpack ``archive`` into ``dest`` (which must not exist), atomically.

    Everything goes to a hidden sibling first and is renamed to ``dest`` only when whole; a
    refused or broken archive leaves nothing on disk and raises UnsafeArchive/CorruptArchive.
    """
    if dest.exists() or dest.is_symlink():
        raise BadRequest(f"{dest} exists already")
    budget = _Budget(limits, archive.stat().st_size, name or archive.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.partial-{secrets.token_hex(4)}")
    partial.mkdir()
    try:
        _extract(archive, partial, budget, depth=0)
        os.rename(partial, dest)
    except BaseException:
        _remove_tree(partial)
        raise
    return dest


def _remove_tree(path: Path) -> None:
    """Remove what a failed unpack wrote, including read-only folders it may have made."""
    for d, dirs, _files in os.walk(path):
        for sub in dirs:
            p = os.path.join(d, sub)
            if not os.path.islink(p):
                with contextlib.suppress(OSError):
                    os.chmod(p, 0o700)
    shutil.rmtree(path, ignore_errors=True)
