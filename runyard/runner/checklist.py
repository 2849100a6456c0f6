"""Expected outputs checked into a checklist: one function for the API and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runyard.entities import Expectation
from runyard.store.files import CheckpointRecord


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _item(name: str, ok: bool, detail: str, hint: str, glob: str | None = None) -> dict[str, Any]:
    return {"name": name, "status": "PASS" if ok else "FAIL", "detail": detail, "hint": hint,
            "glob": glob}  # fmt: skip


def _matches(run_dir: Path, pattern: str) -> list[Path]:
    """Regular files matching `pattern` that stay inside the run dir once links are resolved."""
    root = run_dir.resolve()
    return [
        p for p in sorted(run_dir.glob(pattern)) if p.is_file() and p.resolve().is_relative_to(root)
    ]


def evaluate(
    run_dir: Path,
    expect: tuple[Expectation, ...],
    checkpoints: list[CheckpointRecord],
    *,
    cwd: Path | None = None,
    job: bool = True,
) -> list[dict[str, Any]]:
    """Logs (for a job), registered checkpoints, then each expected glob, looked up in the
    run dir and in the job's working directory.

    A run the SDK recorded on its own (not a job) has no log of ours, and its checkpoints
    may live where its script ran (a synced offline run: on a laptop): those count as
    recorded elsewhere, by the records they carry, not as missing.
    """
    items = []
    if job:
        logs = [p for p in sorted((run_dir / "logs").glob("attempt-*.log")) if p.stat().st_size]
        items.append(
            _item(
                "logs ready",
                bool(logs),
                f"{len(logs)} attempt log(s), {_size(sum(p.stat().st_size for p in logs))}",
                "the program printed nothing: check that it started",
            )
        )
    if checkpoints:
        present = [c for c in checkpoints if (run_dir / c.path).is_file()]
        detail = f"{len(present)} of {len(checkpoints)} registered checkpoint(s) on disk"
        elsewhere = len(checkpoints) - len(present)
        if not job and elsewhere:
            detail = (
                f"{len(present)} on this server, {elsewhere} recorded elsewhere "
                "(where the script ran), with size and SHA-256"
            )
        items.append(
            _item(
                "checkpoints ready",
                len(present) == len(checkpoints) or not job,
                detail,
                "a checkpoint was deleted or never written",
            )
        )
    roots = [run_dir] + ([cwd] if cwd is not None and cwd != run_dir else [])
    where = " and ".join(str(r) for r in roots)
    for exp in expect:
        if exp.glob.startswith("/") or ".." in Path(exp.glob).parts:
            items.append(
                _item(
                    exp.name,
                    False,
                    f"the glob {exp.glob} must stay inside {where}",
                    exp.hint,
                )
            )
            continue
        try:
            files = list(dict.fromkeys(p for root in roots for p in _matches(root, exp.glob)))
        except (OSError, ValueError) as exc:  # a name too long, a pattern pathlib refuses
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            items.append(_item(exp.name, False, f"the glob cannot be used: {why}", exp.hint))
            continue
        big = [p for p in files if p.stat().st_size >= exp.min_bytes]
        ok = len(big) >= exp.min_count
        detail = f"{len(files)} file(s) match {exp.glob}"
        if exp.min_bytes:
            detail += f", {len(big)} of at least {_size(exp.min_bytes)}"
        if not ok:
            detail += f" (looked in {where})"
        items.append(_item(exp.name, ok, detail, exp.hint, exp.glob))
    return items
