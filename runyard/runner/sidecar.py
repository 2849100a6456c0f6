"""The entrypoint wrapper of a job on a node without the server's disk.

`python -m runyard.runner.sidecar CMD [ARG...]` runs the command (its output and exit status
are the job's) and, every few seconds and once at its end, ships `progress.json` and
`metrics.jsonl` from the local run dir to the server when they changed: what a program that
does not use the SDK writes reaches the server as on one machine. Each file is sent whole,
from a snapshot, through the upload route (checked by SHA-256, replaced atomically); the
server reads metrics.jsonl from where it stopped, so a resend is never stored twice.
SIGTERM and SIGINT are passed on to the command.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from runyard.sdk._upload import Uploader

SHIPPED = ("progress.json", "metrics.jsonl")
PERIOD_S = 2.0
SNAPSHOTS = ".sidecar"


def _ship(uploader: Uploader, run_dir: Path, seen: dict[str, tuple[int, int]]) -> None:
    for name in SHIPPED:
        path = run_dir / name
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        mark = (st.st_size, st.st_mtime_ns)
        if seen.get(name) == mark:
            continue
        seen[name] = mark
        snapshot = run_dir / SNAPSHOTS / name
        snapshot.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, snapshot)
        uploader.send(name, source=snapshot)


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python -m runyard.runner.sidecar CMD [ARG...]\n")
        return 2
    run_dir = Path(os.environ.get("RUNYARD_RUN_DIR") or "runyard-run").absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ["RUNYARD_RUN_DIR"] = str(run_dir)
    child = subprocess.Popen(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
    uploader = Uploader(
        os.environ["RUNYARD_URL"],
        os.environ.get("RUNYARD_TOKEN"),
        os.environ["RUNYARD_RUN_ID"],
        run_dir,
    )
    seen: dict[str, tuple[int, int]] = {}
    while True:
        try:
            code = child.wait(PERIOD_S)
            break
        except subprocess.TimeoutExpired:
            _ship(uploader, run_dir, seen)
    _ship(uploader, run_dir, seen)
    uploader.close(60.0)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
