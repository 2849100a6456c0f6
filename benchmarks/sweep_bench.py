#!/usr/bin/env python
"""Sweep figures: a 50-trial sweep of a quick synthetic objective program (20 steps of
0.2 s; ASHA, TPE, 4 in parallel) through a real server in this process, beside Optuna run
in-process on the same objective with the same sampler and pruner.

- controller overhead per trial: time spent in ask + submit, report + should_prune, and tell
  (the controller's own work; the trial's run time is not in it);
- time to the pruning decision after the needed step was logged (the point's timestamp to
  the cancel request; target ≤ 2 s);
- compute saved: steps run ÷ steps of all trials run in full, for runyard and for Optuna.

Run: `.venv/bin/python benchmarks/sweep_bench.py [--trials 50]`. Under load from other
processes the latencies grow; the ratio of steps does not depend on speed.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import optuna
import uvicorn
from _common import free_port, median, table

from runyard.config import Settings
from runyard.entities import RunStatus
from runyard.server.app import create_app
from runyard.store import Store

STEPS = 20
PROGRAM = """\
import math, sys, time
import runyard
x, y = float(sys.argv[1]), float(sys.argv[2])
level = (math.log10(x) + 2) ** 2 + (y - 0.3) ** 2
with runyard.init() as run:
    for step in range({steps}):
        run.log({{"loss": level + 1.0 / (step + 1)}}, step=step)
        time.sleep(0.2)
"""
SPACE = {
    "x": {"type": "float", "low": 1e-4, "high": 1.0, "log": True},
    "y": {"type": "float", "low": 0.0, "high": 1.0},
}


def objective_at(params: dict[str, float], step: int) -> float:
    return (math.log10(params["x"]) + 2) ** 2 + (params["y"] - 0.3) ** 2 + 1.0 / (step + 1)


def optuna_in_process(trials: int, min_steps: int) -> int:
    """Steps run by Optuna's own optimize loop on the same objective, sampler and pruner."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps = 0

    def objective(trial: optuna.Trial) -> float:
        nonlocal steps
        p = {
            "x": trial.suggest_float("x", 1e-4, 1.0, log=True),
            "y": trial.suggest_float("y", 0.0, 1.0),
        }
        value = 0.0
        for step in range(STEPS):
            value = objective_at(p, step)
            steps += 1
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=min_steps, reduction_factor=3),
    )
    study.optimize(objective, n_trials=trials)
    return steps


class Timed:
    """Wraps a controller method, adding the seconds it takes to a total."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0

    def wrap(self, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - t0
                self.calls += 1

        return timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--min-steps", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        home = Path(tmp)
        program = home / "objective.py"
        program.write_text(PROGRAM.format(steps=STEPS))
        port = free_port()
        settings = Settings(home=home, slots=args.parallel, url=f"http://127.0.0.1:{port}")
        store = Store.open(settings.db_url, settings.runs_dir)
        app = create_app(settings, store)
        ctl = app.state.sweeper
        timers = {name: Timed() for name in ("ask+submit", "report+prune", "tell")}
        ctl._start_trial = timers["ask+submit"].wrap(ctl._start_trial)
        ctl._report = timers["report+prune"].wrap(ctl._report)
        ctl._tell = timers["tell"].wrap(ctl._tell)
        prune_at: dict[str, float] = {}
        cancel = store.jobs.request_cancel

        def request_cancel(run_id: str, *a: Any, **kw: Any) -> RunStatus:
            now = time.time()
            status = cancel(run_id, *a, **kw)
            if kw.get("stop_as") is RunStatus.PRUNED:
                prune_at[run_id] = now
            return status

        store.jobs.request_cancel = request_cancel  # type: ignore[method-assign]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        http = httpx.Client(base_url=settings.url, timeout=30)
        body = {
            "name": "bench",
            "objective": "loss:min",
            "space": SPACE,
            "sampler": "tpe",
            "pruner": {"type": "asha", "min_steps": args.min_steps, "reduction_factor": 3},
            "max_trials": args.trials,
            "parallel": args.parallel,
            "seed": 0,
            "command": [sys.executable, str(program), "{x}", "{y}"],
            "max_retries": 0,
        }
        t0 = time.monotonic()
        sweep_id = http.post("/api/sweeps", json=body).json()["id"]
        while (sweep := http.get(f"/api/sweeps/{sweep_id}").json())["status"] == "running":
            time.sleep(0.2)
        wall = time.monotonic() - t0
        lags = []
        for t in sweep["trials"]:
            if t["run_id"] in prune_at and t["status"] == "pruned":
                step = int(t["reason"].split("step ")[1].split(":")[0])
                series = store.metrics.read(t["run_id"], ["loss"])["loss"]
                logged = float(series.timestamps[list(series.steps).index(step)])
                lags.append(prune_at[t["run_id"]] - logged)
        ran = sum(t["points"] for t in sweep["trials"])
        full = STEPS * len(sweep["trials"])
        optuna_steps = optuna_in_process(args.trials, args.min_steps)
        server.should_exit = True
        n = len(sweep["trials"])
        rows = [
            (f"{name} per trial (ms)", f"{timer.total / n * 1000:.1f}", f"{timer.calls} calls")
            for name, timer in timers.items()
        ]
        rows += [
            (
                "controller overhead per trial (ms)",
                f"{sum(t.total for t in timers.values()) / n * 1000:.1f}",
                "",
            ),
            (
                "pruning decision after the step is logged (s, median/max)",
                f"{median(lags):.2f} / {max(lags):.2f}" if lags else "no pruning",
                f"{len(lags)} pruned; target ≤ 2 s",
            ),
            ("runyard: steps run ÷ all in full", f"{ran / full:.2f}", f"{ran}/{full}"),
            (
                "Optuna in-process: steps run ÷ all in full",
                f"{optuna_steps / (STEPS * args.trials):.2f}",
                f"{optuna_steps}/{STEPS * args.trials}",
            ),
            ("sweep wall time (s)", f"{wall:.1f}", f"{n} trials, {args.parallel} parallel"),
        ]
        print(table(("figure", "value", "note"), rows))
        store.close()


if __name__ == "__main__":
    main()
