"""MLflow's wire contract on runyard's server: error codes and statuses, limits, confinement."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runyard.entities import RunStatus
from runyard.store import Store
from runyard.store.tables import runs

API = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts"


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code
    return str(body["message"])


def _run(client: TestClient) -> str:
    r = client.post(f"{API}/runs/create", json={"experiment_id": "0", "start_time": 1000})
    assert r.status_code == 200, r.text
    return str(r.json()["run"]["info"]["run_id"])


def test_unknown_ids_are_resource_does_not_exist(client: TestClient) -> None:
    _error(client.get(f"{API}/runs/get", params={"run_id": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(
        client.get(f"{API}/experiments/get", params={"experiment_id": "99"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "x"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        client.post(f"{API}/runs/log-metric", json={"run_id": "nope", "key": "a", "value": 1}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    _error(
        client.get(f"{API}/experiments/get", params={"experiment_id": "abc"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(
        client.post(f"{API}/runs/log-metric", json={"key": "a", "value": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    _error(client.post(f"{API}/runs/create", content=b"{not json"), 400, "MALFORMED_REQUEST")


def test_default_experiment_and_duplicates(client: TestClient) -> None:
    got = client.get(f"{API}/experiments/get", params={"experiment_id": "0"}).json()["experiment"]
    assert (got["experiment_id"], got["name"], got["lifecycle_stage"]) == ("0", "Default", "active")
    assert client.post(f"{API}/experiments/create", json={"name": "a"}).status_code == 200
    _error(
        client.post(f"{API}/experiments/create", json={"name": "a"}), 400, "RESOURCE_ALREADY_EXISTS"
    )
    _error(
        client.post(f"{API}/experiments/create", json={"name": "Default"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    _error(
        client.post(f"{API}/experiments/delete", json={"experiment_id": "0"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_params_are_immutable_and_batches_are_whole(client: TestClient, store: Store) -> None:
    run_id = _run(client)
    ok = {"run_id": run_id, "key": "lr", "value": "0.1"}
    assert client.post(f"{API}/runs/log-parameter", json=ok).status_code == 200
    assert client.post(f"{API}/runs/log-parameter", json=ok).status_code == 200
    message = _error(
        client.post(f"{API}/runs/log-parameter", json={**ok, "value": "0.2"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert "Changing param values is not allowed" in message
    # a batch with a changed param writes none of its metrics, params or tags
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}],
        "params": [{"key": "new", "value": "x"}, {"key": "lr", "value": "0.3"}],
        "tags": [{"key": "t", "value": "v"}],
    }
    _error(client.post(f"{API}/runs/log-batch", json=batch), 400, "INVALID_PARAMETER_VALUE")
    run = store.runs.get(run_id)
    assert run.params == {"lr": "0.1"} and run.metrics == {}
    assert store.mlflow.run_tags([run_id]) == {}
    for key, n in (("metrics", 1001), ("params", 101), ("tags", 101)):
        item = {"key": "k", "value": "1", "timestamp": 1, "step": 0}
        items = [{**item, "key": f"k{i}"} for i in range(n)]
        message = _error(
            client.post(f"{API}/runs/log-batch", json={"run_id": run_id, key: items}),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        assert f"at most {n - 1} {key}" in message
    assert store.runs.get(run_id).metrics == {}


def test_non_finite_values_both_ways_and_latest_by_step(client: TestClient) -> None:
    run_id = _run(client)
    metrics = [
        {"key": "a", "value": "NaN", "timestamp": 5, "step": 3},
        {"key": "a", "value": 2.0, "timestamp": 9, "step": 1},
        {"key": "b", "value": "Infinity", "timestamp": 5, "step": 0},
        {"key": "c", "value": "-Infinity", "timestamp": 5, "step": 0},
    ]
    assert client.post(
        f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}
    ).is_success
    data = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]
    latest = {m["key"]: (m["value"], m["step"]) for m in data["metrics"]}
    assert latest == {"a": ("NaN", 3), "b": ("Infinity", 0), "c": ("-Infinity", 0)}
    history = client.get(
        f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "a", "max_results": 1}
    ).json()
    assert history["metrics"] == [{"key": "a", "value": 2.0, "timestamp": 9, "step": 1}]
    rest = client.get(
        f"{API}/metrics/get-history",
        params={"run_id": run_id, "metric_key": "a", "page_token": history["next_page_token"]},
    ).json()
    assert rest == {"metrics": [{"key": "a", "value": "NaN", "timestamp": 5, "step": 3}]}
    _error(
        client.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "a", "value": "x"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


@pytest.mark.parametrize("page", [3, 60])  # the exact-latest path, and a page past it
def test_a_searched_run_shows_every_change_the_next_search(client: TestClient, page: int) -> None:
    """A page of searched runs reuses each run's JSON while the run reads the same: after
    every kind of change the run searched is what `runs/get` answers, field for field."""
    exp = client.post(f"{API}/experiments/create", json={"name": f"reuse-{page}"}).json()
    ids = [
        client.post(
            f"{API}/runs/create", json={"experiment_id": exp["experiment_id"], "start_time": i}
        ).json()["run"]["info"]["run_id"]
        for i in range(page)
    ]
    run_id = ids[0]
    search = {"experiment_ids": [exp["experiment_id"]], "run_view_type": "ALL"}

    def searched() -> dict[str, Any]:
        found = client.post(f"{API}/runs/search", json=search).json()["runs"]
        assert len(found) == page
        return next(r for r in found if r["info"]["run_id"] == run_id)

    def same() -> dict[str, Any]:
        got = client.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
        assert searched() == got
        return got

    same()
    log = f"{API}/runs/log-batch"
    changes = [
        (log, {"metrics": [{"key": "m", "value": 1.5, "timestamp": 7, "step": 2}]}),
        (log, {"metrics": [{"key": "m", "value": "NaN", "timestamp": 8, "step": 3}]}),
        (log, {"params": [{"key": "lr", "value": "0.1"}]}),
        (f"{API}/runs/set-tag", {"key": "note", "value": "a b"}),
        (f"{API}/runs/set-tag", {"key": "note", "value": "c"}),
        (f"{API}/runs/delete-tag", {"key": "note"}),
        (f"{API}/runs/update", {"status": "FINISHED", "end_time": 9000, "run_name": "renamed"}),
        (f"{API}/runs/delete", {}),
        (f"{API}/runs/restore", {}),
    ]
    seen = [same()]
    for route, body in changes:
        assert client.post(route, json={"run_id": run_id, **body}).is_success, route
        seen.append(same())
        assert seen[-1] != seen[-2], route
    gone = {"experiment_id": exp["experiment_id"]}
    assert client.post(f"{API}/experiments/delete", json=gone).is_success
    assert same()["info"]["lifecycle_stage"] == "deleted"
    assert same()["data"]["metrics"] == [{"key": "m", "value": "NaN", "timestamp": 8, "step": 3}]


def test_logging_into_a_finished_run_is_accepted(client: TestClient, store: Store) -> None:
    run_id = _run(client)
    done = {"run_id": run_id, "status": "FINISHED", "end_time": 5000}
    info = client.post(f"{API}/runs/update", json=done).json()["run_info"]
    assert (info["status"], info["end_time"]) == ("FINISHED", 5000)
    assert client.post(
        f"{API}/runs/log-metric", json={"run_id": run_id, "key": "late", "value": 1}
    ).is_success
    assert store.runs.get(run_id).metrics == {"late": 1.0}
    _error(
        client.post(f"{API}/runs/update", json={"run_id": run_id, "status": "DONE"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_bad_filters_name_the_position(client: TestClient) -> None:
    body = {"experiment_ids": ["0"], "filter": "metrics.loss < 1 and params.x ~ 'a'"}
    message = _error(client.post(f"{API}/runs/search", json=body), 400, "INVALID_PARAMETER_VALUE")
    assert "at character 30" in message
    r = client.get("/api/runs", params={"filter": "metrics.loss < 1 and params.x ~ 'a'"})
    assert r.status_code == 400 and "at character 30" in r.json()["error"]["message"]
    body = {"experiment_ids": ["0"], "filter": "attributes.lifecycle = 'x'"}
    _error(client.post(f"{API}/runs/search", json=body), 400, "INVALID_PARAMETER_VALUE")


def test_runyard_run_list_reads_the_same_grammar(client: TestClient) -> None:
    a, b = _run(client), _run(client)
    client.post(f"{API}/runs/set-tag", json={"run_id": a, "key": "team x", "value": "vision"})
    r = client.get("/api/runs", params={"filter": "tags.`team x` ILIKE 'VIS%'"})
    assert [run["id"] for run in r.json()["runs"]] == [a]
    r = client.get("/api/runs", params={"filter": f"attributes.run_id IN ('{b}')"})
    assert [run["id"] for run in r.json()["runs"]] == [b]


def test_artifact_paths_stay_in_the_run(client: TestClient, store: Store, tmp_path: Path) -> None:
    run_id = _run(client)
    base = f"{ART}/0/{run_id}/artifacts"
    assert client.put(f"{base}/ok.txt", content=b"fine").status_code == 200
    assert client.get(f"{base}/ok.txt").content == b"fine"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    folder = Path(store.runs.get(run_id).run_dir) / "artifacts"
    os.symlink(outside, folder / "link.txt")
    for bad in ("../../etc/passwd", "%2Fetc%2Fpasswd", "..%2F..%2Fx", "link.txt"):
        r = client.get(f"{base}/{bad}")
        assert r.status_code in (400, 404) and r.json()["error_code"], bad
        assert b"secret" not in r.content
    _error(client.put(f"{base}/link.txt", content=b"x"), 400, "INVALID_PARAMETER_VALUE")
    assert outside.read_text() == "secret"
    _error(client.put(f"{base}/%2E%2E/escape.txt", content=b"x"), 400, "INVALID_PARAMETER_VALUE")
    assert not (folder.parent / "escape.txt").exists()
    listed = client.get(ART, params={"path": f"0/{run_id}/artifacts"}).json()
    assert listed == {"files": [{"path": "ok.txt", "is_dir": False, "file_size": 4}]}
    assert client.delete(f"{base}/ok.txt").status_code == 200
    _error(client.get(f"{base}/ok.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(client.get(f"{ART}/0/nope/artifacts/x"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_logged_models_and_server_info(client: TestClient) -> None:
    assert client.post(f"{API}/logged-models/search", json={}).json() == {"models": []}
    info = client.get("/api/3.0/mlflow/server-info").json()
    assert info["store_type"] == "SqlStore" and info["workspaces_enabled"] is False


@pytest.mark.parametrize("path", ["/api/runs/nope", "/api/experiments/nope"])
def test_runyard_routes_keep_their_own_error_shape(client: TestClient, path: str) -> None:
    assert client.get(path).json()["error"]["code"] == "not_found"


def test_errors_before_a_route_are_in_mlflows_shape(client: TestClient) -> None:
    """No such endpoint, a wrong method, a cross-site write: MLflow's body, runyard's status."""
    _error(client.get(f"{API}/registered-models/search"), 404, "ENDPOINT_NOT_FOUND")
    _error(client.get(f"{API}/runs/log-metric"), 405, "ENDPOINT_NOT_FOUND")
    refused = client.post(
        f"{API}/runs/create",
        json={"experiment_id": "0"},
        headers={"origin": "https://evil.example"},
    )
    _error(refused, 403, "PERMISSION_DENIED")
    native = client.get("/api/no-such-route")  # runyard's own routes keep runyard's shape
    assert native.status_code == 404 and native.json()["error"]["code"] == "not_found"


def test_times_that_no_date_can_hold_are_invalid(client: TestClient) -> None:
    """A start or end time past year 9999 would be stored and break every list (a 500)."""
    far = 10**20
    _error(
        client.post(f"{API}/runs/create", json={"experiment_id": "0", "start_time": far}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    run_id = _run(client)
    _error(
        client.post(
            f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": -far}
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert client.get(f"/api/runs/{run_id}").json()["status"] == "running"  # nothing changed
    assert client.get("/api/runs").status_code == 200
    assert client.get("/api/export").status_code == 200


def test_an_mlflow_run_is_alive_while_its_client_writes(client: TestClient, store: Store) -> None:
    """MLflow's client sends no heartbeat: each write is its sign of life. A run created with
    a start in the past (an import) is not lost at once, one that keeps logging past the
    timeout stays running, and a client's FINISHED wins over a `lost` verdict."""
    run_id = _run(client)  # started at 1970-01-01T00:00:01
    assert store.heartbeats.sweep(300.0) == []
    store.heartbeats._written.clear()  # as if its last write were long ago
    with store.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(heartbeat_at=1.0))
    assert client.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "a", "value": 1})
    assert store.heartbeats.sweep(300.0) == []
    assert store.runs.get(run_id).status is RunStatus.RUNNING
    with store.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.id == run_id).values(heartbeat_at=1.0))
    assert store.heartbeats.sweep(300.0) == [run_id]  # silent past its timeout: lost
    done = {"run_id": run_id, "status": "FINISHED", "end_time": 5000}
    info = client.post(f"{API}/runs/update", json=done).json()["run_info"]
    assert (info["status"], info["end_time"]) == ("FINISHED", 5000)
    assert store.runs.get(run_id).reason is None
