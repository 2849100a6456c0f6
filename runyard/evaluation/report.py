"""The evaluation report of a run: per split, the metrics of item 1 from `eval/<split>.npz`.

One function builds it for the API and the CLI alike. A report is cached beside its file
(`eval/<split>.report.json`) and rebuilt when the predictions are newer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from runyard.evaluation import metrics, predictions

WORST = 20
# The metrics that become run metrics `<split>/<name>`; every one is better when higher.
RUN_METRICS = ("auc", "accuracy", "sensitivity", "specificity", "precision", "f1", "dice", "iou")


def _lowest(values: Any, k: int) -> Any:
    """The indices of the k lowest values, ties in index order: a stable argsort's first k,
    without sorting them all (NaN last, as argsort puts it)."""
    if values.size > k:
        kth = np.partition(values, k - 1)[k - 1]
        if not np.isnan(kth):
            near = np.flatnonzero(values <= kth)  # every tie of the k-th, in index order
            return near[np.argsort(values[near], kind="stable")][:k]
    return np.argsort(values, kind="stable")[:k]


def _worst(arrays: dict[str, Any], report: dict[str, Any]) -> list[dict[str, Any]]:
    ids = arrays["ids"]
    if report["kind"] == "segmentation":
        score = np.asarray(report["per_image"]["dice"])
        order = _lowest(score, WORST)
        return [{"id": str(ids[i]), "dice": float(score[i])} for i in order]
    y, s = arrays["y_true"], arrays["y_score"]
    # The probability given to the true class: the lowest are the most wrong.
    p_true = np.where(y == 1, s, 1.0 - s) if s.ndim == 1 else s[np.arange(y.size), y]
    order = _lowest(p_true, WORST)
    return [
        {"id": str(ids[i]), "label": int(y[i]), "score_of_label": float(p_true[i])} for i in order
    ]


def split_report(path: Path) -> dict[str, Any]:
    """The report of one predictions file (cached beside it)."""
    cache = path.with_suffix(".report.json")
    try:
        if cache.stat().st_mtime_ns >= path.stat().st_mtime_ns:
            cached: dict[str, Any] = json.loads(cache.read_bytes())
            return cached
    except (OSError, ValueError):
        pass
    arrays = predictions.read(path)
    meta = arrays["meta"]
    if meta.get("kind") == "segmentation":
        report = metrics.segmentation(arrays["masks"], arrays["preds"])
    else:
        report = metrics.classification(
            arrays["y_true"],
            arrays["y_score"],
            threshold=meta.get("threshold") or "0.5",
            class_names=meta.get("class_names"),
        )
    report["worst"] = _worst(arrays, report)
    report["split"] = path.stem
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(report))
    os.replace(tmp, cache)
    return report


def run_report(run_dir: Path) -> dict[str, Any]:
    """Every split of a run, by name."""
    folder = run_dir / predictions.FOLDER
    files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
    return {"splits": {p.stem: split_report(p) for p in files if not p.name.startswith(".")}}


def run_metrics(report: dict[str, Any]) -> dict[str, float]:
    """`<split>/<metric>` for the run's metrics table; undefined values are left out."""
    split = report["split"]
    return {
        f"{split}/{name}": float(value)
        for name, value in report["metrics"].items()
        if name in RUN_METRICS and value is not None and name != "recall"
    }
