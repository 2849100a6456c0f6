"""The example that shows the saving: 16 trials of a real model on the digits, 2 at a time;
ASHA stops at least a third of them and the best trial is the one the full grid finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.runner.conftest import LiveClient, wait_for

ROOT = Path(__file__).parents[2]
COMMAND = ["--lr", "{lr}", "--l2", "{l2}"]


def _run_sweep(client: LiveClient, **over: Any) -> str:
    import sys

    doc = yaml.safe_load((ROOT / "examples" / "sweeps" / "digits.yaml").read_text())
    body = {
        **doc,
        **over,
        "command": [sys.executable, str(ROOT / "examples" / "softmax_digits.py"), *COMMAND],
        "cwd": str(ROOT),
    }
    r = client.post("/api/sweeps", json=body)
    assert r.status_code == 201, r.text
    sweep_id: str = r.json()["id"]
    return sweep_id


@pytest.mark.slow
def test_asha_prunes_a_third_and_finds_the_grid_best(jobs: LiveClient) -> None:
    pruned_id = _run_sweep(jobs)
    full_id = _run_sweep(jobs, name="softmax-digits-full", pruner={"type": "none"})

    def ended() -> bool:
        return all(
            jobs.get(f"/api/sweeps/{i}").json()["status"] != "running" for i in (pruned_id, full_id)
        )

    wait_for(jobs, ended, timeout=280)
    pruned, full = (jobs.get(f"/api/sweeps/{i}").json() for i in (pruned_id, full_id))
    assert pruned["status"] == full["status"] == "completed"
    assert len(pruned["trials"]) == len(full["trials"]) == 16
    assert {t["status"] for t in full["trials"]} == {"completed"}
    n_pruned = sum(t["status"] == "pruned" for t in pruned["trials"])
    assert n_pruned * 3 >= 16, f"ASHA pruned {n_pruned} of 16"
    params = {t["run_id"]: t["params"] for t in pruned["trials"] + full["trials"]}
    assert params[pruned["best"]["run_id"]] == params[full["best"]["run_id"]]
    assert pruned["best"]["value"] == pytest.approx(full["best"]["value"])
    run = sum(t["points"] for t in pruned["trials"])
    assert run < sum(t["points"] for t in full["trials"])  # epochs run, with and without ASHA
