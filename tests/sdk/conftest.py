"""Helpers of the SDK tests: polling with a deadline, the test programs, the REST reads."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests._postgres import free_port
from tests.conftest import ServerProcess

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
T = TypeVar("T")


def poll(fn: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """fn() until it returns something truthy; its last value is in the error otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout} s (last: {value!r})")
        time.sleep(0.05)


def closed_url() -> str:
    """An address where nothing listens: the SDK must fall back to offline at once."""
    return f"http://127.0.0.1:{free_port()}"


def script_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    return {**env, "RUNYARD_URL": url, "PYTHONUNBUFFERED": "1", **extra}


def start_program(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(PROGRAMS / "sdk_train.py"), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result_of(proc: subprocess.Popen[str], timeout: float = 60.0) -> dict[str, Any]:
    """Wait for the program; its last stdout line is its JSON report."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-2000:]}\n{err[-4000:]}"
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def run_program(args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    return result_of(start_program(args, cwd, env))


def get(url: str, path: str, **params: Any) -> Any:
    r = httpx.get(f"{url}{path}", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def series(url: str, run_id: str) -> dict[str, dict[str, list[Any]]]:
    data: dict[str, dict[str, list[Any]]] = get(url, f"/api/runs/{run_id}/metrics")["metrics"]
    return data


def sync(url: str, cwd: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard", "sync", *paths],
        cwd=cwd,
        env=script_env(url),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cwd of a run: runyard-offline/ and runyard-runs/ land here."""
    path = tmp_path / "work"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for a module's in-process tests: each makes its own runs, so they can share."""
    srv = ServerProcess(tmp_path_factory.mktemp("shared") / "home").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def online(
    shared_server: ServerProcess, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> ServerProcess:
    """In-process SDK runs pointed at a live server."""
    monkeypatch.setenv("RUNYARD_URL", shared_server.url)
    monkeypatch.setenv("RUNYARD_FLUSH_TIMEOUT", "10")
    return shared_server


def wait_output(proc: subprocess.Popen[str], text: str, timeout: float = 60.0) -> str:
    """Read the program's stdout (unbuffered, from the fd) until ``text`` shows up."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise TimeoutError(f"{text!r} not printed (exit {proc.poll()}): {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            seen = seen[-4096:] + os.read(fd, 65536)
    return seen.decode(errors="replace")
