"""A sweep trial: a loss that falls with the steps and whose level the parameters set, so that
every step ranks the trials the same way (the best trial is known: lr=0.01, width=64, adam).

    sweep_trial.py --lr LR --width W --opt adam|sgd [--steps N] [--sleep S] [--key K]
"""

import argparse
import math
import time

import runyard

p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, required=True)
p.add_argument("--width", type=int, default=64)
p.add_argument("--opt", default="adam")
p.add_argument("--steps", type=int, default=8)
p.add_argument("--sleep", type=float, default=0.05)
p.add_argument("--key", default="val/loss")
args = p.parse_args()

level = (math.log10(args.lr) + 2) ** 2 + ((args.width - 64) / 100) ** 2
level += 0.0 if args.opt == "adam" else 0.3
with runyard.init() as run:
    for step in range(args.steps):
        run.log({args.key: level + 1.0 / (step + 1), "train/loss": level}, step=step)
        time.sleep(args.sleep)
