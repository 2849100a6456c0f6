"""Three short epochs with the SDK: a metric and progress after each."""

import sys
import time

import runyard

pause = float(sys.argv[1]) if len(sys.argv) > 1 else 0.3
with runyard.init() as run:
    run.define_metric("loss", goal="min", primary=True)
    for epoch in range(3):
        time.sleep(pause)
        run.log({"loss": 1.0 / (epoch + 1)}, step=epoch)
        run.progress(epoch + 1, total=3)
