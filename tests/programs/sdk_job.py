"""A job that uses the SDK: attempt 1 checkpoints and dies by SIGKILL right away; attempt 2
prints where it resumes from and completes."""

import os
import signal
import sys

import runyard

attempt = int(os.environ["RUNYARD_ATTEMPT"])
with runyard.init(config={"epochs": 2}) as run:
    sys.stdout.write(f"attempt {attempt} resume_from={run.resume_from}\n")
    sys.stdout.flush()
    run.log({"loss": 1.0 / attempt}, step=attempt)
    if attempt == 1:
        weights = os.path.join(run.dir, "weights.tmp")
        with open(weights, "wb") as f:
            f.write(b"weights of epoch 0")
        run.checkpoint(weights, step=1, epoch=0, name="epoch-0.pt")
        os.kill(os.getpid(), signal.SIGKILL)  # no time to deliver anything
