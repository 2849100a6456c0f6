"""Transforms: parsed steps, CLAHE on one channel, centre crop, resize; masks stay binary;
what no step changed keeps its bytes; a new version records its lineage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import exposure

from runyard.config import Settings
from runyard.datasets.registry import Registry
from runyard.datasets.transforms import describe_steps, parse_steps, transform_file
from runyard.errors import BadRequest
from runyard.store import Store
from tests.datasets._data import fundus, mask, png, segmentation


def test_steps_parse_with_defaults_and_extra_arguments() -> None:
    steps = parse_steps("clahe:channel=green,crop:margin=0.1,resize:512")
    assert steps == [
        {"op": "clahe", "channel": "green", "clip": 0.01},
        {"op": "crop", "margin": 0.1},
        {"op": "resize", "size": [512, 512]},
    ]
    assert parse_steps("clahe:channel=red,clip=0.02, resize:640x480") == [
        {"op": "clahe", "channel": "red", "clip": 0.02},
        {"op": "resize", "size": [640, 480]},
    ]
    assert parse_steps("crop") == [{"op": "crop", "margin": 0.1}]
    assert (
        describe_steps(steps) == "clahe:channel=green:clip=0.01,crop:margin=0.1,resize:size=512x512"
    )
    assert parse_steps(describe_steps(steps)) == steps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no transform steps"),
        ("blur:3", "unknown transform"),
        ("crop:margin=0.7", "margin must be within"),
        ("crop:margin=lots", "not a number"),
        ("resize", "needs a size"),
        ("resize:0", "sides must be"),
        ("resize:big", "must be N or WxH"),
        ("clahe:channel=purple", "channel must be one of"),
        ("clahe:wobble=1", "unexpected argument"),
    ],
)
def test_bad_steps_are_bad_requests(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_steps(text)


def test_clahe_equalises_the_green_channel_only(tmp_path: Path) -> None:
    src = png(tmp_path / "a.png", fundus(1, 64))
    assert transform_file(src, tmp_path / "out.png", parse_steps("clahe"), is_mask=False)
    with Image.open(tmp_path / "out.png") as img:
        assert img.format == "PNG" and img.mode == "RGB"
        out = np.asarray(img)
    before = fundus(1, 64)
    assert np.array_equal(out[:, :, 0], before[:, :, 0])
    assert np.array_equal(out[:, :, 2], before[:, :, 2])
    expected = exposure.equalize_adapthist(before[:, :, 1] / 255.0, clip_limit=0.01)
    assert np.array_equal(out[:, :, 1], np.round(expected * 255).astype(np.uint8))
    assert not np.array_equal(out[:, :, 1], before[:, :, 1])


def test_crop_keeps_the_centred_square_less_its_margin(tmp_path: Path) -> None:
    wide = np.random.default_rng(0).integers(0, 255, (50, 80, 3), dtype=np.uint8)
    src = png(tmp_path / "wide.png", wide)
    assert transform_file(src, tmp_path / "out.png", parse_steps("crop:margin=0.1"), False)
    out = np.asarray(Image.open(tmp_path / "out.png"))
    assert out.shape == (40, 40, 3)
    assert np.array_equal(out, wide[5:45, 20:60])


def test_resize_keeps_masks_binary_and_images_in_their_format(tmp_path: Path) -> None:
    m = png(tmp_path / "m.png", mask(1, 48))
    assert transform_file(m, tmp_path / "m2.png", parse_steps("resize:20x30"), is_mask=True)
    small = np.asarray(Image.open(tmp_path / "m2.png"))
    assert small.shape == (30, 20) and set(np.unique(small)) <= {0, 255}
    jpg = tmp_path / "a.jpg"
    Image.fromarray(fundus(2)).save(jpg, format="JPEG")
    assert transform_file(jpg, tmp_path / "b.jpg", parse_steps("resize:24"), is_mask=False)
    with Image.open(tmp_path / "b.jpg") as img:
        assert img.format == "JPEG" and img.size == (24, 24)


def test_nothing_is_rewritten_when_no_pixel_changes(tmp_path: Path) -> None:
    src = png(tmp_path / "a.png", fundus(1, 48))
    assert not transform_file(src, tmp_path / "out.png", parse_steps("resize:48"), False)
    assert not (tmp_path / "out.png").exists()
    m = png(tmp_path / "m.png", mask(1))
    assert not transform_file(m, tmp_path / "m2.png", parse_steps("clahe"), is_mask=True)


def test_a_transform_makes_a_new_version_with_its_lineage(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    registry = Registry(store, settings)
    parent = registry.add_folder("retina", segmentation(tmp_path / "src")).version
    steps = parse_steps("clahe:channel=green,crop:margin=0.1,resize:32")
    seen: list[int] = []
    child = registry.transform(parent, steps, seen.append)
    assert child.created and child.version.parent == parent.version
    assert child.version.steps == steps
    assert sorted(seen) == list(range(1, 14))
    before = {f.path: f.sha256 for f in store.datasets.files(parent.id)}
    after = {f.path: f.sha256 for f in store.datasets.files(child.version.id)}
    assert before.keys() == after.keys()
    assert after["metadata.csv"] == before["metadata.csv"]  # carried over, same bytes
    assert all(after[p] != before[p] for p in after if p.endswith(".png"))
    with Image.open(child.path / "train" / "masks" / "P001_a.png") as m:
        assert m.size == (32, 32) and set(np.unique(np.asarray(m))) <= {0, 255}
    with Image.open(child.path / "train" / "images" / "P001_a.png") as img:
        assert img.size == (32, 32) and img.format == "PNG"
    assert child.version.layout["kind"] == "image-mask"
    assert child.version.validation is not None
    assert child.version.validation["leaked_ids"] == ["P001"]  # still leaks: same subjects
    again = registry.transform(parent, steps)
    assert not again.created and again.version.version == child.version.version


def test_masks_untouched_by_intensity_steps_keep_their_objects(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    registry = Registry(store, settings)
    parent = registry.add_folder("retina", segmentation(tmp_path / "src")).version
    child = registry.transform(parent, parse_steps("clahe")).version
    before = {f.path: f.sha256 for f in store.datasets.files(parent.id)}
    after = {f.path: f.sha256 for f in store.datasets.files(child.id)}
    masks = [p for p in before if "/masks/" in p]
    assert masks and all(after[p] == before[p] for p in masks)
