"""Logs a classification split and a saliency gallery with ROI masks (no model: given maps),
for the dashboard's Evaluation and Visuals sections."""

import numpy as np

import runyard

rng = np.random.default_rng(0)
with runyard.init(name="gallery") as run:
    y = rng.integers(0, 2, 200)
    score = np.clip(y * 0.5 + rng.random(200) * 0.5, 0, 1)
    run.log_predictions(
        "test",
        y_true=y,
        y_score=score,
        ids=[f"eye{i:03d}" for i in range(200)],
        class_names=["normal", "suspect"],
    )
    images = rng.random((12, 3, 32, 32))
    rois = np.zeros((12, 32, 32), bool)
    rois[:, 8:16, 8:16] = True
    maps = rng.random((12, 32, 32)) * 0.2
    maps[:, 8:16, 8:16] += np.linspace(0.2, 1.0, 12)[:, None, None]
    run.log_saliency(
        images, maps, method="gradcam", roi_masks=rois, ids=[f"eye{i:03d}" for i in range(12)]
    )
