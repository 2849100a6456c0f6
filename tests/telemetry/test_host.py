"""Host samples and their statuses, against this machine's real figures."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest

from runyard.config import Settings
from runyard.telemetry import HostSampler, Nvml, Status, Thresholds, worst
from runyard.telemetry.health import Level
from tests._fake_nvml import FakeGpu, NVMLError, fake_nvml

NEVER = Level(100, 100)  # no percentage is above it
ALWAYS = Level(0, 0)  # used memory and disk are always above it


def _quiet(**parts: Level) -> Thresholds:
    levels = dict(cpu_percent=NEVER, memory_percent=NEVER, disk_percent=NEVER)
    return Thresholds(**{**levels, **parts})


def test_a_sample_holds_real_figures(tmp_path: Path) -> None:
    sample = HostSampler(tmp_path, _quiet()).sample(cpu_interval=0.05)
    assert sample.status is Status.HEALTHY
    assert sample.cpu.count == psutil.cpu_count() and len(sample.cpu.load) == 3
    assert 0 <= sample.cpu.percent <= 100
    assert sample.memory.total == psutil.virtual_memory().total
    assert 0 < sample.memory.used < sample.memory.total
    assert sample.disk.path == str(tmp_path)
    assert sample.disk.total == psutil.disk_usage(str(tmp_path)).total
    assert sample.uptime_s > 0 and sample.gpus == [] and sample.gpu_error is None


def test_the_disk_of_a_home_not_made_yet_is_its_parents(tmp_path: Path) -> None:
    sample = HostSampler(tmp_path / "not" / "yet", _quiet()).sample(cpu_interval=0.05)
    assert sample.disk.path == str(tmp_path)


@pytest.mark.parametrize(
    ("level", "status"),
    [(NEVER, Status.HEALTHY), (Level(0, 100), Status.WARNING), (ALWAYS, Status.CRITICAL)],
)
def test_thresholds_decide_each_part_and_the_whole(
    tmp_path: Path, level: Level, status: Status
) -> None:
    sample = HostSampler(tmp_path, _quiet(disk_percent=level)).sample(cpu_interval=0.05)
    assert sample.disk.status is status and sample.status is status
    assert sample.memory.status is Status.HEALTHY


def test_thresholds_come_from_settings() -> None:
    t = Thresholds.from_settings(Settings(warn_memory_percent=50, crit_gpu_temp_c=99))
    assert t.memory_percent == Level(50, 95) and t.gpu_temperature_c == Level(80, 99)
    with pytest.raises(ValueError, match="RUNYARD_WARN_CPU_PERCENT"):
        Settings(warn_cpu_percent=99, crit_cpu_percent=90)


def test_worst() -> None:
    assert worst() is Status.HEALTHY
    assert worst(Status.WARNING, Status.HEALTHY) is Status.WARNING
    assert worst(Status.WARNING, Status.CRITICAL, Status.HEALTHY) is Status.CRITICAL


def test_gpus_are_judged_by_temperature_and_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpus = [
        FakeGpu(temperature=60, used=79 * 1024**3),  # a full GPU is a busy one, not an ill one
        FakeGpu(temperature=85),
        FakeGpu(temperature=60, fail={"nvmlDeviceGetUtilizationRates": NVMLError("boom")}),
    ]
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus))
    sampler = HostSampler(tmp_path, _quiet(gpu_temperature_c=Level(80, 90)), Nvml())
    sample = sampler.sample(cpu_interval=0.05)
    assert [g.status for g in sample.gpus] == [Status.HEALTHY, Status.WARNING, Status.WARNING]
    assert sample.status is Status.WARNING
    gpus[1].temperature = 95
    assert sampler.sample().status is Status.CRITICAL


def test_a_busy_cpu_is_healthy(tmp_path: Path) -> None:
    """Full use is what a training box is for: thresholds the CPU is always above change
    nothing, while memory at the same thresholds is judged."""
    sample = HostSampler(tmp_path, _quiet(cpu_percent=ALWAYS)).sample(cpu_interval=0.05)
    assert sample.cpu.status is Status.HEALTHY and sample.status is Status.HEALTHY
    judged = HostSampler(tmp_path, _quiet(memory_percent=ALWAYS)).sample(cpu_interval=0.05)
    assert judged.status is Status.CRITICAL


def test_gpu_memory_errors_are_critical_and_no_ecc_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gpus = [FakeGpu(ecc_uncorrected=0, utilization=100), FakeGpu()]  # the second has no ECC
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus))
    sampler = HostSampler(tmp_path, _quiet(), Nvml())
    sample = sampler.sample(cpu_interval=0.05)
    assert [g.memory_errors for g in sample.gpus] == [0, None]
    assert sample.status is Status.HEALTHY and all(g.error is None for g in sample.gpus)
    gpus[0].ecc_uncorrected = 2
    after = sampler.sample()
    assert after.gpus[0].status is Status.CRITICAL and after.status is Status.CRITICAL


def test_nvml_failing_as_a_whole_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_nvml([FakeGpu()], init_error=NVMLError("Insufficient Permissions"))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    sample = HostSampler(tmp_path, _quiet(), Nvml()).sample(cpu_interval=0.05)
    assert sample.gpus == [] and sample.status is Status.WARNING
    assert sample.gpu_error is not None and "Insufficient Permissions" in sample.gpu_error
