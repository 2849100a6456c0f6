"""The server's background thread: reads run dirs of active runs, merges small chunks,
keeps the event log bounded."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from runyard.capture import Capture
from runyard.config import Settings
from runyard.entities import JobSpec, RunStatus
from runyard.store import Store, faults
from runyard.store.tables import runs

log = logging.getLogger("runyard.maintenance")
ACTIVE = (RunStatus.STARTING.value, RunStatus.RUNNING.value)
PRUNE_EVERY_S = 60.0


class Maintenance:
    def __init__(self, store: Store, settings: Settings, capture: Capture | None = None):
        self.store = store
        self.settings = settings
        self.capture = capture
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_compact = time.monotonic()
        self._last_prune: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="runyard-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.poll_interval_s):
            try:
                self.run_once()
            except Exception as exc:  # one bad pass must not end the thread
                faults.report(exc, log, "maintenance pass failed", self.settings.home)

    def run_once(self) -> None:
        with self.store.engine.connect() as conn:
            active = conn.execute(
                sa.select(
                    runs.c.id, runs.c.run_dir, runs.c.spec, runs.c.attempt_count, runs.c.created_at
                ).where(runs.c.status.in_(ACTIVE))
            ).all()
        for run_id, run_dir, spec, attempt, created_at in active:
            path = Path(run_dir)
            if path.is_dir():
                self.store.run_files.scan(run_id, path)
                if self.capture is not None and spec and attempt:
                    self.capture.scan(run_id, path, JobSpec.from_dict(spec), attempt, created_at)
        self.store.heartbeats.sweep(self.settings.heartbeat_timeout_s)
        now = time.monotonic()
        if now - self._last_compact >= self.settings.compact_interval_s:
            self._last_compact = now
            self.store.metrics.compact()
        if self._last_prune is None or now - self._last_prune >= PRUNE_EVERY_S:
            self._last_prune = now
            self.store.events.prune(self.settings.events_keep_s, self.settings.events_keep_rows)
