"""Getting a run's ops to the server without ever making the training loop wait for it.

`Run.log` appends a row to a deque and returns. Two daemon threads do the rest:

- the *writer* wakes every INTERVAL_S (sooner when the deque is long or a flush is asked
  for), turns the rows into columnar metrics batches, and appends every op, in the order it
  was queued, to this process's spool file (fsynced at least once a second, and before a
  checkpoint or finish returns) — it touches only the local disk, so a checkpoint can wait
  for it;
- the *sender* delivers the spool in order with `Replayer` (the code `runyard sync` uses),
  retrying network errors and 5xx with capped exponential backoff for as long as it takes.

Memory stays bounded while the server is down: what was spooled is re-read from the file.
Every delivery tells the server the script is alive; an idle sender says so with a heartbeat
at least every 30 s, so that a tracked-only run whose script died is noticed (heartbeats.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.sdk._batch import Row, metrics_body
from runyard.sdk._replay import Outcome, Replayer, backoff, make_client
from runyard.sdk._spool import SourceSpool, SpoolWriter, new_source

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("runyard.sdk")

INTERVAL_S = 0.5
WAKE_AT_ROWS = 20_000  # the writer is woken early when the deque grows this long
MAX_BACKLOG_ROWS = 250_000  # about 200 MB of rows of 10 keys
MAX_BATCH_POINTS = 50_000  # keeps bodies small and the writer's GIL holds short
SYNC_INTERVAL_S = 1.0
SPOOL_GRACE_S = 60.0
BACKOFF_MAX_S = 4.0
BACKOFF_MAX_CLOSING_S = 1.0
HEARTBEAT_S = 20.0  # an idle run says it is alive this often; the server waits 300 s


def heartbeat_interval() -> float:
    """Seconds between heartbeats of an idle run (RUNYARD_HEARTBEAT_INTERVAL_S, ≤ 30)."""
    try:
        value = float(os.environ.get("RUNYARD_HEARTBEAT_INTERVAL_S") or HEARTBEAT_S)
    except ValueError:
        value = HEARTBEAT_S
    return min(max(value, 0.05), 30.0)


def _heartbeat(http: httpx.Client, run_id: str) -> None:
    """Best effort: a missed heartbeat is made up by the next one or the next delivery."""
    try:
        http.post(f"/api/runs/{run_id}/heartbeat", json={})
    except Exception as exc:  # the network, or a server that has no such route
        log.debug("runyard: heartbeat of run %s not sent: %s", run_id, exc)


class Op:
    """A queued non-metrics op; its body (JSON) is sent to the op's route (see _replay)."""

    __slots__ = ("kind", "body")

    def __init__(self, kind: str, body: bytes):
        self.kind = kind
        self.body = body


class Transport:
    def __init__(self, run_id: str, spool_dir: Path, url: str, token: str | None, reached: bool):
        self.run_id = run_id
        self.source = new_source()
        self.spool = SourceSpool(spool_dir, self.source)
        self.queue: deque[Any] = deque()
        self._url, self._token = url, token
        self._writer = SpoolWriter(self.spool)
        self._seq = 0
        self._unsynced = False
        self._synced_at = time.monotonic()
        self._wake = threading.Event()
        self._cond = threading.Condition()
        self._written = self._writer.offset  # guarded by _cond, as are the fields below
        self._acked = self.spool.acked()[1]
        self._stopping = False
        self._closing = False
        self._deadline: float | None = None
        self._retry_at = 0.0  # the sender waits out a backoff until then
        self._done = False  # the sender stopped for good (fatal answer, or gave up at exit)
        self._reached = reached  # the server answered this process at least once
        self._heartbeat_s = heartbeat_interval()
        self._threads = [
            threading.Thread(target=self._write_loop, name="runyard-spool", daemon=True),
            threading.Thread(target=self._send_loop, name="runyard-send", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # --- called from the training thread ------------------------------------------------

    def backlog(self) -> None:
        """`Run.log` calls this while the deque is long: wake the writer and, past
        MAX_BACKLOG_ROWS, let it catch up so that memory stays bounded.

        Only a loop that logs faster than the local disk takes it (hundreds of thousands of
        calls per second) ever waits here, and for the writer alone, never for the network.
        """
        if not self._wake.is_set():
            self._wake.set()
        if len(self.queue) >= MAX_BACKLOG_ROWS:
            writer = self._threads[0]
            while len(self.queue) > MAX_BACKLOG_ROWS - WAKE_AT_ROWS and writer.is_alive():
                time.sleep(0.001)

    def put(self, kind: str, body: bytes) -> None:
        self.queue.append(Op(kind, body))
        self._wake.set()

    def spool_now(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is in the spool file (local disk only)."""
        barrier = threading.Event()
        self.queue.append(barrier)
        self._wake.set()
        return barrier.wait(timeout)

    def flush(self, timeout: float) -> bool:
        """Spool what is queued, then wait (at most ``timeout``) until it is delivered."""
        deadline = time.monotonic() + timeout
        return self.spool_now(timeout) and self._wait_acked(deadline)

    def close(self, timeout: float) -> bool:
        """Spool everything, then deliver what is left within ``timeout``; what is not
        delivered stays in the spool for `runyard sync`.

        Spooling may take longer than ``timeout`` after a burst of logging (it is local and
        bounded by what is queued, up to SPOOL_GRACE_S): points are not dropped to save a
        second at exit.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            self._deadline = deadline
            self._retry_at = 0.0  # a last try now, not after a backoff of the old pace
            self._cond.notify_all()
        spooled = self.spool_now(max(timeout, SPOOL_GRACE_S))
        while self._writer.held and time.monotonic() < deadline:  # a full disk: the writer
            self._wake.set()  # spools them once it has room, within the flush timeout
            time.sleep(min(INTERVAL_S, max(0.0, deadline - time.monotonic())))
        delivered = spooled and self._wait_acked(deadline)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._wake.set()
        delivered = delivered and not self._writer.held and not self._writer.dropped_points
        if delivered:  # the server has it all: the spool would only duplicate its store
            for path in (self.spool.path, self.spool.acked_path):
                with contextlib.suppress(OSError):
                    path.unlink()
        return delivered

    @property
    def dropped_points(self) -> int:
        """Points dropped because a full disk held more than RUNYARD_SDK_MAX_BUFFER_MB."""
        return self._writer.dropped_points

    def _wait_acked(self, deadline: float) -> bool:
        with self._cond:
            target = self._written
            self._cond.wait_for(
                lambda: self._acked >= target or self._done,
                max(0.0, deadline - time.monotonic()),
            )
            return self._acked >= target

    # --- the writer thread ---------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            self._wake.wait(INTERVAL_S)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # a full disk must not kill the thread that spools the rest
                log.exception("runyard: could not write to the spool %s", self.spool.path)
            with self._cond:
                if self._stopping and not self.queue:
                    break
        self._writer.close()

    def _drain(self) -> None:
        if self._writer.held and self._writer.retry_held():  # the disk has room again
            with self._cond:
                self._written = self._writer.offset
                self._cond.notify_all()
        rows: list[Row] = []
        points = 0
        popleft = self.queue.popleft
        while True:
            try:
                item = popleft()
            except IndexError:
                break
            if type(item) is dict:
                rows.append(item)
                points += len(item) - 2
                if points >= MAX_BATCH_POINTS:
                    self._write_metrics(rows)
                    rows, points = [], 0
                continue
            if rows:
                self._write_metrics(rows)
                rows, points = [], 0
            if isinstance(item, Op):
                self._append(item.kind, item.body)
            else:
                self._sync(force=True)
                item.set()  # a barrier: everything queued before it is now on disk
        if rows:
            self._write_metrics(rows)
        self._sync()

    def _write_metrics(self, rows: list[Row]) -> None:
        points = sum(len(row) - 2 for row in rows)
        self._append("metrics", metrics_body(self.source, self._seq, rows), points)

    def _append(self, kind: str, body: bytes, points: int = 0) -> None:
        self._writer.append(self._seq, kind, body, points)
        self._seq += 1
        self._unsynced = True
        with self._cond:  # the sender may send what is written but not yet fsynced
            self._written = self._writer.offset
            self._cond.notify_all()

    def _sync(self, force: bool = False) -> None:
        """fsync what was written, at most about once per SYNC_INTERVAL_S unless forced.

        The page cache already survives the death of this process; the fsync is for the
        machine's. One per record would make this thread wait on the disk (and the disk's
        writeback stall its writes) while the training loop fills the deque.
        """
        if self._unsynced and (force or time.monotonic() - self._synced_at >= SYNC_INTERVAL_S):
            self._writer.sync()
            self._unsynced = False
            self._synced_at = time.monotonic()

    # --- the sender thread ---------------------------------------------------------------

    def _send_loop(self) -> None:
        http = make_client(self._url, self._token)
        replayer = Replayer(self.spool, self.run_id, http)
        failures = 0
        contact = time.monotonic()
        try:
            while True:
                with self._cond:
                    while not self._stopping and (
                        replayer.offset >= self._written or time.monotonic() < self._retry_at
                    ):
                        pending = replayer.offset < self._written
                        quiet = time.monotonic() - contact
                        if pending:
                            self._cond.wait(self._retry_at - time.monotonic())
                        elif not self._reached:  # offline from the start: nobody to tell
                            self._cond.wait()
                        elif quiet >= self._heartbeat_s:
                            break
                        else:
                            self._cond.wait(self._heartbeat_s - quiet)
                    if self._stopping:
                        return
                    idle = replayer.offset >= self._written
                    end, closing, deadline = self._written, self._closing, self._deadline
                if idle:  # nothing to deliver for a while: say the script is alive
                    _heartbeat(http, self.run_id)
                    contact = time.monotonic()
                    continue
                timeout = None if deadline is None else max(0.2, deadline - time.monotonic())
                result = replayer.deliver_next(end, timeout)
                if result is None:
                    log.error(
                        "runyard: unreadable record in %s; run `runyard sync`", self.spool.path
                    )
                    return
                if result.outcome is Outcome.FATAL:
                    log.warning("runyard: not sending run %s: %s", self.run_id, result.message)
                    return
                if result.outcome is Outcome.RETRY:
                    failures += 1
                    if closing and not self._reached and result.refused:
                        return  # offline from the start and still no server: leave it to sync
                    if failures == 1 and self._reached:  # init already said it is offline
                        log.warning(
                            "runyard: server at %s unreachable (%s); spooling to %s and retrying",
                            self._url,
                            result.message,
                            self.spool.path,
                        )
                    delay = backoff(failures, BACKOFF_MAX_CLOSING_S if closing else BACKOFF_MAX_S)
                    with self._cond:
                        self._retry_at = time.monotonic() + delay
                    continue
                if failures:
                    log.info("runyard: server at %s reachable again", self._url)
                failures = 0
                self._reached = True
                contact = time.monotonic()  # a delivery is a heartbeat too
                with self._cond:
                    self._acked = replayer.offset
                    self._cond.notify_all()
        except Exception:
            log.exception("runyard: the sender of run %s stopped", self.run_id)
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()
            http.close()
