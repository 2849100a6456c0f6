"""Evaluation speed beside its peers, in one run:

- classification metrics for N binary predictions: runyard (MONAI + NumPy) vs scikit-learn
  (roc_auc_score + confusion_matrix + precision_recall_fscore_support);
- segmentation Dice/IoU for M masks: runyard (MONAI) vs scikit-learn's f1/jaccard per image;
- Grad-CAM for K images on the fundus classifier: runyard (MONAI, one image at a time) vs a
  hand-written PyTorch hook Grad-CAM (one batch);
- the report endpoint (GET /api/runs/{id}/evaluation, cached) for a 100,000-prediction split.

    python benchmarks/evaluation_bench.py            # the issue's sizes
    python benchmarks/evaluation_bench.py --quick    # smaller, for a loaded machine
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def classification(n: int) -> None:
    from sklearn import metrics as sk

    from runyard.evaluation.metrics import classification as ours

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    s = rng.random(n)

    def peer() -> None:
        pred = s >= 0.5
        sk.roc_auc_score(y, s)
        sk.roc_curve(y, s)
        sk.confusion_matrix(y, pred)
        sk.precision_recall_fscore_support(y, pred)

    a, b = timed(lambda: ours(y, s)), timed(peer)
    print(f"classification, {n:,} predictions: runyard {a:.3f} s, scikit-learn {b:.3f} s"
          f" ({a / b:.2f}×)")  # fmt: skip


def segmentation(m: int, size: int) -> None:
    from sklearn import metrics as sk

    from runyard.evaluation.metrics import segmentation as ours

    rng = np.random.default_rng(0)
    y = (rng.random((m, size, size)) < 0.3).astype(np.uint8)
    p = np.where(rng.random(y.shape) < 0.1, 1 - y, y)

    def peer() -> None:
        for i in range(m):
            sk.f1_score(y[i].ravel(), p[i].ravel())
            sk.jaccard_score(y[i].ravel(), p[i].ravel())

    a, b = timed(lambda: ours(y, p), 1), timed(peer, 1)
    print(f"segmentation, {m} masks of {size}×{size}: runyard {a:.2f} s, "
          f"scikit-learn {b:.2f} s ({a / b:.2f}×)")  # fmt: skip


def gradcam(k: int, size: int) -> None:
    import torch
    from fundus_classify import TARGET_LAYER, model

    from runyard.evaluation.explain import saliency

    torch.manual_seed(0)
    net = model()
    net.eval()
    x = torch.rand(k, 3, size, size)
    layer = dict(net.named_modules())[TARGET_LAYER]

    def hand() -> None:
        acts: list[torch.Tensor] = []
        grads: list[torch.Tensor] = []
        h1 = layer.register_forward_hook(lambda _m, _i, o: acts.append(o))
        h2 = layer.register_full_backward_hook(lambda _m, _gi, go: grads.append(go[0]))
        try:
            xx = x.clone().requires_grad_(True)
            logits = net(xx)
            logits[:, 1].sum().backward()
            w = grads[0].mean(dim=(2, 3), keepdim=True)
            cam = torch.relu((w * acts[0]).sum(1, keepdim=True))
            torch.nn.functional.interpolate(cam, size=(size, size), mode="bilinear")
        finally:
            h1.remove()
            h2.remove()

    a = timed(lambda: saliency(net, x, TARGET_LAYER, "gradcam", class_idx=1), 1)
    b = timed(hand, 1)
    print(f"Grad-CAM, {k} images of {size}×{size}: runyard (MONAI) {a:.2f} s, "
          f"hand-written hooks {b:.2f} s ({a / b:.2f}×)")  # fmt: skip


def report_endpoint(n: int) -> None:
    from starlette.testclient import TestClient

    from runyard.config import Settings
    from runyard.evaluation import predictions
    from runyard.server.app import create_app
    from runyard.store import Store

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp))
        store = Store.open(settings.db_url, settings.runs_dir, migrate=True)
        with TestClient(create_app(settings, store)) as client:
            firsts = []
            for i in range(4):  # the first run also pays the server's import of its libraries
                run = client.post("/api/runs", json={"name": f"bench-{i}"}).json()
                y = rng.integers(0, 2, n)
                arrays = predictions.build(y_true=y, y_score=rng.random(n))
                predictions.write(Path(run["run_dir"]), "test", arrays)
                url = f"/api/runs/{run['id']}/evaluation"
                firsts.append(timed(lambda: client.get(url), 1))  # noqa: B023
            again = timed(lambda: client.get(url), 5)  # noqa: B023
        store.close()
    first = statistics.median(firsts[1:])
    print(f"GET /evaluation, {n:,} predictions: first read (computes the report), median of "
          f"{len(firsts) - 1} runs {first * 1000:.0f} ms (the server's very first: "
          f"{firsts[0] * 1000:.0f} ms, importing MONAI and torch); cached {again * 1000:.1f} ms "
          f"(target ≤ 100 ms)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true")
    quick = p.parse_args().quick
    classification(100_000 if quick else 1_000_000)
    segmentation(100 if quick else 1000, 256 if quick else 512)
    gradcam(20 if quick else 100, 224)
    report_endpoint(100_000)


if __name__ == "__main__":
    main()
