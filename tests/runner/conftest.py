"""Runner fixtures: a real server in a thread (scheduler included), real shim subprocesses."""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.server.protocol import BodyProtocol
from runyard.store import Store
from tests._postgres import free_port

PROGRAMS = Path(__file__).parent.parent / "programs"


def program(name: str, *args: str) -> list[str]:
    return [sys.executable, str(PROGRAMS / name), *args]


class LiveClient(httpx.Client):
    """An HTTP client of a real uvicorn server running in a thread of this process."""

    app: FastAPI
    server: uvicorn.Server


@contextlib.contextmanager
def live_server(settings: Settings) -> Iterator[LiveClient]:
    """A real uvicorn server on ``settings`` in a thread; at the end, the runs it left
    active are cancelled and waited for, so that no job outlives the test."""
    store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    app = create_app(settings, store)
    port = int(settings.url.rsplit(":", 1)[1])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", http=BodyProtocol
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    client = LiveClient(base_url=settings.url, timeout=30)
    client.app = app
    client.server = server
    try:
        wait_for(client, lambda: server.started, timeout=20)
        yield client
    finally:
        active = "queued,starting,running,retrying"
        for run in client.get("/api/runs", params={"status": active}).json()["runs"]:
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


@pytest.fixture
def jobs(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveClient]:
    db = tmp_path / "runyard.db"
    shutil.copyfile(sqlite_template, db)
    port = free_port()
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{db}",
        gpus=2,
        slots=4,
        url=f"http://127.0.0.1:{port}",
    )
    with live_server(settings) as client:
        yield client


def wait_for(client: httpx.Client, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


def submit(client: httpx.Client, command: list[str] | str, **spec: Any) -> dict[str, Any]:
    r = client.post("/api/runs", json={"command": command, "retry_delay_s": 0.05, **spec})
    assert r.status_code == 201, r.text
    return r.json()


def wait_status(client: httpx.Client, run_id: str, *statuses: str, timeout: float = 30.0) -> dict:
    def check() -> dict | None:
        run = client.get(f"/api/runs/{run_id}").json()
        return run if run["status"] in statuses else None

    return wait_for(client, check, timeout)
