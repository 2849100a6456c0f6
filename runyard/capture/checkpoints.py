"""Checkpoints by glob (`--checkpoints GLOB`), for programs that save their own.

Each pass globs the patterns in the working directory and in the run dir. A file is
registered once it has stopped changing (same size and mtime on two passes, the last change
at least STABLE_S ago; at the end of an attempt, at once), with its SHA-256, so that the
Checkpoints tab, gc retention and RUNYARD_RESUME_FROM work as for the SDK's. A file in the
run dir is registered where it is. A file in the working directory, which the program may
overwrite at any time (nanoGPT's out/ckpt.pt), is first copied into the run dir's
checkpoints/ folder: the registered copy is the one that is verified and resumed from.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from runyard.errors import BadRequest
from runyard.store import Store
from runyard.store.files import CheckpointRecord

STABLE_S = 1.0
COPIES = "checkpoints"


def check_glob(pattern: str, what: str = "checkpoints glob") -> None:
    """Refuse a glob that leaves its root (absolute, or with a `..` part)."""
    if pattern.startswith(("/", "~")) or ".." in Path(pattern).parts:
        raise BadRequest(
            f"{what} {pattern!r} must be relative to the working directory or the run dir, "
            "without '..'"
        )


def matches(root: Path, pattern: str, since: float) -> list[Path]:
    """Regular files under root matching pattern, modified since `since`, inside root once
    links are resolved."""
    real = root.resolve()
    out = []
    try:
        candidates = sorted(root.glob(pattern))
    except (OSError, ValueError):
        return []
    for path in candidates:
        try:
            inside = path.is_file() and path.resolve().is_relative_to(real)
            if inside and path.stat().st_mtime >= since:
                out.append(path)
        except OSError:
            continue
    return out


@dataclass
class CheckpointWatch:
    """What one run's files looked like on the last pass, and what was registered."""

    seen: dict[Path, tuple[int, int]] = field(default_factory=dict)
    registered: dict[Path, tuple[int, int]] = field(default_factory=dict)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _copy_hashed(src: Path, dst: Path) -> tuple[int, str] | None:
    """Copy src to dst atomically, hashing what was copied; None if src changed meanwhile."""
    before = _stamp(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.copying")
    digest = hashlib.sha256()
    size = 0
    with src.open("rb") as fin, tmp.open("wb") as fout:
        for block in iter(lambda: fin.read(1 << 20), b""):
            digest.update(block)
            fout.write(block)
            size += len(block)
    if _stamp(src) != before:
        tmp.unlink(missing_ok=True)
        return None
    shutil.copystat(src, tmp)
    os.replace(tmp, dst)
    return size, digest.hexdigest()


def _hash(path: Path) -> tuple[int, str] | None:
    before = _stamp(path)
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return (size, digest.hexdigest()) if _stamp(path) == before else None


def scan(
    store: Store,
    run_id: str,
    watch: CheckpointWatch,
    *,
    patterns: tuple[str, ...],
    cwd: Path,
    run_dir: Path,
    attempt: int,
    since: float,
    final: bool,
) -> int:
    """Register what is new and stable; the number of checkpoints registered."""
    run_real = run_dir.resolve()
    found: dict[Path, Path] = {}  # file -> the root it was found under
    for pattern in patterns:
        for root in (run_dir, cwd):
            for path in matches(root, pattern, since):
                found.setdefault(path.resolve(), root)
    if not watch.registered:  # after a restart: what the store already holds
        for rec in store.files.checkpoints(run_id):
            watch.registered[(run_dir / rec.path).resolve()] = (rec.size, -1)
    now = time.time()
    count = 0
    for path, root in sorted(found.items()):
        stamp = _stamp(path)
        if stamp is None:
            continue
        previous, watch.seen[path] = watch.seen.get(path), stamp
        done = watch.registered.get(path)
        if done is not None and (done == stamp or (done[1] == -1 and done[0] == stamp[0])):
            continue
        settled = previous == stamp and now - stamp[1] / 1e9 >= STABLE_S
        if not (final or settled):
            continue
        if path.is_relative_to(run_real):
            rel = path.relative_to(run_real).as_posix()
            got = _hash(path)
            name = rel
        else:
            rel_cwd = path.relative_to(root.resolve()).as_posix()
            rel = f"{COPIES}/{rel_cwd}"
            got = _copy_hashed(path, run_dir / rel)
            name = rel_cwd
        if got is None:
            continue  # changed while being read: next pass
        size, sha = got
        store.files.add_checkpoint(
            run_id,
            CheckpointRecord(
                name=name,
                path=rel,
                attempt=attempt,
                step=None,
                epoch=None,
                size=size,
                sha256=sha,
                metrics={},
                created_at=stamp[1] / 1e9,
            ),
        )
        watch.registered[path] = stamp
        if not path.is_relative_to(run_real):
            watch.registered[(run_dir / rel).resolve()] = _stamp(run_dir / rel) or stamp
        store.events.emit("checkpoint", run_id, name=name, attempt=attempt)
        count += 1
    return count
