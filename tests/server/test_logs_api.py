"""Logs of runs that have none yet: an empty chunk, never a 500 (both databases)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.entities import JobSpec
from runyard.server.app import create_app
from runyard.store import Store
from tests._sse import events


def test_a_run_without_attempts_has_an_empty_log(client: TestClient) -> None:
    run = client.post("/api/runs", json={}).json()  # tracked only: no attempt, ever
    chunk = client.get(f"/api/runs/{run['id']}/logs").json()
    assert chunk == {"attempt": None, "text": "", "offset": 0, "size": 0, "ended": False}
    client.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
    assert client.get(f"/api/runs/{run['id']}/logs", params={"tail": 5}).json()["ended"] is True
    with client.stream("GET", f"/api/runs/{run['id']}/logs/stream") as r:
        assert r.status_code == 200
        got = [e for e in events(r) if e.event != "ping"]
    assert [(e.event, e.data) for e in got] == [
        ("end", {"attempt": None, "status": "completed", "offset": 0})
    ]
    for url in ("/api/runs/nope/logs", "/api/runs/nope/logs/stream"):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/runs/{run['id']}/logs", params={"attempt": 1}).status_code == 404


def test_an_attempt_that_has_written_nothing_yet(settings: Settings, store: Store) -> None:
    spec = JobSpec(command=["true"])
    run = store.jobs.submit(spec, experiment="default", name=None, params={}, tags=[], notes="")
    assert store.jobs.claim(run.id, "local", []) == 1  # claimed, not started: no log file
    assert not (Path(run.run_dir) / "logs" / "attempt-1.log").exists()
    client = TestClient(create_app(settings, store))  # no lifespan: no scheduler to start it
    for params in ({}, {"attempt": 1}, {"tail": 10}, {"offset": 50}):
        chunk = client.get(f"/api/runs/{run.id}/logs", params=params).json()
        assert chunk == {"attempt": 1, "text": "", "offset": 0, "size": 0, "ended": False}
