"""`runyard submit` runs a command as the submitter's shell would (issue 14, item 1).

The server runs with a bare PATH (no `python` on it, no virtual environment), as `make demo`
starts it; the submitter's shell has the project's venv first on its PATH.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_cli import cli
from tests.conftest import ServerProcess

BARE = {"PATH": "/usr/bin:/bin", "VIRTUAL_ENV": "", "PYTHONPATH": ""}


@pytest.fixture
def bare_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {k: v for k, v in BARE.items() if v}
    srv = ServerProcess(tmp_path / "home", env=env)
    try:
        yield srv.wait_ready(timeout=120)  # this box is shared: a cold start may be slow
    finally:
        srv.stop()


def _wait(url: str, run_id: str, *want: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{url}/api/runs/{run_id}").json()
        if run["status"] in want:
            return run
        time.sleep(0.05)
    raise AssertionError(f"{run_id} never reached {want}: {run['status']} {run['reason']}")


def _venv_bin() -> str:
    return str(Path(sys.executable).parent)


def test_the_submitters_python_runs_the_job(bare_server: ServerProcess, tmp_path: Path) -> None:
    url = bare_server.url
    env_file = tmp_path / "job.env"
    env_file.write_text("# settings\nexport DATA_DIR='/data/my set'\nHF_TOKEN=hf_secret123\n")
    shell = {
        "RUNYARD_URL": url,
        "PATH": f"{_venv_bin()}:/usr/bin:/bin",
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
    }
    code = "import httpx, os; print('ok', os.environ['DATA_DIR'], os.environ['WANDB_API_KEY'])"
    done = cli(
        "submit", "--env-file", str(env_file), "--env", "WANDB_API_KEY=wk_777",
        "--env", "DB=postgresql://me:pw@db/x", "--", "python", "-c", code, env=shell,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    run = _wait(url, run_id, "completed", "failed")
    log = httpx.get(f"{url}/api/runs/{run_id}/logs").json()["text"]
    assert run["status"] == "completed", log
    assert "ok /data/my set wk_777" in log
    environment = run["environment"]
    # the absolute path of the submitter's `python` is stored and shown, not resolved further
    assert environment["executable"] == os.path.join(_venv_bin(), "python")
    assert environment["captured"]["PATH"].startswith(_venv_bin())
    assert environment["captured"]["VIRTUAL_ENV"] == shell["VIRTUAL_ENV"]
    assert environment["added"]["DATA_DIR"] == "/data/my set"
    assert environment["added"]["HF_TOKEN"] == "••••••"  # secrets-looking values are masked
    assert environment["added"]["WANDB_API_KEY"] == "••••••"
    assert environment["added"]["DB"] == "postgresql://me:••••••@db/x"
    shown = cli("show", run_id, env={**shell, "COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr
    assert os.path.join(_venv_bin(), "python") in shown.stdout
    assert "VIRTUAL_ENV" in shown.stdout and "your shell" in shown.stdout
    assert "hf_secret123" not in shown.stdout and "wk_777" not in shown.stdout


def test_cannot_start_fails_once_without_retries(bare_server: ServerProcess) -> None:
    url = bare_server.url
    shell = {"RUNYARD_URL": url, "PATH": f"{_venv_bin()}:/usr/bin:/bin"}
    # --clean-env: the server's bare environment, whose python has no httpx
    missing = cli(
        "submit", "--clean-env", "--retry-delay", "0", "--",
        "/usr/bin/python3", "-c", "import httpx", env=shell,
    )  # fmt: skip
    assert missing.returncode == 0, missing.stderr
    not_found = cli(
        "submit", "--retry-delay", "0", "--shell", "--", "no-such-tool-xyz --help", env=shell
    )
    assert not_found.returncode == 0, not_found.stderr
    for run_id, why in (
        (missing.stdout.strip(), "cannot start: No module named 'httpx'"),
        (not_found.stdout.strip(), "cannot start: "),
    ):
        run = _wait(url, run_id, "completed", "failed", "retrying")
        assert run["status"] == "failed", run
        assert run["reason"].startswith(why), run["reason"]
        assert "not retried" in run["reason"]
        (attempt,) = httpx.get(f"{url}/api/runs/{run_id}/attempts").json()["attempts"]
        assert attempt["reason"].startswith(why)
    clean = httpx.get(f"{url}/api/runs/{missing.stdout.strip()}").json()["environment"]
    assert clean["clean"] is True and clean["captured"] == {}
    not_found_log = httpx.get(f"{url}/api/runs/{not_found.stdout.strip()}/logs").json()["text"]
    assert "no-such-tool-xyz" in not_found_log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics-pattern", "loss (?P<loss>[\\d.]+"], "is not a valid regex"),
        (["--metrics-pattern", "loss ([\\d.]+)"], "has no metric group"),
        (["--checkpoints", "../elsewhere/*.pt"], "without '..'"),
        (["--checkpoints", "/tmp/*.pt"], "must be relative"),
        (["--resume-args", "--init_from=resume"], "--resume-args needs --checkpoints"),
        (["--goal", "val_loss:lowest"], "KEY:min or KEY:max"),
        (["--env-file", "/nonexistent/job.env"], "cannot be read"),
        (["--backend", "slurm"], "--backend must be local or ray, not 'slurm'"),
    ],
)
def test_bad_submissions_are_refused_with_one_line(
    server: ServerProcess, args: list[str], message: str
) -> None:
    env = {"RUNYARD_URL": server.url}
    done = cli("submit", *args, "--", "python", "-c", "pass", env=env)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert httpx.get(f"{server.url}/api/runs").json()["runs"] == []  # nothing created


def test_an_executable_missing_from_the_submitters_path_is_refused(server: ServerProcess) -> None:
    done = cli("submit", "--", "no-such-tool-xyz", env={"RUNYARD_URL": server.url})
    assert done.returncode == 2
    assert "cannot run 'no-such-tool-xyz': not found on your PATH" in done.stderr
    assert httpx.get(f"{server.url}/api/runs").json()["runs"] == []
