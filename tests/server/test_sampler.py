"""The telemetry thread's per-run part: a real process tree, a real store (both databases)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import psutil
import pytest

from runyard.config import Settings
from runyard.entities import AttemptStatus, JobSpec, RunStatus
from runyard.server.sampler import Sampler
from runyard.store import Store
from runyard.store.metrics import Series
from tests._fake_nvml import GIB, FakeGpu, fake_nvml
from tests._hog import hog as start_hog

MB = 1024 * 1024


@pytest.fixture
def hog() -> Iterator[subprocess.Popen[bytes]]:
    with start_hog(48) as proc:
        yield proc


def _attempt(store: Store, pid: int, start: float | None) -> str:
    """A job whose first attempt is the process ``pid`` (as the scheduler records it)."""
    run = store.jobs.submit(JobSpec(command=["true"]), experiment="telemetry")
    number = store.jobs.claim(run.id, "local", [])
    assert number == 1
    store.jobs.attempt_started(run.id, number, pid, start, None)
    return run.id


def test_running_attempts_get_system_metrics(
    store: Store, settings: Settings, hog: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    child = psutil.Process(hog.pid).children()[0].pid  # hog started it before printing
    gpus = [FakeGpu(processes=[(child, 3 * GIB), (999_999, 1 * GIB)]), FakeGpu()]
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus))
    run_id = _attempt(store, hog.pid, psutil.Process(hog.pid).create_time())
    sampler = Sampler(store, settings)
    sampler.tick()
    first = store.metrics.read(run_id, None, None, None)
    assert set(first) == {"system/rss_mb", "system/gpu_memory_mb"}  # CPU needs a second look
    sampler.tick()
    data = store.metrics.read(run_id, None, None, None)
    assert set(data) == {"system/rss_mb", "system/gpu_memory_mb", "system/cpu_percent"}
    assert len(data["system/rss_mb"].values) == 2
    assert data["system/rss_mb"].values.min() >= 48  # the child's block, in MB
    assert data["system/gpu_memory_mb"].values.tolist() == [3 * 1024, 3 * 1024]
    assert data["system/cpu_percent"].values[0] >= 0
    steps = data["system/rss_mb"].steps
    assert steps[0] >= 0 and steps[1] >= steps[0]  # whole seconds since the run started
    assert store.runs.get(run_id).metrics["system/rss_mb"] >= 48  # summaries, like any metric
    assert len(sampler.trees) == 1
    sampler.stop()


def test_without_nvml_there_is_no_gpu_metric(
    store: Store, settings: Settings, hog: subprocess.Popen[bytes]
) -> None:
    run_id = _attempt(store, hog.pid, psutil.Process(hog.pid).create_time())
    sampler = Sampler(store, settings)
    sampler.tick()
    sampler.tick()
    assert set(store.metrics.read(run_id, None, None, None)) == {
        "system/rss_mb",
        "system/cpu_percent",
    }


def test_ended_attempts_are_dropped_and_foreign_pids_ignored(
    store: Store, settings: Settings, hog: subprocess.Popen[bytes]
) -> None:
    start = psutil.Process(hog.pid).create_time()
    ours = _attempt(store, hog.pid, start)
    reused = _attempt(store, hog.pid, start - 30)  # same pid, another process's start time
    sampler = Sampler(store, settings)
    sampler.tick()
    assert store.metrics.read(reused, None, None, None) == {}
    assert "system/rss_mb" in store.metrics.read(ours, None, None, None)
    assert len(sampler.trees) == 1
    store.jobs.end_attempt(ours, 1, AttemptStatus.SUCCEEDED, exit_code=0)
    sampler.tick()
    assert len(sampler.trees) == 0
    assert len(store.metrics.read(ours, None, None, None)["system/rss_mb"].values) == 1


def test_system_steps_are_not_training_steps(store: Store) -> None:
    run = store.runs.create(experiment="e")
    one = np.array([1.0])
    store.metrics.ingest(
        run.id,
        [
            Series("train/loss", np.array([7]), one, one),
            Series("system/rss_mb", np.array([3600]), one, one),
        ],
    )
    store.run_state.finish(run.id, RunStatus.COMPLETED)
    summary = store.runs.get(run.id)
    assert summary.metrics["system/rss_mb"] == 1.0
    with store.engine.connect() as conn:
        from runyard.store.run_state import compute_summary

        assert compute_summary(conn, run.id)["steps"] == 7


def test_a_misbehaving_driver_does_not_end_the_thread(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    weird = FakeGpu(fail={"nvmlDeviceGetMemoryInfo": MemoryError("driver bug")})
    fake = fake_nvml([weird])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    sampler = Sampler(store, settings.model_copy(update={"telemetry_interval_s": 0.02}))
    sampler.start()
    try:
        assert sampler.latest().gpus[0].error == "memory: MemoryError: driver bug"
        fake.state.count_error = RuntimeError("not even an NVMLError")
        n = len(sampler.history)
        for _ in range(500):
            if len(sampler.history) >= n + 3:
                break
            sampler._stop.wait(0.02)
        assert sampler.running and len(sampler.history) >= n + 3
        latest = sampler.latest()
        assert latest.gpu_error is not None and "not even an NVMLError" in latest.gpu_error
    finally:
        sampler.stop()
    assert fake.state.shutdowns == 1
