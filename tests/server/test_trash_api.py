"""Deleting runs to the trash, restoring them, purging them; archiving experiments."""

from __future__ import annotations

import re
import time
from pathlib import Path

from fastapi.testclient import TestClient

from runyard.store import Store


def _run(client: TestClient, experiment: str = "e", **body: object) -> dict:
    r = client.post("/api/runs", json={"experiment": experiment, **body})
    assert r.status_code == 201, r.text
    return r.json()


def _finish(client: TestClient, run_id: str, status: str = "completed") -> None:
    r = client.post(f"/api/runs/{run_id}/finish", json={"status": status})
    assert r.status_code == 200, r.text


def test_delete_moves_the_folder_to_the_trash_and_hides_the_run(
    client: TestClient, store: Store
) -> None:
    run = _run(client, name="doomed")
    (Path(run["run_dir"]) / "artifacts").mkdir()
    (Path(run["run_dir"]) / "artifacts" / "out.txt").write_text("kept in the trash")
    _finish(client, run["id"])
    r = client.delete(f"/api/runs/{run['id']}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == run["id"] and body["name"] == "doomed"
    assert body["purge_after"] > body["deleted_at"]
    assert not Path(run["run_dir"]).exists()
    trashed = store.trash.folder(run["id"]) / "artifacts" / "out.txt"
    assert trashed.read_text() == "kept in the trash"

    missing = client.get(f"/api/runs/{run['id']}")
    assert missing.status_code == 404
    assert "trash" in missing.json()["error"]["message"]
    assert run["id"] not in [x["id"] for x in client.get("/api/runs").json()["runs"]]
    assert client.get("/api/queue").json()["counts"]["completed"] == 0
    assert [x["id"] for x in client.get("/api/trash").json()["runs"]] == [run["id"]]
    assert client.get("/api/experiments/e").json()["run_count"] == 0


def test_an_active_run_is_refused_with_the_reason(client: TestClient) -> None:
    run = _run(client)
    r = client.delete(f"/api/runs/{run['id']}")
    assert r.status_code == 409
    assert "is running" in r.json()["error"]["message"]
    assert Path(run["run_dir"]).is_dir()
    assert client.get(f"/api/runs/{run['id']}").status_code == 200


def test_deleting_twice_or_an_unknown_run_says_so(client: TestClient) -> None:
    run = _run(client)
    _finish(client, run["id"], "failed")
    assert client.delete(f"/api/runs/{run['id']}").status_code == 200
    again = client.delete(f"/api/runs/{run['id']}")
    assert again.status_code == 409 and "trash already" in again.json()["error"]["message"]
    assert client.delete("/api/runs/nosuchrun0").status_code == 404


def test_editing_a_deleted_run_does_not_bring_it_back(client: TestClient) -> None:
    run = _run(client)
    _finish(client, run["id"])
    assert client.delete(f"/api/runs/{run['id']}").status_code == 200
    r = client.patch(f"/api/runs/{run['id']}", json={"notes": "written by a stale tab"})
    assert r.status_code == 404
    assert "was deleted" in r.json()["error"]["message"]
    assert client.get(f"/api/runs/{run['id']}").status_code == 404
    restored = client.post(f"/api/runs/{run['id']}/restore").json()
    assert restored["notes"] == ""  # the stale write was not applied either


def test_restore_brings_the_run_and_its_folder_back(client: TestClient) -> None:
    run = _run(client, tags=["keep"])
    Path(run["run_dir"], "note.txt").write_text("hello")
    _finish(client, run["id"], "cancelled")
    client.delete(f"/api/runs/{run['id']}")
    r = client.post(f"/api/runs/{run['id']}/restore")
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["keep"] and r.json()["status"] == "cancelled"
    assert Path(run["run_dir"], "note.txt").read_text() == "hello"
    assert client.get("/api/trash").json()["runs"] == []
    not_trashed = client.post(f"/api/runs/{run['id']}/restore")
    assert not_trashed.status_code == 409


def test_purge_removes_row_metrics_and_folder(client: TestClient, store: Store) -> None:
    run = _run(client)
    client.post(
        f"/api/runs/{run['id']}/metrics",
        json={"metrics": {"loss": {"steps": [0, 1], "values": [1.0, 0.5]}}},
    )
    _finish(client, run["id"])
    client.delete(f"/api/runs/{run['id']}")
    assert store.trash.items(deleted_before=time.time() - 3600) == []
    (old,) = store.trash.items(deleted_before=time.time() + 1)
    store.trash.purge(old.id)
    assert not store.trash.folder(run["id"]).exists()
    assert client.get("/api/trash").json()["runs"] == []
    r = client.post(f"/api/runs/{run['id']}/restore")
    assert r.status_code == 404 and "purged" in r.json()["error"]["message"]


def test_archived_experiments_leave_the_lists_and_come_back(client: TestClient) -> None:
    kept = _run(client, "kept")
    hidden = _run(client, "old")
    r = client.patch("/api/experiments/old", json={"archived": True})
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    names = [e["name"] for e in client.get("/api/experiments").json()["experiments"]]
    assert "old" not in names and "kept" in names
    archived = client.get("/api/experiments", params={"archived": "true"}).json()
    assert [e["name"] for e in archived["experiments"]] == ["old"]
    listed = [x["id"] for x in client.get("/api/runs").json()["runs"]]
    assert listed == [kept["id"]]
    by_name = client.get("/api/runs", params={"experiment": "old"}).json()["runs"]
    assert [x["id"] for x in by_name] == [hidden["id"]]
    assert (
        client.patch("/api/experiments/old", json={"archived": False}).json()["archived_at"] is None
    )
    assert len(client.get("/api/runs").json()["runs"]) == 2
    assert client.patch("/api/experiments/nope", json={"archived": True}).status_code == 404
    bad = client.patch("/api/experiments/old", json={"archived": "yes"})
    assert bad.status_code == 422


def test_nothing_of_a_trashed_run_is_served_but_its_restore(client: TestClient) -> None:
    """Every route under /api/runs/{run_id} answers 404 once the run is in the trash (a fuzzer
    found /attempts, /summary and /metrics still answering 200 with empty lists)."""
    run = _run(client)
    rid = run["id"]
    r = client.post(
        f"/api/runs/{rid}/metrics",
        json={"metrics": {"loss": {"steps": [0], "values": [1.0]}}},
    )
    assert r.status_code < 300, r.text
    _finish(client, rid)
    assert client.delete(f"/api/runs/{rid}").status_code == 200
    served = []
    for path, ops in client.get("/openapi.json").json()["paths"].items():
        if not path.startswith("/api/runs/{run_id}") or path.endswith("/restore"):
            continue
        url = re.sub(r"\{[^}]+\}", "x", path.replace("{run_id}", rid))
        for method in ops:
            if (method, path) == ("delete", "/api/runs/{run_id}"):
                continue  # twice is a 409, tested above
            body = None if method in ("get", "delete") else {}
            r = client.request(method.upper(), url, json=body)
            if r.status_code != 404 and not (r.status_code == 422 and body is not None):
                served.append(f"{method.upper()} {path}: {r.status_code} {r.text[:80]}")
            if r.status_code == 404 and path.count("{") == 1:
                assert "trash" in r.json()["error"]["message"], (path, r.text)
    assert served == [], "\n".join(served)
