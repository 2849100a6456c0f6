"""Health: each part of the host is healthy, warning or critical by configurable thresholds.

A part is warning (critical) when its value is above the warning (critical) threshold, so
100 % turns a percentage's check off. CPU has thresholds of its own because a
training box at 90 % CPU is busy, not ill; GPUs are judged by temperature only, because a
training job that fills a GPU's memory (PyTorch's caching allocator does) is normal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runyard.config import Settings


class Status(StrEnum):
    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"


_RANK = {Status.HEALTHY: 0, Status.WARNING: 1, Status.CRITICAL: 2}


def worst(*statuses: Status) -> Status:
    return max(statuses, key=_RANK.__getitem__, default=Status.HEALTHY)


def rank(status: Status) -> int:
    """0, 1, 2: the status as a number (a Prometheus gauge)."""
    return _RANK[status]


@dataclass(frozen=True)
class Level:
    warning: float
    critical: float

    def of(self, value: float | None) -> Status:
        if value is None:
            return Status.HEALTHY
        if value > self.critical:
            return Status.CRITICAL
        if value > self.warning:
            return Status.WARNING
        return Status.HEALTHY


@dataclass(frozen=True)
class Thresholds:
    cpu_percent: Level = Level(90.0, 98.0)
    memory_percent: Level = Level(85.0, 95.0)
    disk_percent: Level = Level(85.0, 95.0)
    gpu_temperature_c: Level = Level(80.0, 90.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            cpu_percent=Level(settings.warn_cpu_percent, settings.crit_cpu_percent),
            memory_percent=Level(settings.warn_memory_percent, settings.crit_memory_percent),
            disk_percent=Level(settings.warn_disk_percent, settings.crit_disk_percent),
            gpu_temperature_c=Level(settings.warn_gpu_temp_c, settings.crit_gpu_temp_c),
        )
