"""Small real image datasets, generated: PNG images and masks, a metadata CSV, a .mat file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

RNG_SEED = 7


def png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")
    return path


def fundus(seed: int, size: int = 48) -> np.ndarray:
    """An RGB image with a bright disc on a dark background, like a retina photograph."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size * 0.4) ** 2
    img = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
    img[disc] = rng.integers(80, 220, (int(disc.sum()), 3), dtype=np.uint8)
    return img


def mask(seed: int, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((size, size), dtype=np.uint8)
    y, x = rng.integers(4, size - 12, 2)
    out[y : y + 8, x : x + 8] = 255
    return out


SEGMENTATION = {
    "train": ["P001_a", "P002_a", "P003_a"],
    "val": ["P004_a"],
    "test": ["P005_a", "P001_b"],  # P001 is in train too: the leak the checks must find
}


def segmentation(root: Path, wrapper: str = "RetinaSet") -> Path:
    """wrapper/{train,Valid,TEST}/{images,masks}/*.png plus wrapper/metadata.csv."""
    base = root / wrapper
    seed = 0
    rows = ["filename,patient_id,age"]
    for split, spelled in (("train", "train"), ("val", "Valid"), ("test", "TEST")):
        for stem in SEGMENTATION[split]:
            seed += 1
            png(base / spelled / "images" / f"{stem}.png", fundus(seed))
            png(base / spelled / "masks" / f"{stem}.png", mask(seed))
            age = "" if stem == "P003_a" else str(40 + seed)  # one empty cell
            rows.append(f"{stem}.png,{stem.split('_')[0]},{age}")
    (base / "metadata.csv").write_text("\n".join(rows) + "\n")
    (base / ".DS_Store").write_bytes(b"junk")
    return root


def classification(root: Path, per_class: int = 3) -> Path:
    """ImageFolder: {train,test}/{cat,dog}/*.png, all distinct."""
    seed = 100
    for split in ("train", "test"):
        for label in ("cat", "dog"):
            for i in range(per_class):
                seed += 1
                png(root / split / label / f"{label}{i}.png", fundus(seed, 32))
    return root
