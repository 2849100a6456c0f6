"""A real job under a real server: its process tree's CPU and memory become its metrics."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import ServerProcess
from tests.runner.conftest import program, wait_for


def test_a_running_job_gets_system_metrics(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env={"RUNYARD_TELEMETRY_INTERVAL_S": "0.2"})
    srv.wait_ready()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            run = http.post("/api/runs", json={"command": program("hog.py", "40")}).json()

            def grown() -> dict | None:
                m = http.get(f"/api/runs/{run['id']}/metrics").json()["metrics"]
                cpu = m.get("system/cpu_percent", {}).get("values", [])
                rss = m.get("system/rss_mb", {}).get("values", [])
                return m if rss and max(rss) >= 40 and cpu and max(cpu) > 20 else None

            metrics = wait_for(http, grown, timeout=60)
            assert "system/gpu_memory_mb" not in metrics  # no NVML on this machine
            steps = metrics["system/rss_mb"]["steps"]
            assert steps == sorted(steps) and steps[0] >= 0
            assert http.post(f"/api/runs/{run['id']}/cancel").status_code in (200, 202)
            wait_for(http, lambda: http.get(f"/api/runs/{run['id']}").json()["status"] != "running")
            assert http.get(f"/api/runs/{run['id']}").json()["status"] == "cancelled"
            summary = http.get(f"/api/runs/{run['id']}/summary").json()
            assert summary["metrics"]["system/rss_mb"]["max"] >= 40
    finally:
        srv.stop()
