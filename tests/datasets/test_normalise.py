"""Normalising a folder: wrapping folders stripped unless meaningful, junk dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard.datasets.normalise import normalise
from runyard.errors import BadRequest


def _tree(root: Path, *paths: str) -> Path:
    for p in paths:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        (root / p).write_bytes(p.encode())
    return root


def test_nested_wrappers_are_stripped(tmp_path: Path) -> None:
    src = _tree(tmp_path / "s", "Data/v2/train/a.png", "Data/v2/test/b.png", "__MACOSX/._x")
    tree = normalise(src, tmp_path / "w", owned=False)
    assert [f.path for f in tree.files] == ["test/b.png", "train/a.png"]
    assert tree.wrapper == "Data/v2" and tree.ignored == 1
    assert all(not f.owned for f in tree.files)


@pytest.mark.parametrize("top", ["train", "Validation", "masks"])
def test_a_meaningful_single_folder_is_kept(tmp_path: Path, top: str) -> None:
    src = _tree(tmp_path / "s", f"{top}/a.png", f"{top}/b.png")
    tree = normalise(src, tmp_path / "w", owned=True)
    assert [f.path for f in tree.files] == [f"{top}/a.png", f"{top}/b.png"]
    assert tree.wrapper is None and all(f.owned for f in tree.files)


def test_junk_files_are_dropped(tmp_path: Path) -> None:
    src = _tree(tmp_path / "s", "a.png", ".DS_Store", "Thumbs.db", "._a.png", ".git/config")
    tree = normalise(src, tmp_path / "w", owned=False)
    assert [f.path for f in tree.files] == ["a.png"] and tree.ignored == 4


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    with pytest.raises(BadRequest, match="holds no files"):
        normalise(tmp_path / "s", tmp_path / "w", owned=False)
    with pytest.raises(BadRequest, match="not a folder"):
        normalise(tmp_path / "missing", tmp_path / "w", owned=False)
