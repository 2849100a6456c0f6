"""The supervisor's exit file on a full disk: kept in memory and told on the exit socket,
written once there is room, and never retried forever (a deleted run, an outcome told).

A real tmpfs filled to its last byte; the scheduler's own reader (`_ask`) asks the shim.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from runyard.runner import shim
from runyard.runner.local import _ask
from tests._faults import fill, tmpfs
from tests._wait import until

OUTCOME = {"exit_code": 3, "signal": None, "timed_out": False, "cancelled": False}


def _deliver_in_thread(path: Path, after_told_s: float = 600.0) -> tuple[threading.Thread, list]:  # type: ignore[type-arg]
    result: list[bool] = []
    thread = threading.Thread(
        target=lambda: result.append(shim.deliver(str(path), OUTCOME, after_told_s)), daemon=True
    )
    thread.start()
    return thread, result


def _told(deadline_s: float = 10.0):  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        outcome = _ask(os.getpid())
        if outcome is not None:
            return outcome
        time.sleep(0.05)
    raise AssertionError("the outcome was never told on the exit socket")


def test_a_full_disk_holds_the_outcome_until_there_is_room(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        filler = fill(disk)
        path = disk / "attempt-1.exit.json"
        thread, result = _deliver_in_thread(path)
        assert _told().exit_code == 3  # the scheduler learns it while the disk is full
        assert not path.exists()  # nothing half-made where the scheduler reads it
        # and no temp file left: each retry makes one and removes it when the write fails,
        # so it is looked for between retries, not at an instant that may fall inside one
        until(lambda: not list(disk.glob("*.tmp")), timeout=10, what="no temp file left")
        filler.unlink()
        thread.join(30)
        assert result == [True]
        assert json.loads(path.read_text())["exit_code"] == 3


def test_once_told_the_outcome_is_not_retried_forever(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "disk", "1m") as disk:
        fill(disk)
        thread, result = _deliver_in_thread(disk / "attempt-1.exit.json", after_told_s=0.5)
        _told()
        thread.join(30)
        assert result == [False]  # given up: the store has it from the socket


def test_a_deleted_run_folder_ends_the_retries_at_once(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "attempt-1.exit.json"
    started = time.monotonic()
    assert shim.deliver(str(path), OUTCOME) is False
    assert time.monotonic() - started < 60  # no backoff loop (a bound, not a timing claim)
