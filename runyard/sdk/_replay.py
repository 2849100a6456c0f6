"""Delivering spooled records to the server: one mechanism for the SDK's sender thread and for
`runyard sync`.

Every op is idempotent on the server (metrics batches by source and seq, the rest by nature),
so a record may be sent twice — after a lost answer, a crash or a stale acked marker — and it
changes nothing the second time. What a record cannot do is overtake the one before it: a
source is delivered strictly in order, and a record is marked acked only once it is answered.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from runyard.sdk._spool import (
    RUN_FILE,
    SPOOL_DIR,
    Record,
    SourceSpool,
    read_records,
    read_run_id,
    sources,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("runyard.sdk")

ROUTES: dict[str, tuple[str, str]] = {
    "create": ("POST", "/api/runs"),
    "patch": ("PATCH", "/api/runs/{id}"),
    "goals": ("POST", "/api/runs/{id}/metric-goals"),
    "metrics": ("POST", "/api/runs/{id}/metrics"),
    "progress": ("POST", "/api/runs/{id}/progress"),
    "checkpoint": ("POST", "/api/runs/{id}/checkpoints"),
    "artifact": ("POST", "/api/runs/{id}/artifacts"),
    "dataset": ("POST", "/api/runs/{id}/datasets"),
    "predictions": ("POST", "/api/runs/{id}/predictions"),
    "finish": ("POST", "/api/runs/{id}/finish"),
}
# 4xx answers that mean "not now" rather than "never".
RETRYABLE_4XX = frozenset({408, 425, 429})
# Answers that would drop every op that follows: stop and keep the spool for a later sync.
FATAL_4XX = frozenset({401, 403})
JSON = {"content-type": "application/json"}


def backoff(failures: int, cap: float) -> float:
    """Capped exponential delay with jitter, so that many clients do not retry in step."""
    delay = min(cap, 0.25 * 2.0 ** (failures - 1))
    return delay * random.uniform(0.8, 1.2)


class Outcome(Enum):
    DELIVERED = "delivered"
    DROPPED = "dropped"  # a 4xx: this op will never succeed; skipped with a warning
    RETRY = "retry"  # a network error or a 5xx: try the same record again later
    FATAL = "fatal"  # the run cannot be created or we are not allowed in: stop this source


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    message: str = ""
    refused: bool = False  # nobody listens at the address (as opposed to a slow server)


def make_client(url: str, token: str | None, timeout: float = 30.0) -> httpx.Client:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=url.rstrip("/"),
        headers=headers,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
    )


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:200] or response.reason_phrase


def send(http: httpx.Client, run_id: str, record: Record, timeout: float | None = None) -> Result:
    """Send one record and classify the answer; never raises for the network or the server."""
    import httpx

    route = ROUTES.get(record.op)
    if route is None:
        return Result(Outcome.DROPPED, f"unknown op {record.op!r} in the spool")
    method, path = route
    try:
        response = http.request(
            method,
            path.format(id=run_id),
            content=record.body,
            headers=JSON,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout),
        )
    except httpx.ConnectError as exc:
        return Result(Outcome.RETRY, f"cannot connect: {exc}", refused=True)
    except httpx.HTTPError as exc:  # timeouts, a connection dropped mid-request, …
        return Result(Outcome.RETRY, f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if status < 400 or (record.op == "create" and status == 409):
        return Result(Outcome.DELIVERED)
    text = f"{method} {path.format(id=run_id)} answered {status}: {_error_text(response)}"
    if status >= 500 or status in RETRYABLE_4XX:
        return Result(Outcome.RETRY, text)
    if status in FATAL_4XX or record.op == "create":
        return Result(Outcome.FATAL, text)
    return Result(Outcome.DROPPED, text)


class Replayer:
    """Walks one source's spool from its acked marker, delivering each record in order."""

    def __init__(self, spool: SourceSpool, run_id: str, http: httpx.Client):
        self.spool = spool
        self.run_id = run_id
        self.http = http
        self.seq, self.offset = spool.acked()
        self.delivered = 0
        self.dropped = 0

    def next_record(self, end: int | None = None) -> Record | None:
        if end is not None and self.offset >= end:
            return None
        return next(read_records(self.spool.path, self.offset, end), None)

    def deliver_next(self, end: int | None = None, timeout: float | None = None) -> Result | None:
        """Deliver the next record (None when there is none before ``end``)."""
        record = self.next_record(end)
        if record is None:
            return None
        result = send(self.http, self.run_id, record, timeout)
        if result.outcome is Outcome.DROPPED:
            log.warning(
                "runyard: dropped a %s op of run %s: %s", record.op, self.run_id, result.message
            )
            self.dropped += 1
        if result.outcome in (Outcome.DELIVERED, Outcome.DROPPED):
            self.delivered += result.outcome is Outcome.DELIVERED
            self.seq, self.offset = record.seq, record.end
            self.spool.mark_acked(self.seq, self.offset)
        return result


@dataclass
class RunReport:
    run_id: str | None
    delivered: int = 0
    dropped: int = 0
    error: str | None = None


def pending_bytes(run_dir: Path) -> int:
    return sum(max(0, s.size() - s.acked()[1]) for s in sources(run_dir))


def replay_run(
    run_dir: Path,
    http: httpx.Client,
    *,
    retries: int = 3,
    on_record: Callable[[int], None] | None = None,
) -> RunReport:
    """Deliver every unacked record of every source of ``run_dir``, oldest source first.

    Network errors and 5xx are retried ``retries`` times with backoff, then the run is given
    up (its spool stays as it is, for the next sync).
    """
    run_id = read_run_id(run_dir)
    report = RunReport(run_id)
    if run_id is None:
        report.error = f"{run_dir} has no {SPOOL_DIR}/{RUN_FILE}: not a run dir of the SDK"
        return report
    for spool in sources(run_dir):
        replayer = Replayer(spool, run_id, http)
        failures = 0
        while True:
            start = replayer.offset
            result = replayer.deliver_next()
            if result is None:
                break
            if result.outcome is Outcome.FATAL:
                report.error = result.message
                return report
            if result.outcome is Outcome.RETRY:
                failures += 1
                if failures > retries:
                    report.error = result.message
                    return report
                time.sleep(backoff(failures, 4.0))
                continue
            failures = 0
            if on_record is not None:
                on_record(replayer.offset - start)
        report.delivered += replayer.delivered
        report.dropped += replayer.dropped
    return report
