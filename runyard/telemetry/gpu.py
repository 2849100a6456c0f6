"""GPUs through NVML (nvidia-ml-py, imported as ``pynvml``).

A machine without NVML (no library, no driver) has no GPUs, and that is not an error. On a
machine with NVML every call may still fail on its own (a GPU fallen off the bus, a field a
GPU does not support): a failure is kept beside what it concerns, as text, and never raised,
so that a health page never breaks because of the thing it is reporting on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runyard.telemetry.health import Status

log = logging.getLogger("runyard.telemetry")

# NVML errors that mean "there is no NVIDIA GPU here", by class name: pynvml makes these
# classes at import time, and a test's fake module need not define them.
_ABSENT = frozenset({"NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded"})
_NOT_SUPPORTED = frozenset({"NVMLError_NotSupported"})


def _is(exc: BaseException, names: frozenset[str]) -> bool:
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass
class GpuSample:
    index: int
    name: str | None
    memory_used: int | None  # bytes
    memory_total: int | None
    utilization: float | None  # percent of the last sample period the GPU was busy
    temperature: float | None  # °C
    status: Status = Status.HEALTHY
    error: str | None = None  # what could not be read, when something could not
    memory_errors: int | None = None  # uncorrected ECC errors since the driver loaded

    @property
    def memory_percent(self) -> float | None:
        if self.memory_used is None or not self.memory_total:
            return None
        return 100.0 * self.memory_used / self.memory_total


class Nvml:
    """One NVML session, opened on first use and kept (an init per sample costs ~ms).

    Not thread-safe: one owner (the server's sampler thread) calls it. ``expected`` GPUs (the
    scheduler's count) are reported with the error when NVML fails before it ever answered.
    """

    def __init__(self, expected: int = 0):
        self._nv: Any = None
        self.absent = False
        self.error: str | None = None  # NVML as a whole failed (init or device count)
        self._known: dict[int, str | None] = dict.fromkeys(range(expected))

    @property
    def available(self) -> bool:
        """NVML answered its last question (False without NVML or while it fails)."""
        return self._nv is not None and self.error is None

    def _open(self) -> Any:
        if self._nv is not None or self.absent:
            return self._nv
        try:
            import pynvml
        except ImportError:
            self.absent = True
            return None
        try:
            pynvml.nvmlInit()
        except Exception as exc:
            if _is(exc, _ABSENT):
                self.absent = True
            else:
                self._fail(f"NVML did not start: {_describe(exc)}")
            return None
        self._nv = pynvml
        return pynvml

    def _fail(self, message: str) -> None:
        if message != self.error:
            log.warning("%s", message)
        self.error = message

    def count(self) -> int:
        """Devices NVML sees now; 0 without NVML or when it fails."""
        nv = self._open()
        if nv is None:
            return 0
        try:
            return int(nv.nvmlDeviceGetCount())
        except Exception as exc:
            self._fail(f"NVML could not count devices: {_describe(exc)}")
            return 0

    def gpus(self) -> list[GpuSample]:
        """Every GPU with what could be read of it; the known ones with the error when NVML
        as a whole fails."""
        nv = self._open()
        if nv is None and self.error is None:
            return []
        if nv is not None:
            try:
                count = int(nv.nvmlDeviceGetCount())
            except Exception as exc:
                self._fail(f"NVML could not count devices: {_describe(exc)}")
            else:
                self.error = None
                samples = [_read_gpu(nv, i, self._known.get(i)) for i in range(count)]
                self._known = {g.index: g.name for g in samples}
                return samples
        return [
            GpuSample(i, name, None, None, None, None, Status.WARNING, self.error)
            for i, name in sorted(self._known.items())
        ]

    def process_memory(self) -> dict[int, int]:
        """GPU memory (bytes) each process uses, summed over GPUs; {} without NVML."""
        nv = self._open()
        out: dict[int, int] = {}
        if nv is None:
            return out
        for i in range(self.count()):
            try:
                handle = nv.nvmlDeviceGetHandleByIndex(i)
                procs = nv.nvmlDeviceGetComputeRunningProcesses(handle)
            except Exception:  # reported by gpus(); one device must not hide the others
                continue
            for proc in procs:
                used = getattr(proc, "usedGpuMemory", None)  # None where the driver hides it
                if used:
                    out[int(proc.pid)] = out.get(int(proc.pid), 0) + int(used)
        return out

    def close(self) -> None:
        if self._nv is not None:
            try:
                self._nv.nvmlShutdown()
            except Exception as exc:
                log.debug("nvmlShutdown failed: %s", exc)
            self._nv = None


def _read_gpu(nv: Any, index: int, known_name: str | None) -> GpuSample:
    errors: list[str] = []

    def call(what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            if not _is(exc, _NOT_SUPPORTED):  # a field this GPU lacks is null, not an error
                errors.append(f"{what}: {_describe(exc)}")
            return None

    sample = GpuSample(index, known_name, None, None, None, None)
    handle = call("handle", nv.nvmlDeviceGetHandleByIndex, index)
    if handle is not None:
        name = call("name", nv.nvmlDeviceGetName, handle)
        if name is not None:
            sample.name = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
        memory = call("memory", nv.nvmlDeviceGetMemoryInfo, handle)
        if memory is not None:
            sample.memory_used, sample.memory_total = int(memory.used), int(memory.total)
        rates = call("utilization", nv.nvmlDeviceGetUtilizationRates, handle)
        if rates is not None:
            sample.utilization = float(rates.gpu)
        sensor = getattr(nv, "NVML_TEMPERATURE_GPU", 0)
        temperature = call("temperature", nv.nvmlDeviceGetTemperature, handle, sensor)
        if temperature is not None:
            sample.temperature = float(temperature)
        ecc = getattr(nv, "nvmlDeviceGetTotalEccErrors", None)
        if ecc is not None:  # NotSupported (no ECC, e.g. a consumer GPU) leaves it null
            uncorrected = getattr(nv, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1)
            volatile = getattr(nv, "NVML_VOLATILE_ECC", 0)
            count = call("memory errors", ecc, handle, uncorrected, volatile)
            if count is not None:
                sample.memory_errors = int(count)
    if errors:
        sample.error = "; ".join(errors)
    return sample


def count_gpus() -> int:
    """NVML's device count; 0 where NVML is absent (a CPU machine is the normal case)."""
    nvml = Nvml()
    try:
        return nvml.count()
    finally:
        nvml.close()
