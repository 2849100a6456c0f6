"""The example really trains (PyTorch, CPU) as a job: metrics, checkpoints, early stop, resume."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.runner.conftest import LiveClient, submit, wait_status

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits.py"


@pytest.mark.slow
def test_digits_learns_and_resumes_after_a_crash(jobs: LiveClient) -> None:
    run = submit(
        jobs,
        [sys.executable, str(EXAMPLE), "--epochs", "8", "--lr", "0.01", "--fail-at-epoch", "2"],
        max_retries=1,
        expect=[{"name": "checkpoints saved", "glob": "checkpoints/*.pt", "min_count": 8}],
    )
    done = wait_status(jobs, run["id"], "completed", "failed", timeout=240)
    logs = [jobs.get(f"/api/runs/{run['id']}/logs", params={"attempt": n}).json()["text"]
            for n in (1, 2)]  # fmt: skip
    assert done["status"] == "completed", logs
    assert done["attempt_count"] == 2
    assert "simulated crash after epoch 2" in logs[0]
    assert "epoch-002.pt at epoch 3" in logs[1]  # resumed from the last checkpoint
    summary = jobs.get(f"/api/runs/{run['id']}/summary").json()
    assert summary["metrics"]["val/acc"]["best"] > 0.85  # it really learned
    assert summary["metrics"]["val/loss"]["goal"] == "min"
    assert summary["metrics"]["test/acc"]["last"] > 0.85
    assert done["params"]["lr"] == 0.01 and done["progress"]["percent"] == 100.0
    checklist = jobs.get(f"/api/runs/{run['id']}/checklist").json()["items"]
    assert all(item["status"] == "PASS" for item in checklist), checklist


@pytest.mark.slow
def test_digits_stops_early_and_completes(jobs: LiveClient) -> None:
    run = submit(
        jobs, [sys.executable, str(EXAMPLE), "--epochs", "200", "--lr", "0.05", "--patience", "2"]
    )
    done = wait_status(jobs, run["id"], "completed", "failed", timeout=240)
    assert done["status"] == "completed" and done["early_stopped"] is True
    assert done["stopped_at_epoch"] is not None and done["stopped_at_epoch"] < 199
    assert done["progress"]["percent"] == 100.0 and done["attempt_count"] == 1
