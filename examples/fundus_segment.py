#!/usr/bin/env python
"""Segment the optic disc and its cup in synthetic fundus images with a small MONAI UNet
(~12k parameters), on the CPU, through the runyard SDK: Dice per epoch, a checkpoint per
epoch, early stopping, resume on retry, then the validation masks (`run.log_predictions`):
the server reports Dice and IoU per class (1 disc rim, 2 cup) and the worst images.

    python examples/fundus_segment.py                   # tracked on RUNYARD_URL
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import runyard

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fundus_data import Fundus, generate  # noqa: E402


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--patients", type=int, default=150)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fail-at-epoch", type=int, default=None, help="crash the first attempt here")
    p.add_argument("--experiment", default="fundus-seg")
    return p.parse_args()


def model() -> nn.Module:
    from monai.networks.nets import UNet

    return UNet(spatial_dims=2, in_channels=3, out_channels=3, channels=(8, 16, 32),
                strides=(2, 2), num_res_units=1)  # fmt: skip


def predict(net: nn.Module, data: Fundus) -> np.ndarray:
    net.eval()
    x = torch.from_numpy(data.images)
    with torch.no_grad():
        out = torch.cat([net(x[i : i + 64]).argmax(1) for i in range(0, len(x), 64)])
    net.train()
    return out.numpy().astype(np.uint8)


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean Dice of the disc (rim + cup) and the cup, as a quick per-epoch figure."""
    out = []
    for p, t in ((pred > 0, truth > 0), (pred == 2, truth == 2)):
        out.append(2 * float((p & t).sum()) / max(float(p.sum() + t.sum()), 1.0))
    return float(np.mean(out))


def main() -> int:
    from monai.losses import DiceCELoss

    args = parse()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    data = generate(args.patients, args.seed)
    train, val = data.split("train"), data.split("val")
    net = model()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    config = {k: v for k, v in vars(args).items() if k != "fail_at_epoch"}
    with runyard.init(experiment=args.experiment, config=config) as run:
        run.define_metric("val/dice", goal="max", primary=True)
        start, step = 0, 0
        if run.resume_from:
            state = torch.load(run.resume_from, weights_only=True)
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start, step = int(state["epoch"]) + 1, int(state["step"])
            print(f"resumed from {run.resume_from} at epoch {start}", flush=True)
        stopper = runyard.EarlyStopping(
            run, monitor="val/dice", goal="max", patience=args.patience, min_delta=1e-3
        )
        x = torch.from_numpy(train.images)
        y = torch.from_numpy(train.masks.astype(np.int64))[:, None]
        generator = torch.Generator().manual_seed(args.seed + start)
        for epoch in range(start, args.epochs):
            t0 = time.perf_counter()
            order = torch.randperm(len(x), generator=generator)
            for i in range(0, len(order), args.batch_size):
                idx = order[i : i + args.batch_size]
                loss = loss_fn(net(x[idx]), y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                run.log({"train/loss": loss.item()}, step=step)
            val_dice = dice(predict(net, val), val.masks)
            run.log({"val/dice": val_dice}, step=step, epoch=epoch)
            run.progress(epoch + 1, total=args.epochs)
            path = os.path.join(run.dir, "checkpoints", f"epoch-{epoch:03d}.pt")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.save({"model": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch, "step": step}, path)  # fmt: skip
            run.checkpoint(path, step=step, epoch=epoch, metrics={"val/dice": val_dice})
            print(f"epoch {epoch + 1}/{args.epochs} val/dice={val_dice:.3f}"
                  f" ({time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
            if args.fail_at_epoch == epoch and os.environ.get("RUNYARD_ATTEMPT", "1") == "1":
                print(f"simulated crash after epoch {epoch}", file=sys.stderr, flush=True)
                raise SystemExit(1)
            if stopper.step(val_dice, epoch):
                print(f"early stop at epoch {epoch}", flush=True)
                break
        disc = predict(net, val)
        run.log_predictions("val", masks=val.masks, preds=disc, ids=val.ids)
        print(f"val/dice={dice(disc, val.masks):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
