"""Saliency galleries on disk: `artifacts/visuals/<method>/` in a run dir.

Per image `<i>.image.png`, `<i>.map.png` and `<i>.overlay.png`, then `index.json` (written
last and atomically: the gallery is what the index lists, so a crash mid-way leaves the
previous gallery whole). The server lists galleries from the index files alone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runyard.errors import BadRequest
from runyard.evaluation.explain import METHODS, check_images, roi_score

FOLDER = ("artifacts", "visuals")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _u8(x: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    lo, hi = float(x.min()), float(x.max())
    scaled = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return np.asarray((scaled * 255).round(), dtype=np.uint8)


def _rgb(image: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """(C, H, W) → (H, W, 3): grey for one channel, the first three otherwise."""
    pixels = _u8(image[:3] if image.shape[0] >= 3 else image[:1].repeat(3, axis=0))
    return np.ascontiguousarray(pixels.transpose(1, 2, 0))


def _heat(m: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """A blue → green → yellow → red ramp (no matplotlib here)."""
    v = np.clip(m, 0.0, 1.0)
    r = np.clip(2.0 * v - 0.5, 0, 1)
    g = np.clip(1.5 - np.abs(2.0 * v - 1.0) * 1.5, 0, 1)
    b = np.clip(1.0 - 2.0 * v, 0, 1)
    return np.asarray((np.stack([r, g, b], -1) * 255).round(), dtype=np.uint8)


def _save(pixels: npt.NDArray[np.uint8], path: Path) -> None:
    from PIL import Image

    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(pixels).save(tmp, format="PNG")
    os.replace(tmp, path)


def write_gallery(
    run_dir: Path,
    method: str,
    images: Any,
    maps: Any,
    *,
    roi_masks: Any = None,
    ids: Any = None,
    labels: Any = None,
) -> dict[str, Any]:
    """Write the PNGs and the index; returns the index (with each image's ROI score)."""
    if not isinstance(method, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", method):
        raise BadRequest(f"method must be a short name like {METHODS[0]!r}, not {method!r}")
    imgs = check_images(images)
    n, _, h, w = imgs.shape
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    if m.shape != (n, h, w):
        raise BadRequest(f"{n} images of {h}×{w} need maps of shape {(n, h, w)}, not {m.shape}")
    if not np.all(np.isfinite(m)):
        raise BadRequest("maps hold NaN or infinite values")
    rois = None if roi_masks is None else np.asarray(roi_masks)
    if rois is not None and rois.shape != (n, h, w):
        raise BadRequest(f"roi_masks must have shape {(n, h, w)}, not {rois.shape}")
    names = [str(i) for i in (range(n) if ids is None else ids)]
    if len(names) != n:
        raise BadRequest(f"{n} images but {len(names)} ids")
    if labels is not None and len(labels) != n:
        raise BadRequest(f"{n} images but {len(labels)} labels")
    folder = run_dir.joinpath(*FOLDER, method)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(n):
        stem = f"{i:05d}-{_SAFE.sub('_', names[i])[:60]}"
        rgb = _rgb(imgs[i])
        span = m[i].max() - m[i].min()
        norm = (m[i] - m[i].min()) / span if span > 0 else np.zeros_like(m[i])
        heat = _heat(norm)
        alpha = (0.6 * norm)[..., None]
        overlay = np.asarray((rgb * (1 - alpha) + heat * alpha).round(), dtype=np.uint8)
        for kind, pixels in (("image", rgb), ("map", heat), ("overlay", overlay)):
            _save(pixels, folder / f"{stem}.{kind}.png")
        entry: dict[str, Any] = {"id": names[i], "file": stem}
        if rois is not None:
            entry["roi_score"], entry["roi_share"] = roi_score(m[i], rois[i])
        if labels is not None:
            entry["label"] = labels[i] if isinstance(labels[i], str) else float(labels[i])
        entries.append(entry)
    index = {"method": method, "count": n, "size": [h, w], "images": entries}
    tmp = folder / ".index.json.tmp"
    tmp.write_text(json.dumps(index))
    os.replace(tmp, folder / "index.json")
    return index


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def galleries(run_dir: Path) -> dict[str, Any]:
    """Every method's gallery: count, per-image scores and their means, file paths."""
    root = run_dir.joinpath(*FOLDER)
    out: dict[str, Any] = {}
    for index_file in sorted(root.glob("*/index.json")) if root.is_dir() else []:
        try:
            index = json.loads(index_file.read_text())
        except (OSError, ValueError):
            continue
        method = index_file.parent.name
        base = "/".join((*FOLDER, method))
        images = [
            {**e, **{k: f"{base}/{e['file']}.{k}.png" for k in ("image", "map", "overlay")}}
            for e in index["images"]
        ]
        out[method] = {
            "count": len(images),
            "size": index.get("size"),
            "mean_roi_score": _mean([e.get("roi_score") for e in images]),
            "mean_roi_share": _mean([e.get("roi_share") for e in images]),
            "images": images,
        }
    return out
