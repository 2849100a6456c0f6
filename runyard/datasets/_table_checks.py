"""Metadata checks (required columns, empty cells) and subject leakage between splits.

A subject (patient) id comes from a metadata column or from a regex over file names; the split
of a metadata row from its own `split` column, the split folder the CSV sits in, or the split
of the file the row names. One subject in two splits is the classic silent leak.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from runyard.datasets.layout import SPLITS, FileRole
from runyard.errors import BadRequest

if TYPE_CHECKING:
    from runyard.datasets.validate import Report, ValidationConfig

ID_COLUMNS = (
    "patient_id",
    "patientid",
    "patient",
    "subject_id",
    "subjectid",
    "subject",
    "participant_id",
    "participant",
    "case_id",
    "individual_id",
)
FILE_COLUMNS = ("filename", "file_name", "file", "image", "image_id", "image_name", "path", "img")
SPLIT_COLUMNS = ("split", "subset", "set", "partition")
MAX_CELL = 1 << 20


def compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise BadRequest(f"id pattern {pattern!r} is not a valid regex: {exc}") from None


def subject_of(regex: re.Pattern[str], name: str) -> str | None:
    m = regex.search(name)
    if m is None:
        return None
    if "id" in regex.groupindex:
        return m.group("id")
    return m.group(1) if regex.groups else m.group(0)


def _rows(file: Path, delimiter: str) -> Iterator[list[str]]:
    csv.field_size_limit(MAX_CELL)
    with open(file, newline="", encoding="utf-8-sig") as f:
        yield from csv.reader(f, delimiter=delimiter)


def _pick(header: list[str], wanted: tuple[str, ...]) -> int | None:
    lower = [h.strip().lower() for h in header]
    return next((lower.index(w) for w in wanted if w in lower), None)


class _Files:
    """Finds the file a metadata cell names: by path, path beside the CSV, name or stem."""

    def __init__(self, roles: list[FileRole]):
        self.by_path = {r.path: r for r in roles}
        self.by_name: dict[str, list[FileRole]] = defaultdict(list)
        for r in roles:
            if r.role in ("image", "array"):
                p = PurePosixPath(r.path)
                self.by_name[p.name].append(r)
                self.by_name[p.stem].append(r)

    def find(self, cell: str, table: str) -> list[FileRole]:
        cell = cell.strip().replace("\\", "/")
        beside = str(PurePosixPath(table).parent / cell)
        for key in (cell, beside):
            if key in self.by_path:
                return [self.by_path[key]]
        return self.by_name.get(PurePosixPath(cell).name, [])


def check_tables(
    report: Report, roles: list[FileRole], by_path: dict[str, Path], config: ValidationConfig
) -> list[str]:
    """Check every CSV/TSV; return the subject ids found in more than one split."""
    subjects: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    regex = compile_pattern(config.id_pattern)
    if regex is not None:
        for r in roles:
            if r.role in ("image", "array") and r.split:
                sid = subject_of(regex, PurePosixPath(r.path).name)
                if sid is not None:
                    subjects[sid][r.split].add(r.path)
    files = _Files(roles)
    referenced: set[str] = set()
    id_column_seen = False
    tables = [r for r in roles if r.role == "metadata"]
    for table in tables:
        found = _check_table(report, table, by_path[table.path], config, files, subjects)
        if found is not None:
            referenced |= found[0]
            id_column_seen |= found[1]
    if tables and config.id_column and not id_column_seen:
        report.error(
            "metadata-columns",
            f"no metadata table has the id column {config.id_column!r}",
            [t.path for t in tables],
            "name the column that holds the subject/patient id",
        )
    if referenced:
        unlisted = [r.path for r in roles if r.role == "image" and r.path not in referenced]
        if unlisted:
            report.warn(
                "metadata-incomplete",
                f"{len(unlisted)} images have no row in the metadata",
                unlisted,
                "add their rows, or they train without labels/metadata",
            )
    return _leaks(report, subjects)


def _check_table(
    report: Report,
    table: FileRole,
    file: Path,
    config: ValidationConfig,
    files: _Files,
    subjects: dict[str, dict[str, set[str]]],
) -> tuple[set[str], bool] | None:
    delimiter = "\t" if table.path.lower().endswith(".tsv") else ","
    ragged: list[str] = []
    empty: list[str] = []
    missing_files: list[str] = []
    referenced: set[str] = set()
    try:
        rows = _rows(file, delimiter)
        header = next(rows, [])
        if not any(h.strip() for h in header):
            report.error("metadata-empty", f"{table.path} has no header", [table.path], "")
            return None
        names = [h.strip() for h in header]
        absent = [c for c in config.required_columns if c not in names]
        if absent:
            report.error(
                "metadata-columns",
                f"{table.path} lacks column(s) {', '.join(absent)}",
                [table.path],
                f"it has: {', '.join(names)}",
            )
        id_col = (
            names.index(config.id_column)
            if config.id_column in names
            else (None if config.id_column else _pick(names, ID_COLUMNS))
        )
        file_col, split_col = _pick(names, FILE_COLUMNS), _pick(names, SPLIT_COLUMNS)
        for line, row in enumerate(rows, start=2):
            if not any(c.strip() for c in row):
                continue  # a blank line
            if len(row) != len(names):
                ragged.append(f"{table.path}:{line} ({len(row)} cells, header has {len(names)})")
                continue
            empty.extend(
                f"{table.path}:{line} (column {names[i]!r})"
                for i, cell in enumerate(row)
                if not cell.strip()
            )
            found = files.find(row[file_col], table.path) if file_col is not None else []
            if file_col is not None and row[file_col].strip() and not found:
                missing_files.append(f"{table.path}:{line} ({row[file_col].strip()})")
            referenced.update(r.path for r in found)
            if id_col is not None and row[id_col].strip():
                split = _row_split(row, split_col, table, found)
                if split is not None:
                    where = found[0].path if found else f"{table.path}:{line}"
                    subjects[row[id_col].strip()][split].add(where)
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        report.error(
            "metadata-unreadable",
            f"{table.path} cannot be read as UTF-8 CSV: {exc}",
            [table.path],
            "save it as UTF-8 CSV",
        )
        return None
    if ragged:
        report.error(
            "metadata-rows",
            f"{len(ragged)} rows of {table.path} have the wrong number of cells",
            ragged,
            "quote cells that hold the delimiter",
        )
    if empty:
        report.error(
            "metadata-empty",
            f"{len(empty)} empty cells in {table.path}",
            empty,
            "fill them in, or drop the rows",
        )
    if missing_files:
        report.warn(
            "metadata-missing-file",
            f"{len(missing_files)} rows of {table.path} name files the dataset lacks",
            missing_files,
            "",
        )
    return referenced, id_col is not None


def _row_split(
    row: list[str], split_col: int | None, table: FileRole, found: list[FileRole]
) -> str | None:
    if split_col is not None:
        word = row[split_col].strip().lower()
        if word in SPLITS:
            return SPLITS[word]
    if table.split is not None:
        return table.split
    return found[0].split if found else None


def _leaks(report: Report, subjects: dict[str, dict[str, set[str]]]) -> list[str]:
    leaked = sorted(s for s, splits in subjects.items() if len(splits) > 1)
    if leaked:
        examples = [
            f"{sid}: "
            + "; ".join(
                f"{split} ({', '.join(sorted(paths)[:3])})"
                for split, paths in sorted(subjects[sid].items())
            )
            for sid in leaked
        ]
        report.error(
            "leakage",
            f"{len(leaked)} subject(s) appear in more than one split",
            examples,
            "split by subject (e.g. scikit-learn's GroupShuffleSplit), not by file, "
            "or the test score measures memory",
            ids=leaked[: report.config.max_listed],
        )
    return leaked
