"""`POST /api/runs/{id}/evaluations` and `runyard eval RUN -- CMD`: a checkpoint chosen,
verified, handed to a job; the job's report shows on the evaluated run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.runner.conftest import LiveClient, program, submit, wait_for, wait_status


def _trained(jobs: LiveClient) -> dict:
    run = submit(jobs, program("eval_checkpoint.py"), max_retries=0)
    done = wait_status(jobs, run["id"], "completed", "failed", timeout=120)
    assert done["status"] == "completed", done
    return done


def test_best_checkpoint_is_evaluated_and_shows_on_both_runs(jobs: LiveClient) -> None:
    trained = _trained(jobs)
    r = jobs.post(
        f"/api/runs/{trained['id']}/evaluations",
        json={"command": program("eval_checkpoint.py"), "split": "holdout"},
    )
    assert r.status_code == 201, r.text
    evaluation = r.json()
    assert evaluation["params"] == {
        "evaluates": trained["id"], "checkpoint": "ckpt-1.json", "split": "holdout"
    }  # fmt: skip
    done = wait_status(jobs, evaluation["id"], "completed", "failed", timeout=120)
    log = jobs.get(f"/api/runs/{evaluation['id']}/logs").json()["text"]
    assert done["status"] == "completed", log
    assert f"evaluating ckpt-1.json of {trained['id']} on holdout" in log

    def computed() -> bool:  # in the background: the first computation imports MONAI
        return "holdout/auc" in jobs.get(f"/api/runs/{evaluation['id']}").json()["metrics"]

    wait_for(jobs, computed, timeout=240)
    splits = jobs.get(f"/api/runs/{trained['id']}/evaluation").json()["splits"]
    own = jobs.get(f"/api/runs/{evaluation['id']}/evaluation").json()["splits"]["holdout"]
    shown = splits[f"holdout@{evaluation['id']}"]
    assert shown["source_run"] == evaluation["id"]
    assert shown["metrics"] == own["metrics"] and own["n"] == 6


def test_bad_checkpoints_are_refused_before_launch(jobs: LiveClient) -> None:
    trained = _trained(jobs)
    url = f"/api/runs/{trained['id']}/evaluations"
    command = program("eval_checkpoint.py")
    r = jobs.post(url, json={"command": command, "checkpoint": "nope.pt"})
    assert r.status_code == 404 and "ckpt-2.json" in r.json()["error"]["message"]
    Path(trained["run_dir"], "checkpoints", "ckpt-2.json").write_text('{"quality": 1}')
    r = jobs.post(url, json={"command": command, "checkpoint": "last"})
    assert r.status_code == 400 and "corrupt" in r.json()["error"]["message"]
    Path(trained["run_dir"], "checkpoints", "ckpt-1.json").unlink()
    r = jobs.post(url, json={"command": command})
    assert r.status_code == 400 and "missing" in r.json()["error"]["message"]
    bare = submit(jobs, [sys.executable, "-c", "pass"], max_retries=0)
    wait_status(jobs, bare["id"], "completed", "failed", timeout=60)
    r = jobs.post(f"/api/runs/{bare['id']}/evaluations", json={"command": command})
    assert r.status_code == 400 and "no checkpoints" in r.json()["error"]["message"]
    runs = jobs.get("/api/runs", params={"tag": "evaluation"}).json()["runs"]
    assert runs == []  # nothing was launched


def test_cli_submits_an_evaluation(jobs: LiveClient) -> None:
    trained = _trained(jobs)
    env = {"RUNYARD_URL": str(jobs.base_url), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": ":".join(sys.path)}  # fmt: skip
    args = [sys.executable, "-m", "runyard", "eval", trained["id"], "--checkpoint", "last"]
    out = subprocess.run(
        [*args, "--json", "--", *program("eval_checkpoint.py")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert '"checkpoint": "ckpt-2.json"' in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "runyard", "eval", trained["id"]],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "usage" in bad.stderr
