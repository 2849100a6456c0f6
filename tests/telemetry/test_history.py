"""The ring buffer of host samples and its columns."""

from __future__ import annotations

from runyard.telemetry import GpuSample, History, HostSample, Status
from runyard.telemetry.host import CpuSample, DiskSample, MemorySample


def _sample(ts: float, cpu: float, gpus: list[GpuSample] | None = None) -> HostSample:
    ok = Status.HEALTHY
    return HostSample(
        status=ok,
        ts=ts,
        uptime_s=1.0,
        cpu=CpuSample(cpu, 2, [0.0, 0.0, 0.0], ok),
        memory=MemorySample(100, 40, 60, 40.0, ok),
        disk=DiskSample("/", 100, 10, 90, 10.0, ok),
        gpus=gpus or [],
    )


def _gpu(index: int, util: float, used: int = 50) -> GpuSample:
    return GpuSample(index, f"gpu{index}", used, 200, util, 40.0)


def test_columns_are_aligned_and_cover_the_window() -> None:
    history = History(interval_s=60, capacity=100)
    for minute in range(10):
        history.append(_sample(1000.0 + 60 * minute, cpu=float(minute)))
    cols = history.columns(minutes=3, now=1000.0 + 60 * 9)
    assert cols["interval_s"] == 60
    assert cols["ts"] == [1000.0 + 60 * m for m in (6, 7, 8, 9)]
    assert cols["cpu_percent"] == [6.0, 7.0, 8.0, 9.0]
    assert cols["memory_percent"] == [40.0] * 4 and cols["disk_percent"] == [10.0] * 4
    assert cols["gpus"] == []
    assert len(history.columns(minutes=60, now=1000.0 + 60 * 9)["ts"]) == 10


def test_it_is_bounded() -> None:
    history = History.for_window(interval_s=1, hours=1 / 360)  # 10 s at 1 s: 11 rows
    for i in range(100):
        history.append(_sample(float(i), cpu=1.0))
    assert len(history) == 11
    assert history.columns(minutes=60, now=99.0)["ts"][0] == 89.0


def test_a_gpu_missing_from_a_sample_has_nulls_there() -> None:
    history = History(interval_s=1, capacity=10)
    history.append(_sample(1.0, 0, [_gpu(0, 10), _gpu(1, 20, used=100)]))
    history.append(_sample(2.0, 0, [_gpu(0, 11)]))  # GPU 1 could not be read
    cols = history.columns(minutes=1, now=2.0)
    assert cols["gpus"] == [
        {"index": 0, "name": "gpu0", "utilization": [10, 11], "memory_percent": [25.0, 25.0]},
        {"index": 1, "name": "gpu1", "utilization": [20, None], "memory_percent": [50.0, None]},
    ]


def test_a_gpu_first_seen_after_the_ring_wrapped() -> None:
    history = History(interval_s=1, capacity=3)
    for t in range(5):
        history.append(_sample(float(t), float(t)))
    history.append(_sample(5.0, 5.0, [_gpu(2, 70)]))
    cols = history.columns(minutes=1, now=5.0)
    assert cols["ts"] == [3.0, 4.0, 5.0] and cols["cpu_percent"] == [3.0, 4.0, 5.0]
    (gpu,) = cols["gpus"]
    assert (gpu["index"], gpu["name"]) == (2, "gpu2")
    assert gpu["utilization"] == [None, None, 70] and gpu["memory_percent"] == [None, None, 25.0]
