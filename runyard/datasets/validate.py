"""Checks of a version: structure and counts, images and masks, metadata, leakage between splits.

The report lists errors (the data is wrong for training: a patient in two splits, a broken
image) and warnings (worth a look: mixed sizes, a class missing from a split), each with the
offending files (the first ``max_listed``) and a hint. It is JSON, stored with the version.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from runyard.datasets import _image_checks, _table_checks
from runyard.datasets.layout import FileRole, classify_all, counts_of
from runyard.store.datasets import FileRecord


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    image_size: tuple[int, int] | None = None  # (width, height) every image must have
    channels: int | None = None  # 1 grey, 3 RGB, 4 RGBA
    pixel_range: tuple[float, float] | None = None  # the values pixels must stay within
    binary_masks: bool = True
    required_columns: tuple[str, ...] = ()
    id_column: str | None = None  # subject/patient id column; guessed when None
    id_pattern: str | None = None  # regex on file names; its group "id" (or 1) is the subject
    max_listed: int = 20
    threads: int = 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    config: ValidationConfig
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, level: str, check: str, message: str, files: Sequence[str], hint: str, **extra: Any
    ) -> None:
        issue = {
            "check": check,
            "message": message,
            "files": list(files[: self.config.max_listed]),
            "count": len(files),
            "hint": hint,
            **extra,
        }
        (self.errors if level == "error" else self.warnings).append(issue)

    def error(self, check: str, message: str, files: Sequence[str], hint: str, **kw: Any) -> None:
        self.add("error", check, message, files, hint, **kw)

    def warn(self, check: str, message: str, files: Sequence[str], hint: str, **kw: Any) -> None:
        self.add("warning", check, message, files, hint, **kw)


def _structure(report: Report, roles: list[FileRole], counts: dict[str, dict[str, int]]) -> None:
    images = [r for r in roles if r.role == "image"]
    if not images:
        report.warn("structure", "no images found", [], "runyard checks images (.png, .jpg, …)")
        return
    splits = {r.split for r in roles if r.split}
    if not splits:
        return
    for split in sorted(splits):
        if not counts.get(split):
            files = [r.path for r in roles if r.split == split]
            report.error(
                "empty-split",
                f"split {split!r} holds no images",
                files,
                "add its images, or remove the empty split folder",
            )
    stray = [r.path for r in images if r.split is None]
    if stray:
        report.warn(
            "split-stray",
            f"{len(stray)} images are outside the split folders",
            stray,
            "move them into train/val/test or they will be used by none",
        )
    nested = [r.path for r in roles if sum(d.lower() in _SPLIT_WORDS for d in _dirs(r)) > 1]
    if nested:
        report.error(
            "split-nested",
            f"{len(nested)} files sit in two split folders at once",
            nested,
            "a file belongs to exactly one split",
        )
    classes = {c for per in counts.values() for c in per} - {"all"}
    for split, per in sorted(counts.items()):
        missing = sorted(classes - set(per)) if split != "all" else []
        if missing:
            report.warn(
                "class-missing",
                f"split {split!r} has no images of class(es) {', '.join(missing)}",
                [],
                "its metrics will say nothing about those classes",
                split=split,
                classes=missing,
            )


_SPLIT_WORDS = frozenset({"train", "training", "val", "valid", "validation", "test", "testing"})


def _dirs(role: FileRole) -> tuple[str, ...]:
    return PurePosixPath(role.path).parts[:-1]


def _duplicates(report: Report, roles: list[FileRole], files: Sequence[FileRecord]) -> None:
    sha = {f.path: f.sha256 for f in files}
    by_hash: dict[str, list[FileRole]] = defaultdict(list)
    for r in roles:
        if r.split and r.role in ("image", "mask", "array", "other"):
            by_hash[sha[r.path]].append(r)
    across: list[str] = []
    within: list[str] = []
    for group in by_hash.values():
        if len(group) < 2:
            continue
        listed = " = ".join(r.path for r in group)
        (across if len({r.split for r in group}) > 1 else within).append(listed)
    if across:
        report.error(
            "duplicate-content",
            f"{len(across)} files have identical content in two splits",
            across,
            "the model is tested on what it trained on: keep each file in one split",
        )
    if within:
        report.warn(
            "duplicate-within-split",
            f"{len(within)} groups of identical files within a split",
            within,
            "duplicates weigh those samples twice",
        )


def validate(
    files: Sequence[FileRecord],
    locate: Callable[[str], Path],
    config: ValidationConfig,
) -> dict[str, Any]:
    """The report of a version whose file with hash ``h`` is at ``locate(h)``."""
    started = time.monotonic()
    report = Report(config)
    roles = classify_all([f.path for f in files])
    counts = counts_of(roles)
    by_path = {f.path: locate(f.sha256) for f in files}
    _structure(report, roles, counts)
    _duplicates(report, roles, files)
    with ThreadPoolExecutor(max(1, config.threads)) as pool:
        stats = _image_checks.check_images(report, roles, by_path, config, pool)
    leaked = _table_checks.check_tables(report, roles, by_path, config)
    status = "errors" if report.errors else "warnings" if report.warnings else "ok"
    return {
        "status": status,
        "errors": report.errors,
        "warnings": report.warnings,
        "counts": counts,
        "leaked_ids": leaked,
        "checked": {"files": len(files), **stats},
        "config": config.to_dict(),
        "checked_at": time.time(),
        "duration_s": round(time.monotonic() - started, 3),
    }


def summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a version list shows of its report."""
    if report is None:
        return None
    return {
        "status": report["status"],
        "errors": len(report["errors"]),
        "warnings": len(report["warnings"]),
    }
