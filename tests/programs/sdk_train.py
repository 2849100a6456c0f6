"""A training-like program that uses the SDK: deterministic metrics, params, goals, progress,
checkpoints and early stopping, so that two runs of it can be compared point by point.

It measures each `run.log` call itself and prints one JSON line at the end:
{"run_id", "run_dir", "offline", "calls", "max_ns", "median_ns"}. While logging it prints
"logged N" lines so that a test knows how far it got.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from array import array

import runyard


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--keys", type=int, default=3)
    p.add_argument("--epochs", type=int, default=4, help="checkpoint and progress per epoch")
    p.add_argument("--pace-every", type=int, default=0, help="sleep every N steps (0: never)")
    p.add_argument("--pace-s", type=float, default=0.01)
    p.add_argument("--report-every", type=int, default=0, help="print 'logged N' every N steps")
    p.add_argument("--forever", action="store_true", help="log until killed")
    p.add_argument("--early-stop", action="store_true", help="stop after 2 epochs w/o progress")
    p.add_argument("--fail", action="store_true", help="raise after logging")
    p.add_argument("--name", default=None)
    p.add_argument("--own-sigterm", action="store_true", help="stop gracefully on SIGTERM")
    a = p.parse_args()
    stop = []
    if a.own_sigterm:  # installed before init: the SDK chains to it
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))

    keys = [f"train/m{i}" for i in range(a.keys)]
    per_epoch = max(1, a.steps // a.epochs)
    times = array("q")
    clock = time.perf_counter_ns
    with runyard.init(
        experiment="sdk-tests", name=a.name, config={"lr": 0.01, "keys": a.keys}, tags=["t"]
    ) as run:
        run.define_metric("val/loss", goal="min", primary=True)
        stopper = runyard.EarlyStopping(run, monitor="val/loss", patience=2)
        ckpt = os.path.join(run.dir, "model.tmp")
        step = 0
        while (a.forever or step < a.steps) and not stop:
            row = {k: step * 0.5 + i for i, k in enumerate(keys)}
            t0 = clock()
            run.log(row, epoch=step // per_epoch)
            times.append(clock() - t0)
            step += 1
            if a.report_every and step % a.report_every == 0:
                sys.stdout.write(f"logged {step}\n")
                sys.stdout.flush()
            if a.pace_every and step % a.pace_every == 0:
                time.sleep(a.pace_s)
            if not a.forever and step % per_epoch == 0:
                epoch = step // per_epoch - 1
                val = 1.0 / (epoch + 1) if not a.early_stop or epoch < 1 else 0.5 + epoch
                run.log({"val/loss": val}, step=step - 1)
                run.progress(epoch + 1, total=a.epochs)
                with open(ckpt, "wb") as f:
                    f.write(f"weights at epoch {epoch}".encode())
                run.checkpoint(
                    ckpt, step=step - 1, epoch=epoch, metrics={"val/loss": val},
                    name=f"epoch-{epoch}.pt",
                )  # fmt: skip
                os.remove(ckpt)  # the placed hard link keeps the data
                run.log_params({f"seen_epoch_{epoch}": True})
                if stopper.step(val, epoch):
                    break
        if a.fail:
            raise RuntimeError("failing on purpose")
    sys.stdout.write(
        json.dumps(
            {
                "run_id": run.id,
                "run_dir": str(run.dir),
                "offline": run.offline,
                "delivered": run.delivered,
                "calls": len(times),
                "max_ns": max(times),
                "median_ns": statistics.median(times),
                "stopped_by_signal": bool(stop),
            }
        )
        + "\n"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
