"""The telemetry thread: samples the host into a bounded history every interval, and the
process tree of every running attempt into its run's ``system/*`` metrics.

Per-run points go through the store's metric ingest like any other, so they show in
/api/runs/{id}/metrics and in summaries. Their step is the whole seconds since the run first
started (a run's later attempts go on where the earlier ones left off, and a restarted server
too); their timestamp is the sample's time. Keys: ``system/cpu_percent`` (of one core,
summed over the tree), ``system/rss_mb`` (summed over the tree) and, where NVML is,
``system/gpu_memory_mb``.

Nothing here may take the server down: every pass logs what went wrong and goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable

from runyard.config import Settings
from runyard.entities import SYSTEM_METRIC_PREFIX, Attempt
from runyard.errors import NotFound
from runyard.store import Store, faults
from runyard.store.metrics import Series
from runyard.telemetry import History, HostSample, HostSampler, Nvml, ProcessTrees, Thresholds
from runyard.telemetry.processes import TreeSample

log = logging.getLogger("runyard.telemetry")
MB = 1024 * 1024
FIRST_SAMPLE_AFTER_S = 0.5  # long enough for a first CPU percentage to mean something


class Sampler:
    def __init__(self, store: Store, settings: Settings, expected_gpus: int = 0):
        self.store = store
        self.interval_s = settings.telemetry_interval_s
        self.nvml = Nvml(expected=expected_gpus)
        self.host = HostSampler(settings.home, Thresholds.from_settings(settings), self.nvml)
        self.history = History.for_window(self.interval_s, settings.telemetry_history_h)
        self.trees = ProcessTrees()
        self._origins: dict[Hashable, float] = {}  # (run, attempt) → when the run first started
        self._latest: HostSample | None = None
        self.per_run = True  # off in a worker that does not lead: the host only
        self._first = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="runyard-telemetry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.nvml.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self, wait_s: float = 2.0) -> HostSample:
        """The newest host sample; taken here and now when the thread has none yet."""
        if self._latest is None and self.running:
            self._first.wait(wait_s)
        sample = self._latest
        if sample is None:
            sample = self.host.sample(cpu_interval=0.1)
        return sample

    def peek(self) -> HostSample | None:
        """The newest sample without waiting (None before the first)."""
        return self._latest

    def _loop(self) -> None:
        self.host.prime()
        wait = min(self.interval_s, FIRST_SAMPLE_AFTER_S)
        while not self._stop.wait(wait):
            wait = self.interval_s
            self.tick()

    def tick(self) -> None:
        """One pass: the host, then the running attempts; a failure in one skips only it."""
        try:
            sample = self.host.sample()
            self.history.append(sample)
            self._latest = sample
            self._first.set()
        except Exception:
            log.exception("host telemetry failed")
        if not self.per_run:
            return
        try:
            self.sample_runs()
        except Exception as exc:
            faults.report(exc, log, "per-run telemetry failed")

    def sample_runs(self) -> None:
        attempts: dict[Hashable, Attempt] = {
            (a.run_id, a.number): a
            for a in self.store.jobs.live_attempts()
            if a.pid is not None and a.pid_start_time is not None
        }
        roots: dict[Hashable, tuple[int, float | None]] = {
            key: (a.pid, a.pid_start_time) for key, a in attempts.items() if a.pid is not None
        }
        samples = self.trees.sample(roots)
        for key in list(self._origins):
            if key not in roots:
                del self._origins[key]
        if not samples:
            return
        gpu_memory = self.nvml.process_memory() if self.nvml.available else None
        now = time.time()
        for key, tree in samples.items():
            run_id = attempts[key].run_id
            try:
                self._write(key, run_id, tree, gpu_memory, now)
            except NotFound:
                continue  # deleted meanwhile
            except Exception as exc:
                faults.report(exc, log, f"could not store telemetry of run {run_id}")

    def _write(
        self,
        key: Hashable,
        run_id: str,
        tree: TreeSample,
        gpu_memory: dict[int, int] | None,
        now: float,
    ) -> None:
        import numpy as np

        origin = self._origins.get(key)
        if origin is None:
            started = self.store.runs.get(run_id).started_at
            origin = self._origins[key] = started if started is not None else now
        values = {"rss_mb": tree.rss_bytes / MB}
        if tree.cpu_percent is not None:
            values["cpu_percent"] = tree.cpu_percent
        if gpu_memory is not None:
            values["gpu_memory_mb"] = sum(gpu_memory.get(p, 0) for p in tree.pids) / MB
        step = np.array([max(0, int(now - origin))], dtype=np.int64)
        ts = np.array([now], dtype=np.float64)
        series = [
            Series(f"{SYSTEM_METRIC_PREFIX}{name}", step, np.array([v], dtype=np.float64), ts)
            for name, v in values.items()
        ]
        self.store.metrics.ingest(run_id, series)
