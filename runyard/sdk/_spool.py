"""The spool: a local write-ahead log of every op the SDK sends, one file per source.

The server may be down, slow or not there at all; the training loop must not care. So every
op is first appended here (and fsynced) by the SDK's writer thread, then delivered from here,
in order, by its sender thread — or later by `runyard sync`, which reads the same files with
the same code (`_replay.py`). A batch that was spooled no longer needs to stay in memory.

Layout, under ``<run dir>/spool/``::

    run.json              {"run_id": ...}: which run the files belong to
    <source>.spool        records, appended; <source> sorts by the time the process started
    <source>.acked        {"seq", "offset"}: the last delivered record and where the next starts

A record is a header line ``{"seq", "op", "len", "crc"}`` then ``len`` bytes of body (the
exact HTTP request body) and a newline. A record cut short by a crash fails its length or CRC
check and ends the file: it was never acknowledged, so nothing is lost that was promised.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SPOOL_DIR = "spool"
RUN_FILE = "run.json"
SUFFIX = ".spool"
ACKED_SUFFIX = ".acked"


def new_source() -> str:
    """A source id that sorts by start time, so that sync replays a run's sources in order."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(6)}"


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of either."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    """Makes a new directory entry (a created or renamed file) survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    op: str
    body: bytes
    end: int  # offset just past this record: where the next one starts


def encode(seq: int, op: str, body: bytes) -> bytes:
    header = orjson.dumps({"seq": seq, "op": op, "len": len(body), "crc": zlib.crc32(body)})
    return b"".join((header, b"\n", body, b"\n"))


def read_records(path: Path, start: int, end: int | None = None) -> Iterator[Record]:
    """Whole records from byte ``start`` up to ``end`` (the file's end when None)."""
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        while end is None or offset < end:
            line = f.readline()
            if not line.endswith(b"\n"):
                return
            try:
                header = orjson.loads(line)
                seq, op, length, crc = header["seq"], header["op"], header["len"], header["crc"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return
            body = f.read(length + 1)
            if len(body) != length + 1 or zlib.crc32(body[:-1]) != crc:
                return
            offset += len(line) + length + 1
            yield Record(seq, op, body[:-1], offset)


class SourceSpool:
    """One source's spool file and its acked marker."""

    def __init__(self, spool_dir: Path, source: str):
        self.dir = spool_dir
        self.source = source
        self.path = spool_dir / f"{source}{SUFFIX}"
        self.acked_path = spool_dir / f"{source}{ACKED_SUFFIX}"

    def acked(self) -> tuple[int, int]:
        """(last delivered seq or -1, offset of the first record not delivered)."""
        try:
            data = orjson.loads(self.acked_path.read_bytes())
            return int(data["seq"]), int(data["offset"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return -1, 0

    def mark_acked(self, seq: int, offset: int) -> None:
        # No fsync: a marker lost in a crash only means a replay, and every op is idempotent;
        # so is one that a full disk kept from being written.
        try:
            write_atomic(self.acked_path, orjson.dumps({"seq": seq, "offset": offset}))
        except OSError:
            with contextlib.suppress(OSError):
                self.acked_path.with_name(f".{self.acked_path.name}.{os.getpid()}.tmp").unlink()

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0


def max_held_bytes() -> int:
    """RUNYARD_SDK_MAX_BUFFER_MB (default 256): what a full disk may hold in memory."""
    try:
        mb = float(os.environ.get("RUNYARD_SDK_MAX_BUFFER_MB", "256"))
    except ValueError:
        mb = 256.0
    return max(0, int(mb * 1024 * 1024))


class SpoolWriter:
    """Appends records durably; used by one thread of one process (its source is its own).

    When the disk is full a record is held in memory instead, in order, and spooled by a
    later `append` or `retry_held` once space comes back; past `max_held_bytes` the oldest
    metrics records are dropped and their points counted in `dropped_points`. Nothing of
    this raises: the training loop must never see the disk.
    """

    def __init__(self, spool: SourceSpool, max_held: int | None = None):
        self.spool = spool
        spool.dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(spool.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.offset = os.fstat(self._fd).st_size
        fsync_dir(spool.dir)
        self.max_held = max_held_bytes() if max_held is None else max_held
        self._held: deque[tuple[str, bytes, int]] = deque()  # (op, encoded record, points)
        self._held_bytes = 0
        self.dropped_points = 0
        self._told = False

    @property
    def held(self) -> int:
        return len(self._held)

    def append(self, seq: int, op: str, body: bytes, points: int = 0) -> int:
        """Write one record (durable after the next `sync`), or hold it while the disk is
        full; returns the offset past what is in the file."""
        data = encode(seq, op, body)
        if not self.retry_held() or not self._write(data):
            self._hold(op, data, points)
        return self.offset

    def retry_held(self) -> bool:
        """Spool the held records, in order; True when none is left in memory."""
        while self._held:
            op, data, points = self._held[0]
            if not self._write(data):
                return False
            self._held.popleft()
            self._held_bytes -= len(data)
        return True

    def _write(self, data: bytes) -> bool:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.offset)  # no record cut short in the file
            return False
        self.offset += len(data)
        return True

    def _hold(self, op: str, data: bytes, points: int) -> None:
        if not self._told:
            self._told = True
            with contextlib.suppress(OSError, ValueError):  # stderr may be on the full disk
                sys.stderr.write(
                    f"runyard: cannot write the spool {self.spool.path} (disk full?); keeping "
                    f"points in memory (up to {self.max_held // (1024 * 1024)} MB) until it can\n"
                )
                sys.stderr.flush()
        self._held.append((op, data, points))
        self._held_bytes += len(data)
        while self._held_bytes > self.max_held:
            oldest = next((r for r in self._held if r[0] == "metrics"), None)
            if oldest is None:
                break  # only ops that are not points are left: those are kept
            self._held.remove(oldest)
            self._held_bytes -= len(oldest[1])
            self.dropped_points += oldest[2]

    def sync(self) -> None:
        with contextlib.suppress(OSError):  # what fsync could not flush is sent all the same
            os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def write_run_file(run_dir: Path, run_id: str) -> None:
    spool_dir = run_dir / SPOOL_DIR
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / RUN_FILE
    if not path.exists():
        write_atomic(path, orjson.dumps({"run_id": run_id}))
        fsync_dir(spool_dir)


def read_run_id(run_dir: Path) -> str | None:
    try:
        data: Any = orjson.loads((run_dir / SPOOL_DIR / RUN_FILE).read_bytes())
        run_id = data["run_id"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return run_id if isinstance(run_id, str) else None


def sources(run_dir: Path) -> list[SourceSpool]:
    """The run's spool files, oldest source first."""
    spool_dir = run_dir / SPOOL_DIR
    if not spool_dir.is_dir():
        return []
    names = sorted(p.name[: -len(SUFFIX)] for p in spool_dir.glob(f"*{SUFFIX}"))
    return [SourceSpool(spool_dir, name) for name in names]
