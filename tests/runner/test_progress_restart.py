"""Progress only moves forward: a restarted server never reads a stale progress.json back."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.conftest import ServerProcess
from tests.runner.conftest import program

WATCH_AFTER_RESTART_S = 3.0  # three passes of the run-dir reader (poll_interval_s = 1)


def test_progress_never_decreases_across_a_server_restart(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "home"
    env = {"RUNYARD_DATABASE_URL": db_url}
    gate = tmp_path / "gate"
    seen: list[int | None] = []

    def epoch(url: str, run_id: str) -> int | None:
        value = httpx.get(f"{url}/api/runs/{run_id}/progress").json()["epoch"]
        seen.append(value)
        return value

    def until(check, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"not reached; progress seen: {seen}"
            time.sleep(0.05)

    first = ServerProcess(home, env=env).wait_ready()
    try:
        run = httpx.post(
            f"{first.url}/api/runs",
            json={"command": program("progress_then_wait.py", str(gate)), "max_retries": 0},
        ).json()
        until(lambda: epoch(first.url, run["id"]) == 5)
    finally:
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        first.stop()
    second = ServerProcess(home, env=env, port=first.port).wait_ready()
    try:
        url = second.url
        end = time.monotonic() + WATCH_AFTER_RESTART_S  # the stale file lies there meanwhile
        while time.monotonic() < end:
            epoch(url, run["id"])
            time.sleep(0.05)
        gate.touch()
        until(lambda: epoch(url, run["id"]) == 7)  # a newer progress.json is still read
        (tmp_path / "done").touch()
        until(lambda: httpx.get(f"{url}/api/runs/{run['id']}").json()["status"] == "completed")
        epoch(url, run["id"])
    finally:
        second.stop()
    numbers = [e for e in seen if e is not None]
    assert numbers == sorted(numbers), seen
    assert numbers[-1] == 7 and 2 not in numbers[numbers.index(5) :]
