"""One store, whichever door: `runyard gc` run with another RUNYARD_HOME than the server's
cleans the server's store (the one the dashboard shows) and says so; with no server, the local
store, and it says that too. (`dataset unpack/add` are covered in tests/cli/test_dataset_cli.py;
the other writing commands only ever talk to the server.)"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.cli.test_cli import cli
from tests.conftest import ServerProcess


def _failed_run(url: str) -> dict:
    run = httpx.post(f"{url}/api/runs", json={"name": "dead", "experiment": "gc"}).json()
    assert httpx.post(f"{url}/api/runs/{run['id']}/finish", json={"status": "failed"}).is_success
    return dict(run)


def _wait_gone(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists(), path


def test_gc_goes_through_the_server_whatever_the_local_home(tmp_path: Path) -> None:
    home = tmp_path / "server-home"
    srv = ServerProcess(home).wait_ready(timeout=120)  # a busy machine
    env = {"RUNYARD_URL": srv.url, "RUNYARD_HOME": str(tmp_path / "elsewhere"), "COLUMNS": "250"}
    try:
        dead = _failed_run(srv.url)
        run_dir = Path(dead["run_dir"])
        assert run_dir.is_relative_to(home) and run_dir.is_dir()
        listed = cli("gc", env=env)
        assert listed.returncode == 0, listed.stderr
        assert f"using the server at {srv.url}" in listed.stderr
        assert dead["id"] in listed.stdout and run_dir.is_dir()
        removed = cli("gc", "--yes", env=env)
        assert removed.returncode == 0 and "removed 1 item" in removed.stdout, removed
        _wait_gone(run_dir)
        forced = cli("gc", "--local", env=env)
        assert f"using the local store in {tmp_path / 'elsewhere'}" in forced.stderr
        assert "nothing to clean" in forced.stdout
    finally:
        srv.stop()
    alone = cli("gc", env=env)
    assert alone.returncode == 0, alone.stderr
    assert "using the local store in" in alone.stderr and "no server answered" in alone.stderr


def test_the_gc_routes_list_then_remove(client: TestClient) -> None:
    run = client.post("/api/runs", json={"name": "dead", "experiment": "gc"}).json()
    client.post(f"/api/runs/{run['id']}/finish", json={"status": "failed"})
    listed = client.get("/api/gc")
    assert listed.status_code == 200, listed.text
    assert [i["run_id"] for i in listed.json()["items"]] == [run["id"]]
    assert listed.json()["removed"] is False and Path(run["run_dir"]).is_dir()
    done = client.post("/api/gc", json={"keep_last": 2})
    assert done.status_code == 200 and done.json()["removed"] is True
    assert not Path(run["run_dir"]).exists()
    assert client.get("/api/gc").json()["items"] == []
    for bad in (
        client.get("/api/gc", params={"keep_last": -1}),
        client.get("/api/gc", params={"keep_last": "0.0"}),
        client.post("/api/gc", json={"keep_last": "many"}),
    ):
        assert 400 <= bad.status_code < 500 and bad.json()["error"]["message"], bad.text
