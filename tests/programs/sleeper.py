"""Sleeps; with --children, also leaves a child and a grandchild in its process group."""

import os
import subprocess
import sys
import time

seconds = float(sys.argv[1])
if "--children" in sys.argv:
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"
    child = subprocess.Popen([sys.executable, "-c", code])
    with open(os.path.join(os.environ["RUNYARD_RUN_DIR"], "child.pid"), "w") as f:
        f.write(str(child.pid))
if "--ignore-term" in sys.argv:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("started", flush=True)
time.sleep(seconds)
print("done", flush=True)
