"""Trains for a while without the SDK, then stops early: progress.json and metrics.jsonl."""

import json
import os

run_dir = os.environ["RUNYARD_RUN_DIR"]
total, stop_at = 100, 57
with open(os.path.join(run_dir, "metrics.jsonl"), "a") as f:
    for epoch in range(stop_at):
        f.write(json.dumps({"step": epoch, "epoch": epoch, "val/loss": 1.0 / (epoch + 1)}) + "\n")
with open(os.path.join(run_dir, "progress.json"), "w") as f:
    json.dump(
        {
            "completed_epochs": stop_at,
            "total_epochs": total,
            "progress_percentage": 57.0,
            "early_stopped": True,
            "early_stopped_at_epoch": stop_at,
        },
        f,
    )
with open(os.path.join(run_dir, "artifacts", "model.bin"), "wb") as f:
    f.write(b"x" * 2048)
print("stopped early", flush=True)
