"""The server dies (SIGKILL) while jobs run; the next server re-adopts what still runs."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psutil

from runyard.runner.backend import Handle
from runyard.runner.local import _is_ours
from tests.conftest import ServerProcess
from tests.runner.conftest import program


def _wait(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _run(url: str, run_id: str) -> dict:
    return httpx.get(f"{url}/api/runs/{run_id}").json()


def _attempts(url: str, run_id: str) -> list[dict]:
    return httpx.get(f"{url}/api/runs/{run_id}/attempts").json()["attempts"]


def test_jobs_outlive_a_killed_server_and_are_readopted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = ServerProcess(home, "--slots", "8").wait_ready()
    url = first.url

    def submit(cmd: list[str], **spec: object) -> str:
        r = httpx.post(f"{url}/api/runs", json={"command": cmd, "retry_delay_s": 0.1, **spec})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    try:
        survivor = submit(program("sleeper.py", "6"))
        finisher = submit(["/bin/sh", "-c", "echo started; sleep 1.5; exit 3"], max_retries=0)
        victim = submit(program("sleeper.py", "600"), max_retries=1)
        flaky_ok = submit(program("sleeper.py", "4"))
        for rid in (survivor, finisher, victim, flaky_ok):
            _wait(lambda rid=rid: _run(url, rid)["status"] == "running")
        shim_pids = {rid: _attempts(url, rid)[0]["pid"] for rid in (survivor, victim)}
    finally:
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        first.stop()
    # while nobody watches: `finisher` exits 3 on its own, `victim` vanishes without an exit file
    victim_shim = psutil.Process(shim_pids[victim])
    for child in victim_shim.children(recursive=True):
        child.kill()
    victim_shim.kill()
    finisher_exit = Path(_run_dir(home, finisher)) / "logs" / "attempt-1.exit.json"
    _wait(finisher_exit.exists)

    second = ServerProcess(home, "--slots", "8", port=first.port).wait_ready()
    try:
        assert _run(url, survivor)["status"] == "running"  # re-adopted, not restarted
        done = _wait(lambda: (r := _run(url, finisher))["status"] == "failed" and r)
        (attempt,) = _attempts(url, finisher)
        assert (attempt["status"], attempt["exit_code"]) == ("failed", 3)  # its true exit status
        assert "exited 3" in done["reason"]
        _wait(lambda: len(_attempts(url, victim)) == 2)
        lost, retry = _attempts(url, victim)
        assert lost["status"] == "lost" and retry["status"] in ("starting", "running")
        for rid in (survivor, flaky_ok):
            _wait(lambda rid=rid: _run(url, rid)["status"] == "completed")
            assert _run(url, rid)["attempt_count"] == 1  # nothing ran twice
        httpx.post(f"{url}/api/runs/{victim}/cancel")
        _wait(lambda: _run(url, victim)["status"] == "cancelled")
    finally:
        second.stop()


def _run_dir(home: Path, run_id: str) -> str:
    return str(home / "runs" / run_id)


def test_a_pid_whose_start_time_differs_is_not_ours() -> None:
    me = psutil.Process(os.getpid())
    assert _is_ours(Handle(me.pid, me.create_time()))
    assert not _is_ours(Handle(me.pid, me.create_time() - 5.0))  # pid reused by another process
    assert not _is_ours(Handle(None, None))


def test_a_run_whose_attempt_ended_before_a_kill_is_decided_at_the_next_start(
    tmp_path: Path,
) -> None:
    """A server killed after an attempt's end was stored but before its run's left the run
    `running` with no live attempt, for good (the chaos test caught it, 2 runs in 5): the next
    start decides such runs from what their attempt recorded."""
    import sqlalchemy as sa

    home = tmp_path / "home"
    first = ServerProcess(home, "--slots", "4").wait_ready()
    url = first.url
    try:
        ok = httpx.post(f"{url}/api/runs", json={"command": ["/bin/true"]}).json()["id"]
        flaky = httpx.post(
            f"{url}/api/runs",
            json={"command": ["/bin/sh", "-c", "exit 3"], "max_retries": 1, "retry_delay_s": 0.1},
        ).json()["id"]
        _wait(lambda: _run(url, ok)["status"] == "completed")
        _wait(lambda: _run(url, flaky)["status"] == "failed")
    finally:
        first.stop()
    # The state the kill leaves: each run's last attempt ended, the runs still `running`.
    engine = sa.create_engine(f"sqlite:///{home / 'runyard.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE runs SET status = 'running', ended_at = NULL, summary = NULL, reason = NULL "
            "WHERE id IN (?, ?)",
            (ok, flaky),
        )
        # the flaky one as after its first attempt: one retry left
        conn.exec_driver_sql("DELETE FROM attempts WHERE run_id = ? AND number = 2", (flaky,))
    engine.dispose()
    second = ServerProcess(home, "--slots", "4").wait_ready()
    try:
        url = second.url
        done = _wait(lambda: _run(url, ok) if _run(url, ok)["status"] != "running" else None)
        assert done["status"] == "completed" and done["ended_at"] is not None, done
        assert [a["status"] for a in _attempts(url, ok)] == ["succeeded"]
        again = _wait(lambda: _run(url, flaky) if _run(url, flaky)["status"] == "failed" else None)
        assert [a["status"] for a in _attempts(url, flaky)] == ["failed", "failed"], again
        assert "no retries left" in again["reason"], again
    finally:
        second.stop()
