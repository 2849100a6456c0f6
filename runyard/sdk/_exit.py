"""Finishing runs when the program ends: normal exit, an uncaught exception, or SIGTERM.

Each path spools what is queued and gives delivery a bounded time, so that the server sees the
end of the run when it can and the exit is never held hostage by a server that is away: what
was not delivered stays in the spool for `runyard sync`.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any, Protocol


class _Finishable(Protocol):
    def _finish_at_exit(self, status: str, deadline: float) -> None: ...

    def _spool_now(self, timeout: float) -> None: ...

    @property
    def flush_timeout(self) -> float: ...


_runs: list[_Finishable] = []
_lock = threading.Lock()
_installed_pid: int | None = None
_uncaught = False
_previous_excepthook = sys.excepthook
_previous_sigterm: Any = None


def register(run: _Finishable) -> None:
    with _lock:
        _install()
        _runs.append(run)


def unregister(run: _Finishable) -> None:
    with _lock:
        if run in _runs:
            _runs.remove(run)


def _install() -> None:
    global _installed_pid, _previous_excepthook, _previous_sigterm
    if _installed_pid == os.getpid():
        return
    _installed_pid = os.getpid()
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN or previous is None:
        return  # ignored on purpose, or a handler installed outside Python: leave it be
    _previous_sigterm = previous
    signal.signal(signal.SIGTERM, _on_sigterm)


def _finish_all(status: str) -> None:
    if os.getpid() != _installed_pid:
        return  # a forked child (a DataLoader worker) does not own these runs
    with _lock:
        runs = list(_runs)
    if not runs:
        return
    deadline = time.monotonic() + max(r.flush_timeout for r in runs)
    for run in runs:
        run._finish_at_exit(status, deadline)


def _at_exit() -> None:
    _finish_all("failed" if _uncaught else "completed")


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    global _uncaught
    _uncaught = True
    _previous_excepthook(kind, value, tb)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    previous = _previous_sigterm
    if callable(previous):
        # The program has its own plan for SIGTERM (often: stop at the end of the epoch).
        # Make what it logged durable, let it decide, and finish at exit as usual.
        if os.getpid() == _installed_pid:
            with _lock:
                runs = list(_runs)
            for run in runs:
                run._spool_now(1.0)
        previous(signum, frame)
        return
    _finish_all("failed")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # die as SIGTERM would have: status 143 to a shell
