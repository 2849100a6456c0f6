"""Clean-up: run dirs of runs that failed for good with nothing worth keeping, and old
checkpoints past a retention policy (keep the last N and the best by the primary metric)."""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from runyard.entities import Goal, Run, RunStatus
from runyard.store import Store
from runyard.store.files import CheckpointRecord
from runyard.store.runs import RunQuery

SMALL_OUTPUT_BYTES = 1024
TRASHED = "in the trash since"


@dataclass(frozen=True)
class Removal:
    run_id: str
    path: Path
    bytes: int
    why: str


def _outputs_size(run_dir: Path) -> int:
    """Bytes the program left, its logs and runyard's own spool aside."""
    total = 0
    for path in run_dir.rglob("*"):
        rel = path.relative_to(run_dir)
        if path.is_file() and rel.parts[0] not in ("logs", "spool"):
            total += path.stat().st_size
    return total


def _all_runs(store: Store, statuses: list[RunStatus]) -> list[Run]:
    out: list[Run] = []
    cursor = None
    while True:
        page = store.runs.list(RunQuery(status=statuses, limit=1000, cursor=cursor))
        out += page.runs
        cursor = page.next_cursor
        if cursor is None:
            return out


def dead_run_dirs(store: Store) -> list[Removal]:
    """Failed or cancelled runs (retries exhausted) with no checkpoint on disk and under
    1 KB of outputs."""
    found = []
    for run in _all_runs(store, [RunStatus.FAILED, RunStatus.CANCELLED]):
        run_dir = Path(run.run_dir)
        if not run_dir.is_dir():
            continue
        if any((run_dir / c.path).is_file() for c in store.files.checkpoints(run.id)):
            continue
        size = _outputs_size(run_dir)
        if size < SMALL_OUTPUT_BYTES:
            total = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
            found.append(
                Removal(run.id, run_dir, total, f"{run.status.value}, {size} B of outputs")
            )
    return found


def _score(record: CheckpointRecord, key: str | None) -> float | None:
    value = record.metrics.get(key) if key else None
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else None


def surplus_checkpoints(store: Store, keep_last: int) -> list[Removal]:
    """Checkpoints beyond the last ``keep_last`` of each ended run, the best one always kept."""
    found = []
    ended = [RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.PRUNED]
    for run in _all_runs(store, ended):
        records = sorted(store.files.checkpoints(run.id), key=lambda c: (c.created_at, c.step or 0))
        if len(records) <= keep_last:
            continue
        key = run.primary_metric
        goal = run.metric_goals.get(key) if key else None
        keep = {r.name for r in records[len(records) - keep_last :]} if keep_last else set()
        scored = [(s, r) for r in records if (s := _score(r, key)) is not None]
        if scored and goal is not None:
            best = (min if goal is Goal.MIN else max)(scored, key=lambda sr: sr[0])[1]
            keep.add(best.name)
        for r in records:
            path = Path(run.run_dir) / r.path
            if r.name not in keep:
                size = path.stat().st_size if path.is_file() else 0
                found.append(Removal(run.id, path, size, f"checkpoint {r.name}"))
    return found


def expired_trash(store: Store, trash_days: float, now: float | None = None) -> list[Removal]:
    """Deleted runs whose time in the trash is up (RUNYARD_TRASH_DAYS)."""
    cutoff = (time.time() if now is None else now) - trash_days * 86400
    return [
        Removal(
            t.id,
            t.folder,
            t.bytes(),
            f"{TRASHED} {datetime.fromtimestamp(t.deleted_at).astimezone():%Y-%m-%d %H:%M}",
        )
        for t in store.trash.items(deleted_before=cutoff)
    ]


def remove(store: Store, removals: list[Removal]) -> None:
    for item in removals:
        if item.why.startswith(TRASHED):
            store.trash.purge(item.run_id)
        elif item.why.startswith("checkpoint "):
            item.path.unlink(missing_ok=True)
            store.files.delete_checkpoint(item.run_id, item.why.removeprefix("checkpoint "))
        else:
            shutil.rmtree(item.path, ignore_errors=True)
