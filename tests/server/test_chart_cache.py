"""Downsampled reads are served again from memory, and never once the data changed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store


def _ingest(client: TestClient, run_id: str, steps: list[int], values: list[float]) -> None:
    body = {"metrics": {"loss": {"steps": steps, "values": values}}}
    r = client.post(f"/api/runs/{run_id}/metrics", json=body)
    assert r.status_code == 200, r.text


def test_a_chart_read_sees_every_ingest_and_hits_only_when_nothing_changed(
    client: TestClient,
) -> None:
    run_id = client.post("/api/runs", json={}).json()["id"]
    _ingest(client, run_id, list(range(100)), [float(i) for i in range(100)])
    url = f"/api/runs/{run_id}/metrics?keys=loss&max_points=10"
    cache = client.app.state.chart_cache  # type: ignore[attr-defined]
    first = client.get(url).json()
    assert len(first["metrics"]["loss"]["steps"]) <= 10
    hits = cache.hits
    assert client.get(url).json() == first
    assert cache.hits == hits + 1
    _ingest(client, run_id, [100], [1000.0])  # the new maximum must show at once
    after = client.get(url).json()["metrics"]["loss"]
    assert after["steps"][-1] == 100 and 1000.0 in after["values"]
    assert cache.hits == hits + 1
    # A window is its own entry; keys are one entry whatever their order.
    window = client.get(url + "&start=10&end=20").json()["metrics"]["loss"]
    assert window["steps"][0] >= 10 and window["steps"][-1] <= 20
    early = f"/api/runs/{run_id}/metrics?keys=loss&max_points=1000&start=0&end=9"
    assert client.get(early).json()["metrics"]["loss"]["values"].count(3.0) == 1
    _ingest(client, run_id, [5], [3.0])  # a point inside a window already cached
    assert client.get(early).json()["metrics"]["loss"]["values"].count(3.0) == 2


def test_unknown_run_is_404_on_the_cached_path(client: TestClient) -> None:
    r = client.get("/api/runs/nope/metrics?max_points=10")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_a_cache_never_serves_what_another_process_changed(
    client: TestClient, settings: Settings
) -> None:
    """Each worker process keeps its own cache; the version it checks lives in the database,
    so a write through another process (here: another app with its own store and cache on the
    same database) is seen at once, and a merge of chunks (same points) changes nothing."""
    other_store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    try:
        other = TestClient(create_app(settings, other_store))  # no lifespan: no second leader
        run_id = client.post("/api/runs", json={}).json()["id"]
        _ingest(other, run_id, list(range(3000)), [float(i % 7) for i in range(3000)])
        url = f"/api/runs/{run_id}/metrics?keys=loss&max_points=20"
        first = client.get(url).json()["metrics"]["loss"]
        assert client.get(url).json()["metrics"]["loss"] == first  # a hit, in this process
        _ingest(other, run_id, [3000], [-1.0])  # a new minimum and a new last point elsewhere
        after = client.get(url).json()["metrics"]["loss"]
        assert after["steps"][-1] == 3000 and -1.0 in after["values"]
        assert other.get(url).json()["metrics"]["loss"] == after
    finally:
        other_store.close()
