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
    run_dir: Path, expect: tuple[Expectation, ...], checkpoints: list[CheckpointRecord]
) -> list[dict[str, Any]]:
    """Logs, registered checkpoints, then each expected glob (relative to the run dir)."""
    items = []
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
        items.append(
            _item(
                "checkpoints ready",
                len(present) == len(checkpoints),
                f"{len(present)} of {len(checkpoints)} registered checkpoint(s) on disk",
                "a checkpoint was deleted or never written",
            )
        )
    for exp in expect:
        if exp.glob.startswith("/") or ".." in Path(exp.glob).parts:
            items.append(_item(exp.name, False, "the glob must stay inside the run dir", exp.hint))
            continue
        try:
            files = _matches(run_dir, exp.glob)
        except (OSError, ValueError) as exc:  # a name too long, a pattern pathlib refuses
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            items.append(_item(exp.name, False, f"the glob cannot be used: {why}", exp.hint))
            continue
        big = [p for p in files if p.stat().st_size >= exp.min_bytes]
        ok = len(big) >= exp.min_count
        detail = f"{len(files)} file(s) match {exp.glob}"
        if exp.min_bytes:
            detail += f", {len(big)} of at least {_size(exp.min_bytes)}"
        items.append(_item(exp.name, ok, detail, exp.hint, exp.glob))
    return items
