"""A stand-in for `pynvml`, for the one thing a test machine lacks: an NVIDIA GPU.

Tests inject it with ``monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(...))``. It
offers only the functions runyard calls, and fails the ones a test asks it to.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

GIB = 1024**3


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801 (pynvml's own spelling)
    pass


@dataclass
class FakeGpu:
    name: str | bytes = "Fake GPU 80GB"
    used: int = 2 * GIB
    total: int = 80 * GIB
    utilization: int = 37
    temperature: int = 55
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, bytes)
    ecc_uncorrected: int | None = None  # None: the GPU has no ECC (NotSupported)
    fail: dict[str, Exception] = field(default_factory=dict)  # function name → what it raises


@dataclass
class FakeState:
    gpus: list[FakeGpu]
    init_error: Exception | None = None
    count_error: Exception | None = None
    inits: int = 0
    shutdowns: int = 0


def fake_nvml(
    gpus: list[FakeGpu],
    *,
    init_error: Exception | None = None,
    count_error: Exception | None = None,
) -> Any:
    """A module object; its ``state`` (a FakeState) can be changed while it is in use."""
    state = FakeState(gpus, init_error, count_error)
    mod: Any = types.ModuleType("pynvml")
    mod.state = state
    mod.NVMLError = NVMLError
    mod.NVMLError_NotSupported = NVMLError_NotSupported
    mod.NVML_TEMPERATURE_GPU = 0
    mod.NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    mod.NVML_VOLATILE_ECC = 0

    def gpu(handle: int, func: str) -> FakeGpu:
        g = state.gpus[handle]
        if func in g.fail:
            raise g.fail[func]
        return g

    def nvmlInit() -> None:
        if state.init_error is not None:
            raise state.init_error
        state.inits += 1

    def nvmlShutdown() -> None:
        state.shutdowns += 1

    def nvmlDeviceGetCount() -> int:
        if state.count_error is not None:
            raise state.count_error
        return len(state.gpus)

    def nvmlDeviceGetHandleByIndex(index: int) -> int:
        gpu(index, "nvmlDeviceGetHandleByIndex")
        return index

    def nvmlDeviceGetName(handle: int) -> str | bytes:
        return gpu(handle, "nvmlDeviceGetName").name

    def nvmlDeviceGetMemoryInfo(handle: int) -> Any:
        g = gpu(handle, "nvmlDeviceGetMemoryInfo")
        return types.SimpleNamespace(used=g.used, total=g.total, free=g.total - g.used)

    def nvmlDeviceGetUtilizationRates(handle: int) -> Any:
        return types.SimpleNamespace(gpu=gpu(handle, "nvmlDeviceGetUtilizationRates").utilization)

    def nvmlDeviceGetTemperature(handle: int, sensor: int) -> int:
        assert sensor == 0
        return gpu(handle, "nvmlDeviceGetTemperature").temperature

    def nvmlDeviceGetTotalEccErrors(handle: int, error_type: int, counter_type: int) -> int:
        assert (error_type, counter_type) == (1, 0)  # uncorrected, since the driver loaded
        g = gpu(handle, "nvmlDeviceGetTotalEccErrors")
        if g.ecc_uncorrected is None:
            raise NVMLError_NotSupported("Not Supported")
        return g.ecc_uncorrected

    def nvmlDeviceGetComputeRunningProcesses(handle: int) -> list[Any]:
        g = gpu(handle, "nvmlDeviceGetComputeRunningProcesses")
        return [types.SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in g.processes]

    for f in (
        nvmlInit,
        nvmlShutdown,
        nvmlDeviceGetCount,
        nvmlDeviceGetHandleByIndex,
        nvmlDeviceGetName,
        nvmlDeviceGetMemoryInfo,
        nvmlDeviceGetUtilizationRates,
        nvmlDeviceGetTemperature,
        nvmlDeviceGetTotalEccErrors,
        nvmlDeviceGetComputeRunningProcesses,
    ):
        setattr(mod, f.__name__, f)
    return mod
