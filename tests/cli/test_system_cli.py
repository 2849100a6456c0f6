"""`runyard system` and `python -m runyard.telemetry`, against a real server process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests._postgres import free_port
from tests.cli.test_cli import cli
from tests.conftest import ServerProcess


def test_system_panel_and_json(server: ServerProcess) -> None:
    env = {"RUNYARD_URL": server.url, "COLUMNS": "120"}
    shown = cli("system", env=env)
    assert shown.returncode == 0, shown.stderr
    words = ("runyard system", "cpu", "memory", "disk", "gpus", "uptime", "none (no NVML here)")
    for word in words:
        assert word in shown.stdout
    assert any(s in shown.stdout for s in ("✓ healthy", "! warning", "✗ critical"))
    as_json = json.loads(cli("system", "--json", env=env).stdout)
    api = httpx.get(f"{server.url}/api/system").json()
    assert set(as_json) == set(api) and as_json["gpus"] == []
    assert as_json["disk"]["path"] == api["disk"]["path"] == str(server.home)
    assert as_json["memory"]["total"] == api["memory"]["total"]


def test_system_with_the_server_down_is_one_line() -> None:
    down = cli("system", env={"RUNYARD_URL": f"http://127.0.0.1:{free_port()}"})
    assert down.returncode == 1
    assert down.stdout == "" and len(down.stderr.strip().splitlines()) == 1
    assert "cannot reach the runyard server" in down.stderr


def test_system_with_a_token(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", "--token", "s3cret").wait_ready()
    try:
        refused = cli("system", env={"RUNYARD_URL": srv.url})
        assert refused.returncode == 1 and "HTTP 401" in refused.stderr
        ok = cli("system", "--json", env={"RUNYARD_URL": srv.url, "RUNYARD_TOKEN": "s3cret"})
        assert ok.returncode == 0 and json.loads(ok.stdout)["status"]
    finally:
        srv.stop()


def test_one_sample_without_a_server(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "runyard.telemetry"],
        env={"RUNYARD_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sample = json.loads(done.stdout)
    assert sample["disk"]["path"] == str(tmp_path)
    assert sample["status"] in ("healthy", "warning", "critical")
    assert sample["gpus"] == [] and sample["gpu_error"] is None and sample["gpu_processes"] == {}
