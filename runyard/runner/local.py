"""The local backend: each attempt is a shim process on this machine."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from runyard.runner import shim
from runyard.runner.backend import Handle, Launch, Outcome

START_TIME_TOLERANCE_S = 0.05  # psutil's create_time is rounded to clock ticks
# The shim is stdlib-only: run as a file in isolated mode without `site`, it starts in half
# the time of `python -m runyard.runner.shim` (no site-packages scan, no package imports).
SHIM_ARGV = [sys.executable, "-I", "-S", str(Path(shim.__file__))]


def _start_time(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _is_ours(handle: Handle) -> bool:
    """A pid is ours only if the process holding it started when ours did."""
    if handle.pid is None or handle.pid_start_time is None:
        return False
    try:
        proc = psutil.Process(handle.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - handle.pid_start_time) < START_TIME_TOLERANCE_S
    except psutil.Error:
        return False


def _watch_pid(pid: int, on_exit: Callable[[], None]) -> None:
    """Call on_exit when a process that is not our child ends (pidfd: no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        on_exit()
        return

    def wait() -> None:
        try:
            select.select([fd], [], [])
        finally:
            os.close(fd)
            on_exit()

    threading.Thread(target=wait, name=f"runyard-watch-{pid}", daemon=True).start()


def _ask(shim_pid: int) -> Outcome | None:
    """The outcome a live shim holds in memory (it could not write its exit file)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(shim.exit_socket(shim_pid))
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            return None  # not telling: the job still runs (or the file is being written)
    try:
        return _outcome(json.loads(data))
    except ValueError:
        return None


def _job_group(shim_pid: int) -> int | None:
    """The job's process group: its leader is the shim's child."""
    try:
        for child in psutil.Process(shim_pid).children():
            if os.getpgid(child.pid) == child.pid:
                return int(child.pid)
    except (psutil.Error, ProcessLookupError):
        pass
    return None


def _group_by_env(launch: Launch) -> int | None:
    """After a restart whose shim is gone: find the job by the environment it was given."""
    want = {"RUNYARD_RUN_ID": launch.run_id, "RUNYARD_ATTEMPT": str(launch.attempt)}
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if all(env.get(k) == v for k, v in want.items()):
                return os.getpgid(proc.pid)
        except (psutil.Error, ProcessLookupError):
            continue
    return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return any(
        p.info["status"] != psutil.STATUS_ZOMBIE
        for p in psutil.process_iter(["status"])
        if _pgid(p.pid) == pgid
    )


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def read_outcome(path: Path) -> Outcome | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return Outcome(None, None, lost=True, detail=f"exit file {path.name} is corrupt")
    return _outcome(data)


def _outcome(data: dict[str, Any]) -> Outcome:
    return Outcome(
        exit_code=data.get("exit_code"),
        signal=data.get("signal"),
        timed_out=bool(data.get("timed_out")),
        cancelled=bool(data.get("cancelled")),
        ended_at=data.get("ended_at"),
        detail=data.get("error"),
    )


class LocalBackend:
    name = "local"

    def __init__(self) -> None:
        self._children: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
        self._groups: dict[tuple[str, int], int | None] = {}  # the job's process group
        self._lock = threading.Lock()

    def start(self, launch: Launch, on_exit: Callable[[], None]) -> Handle:
        launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        spec = {
            "argv": launch.argv,
            "cwd": launch.cwd,
            "env": launch.env,
            "log_path": str(launch.log_path),
            "exit_path": str(launch.exit_path),
            "timeout_s": launch.timeout_s,
            "grace_s": launch.grace_s,
        }
        with open(launch.log_path, "ab") as log:
            proc = subprocess.Popen(
                SHIM_ARGV,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        with self._lock:
            self._children[(launch.run_id, launch.attempt)] = proc

        def reap() -> None:
            proc.wait()
            on_exit()

        threading.Thread(target=reap, name=f"runyard-reap-{proc.pid}", daemon=True).start()
        return Handle(pid=proc.pid, pid_start_time=_start_time(proc.pid))

    def poll(self, launch: Launch, handle: Handle) -> Outcome | None:
        """The outcome from the exit file, else from the shim itself (it holds it while a
        full disk keeps it from writing the file), else, once the shim and the job's process
        group are both gone, `lost`."""
        outcome = read_outcome(launch.exit_path)
        if outcome is not None:
            self._forget(launch)
            return outcome
        key = (launch.run_id, launch.attempt)
        with self._lock:
            proc = self._children.get(key)
        alive = proc.poll() is None if proc is not None else _is_ours(handle)
        if alive:
            assert handle.pid is not None
            told = _ask(handle.pid)
            if told is not None:
                self._forget(launch)
                return told
            if self._groups.get(key) is None:
                self._groups[key] = _job_group(handle.pid)
            return None
        outcome = read_outcome(launch.exit_path)  # written just before the shim exited
        if outcome is not None:
            self._forget(launch)
            return outcome
        group = self._groups.get(key) or _group_by_env(launch)
        if group is not None and _group_alive(group):
            self._groups[key] = group
            return None  # the supervisor died but the job goes on: not over yet
        self._forget(launch)
        return Outcome(
            None, None, lost=True, detail="the supervisor and the job vanished without an exit file"
        )

    def stop(self, launch: Launch, handle: Handle) -> None:
        if handle.pid is not None and _is_ours(handle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(handle.pid, signal.SIGTERM)
            return
        group = self._groups.get((launch.run_id, launch.attempt)) or _group_by_env(launch)
        if group is not None and _group_alive(group):  # no supervisor left to give grace
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)

    def adopt(self, launch: Launch, handle: Handle, on_exit: Callable[[], None]) -> bool:
        if not _is_ours(handle):  # alive only if `poll` found its job without the shim
            return self._groups.get((launch.run_id, launch.attempt)) is not None
        assert handle.pid is not None
        _watch_pid(handle.pid, on_exit)
        return True

    def _forget(self, launch: Launch) -> None:
        with self._lock:
            self._children.pop((launch.run_id, launch.attempt), None)
        self._groups.pop((launch.run_id, launch.attempt), None)
