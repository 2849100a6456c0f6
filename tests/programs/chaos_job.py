"""A job of the chaos test: `ok N` logs steps 0..N-1 with the SDK and exits 0;
`crash-resume N` logs the first half, checkpoints and exits 3 on attempt 1, then resumes
from the checkpoint and logs the rest. It prints nothing: its log may be on a full disk, and
it waits for space to write its checkpoint (a program that crashed there would rightly start
again from step 0 on its retry, and log its first half twice)."""

import errno
import os
import sys
import time

import runyard

mode, n = sys.argv[1], int(sys.argv[2])
attempt = int(os.environ["RUNYARD_ATTEMPT"])


def while_full(write):  # noqa: ANN001, ANN201
    """``write()``, again every 0.1 s while the disk is full."""
    while True:
        try:
            return write()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            time.sleep(0.1)


def save(path: str, stop: int) -> None:
    with open(path, "w") as f:
        f.write(str(stop))


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
        while_full(lambda: save(path, stop))
        while_full(lambda: run.checkpoint(path, step=stop, name="resume.txt"))
        run.finish("failed")
        sys.exit(3)
