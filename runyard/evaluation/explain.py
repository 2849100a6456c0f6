"""Saliency maps (MONAI's Grad-CAM and Grad-CAM++) and the saliency-in-ROI score.

The score (the seed's Disc Relevance Index) is the share of a map's positive mass that lies
inside a region of interest. It is reported beside the ROI's share of the image: a map spread
evenly scores exactly that share, so only a score above it says the model looks at the ROI.
"""

from __future__ import annotations

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


def saliency(
    model: torch.nn.Module,
    images: Any,
    target_layer: str,
    method: str = "gradcam",
    class_idx: int | None = None,
) -> FloatArray:
    """One map per image, (n, H, W) in [0, 1], for the predicted class (or ``class_idx``).

    Images go one at a time: MONAI normalises a batch's maps together, and a batch of one
    keeps each image's map its own.
    """
    import torch
    from monai.visualize.class_activation_maps import GradCAM, GradCAMpp

    if method not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    names = layer_names(model)
    if target_layer not in names:
        raise BadRequest(f"the model has no layer {target_layer!r}; its layers: {', '.join(names)}")
    arr = check_images(images)
    # MONAI's default post-processing scales each map to [1, 0] (high saliency → 0); keep the
    # raw (ReLU'd, upsampled) map and scale it to [0, 1] here.
    kind = GradCAM if method == "gradcam" else GradCAMpp
    cam = kind(nn_module=model, target_layers=target_layer, postprocessing=lambda x: x)
    was_training = model.training
    model.eval()
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    out = np.empty((arr.shape[0], *arr.shape[2:]))
    try:
        with torch.enable_grad():
            for i in range(arr.shape[0]):
                x = torch.as_tensor(arr[i : i + 1], dtype=torch.float32, device=device)
                x.requires_grad_(True)  # a first-layer target's backward hook needs it
                result = cam(x, class_idx=class_idx)
                raw = np.nan_to_num(result.detach().cpu().numpy()[0, 0].astype(np.float64))
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
