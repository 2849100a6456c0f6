"""`runyard demo` against a server that is already running: it reuses it, submits the jobs
and the three-step pipeline once, and prints the address and how to stop it every time."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.test_cli import cli
from tests.conftest import ServerProcess


def test_a_second_demo_reuses_the_running_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    srv = ServerProcess(home, "--slots", "1").wait_ready()
    env = {"RUNYARD_HOME": str(home)}
    try:
        for attempt in range(2):
            done = cli("demo", "--port", str(srv.port), "--home", str(home), env=env)
            assert done.returncode == 0, done.stderr
            assert "already running" in done.stderr and "reusing it" in done.stderr
            assert f"the dashboard is at {srv.url}/" in done.stderr
            assert "stop it with" in done.stderr
            if attempt:
                assert "not submitting them again" in done.stderr
        steps = httpx.get(f"{srv.url}/api/runs", params={"experiment": "digits-pipeline"}).json()[
            "runs"
        ]
        by_name = {r["name"]: r for r in steps}
        assert sorted(by_name) == ["evaluate", "prepare", "train"]  # once, not twice
        assert by_name["train"]["depends_on"] == [by_name["prepare"]["id"]]
        assert by_name["evaluate"]["depends_on"] == [by_name["train"]["id"]]
    finally:
        active = "queued,starting,running,retrying"
        for run in httpx.get(f"{srv.url}/api/runs", params={"status": active}).json()["runs"]:
            httpx.post(f"{srv.url}/api/runs/{run['id']}/cancel")
        srv.stop()
