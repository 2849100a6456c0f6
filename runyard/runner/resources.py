"""Slots: CPUs and GPU indices; a GPU is never shared by two running attempts.

A cluster engine that queues work itself (Ray) may be handed more attempts than it has
room for (`ahead`): the next one then waits in its queue and starts the moment a slot
frees, instead of after the scheduler has noticed the end and submitted it. The totals
stay what exists; `free` is what exists and is free; `full` says whether any place, queue
places included, is left to hand out.
"""

from __future__ import annotations

import math
import threading

from runyard.telemetry.gpu import count_gpus

__all__ = ["Resources", "count_gpus"]


class Resources:
    def __init__(self, gpus: int, cpus: int, ahead: float = 0.0):
        """`ahead`: the queue places handed out beyond the totals, as a share of them."""
        self.ahead = ahead
        self.total_gpus = gpus
        self.total_cpus = cpus
        self._free_gpus = set(range(self._places(gpus)))
        self._free_cpus = self._places(cpus)
        self._lock = threading.Lock()
        # What the totals are of: submissions asking for more are refused, naming it. A
        # cluster not read yet is not `known`: jobs are then queued, not refused.
        self.where = "this server"
        self.known = True

    def _places(self, total: int) -> int:
        return total + math.ceil(total * self.ahead)

    def allocate(self, gpus: int, cpus: int) -> list[int] | None:
        with self._lock:
            if gpus > len(self._free_gpus) or cpus > self._free_cpus:
                return None
            chosen = sorted(self._free_gpus)[:gpus]
            self._free_gpus.difference_update(chosen)
            self._free_cpus -= cpus
            return chosen

    def take(self, gpus: list[int], cpus: int) -> None:
        """Account for an attempt adopted after a restart."""
        with self._lock:
            self._free_gpus.difference_update(gpus)
            self._free_cpus -= cpus

    def release(self, gpus: list[int], cpus: int) -> None:
        with self._lock:
            places = self._places(self.total_gpus)
            self._free_gpus.update(g for g in gpus if g < places)
            self._free_cpus = min(self._places(self.total_cpus), self._free_cpus + cpus)

    @property
    def free(self) -> tuple[int, int]:
        """Free GPUs and CPUs of those that exist (queue places not counted)."""
        with self._lock:
            queue_gpus = self._places(self.total_gpus) - self.total_gpus
            queue_cpus = self._places(self.total_cpus) - self.total_cpus
            return (
                max(0, len(self._free_gpus) - queue_gpus),
                max(0, self._free_cpus - queue_cpus),
            )

    @property
    def full(self) -> bool:
        """No place left to hand out, not even to a job that needs no GPU."""
        with self._lock:
            return self._free_cpus <= 0 and not self._free_gpus

    def resize(self, gpus: int, cpus: int) -> None:
        """New totals (a cluster gained or lost nodes); what is in use stays in use."""
        with self._lock:
            old_places = self._places(self.total_gpus)
            used_gpus = set(range(old_places)) - self._free_gpus
            used_cpus = self._places(self.total_cpus) - self._free_cpus
            self.total_gpus, self.total_cpus = gpus, cpus
            self._free_gpus = set(range(self._places(gpus))) - used_gpus
            self._free_cpus = max(0, self._places(cpus) - used_cpus)
