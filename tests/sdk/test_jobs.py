"""The SDK inside a job the runner launched: it attaches to the run, and a checkpoint is durable
the moment run.checkpoint returns."""

from __future__ import annotations

from pathlib import Path

from tests.runner.conftest import LiveClient, jobs, program, submit, wait_status

__all__ = ["jobs"]  # the runner's fixture: a server in a thread, with its scheduler


def test_killed_right_after_a_checkpoint_the_next_attempt_resumes_from_it(
    jobs: LiveClient,
) -> None:
    run = submit(jobs, program("sdk_job.py"), max_retries=1)
    done = wait_status(jobs, run["id"], "completed", "failed", timeout=60)
    assert done["status"] == "completed" and done["attempt_count"] == 2
    ckpt = Path(done["run_dir"]) / "checkpoints" / "epoch-0.pt"
    log = jobs.get(f"/api/runs/{run['id']}/logs", params={"attempt": 2}).json()["text"]
    assert f"attempt 2 resume_from={ckpt}" in log
    assert ckpt.read_bytes() == b"weights of epoch 0"
    assert done["params"] == {"epochs": 2}
    points = jobs.get(f"/api/runs/{run['id']}/metrics").json()["metrics"]["loss"]
    assert 2 in points["steps"]  # attempt 2 logged into the runner's run
