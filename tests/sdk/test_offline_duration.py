"""A synced offline run keeps its real start, end and duration (issue 14, item 5)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

import runyard
from tests.conftest import ServerProcess
from tests.sdk.conftest import closed_url, get, poll, sync


def test_a_synced_offline_run_keeps_its_real_duration(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_URL", closed_url())
    began = time.time()
    run = runyard.init(experiment="laptop")
    run.log({"loss": 1.0}, step=0)
    run.finish()
    ended = time.time()
    assert run.offline
    server = ServerProcess(tmp_path / "home").wait_ready(timeout=120)
    try:
        up = time.time()  # the server did not exist while the run ran
        done = sync(server.url, workdir, "runyard-offline")
        assert done.returncode == 0, done.stderr
        synced = poll(
            lambda: (r := get(server.url, f"/api/runs/{run.id}"))["status"] == "completed" and r
        )
        summary = get(server.url, f"/api/runs/{run.id}/summary")
        items = get(server.url, f"/api/runs/{run.id}/checklist")["items"]
    finally:
        server.stop()
    started_at = datetime.fromisoformat(synced["started_at"]).timestamp()
    ended_at = datetime.fromisoformat(synced["ended_at"]).timestamp()
    assert began - 0.01 <= started_at <= ended_at <= ended + 0.01  # the laptop's own times
    assert ended_at < up  # before the server even existed, let alone the sync
    assert summary["duration_s"] == pytest.approx(ended_at - started_at, abs=0.01)
    assert "logs ready" not in [i["name"] for i in items]  # the SDK alone: no log of ours
