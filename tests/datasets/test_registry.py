"""Registering versions: layout, manifest, content-derived ids, one copy per distinct file."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from runyard.config import Settings
from runyard.datasets.registry import Registry
from runyard.datasets.unpack import UnsafeArchive
from runyard.errors import BadRequest, NotFound
from runyard.store import Store
from tests.datasets._archives import Member, write_tar, write_zip
from tests.datasets._data import classification, fundus, png, segmentation


@pytest.fixture
def registry(store: Store, settings: Settings) -> Registry:
    return Registry(store, settings)


def _objects(settings: Settings) -> list[Path]:
    root = settings.datasets_dir / "objects"
    return [Path(d, f) for d, _, files in os.walk(root) for f in files]


def test_a_folder_is_normalised_and_its_layout_recorded(
    registry: Registry, tmp_path: Path, store: Store
) -> None:
    src = segmentation(tmp_path / "src")
    done = registry.add_folder("retina", src, description="fundus photos")
    v = done.version
    assert done.created and len(v.version) == 12
    assert v.layout["kind"] == "image-mask"
    assert v.layout["wrapper"] == "RetinaSet"
    assert v.layout["splits"] == {"test": ["TEST"], "train": ["train"], "val": ["Valid"]}
    assert v.layout["pairs"] == 6 and v.layout["metadata"] == ["metadata.csv"]
    assert v.layout["ignored"] == 1  # .DS_Store
    assert v.counts == {"test": {"all": 2}, "train": {"all": 3}, "val": {"all": 1}}
    files = store.datasets.files(v.id)
    assert v.file_count == len(files) == 13
    wanted = src / "RetinaSet" / "train" / "images" / "P001_a.png"
    entry = next(f for f in files if f.path == "train/images/P001_a.png")
    assert entry.sha256 == hashlib.sha256(wanted.read_bytes()).hexdigest()
    assert entry.size == wanted.stat().st_size
    assert (done.path / "train" / "images" / "P001_a.png").read_bytes() == wanted.read_bytes()
    assert v.validation is not None and v.validation["status"] == "errors"  # checked on register
    assert store.datasets.get("retina").description == "fundus photos"


def test_the_same_content_is_the_same_version_whatever_its_wrapping(
    registry: Registry, tmp_path: Path, store: Store
) -> None:
    src = classification(tmp_path / "src")
    first = registry.add_folder("pets", src)
    again = registry.add_folder("pets", src)
    assert not again.created and again.version.version == first.version.version
    # The same files in a zip, inside a wrapping folder: the same manifest, the same version.
    members = [
        Member(f"pets-v1/{p.relative_to(src).as_posix()}", p.read_bytes())
        for p in sorted(src.rglob("*.png"))
    ]
    archive = write_zip(tmp_path / "pets.zip", members)
    zipped = registry.add_archive("pets", archive)
    assert not zipped.created and zipped.version.version == first.version.version
    assert [v.version for v in store.datasets.versions("pets")] == [first.version.version]


def test_identical_files_are_stored_once_and_linked_into_each_version(
    registry: Registry, tmp_path: Path, settings: Settings
) -> None:
    src = classification(tmp_path / "src")
    v1 = registry.add_folder("pets", src)
    png(src / "train" / "cat" / "cat0.png", fundus(999, 32))  # one file changes
    v2 = registry.add_folder("pets", src)
    assert v2.created and v2.version.version != v1.version.version
    assert len(_objects(settings)) == 12 + 1  # 12 files, one of them in two versions
    same_a = v1.path / "train" / "dog" / "dog1.png"
    same_b = v2.path / "train" / "dog" / "dog1.png"
    assert os.stat(same_a).st_ino == os.stat(same_b).st_ino  # hard links to one object
    assert not os.stat(same_a).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_a_version_does_not_change_when_its_source_does(
    registry: Registry, tmp_path: Path, store: Store
) -> None:
    src = classification(tmp_path / "src")
    v1 = registry.add_folder("pets", src)
    before = (v1.path / "train" / "cat" / "cat0.png").read_bytes()
    png(src / "train" / "cat" / "cat0.png", fundus(4242, 32))
    assert (v1.path / "train" / "cat" / "cat0.png").read_bytes() == before
    assert store.datasets.version("pets", v1.version.version).manifest_sha256 == (
        v1.version.manifest_sha256
    )


def test_a_refused_archive_leaves_nothing_behind(
    registry: Registry, tmp_path: Path, settings: Settings, store: Store
) -> None:
    archive = write_tar(
        tmp_path / "evil.tar.gz", [Member("ok.png", b"x"), Member("../../evil", b"x")], "w:gz"
    )
    with pytest.raises(UnsafeArchive):
        registry.add_archive("evil", archive)
    assert os.listdir(settings.datasets_dir / "tmp") == []
    assert _objects(settings) == []
    with pytest.raises(NotFound):
        store.datasets.get("evil")


def test_an_unknown_archive_type_and_a_bad_name_are_refused(
    registry: Registry, tmp_path: Path
) -> None:
    path = tmp_path / "data.rar"
    path.write_bytes(b"Rar!")
    with pytest.raises(BadRequest, match="not an archive"):
        registry.add_archive("x", path)
    with pytest.raises(BadRequest, match="dataset name"):
        registry.add_folder("../up", tmp_path)


def test_mat_files_become_images_and_arrays(
    registry: Registry, tmp_path: Path, store: Store
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    image = fundus(3)
    seg = np.zeros((48, 48), dtype=bool)
    seg[10:20, 10:20] = True
    field = np.linspace(0, 1, 48 * 48).reshape(48, 48)
    scipy.io.savemat(src / "scan01.mat", {"image": image, "mask": seg, "field": field})
    scipy.io.savemat(src / "single.mat", {"x": np.arange(10, dtype=np.int16)})
    done = registry.add_folder("mats", src)
    paths = [f.path for f in store.datasets.files(done.version.id)]
    assert paths == ["scan01_field.npy", "scan01_image.png", "scan01_mask.png", "single.npy"]
    assert done.version.layout["converted"] == [
        {"from": "scan01.mat", "to": ["scan01_field.npy", "scan01_image.png", "scan01_mask.png"]},
        {"from": "single.mat", "to": ["single.npy"]},
    ]
    assert np.array_equal(np.asarray(Image.open(done.path / "scan01_image.png")), image)
    assert np.array_equal(np.asarray(Image.open(done.path / "scan01_mask.png")), seg)
    assert np.array_equal(np.load(done.path / "scan01_field.npy"), field)
    assert done.version.layout["masks"] == 1 and done.version.layout["pairs"] == 1
    assert (src / "scan01.mat").exists()  # the source is left as it was


def test_an_unreadable_mat_file_is_kept_as_it_is(registry: Registry, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.mat").write_bytes(b"MATLAB 7.3 MAT-file" + bytes(200))
    done = registry.add_folder("mats", src)
    (note,) = done.version.layout["converted"]
    assert note["from"] == "broken.mat" and note["kept"] is True and note["to"] == []
    assert (done.path / "broken.mat").exists()


def test_links_out_of_a_folder_are_refused(registry: Registry, tmp_path: Path) -> None:
    src = classification(tmp_path / "src")
    secret = tmp_path / "secret.txt"
    secret.write_text("keys")
    (src / "train" / "cat" / "leak.txt").symlink_to(secret)
    with pytest.raises(BadRequest, match="links outside"):
        registry.add_folder("pets", src)


def test_a_copied_dataset_goes_through_the_store_tmp_only(
    registry: Registry, tmp_path: Path, settings: Settings
) -> None:
    src = classification(tmp_path / "src")
    registry.add_folder("pets", src)
    assert os.listdir(settings.datasets_dir / "tmp") == []
    shutil.rmtree(src)  # the version does not need its source any more
    assert len(_objects(settings)) == 12
