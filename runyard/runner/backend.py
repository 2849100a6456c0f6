"""The Backend protocol: how the scheduler starts, watches and stops one attempt.

The local backend runs processes on this machine; the Ray backend submits Ray Jobs. The
scheduler only speaks this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Launch:
    """Everything an attempt needs, computed by the scheduler."""

    run_id: str
    attempt: int
    argv: list[str]
    cwd: str
    env: dict[str, str]
    run_dir: Path
    timeout_s: float | None
    grace_s: float
    gpus: list[int] = field(default_factory=list)
    cpus: int = 1

    @property
    def log_path(self) -> Path:
        return self.run_dir / "logs" / f"attempt-{self.attempt}.log"

    @property
    def exit_path(self) -> Path:
        return self.run_dir / "logs" / f"attempt-{self.attempt}.exit.json"


@dataclass(frozen=True)
class Handle:
    """Where a started attempt can be found again, also by a restarted server."""

    pid: int | None
    pid_start_time: float | None
    ref: str | None = None
    running: bool = True  # False: in the backend's own queue, until `poll` says `Running`


@dataclass(frozen=True)
class Running:
    """What `poll` answers once an attempt that waited in the backend's queue runs."""

    since: float


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, as its supervisor saw it."""

    exit_code: int | None
    signal: int | None
    timed_out: bool = False
    cancelled: bool = False
    lost: bool = False
    unstarted: bool = False  # it never ran (it waited too long in the backend's queue)
    ended_at: float | None = None
    detail: str | None = None


class Backend(Protocol):
    name: str

    def start(self, launch: Launch, on_exit: Callable[[], None]) -> Handle:
        """Start the attempt; call ``on_exit`` (from any thread) once it has ended."""
        ...

    def poll(self, launch: Launch, handle: Handle) -> Outcome | Running | None:
        """The outcome once the attempt has ended, else `Running` or None while it runs
        (a backend whose starts may wait in its own queue says `Running` once it runs)."""
        ...

    def stop(self, launch: Launch, handle: Handle) -> None:
        """Ask the attempt to stop: SIGTERM, then SIGKILL after its grace time."""
        ...

    def adopt(self, launch: Launch, handle: Handle, on_exit: Callable[[], None]) -> bool:
        """After a restart: True if the attempt is still ours and alive (then watch it)."""
        ...
