"""GET /api/events over real HTTP (uvicorn on 127.0.0.1, httpx streaming), both databases."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests._live import serve
from tests._sse import Event, events, read_until
from tests.conftest import ServerProcess

TIMEOUT = httpx.Timeout(10, read=30)  # reads outlast the 15 s ping


@pytest.fixture
def app(settings: Settings, store: Store) -> FastAPI:
    return create_app(settings, store)


@pytest.fixture
def live(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def _create(http: httpx.Client, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = http.post("/api/runs", json={"experiment": "ev", "name": f"r{i}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _delay(event: Event) -> float:
    return event.at - datetime.fromisoformat(event.data["ts"]).timestamp()


def test_a_tracked_runs_life_arrives_live(live: str, store: Store) -> None:
    with httpx.Client(base_url=live, timeout=TIMEOUT) as http:
        after = store.events.last_id()
        with http.stream("GET", "/api/events", params={"after": after}) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            (run_id,) = _create(http, 1)
            http.post(f"/api/runs/{run_id}/progress", json={"epoch": 1, "total_epochs": 2})
            http.post(
                f"/api/runs/{run_id}/metrics",
                json={"metrics": {"loss": {"steps": [1, 2], "values": [0.5, 0.4]}}},
            ).raise_for_status()
            http.post(f"/api/runs/{run_id}/finish", json={"status": "completed"})
            got = read_until(r, lambda g: g[-1].kind == "summary")
    mine = [e for e in got if e.data["run_id"] == run_id]
    assert [e.kind for e in mine] == ["created", "progress", "metrics", "status", "summary"]
    created, progress, metrics, status, _ = mine
    assert created.data["name"] == "r0" and created.data["status"] == "running"
    assert (progress.data["epoch"], progress.data["percent"]) == (1, 50.0)
    assert metrics.data["keys"] == ["loss"] and metrics.data["last_step"] == 2
    assert status.data["status"] == "completed"
    queue = [e for e in got if e.kind == "queue"]
    assert queue and queue[0].data["counts"]["active"] == 1 and queue[0].data["run_id"] is None
    assert all(e.id == e.data["id"] and e.kind == e.data["kind"] for e in got)
    assert [e.id for e in got] == sorted({e.id for e in got})
    assert max(_delay(e) for e in got) < 10  # a sanity bound, not a benchmark


def test_reconnecting_misses_nothing(live: str, store: Store, app: FastAPI) -> None:
    with httpx.Client(base_url=live, timeout=TIMEOUT) as http:
        _create(http, 2)
        with http.stream("GET", "/api/events", params={"after": 0}) as r:
            first = read_until(r, lambda g: len(g) == 3)
        assert [e.id for e in first] == [e.id for e in store.events.list()][:3]
        seen = first[-1].id
        ids = _create(http, 3)  # while nobody listens
        http.post(f"/api/runs/{ids[0]}/finish", json={"status": "failed"}).raise_for_status()
        missed = [e.id for e in store.events.list(after=seen)]
        for headers, params in (
            ({"Last-Event-ID": str(seen)}, {"after": 0}),  # the header wins
            ({}, {"after": seen}),
        ):
            with http.stream("GET", "/api/events", params=params, headers=headers) as r:
                again = read_until(r, lambda g: g[-1].id >= missed[-1])
            got = [e.id for e in again]
            assert got[: len(missed)] == missed  # exactly what it missed, in order
            assert got == sorted(set(got))  # and nothing twice
    hub = app.state.event_hub
    deadline = time.monotonic() + 10
    while hub.listeners and time.monotonic() < deadline:  # the server saw them leave
        time.sleep(0.02)
    assert hub.listeners == 0


def test_bad_cursors_and_the_declared_stream(client: TestClient) -> None:
    r = client.get("/api/events", headers={"Last-Event-ID": "abc"})
    assert r.status_code == 400 and "Last-Event-ID" in r.json()["error"]["message"]
    assert client.get("/api/events", params={"after": -1}).status_code == 422
    op = client.get("/openapi.json").json()["paths"]["/api/events"]["get"]
    assert list(op["responses"]["200"]["content"]) == ["text/event-stream"]
    assert "application/json" in op["responses"]["400"]["content"]


def test_a_server_shutting_down_ends_open_streams_cleanly(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "home").wait_ready()
    try:
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
            _create(http, 1)
            with http.stream("GET", "/api/events", params={"after": 0}) as r:
                stream = events(r)
                first = read_until(stream, lambda g: len(g) == 1)
                server.proc.terminate()
                rest = list(stream)  # ends, rather than breaking off or hanging
        assert first[0].kind == "created"
        assert all(e.kind in ("ping", "queue") for e in rest)  # pings, or the queue counts
        assert server.proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
        log = server.output()
        assert "ERROR" not in log and "Traceback" not in log, log
    finally:
        server.stop()
