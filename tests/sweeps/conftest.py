"""Sweep fixtures: a real server in a thread (scheduler and sweep controller included) over
SQLite (the runner's `jobs`) or either database (`sweep_jobs`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests._postgres import free_port
from tests.runner.conftest import LiveClient, jobs, wait_for  # noqa: F401  (jobs: a fixture)


@pytest.fixture
def sweep_jobs(tmp_path: Path, db_url: str) -> Iterator[LiveClient]:
    port = free_port()
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, slots=4, url=f"http://127.0.0.1:{port}"
    )
    store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    app = create_app(settings, store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = LiveClient(base_url=settings.url, timeout=30)
    client.app = app
    client.server = server
    try:
        wait_for(client, lambda: server.started, timeout=20)
        yield client
    finally:
        for run in client.get("/api/runs", params={"status": "queued,running"}).json()["runs"]:
            client.post(f"/api/runs/{run['id']}/cancel")
        wait_for(
            client,
            lambda: (
                not client.get("/api/runs", params={"status": "starting,running"}).json()["runs"]
            ),
        )
        client.close()
        server.should_exit = True
        thread.join(10)
        store.close()
