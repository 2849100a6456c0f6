"""The entrypoint wrapper of a job on a node without the server's disk.

`python -m runyard.runner.sidecar CMD [ARG...]` runs the command (its output and exit status
are the job's) and, every few seconds and once at its end, ships `progress.json` and
`metrics.jsonl` from the local run dir to the server when they changed: what a program that
does not use the SDK writes reaches the server as on one machine. Each file is sent whole,
from a snapshot, through the upload route (checked by SHA-256, replaced atomically); the
server reads metrics.jsonl from where it stopped, so a resend is never stored twice.
SIGTERM and SIGINT are passed on to the command.

On a retry it first downloads the checkpoint to resume from into the local run dir (checked
by its SHA-256) and puts that node-local path where the command has `{resume_from}` (what
`resume_args` left for it); the SDK's `run.resume_from` then finds it already there.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from runyard.sdk._upload import Uploader, fetch_resume

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


def with_resume(argv: list[str], path: Path) -> list[str]:
    """`{resume_from}` filled in: a word of its own, or quoted inside a `sh -c` string."""
    slot = "{resume_from}"
    return [
        str(path)
        if arg == slot
        else arg.replace(shlex.quote(slot), shlex.quote(str(path))).replace(slot, str(path))
        for arg in argv
    ]


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python -m runyard.runner.sidecar CMD [ARG...]\n")
        return 2
    run_dir = Path(os.environ.get("RUNYARD_RUN_DIR") or "runyard-run").absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ["RUNYARD_RUN_DIR"] = str(run_dir)
    url, token, run_id = (
        os.environ["RUNYARD_URL"],
        os.environ.get("RUNYARD_TOKEN"),
        os.environ["RUNYARD_RUN_ID"],
    )
    resume = fetch_resume(url, token, run_id, run_dir)
    if resume is not None:
        argv = with_resume(argv, resume)
    child = subprocess.Popen(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
    uploader = Uploader(url, token, run_id, run_dir)
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
