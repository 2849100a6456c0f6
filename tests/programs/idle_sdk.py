"""A tracked-only script (no runner): logs a few points, prints "idle", then waits forever
without logging, so that only its SDK's heartbeats say it is alive."""

from __future__ import annotations

import sys
import time

import runyard

run = runyard.init(experiment="heartbeat", name=sys.argv[1])
for step in range(3):
    run.log({"loss": 1.0 / (step + 1)}, step=step)

print(f"idle {run.id}", flush=True)
while True:
    time.sleep(3600)
