"""Logs without a job (an empty chunk, never a 500; both databases) and how a tail is found."""

from __future__ import annotations

from pathlib import Path

import hypothesis
import pytest
from fastapi.testclient import TestClient
from hypothesis import strategies as st

from runyard.config import Settings
from runyard.entities import JobSpec
from runyard.server.app import create_app
from runyard.server.routes.logs import MAX_LOG_READ, _tail_start
from runyard.store import Store
from tests._sse import events


def _stream(client: TestClient, run_id: str) -> list[tuple[str, object]]:
    with client.stream("GET", f"/api/runs/{run_id}/logs/stream") as r:
        assert r.status_code == 200
        return [(e.event, e.data) for e in events(r) if e.event != "ping"]


def test_a_run_without_attempts_has_an_empty_log(client: TestClient) -> None:
    run = client.post("/api/runs", json={}).json()  # tracked only: no attempt, ever
    chunk = client.get(f"/api/runs/{run['id']}/logs").json()
    assert chunk == {"attempt": None, "text": "", "offset": 0, "size": 0, "ended": False}
    assert _stream(client, run["id"]) == [
        ("end", {"attempt": None, "status": "running", "offset": 0})
    ]
    client.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
    assert client.get(f"/api/runs/{run['id']}/logs", params={"tail": 5}).json()["ended"] is True
    assert _stream(client, run["id"]) == [
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


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    data=st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\xc3\xa9"]), max_size=30).map(b"".join),
    n=st.integers(1, 12),
)
def test_tail_starts_where_the_last_lines_begin(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, n: int
) -> None:
    path = tmp_path_factory.mktemp("tail") / "log"
    path.write_bytes(data)
    lines = data.splitlines(keepends=True)
    assert data[_tail_start(path, len(data), n, lines_only=False) :] == b"".join(lines[-n:])
    complete = [ln for ln in lines if ln.endswith(b"\n")]
    start = _tail_start(path, len(data), n, lines_only=True)
    assert data[start : len(b"".join(complete))] == b"".join(complete[-n:])


def test_tail_looks_back_at_most_max_log_read(tmp_path: Path) -> None:
    path = tmp_path / "log"
    lines = [b"%099d\n" % i for i in range(60_000)]  # 6 MB of 100-byte lines
    data = b"".join(lines)
    path.write_bytes(data)
    assert data[_tail_start(path, len(data), 3, lines_only=False) :] == b"".join(lines[-3:])
    start = _tail_start(path, len(data), 100_000, lines_only=False)
    assert len(data) - start <= MAX_LOG_READ and data[start - 1 : start] == b"\n"
    assert data[start:] == b"".join(lines[-((len(data) - start) // 100) :])
