"""Validation: each check finds what it is about, with the offending files and a hint."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runyard.datasets.normalise import normalise
from runyard.datasets.objects import sha256_file
from runyard.datasets.validate import ValidationConfig, validate
from runyard.errors import BadRequest
from runyard.store.datasets import FileRecord
from tests.datasets._data import classification, fundus, mask, png, segmentation


def check(folder: Path, **config: Any) -> dict[str, Any]:
    tree = normalise(folder, folder.parent / "work", owned=False)
    where: dict[str, Path] = {}
    files = []
    for source in tree.files:
        sha, size = sha256_file(source.file)
        where[sha] = source.file
        files.append(FileRecord(source.path, size, sha))
    return validate(files, where.__getitem__, ValidationConfig(**config))


def issue(report: dict[str, Any], check: str, level: str = "errors") -> dict[str, Any]:
    found = [i for i in report[level] if i["check"] == check]
    assert found, f"no {check} in {level}: {report[level]}"
    return found[0]


def checks(report: dict[str, Any], level: str) -> set[str]:
    return {i["check"] for i in report[level]}


def test_a_clean_dataset_is_ok(tmp_path: Path) -> None:
    report = check(classification(tmp_path / "d"))
    assert report["status"] == "ok", report
    assert report["counts"] == {"test": {"cat": 3, "dog": 3}, "train": {"cat": 3, "dog": 3}}
    assert report["checked"]["images"] == 12 and report["checked"]["sizes"] == {"32x32": 12}


def test_a_patient_in_two_splits_is_a_leak_found_through_the_metadata(tmp_path: Path) -> None:
    report = check(segmentation(tmp_path / "d"))
    leak = issue(report, "leakage")
    assert report["leaked_ids"] == ["P001"] and leak["ids"] == ["P001"]
    assert "TEST/images/P001_b.png" in leak["files"][0]
    assert "train/images/P001_a.png" in leak["files"][0]
    assert "GroupShuffleSplit" in leak["hint"]
    empty = issue(report, "metadata-empty")
    assert empty["files"] == ["metadata.csv:4 (column 'age')"]
    assert report["status"] == "errors"


def test_a_leak_found_through_a_file_name_pattern(tmp_path: Path) -> None:
    root = tmp_path / "d"
    png(root / "train" / "subj-07_scan1.png", fundus(1))
    png(root / "train" / "subj-08_scan1.png", fundus(2))
    png(root / "test" / "subj-07_scan2.png", fundus(3))
    assert check(root)["leaked_ids"] == []  # nothing says who is who
    report = check(root, id_pattern=r"^subj-(?P<id>\d+)_")
    assert report["leaked_ids"] == ["07"]


def test_the_id_column_can_be_named_and_must_exist(tmp_path: Path) -> None:
    root = segmentation(tmp_path / "d")
    report = check(root, id_column="age")  # a silly choice: ages repeat across splits? no
    assert report["leaked_ids"] == []
    missing = check(root, id_column="mrn")
    assert "mrn" in issue(missing, "metadata-columns")["message"]


def test_identical_content_in_two_splits_is_an_error(tmp_path: Path) -> None:
    root = classification(tmp_path / "d")
    shutil.copyfile(root / "train" / "cat" / "cat0.png", root / "test" / "cat" / "copy.png")
    found = issue(check(root), "duplicate-content")
    assert found["files"] == ["test/cat/copy.png = train/cat/cat0.png"]


def test_an_empty_split_and_files_in_two_splits(tmp_path: Path) -> None:
    root = classification(tmp_path / "d")
    (root / "val").mkdir()
    (root / "val" / "labels.csv").write_text("filename,label\n")
    png(root / "train" / "test" / "odd.png", fundus(55, 32))
    report = check(root)
    assert issue(report, "empty-split")["files"] == ["val/labels.csv"]
    assert issue(report, "split-nested")["files"] == ["train/test/odd.png"]


def test_unreadable_images_are_errors(tmp_path: Path) -> None:
    root = classification(tmp_path / "d")
    path = root / "train" / "cat" / "cat1.png"
    path.write_bytes(path.read_bytes()[:60])
    (root / "train" / "dog" / "notes.png").write_text("not an image")
    broken = issue(check(root), "unreadable")
    assert broken["count"] == 2
    assert {f.split(":")[0] for f in broken["files"]} == {
        "train/cat/cat1.png",
        "train/dog/notes.png",
    }


def test_expected_size_channels_and_pixel_range(tmp_path: Path) -> None:
    root = classification(tmp_path / "d")
    png(root / "train" / "cat" / "big.png", fundus(9, 40))
    png(root / "train" / "dog" / "grey.png", np.full((32, 32), 7, dtype=np.uint8))
    loose = check(root)
    assert issue(loose, "mixed-sizes", "warnings")["files"] == ["train/cat/big.png (40x40)"]
    assert issue(loose, "mixed-channels", "warnings")["files"] == ["train/dog/grey.png (L)"]
    assert issue(loose, "constant-image", "warnings")["files"] == ["train/dog/grey.png (all 7)"]
    strict = check(root, image_size=(32, 32), channels=3, pixel_range=(10, 200))
    assert issue(strict, "image-size")["files"] == ["train/cat/big.png"]
    assert issue(strict, "channels")["files"] == ["train/dog/grey.png (L)"]
    assert issue(strict, "pixel-range")["count"] == 14  # dark backgrounds go below 10


def test_masks_must_be_binary_the_size_of_their_image_and_have_one(tmp_path: Path) -> None:
    root = tmp_path / "d"
    png(root / "train" / "images" / "a.png", fundus(1))
    png(root / "train" / "masks" / "a.png", mask(1, 40))  # wrong size
    png(root / "train" / "images" / "b.png", fundus(2))
    png(root / "train" / "masks" / "b.png", np.arange(48 * 48, dtype=np.uint8).reshape(48, 48))
    png(root / "train" / "images" / "c.png", fundus(3))  # no mask
    png(root / "train" / "masks" / "zz.png", mask(4))  # no image
    report = check(root)
    assert issue(report, "mask-size")["files"] == ["train/masks/a.png (40x40 vs 48x48)"]
    assert issue(report, "mask-not-binary")["files"] == ["train/masks/b.png (>16 values)"]
    assert issue(report, "mask-missing", "warnings")["files"] == ["train/images/c.png"]
    assert issue(report, "mask-orphan", "warnings")["files"] == ["train/masks/zz.png"]
    assert "mask-not-binary" not in checks(check(root, binary_masks=False), "errors")


def test_metadata_required_columns_and_ragged_rows(tmp_path: Path) -> None:
    root = classification(tmp_path / "d")
    (root / "meta.csv").write_text(
        'filename,label\ncat0.png,cat\n"dog0.png",dog,extra\nmissing.png,cat\n'
    )
    report = check(root, required_columns=("filename", "label", "age"))
    assert "age" in issue(report, "metadata-columns")["message"]
    assert issue(report, "metadata-rows")["files"] == ["meta.csv:3 (3 cells, header has 2)"]
    missing = issue(report, "metadata-missing-file", "warnings")
    assert missing["files"] == ["meta.csv:4 (missing.png)"]
    assert issue(report, "metadata-incomplete", "warnings")["count"] > 0


def test_a_csv_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    root = classification(tmp_path / "d")
    (root / "meta.csv").write_bytes(b"name,age\n\xff\xfe\xfa,3\n")
    assert "UTF-8" in issue(check(root), "metadata-unreadable")["message"]


def test_listed_files_are_capped_but_counted(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for i in range(30):
        png(root / "train" / f"{i:02}.png", np.full((8, 8), 3, dtype=np.uint8))
    flat = issue(check(root, max_listed=5), "constant-image", "warnings")
    assert len(flat["files"]) == 5 and flat["count"] == 30


def test_a_bad_id_pattern_is_a_bad_request(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="not a valid regex"):
        check(classification(tmp_path / "d"), id_pattern="(")
