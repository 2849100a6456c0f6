"""The kernel's tools for ending every process an attempt started: stdlib only (the shim runs
with `-I -S`, see local.py).

- A child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`): a process whose parent dies is
  re-parented to the shim instead of init, so a double-forked daemon that left the process
  group with `setsid` is still the shim's to find and end.
- Where cgroup v2 is mounted and writable, a cgroup per attempt: the command joins it before
  it runs, everything it starts inherits it, and `cgroup.kill` ends them all at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants; False where it cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> str | None:
    """Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or …/unified on a hybrid)."""
    try:
        with open(mountinfo) as f:
            for line in f:
                left, _, right = line.partition(" - ")
                if right.split(" ", 1)[0] == "cgroup2":
                    return left.split(" ")[4].replace("\\040", " ")
    except OSError:
        return None
    return None


def _own_cgroup() -> str | None:
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        return None
    return None


class Cgroup:
    """One attempt's cgroup, below the shim's own in the v2 hierarchy."""

    def __init__(self, path: str):
        self.path = path

    @classmethod
    def create(cls, name: str) -> Cgroup | None:
        """A new empty cgroup, or None where cgroup v2 is absent or not writable."""
        mount, own = cgroup2_mount(), _own_cgroup()
        if mount is None or own is None:
            return None
        path = os.path.join(mount, own.lstrip("/"), name)
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        except OSError:
            return None
        if not os.access(os.path.join(path, "cgroup.procs"), os.W_OK):
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return None
        return cls(path)

    def joiner(self) -> int:
        """An fd on cgroup.procs; writing "0" to it (in the child, before exec) joins."""
        return os.open(os.path.join(self.path, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)

    def pids(self) -> list[int]:
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(p) for p in f.read().split()]
        except (OSError, ValueError):
            return []

    def signal(self, sig: int) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def kill(self) -> None:
        """SIGKILL every member (cgroup.kill, kernel ≥ 5.14; one by one before that)."""
        try:
            with open(os.path.join(self.path, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            self.signal(signal.SIGKILL)

    def remove(self, wait_s: float = 2.0) -> None:
        """Remove the cgroup once its members are gone (they leave as they are reaped)."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() >= deadline:
                    return
                self.kill()
                reap_orphans()
                time.sleep(0.01)


def children(pid: int | None = None) -> list[int]:
    """The pids whose parent is `pid` (this process by default), zombies included."""
    parent = os.getpid() if pid is None else pid
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def reap_orphans(keep: int | None = None) -> None:
    """Collect the exit status of every finished child but `keep` (the command itself, whose
    status subprocess reads)."""
    for pid in children():
        if pid != keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def signal_descendants(sig: int, keep: int | None = None) -> None:
    """Signal the orphans that came back to this subreaper (and whatever else it started)."""
    for pid in children():
        if pid != keep:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


def end_all(cgroup: Cgroup | None, wait_s: float = 5.0) -> None:
    """SIGKILL every process left of the attempt and reap it: the cgroup's members at once,
    then the subreaper's children until none is left (a killed parent hands its own
    children to us, so the loop reaches every generation)."""
    if cgroup is not None:
        cgroup.kill()
    deadline = time.monotonic() + wait_s
    while True:
        left = children()
        if not left or time.monotonic() >= deadline:
            break
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for pid in left:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    if cgroup is not None:
        cgroup.remove()
