"""A job that tries to outlive its attempt: a child in its process group, and a daemon that
double-forks, calls setsid (leaving the group) and ignores SIGTERM.

    escaper.py MODE MARKER PIDFILE    MODE: ok (exit 0), fail (exit 3), hang (sleep)

Every process it starts carries MARKER in its command line; PIDFILE gets one pid a line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"


def main() -> None:
    mode, marker, pidfile = sys.argv[1:4]
    child = subprocess.Popen([sys.executable, "-c", STUBBORN, marker, "child"])
    read_end, write_end = os.pipe()
    first = os.fork()
    if first == 0:
        os.setsid()
        second = os.fork()
        if second == 0:
            os.close(read_end)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.write(write_end, f"{os.getpid()}\n".encode())
            os.close(write_end)
            os.execv(sys.executable, [sys.executable, "-c", STUBBORN, marker, "daemon"])
        os._exit(0)
    os.close(write_end)
    os.waitpid(first, 0)  # the daemon's parent is gone: it is an orphan now
    daemon = os.read(read_end, 64).decode().strip()
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n{child.pid}\n{daemon}\n")
    os.replace(pidfile + ".tmp", pidfile)
    print("escaped", flush=True)
    if mode == "ok":
        sys.exit(0)
    if mode == "fail":
        sys.exit(3)
    time.sleep(600)


if __name__ == "__main__":
    main()
