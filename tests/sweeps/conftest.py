"""Sweep fixtures: a real server in a thread (scheduler and sweep controller included) over
SQLite (the runner's `jobs`) or either database (`sweep_jobs`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.config import Settings
from tests._postgres import free_port
from tests.runner.conftest import LiveClient, jobs, live_server, wait_for  # noqa: F401


@pytest.fixture
def sweep_jobs(tmp_path: Path, db_url: str) -> Iterator[LiveClient]:
    port = free_port()
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, slots=4, url=f"http://127.0.0.1:{port}"
    )
    with live_server(settings) as client:
        yield client
