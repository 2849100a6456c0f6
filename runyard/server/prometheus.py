"""`GET /metrics`: the server in Prometheus' text format.

Imported on the first scrape, not at start: a server nobody scrapes never loads
prometheus_client.

One CollectorRegistry per app (not prometheus_client's global one), so that a process that
builds many apps (the tests) never registers a name twice. Gauges are read when scraped:
run counts from the store, slots from the scheduler's Resources, host figures from the
sampler's newest sample (no sampling at scrape time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from runyard.entities import RunStatus
from runyard.runner.resources import Resources
from runyard.server.ingest_meter import IngestMeter
from runyard.server.sampler import Sampler
from runyard.store import Store
from runyard.store.tables import runs
from runyard.telemetry import HostSample
from runyard.telemetry.health import rank


class _Gauges(Collector):
    def __init__(self, store: Store, resources: Resources, sampler: Sampler, meter: IngestMeter):
        self.store = store
        self.resources = resources
        self.sampler = sampler
        self.meter = meter
        self.free: Callable[[], tuple[int, int]] = lambda: resources.free

    def collect(self) -> Iterator[Metric]:
        yield from self._runs()
        yield from self._slots()
        yield CounterMetricFamily(
            "runyard_metric_points_ingested",
            "Metric points accepted by POST /api/runs/{id}/metrics.",
            value=self.meter.total,
        )
        yield GaugeMetricFamily(
            "runyard_ingest_points_per_second",
            "Metric points ingested per second over the last minute.",
            value=self.meter.rate(),
        )
        yield from self._host()

    def _runs(self) -> Iterator[Metric]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(  # a run in the trash is gone, as in every list
                sa.select(runs.c.status, sa.func.count())
                .where(runs.c.deleted_at.is_(None))
                .group_by(runs.c.status)
            ).all()
        counts = {status: int(n) for status, n in rows}
        by_status = GaugeMetricFamily("runyard_runs", "Runs by status.", labels=["status"])
        for status in RunStatus:
            by_status.add_metric([status.value], counts.get(status.value, 0))
        yield by_status
        waiting = counts.get(RunStatus.QUEUED.value, 0) + counts.get(RunStatus.RETRYING.value, 0)
        yield GaugeMetricFamily(
            "runyard_queue_length", "Runs waiting to start (queued or retrying).", value=waiting
        )

    def _slots(self) -> Iterator[Metric]:
        free_gpus, free_cpus = self.free()
        r = self.resources
        for name, help_, value in (
            ("runyard_cpu_slots_total", "CPU slots the scheduler hands out.", r.total_cpus),
            ("runyard_cpu_slots_used", "CPU slots held by attempts.", r.total_cpus - free_cpus),
            ("runyard_gpus_total", "GPUs the scheduler hands out.", r.total_gpus),
            ("runyard_gpus_used", "GPUs held by running attempts.", r.total_gpus - free_gpus),
        ):
            yield GaugeMetricFamily(name, help_, value=value)

    def _host(self) -> Iterator[Metric]:
        sample = self.sampler.peek()
        if sample is None:
            return
        health = GaugeMetricFamily(
            "runyard_health", "0 healthy, 1 warning, 2 critical, by part.", labels=["part"]
        )
        for part, status in (
            ("overall", sample.status),
            ("cpu", sample.cpu.status),
            ("memory", sample.memory.status),
            ("disk", sample.disk.status),
        ):
            health.add_metric([part], rank(status))
        for gpu in sample.gpus:
            health.add_metric([f"gpu{gpu.index}"], rank(gpu.status))
        yield health
        for name, help_, value in (
            ("runyard_host_cpu_percent", "Busy share of all cores, 0-100.", sample.cpu.percent),
            ("runyard_host_memory_used_bytes", "RAM in use.", sample.memory.used),
            ("runyard_host_memory_total_bytes", "RAM in all.", sample.memory.total),
            ("runyard_host_disk_used_bytes", "Used on the disk of the data.", sample.disk.used),
            ("runyard_host_disk_total_bytes", "Size of the disk of the data.", sample.disk.total),
            ("runyard_host_uptime_seconds", "Seconds since the host booted.", sample.uptime_s),
        ):
            yield GaugeMetricFamily(name, help_, value=value)
        load = GaugeMetricFamily("runyard_host_load", "Load average.", labels=["minutes"])
        for minutes, value in zip(("1", "5", "15"), sample.cpu.load, strict=True):
            load.add_metric([minutes], value)
        yield load
        if sample.gpus:
            yield from _gpus(sample)


def _gpus(sample: HostSample) -> Iterator[Metric]:
    families = {
        "memory_used": GaugeMetricFamily(
            "runyard_gpu_memory_used_bytes", "GPU memory in use.", labels=["gpu", "name"]
        ),
        "memory_total": GaugeMetricFamily(
            "runyard_gpu_memory_total_bytes", "GPU memory in all.", labels=["gpu", "name"]
        ),
        "utilization": GaugeMetricFamily(
            "runyard_gpu_utilization_percent", "GPU busy share, 0-100.", labels=["gpu", "name"]
        ),
        "temperature": GaugeMetricFamily(
            "runyard_gpu_temperature_celsius", "GPU temperature.", labels=["gpu", "name"]
        ),
    }
    for gpu in sample.gpus:
        labels = [str(gpu.index), gpu.name or ""]
        for field, family in families.items():
            value = getattr(gpu, field)
            if value is not None:
                family.add_metric(labels, value)
    yield from families.values()


def build_registry(
    store: Store,
    resources: Resources,
    sampler: Sampler,
    meter: IngestMeter,
    free: Callable[[], tuple[int, int]] | None = None,
) -> CollectorRegistry:
    """``free``: the free (GPUs, CPUs) when ``resources`` is not the scheduler's own (a
    worker that does not lead reads them from the store)."""
    registry = CollectorRegistry()
    gauges = _Gauges(store, resources, sampler, meter)
    if free is not None:
        gauges.free = free
    registry.register(gauges)
    ProcessCollector(registry=registry)  # the server's own CPU, memory and open files
    return registry
