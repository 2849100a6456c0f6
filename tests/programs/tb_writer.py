"""Writes TensorBoard scalars with torch's SummaryWriter into two folders, like Lightning's
and the Hugging Face Trainer's default loggers do, then waits for a `go` file and writes more.

Usage: tb_writer.py CWD_LOGDIR GO_FILE. The second writer logs under $RUNYARD_RUN_DIR/tb.
"""

import os
import sys
import time

from torch.utils.tensorboard import SummaryWriter

logdir, go = sys.argv[1], sys.argv[2]
here = SummaryWriter(logdir)
there = SummaryWriter(os.path.join(os.environ["RUNYARD_RUN_DIR"], "tb"))
for step in range(10):
    here.add_scalar("train/loss", 1.0 / (step + 1), step)
    there.add_scalar("val/acc", step / 10, step * 2)
here.flush()
there.flush()
print("first half written", flush=True)
deadline = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.05)
for step in range(10, 20):
    here.add_scalar("train/loss", 1.0 / (step + 1), step)
here.close()
there.close()
