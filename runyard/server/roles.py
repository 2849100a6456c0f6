"""The background work of a server: scheduler, sweep controller, telemetry, maintenance.

One process (`--workers 1`, the default in tests) does all of it from its start. With more
workers, every worker samples the host (for /api/system), and the leader alone does the
rest: it holds the leader lock (see leader.py), and a follower that takes the lock over
reconciles as at a start.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from runyard.entities import JobSpec
from runyard.errors import NotFound
from runyard.runner.scheduler import Scheduler
from runyard.server.leader import Doorbell, Leadership, Lock
from runyard.server.maintenance import Maintenance
from runyard.server.sampler import Sampler
from runyard.sweeps.controller import SweepController

LEADER_POLL_S = 2.0  # a leader looks on its own this often, for wakes that did not reach it


class Roles:
    def __init__(
        self,
        maintenance: Maintenance,
        scheduler: Scheduler,
        sampler: Sampler,
        sweeper: SweepController,
    ):
        self.maintenance = maintenance
        self.scheduler = scheduler
        self.sampler = sampler
        self.sweeper = sweeper
        self.leadership: Leadership | None = None

    @property
    def leading(self) -> bool:
        return self.leadership is None or self.leadership.leading

    def start(self) -> None:
        """Everything, now: the only process serving this store."""
        self.maintenance.start()
        self.scheduler.start()
        self.sampler.start()
        self.sweeper.start()

    def follow(self, lock: Lock, pid_file: Path | None = None) -> None:
        """Sample the host; lead once ``lock`` is ours."""
        doorbell = Doorbell(lock.name)
        for part in (self.scheduler, self.sweeper):
            part.ring = doorbell.ring
            part.idle_poll_s = LEADER_POLL_S
        self.sampler.per_run = False
        self.sampler.start()
        self.leadership = Leadership(
            lock, doorbell, self._lead, self._step_down, self._woken, pid_file=pid_file
        )
        self.leadership.start()

    def stop(self) -> None:
        if self.leadership is None:
            self._step_down()
        else:
            self.leadership.stop()
        self.sampler.stop()

    def free_slots(self) -> tuple[int, int]:
        """Free (GPUs, CPUs): the scheduler's own count where it runs, else what the live
        attempts in the store leave."""
        resources = self.scheduler.resources
        if self.leading:
            return resources.free
        store = self.scheduler.store
        gpus: set[int] = set()
        cpus = 0
        for attempt in store.jobs.live_attempts():
            gpus.update(attempt.gpus)
            with contextlib.suppress(NotFound):  # deleted meanwhile
                cpus += JobSpec.from_dict(
                    store.runs.get(attempt.run_id).spec or {"command": []}
                ).cpus
        free_gpus = len(set(range(resources.total_gpus)) - gpus)
        return free_gpus, max(0, resources.total_cpus - cpus)

    def _lead(self) -> None:
        self.scheduler.ring = self.sweeper.ring = None
        self.maintenance.start()
        self.scheduler.start()  # reconcile: adopt live attempts, settle the ended
        self.sampler.per_run = True
        self.sweeper.start()

    def _step_down(self) -> None:
        self.sweeper.stop()
        self.scheduler.stop()
        self.maintenance.stop()

    def _woken(self) -> None:
        self.scheduler.woken()
        self.sweeper.woken()
