"""Trains nothing real: saves three checkpoints scored val/auc 0.6, 0.9, 0.7; started with
RUNYARD_CHECKPOINT (an evaluation job), logs predictions made from that checkpoint instead."""

import json
import os
import sys

import runyard

with runyard.init() as run:
    checkpoint = os.environ.get("RUNYARD_CHECKPOINT")
    if checkpoint:
        with open(checkpoint) as f:
            state = json.load(f)
        print(
            f"evaluating {os.path.basename(checkpoint)} of {os.environ['RUNYARD_EVALUATES']}"
            f" on {os.environ['RUNYARD_EVAL_SPLIT']}",
            flush=True,
        )
        y = [0, 0, 1, 1, 0, 1]
        score = [min(1.0, max(0.0, v * state["quality"] + 0.5 * (1 - state["quality"]))) for v in y]
        run.log_predictions(os.environ["RUNYARD_EVAL_SPLIT"], y_true=y, y_score=score)
        sys.exit(0)
    run.define_metric("val/auc", goal="max", primary=True)
    for i, auc in enumerate([0.6, 0.9, 0.7]):
        path = os.path.join(run.dir, "checkpoints", f"ckpt-{i}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"quality": auc}, f)
        run.log({"val/auc": auc}, step=i)
        run.checkpoint(path, step=i, metrics={"val/auc": auc})
