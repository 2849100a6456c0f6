"""Programs without the SDK as first-class runs (issue 14): metrics from their log lines and
TensorBoard files, checkpoints by glob, and resume by argument after a SIGKILL."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from tests.runner.conftest import LiveClient, program, submit, wait_for, wait_status

NANOGPT = [
    r"iter (?P<step>\d+): loss (?P<train_loss>[\d.]+)",
    r"step (?P<step>\d+): train loss (?P<train_loss>[\d.]+), val loss (?P<val_loss>[\d.]+)",
]
TINY_GPT = Path(__file__).resolve().parents[2] / "examples" / "tiny_gpt.py"


def _metrics(jobs: LiveClient, run_id: str) -> dict:
    return jobs.get(f"/api/runs/{run_id}/metrics").json()["metrics"]


def test_log_lines_become_live_metrics_with_goals(jobs: LiveClient, tmp_path: Path) -> None:
    go = tmp_path / "go"
    run = submit(
        jobs,
        program("nanogpt_lines.py", "20", str(go)),
        metrics_patterns=NANOGPT,
        goals={"val_loss": "min"},
    )
    assert run["metric_goals"] == {"val_loss": "min"}

    def first_half() -> dict | None:
        m = _metrics(jobs, run["id"])
        return m if len(m.get("train_loss", {}).get("steps", [])) >= 20 else None

    live = wait_for(jobs, first_half)  # read while the program runs, not at its end
    assert jobs.get(f"/api/runs/{run['id']}").json()["status"] == "running"
    assert live["train_loss"]["steps"][:3] == [0, 0, 1]  # iter 0 and step 0 both say train loss
    go.touch()
    done = wait_status(jobs, run["id"], "completed", "failed")
    assert done["status"] == "completed", done["reason"]
    m = _metrics(jobs, run["id"])
    assert m["val_loss"]["steps"] == list(range(0, 40, 5))
    assert m["val_loss"]["values"][-1] == round(3.1 - 35 / 120, 4)
    assert len(m["train_loss"]["steps"]) == 40 + 8  # every line once, none twice
    summary = jobs.get(f"/api/runs/{run['id']}/summary").json()
    assert summary["metrics"]["val_loss"]["best"] == min(m["val_loss"]["values"])


def test_tensorboard_scalars_from_cwd_and_run_dir(jobs: LiveClient, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    go = tmp_path / "go"
    cwd = tmp_path / "project"
    cwd.mkdir()
    (cwd / "runs" / "old").mkdir(parents=True)
    stale = cwd / "runs" / "old" / "events.out.tfevents.1.host.1.0"
    stale.write_bytes(b"")  # an earlier run's file: too old to be this run's
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    run = submit(
        jobs,
        program("tb_writer.py", "runs/exp1", str(go)),
        cwd=str(cwd),
        env={"PYTHONPATH": os.pathsep.join(sys.path)},
    )

    def first_half() -> dict | None:
        m = _metrics(jobs, run["id"])
        n = len(m.get("train/loss", {}).get("steps", []))
        return m if n >= 10 and len(m.get("val/acc", {}).get("steps", [])) >= 10 else None

    live = wait_for(jobs, first_half, timeout=120)
    assert live["val/acc"]["steps"] == list(range(0, 20, 2))
    go.touch()
    done = wait_status(jobs, run["id"], "completed", "failed", timeout=60)
    assert done["status"] == "completed", done["reason"]
    m = _metrics(jobs, run["id"])
    (event_file,) = (cwd / "runs" / "exp1").glob("events.out.tfevents.*")
    acc = EventAccumulator(str(event_file))
    acc.Reload()
    theirs = acc.Scalars("train/loss")
    assert m["train/loss"]["steps"] == [e.step for e in theirs]  # each scalar once
    assert m["train/loss"]["values"] == [e.value for e in theirs]
    walls = [e.wall_time for e in theirs]  # the store keeps microseconds
    assert m["train/loss"]["timestamps"] == pytest.approx(walls, abs=1e-5)
    assert len(theirs) == 20


def _child_of_tiny_gpt(out_dir: Path) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if str(TINY_GPT) in cmd and f"--out_dir={out_dir}" in cmd:
            return proc
    return None


def test_a_sigkilled_program_resumes_from_its_checkpoint(jobs: LiveClient, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = submit(
        jobs,
        [sys.executable, str(TINY_GPT), f"--out_dir={out}", "--max_iters=200",
         "--eval_interval=20", "--log_interval=1", "--iter_sleep=0.1"],
        cwd=str(tmp_path),
        env={"PYTHONPATH": os.pathsep.join(sys.path)},
        metrics_patterns=NANOGPT,
        checkpoints=["out/ckpt.pt"],
        resume_args=["--init_from=resume"],
        max_retries=1,
    )  # fmt: skip

    def registered() -> list | None:
        cks = jobs.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
        return cks or None

    (ckpt,) = wait_for(jobs, registered, timeout=180)
    assert ckpt["name"] == "out/ckpt.pt" and ckpt["path"] == "checkpoints/out/ckpt.pt"
    child = wait_for(jobs, lambda: _child_of_tiny_gpt(out))
    wait_for(jobs, lambda: "iter 25:" in jobs.get(f"/api/runs/{run['id']}/logs").json()["text"])
    child.send_signal(signal.SIGKILL)  # mid-run, as the OOM killer would
    done = wait_status(jobs, run["id"], "completed", "failed", timeout=240)
    attempts = jobs.get(f"/api/runs/{run['id']}/attempts").json()["attempts"]
    assert [a["status"] for a in attempts] == ["failed", "succeeded"], done["reason"]
    second = jobs.get(f"/api/runs/{run['id']}/logs", params={"attempt": 2}).json()["text"]
    assert "Overriding: init_from = resume" in second
    assert f"Resuming training from {out}" in second
    assert "iter 0:" not in second  # it went on, not from scratch
    resumed_at = int(second.split("\nstep ")[1].split(":")[0])
    assert 20 <= resumed_at < 200, second
    assert f"iter {resumed_at}:" in second
    steps = _metrics(jobs, run["id"])["val_loss"]["steps"]
    assert steps[-1] == 200
    cks = jobs.get(f"/api/runs/{run['id']}/checkpoints").json()["checkpoints"]
    assert [c["name"] for c in cks] == ["out/ckpt.pt"] and cks[0]["attempt"] == 2


def test_capture_settings_are_checked_at_submit(jobs: LiveClient) -> None:
    before = jobs.get("/api/runs").json()["runs"]
    cases = [
        ({"metrics_patterns": ["(?P<loss>"]}, "is not a valid regex"),
        ({"metrics_patterns": ["loss ([0-9.]+)"]}, "has no metric group"),
        ({"checkpoints": ["../*.pt"]}, "without '..'"),
        ({"expect": [{"name": "m", "glob": "/etc/*"}]}, "must be relative"),
        ({"resume_args": ["--resume"]}, "resume_args need a checkpoints glob"),
    ]
    for extra, message in cases:
        r = jobs.post("/api/runs", json={"command": program("sleeper.py", "1"), **extra})
        assert r.status_code == 400 and message in r.json()["error"]["message"], r.text
    assert jobs.get("/api/runs").json()["runs"] == before  # nothing created


def test_a_tracked_only_run_gets_no_logs_item(jobs: LiveClient) -> None:
    run = jobs.post("/api/runs", json={"experiment": "sdk-only"}).json()
    items = jobs.get(f"/api/runs/{run['id']}/checklist").json()["items"]
    assert "logs ready" not in [i["name"] for i in items]
    assert jobs.get(f"/api/runs/{run['id']}").json()["environment"] is None
