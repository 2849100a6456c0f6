"""Getting a run's ops to the server without ever making the training loop wait for it.

`Run.log` appends a row to a deque and returns. Two daemon threads do the rest:

- the *writer* wakes every ``interval`` seconds (sooner when the deque is long or a flush is
  asked for), turns the rows into columnar metrics batches, and appends every op, in the order
  it was queued, to this process's spool file (fsynced) — it touches only the local disk, so a
  checkpoint can wait for it;
- the *sender* delivers the spool in order with `Replayer` (the code `runyard sync` uses),
  retrying network errors and 5xx with capped exponential backoff for as long as it takes.

Memory stays bounded while the server is down: what was spooled is re-read from the file.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import orjson

from runyard.sdk._replay import Outcome, Replayer, make_client
from runyard.sdk._spool import SourceSpool, SpoolWriter, new_source

log = logging.getLogger("runyard.sdk")

INTERVAL_S = 0.5
WAKE_AT_ROWS = 20_000  # the writer is woken early when the deque grows this long
MAX_BATCH_POINTS = 50_000  # keeps bodies small and the writer's GIL holds short
SYNC_EVERY_RECORDS = 8
BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 4.0
BACKOFF_MAX_CLOSING_S = 1.0
_INF = float("inf")


class Op:
    """A queued non-metrics op; its body (JSON) is sent to the op's route (see _replay)."""

    __slots__ = ("kind", "body")

    def __init__(self, kind: str, body: bytes):
        self.kind = kind
        self.body = body


def _json_float(x: float) -> float | str:
    if x == _INF:
        return "Infinity"
    if x == -_INF:
        return "-Infinity"
    return x


# A row is what `Run.log` queues: {0: step, 1: time, key: value, …}. A dict of numbers and
# strings is not tracked by the garbage collector (a tuple holding a dict would be), so a
# backlog of rows while the writer catches up costs the collector nothing.
Row = dict[Any, Any]


def _columns(rows: list[Row]) -> dict[str, tuple[list[int], list[Any], list[float]]]:
    """Rows to (steps, values, timestamps) per key.

    A script logs the same keys call after call, so runs of rows with the same keys are
    transposed with zip (in C) rather than point by point: this thread must outpace `log`.
    """
    cols: dict[str, tuple[list[int], list[Any], list[float]]] = {}
    start, n = 0, len(rows)
    while start < n:
        keys = tuple(rows[start])
        end = start + 1
        while end < n and tuple(rows[end]) == keys:
            end += 1
        steps, stamps, *series = zip(*[r.values() for r in rows[start:end]], strict=True)
        for key, values in zip(keys[2:], series, strict=True):
            col = cols.get(key)
            if col is None:
                cols[key] = (list(steps), list(values), list(stamps))
            else:
                col[0].extend(steps)
                col[1].extend(values)
                col[2].extend(stamps)
        start = end
    return cols


def backoff(failures: int, cap: float) -> float:
    delay = min(cap, BACKOFF_BASE_S * 2.0 ** (failures - 1))
    return delay * random.uniform(0.8, 1.2)


class Transport:
    def __init__(self, run_id: str, spool_dir: Path, url: str, token: str | None, reached: bool):
        self.run_id = run_id
        self.source = new_source()
        self.spool = SourceSpool(spool_dir, self.source)
        self.queue: deque[Any] = deque()
        self._url, self._token = url, token
        self._writer = SpoolWriter(self.spool)
        self._seq = 0
        self._unsynced = 0
        self._wake = threading.Event()
        self._cond = threading.Condition()
        self._written = self._writer.offset  # guarded by _cond, as are the fields below
        self._acked = self.spool.acked()[1]
        self._stopping = False
        self._closing = False
        self._deadline: float | None = None
        self._done = False  # the sender stopped for good (fatal answer, or gave up at exit)
        self._reached = reached  # the server answered this process at least once
        self._threads = [
            threading.Thread(target=self._write_loop, name="runyard-spool", daemon=True),
            threading.Thread(target=self._send_loop, name="runyard-send", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # --- called from the training thread ------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

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
        if not self.spool_now(timeout):
            return False
        with self._cond:
            target = self._written
            return self._cond.wait_for(
                lambda: self._acked >= target or self._done,
                max(0.0, deadline - time.monotonic()),
            ) and (self._acked >= target)

    def close(self, timeout: float) -> bool:
        """Deliver what is left within ``timeout``; what is not stays in the spool for sync."""
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify_all()
        delivered = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._wake.set()
        if delivered:  # the server has it all: the spool would only duplicate its store
            for path in (self.spool.path, self.spool.acked_path):
                with contextlib.suppress(OSError):
                    path.unlink()
        return delivered

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
                self._sync()
                item.set()  # a barrier: everything queued before it is now on disk
        if rows:
            self._write_metrics(rows)
        self._sync()

    def _write_metrics(self, rows: list[Row]) -> None:
        metrics = {}
        for key, (steps, values, stamps) in _columns(rows).items():
            if _INF in values or -_INF in values:  # JSON has no infinity; NaN dumps as null
                values = [_json_float(v) for v in values]
            metrics[key] = {"steps": steps, "values": values, "timestamps": stamps}
        seq = self._seq  # _append gives the record the same seq
        self._append(
            "metrics", orjson.dumps({"source": self.source, "seq": seq, "metrics": metrics})
        )

    def _append(self, kind: str, body: bytes) -> None:
        self._writer.append(self._seq, kind, body)
        self._seq += 1
        self._unsynced += 1
        if self._unsynced >= SYNC_EVERY_RECORDS:
            self._sync()

    def _sync(self) -> None:
        """One fsync for the records written since the last, then let the sender see them.

        Group commit: an fsync per record would leave the writer waiting on the disk while
        the training loop fills the deque.
        """
        if not self._unsynced:
            return
        self._writer.sync()
        self._unsynced = 0
        with self._cond:
            self._written = self._writer.offset
            self._cond.notify_all()

    # --- the sender thread ---------------------------------------------------------------

    def _send_loop(self) -> None:
        http = make_client(self._url, self._token)
        replayer = Replayer(self.spool, self.run_id, http)
        failures = 0
        retry_at = 0.0
        try:
            while True:
                with self._cond:
                    while not self._stopping and (
                        replayer.offset >= self._written or time.monotonic() < retry_at
                    ):
                        wait = (
                            retry_at - time.monotonic() if replayer.offset < self._written else None
                        )
                        self._cond.wait(wait)
                    if self._stopping:
                        return
                    end, closing, deadline = self._written, self._closing, self._deadline
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
                    retry_at = time.monotonic() + backoff(
                        failures, BACKOFF_MAX_CLOSING_S if closing else BACKOFF_MAX_S
                    )
                    continue
                if failures:
                    log.info("runyard: server at %s reachable again", self._url)
                failures = 0
                self._reached = True
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
