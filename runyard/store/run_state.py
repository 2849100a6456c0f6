"""A run's life after creation: progress with its ETA, the end, and the summary made then."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from runyard.entities import SYSTEM_METRIC_PREFIX, RunStatus
from runyard.errors import NotFound
from runyard.store._exists import require_run
from runyard.store.tables import metric_summaries, runs

if TYPE_CHECKING:
    from runyard.store.events import Events  # it imports this module (through listed_metrics)

PROGRESS_LOG_LEN = 20  # (epoch, time) pairs kept for the ETA
# The reason of a tracked-only run failed for want of heartbeats (heartbeats.py): a guess,
# which the run's own client overrules when it reports its end after all.
LOST = "lost: no heartbeat since "


@dataclass(frozen=True)
class ProgressInfo:
    epoch: int | None
    total_epochs: int | None
    percent: float | None
    eta_s: float | None
    early_stopped: bool
    stopped_at_epoch: int | None


def json_number(x: float | None) -> float | str | None:
    """JSON has no NaN or infinities: they travel as the strings "NaN", "Infinity", "-Infinity"."""
    if x is None or math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def percent_of(
    epoch: int | None, total: int | None, early_stopped: bool, status: RunStatus
) -> float | None:
    if early_stopped or (status is RunStatus.COMPLETED and total):
        return 100.0
    if epoch is None or not total:
        return None
    return round(min(100.0, 100.0 * epoch / total), 2)


def eta_of(log: list[list[float]] | None, epoch: int | None, total: int | None) -> float | None:
    """Seconds left at the recent epoch rate; None until two epochs have been seen."""
    if not log or len(log) < 2 or epoch is None or not total or epoch >= total:
        return None
    (e0, t0), (e1, t1) = log[0], log[-1]
    if e1 <= e0 or t1 <= t0:
        return None
    return round((total - epoch) * (t1 - t0) / (e1 - e0), 1)


def _metric_summaries(conn: sa.Connection, run_id: str) -> dict[str, dict[str, Any]]:
    t = metric_summaries.c
    rows = conn.execute(sa.select(metric_summaries).where(t.run_id == run_id).order_by(t.key))
    return {r._mapping["key"]: summary_entry(r._mapping) for r in rows}


def summary_entry(m: Mapping[Any, Any]) -> dict[str, Any]:
    """One key of a stored summary, from its metric_summaries row."""
    last = math.nan if m["last"] is None else m["last"]
    return {
        "count": m["count"],
        "last": json_number(last),
        "last_step": m["last_step"],
        "min": json_number(m["min"]),
        "max": json_number(m["max"]),
        "best": json_number(m["best"]),
        "best_step": m["best_step"],
        "goal": m["goal"],
    }


def compute_summary(conn: sa.Connection, run_id: str) -> dict[str, Any]:
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    return summary_from(row._mapping, _metric_summaries(conn, run_id))


def summary_from(r: Mapping[Any, Any], metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The stored summary of a run row and its metric summaries (as _metric_summaries gives)."""
    steps = max(
        (
            m["last_step"]
            for k, m in metrics.items()
            if m["last_step"] is not None and not k.startswith(SYSTEM_METRIC_PREFIX)
        ),
        default=None,
    )  # system/* steps count seconds, not training steps
    epochs = r["epoch"]
    if epochs is None and "epoch" in metrics and isinstance(metrics["epoch"]["max"], float):
        epochs = int(metrics["epoch"]["max"]) + 1  # epochs are counted from 0 in the metric
    end = r["ended_at"] or time.time()
    return {
        "metrics": metrics,
        "primary_metric": r["primary_metric"],
        "duration_s": round(end - r["started_at"], 3) if r["started_at"] else None,
        "steps": steps,
        "epochs": epochs,
        "early_stopped": bool(r["early_stopped"]),
        "stopped_at_epoch": r["stopped_at_epoch"],
    }


class RunState:
    def __init__(self, engine: sa.Engine, events: Events | None = None):
        self._engine = engine
        self._events = events

    def _row(self, conn: sa.Connection, run_id: str) -> Any:
        row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return row._mapping

    def set_progress(
        self,
        run_id: str,
        *,
        epoch: int | None = None,
        total_epochs: int | None = None,
        early_stopped: bool | None = None,
        stopped_at_epoch: int | None = None,
    ) -> ProgressInfo:
        now = time.time()
        with self._engine.begin() as conn:
            r = self._row(conn, run_id)
            values: dict[str, Any] = {"updated_at": now}
            epoch = r["epoch"] if epoch is None else epoch
            total = r["total_epochs"] if total_epochs is None else total_epochs
            stopped = bool(r["early_stopped"]) if early_stopped is None else early_stopped
            values.update(epoch=epoch, total_epochs=total, early_stopped=stopped)
            if stopped_at_epoch is not None:
                values["stopped_at_epoch"] = stopped_at_epoch
            log = list(r["progress_log"] or [])
            if epoch is not None and (not log or log[-1][0] != epoch):
                log = [*log, [epoch, now]][-PROGRESS_LOG_LEN:]
                values["progress_log"] = log
            values["percent"] = percent_of(epoch, total, stopped, RunStatus(r["status"]))
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
            old = (r["epoch"], r["total_epochs"], bool(r["early_stopped"]), r["percent"])
        info = self.progress(run_id)
        if self._events is not None and old != (epoch, total, stopped, values["percent"]):
            self._events.progress(
                run_id,
                epoch=info.epoch,
                total_epochs=info.total_epochs,
                percent=info.percent,
                eta_s=info.eta_s,
                early_stopped=info.early_stopped,
            )
        return info

    def progress_seen_at(self, run_id: str) -> float | None:
        """When the store got the run's current epoch (None before any)."""
        with self._engine.connect() as conn:
            log = conn.execute(
                sa.select(runs.c.progress_log).where(runs.c.id == run_id)
            ).scalar_one_or_none()
        return float(log[-1][1]) if log else None

    def progress(self, run_id: str) -> ProgressInfo:
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            r = self._row(conn, run_id)
        status = RunStatus(r["status"])
        return ProgressInfo(
            epoch=r["epoch"],
            total_epochs=r["total_epochs"],
            percent=r["percent"],
            eta_s=None
            if status.is_terminal()
            else eta_of(r["progress_log"], r["epoch"], r["total_epochs"]),
            early_stopped=bool(r["early_stopped"]),
            stopped_at_epoch=r["stopped_at_epoch"],
        )

    def finish(
        self,
        run_id: str,
        status: RunStatus,
        *,
        early_stopped: bool | None = None,
        stopped_at_epoch: int | None = None,
        reason: str | None = None,
        by_runner: bool = False,
        ended_at: float | None = None,
    ) -> bool:
        """End the run and store its summary; False (and nothing ended) if it had ended.

        A run the runner launched ends when its process does: what its program says (through
        the SDK) is recorded as the early stop, but the status is the runner's to decide.
        """
        now = time.time()
        with self._engine.begin() as conn:
            r = self._row(conn, run_id)
            stopped = bool(r["early_stopped"]) if early_stopped is None else early_stopped
            values: dict[str, Any] = {"early_stopped": stopped, "updated_at": now}
            if stopped_at_epoch is not None:
                values["stopped_at_epoch"] = stopped_at_epoch
            ended = RunStatus(r["status"]).is_terminal()
            if ended and r["spec"] is None and (r["reason"] or "").startswith(LOST):
                ended = False  # its client's word on its end wins over our guess
            if ended or (r["spec"] is not None and not by_runner):
                if not ended:
                    conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
                return False
            end = now
            if ended_at is not None:  # an offline run synced: its own end, within reason
                end = max(min(ended_at, now), r["started_at"] or 0.0)
            values.update(
                status=status.value,
                ended_at=end,
                cancel_requested=False,
                retry_at=None,
                percent=percent_of(r["epoch"], r["total_epochs"], stopped, status),
            )
            values["reason"] = reason  # the current one: a stale "retrying in …" goes
            if r["started_at"] is None:
                values["started_at"] = now
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
            summary = compute_summary(conn, run_id)
            conn.execute(runs.update().where(runs.c.id == run_id).values(summary=summary))
        if self._events is not None:
            self._events.flush(run_id)  # its last progress and metrics come before its end
            self._events.emit("status", run_id, status=status.value, reason=reason)
            self._events.emit("summary", run_id)
        return True

    def summary(self, run_id: str) -> dict[str, Any]:
        """The stored summary of an ended run; a live one while it runs."""
        with self._engine.connect() as conn:
            require_run(conn, run_id)
            r = self._row(conn, run_id)
            if r["summary"] is not None:
                stored: dict[str, Any] = r["summary"]
                return stored
            return compute_summary(conn, run_id)
