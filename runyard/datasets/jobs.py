"""Transform jobs, run by the server on a background thread, one at a time.

A job's state lives in the store (dataset_jobs), so that the CLI and the dashboard follow its
progress by polling; a job that a previous server left unfinished is marked failed when the
runner starts, since nothing will ever finish it.
"""

from __future__ import annotations

import logging
import threading
import time

from runyard.datasets.registry import Registry
from runyard.datasets.transforms import Step
from runyard.errors import RunyardError
from runyard.store.dataset_jobs import JobRecord
from runyard.store.datasets import VersionRecord

log = logging.getLogger("runyard.datasets")
PROGRESS_EVERY_S = 0.25


class TransformRunner:
    def __init__(self, registry: Registry):
        self.registry = registry
        self.jobs = registry.store.dataset_jobs
        self._one_at_a_time = threading.Lock()
        left = self.jobs.fail_unfinished("the server stopped before this job finished")
        if left:
            log.warning("marked %d unfinished dataset job(s) failed", left)

    def submit(self, parent: VersionRecord, steps: list[Step]) -> JobRecord:
        job = self.jobs.create(parent.id, "transform", steps)
        threading.Thread(
            target=self._run,
            args=(job.id, parent, steps),
            name=f"runyard-transform-{job.id}",
            daemon=True,
        ).start()
        return job

    def _run(self, job_id: int, parent: VersionRecord, steps: list[Step]) -> None:
        with self._one_at_a_time:
            last = 0.0

            def progress(done: int) -> None:
                nonlocal last
                now = time.monotonic()
                if now - last >= PROGRESS_EVERY_S:
                    last = now
                    self.jobs.progress(job_id, done)

            try:
                total = len(self.registry.store.datasets.files(parent.id))
                self.jobs.start(job_id, total)
                made = self.registry.transform(parent, steps, progress)
                self.jobs.progress(job_id, total)
                self.jobs.succeed(job_id, made.version.id)
            except RunyardError as exc:
                self.jobs.fail(job_id, exc.message)
            except Exception as exc:  # a bug: the job says so instead of hanging "running"
                log.exception("dataset job %s failed", job_id)
                self.jobs.fail(job_id, f"internal error: {type(exc).__name__}: {exc}")
