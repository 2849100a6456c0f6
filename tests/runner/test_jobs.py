"""Jobs run as real processes through shims, supervised by the scheduler thread."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from tests.runner.conftest import LiveClient, program, submit, wait_for, wait_status


def _log(client: LiveClient, run_id: str, attempt: int | None = None) -> str:
    params = {"attempt": attempt} if attempt else {}
    return str(client.get(f"/api/runs/{run_id}/logs", params=params).json()["text"])


def test_job_runs_to_completion_with_logs_and_env(jobs: LiveClient) -> None:
    run = submit(jobs, program("flaky.py", "0"), name="ok")
    assert run["status"] in ("queued", "starting", "running")
    done = wait_status(jobs, run["id"], "completed", "failed")
    assert done["status"] == "completed" and done["attempt_count"] == 1
    log = _log(jobs, run["id"])
    assert "attempt 1 resume_from=None" in log and "succeeded" in log
    (attempt,) = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert (attempt["status"], attempt["exit_code"], attempt["signal"]) == ("succeeded", 0, None)
    assert attempt["pid"] and attempt["started_at"] and attempt["ended_at"]
    exit_file = Path(done["run_dir"]) / "logs" / "attempt-1.exit.json"
    assert exit_file.is_file()


def test_string_command_runs_in_a_shell(jobs: LiveClient) -> None:
    run = submit(jobs, "echo hello-$((40+2)) && exit 0")
    wait_status(jobs, run["id"], "completed")
    assert "hello-42" in _log(jobs, run["id"])


def test_failures_retry_with_backoff_then_resume_from_last_good_checkpoint(
    jobs: LiveClient,
) -> None:
    run = submit(jobs, program("flaky.py", "2"), max_retries=3, retry_delay_s=0.05)
    done = wait_status(jobs, run["id"], "completed", "failed")
    assert done["status"] == "completed" and done["attempt_count"] == 3
    assert done["reason"] is None  # no stale "retrying in …" on a run that ended well
    attempts = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert [a["status"] for a in attempts] == ["failed", "failed", "succeeded"]
    assert attempts[0]["exit_code"] == 3 and "exited 3" in attempts[0]["reason"]
    ckpt = Path(done["run_dir"]) / "checkpoints" / "ckpt-2.pt"
    assert f"attempt 3 resume_from={ckpt}" in _log(jobs, run["id"], 3)
    assert f"resume_from={Path(done['run_dir']) / 'checkpoints' / 'ckpt-1.pt'}" in _log(
        jobs, run["id"], 2
    )


def test_corrupt_checkpoint_is_skipped_and_the_skip_logged(jobs: LiveClient) -> None:
    run = submit(jobs, program("flaky.py", "2", "--corrupt-last"), max_retries=2)
    done = wait_status(jobs, run["id"], "completed", "failed")
    good = Path(done["run_dir"]) / "checkpoints" / "ckpt-1.pt"
    assert f"attempt 3 resume_from={good}" in _log(jobs, run["id"], 3)
    store = jobs.app.state.store
    skips = [e for e in store.events.list(run["id"]) if e.kind == "resume_skip"]
    assert skips and "ckpt-2.pt" in skips[0].data["reason"]


def test_retries_run_out_and_the_run_fails(jobs: LiveClient) -> None:
    run = submit(jobs, program("flaky.py", "9"), max_retries=1)
    done = wait_status(jobs, run["id"], "failed")
    assert done["attempt_count"] == 2 and "no retries left" in done["reason"]


def test_retry_on_limits_what_is_retried(jobs: LiveClient) -> None:
    run = submit(jobs, program("flaky.py", "1"), max_retries=3, retry_on=["timed_out"])
    done = wait_status(jobs, run["id"], "failed")
    assert done["attempt_count"] == 1


def test_killed_by_signal(jobs: LiveClient) -> None:
    run = submit(jobs, program("suicide.py"), max_retries=0)
    wait_status(jobs, run["id"], "failed")
    (attempt,) = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert (attempt["status"], attempt["signal"], attempt["exit_code"]) == ("failed", 9, None)


def _group_gone(run_dir: str) -> bool:
    pid = int((Path(run_dir) / "child.pid").read_text())
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_timeout_kills_the_whole_group_after_grace(jobs: LiveClient) -> None:
    run = submit(
        jobs,
        program("sleeper.py", "600", "--children", "--ignore-term"),
        timeout_s=1.0,
        grace_s=0.5,
        max_retries=0,
    )
    started = time.monotonic()
    done = wait_status(jobs, run["id"], "failed", timeout=20)
    assert time.monotonic() - started < 1.0 + 0.5 + 3.0  # limit + grace + start and bookkeeping
    (attempt,) = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert attempt["status"] == "timed_out" and attempt["signal"] == 9
    assert "timed out" in _log(jobs, run["id"])
    wait_for(jobs, lambda: _group_gone(done["run_dir"]), timeout=5)


def test_cancel_running_job_gracefully(jobs: LiveClient) -> None:
    run = submit(jobs, program("sleeper.py", "600", "--children"), grace_s=5)
    wait_for(jobs, lambda: "started" in _log(jobs, run["id"]))
    r = jobs.post(f"/api/runs/{run['id']}/cancel")
    assert r.status_code == 200
    done = wait_status(jobs, run["id"], "cancelled", timeout=10)
    assert done["reason"] == "cancelled by request"
    (attempt,) = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert attempt["status"] == "cancelled" and attempt["signal"] == 15  # died of SIGTERM, in grace
    wait_for(jobs, lambda: _group_gone(done["run_dir"]), timeout=5)
    assert jobs.post(f"/api/runs/{run['id']}/cancel").status_code == 409


def test_cancel_with_rollback_removes_what_the_attempt_wrote(jobs: LiveClient) -> None:
    run = submit(
        jobs,
        ["/bin/sh", "-c", "echo w > $RUNYARD_RUN_DIR/artifacts/out.txt; echo started; sleep 600"],
    )
    wait_for(jobs, lambda: "started" in _log(jobs, run["id"]))
    out = Path(run["run_dir"]) / "artifacts" / "out.txt"
    assert out.exists()
    jobs.post(f"/api/runs/{run['id']}/cancel", params={"rollback": "true"})
    wait_status(jobs, run["id"], "cancelled")
    assert not out.exists()
    assert (Path(run["run_dir"]) / "logs" / "attempt-1.log").exists()


def test_cancel_queued_job_leaves_the_queue(jobs: LiveClient) -> None:
    blockers = [submit(jobs, program("sleeper.py", "600"), gpus=1) for _ in range(2)]
    waiting = submit(jobs, program("sleeper.py", "0"), gpus=1)
    for b in blockers:
        wait_status(jobs, b["id"], "running")
    assert jobs.get(f"/api/runs/{waiting['id']}").json()["status"] == "queued"
    cancelled = jobs.post(f"/api/runs/{waiting['id']}/cancel").json()
    assert cancelled["status"] == "cancelled" and cancelled["attempt_count"] == 0


def test_gpus_are_pinned_and_never_shared(jobs: LiveClient) -> None:
    runs = [submit(jobs, program("sleeper.py", "600"), gpus=1) for _ in range(3)]
    for r in runs[:2]:
        wait_status(jobs, r["id"], "running")
    gpus = [
        jobs.get(f"/api/runs/{r['id']}/attempts").json()["attempts"][0]["gpus"] for r in runs[:2]
    ]
    assert sorted(gpus) == [[0], [1]]
    assert jobs.get(f"/api/runs/{runs[2]['id']}").json()["status"] == "queued"
    jobs.post(f"/api/runs/{runs[0]['id']}/cancel")
    wait_status(jobs, runs[2]["id"], "running")
    third = jobs.get(f"/api/runs/{runs[2]['id']}/attempts").json()["attempts"][0]["gpus"]
    assert third == gpus[0]
    env_run = submit(jobs, program("flaky.py", "0"), gpus=0)
    wait_status(jobs, env_run["id"], "completed")
    assert "env \n" in _log(jobs, env_run["id"]) or "env " in _log(jobs, env_run["id"])


def test_priority_first_then_fifo(jobs: LiveClient) -> None:
    hold = [submit(jobs, program("sleeper.py", "600"), cpus=2) for _ in range(2)]  # all 4 slots
    for h in hold:
        wait_status(jobs, h["id"], "running")
    low = submit(jobs, program("sleeper.py", "0"), cpus=4, name="low")
    high_a = submit(jobs, program("sleeper.py", "0"), cpus=4, priority=5, name="high-a")
    high_b = submit(jobs, program("sleeper.py", "0"), cpus=4, priority=5, name="high-b")
    for h in hold:
        jobs.post(f"/api/runs/{h['id']}/cancel")
    for r in (low, high_a, high_b):
        wait_status(jobs, r["id"], "completed")
    starts = {
        r["name"]: jobs.get(f"/api/runs/{r['id']}/attempts").json()["attempts"][0]["started_at"]
        for r in (low, high_a, high_b)
    }
    assert starts["high-a"] < starts["high-b"] < starts["low"]


def test_early_stopped_job_is_completed_not_retried(jobs: LiveClient) -> None:
    run = submit(
        jobs,
        program("early_stop.py"),
        expect=[
            {"name": "model saved", "glob": "artifacts/*.bin", "min_bytes": 1024},
            {"name": "scaler saved", "glob": "artifacts/scaler.pkl", "hint": "save the scaler"},
        ],
    )
    done = wait_status(jobs, run["id"], "completed", "failed")
    assert done["status"] == "completed" and done["attempt_count"] == 1
    assert (done["early_stopped"], done["stopped_at_epoch"]) == (True, 57)
    progress = jobs.get(f"/api/runs/{run['id']}/progress").json()
    assert progress["percent"] == 100.0 and progress["epoch"] == 57
    summary = jobs.get(f"/api/runs/{run['id']}/summary").json()
    assert summary["metrics"]["val/loss"]["count"] == 57
    checklist = jobs.get(f"/api/runs/{run['id']}/checklist").json()
    assert checklist["final"] is True
    items = {i["name"]: i for i in checklist["items"]}
    assert items["logs ready"]["status"] == "PASS"
    assert items["model saved"]["status"] == "PASS"
    assert (
        items["scaler saved"]["status"] == "FAIL"
        and items["scaler saved"]["hint"] == "save the scaler"
    )


def test_pipeline_waits_for_dependencies_and_cancels_after_a_failure(jobs: LiveClient) -> None:
    first = submit(jobs, program("sleeper.py", "0.3"))
    second = submit(jobs, program("sleeper.py", "0"), depends_on=[first["id"]])
    assert jobs.get(f"/api/runs/{second['id']}").json()["status"] == "queued"
    wait_status(jobs, first["id"], "completed")
    wait_status(jobs, second["id"], "completed")
    a_first = jobs.get(f"/api/runs/{first['id']}/attempts").json()["attempts"][0]
    a_second = jobs.get(f"/api/runs/{second['id']}/attempts").json()["attempts"][0]
    assert a_second["started_at"] >= a_first["ended_at"]
    bad = submit(jobs, program("flaky.py", "9"), max_retries=0)
    after = submit(jobs, program("sleeper.py", "0"), depends_on=[bad["id"]])
    after_after = submit(jobs, program("sleeper.py", "0"), depends_on=[after["id"]])
    wait_status(jobs, bad["id"], "failed")
    for r in (after, after_after):
        done = wait_status(jobs, r["id"], "cancelled")
        assert done["reason"] == "a dependency did not complete" and done["attempt_count"] == 0


def test_retry_by_hand_requeues_an_ended_run(jobs: LiveClient) -> None:
    run = submit(jobs, program("flaky.py", "1"), max_retries=0)
    wait_status(jobs, run["id"], "failed")
    again = jobs.post(f"/api/runs/{run['id']}/retry")
    assert again.status_code == 200
    done = wait_status(jobs, run["id"], "completed")
    assert done["attempt_count"] == 2
    tracked = jobs.post("/api/runs", json={}).json()
    assert jobs.post(f"/api/runs/{tracked['id']}/retry").status_code == 409


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"command": ["no-such-binary-xyz"]}, "no such executable"),
        ({"command": ["./missing.sh"]}, "no executable file"),
        ({"command": ["true"], "cwd": "/does/not/exist"}, "not a directory"),
        ({"command": ["true"], "cwd": "relative/dir"}, "absolute"),
        ({"command": ["true"], "gpus": 3}, "this server has 2"),
        ({"command": ["true"], "cpus": 99}, "this server has 4"),
        ({"command": ["true"], "depends_on": ["nope"]}, "unknown run"),
        ({"command": ["true"], "id": "client0000000001"}, "drop `id`"),
        ({"timeout_s": 5}, "only apply to a job"),
    ],
)
def test_bad_job_specs_are_refused_and_create_nothing(
    jobs: LiveClient, spec: dict, message: str
) -> None:
    r = jobs.post("/api/runs", json=spec)
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]["message"]
    assert jobs.get("/api/runs").json()["runs"] == []


@pytest.mark.parametrize(
    "spec",
    [
        {"command": []},
        {"command": ["x"], "gpus": -1},
        {"command": ["x"], "cpus": -2},
        {"command": ["x"], "retry_on": ["sometimes"]},
    ],
)
def test_malformed_job_specs_are_422(jobs: LiveClient, spec: dict) -> None:
    assert jobs.post("/api/runs", json=spec).status_code == 422
    assert jobs.get("/api/runs").json()["runs"] == []


def test_logs_follow_by_offset(jobs: LiveClient) -> None:
    run = submit(jobs, ["/bin/sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 0.2; done"])
    text, offset = "", 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        chunk = jobs.get(f"/api/runs/{run['id']}/logs", params={"offset": offset}).json()
        text += chunk["text"]
        offset = chunk["offset"]
        if chunk["ended"] and chunk["offset"] == chunk["size"]:
            break
        time.sleep(0.05)
    assert [ln for ln in text.splitlines() if ln.startswith("line-")] == [
        "line-1",
        "line-2",
        "line-3",
    ]
    tail = jobs.get(f"/api/runs/{run['id']}/logs", params={"tail": 1}).json()["text"]
    assert tail.strip().splitlines()[-1].startswith(("line-3", "[runyard]")) or "line-3" in tail
