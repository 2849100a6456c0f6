"""Which checkpoint of a run an evaluation job gets: best (by the run's primary metric and its
goal), last, or one by name; verified on disk by SHA-256 before anything is launched."""

from __future__ import annotations

import hashlib
from pathlib import Path

from runyard._paths import confine_relative
from runyard.entities import Run
from runyard.errors import BadRequest, NotFound
from runyard.store.files import CheckpointRecord


def choose(run: Run, records: list[CheckpointRecord], which: str) -> CheckpointRecord:
    if not records:
        raise BadRequest(f"run {run.id} has no checkpoints to evaluate")
    if which == "last":
        return records[-1]
    if which != "best":
        for record in records:
            if record.name == which:
                return record
        names = ", ".join(r.name for r in records[-10:])
        raise NotFound(f"run {run.id} has no checkpoint {which!r} (latest: {names})")
    key = run.primary_metric or next(iter(run.metric_goals), None)
    goal = run.metric_goals.get(key) if key else None
    scored = [r for r in records if key and isinstance(r.metrics.get(key), int | float)]
    if not key or not goal or not scored:
        raise BadRequest(
            f"no 'best' checkpoint: run {run.id} has no primary metric with a goal that its "
            "checkpoints record (pass --checkpoint last or a name)"
        )
    pick = max if goal == "max" else min
    return pick(scored, key=lambda r: float(r.metrics[key]))


def verified_path(run: Run, record: CheckpointRecord) -> Path:
    """The checkpoint's absolute path, if the file is there and matches its SHA-256."""
    path = confine_relative(Path(run.run_dir), record.path)
    if not path.is_file():
        raise BadRequest(f"checkpoint {record.name!r} is missing from the run dir ({path})")
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if digest != record.sha256:
        raise BadRequest(f"checkpoint {record.name!r} is corrupt: its SHA-256 does not match")
    return path
