"""One sample of the host: CPU, RAM, the disk that holds runyard's data, load, uptime, GPUs."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from runyard.telemetry.gpu import GpuSample, Nvml
from runyard.telemetry.health import Status, Thresholds, worst


@dataclass
class CpuSample:
    percent: float  # of all cores, 0–100
    count: int
    load: list[float]  # 1, 5 and 15 minutes
    status: Status


@dataclass
class MemorySample:
    total: int
    used: int
    available: int
    percent: float
    status: Status


@dataclass
class DiskSample:
    path: str
    total: int
    used: int
    free: int
    percent: float
    status: Status


@dataclass
class HostSample:
    status: Status  # the worst of its parts
    ts: float
    uptime_s: float
    cpu: CpuSample
    memory: MemorySample
    disk: DiskSample
    gpus: list[GpuSample] = field(default_factory=list)
    gpu_error: str | None = None  # NVML as a whole failed; None without NVML too


def _existing(path: Path) -> Path:
    """The path, or its nearest existing parent (home may not exist before the first run)."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class HostSampler:
    """Takes host samples; the CPU percentage is since this thread's previous sample, as
    psutil measures it per calling thread (prime() once in the thread that samples)."""

    def __init__(self, data_path: Path, thresholds: Thresholds, nvml: Nvml | None = None):
        self.data_path = data_path
        self.thresholds = thresholds
        self.nvml = nvml if nvml is not None else Nvml()
        self._lock = threading.Lock()

    def prime(self) -> None:
        psutil.cpu_percent(interval=None)

    def sample(self, cpu_interval: float | None = None) -> HostSample:
        """A sample now; ``cpu_interval`` seconds of blocking measure the CPU when this thread
        has no previous sample."""
        t = self.thresholds
        with self._lock:
            cpu_percent = float(psutil.cpu_percent(interval=cpu_interval))
            gpus = self.nvml.gpus()
            gpu_error = self.nvml.error
        cpu = CpuSample(
            percent=cpu_percent,
            count=psutil.cpu_count() or os.cpu_count() or 1,
            load=[round(x, 2) for x in psutil.getloadavg()],
            status=Status.HEALTHY,  # busy, not ill: use is shown, never judged (health.py)
        )
        vm = psutil.virtual_memory()
        memory = MemorySample(
            total=int(vm.total),
            used=int(vm.used),
            available=int(vm.available),
            percent=float(vm.percent),
            status=t.memory_percent.of(vm.percent),
        )
        path = _existing(self.data_path)
        du = psutil.disk_usage(str(path))
        disk = DiskSample(
            path=str(path),
            total=int(du.total),
            used=int(du.used),
            free=int(du.free),
            percent=float(du.percent),
            status=t.disk_percent.of(du.percent),
        )
        for gpu in gpus:
            flagged = Status.WARNING if gpu.error else Status.HEALTHY
            ecc = Status.CRITICAL if gpu.memory_errors else Status.HEALTHY
            gpu.status = worst(gpu.status, flagged, ecc, t.gpu_temperature_c.of(gpu.temperature))
        parts = [cpu.status, memory.status, disk.status, *(g.status for g in gpus)]
        if gpu_error:
            parts.append(Status.WARNING)
        now = time.time()
        return HostSample(
            status=worst(*parts),
            ts=now,
            uptime_s=round(now - psutil.boot_time(), 1),
            cpu=cpu,
            memory=memory,
            disk=disk,
            gpus=gpus,
            gpu_error=gpu_error,
        )
