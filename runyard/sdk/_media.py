"""Texts and images logged by a run: files under ``artifacts/media/<key>/`` in the run dir,
with an index (``artifacts/media/index.jsonl``, one JSON line per item: kind, key, step,
path, caption or text) that the server reads for the run page.

Images are checked and written with Pillow (PNG); something that is not an image raises
ValueError at the call site, before anything is written.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import orjson

MEDIA_DIR = "artifacts/media"
INDEX = "index.jsonl"
MAX_TEXT = 1_000_000


def _slug(key: str) -> str:
    """A folder name for a key ("val/samples" → "val-samples"): never a path of its own."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", key).strip(".-") or "media"


def _append(run_dir: Path, item: dict[str, Any]) -> None:
    index = run_dir / MEDIA_DIR / INDEX
    index.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, orjson.dumps(item) + b"\n")
    finally:
        os.close(fd)


def write_text(run_dir: Path, key: str, text: str, step: int) -> str:
    if not isinstance(text, str):
        raise TypeError(f"log_text takes a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"text of {len(text):,} characters is over the limit of {MAX_TEXT:,}")
    _append(run_dir, {"kind": "text", "key": key, "step": step, "text": text, "ts": time.time()})
    return text


def _as_image(data: Any) -> Any:
    from PIL import Image, UnidentifiedImageError

    if isinstance(data, Image.Image):
        return data
    if isinstance(data, (str, os.PathLike)):
        try:
            with Image.open(data) as opened:
                opened.load()
                return opened.copy()
        except (UnidentifiedImageError, OSError) as exc:
            where = os.fspath(data)
            raise ValueError(f"{where!r} is not an image Pillow can read: {exc}") from None
    import numpy as np

    try:
        array = np.asarray(data)
    except Exception as exc:
        raise ValueError(f"cannot read an image from {type(data).__name__}: {exc}") from None
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ValueError(f"an image array is H×W, H×W×1, H×W×3 or H×W×4; this one is {array.shape}")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
            raise ValueError(f"an image array holds finite numbers, not {array.dtype}")
        low, high = float(array.min()), float(array.max())
        scale = 255.0 if low >= 0.0 and high <= 1.0 else 1.0  # floats in [0, 1] are intensities
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return Image.fromarray(array)


def write_image(run_dir: Path, key: str, data: Any, step: int, caption: str | None) -> Path:
    image = _as_image(data)
    rel = f"{MEDIA_DIR}/{_slug(key)}/step-{step}.png"
    path = run_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".png.tmp")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)
    item = {"kind": "image", "key": key, "step": step, "path": rel, "ts": time.time()}
    if caption:
        item["caption"] = str(caption)[:1000]
    _append(run_dir, item)
    return path
