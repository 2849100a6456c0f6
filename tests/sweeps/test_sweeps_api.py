"""Sweeps over a real server with a real scheduler: trials are runs, bad ones are pruned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

from tests.runner.conftest import LiveClient, program, wait_for

SPACE = {
    "lr": {"type": "float", "low": 1.0e-4, "high": 0.1, "log": True},
    "width": {"type": "int", "low": 16, "high": 256},
    "opt": {"type": "categorical", "choices": ["adam", "sgd"]},
}
ARGS = ["--lr", "{lr}", "--width", "{width}", "--opt", "{opt}"]


def _body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "trial-sweep",
        "objective": "val/loss:min",
        "space": SPACE,
        "sampler": "random",
        "pruner": {"type": "asha", "min_steps": 1, "reduction_factor": 2},
        "max_trials": 8,
        "parallel": 2,
        "seed": 7,
        "command": program("sweep_trial.py", *ARGS, "--steps", "8", "--sleep", "0.15"),
        "max_retries": 2,  # a pruned trial is still never retried
        "retry_delay_s": 0.05,
    }
    body.update(over)
    return body


def _wait_ended(client: httpx.Client, sweep_id: str, timeout: float = 120) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        sweep = client.get(f"/api/sweeps/{sweep_id}").json()
        return sweep if sweep["status"] != "running" else None

    result: dict[str, Any] = wait_for(client, ended, timeout)
    return result


def _study(home: Path, sweep_id: str) -> optuna.Study:
    path = home / "sweeps" / f"{sweep_id}.journal"
    return optuna.load_study(
        study_name=sweep_id, storage=JournalStorage(JournalFileBackend(str(path)))
    )


def test_a_sweep_runs_its_trials_as_runs_and_prunes_bad_ones(sweep_jobs: LiveClient) -> None:
    jobs = sweep_jobs  # on SQLite and on PostgreSQL
    r = jobs.post("/api/sweeps", json=_body())
    assert r.status_code == 201, r.text
    sweep_id = r.json()["id"]
    sweep = _wait_ended(jobs, sweep_id)
    assert sweep["status"] == "completed", sweep
    trials = sweep["trials"]
    assert [t["trial"] for t in trials] == list(range(8))
    statuses = {t["status"] for t in trials}
    assert statuses <= {"completed", "pruned"}, trials
    pruned = [t for t in trials if t["status"] == "pruned"]
    assert pruned, "ASHA pruned nothing in 8 trials"
    # Trials are ordinary runs: filterable by sweep, params are the trial's, argv filled in.
    runs = jobs.get("/api/runs", params={"sweep": sweep_id}).json()["runs"]
    assert {r["id"] for r in runs} == {t["run_id"] for t in trials}
    for run in runs:
        assert run["sweep_id"] == sweep_id and set(run["params"]) == {"lr", "width", "opt"}
        argv = jobs.get(f"/api/runs/{run['id']}").json()
        assert argv["params"] == run["params"]
    for t in pruned:
        run = jobs.get(f"/api/runs/{t['run_id']}").json()
        assert run["attempt_count"] == 1 and run["reason"].startswith("pruned at step")
        attempts = jobs.get(f"/api/runs/{t['run_id']}/attempts").json()["attempts"]
        assert [a["status"] for a in attempts] == ["cancelled"]  # the normal cancel path
    # Optuna was told the same endings; its best is ours.
    study = _study(jobs.app.state.settings.home, sweep_id)
    states = {t.number: t.state for t in study.trials}
    assert len(states) == 8
    for t in trials:
        want = TrialState.PRUNED if t["status"] == "pruned" else TrialState.COMPLETE
        assert states[t["trial"]] is want
    completed = [t for t in trials if t["status"] == "completed"]
    best = min(completed, key=lambda t: t["value"])
    assert sweep["best"]["run_id"] == best["run_id"]
    assert study.best_trial.number == best["trial"]
    assert study.best_value == best["value"]
    assert sweep["counts"] == {
        s: sum(t["status"] == s for t in trials) for s in ("completed", "pruned")
    }
    listed = jobs.get("/api/sweeps").json()["sweeps"]
    assert [s["id"] for s in listed] == [sweep_id]
    curves = jobs.get(f"/api/sweeps/{sweep_id}", params={"curves": "true"}).json()["curves"]
    assert set(curves) == {t["run_id"] for t in trials}
    assert all(len(c["steps"]) == t["points"] for t in trials for c in [curves[t["run_id"]]])


def test_a_key_no_trial_logs_fails_the_sweep_with_its_reason(jobs: LiveClient) -> None:
    command = program("sweep_trial.py", *ARGS, "--key", "val/los", "--steps", "40")
    r = jobs.post("/api/sweeps", json=_body(command=command, max_trials=4))
    assert r.status_code == 201, r.text
    sweep = _wait_ended(jobs, r.json()["id"])
    assert sweep["status"] == "failed"
    assert "'val/loss' was never logged by trial 0" in sweep["message"]
    assert "val/los" in sweep["message"]
    wait_for(jobs, lambda: all(t["status"] == "cancelled" for t in _trials(jobs, sweep["id"])))


def _trials(client: httpx.Client, sweep_id: str) -> list[dict[str, Any]]:
    trials: list[dict[str, Any]] = client.get(f"/api/sweeps/{sweep_id}").json()["trials"]
    return trials


def test_stop_cancels_the_running_trials_and_asks_no_more(jobs: LiveClient) -> None:
    command = program("sweep_trial.py", *ARGS, "--steps", "400", "--sleep", "0.1")
    r = jobs.post("/api/sweeps", json=_body(command=command, pruner="none"))
    sweep_id = r.json()["id"]
    wait_for(jobs, lambda: len(_trials(jobs, sweep_id)) == 2)
    r = jobs.post(f"/api/sweeps/{sweep_id}/stop")
    assert r.status_code == 200 and r.json()["status"] == "stopped"
    wait_for(jobs, lambda: all(t["status"] == "cancelled" for t in _trials(jobs, sweep_id)))
    assert len(_trials(jobs, sweep_id)) == 2
    assert jobs.post(f"/api/sweeps/{sweep_id}/stop").status_code == 409
    home = jobs.app.state.settings.home
    wait_for(jobs, lambda: all(t.state.is_finished() for t in _study(home, sweep_id).trials))
    assert {t.state for t in _study(home, sweep_id).trials} == {TrialState.FAIL}


def test_bad_sweeps_are_refused_and_nothing_is_created(jobs: LiveClient) -> None:
    cases = [
        (_body(space={"lr": {"type": "float", "low": 1, "high": 0}}), "above high"),
        (_body(command=program("sweep_trial.py", "--lr", "{lr}")), "never uses"),
        (_body(command=program("sweep_trial.py", *ARGS, "{depth}")), "does not define"),
        (_body(parallel=5), "4 slot(s)"),
        (_body(objective="val/loss"), "key:min"),
        (_body(cwd="/no/such/dir"), "not a directory"),
        (_body(command=["no-such-program-xyz", *ARGS]), "no such executable"),
    ]
    for body, message in cases:
        r = jobs.post("/api/sweeps", json=body)
        assert r.status_code == 400, r.text
        assert message in r.json()["error"]["message"]
    assert jobs.post("/api/sweeps", json={**_body(), "max_trials": "8"}).status_code == 422
    assert jobs.get("/api/sweeps").json() == {"sweeps": []}
    assert jobs.get("/api/runs").json()["runs"] == []
    home = jobs.app.state.settings.home
    assert not (home / "sweeps").exists() or not any((home / "sweeps").iterdir())
    assert jobs.get("/api/sweeps/nope").status_code == 404
