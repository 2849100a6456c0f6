#!/usr/bin/env python
"""Synthetic fundus-like images: a retina with vessels, an optic disc and its cup.

The label is what lies inside the disc: 1 ("suspect") when the cup-to-disc ratio is above 0.5,
0 below. Disc position, size and brightness, the vessels and the illumination vary and say
nothing about the label, so a model must look inside the disc to get it right.

Each patient has two eyes (two images, ids `p0007_L` / `p0007_R`); the splits (train/val/test)
are drawn by patient, so that no patient is in two splits. Masks: 0 background, 1 disc rim,
2 cup.

    python examples/fundus_data.py --out fundus/            # PNGs, masks, metadata.csv
    python examples/fundus_data.py --out fundus/ --register  # and register it on RUNYARD_URL
    python examples/fundus_data.py --patients 20 --leak 2 --register --name fundus-leaky

`--leak N` plants the classic mistake the dataset checks exist for: the right eye of N patients
lands in another split than their left eye (a split drawn by image, not by patient).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIZE = 64
SPLITS = {"train": 0.6, "val": 0.2, "test": 0.2}


@dataclass
class Fundus:
    images: np.ndarray  # (n, 3, SIZE, SIZE) float32 in [0, 1]
    masks: np.ndarray  # (n, SIZE, SIZE) uint8: 0 background, 1 disc rim, 2 cup
    labels: np.ndarray  # (n,) int64
    cdr: np.ndarray  # (n,) cup-to-disc ratio
    ids: list[str]
    patients: list[str]
    splits: list[str]

    def split(self, name: str) -> Fundus:
        keep = [i for i, s in enumerate(self.splits) if s == name]
        return Fundus(
            self.images[keep], self.masks[keep], self.labels[keep], self.cdr[keep],
            [self.ids[i] for i in keep], [self.patients[i] for i in keep], [name] * len(keep),
        )  # fmt: skip


def _eye(rng: np.random.Generator, cdr: float) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    c = SIZE / 2
    fov = (yy - c) ** 2 + (xx - c) ** 2 <= (SIZE * 0.47) ** 2
    tilt = rng.uniform(-0.25, 0.25, 2)
    light = 0.85 + tilt[0] * (yy - c) / SIZE + tilt[1] * (xx - c) / SIZE
    base = np.array([0.72, 0.33, 0.14]) * rng.uniform(0.85, 1.15)
    img = base[:, None, None] * light[None]
    cy, cx = c + rng.uniform(-11, 11, 2)
    rd = rng.uniform(7.0, 10.0)
    for _ in range(rng.integers(3, 6)):  # vessels leave the disc
        angle = rng.uniform(0, 2 * np.pi)
        bend = rng.uniform(-0.02, 0.02)
        dy, dx = yy - cy, xx - cx
        along = dx * np.cos(angle) + dy * np.sin(angle)
        across = -dx * np.sin(angle) + dy * np.cos(angle) - bend * along**2
        vessel = (np.abs(across) < rng.uniform(0.6, 1.2)) & (along > 0)
        img[:, vessel] *= 0.6
    dist = np.hypot(yy - cy, xx - cx)
    disc = dist <= rd
    img[:, disc] = (np.array([0.93, 0.72, 0.42]) * rng.uniform(0.85, 1.1))[:, None]
    oy, ox = rng.uniform(-1, 1, 2) * rd * (1 - cdr) * 0.5
    cup = np.hypot(yy - cy - oy, xx - cx - ox) <= cdr * rd
    img[:, cup] = (np.array([0.99, 0.93, 0.80]) * rng.uniform(0.92, 1.05))[:, None]
    img = img + rng.normal(0, 0.03, img.shape)
    img[:, ~fov] = 0.0
    mask = np.where(cup, 2, np.where(disc, 1, 0)).astype(np.uint8)
    mask[~fov] = 0
    return np.clip(img, 0, 1).astype(np.float32), mask


def generate(patients: int = 300, seed: int = 0) -> Fundus:
    """Two eyes per patient; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    images, masks, labels, cdrs, ids, pids, splits = [], [], [], [], [], [], []
    order = rng.permutation(patients)
    cuts = np.cumsum([int(round(f * patients)) for f in SPLITS.values()])
    for p in range(patients):
        rank = int(np.flatnonzero(order == p)[0])
        split = list(SPLITS)[int(np.searchsorted(cuts, rank, side="right"))]
        suspect = rng.random() < 0.5
        for eye in "LR":
            label = int(suspect) if rng.random() < 0.85 else int(not suspect)
            cdr = rng.uniform(0.58, 0.8) if label else rng.uniform(0.2, 0.42)
            img, mask = _eye(rng, cdr)
            images.append(img)
            masks.append(mask)
            labels.append(label)
            cdrs.append(cdr)
            ids.append(f"p{p:04d}_{eye}")
            pids.append(f"p{p:04d}")
            splits.append(split)
    return Fundus(
        np.stack(images), np.stack(masks), np.array(labels, np.int64), np.array(cdrs),
        ids, pids, splits,
    )  # fmt: skip


def plant_leak(data: Fundus, patients: int) -> list[str]:
    """Move the right eye of the first ``patients`` patients into another split; their ids."""
    leaked: list[str] = []
    for i, name in enumerate(data.ids):
        if len(leaked) == patients:
            break
        if name.endswith("_R"):
            names = list(SPLITS)
            data.splits[i] = names[(names.index(data.splits[i]) + 1) % len(names)]
            leaked.append(data.patients[i])
    return leaked


def write_folder(data: Fundus, root: Path) -> Path:
    """`<split>/images/<id>.png`, `<split>/masks/<id>.png` and `metadata.csv`."""
    from PIL import Image

    for i, name in enumerate(data.ids):
        split = data.splits[i]
        for kind, pixels in (
            ("images", (data.images[i].transpose(1, 2, 0) * 255).round().astype(np.uint8)),
            ("masks", data.masks[i]),
        ):
            folder = root / split / kind
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(folder / f"{name}.png")
    with open(root / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "patient_id", "label", "cup_to_disc", "split"])
        for i, name in enumerate(data.ids):
            w.writerow([f"{data.splits[i]}/images/{name}.png", data.patients[i],
                        int(data.labels[i]), f"{data.cdr[i]:.3f}", data.splits[i]])  # fmt: skip
    return root


def register(root: Path, name: str = "fundus", url: str | None = None) -> str:
    """Zip the folder and register it as a dataset version; returns the version."""
    import httpx

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(root).as_posix())
    url = url or os.environ.get("RUNYARD_URL") or "http://127.0.0.1:8420"
    token = os.environ.get("RUNYARD_TOKEN")
    r = httpx.post(
        f"{url.rstrip('/')}/api/datasets",
        data={"name": name},
        files={"file": (f"{name}.zip", buf.getvalue())},
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=120,
    )
    r.raise_for_status()
    version: str = r.json()["version"]
    return version


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, help="(default: a temporary folder, with --register)")
    p.add_argument("--patients", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--leak", type=int, default=0, help="patients whose eyes straddle two splits")
    p.add_argument("--register", action="store_true", help="register it on RUNYARD_URL")
    p.add_argument("--name", default="fundus", help="the dataset's name when registered")
    args = p.parse_args()
    if args.out is None and not args.register:
        p.error("--out is needed unless --register")
    data = generate(args.patients, args.seed)
    if args.leak:
        print(f"planted a leak: {', '.join(plant_leak(data, args.leak))} in two splits")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        write_folder(data, out)
        print(f"{len(data.ids)} images of {len(set(data.patients))} patients in {out}")
        if args.register:
            print(f"registered {args.name}@{register(out, args.name)}")


if __name__ == "__main__":
    main()
