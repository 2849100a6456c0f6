#!/usr/bin/env python
"""Classify synthetic fundus images (cup-to-disc ratio above 0.5 or not) with a small MONAI
EfficientNet (a custom block list, ~120k parameters), on the CPU, through the runyard SDK:
metrics, a checkpoint per epoch, early stopping, resume on retry, then the test predictions
(`run.log_predictions`) and Grad-CAM maps with their saliency in the optic disc
(`run.log_saliency`).

    python examples/fundus_classify.py                       # tracked on RUNYARD_URL
    runyard submit -e fundus -- python examples/fundus_classify.py --register-dataset

Run with RUNYARD_CHECKPOINT set (as `runyard eval RUN -- python examples/fundus_classify.py`
does), it trains nothing: it loads that checkpoint and evaluates it on `--split`.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import runyard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fundus_data import SIZE, Fundus, generate, register, write_folder  # noqa: E402

BLOCKS = [
    "r1_k3_s11_e1_i32_o16_se0.25",
    "r1_k3_s22_e4_i16_o24_se0.25",
    "r1_k3_s22_e4_i24_o40_se0.25",
    "r1_k3_s11_e4_i40_o64_se0.25",
]
TARGET_LAYER = "_blocks.3"


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--patients", type=int, default=300)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--saliency-images", type=int, default=24)
    p.add_argument("--split", default="test", help="the split an evaluation job scores")
    p.add_argument("--register-dataset", action="store_true", help="register it as 'fundus'")
    p.add_argument("--fail-at-epoch", type=int, default=None, help="crash the first attempt here")
    p.add_argument("--experiment", default="fundus")
    return p.parse_args()


def model() -> nn.Module:
    from monai.networks.nets import EfficientNet

    return EfficientNet(
        BLOCKS, spatial_dims=2, in_channels=3, num_classes=2, image_size=SIZE,
        dropout_rate=0.1, drop_connect_rate=0.0,
        norm=("batch", {"eps": 1e-3, "momentum": 0.1}),  # MONAI's 0.01 lags a short training
    )  # fmt: skip


def scores(net: nn.Module, x: torch.Tensor) -> tuple[float, np.ndarray]:
    """(mean loss against nothing, P(suspect)) in eval mode; loss is computed by the caller."""
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(x[i : i + 128]) for i in range(0, len(x), 128)])
    net.train()
    return 0.0, torch.softmax(logits, 1)[:, 1].numpy()


def val_metrics(net: nn.Module, data: Fundus) -> tuple[float, float, np.ndarray]:
    from sklearn.metrics import roc_auc_score

    _, p = scores(net, torch.from_numpy(data.images))
    y = data.labels
    loss = float(-np.mean(y * np.log(p + 1e-7) + (1 - y) * np.log(1 - p + 1e-7)))
    return loss, float(roc_auc_score(y, p)), p


def report(run: runyard.Run, net: nn.Module, data: Fundus, split: str, n_maps: int) -> float:
    """Predictions of a split and Grad-CAM maps of its first images; returns the AUC."""
    _, auc, p = val_metrics(net, data)
    run.log_predictions(split, y_true=data.labels, y_score=p, ids=data.ids,
                        class_names=["normal", "suspect"])  # fmt: skip
    n = min(n_maps, len(data.ids))
    index = run.log_saliency(
        data.images[:n], model=net, target_layer=TARGET_LAYER, method="gradcam",
        roi_masks=data.masks[:n] > 0, ids=data.ids[:n], labels=data.labels[:n].tolist(),
        class_idx=1,
    )  # fmt: skip
    inside = [e["roi_score"] for e in index["images"] if e["roi_score"] is not None]
    share = float(np.mean([e["roi_share"] for e in index["images"]]))
    mean_inside = float(np.mean(inside)) if inside else float("nan")
    print(f"{split}/auc={auc:.3f} saliency_in_disc={mean_inside:.3f} disc_share={share:.3f}",
          flush=True)  # fmt: skip
    return auc


def _val_auc(path: str) -> float:
    return float(torch.load(path, weights_only=True).get("val_auc", 0.0))


def evaluate_checkpoint(args: argparse.Namespace, data: Fundus, path: str) -> int:
    net = model()
    net.load_state_dict(torch.load(path, weights_only=True)["model"])
    with runyard.init(experiment=args.experiment, config={"checkpoint": path}) as run:
        split = os.environ.get("RUNYARD_EVAL_SPLIT") or args.split
        report(run, net, data.split(split), split, args.saliency_images)
    return 0


def main() -> int:
    args = parse()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    data = generate(args.patients, args.seed)
    if os.environ.get("RUNYARD_CHECKPOINT"):
        return evaluate_checkpoint(args, data, os.environ["RUNYARD_CHECKPOINT"])
    train, val, test = data.split("train"), data.split("val"), data.split("test")
    net = model()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    config = {k: v for k, v in vars(args).items() if k not in ("fail_at_epoch", "split")}
    with runyard.init(experiment=args.experiment, config=config) as run:
        if args.register_dataset:
            with tempfile.TemporaryDirectory() as tmp:
                version = register(write_folder(data, Path(tmp)))
            run.use_dataset(f"fundus@{version}")
        run.define_metric("val/auc", goal="max", primary=True)
        run.define_metric("val/loss", goal="min")
        start, step = 0, 0
        if run.resume_from:
            state = torch.load(run.resume_from, weights_only=True)
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start, step = int(state["epoch"]) + 1, int(state["step"])
            print(f"resumed from {run.resume_from} at epoch {start}", flush=True)
        stopper = runyard.EarlyStopping(run, monitor="val/auc", goal="max", patience=args.patience)
        x, y = torch.from_numpy(train.images), torch.from_numpy(train.labels)
        generator = torch.Generator().manual_seed(args.seed)
        for epoch in range(start, args.epochs):
            t0 = time.perf_counter()
            for _ in range(epoch + 1 if epoch < start + 1 else 1):  # same order after a resume
                order = torch.randperm(len(x), generator=generator)
            for i in range(0, len(order), args.batch_size):
                idx = order[i : i + args.batch_size]
                batch = x[idx]
                if torch.rand(1, generator=generator).item() < 0.5:
                    batch = batch.flip(-1)  # a left eye looks like a mirrored right eye
                loss = nn.functional.cross_entropy(net(batch), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                run.log({"train/loss": loss.item()}, step=step)
            val_loss, val_auc, _ = val_metrics(net, val)
            run.log({"val/loss": val_loss, "val/auc": val_auc}, step=step, epoch=epoch)
            run.progress(epoch + 1, total=args.epochs)
            path = os.path.join(run.dir, "checkpoints", f"epoch-{epoch:03d}.pt")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch, "step": step, "val_auc": val_auc}, path)  # fmt: skip
            run.checkpoint(path, step=step, epoch=epoch, metrics={"val/auc": val_auc})
            print(f"epoch {epoch + 1}/{args.epochs} val/loss={val_loss:.4f} val/auc={val_auc:.3f}"
                  f" ({time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
            if args.fail_at_epoch == epoch and os.environ.get("RUNYARD_ATTEMPT", "1") == "1":
                print(f"simulated crash after epoch {epoch}", file=sys.stderr, flush=True)
                raise SystemExit(1)
            if stopper.step(val_auc, epoch):
                print(f"early stop at epoch {epoch}", flush=True)
                break
        best = max(glob.glob(os.path.join(run.dir, "checkpoints", "*.pt")), key=_val_auc)
        net.load_state_dict(torch.load(best, weights_only=True)["model"])
        print(f"testing the best checkpoint, {os.path.basename(best)}", flush=True)
        report(run, net, test, "test", args.saliency_images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
