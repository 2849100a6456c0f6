"""Classification and segmentation metrics: the one implementation the SDK, server and CLI share.

Per-class counts, sensitivity, specificity, precision and F1 come from MONAI's confusion-matrix
metrics, Dice and IoU from MONAI's `compute_dice` / `compute_iou`. The ROC curve (which MONAI
does not give) is built with NumPy, and the AUC is the trapezoid under it, exactly as
scikit-learn does: MONAI's `compute_roc_auc` walks the sorted scores again in a Python loop
(about as long as the whole curve for a million predictions), and it computes in float32.

Empty masks (MONAI's `ignore_empty=False`): a Dice or IoU whose ground truth and prediction are
both empty is 1.0 (they agree perfectly); an empty ground truth with a non-empty prediction is
0.0. Both count in the means, and `empty_truth` says how many images had no foreground of that
class.

A class that never occurs (one class only) has no AUC or sensitivity: those are None, not an
error, and `notes` says why. Inputs that are wrong (NaN scores, lengths that differ, labels
outside the classes, masks of another shape) raise `BadRequest` with a message.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from runyard.errors import BadRequest

Threshold = Literal["0.5", "youden"] | float
FloatArray = npt.NDArray[np.float64]
SEG_CHUNK = 32  # images per MONAI call: a one-hot float tensor of 32×2×512×512 is 64 MiB


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _labels(y_true: Any, n_classes: int | None = None) -> npt.NDArray[np.int64]:
    arr = np.asarray(y_true)
    if arr.ndim != 1:
        raise BadRequest(f"y_true must be one label per item (1-D), got shape {arr.shape}")
    if arr.size == 0:
        raise BadRequest("y_true is empty: there is nothing to evaluate")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
        raise BadRequest("y_true must hold finite integer class labels")
    as_int = arr.astype(np.int64)
    if not np.array_equal(as_int, arr):
        raise BadRequest("y_true must hold integer class labels (0, 1, …), not fractions")
    if as_int.min() < 0 or (n_classes is not None and as_int.max() >= n_classes):
        top = "1" if n_classes is None else str(n_classes - 1)
        bad = sorted({int(v) for v in as_int if v < 0 or (n_classes and v >= n_classes)})[:5]
        raise BadRequest(f"labels outside the classes 0…{top}: {bad}")
    return as_int


def _scores(y_score: Any, n: int) -> FloatArray:
    arr = np.asarray(y_score)
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        raise BadRequest("y_score must be numbers")
    arr = arr.astype(np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2):
        raise BadRequest(f"y_score must be (n,) or (n, classes), got shape {arr.shape}")
    if arr.shape[0] != n:
        raise BadRequest(f"y_true has {n} items but y_score has {arr.shape[0]}")
    if arr.ndim == 2 and arr.shape[1] < 2:
        raise BadRequest("y_score with a class axis needs at least 2 classes")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(n, -1).any(axis=1))
        raise BadRequest(f"y_score has NaN or infinite values at {rows[:5].tolist()}")
    return arr


def check_classification(y_true: Any, y_score: Any) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Labels and scores as arrays, or BadRequest saying what is wrong (NumPy only: the SDK
    calls it to refuse bad input at the call site without importing torch)."""
    y0 = np.asarray(y_true)
    scores = _scores(y_score, int(y0.shape[0]) if y0.ndim else -1)
    return _labels(y_true, 2 if scores.ndim == 1 else int(scores.shape[1])), scores


def check_segmentation(
    masks: Any, preds: Any, num_classes: int | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """Masks, predictions and the number of classes (background included), or BadRequest."""
    y, p = _mask(masks, "masks"), _mask(preds, "preds")
    if y.shape != p.shape:
        raise BadRequest(f"masks have shape {y.shape} but preds have shape {p.shape}")
    top = int(max(y.max(), p.max()))
    k = num_classes if num_classes is not None else max(top, 1) + 1
    if top >= k:
        raise BadRequest(f"labels up to {top} but num_classes is {k}")
    return y, p, k


def roc_curve(y_true: Any, y_score: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(fpr, tpr, thresholds) at every distinct score, from (0, 0) — as scikit-learn's."""
    y = np.asarray(y_true).astype(np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    order = np.argsort(-s)  # ties are summed as one threshold below: their order is moot
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    thresholds = np.r_[np.inf, s[last]]
    pos, neg = tps[-1], fps[-1]
    tpr = tps / pos if pos else np.full_like(tps, np.nan)
    fpr = fps / neg if neg else np.full_like(fps, np.nan)
    return fpr, tpr, thresholds


def _auc(fpr: FloatArray, tpr: FloatArray) -> float | None:
    if np.isnan(fpr).any() or np.isnan(tpr).any():
        return None
    return float(np.trapezoid(tpr, fpr))


def _thin(fpr: FloatArray, tpr: FloatArray, th: FloatArray, most: int = 200) -> list[list[float]]:
    """At most `most` ROC points for a chart, keeping both ends."""
    idx = np.unique(np.linspace(0, fpr.size - 1, min(most, fpr.size)).round().astype(int))
    return [
        [float(fpr[i]), float(tpr[i]), float(th[i]) if np.isfinite(th[i]) else 1.0] for i in idx
    ]


def _per_class(y: npt.NDArray[np.int64], pred: npt.NDArray[np.int64], k: int) -> dict[str, Any]:
    import torch
    from monai.metrics.confusion_matrix import compute_confusion_matrix_metric, get_confusion_matrix

    eye = np.eye(k, dtype=np.float64)
    counts = (
        get_confusion_matrix(
            torch.from_numpy(eye[pred]), torch.from_numpy(eye[y]), include_background=True
        )
        .sum(dim=0)
        .double()
    )  # (k, 4): tp, fp, tn, fn
    out: dict[str, Any] = {"counts": counts.numpy().astype(int).tolist()}
    names = {
        "sensitivity": "sensitivity",
        "specificity": "specificity",
        "precision": "precision",
        "f1": "f1 score",
    }
    for key, monai_name in names.items():
        # MONAI divides by zero into nan (and warns nothing): a class never seen has no value.
        values = compute_confusion_matrix_metric(monai_name, counts).numpy()
        out[key] = [_finite(v) for v in values]
    return out


def classification(
    y_true: Any,
    y_score: Any,
    *,
    threshold: Threshold = "0.5",
    class_names: list[str] | None = None,
) -> dict[str, Any]:
    """Binary (scores of shape (n,)) or multi-class (shape (n, k)) metrics as plain JSON values.

    threshold: "0.5" (binary decision at 0.5), "youden" (the ROC point with the largest
    sensitivity + specificity − 1) or a number. Multi-class decisions are the arg-max.
    """
    y, scores = check_classification(y_true, y_score)
    binary = scores.ndim == 1
    k = 2 if binary else int(scores.shape[1])
    notes: list[str] = []
    present = np.bincount(y, minlength=k)
    if binary:
        fpr, tpr, th = roc_curve(y, scores)
        auc = _auc(fpr, tpr)
        if threshold == "youden":
            if auc is None:
                raise BadRequest("Youden's J needs both classes in y_true")
            best = int(np.argmax(tpr - fpr))
            cut = float(th[best]) if np.isfinite(th[best]) else float(scores.max()) + 1.0
        elif threshold == "0.5":
            cut = 0.5
        elif isinstance(threshold, int | float) and not isinstance(threshold, bool):
            cut = float(threshold)
        else:
            raise BadRequest(f"threshold must be '0.5', 'youden' or a number, not {threshold!r}")
        pred = (scores >= cut).astype(np.int64)
        roc = {"1": _thin(fpr, tpr, th)} if auc is not None else {}
        per_class_auc = [auc, auc]
    else:
        if threshold not in ("0.5",):
            raise BadRequest("a multi-class decision is the arg-max: threshold does not apply")
        cut = None
        pred = scores.argmax(axis=1).astype(np.int64)
        per_class_auc = []
        roc = {}
        for c in range(k):
            fpr, tpr, th = roc_curve(y == c, scores[:, c])
            per_class_auc.append(_auc(fpr, tpr))
            if per_class_auc[-1] is not None:
                roc[str(c)] = _thin(fpr, tpr, th)
        known = [a for a in per_class_auc if a is not None]
        auc = float(np.mean(known)) if len(known) == k else None
    for c in np.flatnonzero(present == 0).tolist():
        notes.append(
            f"class {int(c)} never occurs in y_true: its AUC and sensitivity are undefined"
        )
    matrix = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    per = _per_class(y, pred, k)
    names = class_names or [str(c) for c in range(k)]
    if len(names) != k:
        raise BadRequest(f"{len(names)} class names for {k} classes")
    table = [
        {
            "class": names[c],
            "support": int(present[c]),
            "auc": per_class_auc[c],
            "sensitivity": per["sensitivity"][c],
            "specificity": per["specificity"][c],
            "precision": per["precision"][c],
            "recall": per["sensitivity"][c],
            "f1": per["f1"][c],
        }
        for c in range(k)
    ]
    pick = 1 if binary else slice(None)
    summary: dict[str, float | None] = {"auc": auc, "accuracy": float((pred == y).mean())}
    for key in ("sensitivity", "specificity", "precision", "f1"):
        chosen = per[key][pick] if binary else per[key]
        if isinstance(chosen, list):
            known_values = [v for v in chosen if v is not None]
            chosen = float(np.mean(known_values)) if len(known_values) == k else None
        summary[key] = chosen
    summary["recall"] = summary["sensitivity"]
    return {
        "kind": "binary" if binary else "multiclass",
        "n": int(y.size),
        "classes": names,
        "threshold": cut,
        "threshold_rule": threshold if isinstance(threshold, str) else "fixed",
        "metrics": summary,
        "per_class": table,
        "confusion_matrix": matrix.tolist(),
        "roc": roc,
        "notes": notes,
    }


def _mask(arr: Any, name: str) -> npt.NDArray[np.int64]:
    a = np.asarray(arr)
    if a.ndim < 3:
        raise BadRequest(f"{name} must be a stack of masks (n, H, W[, D]), got shape {a.shape}")
    if a.dtype == bool:
        return a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.number) or not np.all(np.isfinite(a)):
        raise BadRequest(f"{name} must hold integer labels (0 = background)")
    out = a.astype(np.int64)
    if not np.array_equal(out, a) or out.min() < 0:
        raise BadRequest(f"{name} must hold integer labels ≥ 0 (0 = background), not fractions")
    return out


def segmentation(masks: Any, preds: Any, *, num_classes: int | None = None) -> dict[str, Any]:
    """Dice and IoU per image and class (label 0 is background and not scored) and their means."""
    import torch
    from monai.metrics.meandice import compute_dice
    from monai.metrics.meaniou import compute_iou

    y, p, k = check_segmentation(masks, preds, num_classes)
    n = y.shape[0]
    dice, iou = np.empty((n, k - 1)), np.empty((n, k - 1))
    eye = torch.eye(k)
    for lo in range(0, n, SEG_CHUNK):
        yt = eye[torch.from_numpy(y[lo : lo + SEG_CHUNK])].movedim(-1, 1)
        pt = eye[torch.from_numpy(p[lo : lo + SEG_CHUNK])].movedim(-1, 1)
        kw = {"include_background": False, "ignore_empty": False}
        d = compute_dice(pt, yt, **kw).numpy()
        j = compute_iou(pt, yt, **kw).numpy()
        dice[lo : lo + SEG_CHUNK], iou[lo : lo + SEG_CHUNK] = d, j
    empty = np.array([(y == c).reshape(n, -1).any(axis=1) for c in range(1, k)]).T
    per_class = [
        {
            "class": str(c),
            "dice": float(dice[:, c - 1].mean()),
            "iou": float(iou[:, c - 1].mean()),
            "empty_truth": int((~empty[:, c - 1]).sum()),
        }
        for c in range(1, k)
    ]
    return {
        "kind": "segmentation",
        "n": int(n),
        "classes": [str(c) for c in range(1, k)],
        "metrics": {"dice": float(dice.mean()), "iou": float(iou.mean())},
        "per_class": per_class,
        "per_image": {"dice": dice.mean(axis=1).tolist(), "iou": iou.mean(axis=1).tolist()},
        "empty_rule": "both empty = 1.0; empty truth with a predicted foreground = 0.0",
        "notes": [],
    }
