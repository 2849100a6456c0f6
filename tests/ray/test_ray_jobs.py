"""Jobs on a real Ray cluster: they complete with their logs, retry and resume, time out
and are cancelled (the whole Ray job ends), and the cluster's size bounds what is accepted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.ray._cluster import ADDRESS
from tests.ray.conftest import Api, wait_for
from tests.runner.conftest import program

pytestmark = pytest.mark.ray


def ray_status(submission_id: str) -> str:
    return str(httpx.get(f"{ADDRESS}/api/jobs/{submission_id}", timeout=10).json()["status"])


def at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def log_of(run: dict, attempt: int) -> str:
    path = Path(run["run_dir"]) / "logs" / f"attempt-{attempt}.log"
    return path.read_text() if path.exists() else ""


def test_a_job_completes_with_its_log_and_the_cluster_bounds_it(
    rayserver: ServerProcess, tmp_path: Path
) -> None:
    api = Api(rayserver.url)
    r = httpx.post(f"{api.url}/api/runs", json={"command": ["true"], "gpus": 3})
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "asks for 3 GPU(s)" in message
    assert f"the Ray cluster at {ADDRESS} has 2 node(s), 2 CPU(s) and 0 GPU(s)" in message

    rid = api.submit(
        ["/bin/sh", "-c", 'echo "hello from $RUNYARD_RUN_ID attempt $RUNYARD_ATTEMPT in $PWD"'],
        cwd=str(tmp_path),
    )
    run = api.until(rid, "completed", "failed")
    assert run["status"] == "completed", run
    (attempt,) = api.attempts(rid)
    assert attempt["backend"] == "ray"
    assert attempt["exit_code"] == 0
    assert f"hello from {rid} attempt 1 in {tmp_path}" in log_of(run, 1)
    assert ray_status(f"{rid}-1") == "SUCCEEDED"


def test_a_failing_job_retries_with_backoff_and_resumes(rayserver: ServerProcess) -> None:
    api = Api(rayserver.url)
    rid = api.submit(program("flaky.py", "1"), max_retries=2, retry_delay_s=0.5)
    run = api.until(rid, "completed", "failed", timeout=90)
    assert run["status"] == "completed", run
    first, second = api.attempts(rid)
    assert (first["status"], first["exit_code"]) == ("failed", 3)
    assert second["status"] == "succeeded"
    waited = at(second["started_at"]) - at(first["ended_at"])
    assert waited >= 0.45  # the retry waited its delay
    resumed = Path(run["run_dir"]) / "checkpoints" / "ckpt-1.pt"
    assert f"attempt 2 resume_from={resumed}" in log_of(run, 2)
    assert [ray_status(f"{rid}-{n}") for n in (1, 2)] == ["FAILED", "SUCCEEDED"]


def test_timeout_and_cancel_end_the_whole_ray_job(rayserver: ServerProcess) -> None:
    api = Api(rayserver.url)
    stubborn = api.submit(
        program("sleeper.py", "600", "--ignore-term"), timeout_s=4, grace_s=1, max_retries=0
    )
    polite = api.submit(program("sleeper.py", "600"), grace_s=2)
    wait_for(lambda: "started" in log_of(api.run(polite), 1), what="polite started")
    r = httpx.post(f"{api.url}/api/runs/{polite}/cancel")
    assert r.status_code == 200, r.text
    assert api.until(polite, "cancelled", "failed", "completed")["status"] == "cancelled"
    (cancelled,) = api.attempts(polite)
    assert cancelled["status"] == "cancelled"
    assert ray_status(f"{polite}-1") == "STOPPED"

    run = api.until(stubborn, "failed", "completed", "cancelled", timeout=60)
    (timed_out,) = api.attempts(stubborn)
    assert timed_out["status"] == "timed_out", (run, timed_out)
    assert ray_status(f"{stubborn}-1") == "STOPPED"
    # SIGTERM ignored, so SIGKILL after the grace time: well before the 600 s sleep
    assert at(timed_out["ended_at"]) - at(timed_out["started_at"]) < 4 + 1 + 30
    assert "started" in log_of(run, 1) and "done" not in log_of(run, 1)
