"""Saliency maps (MONAI's Grad-CAM and Grad-CAM++) and the saliency-in-ROI score.

The score (the seed's Disc Relevance Index) is the share of a map's positive mass that lies
inside a region of interest. It is reported beside the ROI's share of the image: a map spread
evenly scores exactly that share, so only a score above it says the model looks at the ROI.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from runyard.errors import BadRequest

if TYPE_CHECKING:
    import torch

METHODS = ("gradcam", "gradcampp")
FloatArray = npt.NDArray[np.float64]


def check_images(images: Any) -> FloatArray:
    """(n, C, H, W) or (n, H, W) finite numbers, as float64 (n, C, H, W); else BadRequest."""
    try:
        arr = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"images must be an array of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise BadRequest(f"images must be numbers, not {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or min(arr.shape[2:]) < 2 or arr.shape[0] == 0:
        raise BadRequest(f"images must be a stack (n, C, H, W) or (n, H, W), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise BadRequest("images hold NaN or infinite values")
    return arr.astype(np.float64)


def layer_names(model: torch.nn.Module) -> list[str]:
    return [name for name, _ in model.named_modules() if name]


BATCH = 16  # Grad-CAM images per forward/backward pass


@contextlib.contextmanager
def _hooked(module: torch.nn.Module) -> Iterator[None]:
    """Leave ``module`` as it was: MONAI's CAM registers hooks it never removes (each call
    would add two more, each running on every later forward) and turns `inplace` off."""
    forward, backward = set(module._forward_hooks), set(module._backward_hooks)
    inplace = module.__dict__.get("inplace")
    try:
        yield
    finally:
        for key in set(module._forward_hooks) - forward:
            del module._forward_hooks[key]
        for key in set(module._backward_hooks) - backward:
            del module._backward_hooks[key]
        if inplace is not None:
            module.__dict__["inplace"] = inplace


def _groups(classes: npt.NDArray[np.int64]) -> Iterator[tuple[int, npt.NDArray[np.intp]]]:
    """(class, indices of up to BATCH images explained for it), every image once."""
    for k in np.unique(classes):
        where = np.flatnonzero(classes == k)
        for i in range(0, where.size, BATCH):
            yield int(k), where[i : i + BATCH]


def saliency(
    model: torch.nn.Module,
    images: Any,
    target_layer: str,
    method: str = "gradcam",
    class_idx: int | None = None,
) -> FloatArray:
    """One map per image, (n, H, W) in [0, 1], for the predicted class (or ``class_idx``).

    Grad-CAM goes in batches of images that share the explained class: MONAI scores a batch
    with `logits[:, class_idx]`, which is each image's own only for one class index (a
    tensor of indices would mix the images' gradients). Grad-CAM++ goes one image at a time:
    MONAI broadcasts its class score against the last spatial axis, right for a batch of
    one only. Each map is scaled by its own maximum, so batching changes no map.
    """
    import torch
    from monai.visualize.class_activation_maps import GradCAM, GradCAMpp

    if method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    modules = dict(model.named_modules())
    if not target_layer or target_layer not in modules:
        names = ", ".join(layer_names(model))
        raise BadRequest(f"the model has no layer {target_layer!r}; its layers: {names}")
    arr = check_images(images)
    was_training = model.training
    model.eval()
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")

    def tensor(rows: npt.NDArray[np.intp]) -> torch.Tensor:
        x = torch.as_tensor(arr[rows], dtype=torch.float32, device=device)
        return x.requires_grad_(True)  # a first-layer target's backward hook needs it

    out = np.empty((arr.shape[0], *arr.shape[2:]))
    try:
        if class_idx is not None:
            classes = np.full(arr.shape[0], class_idx, dtype=np.int64)
        else:
            with torch.no_grad():
                classes = np.concatenate(
                    [
                        model(tensor(np.arange(i, min(i + BATCH, arr.shape[0])))).argmax(1)
                        .cpu().numpy()
                        for i in range(0, arr.shape[0], BATCH)
                    ]
                )  # fmt: skip
        if method == "gradcam":
            groups = list(_groups(classes))
        else:
            groups = [(int(k), np.array([i])) for i, k in enumerate(classes)]
        # MONAI's default post-processing scales each map to [1, 0] (high saliency → 0); keep
        # the raw (ReLU'd, upsampled) map and scale it to [0, 1] here.
        kind = GradCAM if method == "gradcam" else GradCAMpp
        with _hooked(modules[target_layer]), torch.enable_grad():
            cam = kind(nn_module=model, target_layers=target_layer, postprocessing=lambda x: x)
            for k, rows in groups:
                result = cam(tensor(rows), class_idx=k).detach().cpu().numpy()
                for j, i in enumerate(rows):
                    raw = np.nan_to_num(result[j, 0].astype(np.float64))
                    top = raw.max()
                    out[i] = raw / top if top > 0 else 0.0
    finally:
        model.train(was_training)
    return out


def roi_score(saliency_map: Any, roi_mask: Any) -> tuple[float | None, float]:
    """(share of the positive map's mass inside the ROI, the ROI's share of the image).

    The first is None for a map with no positive mass (nothing to attribute)."""
    m = np.clip(np.asarray(saliency_map, dtype=np.float64), 0.0, None)
    roi = np.asarray(roi_mask).astype(bool)
    if m.shape != roi.shape:
        raise BadRequest(f"a map of shape {m.shape} and an ROI mask of shape {roi.shape}")
    total = float(m.sum())
    share = float(roi.mean())
    return (float(m[roi].sum() / total) if total > 0 else None), share
