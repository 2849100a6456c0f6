"""POST /api/runs:batch: many tracked-only runs in one transaction, all or nothing."""

from __future__ import annotations

import math
import time
from datetime import datetime

from fastapi.testclient import TestClient

from runyard.store import Store


def _batch(client: TestClient, runs: list[dict]) -> dict:
    r = client.post("/api/runs:batch", json={"runs": runs})
    assert r.status_code == 201, r.text
    return r.json()


def _count(client: TestClient, experiment: str) -> int:
    return len(client.get("/api/runs", params={"experiment": experiment}).json()["runs"])


def test_batch_creates_runs_in_order_with_params_tags_and_metrics(
    client: TestClient, store: Store
) -> None:
    runs = [
        {
            "experiment": "grid",
            "name": f"r{i}",
            "params": {"lr": 10**-i, "opt": "adam", "layers": [i, i]},
            "tags": ["grid", f"i{i}"],
            "metrics": {"val/loss": 1.0 / (i + 1), "val/acc": i / 10},
            "goals": {"val/loss": "min"},
            "step": 7,
        }
        for i in range(5)
    ]
    ids = _batch(client, runs)["ids"]
    assert len(ids) == len(set(ids)) == 5
    for i, run_id in enumerate(ids):
        run = client.get(f"/api/runs/{run_id}").json()
        assert (run["name"], run["experiment"], run["status"]) == (f"r{i}", "grid", "completed")
        assert run["params"] == {"lr": 10**-i, "opt": "adam", "layers": [i, i]}
        assert run["tags"] == ["grid", f"i{i}"]
        assert run["metrics"] == {"val/loss": 1.0 / (i + 1), "val/acc": i / 10}
        assert (run["best"], run["best_step"]) == (1.0 / (i + 1), 7)
        assert run["ended_at"] is not None and run["run_dir"].endswith(run_id)
        series = client.get(f"/api/runs/{run_id}/metrics").json()["metrics"]
        assert series["val/acc"]["steps"] == [7] and series["val/acc"]["values"] == [i / 10]
        summary = client.get(f"/api/runs/{run_id}/summary").json()
        assert summary["metrics"]["val/loss"]["best"] == 1.0 / (i + 1)
        files = client.get(f"/api/runs/{run_id}/artifacts")  # no run dir until one is written
        assert files.status_code == 200 and files.json()["files"] == []
        assert summary["steps"] == 7
    # the list filters and orders on the batch's metrics like on any run's
    page = client.get(
        "/api/runs", params={"filter": "metrics.val/acc >= 0.2", "order_by": "-metrics.val/acc"}
    ).json()["runs"]
    assert [r["id"] for r in page] == [ids[4], ids[3], ids[2]]
    tagged = client.get("/api/runs", params={"tag": "i3"}).json()["runs"]
    assert [r["id"] for r in tagged] == [ids[3]]


def test_batch_keeps_times_ids_status_and_non_finite_values(client: TestClient) -> None:
    start, end = time.time() - 3600, time.time() - 60
    ids = _batch(
        client,
        [
            {
                "id": "import-0001",
                "status": "failed",
                "started_at": start,
                "ended_at": end,
                "metrics": {"loss": None, "gain": "Infinity"},
            },
            {"status": "running", "experiment": "live"},
        ],
    )["ids"]
    assert ids[0] == "import-0001"
    failed = client.get("/api/runs/import-0001").json()
    assert failed["status"] == "failed" and failed["metrics"] == {
        "loss": "NaN",
        "gain": "Infinity",
    }
    summary = client.get("/api/runs/import-0001/summary").json()
    assert math.isclose(summary["duration_s"], end - start, abs_tol=1e-3)
    live = client.get(f"/api/runs/{ids[1]}").json()
    assert live["status"] == "running" and live["ended_at"] is None


def test_batch_emits_one_created_event_per_run(client: TestClient, store: Store) -> None:
    before = store.events.last_id()
    ids = _batch(client, [{"experiment": "ev"} for _ in range(3)])["ids"]
    created = [e for e in store.events.list(after=before) if e.kind == "created"]
    assert [e.run_id for e in created] == ids
    assert all(e.data["experiment"] == "ev" and e.data["name"] for e in created)


def test_mlflow_tags_show_in_mlflow_api(client: TestClient) -> None:
    ids = _batch(client, [{"mlflow_tags": {"runyard.import.source_run": "abc"}}])["ids"]
    got = client.get("/api/2.0/mlflow/runs/get", params={"run_id": ids[0]}).json()
    tags = {t["key"]: t["value"] for t in got["run"]["data"]["tags"]}
    assert tags["runyard.import.source_run"] == "abc"


def test_batch_route_does_not_shadow_run_routes(client: TestClient) -> None:
    r = client.get("/api/runs:batch")
    assert r.status_code == 405  # only POST; not taken for GET /api/runs/{id}
    assert client.get("/api/runs/batch").status_code == 404


# --- bad input: the whole batch is refused, naming the run, and nothing is created ---------


def test_one_bad_run_refuses_the_batch_with_its_index(client: TestClient) -> None:
    good = {"experiment": "bad"}
    cases = [
        ({"experiment": "bad", "params": {"": 1}}, 400, "runs.2.params"),
        ({"experiment": "bad", "status": "queued"}, 422, "runs.2.status"),
        ({"experiment": "bad", "metrics": {"m": "one"}}, 422, "runs.2.metrics"),
        ({"experiment": "bad", "status": "running", "ended_at": 1.0}, 400, "runs[2]"),
        ({"experiment": "bad", "started_at": 100.0, "ended_at": 50.0}, 400, "runs[2]"),
        ({"experiment": "bad", "goals": {"acc": "max"}}, 400, "runs[2]"),
        ({"experiment": "bad", "id": "bad id!"}, 422, "runs.2.id"),
    ]
    for bad, status, where in cases:
        r = client.post("/api/runs:batch", json={"runs": [good, good, bad, good]})
        assert r.status_code == status, (bad, r.text)
        assert where in r.json()["error"]["message"], (bad, r.text)
    assert _count(client, "bad") == 0


def test_taken_or_repeated_ids_refuse_the_batch(client: TestClient) -> None:
    _batch(client, [{"id": "taken-0001", "experiment": "x"}])
    r = client.post(
        "/api/runs:batch",
        json={"runs": [{"experiment": "y"}, {"id": "taken-0001", "experiment": "y"}]},
    )
    assert r.status_code == 409 and "runs[1]" in r.json()["error"]["message"]
    r = client.post(
        "/api/runs:batch",
        json={"runs": [{"id": "twice-0001", "experiment": "y"}] * 2},
    )
    assert r.status_code == 400 and "runs[1]" in r.json()["error"]["message"]
    assert _count(client, "y") == 0


def test_batch_size_is_bounded(client: TestClient) -> None:
    assert client.post("/api/runs:batch", json={"runs": []}).status_code == 422
    r = client.post("/api/runs:batch", json={"runs": [{}] * 1001})
    assert r.status_code == 422 and "runs" in r.json()["error"]["message"]
    assert client.get("/api/runs").json()["runs"] == []


def test_an_end_time_in_the_far_future_is_taken_as_now(client: TestClient) -> None:
    """Schemathesis sent ended_at=1e308: it was stored, and every list then answered 500."""
    before = time.time()
    (run_id,) = _batch(client, [{"experiment": "far", "ended_at": 1.0e308}])["ids"]
    ended = client.get(f"/api/runs/{run_id}").json()["ended_at"]
    assert ended is not None
    for path in ("/api/runs", "/api/queue", "/api/export"):
        assert client.get(path).status_code == 200, path
    listed = client.get("/api/runs", params={"experiment": "far"}).json()["runs"]
    assert [r["ended_at"] for r in listed] == [ended]
    assert before - 1 <= datetime.fromisoformat(ended).timestamp() <= time.time() + 1
