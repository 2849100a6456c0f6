"""The supervisor of one attempt: `python -m runyard.runner.shim` with its launch on stdin.

Started by the server in a session of its own, so that it outlives a server restart. It
starts the command in its own process group with output appended to the attempt's log,
enforces the timeout, turns SIGTERM into SIGTERM for the whole group and SIGKILL after the
grace time, kills what is left of the group when the command ends, and writes how it ended
to the exit file atomically (temp file + rename). It sleeps on a pidfd and a signal wakeup
pipe: no polling. Processes that leave the group (`setsid`) are still ended: the shim is a
child subreaper and, where cgroup v2 is writable, the attempt has its own cgroup (_reaper.py).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

try:
    from runyard.runner import _reaper
except ImportError:  # run as a file with -I -S (see local.py): the sibling module
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # after the stdlib
    import _reaper  # type: ignore[import-not-found, no-redef]

EXIT_RETRY_MAX_S = 5.0
AFTER_TOLD_S = 600.0  # how long a told outcome is still written to the file


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _signal_the_rest(pid: int, cgroup: Any, sig: int) -> None:
    """What left the command's process group: the cgroup's members, the orphans."""
    if cgroup is not None:
        cgroup.signal(sig)
    _reaper.signal_descendants(sig, keep=pid)


def _write_exit(path: str, outcome: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(outcome, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _note(log: Any, text: str) -> None:
    with contextlib.suppress(OSError):  # a full disk must not stop the supervision
        log.write(f"[runyard] {text}\n".encode())


def exit_socket(shim_pid: int) -> str:
    """The abstract unix socket (no file) on which a shim tells its outcome while the exit
    file cannot be written."""
    return f"\0runyard-shim-{shim_pid}"


class _Teller:
    """Answers every connection to `exit_socket` with the outcome, from a daemon thread;
    `told` is set once a reader (the scheduler) has been sent it whole."""

    def __init__(self, outcome: dict[str, Any]):
        self.told = threading.Event()
        self._body = json.dumps(outcome).encode()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(exit_socket(os.getpid()))
        self._server.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            with conn, contextlib.suppress(OSError):
                conn.sendall(self._body)
                self.told.set()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accept
        self._server.close()


def deliver(path: str, outcome: dict[str, Any], after_told_s: float = AFTER_TOLD_S) -> bool:
    """Write the exit file; on a full disk keep the outcome in memory, tell it on the exit
    socket, and retry with backoff until the file is written. True if it was.

    Gives up when the run's folder is gone (the run was deleted: nobody will read the file),
    or ``after_told_s`` after the scheduler was told the outcome on the socket (it is in the
    store then; the file would only repeat it), so that the shim never lingers forever.
    """
    delay, teller, told_at = 0.05, None, None
    try:
        while True:
            try:
                _write_exit(path, outcome)
                return True
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(f"{path}.tmp")  # never a half-made exit file
                if exc.errno == errno.ENOENT and not os.path.isdir(os.path.dirname(path)):
                    return False
            if teller is None:
                teller = _Teller(outcome)
            if told_at is None and teller.told.is_set():
                told_at = time.monotonic()
            if told_at is not None and time.monotonic() - told_at >= after_told_s:
                return False
            time.sleep(delay)
            delay = min(delay * 2, EXIT_RETRY_MAX_S)
    finally:
        if teller is not None:
            teller.close()


def supervise(spec: dict[str, Any]) -> dict[str, Any]:
    log = open(spec["log_path"], "ab", buffering=0)  # noqa: SIM115 - lives as long as the shim
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    stop_requested = False

    def on_stop(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    started = time.time()
    outcome: dict[str, Any] = {"started_at": started, "timed_out": False, "cancelled": False}
    _reaper.become_subreaper()
    cgroup = _reaper.Cgroup.create(f"runyard-attempt-{os.getpid()}")
    joiner = cgroup.joiner() if cgroup is not None else None

    def join_cgroup() -> None:  # in the child, before exec: all it starts inherits the cgroup
        if joiner is not None:
            with contextlib.suppress(OSError):
                os.write(joiner, b"0")

    try:
        child = subprocess.Popen(
            spec["argv"],
            cwd=spec["cwd"],
            env=spec["env"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=join_cgroup if joiner is not None else None,
        )
    except OSError as exc:
        _reaper.end_all(cgroup)
        _note(log, f"cannot start {spec['argv'][0]!r}: {exc}")
        return {
            **outcome,
            "exit_code": 127,
            "signal": None,
            "error": str(exc),
            "ended_at": time.time(),
        }
    finally:
        if joiner is not None:
            os.close(joiner)
    outcome["child_pid"] = child.pid
    pidfd = os.pidfd_open(child.pid)
    grace = float(spec["grace_s"])
    timeout = spec.get("timeout_s")
    deadline = time.monotonic() + float(timeout) if timeout else None
    kill_at: float | None = None

    def terminate(why: str) -> None:
        nonlocal kill_at
        _note(log, f"{why}: SIGTERM to the process group, SIGKILL in {grace:g} s")
        _killpg(child.pid, signal.SIGTERM)
        _signal_the_rest(child.pid, cgroup, signal.SIGTERM)
        kill_at = time.monotonic() + grace

    while child.poll() is None:
        if stop_requested and not outcome["cancelled"] and kill_at is None:
            outcome["cancelled"] = True
            terminate("cancelled")
        now = time.monotonic()
        if deadline is not None and now >= deadline and kill_at is None:
            outcome["timed_out"] = True
            terminate(f"timed out after {timeout:g} s")
        if kill_at is not None and now >= kill_at:
            _note(log, "grace time over: SIGKILL to the process group")
            _killpg(child.pid, signal.SIGKILL)
            _signal_the_rest(child.pid, cgroup, signal.SIGKILL)
            kill_at = float("inf")
        waits = [t for t in (deadline if kill_at is None else None, kill_at) if t is not None]
        wait = max(0.0, min(waits) - time.monotonic()) if waits else None
        if wait is not None and wait == float("inf"):
            wait = None
        ready, _, _ = select.select([pidfd, wake_r], [], [], wait)
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 512)
    rc = child.returncode
    _killpg(child.pid, signal.SIGKILL)  # children and grandchildren left in the group
    _reaper.end_all(cgroup)  # and those that left it: daemons, new sessions
    return {
        **outcome,
        "exit_code": rc if rc >= 0 else None,
        "signal": -rc if rc < 0 else None,
        "ended_at": time.time(),
    }


def main() -> None:
    spec = json.loads(sys.stdin.buffer.read())
    sys.stdin.close()
    outcome = supervise(spec)
    deliver(spec["exit_path"], outcome)


if __name__ == "__main__":
    main()
