"""Runs never stay running with no process, and a slot is freed only when the end is known.

Real faults: run dirs on a tmpfs filled to the last byte (the shim cannot write its exit
file), a shim SIGKILLed while its job goes on.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests._faults import fill, tmpfs
from tests._live import serve
from tests._wait import until as _until
from tests.runner.conftest import program


@pytest.fixture
def one_slot(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[httpx.Client, Path]]:
    """A server with one CPU slot whose run dirs are on a small tmpfs (the DB is not)."""
    db = tmp_path / "runyard.db"
    shutil.copyfile(sqlite_template, db)
    with tmpfs(tmp_path / "home", "4m") as home:
        settings = Settings(home=home, database_url=f"sqlite:///{db}", slots=1, gpus=0)
        store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
        with serve(create_app(settings, store)) as url, httpx.Client(base_url=url) as client:
            yield client, home
        store.close()


def _submit(client: httpx.Client, cmd: list[str], **spec: object) -> dict:
    r = client.post("/api/runs", json={"command": cmd, "max_retries": 0, **spec})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _attempts(client: httpx.Client, run_id: str) -> list[dict]:
    return list(client.get(f"/api/runs/{run_id}/attempts").json()["attempts"])


def test_exit_code_survives_a_full_disk_and_the_slot_waits_for_it(
    one_slot: tuple[httpx.Client, Path],
) -> None:
    client, home = one_slot
    gate = home.parent / "gate"  # not on the tmpfs: the job ends when the test says so
    first = _submit(
        client, ["/bin/sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.05; done; exit 3"]
    )
    second = _submit(client, ["/bin/sh", "-c", "exit 0"])
    _until(lambda: client.get(f"/api/runs/{first['id']}").json()["status"] == "running")
    filler = fill(home)
    gate.touch()
    _until(lambda: client.get(f"/api/runs/{first['id']}").json()["status"] == "failed")
    exit_file = Path(first["run_dir"]) / "logs" / "attempt-1.exit.json"
    assert not exit_file.exists()  # the shim told the server from memory
    (attempt,) = _attempts(client, first["id"])
    assert (attempt["status"], attempt["exit_code"]) == ("failed", 3)
    _until(lambda: client.get(f"/api/runs/{second['id']}").json()["status"] == "completed")
    (later,) = _attempts(client, second["id"])
    assert later["started_at"] >= attempt["ended_at"]  # one slot: freed only once recorded
    shims = [attempt["pid"], later["pid"]]
    assert all(psutil.pid_exists(p) for p in shims)  # they hold their outcome, retrying
    filler.unlink()
    _until(exit_file.exists)  # space came back: the shim wrote its file, then ended
    _until(lambda: not any(_alive(p) for p in shims))
    assert '"exit_code": 3' in exit_file.read_text()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_job_without_its_shim_runs_on_and_ends_lost_when_gone(
    one_slot: tuple[httpx.Client, Path],
) -> None:
    client, _home = one_slot
    run = _submit(client, program("sleeper.py", "600"))
    _until(lambda: client.get(f"/api/runs/{run['id']}").json()["status"] == "running")
    (attempt,) = _attempts(client, run["id"])
    shim = psutil.Process(attempt["pid"])
    # the job once it runs its program: killed between fork and exec, the shim would leave
    # a child with the shim's environment, which no restart could tell for the job's
    job = _until(lambda: [c for c in shim.children() if "sleeper.py" in " ".join(c.cmdline())])[0]
    shim.kill()
    _until(lambda: not _alive(shim.pid))
    waiter = _submit(client, ["/bin/sh", "-c", "exit 0"])
    # the condition lasts past a safety poll: the job still runs, so the run does too
    time.sleep(6.5)
    assert client.get(f"/api/runs/{run['id']}").json()["status"] == "running"
    assert client.get(f"/api/runs/{waiter['id']}").json()["status"] == "queued"  # slot held
    os.killpg(job.pid, signal.SIGKILL)
    done = _until(
        lambda: (r := client.get(f"/api/runs/{run['id']}").json())["status"] == "failed" and r
    )
    (ended,) = _attempts(client, run["id"])
    assert ended["status"] == "lost" and "vanished" in ended["reason"]
    assert "vanished" in done["reason"]
    _until(lambda: client.get(f"/api/runs/{waiter['id']}").json()["status"] == "completed")
