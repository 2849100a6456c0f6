"""Prints nanoGPT's log lines for N iterations, then waits for a `go` file, then N more.

Usage: nanogpt_lines.py N GO_FILE. No SDK, no metrics.jsonl: only stdout.
"""

import os
import sys
import time

n, go = int(sys.argv[1]), sys.argv[2]


def lines(start: int) -> None:
    for i in range(start, start + n):
        if i % 5 == 0:
            print(f"step {i}: train loss {3 - i / 100:.4f}, val loss {3.1 - i / 120:.4f}")
        print(f"iter {i}: loss {3 - i / 100:.4f}, time 12.50ms, mfu 0.10%", flush=True)


lines(0)
deadline = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < deadline:
    time.sleep(0.05)
lines(n)
