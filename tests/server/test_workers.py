"""`runyard server --workers 2`: the leader is SIGKILLed while jobs and a sweep run and a
client reads the event stream; the other worker takes over, the jobs end as they should, the
sweep completes, and the stream goes on with no gap and no duplicate, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
import pytest

from runyard.store import Store
from tests._sse import events
from tests.cli.test_cli import cli
from tests.conftest import ServerProcess, _truncate_all
from tests.runner.conftest import program
from tests.sweeps.test_sweeps_api import ARGS, _body

pytestmark = pytest.mark.slow
T = TypeVar("T")
STARTUP_S = 180.0


def _wait(check: Callable[[], T], timeout: float = STARTUP_S) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'runyard.db'}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


class Reader:
    """An SSE client that reconnects with Last-Event-ID whenever its connection drops."""

    def __init__(self, url: str):
        self.url = url
        self.got: list[tuple[int, str, str | None, Any]] = []
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            headers = {"Last-Event-ID": str(self.got[-1][0])} if self.got else {}
            params = {} if self.got else {"after": "0"}
            try:
                with httpx.stream(
                    "GET", f"{self.url}/api/events", params=params, headers=headers, timeout=5
                ) as response:
                    self.connections += 1
                    for event in events(response):
                        if self._stop.is_set():
                            return
                        if event.id is not None:
                            run = event.data.get("run_id") if isinstance(event.data, dict) else None
                            self.got.append((event.id, event.event, run, event.data))
            except httpx.TransportError:
                time.sleep(0.05)

    def ended(self, run_id: str) -> bool:
        ends = ("completed", "failed", "cancelled")
        return any(
            kind == "status" and run == run_id and data.get("status") in ends
            for _, kind, run, data in self.got
        )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _leader(home: Path, not_pid: int | None = None) -> int:
    def alive_leader() -> int | None:
        try:
            pid = int((home / "leader.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if pid != not_pid and psutil.pid_exists(pid) else None

    return _wait(alive_leader)


def test_a_killed_leader_hands_over_and_the_stream_goes_on(tmp_path: Path, database: str) -> None:
    home = tmp_path / "home"
    env = {"RUNYARD_DATABASE_URL": database}
    srv = ServerProcess(home, "--workers", "2", "--slots", "8", env=env)
    url = srv.url
    reader: Reader | None = None

    def submit(cmd: list[str], **spec: object) -> str:
        r = httpx.post(f"{url}/api/runs", json={"command": cmd, **spec})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def run(run_id: str) -> dict[str, Any]:
        return dict(httpx.get(f"{url}/api/runs/{run_id}").json())

    try:
        srv.wait_ready(timeout=STARTUP_S)  # N processes import the app on a busy machine
        first = _leader(home)
        reader = Reader(url)
        survivor = submit(program("sleeper.py", "8"))
        failer = submit(["/bin/sh", "-c", "sleep 6; exit 3"], max_retries=0)
        body = _body(max_trials=2, parallel=1, pruner=None, sampler="random")
        body["command"] = program("sweep_trial.py", *ARGS, "--steps", "6", "--sleep", "0.3")
        made = httpx.post(f"{url}/api/sweeps", json=body)
        assert made.status_code == 201, made.text
        sweep_id = made.json()["id"]
        for rid in (survivor, failer):  # the leader dies while they run (or as they end)
            _wait(lambda rid=rid: run(rid)["status"] in ("running", "completed", "failed"))
        os.kill(first, signal.SIGKILL)
        second = _leader(home, not_pid=first)  # another worker took the lock
        assert second != first
        late = submit(program("sleeper.py", "0.5"))  # scheduled by the new leader
        victim = submit(program("sleeper.py", "600"))
        _wait(lambda: run(victim)["status"] == "running")
        assert httpx.post(f"{url}/api/runs/{victim}/cancel").status_code == 200
        _wait(lambda: run(survivor)["status"] == "completed")
        assert run(survivor)["attempt_count"] == 1  # re-adopted, not run again
        _wait(lambda: run(failer)["status"] == "failed")
        attempts = httpx.get(f"{url}/api/runs/{failer}/attempts").json()["attempts"]
        assert [(a["status"], a["exit_code"]) for a in attempts] == [("failed", 3)]
        _wait(lambda: run(late)["status"] == "completed")
        _wait(lambda: run(victim)["status"] == "cancelled")
        try:
            sweep = _wait(lambda: (d := httpx.get(f"{url}/api/sweeps/{sweep_id}").json())["status"]
                          != "running" and d, timeout=120)  # fmt: skip
        except AssertionError:  # say where it stands (within pytest's 300 s)
            now = httpx.get(f"{url}/api/sweeps/{sweep_id}").json()
            said = f"the sweep is still running: {now}\n{srv.output()[-6000:]}"
            raise AssertionError(said) from None
        assert sweep["status"] == "completed", sweep
        assert [t["trial"] for t in sweep["trials"]] == [0, 1]  # none lost, none twice
        _wait(lambda: all(reader.ended(r) for r in (survivor, failer, late, victim)))
        reader.stop()
        got = [event_id for event_id, *_ in reader.got]
        assert got == sorted(set(got))  # in order, no duplicate
        store = Store.open(database, home / "runs", migrate=False)
        try:
            kept = [e.id for e in store.events.list(after=0, limit=100_000) if e.id <= got[-1]]
        finally:
            store.close()
        assert got == kept  # no gap: every event committed, across the takeover
        # Last-Event-ID resumes exactly, whichever worker answers
        for cut in (len(got) // 3, len(got) // 2, len(got) - 5):
            with httpx.stream(
                "GET", f"{url}/api/events", headers={"Last-Event-ID": str(got[cut])}, timeout=10
            ) as response:
                resumed = []
                for event in events(response):
                    if event.id is not None:
                        resumed.append(event.id)
                    if len(resumed) == 4:
                        break
            assert resumed == got[cut + 1 : cut + 5]
    finally:
        if reader is not None:
            reader.stop()
        srv.stop()

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    _wait(lambda: gone(second), timeout=30)  # no worker outlives the server


def test_bad_worker_counts_are_refused_in_one_line(tmp_path: Path) -> None:
    for bad in ("0", "9"):
        done = cli("server", "--workers", bad, env={"RUNYARD_HOME": str(tmp_path)})
        assert done.returncode == 2
        assert done.stderr.strip() == f"runyard: --workers must be between 1 and 8, not {bad}"
