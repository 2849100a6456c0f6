"""The server side of the tracking protocol (docs/tracking-protocol.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient


def _run(client: TestClient, **body: object) -> str:
    r = client.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _log(client: TestClient, run_id: str, **series: tuple[list[int], list[object]]) -> None:
    metrics = {k: {"steps": s, "values": v} for k, (s, v) in series.items()}
    r = client.post(f"/api/runs/{run_id}/metrics", json={"metrics": metrics})
    assert r.status_code == 200, r.text


def test_client_chosen_id_and_conflict(client: TestClient) -> None:
    assert _run(client, id="offline0123456789") == "offline0123456789"
    again = client.post("/api/runs", json={"id": "offline0123456789"})
    assert again.status_code == 409 and "exists" in again.json()["error"]["message"]
    assert client.post("/api/runs", json={"id": "BAD ID"}).status_code == 422


def test_log_params_merges(client: TestClient) -> None:
    run_id = _run(client, params={"lr": 0.1, "bs": 32})
    r = client.patch(f"/api/runs/{run_id}", json={"params": {"bs": 64, "wd": 0.01}})
    assert r.json()["params"] == {"lr": 0.1, "bs": 64, "wd": 0.01}


def test_goals_rank_points_already_stored(client: TestClient) -> None:
    run_id = _run(client)
    _log(client, run_id, **{"val/loss": ([0, 1, 2], [0.5, 0.2, 0.4]), "val/acc": ([0], [0.7])})
    summary = client.get(f"/api/runs/{run_id}/summary").json()
    assert summary["metrics"]["val/loss"]["best"] is None  # no goal yet, so no best
    r = client.post(
        f"/api/runs/{run_id}/metric-goals",
        json={"goals": {"val/loss": "min", "val/acc": "max"}, "primary": "val/loss"},
    )
    assert r.json()["primary_metric"] == "val/loss"
    assert r.json()["metric_goals"] == {"val/loss": "min", "val/acc": "max"}
    loss = client.get(f"/api/runs/{run_id}/summary").json()["metrics"]["val/loss"]
    assert (loss["best"], loss["best_step"], loss["goal"]) == (0.2, 1, "min")
    _log(client, run_id, **{"val/loss": ([3], [0.1])})  # later points follow the goal too
    loss = client.get(f"/api/runs/{run_id}/summary").json()["metrics"]["val/loss"]
    assert (loss["best"], loss["best_step"], loss["count"]) == (0.1, 3, 4)
    assert (
        client.post(f"/api/runs/{run_id}/metric-goals", json={"goals": {"x": "up"}}).status_code
        == 422
    )


def test_progress_percent_eta_and_recent_curve(client: TestClient) -> None:
    run_id = _run(client)
    client.post(f"/api/runs/{run_id}/metric-goals", json={"goals": {"val/loss": "min"}})
    _log(client, run_id, **{"val/loss": (list(range(60)), [1 / (i + 1) for i in range(60)])})
    for epoch in (1, 2, 3):
        p = client.post(f"/api/runs/{run_id}/progress", json={"epoch": epoch, "total_epochs": 10})
        assert p.status_code == 200, p.text
    p = client.get(f"/api/runs/{run_id}/progress").json()
    assert (p["epoch"], p["total_epochs"], p["percent"]) == (3, 10, 30.0)
    assert p["eta_s"] is not None and p["eta_s"] >= 0
    assert p["recent"]["key"] == "val/loss" and p["recent"]["steps"] == list(range(10, 60))
    assert client.get(f"/api/runs/{run_id}").json()["progress"]["percent"] == 30.0
    bad = client.post(f"/api/runs/{run_id}/progress", json={"epoch": -1})
    assert bad.status_code == 422


def test_early_stopped_run_is_complete_at_100_percent(client: TestClient) -> None:
    run_id = _run(client)
    client.post(f"/api/runs/{run_id}/progress", json={"epoch": 57, "total_epochs": 100})
    r = client.post(
        f"/api/runs/{run_id}/finish",
        json={"status": "completed", "early_stopped": True, "stopped_at_epoch": 57},
    ).json()
    assert (r["status"], r["early_stopped"], r["stopped_at_epoch"]) == ("completed", True, 57)
    assert r["progress"]["percent"] == 100.0
    p = client.get(f"/api/runs/{run_id}/progress").json()
    assert p["percent"] == 100.0 and p["eta_s"] is None and p["early_stopped"] is True


def test_finish_stores_summary_once_and_late_points_update_it(client: TestClient) -> None:
    run_id = _run(client)
    _log(client, run_id, loss=([0, 1], [2.0, 1.0]), epoch=([0, 1], [0, 1]))
    ended = client.post(f"/api/runs/{run_id}/finish", json={"status": "failed"}).json()
    assert ended["status"] == "failed" and ended["ended_at"] is not None
    again = client.post(f"/api/runs/{run_id}/finish", json={"status": "completed"}).json()
    assert again["status"] == "failed" and again["ended_at"] == ended["ended_at"]
    summary = client.get(f"/api/runs/{run_id}/summary").json()
    assert summary["steps"] == 1 and summary["epochs"] == 2 and summary["duration_s"] >= 0
    _log(client, run_id, loss=([2], [0.5]))  # delivered late from a spool
    summary = client.get(f"/api/runs/{run_id}/summary").json()
    assert summary["metrics"]["loss"]["last"] == 0.5 and summary["steps"] == 2
    assert client.post(f"/api/runs/{run_id}/finish", json={"status": "running"}).status_code == 422


def test_read_metrics_columnar_windowed_and_non_finite(client: TestClient) -> None:
    run_id = _run(client)
    _log(
        client,
        run_id,
        a=([0, 1, 2, 3], [1.0, "NaN", "Infinity", "-Infinity"]),
        b=([5, 6], [0.5, None]),
    )
    data = client.get(f"/api/runs/{run_id}/metrics").json()["metrics"]
    assert data["a"]["steps"] == [0, 1, 2, 3]
    assert data["a"]["values"] == [1.0, "NaN", "Infinity", "-Infinity"]
    assert data["b"]["values"] == [0.5, "NaN"]
    assert len(data["a"]["timestamps"]) == 4
    only = client.get(f"/api/runs/{run_id}/metrics", params={"keys": "b", "start": 6}).json()
    assert only["metrics"] == {
        "b": {"steps": [6], "values": ["NaN"], "timestamps": only["metrics"]["b"]["timestamps"]}
    }
    assert (
        client.get(f"/api/runs/{run_id}/metrics", params={"start": 3, "end": 1}).status_code == 400
    )
    assert client.get("/api/runs/nope/metrics").status_code == 404


def test_downsampled_read_keeps_the_spike(client: TestClient) -> None:
    run_id = _run(client)
    n = 50_000
    values = np.sin(np.arange(n) / 500.0)
    values[31_337] = 50.0
    _log(client, run_id, loss=(list(range(n)), values.tolist()))
    got = client.get(f"/api/runs/{run_id}/metrics", params={"max_points": 500}).json()
    loss = got["metrics"]["loss"]
    assert len(loss["steps"]) <= 500 and len(loss["steps"]) == len(loss["values"])
    assert 31_337 in loss["steps"] and max(loss["values"]) == 50.0
    assert loss["steps"] == sorted(loss["steps"])


def test_checkpoints_and_artifacts_stay_in_the_run_dir(client: TestClient) -> None:
    run = client.post("/api/runs", json={}).json()
    sha = "ab" * 32
    ok = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": "e1.pt", "path": "checkpoints/e1.pt", "step": 10, "epoch": 1,
              "size": 123, "sha256": sha, "metrics": {"val/loss": 0.3}},
    )  # fmt: skip
    assert ok.status_code == 201, ok.text
    absolute = str(Path(run["run_dir"]) / "checkpoints" / "e1.pt")
    client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": "e1.pt", "path": absolute, "size": 456, "sha256": sha},
    )
    (ckpt,) = client.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
    assert (ckpt["path"], ckpt["size"]) == ("checkpoints/e1.pt", 456)  # same name replaced
    for bad in ("../other/x.pt", "/etc/passwd", "a\\..\\..\\b", "c:/x", "a\x00b"):
        r = client.post(
            f"/api/runs/{run['id']}/checkpoints",
            json={"name": "x", "path": bad, "size": 1, "sha256": sha},
        )
        assert r.status_code == 400, (bad, r.text)
    bad_sha = client.post(
        f"/api/runs/{run['id']}/checkpoints",
        json={"name": "x", "path": "x", "size": 1, "sha256": "z"},
    )
    assert bad_sha.status_code == 422
    (Path(run["run_dir"]) / "artifacts").mkdir(parents=True, exist_ok=True)
    (Path(run["run_dir"]) / "artifacts" / "cm.png").write_bytes(b"png" * 3)
    art = client.post(
        f"/api/runs/{run['id']}/artifacts", json={"path": "artifacts/cm.png", "size": 9}
    )
    assert art.status_code == 201
    files = client.get(f"/api/runs/{run['id']}/artifacts").json()["files"]
    assert [(f["path"], f["registered"]) for f in files] == [("artifacts/cm.png", True)]
    assert client.post("/api/runs/nope/artifacts", json={"path": "a", "size": 1}).status_code == 404


@pytest.mark.parametrize(
    "metrics",
    [
        {"a": {"steps": [0], "values": ["high"]}},
        {"a": {"steps": [0, 1], "values": [1.0]}},
        {"a": {"steps": [1.5], "values": [1.0]}},
        {"k" * 251: {"steps": [0], "values": [1.0]}},
        {"a": {"steps": [0], "values": [1.0], "extra": 1}},
    ],
)
def test_bad_batches_are_refused_whole(client: TestClient, metrics: dict) -> None:
    run_id = _run(client)
    body = {"metrics": {"good": {"steps": [0], "values": [1.0]}, **metrics}}
    r = client.post(f"/api/runs/{run_id}/metrics", json=body)
    assert 400 <= r.status_code < 500 and r.json()["error"]["message"]
    assert client.get(f"/api/runs/{run_id}/metrics").json()["metrics"] == {}


def test_too_many_points_in_a_batch(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from runyard.server.routes import metrics as route

    monkeypatch.setattr(route, "MAX_POINTS_PER_BATCH", 10)
    run_id = _run(client)
    r = client.post(
        f"/api/runs/{run_id}/metrics",
        json={"metrics": {"a": {"steps": list(range(11)), "values": [0.0] * 11}}},
    )
    assert r.status_code == 413 and "at most 10" in r.json()["error"]["message"]
