"""submit, logs -f, check, cancel, retry, watch and gc against a real server process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from runyard.store import Store
from tests.cli.test_cli import cli
from tests.conftest import ServerProcess
from tests.runner.conftest import program


def _status(url: str, run_id: str, *want: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{url}/api/runs/{run_id}").json()
        if run["status"] in want:
            return run
        time.sleep(0.05)
    raise AssertionError(f"{run_id} never reached {want}")


def test_submit_follow_check(server: ServerProcess, tmp_path: Path) -> None:
    env = {"RUNYARD_URL": server.url}
    script = (
        "for i in 1 2 3; do echo tick-$i; sleep 0.2; done; "
        "echo m > $RUNYARD_RUN_DIR/artifacts/model.pt"
    )
    done = cli(
        "submit", "-e", "cli", "-p", "lr=0.01", "-p", "opt=adam",
        "--expect", "model=artifacts/*.pt", "--expect", "scaler=artifacts/scaler.pkl",
        "--shell", "--", script, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["params"] == {"lr": 0.01, "opt": "adam"} and run["experiment"] == "cli"
    followed = cli("logs", "-f", run_id, env=env)
    assert followed.returncode == 0
    assert [ln for ln in followed.stdout.splitlines() if ln.startswith("tick")] == [
        "tick-1",
        "tick-2",
        "tick-3",
    ]
    _status(server.url, run_id, "completed")
    checked = cli("check", run_id, env={**env, "COLUMNS": "200"})
    assert checked.returncode == 1  # the scaler is missing
    assert "[✓] PASS model" in checked.stdout and "[ ] FAIL scaler" in checked.stdout
    as_json = json.loads(cli("check", run_id, "--json", env=env).stdout)
    api = httpx.get(f"{server.url}/api/runs/{run_id}/checklist").json()
    assert as_json == api  # the CLI prints what the API serves


def test_cancel_retry_watch(server: ServerProcess) -> None:
    env = {"RUNYARD_URL": server.url}
    run_id = cli(
        "submit", "--grace", "1", "--", *program("sleeper.py", "600"), env=env
    ).stdout.strip()
    _status(server.url, run_id, "running")
    watched = cli("watch", "--once", env={**env, "COLUMNS": "200"})
    assert watched.returncode == 0 and run_id in watched.stdout and "running" in watched.stdout
    assert cli("cancel", run_id, env=env).stdout.strip() in (
        f"{run_id} cancelling",
        f"{run_id} cancelled",
    )
    _status(server.url, run_id, "cancelled")
    again = cli("cancel", run_id, env=env)
    assert again.returncode == 1 and "nothing to cancel" in again.stderr
    assert cli("retry", run_id, env=env).returncode == 0
    _status(server.url, run_id, "running")
    cli("cancel", run_id, env=env)
    _status(server.url, run_id, "cancelled")
    assert httpx.get(f"{server.url}/api/runs/{run_id}").json()["attempt_count"] == 2


def test_bad_submissions_are_one_line_errors(server: ServerProcess) -> None:
    env = {"RUNYARD_URL": server.url}
    missing = cli("submit", "--", "no-such-binary-xyz", env=env)  # looked up on our PATH
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "not found on your PATH" in missing.stderr
    on_server = cli("submit", "--clean-env", "--", "no-such-binary-xyz", env=env)
    assert on_server.returncode == 1 and len(on_server.stderr.strip().splitlines()) == 1
    assert "no such executable" in on_server.stderr
    bad_param = cli("submit", "-p", "novalue", "--", "true", env=env)
    assert bad_param.returncode == 2 and "KEY=VALUE" in bad_param.stderr
    assert cli("submit", "--gpus", "-1", "--", "true", env=env).returncode == 2


def test_gc_lists_then_removes_dead_run_dirs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    srv = ServerProcess(home).wait_ready()
    env = {"RUNYARD_URL": srv.url, "RUNYARD_HOME": str(home)}
    try:
        dead = cli(
            "submit", "--max-retries", "0", "--shell", "--", "exit 1", env=env
        ).stdout.strip()
        kept = cli(
            "submit", "--max-retries", "0", "--shell", "--",
            "head -c 4096 /dev/zero > $RUNYARD_RUN_DIR/artifacts/big.bin; exit 1", env=env,
        ).stdout.strip()  # fmt: skip
        ok = cli("submit", "--", "true", env=env).stdout.strip()
        for rid in (dead, kept):
            _status(srv.url, rid, "failed")
        _status(srv.url, ok, "completed")
    finally:
        srv.stop()
    listed = cli("gc", env={**env, "COLUMNS": "250"})
    assert listed.returncode == 0 and dead in listed.stdout
    assert kept not in listed.stdout and ok not in listed.stdout
    assert (home / "runs" / dead).exists()
    removed = cli("gc", "--yes", env=env)
    assert removed.returncode == 0 and "removed 1 item" in removed.stdout
    assert not (home / "runs" / dead).exists() and (home / "runs" / kept).exists()


def test_rm_restore_archive_and_gc_empties_the_trash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    srv = ServerProcess(home).wait_ready()
    env = {"RUNYARD_URL": srv.url, "RUNYARD_HOME": str(home)}
    try:
        done = cli("submit", "-e", "old", "--shell", "--", "echo hi", env=env).stdout.strip()
        kept = cli("submit", "-e", "old", "--shell", "--", "echo hi", env=env).stdout.strip()
        live = cli("submit", "--", *program("sleeper.py", "600"), env=env).stdout.strip()
        for rid in (done, kept):
            _status(srv.url, rid, "completed")
        _status(srv.url, live, "running")
        refused = cli("rm", live, env=env)
        assert refused.returncode == 1 and "is running" in refused.stderr
        gone = cli("rm", done, kept, env=env)
        assert gone.returncode == 0, gone.stderr
        assert f"runyard restore {done}" in gone.stdout
        assert not (home / "runs" / done).exists()
        listed = cli("restore", env=env)
        assert done in listed.stdout and kept in listed.stdout
        back = cli("restore", kept, env=env)
        assert back.returncode == 0 and "restored" in back.stdout
        assert (home / "runs" / kept / "logs").is_dir()
        archived = cli("archive", "old", env=env)
        assert archived.returncode == 0 and "archived" in archived.stdout
        names = [e["name"] for e in httpx.get(f"{srv.url}/api/experiments").json()["experiments"]]
        assert "old" not in names
        assert cli("archive", "old", "--undo", env=env).returncode == 0
        assert cli("cancel", live, env=env).returncode == 0
        _status(srv.url, live, "cancelled")
    finally:
        srv.stop()
    waiting = cli("gc", env={**env, "COLUMNS": "250"})
    assert done not in waiting.stdout  # 30 days by default: not yet
    purged = cli("gc", "--yes", env={**env, "RUNYARD_TRASH_DAYS": "0", "COLUMNS": "250"})
    assert purged.returncode == 0 and done in purged.stdout
    assert not (home / "runs" / ".trash" / done).exists()
    store = Store.open(f"sqlite:///{home / 'runyard.db'}", home / "runs")
    try:
        assert store.trash.items() == []  # the row went with the folder
        assert store.runs.get(kept).status.value == "completed"
    finally:
        store.close()
