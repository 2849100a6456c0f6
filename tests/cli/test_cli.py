"""The CLI against a real `runyard server` subprocess on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "runyard", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _post_run(url: str, headers: dict[str, str] | None = None, **body: object) -> dict:
    r = httpx.post(f"{url}/api/runs", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    return r.json()


def test_ls_and_show(server: ServerProcess) -> None:
    env = {"RUNYARD_URL": server.url}
    empty = cli("ls", "--json", env=env)
    assert empty.returncode == 0, empty.stderr
    assert json.loads(empty.stdout)["runs"] == []
    run = _post_run(server.url, name="resnet-a", experiment="vision", params={"lr": 0.1})
    httpx.post(
        f"{server.url}/api/runs/{run['id']}/metrics",
        json={"metrics": {"val/acc": {"steps": [1], "values": [0.93]}}},
    ).raise_for_status()
    listed = json.loads(cli("ls", "--json", "-e", "vision", env=env).stdout)["runs"]
    assert [r["id"] for r in listed] == [run["id"]]
    table = cli("ls", env={**env, "COLUMNS": "200"})
    assert table.returncode == 0
    assert run["id"] in table.stdout and "resnet-a" in table.stdout
    shown = cli("show", run["id"], env={**env, "COLUMNS": "200"})
    assert shown.returncode == 0
    assert "lr" in shown.stdout and "val/acc" in shown.stdout and "0.93" in shown.stdout
    assert json.loads(cli("show", run["id"], "--json", env=env).stdout)["params"] == {"lr": 0.1}
    filtered = cli("ls", "--json", "-f", "metrics.val/acc > 0.99", env=env)
    assert json.loads(filtered.stdout)["runs"] == []


def test_errors_are_one_line_with_exit_1(server: ServerProcess) -> None:
    missing = cli("show", "nope", env={"RUNYARD_URL": server.url})
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == ["runyard: no run 'nope' (HTTP 404)"]
    bad = cli("ls", "-o", "bogus", env={"RUNYARD_URL": server.url})
    assert bad.returncode == 1 and "unknown order_by key" in bad.stderr
    down = cli("ls", env={"RUNYARD_URL": "http://127.0.0.1:9"})
    assert down.returncode == 1
    assert len(down.stderr.strip().splitlines()) == 1 and "cannot reach" in down.stderr


def test_usage_errors_exit_2() -> None:
    assert cli("ls", "--limit", "0").returncode == 2
    assert cli("no-such-command").returncode == 2
    assert cli("show").returncode == 2


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_server_refuses_a_public_address_without_a_token(tmp_path: Path, host: str) -> None:
    done = cli("server", "--host", host, "--port", "0", env={"RUNYARD_HOME": str(tmp_path)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "without a token" in lines[0]
    assert not (tmp_path / "runyard.db").exists()  # refused before touching anything


def test_token_protects_a_real_server(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "home", env={"RUNYARD_TOKEN": "t0ken"}).wait_ready()
    try:
        assert httpx.get(f"{srv.url}/api/runs").status_code == 401
        _post_run(srv.url, headers={"Authorization": "Bearer t0ken"}, name="secret-run")
        without = cli("ls", env={"RUNYARD_URL": srv.url})
        assert without.returncode == 1 and "bearer token" in without.stderr
        ok = cli("ls", "--json", env={"RUNYARD_URL": srv.url, "RUNYARD_TOKEN": "t0ken"})
        assert [r["name"] for r in json.loads(ok.stdout)["runs"]] == ["secret-run"]
    finally:
        srv.stop()


def test_data_survives_a_server_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = ServerProcess(home).wait_ready()
    try:
        run = _post_run(first.url, name="keep-me")
    finally:
        first.stop()
    second = ServerProcess(home).wait_ready()
    try:
        assert httpx.get(f"{second.url}/api/runs/{run['id']}").json()["name"] == "keep-me"
    finally:
        second.stop()
    assert (home / "runyard.db").exists()


def test_db_upgrade(tmp_path: Path) -> None:
    env = {"RUNYARD_HOME": str(tmp_path)}
    first = cli("db", "upgrade", env=env)
    assert first.returncode == 0 and "upgraded schema from empty" in first.stdout
    assert f"using the store at sqlite:///{tmp_path / 'runyard.db'}" in first.stderr  # which one
    again = cli("db", "upgrade", env=env)
    assert again.returncode == 0 and "schema is current" in again.stdout


@pytest.mark.postgres
def test_db_upgrade_on_postgresql(postgres_url: str) -> None:
    done = cli("db", "upgrade", env={"RUNYARD_DATABASE_URL": postgres_url})
    assert done.returncode == 0 and "schema is current" in done.stdout


def test_version() -> None:
    from runyard import __version__

    assert cli("--version").stdout.strip() == __version__
