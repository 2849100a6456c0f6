"""The SDK on a full disk: points wait in memory (bounded), a checkpoint says it failed.

The run dir is on a real tmpfs filled to its last byte; the server's database is elsewhere.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import runyard
from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from tests._faults import fill, tmpfs
from tests._live import serve
from tests.sdk.conftest import get, series


@pytest.fixture
def full(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path, Store]]:
    """(server URL, the tmpfs holding the run dirs, the store)."""
    db = tmp_path / "runyard.db"
    shutil.copyfile(sqlite_template, db)
    with tmpfs(tmp_path / "home", "4m") as home:
        settings = Settings(home=home, database_url=f"sqlite:///{db}")
        store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
        with serve(create_app(settings, store)) as url:
            monkeypatch.setenv("RUNYARD_URL", url)
            monkeypatch.setenv("RUNYARD_FLUSH_TIMEOUT", "20")
            monkeypatch.chdir(tmp_path)
            yield url, home, store
        store.close()


def _log(run: runyard.Run, start: int, n: int) -> None:
    for step in range(start, start + n):
        run.log({"loss": float(step), "acc": step / 10}, step=step)
    run._transport.spool_now(20)  # the writer has met the full disk


def test_points_wait_in_memory_and_are_delivered_when_space_returns(
    full: tuple[str, Path, Store], capfd: pytest.CaptureFixture[str]
) -> None:
    url, home, _store = full
    run = runyard.init(experiment="disk")
    _log(run, 0, 100)
    filler = fill(home)
    for part in range(5):
        _log(run, 100 + part * 200, 200)
    assert run._transport._writer.held > 0  # kept in memory, not lost
    filler.unlink()
    run.finish()
    assert run.delivered is True and run.dropped_points == 0
    data = series(url, run.id)
    assert data["loss"]["steps"] == list(range(1100))  # every point, once, in order
    assert len(data["acc"]["steps"]) == 1100
    err = capfd.readouterr().err
    assert err.count("keeping points in memory") == 1  # one line, no traceback
    assert "Traceback" not in err


def test_points_held_when_the_run_ends_are_delivered_once_space_returns(
    full: tuple[str, Path, Store],
) -> None:
    url, home, _store = full
    run = runyard.init(experiment="disk")
    _log(run, 0, 100)
    filler = fill(home)
    _log(run, 100, 200)
    assert run._transport._writer.held > 0
    threading.Timer(1.0, filler.unlink).start()  # room again while the run is finishing
    run.finish()  # the training script ends while the disk is still full
    assert run.delivered is True and run.dropped_points == 0
    assert series(url, run.id)["loss"]["steps"] == list(range(300))


def test_past_the_bound_the_oldest_points_are_dropped_counted_and_reported(
    full: tuple[str, Path, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, home, store = full
    monkeypatch.setenv("RUNYARD_SDK_MAX_BUFFER_MB", "0.02")  # about 20 KB
    run = runyard.init(experiment="disk")
    filler = fill(home)
    for part in range(10):
        _log(run, part * 100, 100)
    filler.unlink()
    run.finish()
    dropped = run.dropped_points
    assert dropped > 0 and run.delivered is False
    steps = series(url, run.id)["loss"]["steps"]
    assert 2 * len(steps) == 2000 - dropped  # two keys per step
    assert steps == list(range(1000 - len(steps), 1000))  # the oldest went first
    events = [e for e in store.events.list(run.id) if e.kind == "points_dropped"]
    assert [e.data["count"] for e in events] == [dropped]
    assert get(url, f"/api/runs/{run.id}")["status"] == "completed"


def test_a_checkpoint_that_cannot_be_written_raises_and_leaves_no_record(
    full: tuple[str, Path, Store], tmp_path: Path
) -> None:
    url, home, _store = full
    src = tmp_path / "model.pt"  # not on the tmpfs: placing it means copying it
    src.write_bytes(b"w" * 300_000)
    run = runyard.init(experiment="disk")
    filler = fill(home)
    with pytest.raises(OSError) as info:
        run.checkpoint(src, step=1)
    assert info.value.errno == errno.ENOSPC
    assert not list((run.dir / "checkpoints").glob("*"))  # no half-made copy
    index = run.dir / "checkpoints.jsonl"
    assert not index.exists() or index.read_bytes() == b""
    filler.unlink()
    placed = run.checkpoint(src, step=2)
    run.finish()
    assert placed.read_bytes() == src.read_bytes()
    records = get(url, f"/api/runs/{run.id}/checkpoints")["checkpoints"]
    assert [(c["name"], c["step"]) for c in records] == [("model.pt", 2)]


def test_a_job_whose_log_is_on_the_full_disk_still_starts_and_logs(
    full: tuple[str, Path, Store], tmp_path: Path
) -> None:
    """A job's stderr is its log, on the run dir's disk: init's one line must not kill it
    (an attempt that dies of it is retried, and the chaos test counted one too many)."""
    url, home, _store = full
    first = runyard.init(experiment="disk")  # stands for the runner's run, its dir made
    run_id, run_dir = first.id, first.dir
    script = "import runyard\nwith runyard.init() as run:\n    run.log({'x': 1.0}, step=0)\n"
    filler = fill(home)
    with open("/dev/full", "w") as stderr:
        job = subprocess.Popen(
            [sys.executable, "-c", script],
            env={**os.environ, "RUNYARD_RUN_ID": run_id, "RUNYARD_RUN_DIR": str(run_dir)},
            stderr=stderr,
        )
        time.sleep(2)  # the fault lasts; its point waits in memory, even at exit
        filler.unlink()
        code = job.wait(60)
    assert code == 0
    assert series(url, run_id)["x"]["steps"] == [0]
    first.finish()
