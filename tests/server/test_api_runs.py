from __future__ import annotations

import hashlib
import os

import pytest
from fastapi.testclient import TestClient


def _create(client: TestClient, **body: object) -> dict:
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_health(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"


def test_create_get_patch_run(client: TestClient) -> None:
    run = _create(client, name="r1", experiment="mnist", params={"lr": 0.1}, tags=["base"])
    assert {"id", "name", "experiment", "status", "params", "tags", "notes", "early_stopped",
            "stopped_at_epoch", "progress", "attempt_count", "run_dir", "created_at",
            "started_at", "ended_at"} <= run.keys()  # fmt: skip
    assert run["status"] == "running" and run["experiment"] == "mnist"
    got = client.get(f"/api/runs/{run['id']}").json()
    assert got == run
    patched = client.patch(f"/api/runs/{run['id']}", json={"notes": "good", "tags": ["x"]}).json()
    assert (patched["notes"], patched["tags"], patched["name"]) == ("good", ["x"], "r1")


def test_run_dir_is_created(client: TestClient) -> None:
    from pathlib import Path

    run = _create(client)
    assert Path(run["run_dir"]).is_dir()


def test_list_filters_orders_and_pages(client: TestClient) -> None:
    ids = []
    for i, loss in enumerate([0.4, 0.1, 0.3, 0.9]):
        run = _create(client, experiment="e", params={"i": i}, tags=["even"] if i % 2 == 0 else [])
        r = client.post(
            f"/api/runs/{run['id']}/metrics",
            json={"metrics": {"val/loss": {"steps": [1], "values": [loss]}}},
        )
        assert r.status_code == 200, r.text
        ids.append(run["id"])
    _create(client, experiment="other")
    page = client.get(
        "/api/runs",
        params={
            "experiment": "e",
            "filter": "metrics.val/loss < 0.5",
            "order_by": "metrics.val/loss",
        },
    ).json()
    assert [r["id"] for r in page["runs"]] == [ids[1], ids[2], ids[0]]
    assert page["runs"][0]["metrics"] == {"val/loss": 0.1}
    assert [r["id"] for r in client.get("/api/runs", params={"tag": "even"}).json()["runs"]] == [
        ids[2],
        ids[0],
    ]
    first = client.get("/api/runs", params={"limit": 3, "order_by": "created_at"}).json()
    assert len(first["runs"]) == 3 and first["next_cursor"]
    rest = client.get(
        "/api/runs", params={"limit": 3, "order_by": "created_at", "cursor": first["next_cursor"]}
    ).json()
    assert len(rest["runs"]) == 2 and rest["next_cursor"] is None
    running = client.get("/api/runs", params={"status": "running,queued"}).json()["runs"]
    assert len(running) == 5


def test_experiments_api(client: TestClient) -> None:
    r = client.post("/api/experiments", json={"name": "vision", "description": "cnn"})
    assert r.status_code == 201
    exp = r.json()
    assert client.post("/api/experiments", json={"name": "vision"}).status_code == 409
    _create(client, experiment="vision")
    assert client.get(f"/api/experiments/{exp['id']}").json()["run_count"] == 1
    assert client.get("/api/experiments/vision").json()["id"] == exp["id"]
    names = [e["name"] for e in client.get("/api/experiments").json()["experiments"]]
    assert names == ["vision"]


def test_ingest_is_idempotent_by_source_and_seq(client: TestClient) -> None:
    run = _create(client)
    batch = {"source": "w1", "seq": 7, "metrics": {"loss": {"steps": [0, 1], "values": [1, None]}}}
    assert client.post(f"/api/runs/{run['id']}/metrics", json=batch).json() == {
        "accepted": 2,
        "duplicate": False,
    }
    assert client.post(f"/api/runs/{run['id']}/metrics", json=batch).json()["duplicate"] is True
    assert client.get(f"/api/runs/{run['id']}").json()["metrics"] == {"loss": "NaN"}


def _error(r) -> dict:  # type: ignore[no-untyped-def]
    body = r.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/runs/unknown", None, 404),
        ("PATCH", "/api/runs/unknown", {"name": "x"}, 404),
        ("GET", "/api/experiments/unknown", None, 404),
        ("GET", "/api/experiments/12345", None, 404),
        ("POST", "/api/runs", {"params": [1, 2]}, 422),
        ("POST", "/api/runs", {"name": 5}, 422),
        ("POST", "/api/runs", {"name": ""}, 400),  # a name that is no name (issue 13)
        ("POST", "/api/runs", {"tags": ["x" * 251]}, 422),
        ("POST", "/api/runs", {"unknown_field": 1}, 422),
        ("POST", "/api/runs", "not json", 422),
        ("POST", "/api/experiments", {}, 422),
        ("GET", "/api/runs?order_by=bogus", None, 400),
        ("GET", "/api/runs?order_by=metrics.", None, 400),
        ("GET", "/api/runs?filter=metrics.loss%20%3C%20x", None, 400),
        ("GET", "/api/runs?status=sleeping", None, 400),
        ("GET", "/api/runs?limit=0", None, 422),
        ("GET", "/api/runs?limit=100000", None, 400),
        ("GET", "/api/runs?limit=abc", None, 422),
        ("GET", "/api/runs?cursor=%%%", None, 400),
        ("GET", "/api/nothing-here", None, 404),
        ("DELETE", "/api/health", None, 405),
        ("POST", "/api/runs/unknown/metrics", {"metrics": {}}, 404),
    ],
)
def test_bad_input_gets_a_4xx_with_a_message(
    client: TestClient, method: str, path: str, body: object, status: int
) -> None:
    kwargs = {"content": body} if isinstance(body, str) else {"json": body}
    r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    _error(r)


@pytest.mark.parametrize(
    "series",
    [
        {"steps": [0, 1], "values": [1.0]},
        {"steps": [0], "values": ["high"]},
        {"steps": [0.5], "values": [1.0]},
        {"steps": [2**63], "values": [1.0]},
        {"steps": [0], "values": [1.0], "timestamps": [1.0, 2.0]},
    ],
)
def test_bad_metric_batches_write_nothing(client: TestClient, series: dict) -> None:
    run = _create(client)
    good = {"steps": [0], "values": [1.0]}
    r = client.post(
        f"/api/runs/{run['id']}/metrics", json={"metrics": {"good": good, "bad": series}}
    )
    assert 400 <= r.status_code < 500, r.text
    _error(r)
    assert client.get(f"/api/runs/{run['id']}").json()["metrics"] == {}


def test_oversized_body_is_refused(settings, store) -> None:  # type: ignore[no-untyped-def]
    from runyard.server.app import create_app

    small = settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(small, store)) as c:
        r = c.post("/api/runs", json={"notes": "x" * 5000})
        assert r.status_code == 413
        assert "limit" in _error(r)["message"]
        chunks = (b"x" * 500 for _ in range(4))  # no Content-Length: counted while streaming
        r = c.post("/api/runs", content=chunks, headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.post("/api/runs", json={"notes": "short"}).status_code == 201
        # an upload's chunk goes to disk as it comes, bounded by the file's declared size
        run = c.post("/api/runs", json={"name": "files"}).json()
        data = os.urandom(5000)
        up = f"/api/runs/{run['id']}/uploads/checkpoints/w.bin"
        q = {"offset": 0, "size": 5000, "sha256": hashlib.sha256(data).hexdigest()}
        assert c.put(up, params=q, content=data).json()["complete"] is True
        over = c.put(up + "2", params={**q, "size": 4000}, content=data)
        assert over.status_code == 400 and "past the file's size" in over.text
        assert c.post(up, content=data).status_code == 413  # only PUTs of uploads stream


def test_openapi_lists_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/health", "/api/runs", "/api/runs/{run_id}", "/api/experiments",
            "/api/experiments/{ref}", "/api/runs/{run_id}/metrics"} <= paths.keys()  # fmt: skip
