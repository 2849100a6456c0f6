"""The predictions file of a split, `eval/<split>.npz` in a run dir: written by the SDK
(atomically: a temporary file, fsync, rename), read by the server to compute the report.

Arrays: classification `y_true`, `y_score`; segmentation `masks`, `preds`; both `ids` (text).
`meta` is a JSON text: the kind, class names and the threshold rule.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from runyard.errors import BadRequest
from runyard.evaluation.metrics import check_classification, check_segmentation

SPLIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FOLDER = "eval"


def check_split(split: str) -> str:
    if not isinstance(split, str) or not SPLIT.fullmatch(split) or split.endswith(".npz"):
        raise BadRequest(f"split must be a short name of letters, digits, '_', '-', '.': {split!r}")
    return split


def _ids(ids: Any, n: int) -> np.ndarray:
    if ids is None:
        return np.array([str(i) for i in range(n)])
    out = np.asarray([str(i) for i in ids])
    if out.shape != (n,):
        raise BadRequest(f"{n} predictions but {out.size} ids")
    return out


def build(
    *,
    y_true: Any = None,
    y_score: Any = None,
    masks: Any = None,
    preds: Any = None,
    ids: Any = None,
    class_names: list[str] | None = None,
    threshold: str | float = "0.5",
) -> dict[str, Any]:
    """The arrays to store, checked; BadRequest names what is wrong."""
    classify = y_true is not None or y_score is not None
    segment = masks is not None or preds is not None
    if classify == segment:
        raise BadRequest("give either y_true and y_score, or masks and preds")
    meta: dict[str, Any] = {"class_names": class_names, "threshold": threshold}
    if classify:
        if y_true is None or y_score is None:
            raise BadRequest("classification needs both y_true and y_score")
        y, s = check_classification(y_true, y_score)
        k = 2 if s.ndim == 1 else s.shape[1]
        if class_names is not None and len(class_names) != k:
            raise BadRequest(f"{len(class_names)} class names for {k} classes")
        if not (threshold in ("0.5", "youden") or isinstance(threshold, int | float)):
            raise BadRequest(f"threshold must be '0.5', 'youden' or a number, not {threshold!r}")
        meta["kind"] = "classification"
        return {"y_true": y, "y_score": s, "ids": _ids(ids, y.size), "meta": meta}
    if masks is None or preds is None:
        raise BadRequest("segmentation needs both masks and preds")
    m, p, _ = check_segmentation(masks, preds)
    meta["kind"] = "segmentation"
    small = np.uint8 if max(m.max(), p.max()) < 256 else np.int32
    return {
        "masks": m.astype(small),
        "preds": p.astype(small),
        "ids": _ids(ids, m.shape[0]),
        "meta": meta,
    }


def write(run_dir: Path, split: str, arrays: dict[str, Any]) -> Path:
    """`eval/<split>.npz`, whole or not at all."""
    folder = run_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{check_split(split)}.npz"
    tmp = folder / f".{dest.name}.{os.getpid()}.tmp"
    buf = io.BytesIO()
    data = {k: v for k, v in arrays.items() if k != "meta"}
    np.savez_compressed(buf, meta=np.array(json.dumps(arrays["meta"])), **data)
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return dest


def read(path: Path) -> dict[str, Any]:
    """The arrays and meta of one file; BadRequest if it is not one of ours."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out: dict[str, Any] = {k: z[k] for k in z.files}
        out["meta"] = json.loads(str(out["meta"]))
    except (OSError, ValueError, KeyError) as exc:
        raise BadRequest(f"{path.name} is not a predictions file: {exc}") from None
    return out
