"""A full disk answers 507 naming the filesystem, a locked database 503 with Retry-After.

The conditions are real: a small tmpfs filled to its last byte, an exclusive SQLite lock
held by another process, a PostgreSQL `LOCK TABLE` held by another connection.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store, faults
from tests._faults import fill, postgres_locked, sqlite_locked, tmpfs

BUSY_S = 0.3


def _points(n: int, key: str = "loss") -> dict:
    return {key: {"steps": list(range(n)), "values": [float(i) for i in range(n)]}}


@pytest.fixture
def fresh_episodes(monkeypatch: pytest.MonkeyPatch) -> faults.Episodes:
    episodes = faults.Episodes()
    monkeypatch.setattr(faults, "EPISODES", episodes)
    return episodes


@pytest.fixture
def full_home(tmp_path: Path, sqlite_template: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "home", "6m") as home:
        shutil.copyfile(sqlite_template, home / "runyard.db")
        yield home


def _client(settings: Settings) -> tuple[TestClient, Store]:
    store = Store.open(settings.db_url, settings.runs_dir, migrate=False, busy_timeout_s=BUSY_S)
    return TestClient(create_app(settings, store)), store


def test_full_disk_answers_507_naming_the_filesystem_then_recovers(
    full_home: Path, fresh_episodes: faults.Episodes, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(home=full_home)
    client, store = _client(settings)
    with client:
        run = client.post("/api/runs", json={"experiment": "disk"}).json()
        filler = fill(full_home)
        with caplog.at_level(logging.WARNING, logger="runyard.faults"):
            answers = [  # batches too big for what the WAL has left
                client.post(
                    f"/api/runs/{run['id']}/metrics",
                    json={"source": "w", "seq": i, "metrics": _points(20_000)},
                )
                for i in range(3)
            ]
            created = client.post("/api/runs", json={"experiment": "disk", "params": {"x": 1}})
        for r in answers:
            assert r.status_code == 507, r.text
            body = r.json()["error"]
            assert body["code"] == "insufficient_storage"
            assert str(full_home) in body["message"] and "bug" not in body["message"]
        assert created.status_code in (201, 507)
        logged = [r for r in caplog.records if "no space left" in r.getMessage()]
        assert len(logged) == 1  # once per episode, not per request
        assert "insufficient_storage" in fresh_episodes.current()
        banner = client.get("/api/health").json()["faults"]  # what the dashboard's banner shows
        assert str(full_home) in banner["insufficient_storage"]
        # nothing half-written: none of the refused batches is there
        assert client.get(f"/api/runs/{run['id']}/metrics").json()["metrics"] == {}
        filler.unlink()
        r = client.post(
            f"/api/runs/{run['id']}/metrics",
            json={"source": "w", "seq": 0, "metrics": _points(20_000)},
        )
        assert r.status_code == 200, r.text
        got = client.get(f"/api/runs/{run['id']}/metrics", params={"keys": "loss"}).json()
        assert len(got["metrics"]["loss"]["steps"]) == 20_000
    store.close()


def test_locked_sqlite_answers_503_with_retry_after_and_reads_go_on(
    tmp_path: Path,
    sqlite_template: Path,
    fresh_episodes: faults.Episodes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "runyard.db"
    shutil.copyfile(sqlite_template, db)
    settings = Settings(home=tmp_path / "home", database_url=f"sqlite:///{db}")
    client, store = _client(settings)
    with client:
        run = client.post("/api/runs", json={"experiment": "busy"}).json()
        with (
            sqlite_locked(db),
            caplog.at_level(logging.WARNING, logger="runyard.faults"),
        ):
            answers = [client.post("/api/runs", json={"experiment": "busy"}) for _ in range(2)]
            ingest = client.post(
                f"/api/runs/{run['id']}/metrics",
                json={"source": "w", "seq": 0, "metrics": _points(3)},
            )
            read = client.get(f"/api/runs/{run['id']}")
        for r in [*answers, ingest]:
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == str(faults.RETRY_AFTER_S)
            assert r.json()["error"]["code"] == "database_busy"
        assert read.status_code == 200  # WAL: readers are not blocked by the writer's lock
        assert len([r for r in caplog.records if "database is busy" in r.getMessage()]) == 1
        assert client.post("/api/runs", json={"experiment": "busy"}).status_code == 201
        runs = client.get("/api/runs", params={"experiment": "busy"}).json()["runs"]
        assert len(runs) == 2  # the refused submits left nothing behind
    store.close()


@pytest.mark.postgres
def test_postgres_lock_table_answers_503(
    tmp_path: Path, postgres_url: str, fresh_episodes: faults.Episodes
) -> None:
    from tests.conftest import _truncate_all

    _truncate_all(postgres_url)
    settings = Settings(home=tmp_path / "home", database_url=postgres_url)
    client, store = _client(settings)
    with client:
        run = client.post("/api/runs", json={"experiment": "pg"}).json()
        with postgres_locked(postgres_url, "runs", "metric_chunks"):
            submit = client.post("/api/runs", json={"experiment": "pg"})
            ingest = client.post(
                f"/api/runs/{run['id']}/metrics",
                json={"source": "w", "seq": 0, "metrics": _points(3)},
            )
        for r in (submit, ingest):
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == str(faults.RETRY_AFTER_S)
        assert "database_busy" in fresh_episodes.current()
        assert client.post("/api/runs", json={"experiment": "pg"}).status_code == 201
    store.close()
