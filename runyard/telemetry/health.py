"""Health: each part of the host is healthy, warning or critical by configurable thresholds.

A part is warning (critical) when its value is above the warning (critical) threshold, so
100 % turns a percentage's check off. Health judges what harms training: memory and disk
filling up, a GPU running hot, a GPU's memory errors. Use is not harm: a training box at
100 % CPU, or a GPU whose memory PyTorch's caching allocator has filled, is busy, not ill, so
CPU and GPU use are shown but never judged (the CPU thresholds are kept for old configs).
Uncorrected GPU memory (ECC) errors since the driver loaded are critical: results computed
since may be wrong.
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
