"""Layout detection from paths alone: splits, classes, image/mask pairs, metadata."""

from __future__ import annotations

from runyard.datasets.layout import classify, classify_all, counts_of, describe, pairs_of


def test_split_folders_in_any_case_and_spelling() -> None:
    for folder, split in [
        ("train", "train"),
        ("Training", "train"),
        ("VAL", "val"),
        ("valid", "val"),
        ("Validation", "val"),
        ("test", "test"),
        ("Testing", "test"),
    ]:
        role = classify(f"{folder}/x.png")
        assert (role.split, role.split_dir) == (split, folder)
    assert classify("images/train/x.png").split == "train"
    assert classify("trainer/x.png").split is None


def test_imagefolder_classes_below_the_split() -> None:
    paths = ["train/cat/1.png", "train/dog/2.jpg", "val/cat/3.png", "val/dog/4.png"]
    layout = describe(paths)
    assert layout["kind"] == "imagefolder" and layout["classes"] == ["cat", "dog"]
    assert counts_of(classify_all(paths)) == {
        "train": {"cat": 1, "dog": 1},
        "val": {"cat": 1, "dog": 1},
    }


def test_one_folder_of_images_is_not_a_class() -> None:
    layout = describe(["photos/1.png", "photos/2.png"])
    assert layout["kind"] == "images" and layout["classes"] == []
    assert counts_of(classify_all(["photos/1.png"])) == {"all": {"all": 1}}


def test_masks_by_folder_or_suffix_pair_with_their_images() -> None:
    paths = [
        "train/images/a.png",
        "train/masks/a.png",
        "train/b.png",
        "train/b_mask.png",
        "test/c_img.tif",
        "test/c_seg.tif",
        "test/d_gt.png",
        "test/labels.csv",
    ]
    roles = classify_all(paths)
    pairs, orphans = pairs_of(roles)
    assert pairs == {
        "train/images/a.png": "train/masks/a.png",
        "train/b.png": "train/b_mask.png",
        "test/c_img.tif": "test/c_seg.tif",
    }
    assert orphans == ["test/d_gt.png"]
    layout = describe(paths)
    assert layout["kind"] == "image-mask" and layout["metadata"] == ["test/labels.csv"]
    assert layout["images"] == 3 and layout["masks"] == 4 and layout["pairs"] == 3


def test_a_mask_is_not_paired_across_splits() -> None:
    pairs, orphans = pairs_of(classify_all(["train/x.png", "test/x_mask.png"]))
    assert pairs == {} and orphans == ["test/x_mask.png"]


def test_files_without_images() -> None:
    layout = describe(["a.npy", "b.txt", "meta.tsv"])
    assert layout["kind"] == "files"
    assert (layout["arrays"], layout["other"], layout["metadata"]) == (1, 1, ["meta.tsv"])
