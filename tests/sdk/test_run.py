"""The SDK in this process against a real server: what a script logs is what the server has."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import httpx
import pytest

import runyard
from tests.conftest import ServerProcess
from tests.sdk.conftest import closed_url, get, series


def test_log_auto_increments_steps_and_logs_epoch(online: ServerProcess) -> None:
    with runyard.init(experiment="e", name="steps") as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5, "acc": 3}, epoch=0)
        run.log({"loss": 0.25}, step=10, epoch=1)
        run.log({"loss": 0.125})
    assert run.delivered is True
    data = series(online.url, run.id)
    assert data["loss"]["steps"] == [0, 1, 10, 11]
    assert data["loss"]["values"] == [1.0, 0.5, 0.25, 0.125]
    assert data["acc"] == {**data["acc"], "steps": [1], "values": [3.0]}
    assert data["epoch"]["steps"] == [1, 10] and data["epoch"]["values"] == [0.0, 1.0]
    got = get(online.url, f"/api/runs/{run.id}")
    assert (got["name"], got["experiment"], got["status"]) == ("steps", "e", "completed")


def test_nan_and_infinity_survive(online: ServerProcess) -> None:
    with runyard.init() as run:
        run.log({"x": float("nan")})
        run.log({"x": float("inf")})
        run.log({"x": float("-inf")})
    assert series(online.url, run.id)["x"]["values"] == ["NaN", "Infinity", "-Infinity"]


def test_define_metric_sets_best_and_primary(online: ServerProcess) -> None:
    with runyard.init() as run:
        run.define_metric("val/acc", goal="max", primary=True)
        run.define_metric("val/loss", goal="min")
        for step, (acc, loss) in enumerate([(0.5, 0.9), (0.8, 0.4), (0.7, 0.6)]):
            run.log({"val/acc": acc, "val/loss": loss}, step=step)
    summary = get(online.url, f"/api/runs/{run.id}/summary")
    assert summary["primary_metric"] == "val/acc"
    acc, loss = summary["metrics"]["val/acc"], summary["metrics"]["val/loss"]
    assert (acc["best"], acc["best_step"], acc["goal"]) == (0.8, 1, "max")
    assert (loss["best"], loss["best_step"], loss["count"], loss["last"]) == (0.4, 1, 3, 0.6)


def test_context_manager_sets_the_final_status(online: ServerProcess) -> None:
    with runyard.init() as ok:
        ok.log({"x": 1.0})
    with pytest.raises(ZeroDivisionError), runyard.init() as bad:
        bad.log({"x": 1.0})
        _ = 1 / 0
    assert get(online.url, f"/api/runs/{ok.id}")["status"] == "completed"
    assert get(online.url, f"/api/runs/{bad.id}")["status"] == "failed"


def test_config_and_log_params_are_merged(online: ServerProcess) -> None:
    with runyard.init(config={"lr": 0.1, "opt": "adam"}, tags=["a", "b"], notes="n") as run:
        run.log_params({"batch": 32, "lr": 0.2, "where": Path("/data")})
    got = get(online.url, f"/api/runs/{run.id}")
    assert got["params"] == {"lr": 0.2, "opt": "adam", "batch": 32, "where": "/data"}
    assert (got["tags"], got["notes"]) == (["a", "b"], "n")


def test_checkpoint_is_placed_hashed_recorded_and_registered(
    online: ServerProcess, tmp_path: Path
) -> None:
    src = tmp_path / "work" / "model.pt"
    src.write_bytes(os.urandom(50_000))
    with runyard.init() as run:
        placed = run.checkpoint(src, step=7, epoch=1, metrics={"val/loss": 0.3}, name="best.pt")
        local = (run.dir / "checkpoints.jsonl").read_text().splitlines()
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    assert placed == run.dir / "checkpoints" / "best.pt"
    assert placed.read_bytes() == src.read_bytes()
    assert os.stat(placed).st_ino == os.stat(src).st_ino  # same filesystem: a hard link
    assert len(local) == 1 and digest in local[0] and '"checkpoints/best.pt"' in local[0]
    records = get(online.url, f"/api/runs/{run.id}/checkpoints")["checkpoints"]
    fields = ("name", "path", "size", "sha256", "step", "epoch")
    assert [tuple(c[f] for f in fields) for c in records] == [
        ("best.pt", "checkpoints/best.pt", 50_000, digest, 7, 1)
    ]
    assert records[0]["metrics"] == {"val/loss": 0.3}


def test_log_artifact_is_placed_and_registered(online: ServerProcess, tmp_path: Path) -> None:
    src = tmp_path / "work" / "cm.png"
    src.write_bytes(b"png" * 100)
    with runyard.init() as run:
        placed = run.log_artifact(src, name="plots/cm.png")
        with pytest.raises(ValueError):
            run.log_artifact(src, name="../outside.png")
    assert (
        placed == run.dir / "artifacts" / "plots" / "cm.png" and placed.read_bytes() == b"png" * 100
    )
    files = get(online.url, f"/api/runs/{run.id}/artifacts")["files"]
    (record,) = [f for f in files if f["registered"]]
    assert (record["path"], record["size"], record["kind"]) == (
        "artifacts/plots/cm.png", 300, "artifact",
    )  # fmt: skip
    assert record["sha256"] == hashlib.sha256(b"png" * 100).hexdigest()


def test_resume_from_comes_from_the_environment(
    online: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    with runyard.init() as run:
        assert run.resume_from is None
    monkeypatch.setenv("RUNYARD_RESUME_FROM", "/runs/x/checkpoints/epoch-3.pt")
    with runyard.init() as run:
        assert run.resume_from == Path("/runs/x/checkpoints/epoch-3.pt")


def test_attaches_to_the_runners_run(
    online: ServerProcess, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    created = httpx.post(f"{online.url}/api/runs", json={"name": "launched"}).json()
    run_dir = tmp_path / "rundir"
    monkeypatch.setenv("RUNYARD_RUN_ID", created["id"])
    monkeypatch.setenv("RUNYARD_RUN_DIR", str(run_dir))
    monkeypatch.setenv("RUNYARD_ATTEMPT", "1")
    with runyard.init(experiment="ignored", config={"lr": 0.5}) as run:
        run.log({"x": 2.0})
    assert (run.id, run.dir) == (created["id"], run_dir)
    assert (run_dir / "spool" / "run.json").is_file()
    assert not any((run_dir / "spool").glob("*.spool"))  # all delivered: nothing kept twice
    got = get(online.url, f"/api/runs/{run.id}")
    assert (got["name"], got["params"], got["status"]) == ("launched", {"lr": 0.5}, "completed")
    assert series(online.url, run.id)["x"]["values"] == [2.0]


def test_bad_input_raises_at_the_call_site(online: ServerProcess) -> None:
    with runyard.init() as run:
        with pytest.raises(TypeError):
            run.log({"x": "1.0"})
        with pytest.raises(TypeError):
            run.log({"x": None})
        with pytest.raises(TypeError):
            run.log({3: 1.0})  # type: ignore[dict-item]
        with pytest.raises(ValueError):
            run.log({"k" * 251: 1.0})
        with pytest.raises(TypeError):
            run.log({"x": 1.0}, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            run.log([("x", 1.0)])  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            run.define_metric("x", goal="best")
        run.log({"x": True, "y": 2**70}, step=5)  # bools and big ints are numbers
    assert series(online.url, run.id)["x"] == {**series(online.url, run.id)["x"], "steps": [5]}
    with pytest.raises(RuntimeError):
        run.log({"x": 1.0})


def test_a_refused_op_is_dropped_with_a_warning_and_the_rest_arrives(
    online: ServerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="runyard.sdk")
    with runyard.init() as run:
        run.log({"x": 1.0})
        run.progress(-1)  # the server refuses a negative epoch: 4xx
        run.log({"x": 2.0})
    assert series(online.url, run.id)["x"]["values"] == [1.0, 2.0]
    assert get(online.url, f"/api/runs/{run.id}")["status"] == "completed"
    dropped = [r for r in caplog.records if "dropped a progress op" in r.getMessage()]
    assert len(dropped) == 1


def test_without_a_server_init_is_quick_and_records_offline(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_URL", closed_url())
    t0 = time.monotonic()
    run = runyard.init(config={"a": 1})
    took = time.monotonic() - t0
    run.log({"x": 1.0})
    run.finish()
    assert took < 5.0  # bounded by the ~2 s connect and read timeouts, with slack
    assert run.offline and run.delivered is False
    assert run.dir == workdir / "runyard-offline" / run.id
    assert len(run.id) == 16 and run.id.isalnum() and run.id.lower() == run.id
    assert any((run.dir / "spool").glob("*.spool"))
