#!/usr/bin/env python
"""Softmax regression on scikit-learn's digits, in NumPy: a real model that trains in about a
second, for sweeps (examples/sweeps/digits.yaml). It logs val/loss and val/acc each epoch
(step = epoch) through the runyard SDK.

    python examples/softmax_digits.py --lr 0.1 --l2 0.001
    runyard sweep create -f examples/sweeps/digits.yaml -- \\
        python examples/softmax_digits.py --lr {lr} --l2 {l2}
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import runyard


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--l2", type=float, default=0.0, help="weight decay")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epoch-sleep", type=float, default=0.1, help="slow down, to watch it live")
    return p.parse_args()


def loss_and_acc(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    logits = x @ w
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean()), float((logits.argmax(1) == y).mean())


def main() -> None:
    args = parse()
    digits = load_digits()
    x = np.hstack([digits.data / 16.0, np.ones((len(digits.data), 1))])  # a bias column
    x_train, x_val, y_train, y_val = train_test_split(
        x, digits.target, test_size=0.3, random_state=0, stratify=digits.target
    )
    rng = np.random.default_rng(args.seed)
    w = np.zeros((x.shape[1], 10))
    with runyard.init(experiment="softmax-digits", config=vars(args)) as run:
        run.define_metric("val/loss", goal="min", primary=True)
        for epoch in range(args.epochs):
            order = rng.permutation(len(y_train))
            for start in range(0, len(order), args.batch_size):
                idx = order[start : start + args.batch_size]
                logits = x_train[idx] @ w
                p = np.exp(logits - logits.max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                p[np.arange(len(idx)), y_train[idx]] -= 1.0
                w -= args.lr * (x_train[idx].T @ p / len(idx) + args.l2 * w)
            val_loss, val_acc = loss_and_acc(w, x_val, y_val)
            run.log({"val/loss": val_loss, "val/acc": val_acc}, step=epoch, epoch=epoch)
            run.progress(epoch + 1, total=args.epochs)
            print(f"epoch {epoch + 1}/{args.epochs} val/loss={val_loss:.4f} val/acc={val_acc:.3f}")
            time.sleep(args.epoch_sleep)


if __name__ == "__main__":
    main()
