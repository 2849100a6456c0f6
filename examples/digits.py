#!/usr/bin/env python
"""Train a small MLP on scikit-learn's handwritten digits (8×8 images, 10 classes), for real,
on the CPU, reporting everything through the runyard SDK: config, per-step and per-epoch
metrics, progress, a checkpoint per epoch, early stopping, and resume after a crash.

    python examples/digits.py --epochs 30 --lr 0.001                 # tracked on RUNYARD_URL
    runyard submit -e digits -p lr=0.001 -- python examples/digits.py --lr 0.001

`--fail-at-epoch N` makes the first attempt crash after epoch N (exit 1), to show a retry that
resumes from the last checkpoint (`run.resume_from`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import runyard


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--patience", type=int, default=5, help="epochs without val/loss improvement")
    p.add_argument("--min-delta", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fail-at-epoch", type=int, default=None, help="crash the first attempt here")
    p.add_argument("--epoch-sleep", type=float, default=0.0, help="slow down, for a live demo")
    p.add_argument("--experiment", default="digits")
    return p.parse_args()


def data(seed: int) -> tuple[torch.Tensor, ...]:
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_rest, y_train, y_rest = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y
    )
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    return tuple(torch.from_numpy(a) for a in (x_train, y_train, x_val, y_val, x_test, y_test))


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).float().mean().item()
    model.train()
    return loss, acc


def main() -> int:
    args = parse()
    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val, x_test, y_test = data(args.seed)
    model = nn.Sequential(
        nn.Linear(64, args.hidden), nn.ReLU(), nn.Dropout(args.dropout), nn.Linear(args.hidden, 10)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    config = {k: v for k, v in vars(args).items() if k not in ("fail_at_epoch", "epoch_sleep")}
    with runyard.init(experiment=args.experiment, config=config) as run:
        run.define_metric("val/loss", goal="min", primary=True)
        run.define_metric("val/acc", goal="max")
        run.define_metric("train/loss", goal="min")
        start, step = 0, 0
        if run.resume_from:
            state = torch.load(run.resume_from, weights_only=True)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start, step = int(state["epoch"]) + 1, int(state["step"])
            print(f"resumed from {run.resume_from} at epoch {start}", flush=True)
        stopper = runyard.EarlyStopping(
            run, monitor="val/loss", goal="min", patience=args.patience, min_delta=args.min_delta
        )
        generator = torch.Generator().manual_seed(args.seed)
        for epoch in range(start, args.epochs):
            t0 = time.perf_counter()
            order = torch.randperm(len(x_train), generator=generator)
            for i in range(0, len(order), args.batch_size):
                idx = order[i : i + args.batch_size]
                loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                run.log({"train/loss": loss.item()}, step=step)
            val_loss, val_acc = evaluate(model, x_val, y_val)
            run.log({"val/loss": val_loss, "val/acc": val_acc}, step=step, epoch=epoch)
            run.progress(epoch + 1, total=args.epochs)
            path = os.path.join(run.dir, "checkpoints", f"epoch-{epoch:03d}.pt")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            torch.save(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "epoch": epoch, "step": step},
                path,
            )  # fmt: skip
            run.checkpoint(path, step=step, epoch=epoch, metrics={"val/loss": val_loss})
            print(
                f"epoch {epoch + 1}/{args.epochs} val/loss={val_loss:.4f} val/acc={val_acc:.3f}"
                f" ({time.perf_counter() - t0:.2f} s)",
                flush=True,
            )
            if args.fail_at_epoch == epoch and os.environ.get("RUNYARD_ATTEMPT", "1") == "1":
                print(f"simulated crash after epoch {epoch}", file=sys.stderr, flush=True)
                raise SystemExit(1)
            if stopper.step(val_loss, epoch):
                print(
                    f"early stop at epoch {epoch}: no improvement for {args.patience}", flush=True
                )
                break
            time.sleep(args.epoch_sleep)
        test_loss, test_acc = evaluate(model, x_test, y_test)
        run.log({"test/loss": test_loss, "test/acc": test_acc}, step=step)
        print(f"test/acc={test_acc:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
