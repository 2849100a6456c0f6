"""A database locked by another process is waited out by the CLI and the scheduler.

A real `runyard server` with a short busy timeout, a real job, and another process holding
an exclusive SQLite lock while the job ends and the CLI submits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests._faults import sqlite_locked
from tests._wait import until as _until
from tests.conftest import ServerProcess
from tests.runner.conftest import program

LOCK_HELD_S = 2.0  # how long the fault lasts once the job has ended (the condition, not a wait)


def test_busy_database_is_waited_out_by_the_cli_and_the_scheduler(tmp_path: Path) -> None:
    home = tmp_path / "home"
    srv = ServerProcess(home, env={"RUNYARD_DB_BUSY_TIMEOUT_S": "0.3"}).wait_ready()
    try:
        first = httpx.post(
            f"{srv.url}/api/runs",
            json={"command": program("sleeper.py", "0.5"), "max_retries": 0},
        ).json()
        run_dir = Path(first["run_dir"])
        _until(lambda: httpx.get(f"{srv.url}/api/runs/{first['id']}").json()["status"] == "running")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
        with sqlite_locked(home / "runyard.db"):
            submit = subprocess.Popen(
                [sys.executable, "-m", "runyard", "submit", "--", *program("sleeper.py", "0")],
                env={**env, "RUNYARD_URL": srv.url},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.extend(submit.stderr), daemon=True)
            reader.start()
            _until(lambda: (run_dir / "logs" / "attempt-1.exit.json").exists())
            _until(lambda: any("retrying" in line for line in lines), timeout=60)
            time.sleep(LOCK_HELD_S)
            during = httpx.get(f"{srv.url}/api/runs/{first['id']}").json()["status"]
        out = submit.stdout.read()
        submit.wait(60)
        reader.join(10)
        err = "".join(lines)
        submit.stdout.close()
        submit.stderr.close()
        assert submit.returncode == 0, err
        assert "database is busy" in err and "retrying" in err
        second = out.strip()
        assert during == "running"  # the scheduler could not record the end while locked
        for run_id in (first["id"], second):
            _until(
                lambda run_id=run_id: (
                    httpx.get(f"{srv.url}/api/runs/{run_id}").json()["status"] == "completed"
                )
            )
        attempts = httpx.get(f"{srv.url}/api/runs/{first['id']}/attempts").json()["attempts"]
        assert [(a["status"], a["exit_code"]) for a in attempts] == [("succeeded", 0)]
    finally:
        srv.proc.terminate()
        log = srv.output()
        srv.stop()
    assert "Traceback" not in log and "a bug in runyard" not in log
    assert log.count("the database is busy") == 1  # once for the episode, not per request
