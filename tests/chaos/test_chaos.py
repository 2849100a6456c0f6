"""Chaos, small: a mixed load of jobs while the server is SIGKILLed twice, the disk of the
run dirs fills up (a tmpfs, as root) and the database is locked by another process.

Asserts every terminal state, every attempt count, every logged point exactly once, no
orphan process and no 500. 503/507 are allowed while a fault lasts: they say what happened.
Prints what it measured (restarts, fault answers, wall time) for the report.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests._faults import fill, sqlite_locked, tmpfs
from tests._wait import until
from tests.conftest import ServerProcess
from tests.runner.conftest import program

pytestmark = [pytest.mark.chaos, pytest.mark.slow]
POINTS = 300
FAULT_S = 2.0  # how long the disk stays full and the database locked


class Api:
    """HTTP to whichever server is up; remembers every status it was answered."""

    def __init__(self) -> None:
        self.url = ""
        self.answers: Counter[int] = Counter()

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response | None:
        try:
            r = httpx.request(method, f"{self.url}{path}", timeout=30, **kw)
        except httpx.TransportError:
            return None  # the server is down (killed on purpose)
        self.answers[r.status_code] += 1
        return r

    def json(self, path: str) -> Any:
        r = self.call("GET", path)
        return r.json() if r is not None and r.status_code == 200 else None

    def submit(self, cmd: list[str], **spec: Any) -> str:
        r = self.call("POST", "/api/runs", json={"command": cmd, "retry_delay_s": 0.2, **spec})
        assert r is not None and r.status_code == 201, r and r.text
        return str(r.json()["id"])


def _logs(run_dir: str) -> list[Path]:
    return sorted((Path(run_dir) / "logs").glob("*.log"))


def _ours(run_ids: set[str]) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("RUNYARD_RUN_ID") in run_ids:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_chaos(tmp_path: Path, sqlite_template: Path) -> None:
    began = time.monotonic()
    db = tmp_path / "runyard.db"
    shutil.copyfile(sqlite_template, db)
    api = Api()
    logs: list[str] = []
    with tmpfs(tmp_path / "home", "16m") as home:
        env = {
            "RUNYARD_DATABASE_URL": f"sqlite:///{db}",
            "RUNYARD_DB_BUSY_TIMEOUT_S": "0.5",
            "RUNYARD_FLUSH_TIMEOUT": "60",  # jobs wait out a server restart at exit
        }

        def start(port: int | None = None) -> ServerProcess:
            srv = ServerProcess(home, "--slots", "8", env=env, port=port).wait_ready(60)
            api.url = srv.url
            return srv

        def kill(srv: ServerProcess) -> None:
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            logs.append(srv.output())
            srv.stop()

        srv = start()
        port = srv.port
        runs = {
            "ok": api.submit(program("chaos_job.py", "ok", str(POINTS))),
            "resume": api.submit(program("chaos_job.py", "crash-resume", str(POINTS))),
            "crash": api.submit(["/bin/sh", "-c", "exit 1"], max_retries=1),
            "early": api.submit(program("early_stop.py")),
            "timeout": api.submit(program("sleeper.py", "600"), timeout_s=2, max_retries=0),
            "cancel": api.submit(
                program("sleeper.py", "600", "--ignore-term"), grace_s=1, max_retries=0
            ),
        }
        ids = set(runs.values())
        until(
            lambda: (api.json(f"/api/runs/{runs['cancel']}") or {}).get("status") == "running",
            timeout=90,
        )
        kill(srv)  # 1st SIGKILL, jobs running
        srv = start(port)
        filler = fill(home)  # the run dirs' disk is full: logs, spools, exit files
        time.sleep(FAULT_S)  # the fault lasts (a condition, not a wait for a state)
        filler.unlink()
        with sqlite_locked(db):  # another process holds the database
            busy = api.call("POST", "/api/runs", json={"experiment": "chaos"})
            time.sleep(FAULT_S)
        kill(srv)  # 2nd SIGKILL
        srv = start(port)
        cancel = api.call("POST", f"/api/runs/{runs['cancel']}/cancel")
        assert cancel is not None and cancel.status_code == 200, cancel and cancel.text
        terminal = {"completed", "failed", "cancelled"}
        for name, run_id in runs.items():
            until(
                timeout=90,
                check=lambda run_id=run_id: (
                    (api.json(f"/api/runs/{run_id}") or {}).get("status") in terminal
                ),
                what=f"{name} ended",
                state=lambda run_id=run_id: (
                    api.json(f"/api/runs/{run_id}"),
                    api.json(f"/api/runs/{run_id}/attempts"),
                ),
            )
        got = {name: api.json(f"/api/runs/{rid}") for name, rid in runs.items()}
        job_logs = {  # shown when a check below fails: the run dirs go with the tmpfs
            name: [f.read_text(errors="replace")[-2000:] for f in _logs(got[name]["run_dir"])]
            for name in ("ok", "resume")
        }
        attempts = {
            name: api.json(f"/api/runs/{rid}/attempts")["attempts"] for name, rid in runs.items()
        }
        points = {
            name: api.json(f"/api/runs/{runs[name]}/metrics")["metrics"]
            for name in ("ok", "resume")
        }
        until(lambda: not [p for p in _ours(ids) if p.status() != psutil.STATUS_ZOMBIE],
               timeout=90, what="no process of the jobs left")  # fmt: skip
        srv.proc.terminate()
        logs.append(srv.output())
        srv.stop()

    states = {name: (r["status"], len(attempts[name])) for name, r in got.items()}
    assert states == {
        "ok": ("completed", 1),
        "resume": ("completed", 2),
        "crash": ("failed", 2),
        "early": ("completed", 1),
        "timeout": ("failed", 1),
        "cancel": ("cancelled", 1),
    }, (attempts, job_logs)
    assert [a["status"] for a in attempts["resume"]] == ["failed", "succeeded"]
    assert attempts["timeout"][0]["status"] == "timed_out"
    assert got["early"]["early_stopped"] is True
    for name in ("ok", "resume"):  # every point exactly once, in order
        assert points[name]["loss"]["steps"] == list(range(POINTS)), (
            name,
            got[name],
            job_logs[name],
        )
        assert points[name]["step_copy"]["values"] == [float(s) for s in range(POINTS)], name
    assert busy is None or busy.status_code in (201, 503)
    assert api.answers[500] == 0, api.answers
    text = "\n".join(logs)
    assert "Traceback" not in text and "a bug in runyard" not in text, text[-3000:]
    sys.stdout.write(
        f"\nchaos: {len(runs)} jobs, 2 server SIGKILLs, disk full {FAULT_S:g} s, database "
        f"locked {FAULT_S:g} s; answers {dict(sorted(api.answers.items()))}; "
        f"wall {time.monotonic() - began:.1f} s\n"
    )
