"""Who leads among the processes that serve one store.

`runyard server --workers N` serves HTTP from N processes; exactly one of them, the leader,
runs the scheduler, the sweep controller, per-run telemetry and maintenance. It is the one
holding a lock: an exclusive `flock` on a file next to the SQLite database, or a session
advisory lock (`pg_try_advisory_lock`) on a connection of its own to PostgreSQL. Both are
let go by the kernel or the database when the process dies, however it dies; the others try
to take it every second, and the one that does reconciles as a server does at its start.

A follower asks the leader to look again (a job was submitted, a cancel requested) with a
datagram on an abstract UNIX socket named after the store; the leader also looks on its own
every few seconds, so a datagram lost or a server on another host costs a delay, never a job.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

log = logging.getLogger("runyard.leader")

RETRY_S = 1.0  # how often a follower tries to take the lock
_PG_KEY = 0x72756E796C6561  # "runylea": the session advisory lock of the leader


class Lock(Protocol):
    name: str

    def try_acquire(self) -> bool: ...
    def held(self) -> bool: ...
    def release(self) -> None: ...


class FileLock:
    """`flock` on ``<database>.leader``; the pid of the holder is written in it."""

    def __init__(self, path: Path):
        self.path = path
        self.name = str(path)
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor lets the lock go
            self._fd = None


class AdvisoryLock:
    """`pg_try_advisory_lock` on a connection kept for it; the lock lives as long as it."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.name = f"pg_advisory_lock({_PG_KEY})"
        self._conn: sa.Connection | None = None

    def try_acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(_PG_KEY))).scalar())
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def held(self) -> bool:
        """Whether the connection that holds the lock is still there."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(sa.text("SELECT 1"))
        except Exception:
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(_PG_KEY)))
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def lock_for(engine: sa.Engine) -> Lock:
    """The leader lock of the store behind ``engine``."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("more than one worker needs a database file or PostgreSQL")
    return FileLock(Path(database).with_name(Path(database).name + ".leader"))


class Doorbell:
    """Followers ring, the leader hears: an abstract UNIX datagram socket per store."""

    def __init__(self, identity: str):
        digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
        self.address = f"\0runyard-leader-{digest}"
        self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._in: socket.socket | None = None

    def ring(self) -> None:
        with contextlib.suppress(OSError):  # no leader now, or it has a backlog: it will look
            self._out.sendto(b"!", self.address)

    def listen(self, on_ring: Callable[[], None]) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(self.address)
        self._in = sock

        def hear() -> None:
            while True:
                try:
                    sock.recv(64)
                except OSError:
                    return  # closed
                on_ring()

        threading.Thread(target=hear, name="runyard-doorbell", daemon=True).start()

    def close(self) -> None:
        if self._in is not None:
            with contextlib.suppress(OSError):
                self._in.shutdown(socket.SHUT_RDWR)
            self._in.close()
            self._in = None
        self._out.close()


class Leadership:
    """Tries the lock every second; runs ``lead`` once it holds it, ``step_down`` at the end.

    A leader whose PostgreSQL connection broke has lost the lock: it exits, and the
    supervisor starts a fresh worker, which follows. A worker whose supervisor died ends too.
    """

    def __init__(
        self,
        lock: Lock,
        doorbell: Doorbell,
        lead: Callable[[], None],
        step_down: Callable[[], None],
        on_ring: Callable[[], None],
        pid_file: Path | None = None,
    ):
        self.lock = lock
        self.doorbell = doorbell
        self._lead = lead
        self._step_down = step_down
        self._on_ring = on_ring
        self._pid_file = pid_file
        self._parent = os.getppid()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.leading = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="runyard-leadership", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.leading:
            self.leading = False
            self._step_down()
        self.doorbell.close()
        self.lock.release()

    def _loop(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = RETRY_S
            if os.getppid() != self._parent:  # the supervisor is gone: so is this worker
                log.error("the server's supervisor died; this worker stops")
                os.kill(os.getpid(), signal.SIGTERM)
                return
            if self.leading:
                if not self.lock.held():
                    log.error("lost the leader lock (%s); this worker exits", self.lock.name)
                    os._exit(70)
                continue
            try:
                if not self.lock.try_acquire():
                    continue
            except Exception as exc:
                log.warning("could not try the leader lock: %s", exc)
                continue
            self._elected()

    def _elected(self) -> None:
        log.warning("worker %d leads (%s)", os.getpid(), self.lock.name)
        if self._pid_file is not None:
            with contextlib.suppress(OSError):  # which worker leads, for people (and tests)
                self._pid_file.parent.mkdir(parents=True, exist_ok=True)
                self._pid_file.write_text(f"{os.getpid()}\n")
        self.leading = True
        try:
            self.doorbell.listen(self._on_ring)
        except OSError as exc:  # it still looks every few seconds on its own
            log.warning("cannot hear followers' wakes: %s", exc)
        self._lead()  # reconciles as at a start: adopts live attempts, settles the ended
