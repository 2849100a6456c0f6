"""A job's token (RUNYARD_TOKEN in its environment) opens its own run's routes and no more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from runyard._tokens import scoped_token
from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store

ADMIN = {"Authorization": "Bearer s3cret"}
Setup = tuple[TestClient, str, str, dict[str, str]]


@pytest.fixture
def setup(settings: Settings, store: Store) -> Iterator[Setup]:
    app = create_app(settings.model_copy(update={"token": SecretStr("s3cret")}), store)
    with TestClient(app) as c:
        own = c.post("/api/runs", json={"name": "own"}, headers=ADMIN).json()["id"]
        other = c.post("/api/runs", json={"name": "other"}, headers=ADMIN).json()["id"]
        job = {"Authorization": f"Bearer {scoped_token('s3cret', own)}"}
        yield c, own, other, job


def test_a_job_does_its_own_runs_work(setup: Setup) -> None:
    c, own, _other, job = setup
    assert c.get(f"/api/runs/{own}", headers=job).status_code == 200
    batch = {"metrics": {"loss": {"steps": [1], "values": [0.5], "timestamps": [1.0]}}}
    posted = c.post(f"/api/runs/{own}/metrics", json=batch, headers=job)
    assert posted.status_code < 300, posted.text
    assert c.get(f"/api/runs/{own}/metrics", headers=job).json()["metrics"]["loss"]["values"]
    assert c.post(f"/api/runs/{own}/progress", json={"epoch": 1}, headers=job).is_success
    assert c.patch(f"/api/runs/{own}", json={"notes": "n"}, headers=job).is_success
    for read in ("attempts", "checkpoints", "artifacts", "summary", "checklist", "progress"):
        assert c.get(f"/api/runs/{own}/{read}", headers=job).status_code == 200, read
    assert c.post(f"/api/runs/{own}/finish", json={"status": "completed"}, headers=job).is_success


@pytest.mark.parametrize(
    ("method", "path", "word"),
    [
        ("POST", "/api/runs", "own run"),  # submit a job (or make another run)
        ("GET", "/api/runs", "own run"),  # list every run
        ("POST", "/api/runs/{own}/cancel", "cancel"),
        ("POST", "/api/runs/{own}/retry", "retry"),
        ("POST", "/api/runs/{own}/restore", "restore"),
        ("POST", "/api/runs/{own}/evaluations", "submit"),
        ("DELETE", "/api/runs/{own}", "delete"),
        ("GET", "/api/runs/{other}", "own run"),
        ("GET", "/api/runs/{other}/metrics", "own run"),
        ("GET", "/api/runs/{other}/artifacts/logs/attempt-1.log", "own run"),
        ("POST", "/api/runs/{other}/metrics", "own run"),
        ("POST", "/api/runs/{other}/cancel", "own run"),
        ("GET", "/api/runs/{own}x", "own run"),  # a prefix of another id is not its run
        ("GET", "/api/experiments", "own run"),
        ("GET", "/api/queue", "own run"),
        ("GET", "/api/events", "own run"),
        ("GET", "/api/export", "own run"),
        ("POST", "/api/compare", "own run"),
        ("GET", "/api/datasets", "own run"),
        ("GET", "/metrics", "own run"),
        ("GET", "/openapi.json", "own run"),
    ],
)
def test_what_a_job_token_may_not_do(setup: Setup, method: str, path: str, word: str) -> None:
    c, own, other, job = setup
    url = path.format(own=own, other=other)
    refused = c.request(method, url, json={} if method != "GET" else None, headers=job)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"
    assert word in refused.json()["error"]["message"]
    assert c.get(f"/api/runs/{own}", headers=ADMIN).json()["status"] == "running"


def test_a_token_for_one_run_cannot_be_turned_into_another(
    setup: Setup,
) -> None:
    c, own, other, job = setup
    mac = job["Authorization"].rsplit(".", 1)[1]
    forged = {"Authorization": f"Bearer run.{other}.{mac}"}
    assert c.get(f"/api/runs/{other}", headers=forged).status_code == 401
    foreign = {"Authorization": f"Bearer {scoped_token('another-secret', other)}"}
    assert c.get(f"/api/runs/{other}", headers=foreign).status_code == 401
