"""Writes progress.json (epoch 2), reports epoch 5 through the SDK, waits for a gate file,
then writes progress.json again (epoch 7)."""

import json
import os
import sys
import time
from pathlib import Path

import runyard

run_dir = Path(os.environ["RUNYARD_RUN_DIR"])
gate = Path(sys.argv[1])
(run_dir / "progress.json").write_text(json.dumps({"completed_epochs": 2, "total_epochs": 10}))
with runyard.init() as run:
    run.progress(5, total=10)
    run._transport.flush(30)
    print("reported", flush=True)
    while not gate.exists():
        time.sleep(0.05)
    tmp = run_dir / ".progress.tmp"
    tmp.write_text(json.dumps({"completed_epochs": 7, "total_epochs": 10}))
    os.replace(tmp, run_dir / "progress.json")
    while not (gate.parent / "done").exists():
        time.sleep(0.05)
