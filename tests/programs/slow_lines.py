"""Writes its log on cue: `line-1` and half a line at once, the rest once the test creates
`go` in the run dir, and a last line without a newline."""

import os
import sys
import time

go = os.path.join(os.environ["RUNYARD_RUN_DIR"], "go")
sys.stdout.write("line-1\npart")  # one write: a reader sees both or neither
sys.stdout.flush()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit(4)
    time.sleep(0.02)
sys.stdout.write("ial\n")
for i in range(2, 6):
    print(f"line-{i}", flush=True)
    time.sleep(0.05)
sys.stdout.write("no-newline")
sys.stdout.flush()
