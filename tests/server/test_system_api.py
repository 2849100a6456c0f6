"""GET /api/system, /api/system/history and /metrics, on both databases."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests._fake_nvml import GIB, FakeGpu, NVMLError, fake_nvml

MakeClient = Callable[..., AbstractContextManager[TestClient]]
STATUSES = {"healthy", "warning", "critical"}
QUIET = {"warn_cpu_percent": 100, "crit_cpu_percent": 100}  # a busy test box is not ill


@pytest.fixture
def make_client(settings: Settings, store: Store) -> MakeClient:
    @contextmanager
    def make(**overrides: Any) -> Iterator[TestClient]:
        app = create_app(settings.model_copy(update=overrides), store)
        with TestClient(app) as c:
            yield c

    return make


def _poll(check: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_system_without_nvml(client: TestClient, settings: Settings) -> None:
    r = client.get("/api/system")
    assert r.status_code == 200
    body = r.json()
    keys = {
        "status",
        "ts",
        "uptime_s",
        "cpu",
        "memory",
        "disk",
        "gpus",
        "gpu_error",
        "cluster",
        "backends",
    }
    assert set(body) == keys
    assert body["cluster"] is None  # the local backend: no Ray cluster
    assert body["backends"] == ["local"]
    assert body["gpus"] == [] and body["gpu_error"] is None
    assert set(body["cpu"]) == {"percent", "count", "load", "status"}
    assert len(body["cpu"]["load"]) == 3
    assert set(body["memory"]) == {"total", "used", "available", "percent", "status"}
    assert set(body["disk"]) == {"path", "total", "used", "free", "percent", "status"}
    assert settings.home.is_relative_to(body["disk"]["path"])  # home, or its parent till made
    assert {body["status"], body["cpu"]["status"], body["memory"]["status"]} <= STATUSES
    assert abs(datetime.fromisoformat(body["ts"]).timestamp() - time.time()) < 60
    assert 0 < body["memory"]["percent"] <= 100 and body["memory"]["total"] > 0


@pytest.mark.parametrize(
    ("warn", "crit", "status"), [(100, 100, "healthy"), (0, 100, "warning"), (0, 0, "critical")]
)
def test_thresholds_from_settings(
    make_client: MakeClient, warn: int, crit: int, status: str
) -> None:
    limits = {"warn_disk_percent": warn, "crit_disk_percent": crit, "warn_memory_percent": 100}
    with make_client(**QUIET, **limits, crit_memory_percent=100) as client:
        body = client.get("/api/system").json()
    assert body["disk"]["status"] == status and body["status"] == status


def test_gpus_through_nvml(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = [
        FakeGpu(name="Fake H100", used=10 * GIB, total=80 * GIB, utilization=93, temperature=66),
        FakeGpu(temperature=84, fail={"nvmlDeviceGetUtilizationRates": NVMLError("Unknown")}),
    ]
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml(gpus))
    with make_client(**QUIET, telemetry_interval_s=0.05) as client:
        body = client.get("/api/system").json()
        history = _poll(lambda: (h := client.get("/api/system/history").json())["gpus"] and h)
    first, second = body["gpus"]
    assert first == {
        "index": 0,
        "name": "Fake H100",
        "memory_used": 10 * GIB,
        "memory_total": 80 * GIB,
        "utilization": 93.0,
        "temperature": 66.0,
        "status": "healthy",
        "error": None,
        "memory_errors": None,  # the fake has no ECC
    }
    assert second["utilization"] is None and second["status"] == "warning"
    assert second["error"] == "utilization: NVMLError: Unknown"
    assert body["status"] in ("warning", "critical")
    assert [g["index"] for g in history["gpus"]] == [0, 1]
    assert history["gpus"][0]["utilization"][-1] == 93.0
    assert history["gpus"][0]["memory_percent"][-1] == 12.5


def test_a_broken_nvml_is_reported_not_raised(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_nvml([FakeGpu(), FakeGpu()], init_error=NVMLError("Driver Not Loaded?"))
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with make_client(**QUIET, gpus=2) as client:
        r = client.get("/api/system")
        scraped = client.get("/metrics")
    assert r.status_code == 200 and scraped.status_code == 200
    body = r.json()
    assert "Driver Not Loaded?" in body["gpu_error"]
    assert [(g["index"], g["status"]) for g in body["gpus"]] == [(0, "warning"), (1, "warning")]
    assert all(g["error"] == body["gpu_error"] for g in body["gpus"])


def test_history_is_columnar(make_client: MakeClient) -> None:
    with make_client(telemetry_interval_s=0.05) as client:
        hist = _poll(lambda: len((h := client.get("/api/system/history").json())["ts"]) >= 3 and h)
        bad = client.get("/api/system/history", params={"minutes": 0})
        too_far = client.get("/api/system/history", params={"minutes": 10**9})
        padded = client.get("/api/system/history", params={"minutes": "\n1"})
    assert hist["interval_s"] == 0.05
    n = len(hist["ts"])
    assert len(hist["cpu_percent"]) == len(hist["memory_percent"]) == len(hist["disk_percent"]) == n
    times = [datetime.fromisoformat(t).timestamp() for t in hist["ts"]]
    assert times == sorted(times) and hist["gpus"] == []
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    assert too_far.status_code == 422 and padded.status_code == 422


def _scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_prometheus_metrics(make_client: MakeClient) -> None:
    with make_client(slots=3, gpus=2) as client:
        for _ in range(2):
            assert client.post("/api/runs", json={"experiment": "prom"}).status_code == 201
        run_id = client.post("/api/runs", json={}).json()["id"]
        points = {"loss": {"steps": [1, 2, 3, 4, 5], "values": [5, 4, 3, 2, 1]}}
        logged = client.post(f"/api/runs/{run_id}/metrics", json={"metrics": points})
        assert logged.status_code == 200
        client.get("/api/system")  # the first host sample is in
        m = _scrape(client)
    status = client.get(f"/api/runs/{run_id}").json()["status"]
    assert m[("runyard_runs", (("status", status),))] == 3
    assert sum(v for (name, _), v in m.items() if name == "runyard_runs") == 3
    assert m[("runyard_queue_length", ())] == 0
    assert m[("runyard_cpu_slots_total", ())] == 3 and m[("runyard_cpu_slots_used", ())] == 0
    assert m[("runyard_gpus_total", ())] == 2 and m[("runyard_gpus_used", ())] == 0
    assert m[("runyard_metric_points_ingested_total", ())] == 5
    assert m[("runyard_ingest_points_per_second", ())] > 0
    assert m[("runyard_host_memory_total_bytes", ())] > 0
    assert m[("runyard_health", (("part", "disk"),))] in (0, 1, 2)
    assert ("runyard_host_load", (("minutes", "15"),)) in m
    assert m[("process_resident_memory_bytes", ())] > 0  # the server's own


def test_prometheus_does_not_count_runs_in_the_trash(make_client: MakeClient) -> None:
    with make_client() as client:
        ids = [client.post("/api/runs", json={"experiment": "trash"}).json()["id"] for _ in "abc"]
        for run_id in ids:
            client.post(f"/api/runs/{run_id}/finish", json={"status": "completed"})
        assert _scrape(client)[("runyard_runs", (("status", "completed"),))] == 3
        assert client.delete(f"/api/runs/{ids[0]}").status_code == 200
        assert _scrape(client)[("runyard_runs", (("status", "completed"),))] == 2
        assert client.post(f"/api/runs/{ids[0]}/restore").status_code == 200
        assert _scrape(client)[("runyard_runs", (("status", "completed"),))] == 3


def test_every_app_has_its_own_registry(make_client: MakeClient) -> None:
    with make_client() as one, make_client() as two:
        run_id = one.post("/api/runs", json={}).json()["id"]
        point = {"x": {"steps": [1], "values": [1]}}
        assert one.post(f"/api/runs/{run_id}/metrics", json={"metrics": point}).status_code == 200
        assert _scrape(one)[("runyard_metric_points_ingested_total", ())] == 1
        assert _scrape(two)[("runyard_metric_points_ingested_total", ())] == 0


@pytest.mark.parametrize("path", ["/metrics", "/api/system", "/api/system/history"])
def test_telemetry_needs_the_token(make_client: MakeClient, path: str) -> None:
    with make_client(token=SecretStr("s3cret")) as client:
        missing = client.get(path)
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200
