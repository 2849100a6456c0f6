"""What a dataset's paths say about it: splits, classes, images and their masks, metadata.

A pure function of the relative paths, so that the layout of any stored version can be worked
out again from its manifest alone (validation and transforms do so).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

IMAGE_EXTS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"})
TABLE_EXTS = frozenset({".csv", ".tsv"})
ARRAY_EXTS = frozenset({".npy", ".npz"})
SPLITS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
MASK_DIRS = frozenset(
    {
        "mask",
        "masks",
        "gt",
        "groundtruth",
        "ground_truth",
        "annotations",
        "segmentation",
        "segmentations",
        "labels",
    }
)
MASK_SUFFIXES = ("_mask", "-mask", "_masks", "_seg", "_gt", "_label")
IMAGE_SUFFIXES = ("_image", "-image", "_img", "-img")  # x_img.png pairs with x_mask.png
# Folders that group files without naming a class.
GENERIC_DIRS = frozenset({"images", "image", "imgs", "img", "data", "files", "all", "raw"})
ALL = "all"  # the split (or class) of files that have none


@dataclass(frozen=True, slots=True)
class FileRole:
    path: str
    role: str  # image | mask | metadata | array | other
    split: str | None  # train | val | test
    split_dir: str | None  # the folder name as it was spelled
    label: str | None  # the class, for an image in an ImageFolder layout
    key: str | None  # images and masks with the same (split, key) are a pair


def _strip(stem: str, suffixes: tuple[str, ...]) -> str:
    low = stem.lower()
    for suffix in suffixes:
        if low.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def mask_stem(stem: str) -> str:
    return _strip(stem, MASK_SUFFIXES)


def classify(path: str) -> FileRole:
    p = PurePosixPath(path)
    dirs = list(p.parts[:-1])
    ext = p.suffix.lower()
    split_at = next((i for i, d in enumerate(dirs) if d.lower() in SPLITS), None)
    split = SPLITS[dirs[split_at].lower()] if split_at is not None else None
    split_dir = dirs[split_at] if split_at is not None else None
    lower_dirs = {d.lower() for d in dirs}
    if ext in IMAGE_EXTS:
        is_mask = bool(lower_dirs & MASK_DIRS) or mask_stem(p.stem) != p.stem
        if is_mask:
            return FileRole(path, "mask", split, split_dir, None, mask_stem(p.stem))
        below = dirs[split_at + 1 :] if split_at is not None else dirs
        label = next(
            (d for d in below if d.lower() not in GENERIC_DIRS and d.lower() not in SPLITS), None
        )
        return FileRole(path, "image", split, split_dir, label, _strip(p.stem, IMAGE_SUFFIXES))
    if ext in TABLE_EXTS:
        return FileRole(path, "metadata", split, split_dir, None, None)
    if ext in ARRAY_EXTS:
        return FileRole(path, "array", split, split_dir, None, p.stem)
    return FileRole(path, "other", split, split_dir, None, None)


def classify_all(paths: list[str]) -> list[FileRole]:
    roles = [classify(p) for p in paths]
    labels = {r.label for r in roles if r.role == "image" and r.label is not None}
    if len(labels) < 2:  # one folder of images is a folder, not a class
        roles = [
            FileRole(r.path, r.role, r.split, r.split_dir, None, r.key) if r.label else r
            for r in roles
        ]
    return roles


def counts_of(roles: list[FileRole]) -> dict[str, dict[str, int]]:
    """Images per split and class (``all`` where there is none)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in roles:
        if r.role == "image":
            counts[r.split or ALL][r.label or ALL] += 1
    return {s: dict(sorted(c.items())) for s, c in sorted(counts.items())}


def pairs_of(roles: list[FileRole]) -> tuple[dict[str, str], list[str]]:
    """Image path → mask path, and the masks that have no image."""
    images: dict[tuple[str | None, str], str] = {}
    for r in roles:
        if r.role == "image" and r.key is not None:
            images.setdefault((r.split, r.key), r.path)
    pairs: dict[str, str] = {}
    orphans = []
    for r in roles:
        if r.role != "mask":
            continue
        image = images.get((r.split, r.key or ""))
        if image is None:
            orphans.append(r.path)
        else:
            pairs[image] = r.path
    return pairs, orphans


def describe(paths: list[str]) -> dict[str, Any]:
    """The layout recorded with a version (and shown by `dataset show`)."""
    roles = classify_all(paths)
    splits: dict[str, set[str]] = defaultdict(set)
    for r in roles:
        if r.split and r.split_dir:
            splits[r.split].add(r.split_dir)
    classes = sorted({r.label for r in roles if r.label})
    by_role = Counter(r.role for r in roles)
    pairs, orphans = pairs_of(roles)
    if by_role["mask"]:
        kind = "image-mask"
    elif classes:
        kind = "imagefolder"
    elif by_role["image"]:
        kind = "images"
    else:
        kind = "files"
    return {
        "kind": kind,
        "splits": {s: sorted(d) for s, d in sorted(splits.items())},
        "classes": classes,
        "images": by_role["image"],
        "masks": by_role["mask"],
        "pairs": len(pairs),
        "metadata": sorted(r.path for r in roles if r.role == "metadata"),
        "arrays": by_role["array"],
        "other": by_role["other"],
    }
