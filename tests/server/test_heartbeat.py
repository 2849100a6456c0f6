"""A dead tracked-only script is noticed: no heartbeat for its timeout makes its run `failed`
(lost), and a point that arrives after all makes it `running` again. Jobs are not judged so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from runyard.entities import RunStatus
from runyard.store import Store
from runyard.store.heartbeats import LOST
from tests._wait import until as _until
from tests.conftest import ServerProcess

PROGRAM = Path(__file__).parents[1] / "programs" / "idle_sdk.py"
POINT = {"metrics": {"loss": {"steps": [9], "values": [0.1], "timestamps": [1.0]}}}


def _status(client: TestClient, run_id: str) -> str:
    return str(client.get(f"/api/runs/{run_id}").json()["status"])


def test_a_silent_tracked_run_is_lost_and_a_point_brings_it_back(
    client: TestClient, store: Store
) -> None:
    run_id = client.post("/api/runs", json={"heartbeat_timeout_s": 0.3}).json()["id"]
    other = client.post("/api/runs", json={}).json()["id"]  # the default: 300 s
    # The server's maintenance thread sweeps every second; a sweep here only hurries it.
    _until(lambda: store.heartbeats.sweep(300.0) or _status(client, run_id) == "failed")
    lost = client.get(f"/api/runs/{run_id}").json()
    assert lost["status"] == "failed" and lost["reason"].startswith(LOST)
    assert lost["reason"].endswith("Z") and lost["ended_at"] is not None
    assert client.get(f"/api/runs/{other}").json()["status"] == "running"
    listed = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert listed[run_id]["reason"] == lost["reason"]

    back = client.post(f"/api/runs/{run_id}/metrics", json=POINT)
    assert back.status_code == 200, back.text
    alive = client.get(f"/api/runs/{run_id}").json()
    assert alive["status"] == "running" and alive["reason"] is None and alive["ended_at"] is None
    kinds = [
        (e.kind, e.data.get("status"), e.data.get("reason"))
        for e in store.events.list(run_id)
        if e.kind == "status"
    ]
    assert ("status", "failed", lost["reason"]) in kinds
    assert kinds[-1][0:2] == ("status", "running") and "alive again" in str(kinds[-1][2])


def test_a_lost_run_whose_script_reports_its_end_takes_that_end(
    client: TestClient, store: Store
) -> None:
    """A script silent past its timeout (stopped by a debugger, a server out of reach) that
    then finishes: its own word wins over the guess, and a backdated run is not lost at once."""
    hour_ago = time.time() - 3600
    run_id = client.post("/api/runs", json={"started_at": hour_ago}).json()["id"]
    assert store.heartbeats.sweep(300.0) == []  # it began an hour ago but is alive now
    client.post(f"/api/runs/{run_id}/heartbeat", json={"timeout_s": 0.2})
    _until(lambda: store.heartbeats.sweep(300.0) or _status(client, run_id) == "failed")
    done = client.post(f"/api/runs/{run_id}/finish", json={"status": "completed"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["reason"]) == ("completed", None)
    again = client.post(f"/api/runs/{run_id}/finish", json={"status": "failed"})
    assert again.json()["status"] == "completed"  # an end that was reported stays


def test_heartbeat_route_sets_the_runs_own_timeout(client: TestClient, store: Store) -> None:
    run_id = client.post("/api/runs", json={}).json()["id"]
    beat = client.post(f"/api/runs/{run_id}/heartbeat", json={"timeout_s": 0.2})
    assert beat.json() == {"status": "running", "revived": False}
    _until(lambda: store.heartbeats.sweep(300.0) or _status(client, run_id) == "failed")
    again = client.post(f"/api/runs/{run_id}/heartbeat", json={"timeout_s": 60.0})
    assert again.json() == {"status": "running", "revived": True}
    assert client.post(f"/api/runs/{run_id}/heartbeat").status_code == 200  # no body
    assert client.post("/api/runs/nope/heartbeat", json={}).status_code == 404
    assert client.post(f"/api/runs/{run_id}/heartbeat", json={"timeout_s": 0}).status_code == 422
    bad = client.post("/api/runs", json={"heartbeat_timeout_s": -1})
    assert bad.status_code == 422


def test_a_runner_launched_run_is_judged_by_its_exit_code(store: Store) -> None:
    job = store.runs.create(experiment="e", spec={"command": ["true"]}, status=RunStatus.RUNNING)
    tracked = store.runs.create(experiment="e")
    assert _until(lambda: store.heartbeats.sweep(0.01)) == [tracked.id]
    assert store.runs.get(job.id).status is RunStatus.RUNNING
    store.heartbeats.beat(job.id)  # a job's SDK beats too: nothing changes
    assert store.runs.get(job.id).status is RunStatus.RUNNING


def test_a_killed_script_is_noticed_and_runyard_show_says_why(tmp_path: Path) -> None:
    env = {"RUNYARD_HEARTBEAT_TIMEOUT_S": "3", "RUNYARD_POLL_INTERVAL_S": "0.1"}
    srv = ServerProcess(tmp_path / "home", env=env).wait_ready()
    script_env = {
        **os.environ,
        "RUNYARD_URL": srv.url,
        "RUNYARD_HEARTBEAT_INTERVAL_S": "0.2",
        "RUNYARD_HOME": str(tmp_path / "home"),
    }
    script_env.pop("RUNYARD_RUN_ID", None)
    script = subprocess.Popen(
        [sys.executable, str(PROGRAM), "idle-one"],
        env=script_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert script.stdout is not None
        run_id = script.stdout.readline().split()[1]
        with httpx.Client(base_url=srv.url, timeout=10) as http:
            # Idle for three timeouts: its heartbeats keep it running.
            idle_until = time.monotonic() + 9
            while time.monotonic() < idle_until:
                assert http.get(f"/api/runs/{run_id}").json()["status"] == "running"
                time.sleep(0.2)
            script.send_signal(signal.SIGKILL)
            script.wait()
            run = _until(
                lambda: (r := http.get(f"/api/runs/{run_id}").json())["status"] == "failed" and r
            )
            assert run["reason"].startswith(LOST)
        shown = subprocess.run(
            [sys.executable, "-m", "runyard", "show", run_id],
            env={**script_env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert "failed" in shown.stdout and "lost: no heartbeat since" in shown.stdout
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()
        if script.stdout:
            script.stdout.close()
        srv.stop()
