"""Slots: CPUs and GPU indices; a GPU is never shared by two running attempts."""

from __future__ import annotations

import threading

from runyard.telemetry.gpu import count_gpus

__all__ = ["Resources", "count_gpus"]


class Resources:
    def __init__(self, gpus: int, cpus: int):
        self.total_gpus = gpus
        self.total_cpus = cpus
        self._free_gpus = set(range(gpus))
        self._free_cpus = cpus
        self._lock = threading.Lock()
        # What the totals are of: submissions asking for more are refused, naming it. A
        # cluster not read yet is not `known`: jobs are then queued, not refused.
        self.where = "this server"
        self.known = True

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
            self._free_gpus.update(g for g in gpus if g < self.total_gpus)
            self._free_cpus = min(self.total_cpus, self._free_cpus + cpus)

    @property
    def free(self) -> tuple[int, int]:
        with self._lock:
            return len(self._free_gpus), self._free_cpus

    def resize(self, gpus: int, cpus: int) -> None:
        """New totals (a cluster gained or lost nodes); what is in use stays in use."""
        with self._lock:
            used_gpus = set(range(self.total_gpus)) - self._free_gpus
            used_cpus = self.total_cpus - self._free_cpus
            self.total_gpus, self.total_cpus = gpus, cpus
            self._free_gpus = set(range(gpus)) - used_gpus
            self._free_cpus = max(0, cpus - used_cpus)
