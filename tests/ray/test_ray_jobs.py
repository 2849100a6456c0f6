"""Jobs on a real Ray cluster: they complete with their logs, retry and resume, time out
and are cancelled (the whole Ray job ends), and the cluster's size bounds what is accepted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.ray._cluster import ADDRESS, RayCluster
from tests.ray.conftest import Api, kill_server, ray_server, wait_for
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

    cluster = httpx.get(f"{api.url}/api/system").json()["cluster"]
    assert (cluster["reachable"], len(cluster["nodes"]), cluster["cpus"]) == (True, 2, 2)
    assert sorted(n["head"] for n in cluster["nodes"]) == [False, True]

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
    api.until(polite, "running")  # seen running on Ray: a process to end
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
    # SIGTERM ignored, so SIGKILL after the grace time: long before the 600 s sleep ends
    # (the slack is wide: the attempt's clock starts at submission, and under load Ray may
    # take tens of seconds to set a job up before it runs)
    assert at(timed_out["ended_at"]) - at(timed_out["started_at"]) < 4 + 1 + 90
    assert "started" in log_of(run, 1) and "done" not in log_of(run, 1)


NOTE_START = 'echo "attempt $RUNYARD_ATTEMPT" >> "$RUNYARD_RUN_DIR/starts"; echo started'


def gated(flag: Path) -> list[str]:
    """A job that notes each start in its run dir, then runs until `flag` exists."""
    script = f'{NOTE_START}; while [ ! -e "{flag}" ]; do sleep 0.2; done; echo done'
    return ["/bin/sh", "-c", script]


def began(api: Api, run_id: str, attempt: int = 1) -> bool:
    """Whether the job's `attempt` has started: it noted so in its run dir (the disk is
    shared). Its log says so too, but Ray tails a job's log in steps of a second or two."""
    starts = Path(api.run(run_id)["run_dir"]) / "starts"
    return starts.exists() and f"attempt {attempt}\n" in starts.read_text()


def test_a_restarted_server_readopts_and_reads_what_ended_meanwhile(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    home = tmp_path / "home"
    first = ray_server(home)
    api = Api(first.url)
    flag = tmp_path / "go"
    try:
        survivor = api.submit(gated(flag), max_retries=0)
        finisher = api.submit(["/bin/sh", "-c", f"{NOTE_START}; sleep 1; exit 3"], max_retries=0)
        for rid in (survivor, finisher):
            wait_for(lambda rid=rid: began(api, rid), what=f"{rid} started")
    finally:
        kill_server(first)
    wait_for(lambda: ray_status(f"{finisher}-1") == "FAILED", what="finisher ended on Ray")
    second = ray_server(home, port=first.port)
    try:
        assert api.run(survivor)["status"] == "running"  # re-adopted, not restarted
        done = api.until(finisher, "failed", "completed")
        (attempt,) = api.attempts(finisher)
        assert (attempt["status"], attempt["exit_code"]) == ("failed", 3), done
        flag.touch()
        run = api.until(survivor, "completed", "failed")
        assert run["status"] == "completed" and run["attempt_count"] == 1, run
        assert (Path(run["run_dir"]) / "starts").read_text() == "attempt 1\n"
        assert "done" in log_of(run, 1)
    finally:
        second.stop()
        ray_cluster.stop_all_jobs()
