"""Grad-CAM / Grad-CAM++ through MONAI on a real (hand-set) network, and the ROI score."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from runyard.errors import BadRequest
from runyard.evaluation.explain import roi_score, saliency


def _net() -> torch.nn.Module:
    """conv (identity) → ReLU → global mean → linear: its class-1 evidence is the bright area,
    so a faithful Grad-CAM map is bright exactly there."""
    conv = torch.nn.Conv2d(1, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 1.0
        conv.weight[1, 0, 1, 1] = -1.0
    head = torch.nn.Linear(2, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[-1.0, 1.0], [1.0, -1.0]]))
        head.bias.zero_()
    return torch.nn.Sequential(
        conv, torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), head
    )


def _images() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    images = rng.random((3, 1, 32, 32)) * 0.02
    rois = np.zeros((3, 32, 32), bool)
    for i, (r, c) in enumerate([(4, 4), (20, 10), (12, 22)]):
        images[i, 0, r : r + 8, c : c + 8] += 1.0
        rois[i, r : r + 8, c : c + 8] = True
    return images, rois


@pytest.mark.parametrize("method", ["gradcam", "gradcampp"])
def test_maps_find_the_evidence(method: str) -> None:
    images, rois = _images()
    maps = saliency(_net(), images, "0", method, class_idx=1)
    assert maps.shape == (3, 32, 32)
    assert maps.min() >= 0.0 and maps.max() == pytest.approx(1.0)
    for m, roi in zip(maps, rois, strict=True):
        score, share = roi_score(m, roi)
        assert share == pytest.approx(64 / 1024)
        assert score is not None and score > 0.6 > share * 5
        assert roi[np.unravel_index(m.argmax(), m.shape)]


def test_a_uniform_map_scores_the_roi_share() -> None:
    roi = np.zeros((10, 10), bool)
    roi[:5, :2] = True
    assert roi_score(np.ones((10, 10)), roi) == pytest.approx((0.1, 0.1))
    assert roi_score(np.zeros((10, 10)), roi) == (None, pytest.approx(0.1))


def test_a_missing_layer_lists_the_layers() -> None:
    with pytest.raises(BadRequest, match=r"no layer 'features'; its layers: 0, 1, 2, 3, 4"):
        saliency(_net(), _images()[0], "features")


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.array([["a", "b"]]), "numbers"),
        (np.zeros((2, 8)), "stack"),
        (np.full((1, 1, 4, 4), np.nan), "NaN"),
    ],
)
def test_images_that_are_not_images(images: np.ndarray, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        saliency(_net(), images, "0")


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(BadRequest, match="gradcam, gradcampp"):
        saliency(_net(), _images()[0], "0", "lime")


@pytest.mark.parametrize("method", ["gradcam", "gradcampp"])
def test_a_batch_explains_each_image_as_alone_and_leaves_the_model_as_it_was(
    method: str,
) -> None:
    """Images of both predicted classes (bright ones are class 1, dark ones class 0), more
    than one batch: each map is the one the image gets alone, and no hook stays behind."""
    images, _ = _images()
    mixed = np.concatenate([images, -images] * 7)  # 42 images, two classes, three batches
    net = _net()
    relu = net[1]
    assert isinstance(relu, torch.nn.ReLU)
    relu.inplace = True
    maps = saliency(net, mixed, "1", method)
    alone = np.stack([saliency(net, mixed[i : i + 1], "1", method)[0] for i in (0, 3, 40, 41)])
    np.testing.assert_allclose(maps[[0, 3, 40, 41]], alone, atol=1e-6)
    assert maps[0].max() == pytest.approx(1.0) and maps[3].max() == pytest.approx(1.0)
    assert not relu._forward_hooks and not relu._backward_hooks and relu.inplace
