"""`POST /api/bulk/runs`: delete or tag many runs in one request, each run answered for."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from runyard.store import Store


def _runs(client: TestClient, n: int, experiment: str = "bulk") -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        r = client.post("/api/runs", json={"experiment": experiment, "name": f"r{i}"})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _finish(client: TestClient, run_id: str) -> None:
    assert client.post(f"/api/runs/{run_id}/finish", json={"status": "completed"}).is_success


def test_tag_and_untag_many_runs(client: TestClient) -> None:
    runs = _runs(client, 25)
    ids = [r["id"] for r in runs]
    r = client.post("/api/bulk/runs", json={"ids": ids, "action": "tag", "tag": "paper"})
    assert r.status_code == 200, r.text
    assert r.json() == {"done": ids, "refused": []}
    tagged = client.get("/api/runs", params={"tag": "paper", "limit": 100}).json()["runs"]
    assert sorted(t["id"] for t in tagged) == sorted(ids)
    again = client.post("/api/bulk/runs", json={"ids": ids[:3], "action": "tag", "tag": "paper"})
    assert again.json()["done"] == ids[:3]  # idempotent: still one "paper"
    assert client.get(f"/api/runs/{ids[0]}").json()["tags"] == ["paper"]
    r = client.post("/api/bulk/runs", json={"ids": ids[:5], "action": "untag", "tag": "paper"})
    assert r.json()["done"] == ids[:5]
    assert client.get(f"/api/runs/{ids[0]}").json()["tags"] == []
    assert client.get(f"/api/runs/{ids[5]}").json()["tags"] == ["paper"]


def test_delete_many_refuses_active_and_unknown_runs_with_the_reason(
    client: TestClient, store: Store
) -> None:
    runs = _runs(client, 15)
    ids = [r["id"] for r in runs]
    for run_id in ids[:12]:
        _finish(client, run_id)
    body = {"ids": [*ids, "no-such-run", ids[0]], "action": "delete"}
    r = client.post("/api/bulk/runs", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["done"] == ids[:12]
    refused = {x["id"]: x["reason"] for x in out["refused"]}
    assert set(refused) == {*ids[12:], "no-such-run"}
    assert all("running" in refused[i] for i in ids[12:]), refused
    assert "no run" in refused["no-such-run"]
    assert {t.id for t in store.trash.items()} == set(ids[:12])
    left = client.get("/api/runs", params={"experiment": "bulk"}).json()["runs"]
    assert sorted(x["id"] for x in left) == sorted(ids[12:])


def test_bad_bulk_requests_are_400s(client: TestClient) -> None:
    (run,) = _runs(client, 1)
    for body in (
        {"ids": [], "action": "delete"},
        {"ids": [run["id"]], "action": "tag"},  # which tag?
        {"ids": [run["id"]], "action": "explode"},
        {"ids": [run["id"]], "action": "tag", "tag": ""},
        {"ids": ["x"] * 10_001, "action": "delete"},
    ):
        r = client.post("/api/bulk/runs", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)
        assert r.json()["error"]["message"]
    assert client.get(f"/api/runs/{run['id']}").json()["tags"] == []
