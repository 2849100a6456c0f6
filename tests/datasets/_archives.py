"""Builders of archives, friendly and hostile, written with the standard library."""

from __future__ import annotations

import io
import stat
import tarfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Member:
    """One archive entry: a file (data), a folder, a symlink or hard link (link), a device."""

    name: str
    data: bytes = b""
    kind: str = "file"  # file | dir | symlink | hardlink | chr | fifo
    link: str = ""


def write_tar(path: Path, members: list[Member], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.mode = 0o644
            data = None
            if m.kind == "file":
                info.size = len(m.data)
                data = io.BytesIO(m.data)
            elif m.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif m.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, m.link
            elif m.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, m.link
            elif m.kind == "chr":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            elif m.kind == "fifo":
                info.type = tarfile.FIFOTYPE
            tf.addfile(info, data)
    return path


def write_zip(path: Path, members: list[Member], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate name is what some tests want
        with zipfile.ZipFile(path, "w", compression) as zf:
            for m in members:
                info = zipfile.ZipInfo(m.name)
                info.compress_type = compression
                data = m.data
                if m.kind == "dir":
                    info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                elif m.kind == "symlink":
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    data = m.link.encode()
                elif m.kind == "fifo":
                    info.external_attr = (stat.S_IFIFO | 0o644) << 16
                elif m.kind == "chr":
                    info.external_attr = (stat.S_IFCHR | 0o644) << 16
                else:
                    info.external_attr = (stat.S_IFREG | 0o644) << 16
                zf.writestr(info, data)
    return path


def zip_bytes(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in members:
            zf.writestr(m.name, m.data)
    return buf.getvalue()


def lie_about_size(path: Path, declared: int) -> None:
    """Rewrite the uncompressed size in the local header and the central directory."""
    raw = bytearray(path.read_bytes())
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    raw[local + 22 : local + 26] = declared.to_bytes(4, "little")
    raw[central + 24 : central + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(raw))


def flip_data_byte(path: Path) -> None:
    """Change one byte of the first member's stored data: its CRC no longer matches."""
    raw = bytearray(path.read_bytes())
    local = raw.find(b"PK\x03\x04")
    name_len = int.from_bytes(raw[local + 26 : local + 28], "little")
    extra_len = int.from_bytes(raw[local + 28 : local + 30], "little")
    start = local + 30 + name_len + extra_len
    raw[start + 5] ^= 0xFF
    path.write_bytes(bytes(raw))
