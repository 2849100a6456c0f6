"""Sweeps through `runyard server` as a real process: the CLI, and a SIGKILL mid-sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage

from tests.cli.test_cli import cli
from tests.conftest import ServerProcess
from tests.runner.conftest import program, wait_for
from tests.sweeps.test_sweeps_api import ARGS

SWEEP_YAML = """\
name: restart-lr
objective: val/loss:min
space:
  lr: {type: float, low: 1.0e-4, high: 0.1, log: true}
  width: {type: int, low: 16, high: 256}
  opt: {type: categorical, choices: [adam, sgd]}
sampler: tpe
pruner: {type: asha, min_steps: 2, reduction_factor: 2}
max_trials: 6
parallel: 2
seed: 3
"""


def _sweep(url: str, sweep_id: str) -> dict[str, Any]:
    sweep: dict[str, Any] = httpx.get(f"{url}/api/sweeps/{sweep_id}").json()
    return sweep


def _study(home: Path, sweep_id: str) -> optuna.Study:
    path = home / "sweeps" / f"{sweep_id}.journal"
    storage = JournalStorage(JournalFileBackend(str(path)))
    return optuna.load_study(study_name=sweep_id, storage=storage)


def test_a_sigkilled_server_goes_on_with_its_sweep(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "sweep.yaml").write_text(SWEEP_YAML)
    srv = ServerProcess(home).wait_ready()
    port = srv.port
    env = {"RUNYARD_URL": srv.url}
    try:
        cmd = program("sweep_trial.py", *ARGS, "--steps", "30", "--sleep", "0.1")
        made = cli("sweep", "create", "-f", str(tmp_path / "sweep.yaml"), "--", *cmd, env=env)
        assert made.returncode == 0, made.stderr
        sweep_id = made.stdout.strip()
        wait_for(None, lambda: any(t["points"] for t in _sweep(srv.url, sweep_id)["trials"]))
    finally:
        srv.proc.kill()  # SIGKILL: no lifespan shutdown, the journal lock left behind
        srv.proc.wait()
        srv.stop()
    before = {t["trial"]: t["run_id"] for t in _sweep_after(home, sweep_id)}
    # The dead server may have asked Optuna for a trial and died before submitting its run.
    study = _study(home, sweep_id)
    orphan = study.ask(
        {
            "lr": optuna.distributions.FloatDistribution(1e-4, 0.1, log=True),
            "width": optuna.distributions.IntDistribution(16, 256),
            "opt": optuna.distributions.CategoricalDistribution(["adam", "sgd"]),
        }
    )
    assert orphan.number not in before
    # Or died in the middle of an ask: the trial is in the journal with one of its three
    # parameters (Optuna stores each in its own journal line).
    cut = study.ask()
    cut_lr = cut.suggest_float("lr", 1e-4, 0.1, log=True)
    srv = ServerProcess(home, port=port).wait_ready()
    try:
        wait_for(None, lambda: _sweep(srv.url, sweep_id)["status"] != "running", timeout=180)
        sweep = _sweep(srv.url, sweep_id)
        assert sweep["status"] == "completed", sweep
        trials = sweep["trials"]
        assert [t["trial"] for t in trials] == list(range(6))  # none lost, none twice, ≤ max
        for number, run_id in before.items():
            assert trials[number]["run_id"] == run_id  # re-adopted, not submitted again
        runs = httpx.get(f"{srv.url}/api/runs", params={"sweep": sweep_id}).json()["runs"]
        assert len(runs) == 6 and all(r["attempt_count"] == 1 for r in runs)  # none ran twice
        assert trials[orphan.number]["params"] == orphan.params
        assert trials[cut.number]["params"]["lr"] == cut_lr  # the rest asked on the restart
        # the sampler goes on from where it was, never drawing the first trials' values again
        assert len({t["params"]["lr"] for t in trials}) == 6
        assert set(trials[cut.number]["params"]) == {"lr", "width", "opt"}
        assert {t["status"] for t in trials} <= {"completed", "pruned"}
        study = _study(home, sweep_id)
        assert len(study.trials) == 6 and all(t.state.is_finished() for t in study.trials)
        shown = cli("sweep", "show", sweep_id, env={"RUNYARD_URL": srv.url, "COLUMNS": "200"})
        assert shown.returncode == 0, shown.stderr
        assert "restart-lr" in shown.stdout and "best: trial" in shown.stdout
        for t in trials:
            assert t["run_id"] in shown.stdout
        listed = json.loads(cli("sweep", "ls", "--json", env={"RUNYARD_URL": srv.url}).stdout)
        assert [s["id"] for s in listed] == [sweep_id]
    finally:
        srv.stop()


def _sweep_after(home: Path, sweep_id: str) -> list[dict[str, Any]]:
    """The trials the store holds, read with the server down."""
    from runyard.config import Settings
    from runyard.store import Store

    settings = Settings(home=home)
    store = Store.open(settings.db_url, settings.runs_dir, migrate=False)
    try:
        return [{"trial": r.trial, "run_id": r.id} for r in store.sweeps.trials(sweep_id)]
    finally:
        store.close()


def test_cli_refuses_bad_sweeps_with_one_line(server: ServerProcess, tmp_path: Path) -> None:
    env = {"RUNYARD_URL": server.url}
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed\n")
    done = cli("sweep", "create", "-f", str(bad_yaml), "--", "true", env=env)
    assert done.returncode == 2 and "not valid YAML" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    missing = cli("sweep", "create", "-f", str(tmp_path / "none.yaml"), "--", "true", env=env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    good = tmp_path / "sweep.yaml"
    good.write_text(SWEEP_YAML)
    cmd = program("sweep_trial.py", "--lr", "{lr}")
    done = cli("sweep", "create", "-f", str(good), "--", *cmd, env=env)
    assert done.returncode == 1 and "never uses" in done.stderr and "HTTP 400" in done.stderr
    assert httpx.get(f"{server.url}/api/sweeps").json() == {"sweeps": []}
    stopped = cli("sweep", "stop", "nope", env=env)
    assert stopped.returncode == 1 and "no sweep" in stopped.stderr


def test_a_seeded_sampler_reopened_draws_new_values(tmp_path: Path) -> None:
    """A server that goes on with a sweep reopens its study: its seeded sampler goes on
    from the trials asked, never drawing the first trials' values again (seen on a restarted
    server: trial 1 ran with trial 0's learning rate)."""
    from runyard.config import Settings
    from runyard.sweeps.controller import distributions, open_study
    from runyard.sweeps.space import parse_sweep
    from tests.sweeps.test_space import CMD, _doc

    for sampler in ("random", "tpe"):
        spec = parse_sweep(_doc(sampler=sampler, seed=1), CMD, slots=4)
        settings = Settings(home=tmp_path / sampler)
        drawn = []
        for _ in range(3):  # a server each time
            study = open_study(settings, "s", spec)
            drawn.append(study.ask(distributions(spec)).params["lr"])
        assert len(set(drawn)) == 3, (sampler, drawn)
        again = open_study(Settings(home=tmp_path / f"{sampler}-again"), "s", spec)
        assert again.ask(distributions(spec)).params["lr"] == drawn[0]  # still reproducible
