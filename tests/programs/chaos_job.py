"""A job of the chaos test: `ok N` logs steps 0..N-1 with the SDK and exits 0;
`crash-resume N` logs the first half, checkpoints and exits 3 on attempt 1, then resumes
from the checkpoint and logs the rest. It prints nothing: its log may be on a full disk."""

import os
import sys
import time

import runyard

mode, n = sys.argv[1], int(sys.argv[2])
attempt = int(os.environ["RUNYARD_ATTEMPT"])
with runyard.init() as run:
    start = 0
    if mode == "crash-resume" and run.resume_from:
        with open(run.resume_from) as f:
            start = int(f.read())
    stop = n // 2 if mode == "crash-resume" and attempt == 1 else n
    for step in range(start, stop):
        run.log({"loss": 1.0 / (step + 1), "step_copy": float(step)}, step=step)
        time.sleep(0.01)
    if mode == "crash-resume" and attempt == 1:
        path = os.path.join(run.dir, "resume.txt")
        with open(path, "w") as f:
            f.write(str(stop))
        run.checkpoint(path, step=stop, name="resume.txt")
        run.finish("failed")
        sys.exit(3)
