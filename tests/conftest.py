"""Fixtures: a real store (SQLite file, and PostgreSQL started for the session), the app, a server.

Store and API tests take `db_url`, parametrised over both databases. Set
RUNYARD_TEST_DATABASE_URL to use an existing PostgreSQL instead of starting one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from runyard.store.db import make_engine, upgrade
from runyard.store.tables import metadata
from tests._postgres import PostgresServer, free_port


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own RUNYARD_* variables must not leak into a test."""
    for name in list(os.environ):
        if name.startswith("RUNYARD_") and name != "RUNYARD_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    # Starlette's TestClient sends `Host: testserver`; the Host allow-list must admit it.
    monkeypatch.setenv("RUNYARD_ALLOWED_HOSTS", "testserver")
    # One process per server unless a test asks for more (tests/server/test_workers.py).
    monkeypatch.setenv("RUNYARD_WORKERS", "1")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: one migration per session, not per test."""
    path = tmp_path_factory.mktemp("template") / "runyard.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("RUNYARD_TEST_DATABASE_URL")
    if url:
        yield url
        return
    server = PostgresServer().start()
    try:
        engine = make_engine(server.url)
        upgrade(engine)
        engine.dispose()
        yield server.url
    finally:
        server.stop()


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "runyard.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    yield s
    s.close()


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings, store)) as c:
        yield c


class ServerProcess:
    """`runyard server` as a real subprocess on 127.0.0.1 and a free port.

    Its output goes to a file (`log_path`, beside its home), never to a pipe: a pipe nobody
    reads fills up at 64 KB and then blocks the server's next log line, and with it the
    whole event loop (a fuzzer's 500s did exactly that)."""

    _started = 0

    def __init__(
        self,
        home: Path,
        *args: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
        cwd: Path | None = None,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        ServerProcess._started += 1
        home.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = home.parent / f"server-{self.port}-{ServerProcess._started}.log"
        full_env = {**os.environ, "RUNYARD_HOME": str(home), **(env or {})}
        full_env.pop("RUNYARD_DATABASE_URL", None)
        full_env.pop("RUNYARD_TOKEN", None)
        full_env.update(env or {})
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "runyard", "server", "--port", str(self.port), *args],
                env=full_env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def output(self) -> str:
        """Everything the server has printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_line(self, needle: str, timeout: float = 60.0) -> str:
        """The first line of output that holds ``needle``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.output().splitlines():
                if needle in line:
                    return line
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"the server printed no line with {needle!r} in {timeout:g} s")

    def wait_ready(self, timeout: float = 60.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()  # a test that fails here has no server to stop: none is left running
        raise TimeoutError(f"server did not answer /api/health in {timeout:g} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "home").wait_ready()
    yield srv
    srv.stop()
