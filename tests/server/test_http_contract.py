"""HTTP behaviour that schemathesis checks route by route, pinned here for the cases it found."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def _run(client: TestClient) -> str:
    r = client.post("/api/runs", json={"name": "contract"})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    run_id = _run(client)
    r = client.request("OPTIONS", "/api/runs")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"
    assert r.json()["error"]["code"] == "method_not_allowed"
    r = client.delete(f"/api/runs/{run_id}/progress")
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("progress", {"epoch": True}),
        ("progress", {"epoch": 1.5}),
        ("progress", {"early_stopped": 0}),
        ("finish", {"status": "completed", "early_stopped": "yes"}),
        ("finish", {"status": "completed", "stopped_at_epoch": 2**31}),
        ("metrics", {"seq": True, "metrics": {}}),
        ("metrics", {"metrics": {"a": {"steps": [1], "values": ["1.5"]}}}),
        ("checkpoints", {"name": "c", "path": "c.pt", "size": 2**63}),
        ("checkpoints", {"name": "c", "path": "c.pt", "size": True}),
    ],
)
def test_wrong_types_and_out_of_range_integers_are_422(
    client: TestClient, path: str, body: dict[str, object]
) -> None:
    run_id = _run(client)
    r = client.post(f"/api/runs/{run_id}/{path}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"
    # Nothing was half-applied: the run is as it was.
    run = client.get(f"/api/runs/{run_id}").json()
    assert run["status"] == "running" and run["progress"]["epoch"] is None


def test_non_finite_values_still_travel_as_strings(client: TestClient) -> None:
    run_id = _run(client)
    body = {"metrics": {"a": {"steps": [1, 2, 3], "values": ["NaN", "Infinity", None]}}}
    r = client.post(f"/api/runs/{run_id}/metrics", json=body)
    assert r.status_code == 200, r.text
    got = client.get(f"/api/runs/{run_id}/metrics", params={"keys": "a"}).json()
    assert got["metrics"]["a"]["values"] == ["NaN", "Infinity", "NaN"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/runs/{id}/metrics?start=99999999999999999999",
        "/api/runs/{id}/metrics?end=-99999999999999999999",
        "/api/events?after=99999999999999999999",
    ],
)
def test_query_integers_past_64_bits_are_422(client: TestClient, url: str) -> None:
    r = client.get(url.format(id=_run(client)))
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "url",
    [
        "/api/runs?limit=%0A5",
        "/api/runs?limit=5%20",
        "/api/queue?limit=+5",
        "/api/runs/{id}/metrics?max_points=%0910",
        "/api/runs/{id}/logs?tail=1.0",
        "/api/system/history?minutes=%0A1",
    ],
)
def test_integers_in_queries_are_digits_only(client: TestClient, url: str) -> None:
    r = client.get(url.format(id=_run(client)))
    assert r.status_code == 422, r.text
