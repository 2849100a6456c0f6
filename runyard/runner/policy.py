"""Decisions about an ended attempt: its class, whether to retry, when, and from where."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from runyard._paths import relative_to_root
from runyard.entities import AttemptStatus, FailureClass, JobSpec
from runyard.errors import RunyardError
from runyard.runner.backend import Outcome
from runyard.store.files import CheckpointRecord

# Written by the SDK's run.checkpoint, fsynced before it returns (see runyard/sdk/run.py).
LOCAL_CHECKPOINTS = "checkpoints.jsonl"


@dataclass(frozen=True)
class Verdict:
    status: AttemptStatus
    reason: str


def judge(outcome: Outcome) -> Verdict:
    if outcome.cancelled:
        return Verdict(AttemptStatus.CANCELLED, "cancelled")
    if outcome.timed_out:
        return Verdict(AttemptStatus.TIMED_OUT, "timed out")
    if outcome.lost:
        return Verdict(AttemptStatus.LOST, outcome.detail or "the process vanished")
    if outcome.exit_code == 0:
        return Verdict(AttemptStatus.SUCCEEDED, "exited 0")
    if outcome.signal is not None:
        return Verdict(AttemptStatus.FAILED, f"killed by signal {outcome.signal}")
    detail = f": {outcome.detail}" if outcome.detail else ""
    return Verdict(AttemptStatus.FAILED, f"exited {outcome.exit_code}{detail}")


FAILURE_CLASS = {
    AttemptStatus.FAILED: FailureClass.FAILED,
    AttemptStatus.TIMED_OUT: FailureClass.TIMED_OUT,
    AttemptStatus.LOST: FailureClass.LOST,
}


def should_retry(
    spec: JobSpec, status: AttemptStatus, attempt: int, failure: FailureClass | None = None
) -> bool:
    cls = failure or FAILURE_CLASS.get(status)
    return cls is not None and cls in spec.retry_on and attempt <= spec.max_retries


CANNOT_START_CODES = (126, 127)  # the shell's "not executable" and "not found"
_NO_MODULE = re.compile(r"^(?:\w+\.)*(?:ModuleNotFoundError|ImportError): (No module named .+)$")
LOG_TAIL = 8192


def _log_tail(log_path: Path) -> list[str]:
    try:
        with log_path.open("rb") as f:
            f.seek(max(0, log_path.stat().st_size - LOG_TAIL))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


def cannot_start(outcome: Outcome, log_path: Path) -> str | None:
    """Why the program could not start, when that is why it failed: its executable or
    interpreter is missing (exit 127/126) or an import it needs is (\"No module named\").
    Such a failure is a configuration error: retrying it cannot help."""
    if outcome.exit_code in (None, 0) or outcome.signal is not None:
        return None
    lines = [ln for ln in _log_tail(log_path) if not ln.startswith("[runyard]")]
    if outcome.exit_code in CANNOT_START_CODES:
        if outcome.detail:
            return outcome.detail
        return lines[-1] if lines else f"exited {outcome.exit_code}"
    for line in reversed(lines[-3:]):
        m = _NO_MODULE.match(line)
        if m:
            return m.group(1)
    return None


def retry_delay(spec: JobSpec, attempt: int, rng: random.Random | None = None) -> float:
    """retry_delay_s × retry_backoff^(attempt−1), capped, with ±10% jitter."""
    base = spec.retry_delay_s * spec.retry_backoff ** (attempt - 1)
    capped = min(base, spec.retry_max_delay_s)
    return max(0.0, capped * (rng or random).uniform(0.9, 1.1))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resume_checkpoint(
    run_dir: Path, records: list[CheckpointRecord]
) -> tuple[Path | None, list[str]]:
    """The newest registered checkpoint that exists and matches its SHA-256, and why
    newer ones were skipped."""
    skipped = []
    for record in sorted(records, key=lambda r: (r.created_at, r.step or 0), reverse=True):
        path = run_dir / record.path
        if not path.is_file():
            skipped.append(f"checkpoint {record.name!r} is missing ({record.path})")
            continue
        if path.stat().st_size != record.size or sha256_of(path) != record.sha256:
            skipped.append(f"checkpoint {record.name!r} does not match its SHA-256")
            continue
        return path, skipped
    return None, skipped


def local_checkpoints(run_dir: Path) -> list[CheckpointRecord]:
    """Checkpoints the SDK recorded in the run dir, delivered to the server or not.

    An attempt killed right after `run.checkpoint` returned may not have registered it yet;
    its local record is durable, so the next attempt still resumes from it.
    """
    try:
        lines = (run_dir / LOCAL_CHECKPOINTS).read_bytes().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            d = orjson.loads(line)
            records.append(
                CheckpointRecord(
                    name=str(d["name"]),
                    path=relative_to_root(run_dir, str(d["path"])),
                    attempt=d.get("attempt"),
                    step=d.get("step"),
                    epoch=d.get("epoch"),
                    size=int(d["size"]),
                    sha256=str(d["sha256"]),
                    metrics=d.get("metrics") or {},
                    created_at=float(d["created_at"]),
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, RunyardError):
            continue  # a torn last line, or a path that leaves the run dir
    return records
