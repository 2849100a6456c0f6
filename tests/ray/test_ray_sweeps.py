"""A sweep on the Ray backend (issue 18, item 5): trials are Ray jobs, pruned ones are
stopped through Ray's stop with the trial's grace, and no more trials than max_trials ever
reach Ray."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.ray._cluster import ADDRESS
from tests.ray.conftest import wait_for
from tests.runner.conftest import program
from tests.sweeps.test_sweeps_api import ARGS, SPACE

pytestmark = pytest.mark.ray
MAX_TRIALS = 4


def ray_job(submission_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{ADDRESS}/api/jobs/{submission_id}", timeout=10).json())


def test_a_sweep_on_ray_prunes_through_rays_stop_and_keeps_to_max_trials(
    rayserver: ServerProcess,
) -> None:
    url = rayserver.url
    body = {
        "name": "ray-sweep",
        "objective": "val/loss:min",
        "space": SPACE,
        "sampler": "random",
        "seed": 7,
        "pruner": {"type": "asha", "min_steps": 1, "reduction_factor": 2},
        "max_trials": MAX_TRIALS,
        "parallel": 2,  # the cluster's two CPUs
        "command": program("sweep_trial.py", *ARGS, "--steps", "10", "--sleep", "0.3"),
        "max_retries": 2,  # a pruned trial is still never retried
        "retry_delay_s": 0.1,
        "grace_s": 2,
    }
    r = httpx.post(f"{url}/api/sweeps", json=body, timeout=30)
    assert r.status_code == 201, r.text
    sweep_id = r.json()["id"]
    seen_trials = 0

    def ended() -> dict[str, Any] | None:
        nonlocal seen_trials
        sweep = httpx.get(f"{url}/api/sweeps/{sweep_id}", timeout=30).json()
        seen_trials = max(seen_trials, len(sweep["trials"]))
        assert seen_trials <= MAX_TRIALS, sweep  # at no point more than asked for
        return sweep if sweep["status"] != "running" else None

    sweep = wait_for(ended, 150, "the sweep ended")
    assert sweep["status"] == "completed", sweep
    trials = sweep["trials"]
    assert [t["trial"] for t in trials] == list(range(MAX_TRIALS))
    assert {t["status"] for t in trials} <= {"completed", "pruned"}, trials
    pruned = [t for t in trials if t["status"] == "pruned"]
    assert pruned, f"ASHA pruned nothing in {MAX_TRIALS} trials: {trials}"

    trial_runs = {t["run_id"] for t in trials}
    on_ray = [
        j
        for j in httpx.get(f"{ADDRESS}/api/jobs/", timeout=30).json()
        if (j.get("metadata") or {}).get("runyard_run") in trial_runs
    ]
    assert sorted(j["submission_id"] for j in on_ray) == sorted(f"{r}-1" for r in trial_runs)
    for t in trials:
        (attempt,) = httpx.get(f"{url}/api/runs/{t['run_id']}/attempts").json()["attempts"]
        job = ray_job(f"{t['run_id']}-1")
        assert attempt["backend"] == "ray"
        if t["status"] == "pruned":  # the normal cancel path, on Ray: stop with the grace
            run = httpx.get(f"{url}/api/runs/{t['run_id']}").json()
            assert run["reason"].startswith("pruned at step"), run
            assert attempt["status"] == "cancelled" and job["status"] == "STOPPED", job
            assert job["runtime_env"]["env_vars"]["RAY_JOB_STOP_WAIT_TIME_S"] == "2"
        else:
            assert attempt["status"] == "succeeded" and job["status"] == "SUCCEEDED", job
