"""Holds MB of memory in a child process that also keeps one core busy; the parent waits.

The resources are all in the child, so a sampler that sees them sees the whole tree.
Prints "started" once the child holds its memory.
"""

import subprocess
import sys

mb = int(sys.argv[1]) if len(sys.argv) > 1 else 64
code = f"""
import time
block = b"x" * ({mb} * 1024 * 1024)  # touched, so resident
print("ready", flush=True)
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    pass
"""
child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
child.stdout.readline()
print("started", flush=True)
child.wait()
