"""NVML absent (this machine), present (a fake module), and failing in every way it can."""

from __future__ import annotations

import sys

import pytest

from runyard.runner.resources import count_gpus as scheduler_count_gpus
from runyard.telemetry import Nvml, count_gpus
from runyard.telemetry.health import Status
from tests._fake_nvml import GIB, FakeGpu, NVMLError, NVMLError_NotSupported, fake_nvml


def _real_nvml_works() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except Exception:
        return False


@pytest.mark.skipif(_real_nvml_works(), reason="this machine has NVML")
def test_without_nvml_there_are_no_gpus_and_no_error() -> None:
    nvml = Nvml()  # the real pynvml, without its library
    assert nvml.gpus() == []
    assert nvml.error is None and nvml.absent and not nvml.available
    assert nvml.process_memory() == {}
    assert count_gpus() == 0
    nvml.close()


@pytest.mark.parametrize("missing", ["NVMLError_LibraryNotFound", "NVMLError_DriverNotLoaded"])
def test_a_missing_library_or_driver_is_no_gpu(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    error = type(missing, (NVMLError,), {})("not here")
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([FakeGpu()], init_error=error))
    nvml = Nvml(expected=1)
    assert nvml.gpus() == [] and nvml.error is None and nvml.absent


def test_without_the_python_package_either(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    nvml = Nvml(expected=2)
    assert nvml.gpus() == [] and nvml.error is None and nvml.absent
    assert count_gpus() == 0


def test_every_gpu_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_nvml([FakeGpu(name=b"Fake A100"), FakeGpu(used=40 * GIB, temperature=71)])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    nvml = Nvml()
    first, second = nvml.gpus()
    assert (first.index, first.name, first.memory_used, first.memory_total) == (
        0, "Fake A100", 2 * GIB, 80 * GIB,
    )  # fmt: skip
    assert (first.utilization, first.temperature, first.error) == (37.0, 55.0, None)
    assert second.memory_percent == 50.0 and second.temperature == 71.0
    assert nvml.available
    nvml.gpus()
    assert fake.state.inits == 1  # one session, kept between samples
    nvml.close()
    assert fake.state.shutdowns == 1


def test_the_scheduler_counts_through_the_same_module(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_nvml([FakeGpu(), FakeGpu(), FakeGpu()])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert scheduler_count_gpus() == 3
    assert fake.state.inits == fake.state.shutdowns == 1


def test_one_failing_call_marks_that_gpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = FakeGpu(fail={"nvmlDeviceGetTemperature": NVMLError("GPU is lost")})
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([FakeGpu(), broken]))
    ok, bad = Nvml().gpus()
    assert ok.error is None
    assert bad.temperature is None and bad.memory_used == 2 * GIB and bad.name
    assert bad.error == "temperature: NVMLError: GPU is lost"


def test_a_gpu_without_a_handle_keeps_its_index(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = FakeGpu(fail={"nvmlDeviceGetHandleByIndex": NVMLError("Unknown Error")})
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([gone]))
    (gpu,) = Nvml().gpus()
    assert gpu.index == 0 and gpu.name is None and gpu.memory_used is None
    assert gpu.error is not None and gpu.error.startswith("handle:")


def test_an_unsupported_field_is_null_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    mig = FakeGpu(fail={"nvmlDeviceGetUtilizationRates": NVMLError_NotSupported("Not Supported")})
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([mig]))
    (gpu,) = Nvml().gpus()
    assert gpu.utilization is None and gpu.error is None and gpu.temperature == 55.0


def test_a_failing_init_is_an_error_for_every_expected_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_nvml([FakeGpu(), FakeGpu()], init_error=NVMLError("Driver/library mismatch"))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert Nvml().gpus() == []  # nothing known: no GPU to pin the error on
    nvml = Nvml(expected=2)
    gpus = nvml.gpus()
    assert [g.index for g in gpus] == [0, 1]
    assert all(g.status is Status.WARNING for g in gpus)
    assert all("Driver/library mismatch" in (g.error or "") for g in gpus)
    assert nvml.error == "NVML did not start: NVMLError: Driver/library mismatch"
    assert count_gpus() == 0
    fake.state.init_error = None  # the driver came back: the next sample reads the GPUs
    assert [g.error for g in nvml.gpus()] == [None, None] and nvml.error is None


def test_known_gpus_stay_listed_when_nvml_stops_answering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_nvml([FakeGpu(name="A"), FakeGpu(name="B")])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    nvml = Nvml()
    assert [g.name for g in nvml.gpus()] == ["A", "B"]
    fake.state.count_error = NVMLError("Unknown Error")
    gpus = nvml.gpus()
    assert [(g.index, g.name) for g in gpus] == [(0, "A"), (1, "B")]
    assert all(g.memory_used is None and g.error == nvml.error for g in gpus)
    assert nvml.error is not None and "could not count" in nvml.error


def test_any_exception_from_nvml_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    weird = FakeGpu(fail={"nvmlDeviceGetName": UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")})
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([weird]))
    (gpu,) = Nvml().gpus()
    assert gpu.name is None and gpu.error is not None and "UnicodeDecodeError" in gpu.error


def test_process_memory_sums_each_pid_over_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [
        FakeGpu(processes=[(100, 3 * GIB), (200, None)]),  # None: the driver hides it
        FakeGpu(processes=[(100, 1 * GIB)]),
        FakeGpu(fail={"nvmlDeviceGetComputeRunningProcesses": NVMLError("Unknown Error")}),
    ]
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus))
    assert Nvml().process_memory() == {100: 4 * GIB}
