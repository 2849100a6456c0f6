"""Holds MB of memory in a child process that also keeps one core busy; the parent waits.

The resources are all in the child, so a sampler that sees them sees the whole tree.
"""

import subprocess
import sys

mb = int(sys.argv[1]) if len(sys.argv) > 1 else 64
code = f"""
import time
block = b"x" * ({mb} * 1024 * 1024)  # touched, so resident
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    pass
"""
print("started", flush=True)
subprocess.run([sys.executable, "-c", code], check=False)
