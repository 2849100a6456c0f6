"""A server restart neither loses nor duplicates points read from logs and event files, and
checkpoints by glob are registered once stable (real store, real files)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from runyard.capture import Capture
from runyard.entities import JobSpec
from runyard.store import Store


def _job(store: Store, tmp_path: Path, **spec: object) -> tuple[str, Path, JobSpec]:
    job = JobSpec(command=["true"], cwd=str(tmp_path), **spec)  # type: ignore[arg-type]
    run = store.jobs.submit(job, experiment="capture")
    run_dir = Path(run.run_dir)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    return run.id, run_dir, job


def test_log_lines_survive_a_restart_once(store: Store, tmp_path: Path) -> None:
    run_id, run_dir, spec = _job(
        store, tmp_path, metrics_patterns=(r"iter (?P<step>\d+): loss (?P<loss>[\d.]+)",)
    )
    log = run_dir / "logs" / "attempt-1.log"
    with log.open("w") as f:
        f.write("".join(f"iter {i}: loss {i / 10}\n" for i in range(5)))
        f.write("iter 5: loss 0.")  # a line still being written
    created = time.time() - 60
    Capture(store).scan(run_id, run_dir, spec, 1, created)
    assert list(store.metrics.read(run_id)["loss"].steps) == [0, 1, 2, 3, 4]
    with log.open("a") as f:
        f.write("5\n[runyard] a note of the supervisor: loss 9\n")
        f.write("".join(f"iter {i}: loss {i / 10}\n" for i in range(6, 9)))
    restarted = Capture(store)  # a new server process: no memory of what was read
    restarted.scan(run_id, run_dir, spec, 1, created)
    restarted.scan(run_id, run_dir, spec, 1, created)
    loss = store.metrics.read(run_id)["loss"]
    assert list(loss.steps) == list(range(9))
    assert list(loss.values) == [i / 10 for i in range(9)]


def test_tensorboard_records_survive_a_restart_once(store: Store, tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    run_id, run_dir, spec = _job(store, tmp_path)
    writer = SummaryWriter(str(tmp_path / "lightning_logs" / "version_0"))
    for step in range(5):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.flush()
    created = time.time() - 60
    Capture(store).scan(run_id, run_dir, spec, 1, created, final=True)
    assert list(store.metrics.read(run_id)["loss"].steps) == [0, 1, 2, 3, 4]
    for step in range(5, 8):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.close()
    Capture(store).scan(run_id, run_dir, spec, 1, created, final=True)
    loss = store.metrics.read(run_id)["loss"]
    assert list(loss.steps) == list(range(8))
    assert list(loss.values) == pytest.approx([1.0 / (s + 1) for s in range(8)], rel=1e-6)


def test_checkpoints_are_registered_once_stable(store: Store, tmp_path: Path) -> None:
    run_id, run_dir, spec = _job(store, tmp_path, checkpoints=("out/*.pt", "checkpoints/*.pt"))
    created = time.time() - 60
    (tmp_path / "out").mkdir()
    ckpt = tmp_path / "out" / "ckpt.pt"
    ckpt.write_bytes(b"weights v1")
    inside = run_dir / "checkpoints" / "best.pt"
    inside.parent.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(b"best weights")
    old = tmp_path / "out" / "from-last-week.pt"
    old.write_bytes(b"not ours")
    os.utime(old, (created - 3600, created - 3600))
    capture = Capture(store)
    capture.scan(run_id, run_dir, spec, 1, created)
    assert store.files.checkpoints(run_id) == []  # seen once: maybe still being written
    past = time.time() - 5
    os.utime(ckpt, (past, past))
    os.utime(inside, (past, past))
    capture.scan(run_id, run_dir, spec, 1, created)  # first sight of the settled stamps
    capture.scan(run_id, run_dir, spec, 1, created)
    records = {r.name: r for r in store.files.checkpoints(run_id)}
    assert set(records) == {"out/ckpt.pt", "checkpoints/best.pt"}
    copy = records["out/ckpt.pt"]
    assert copy.path == "checkpoints/out/ckpt.pt" and copy.size == len(b"weights v1")
    assert (run_dir / copy.path).read_bytes() == b"weights v1"  # a copy the program can't touch
    assert records["checkpoints/best.pt"].path == "checkpoints/best.pt"
    ckpt.write_bytes(b"weights v2, longer")  # overwritten in place, as nanoGPT does
    capture.scan(run_id, run_dir, spec, 2, created, final=True)  # the attempt ended
    again = {r.name: r for r in store.files.checkpoints(run_id)}
    assert again["out/ckpt.pt"].size == len(b"weights v2, longer")
    assert again["out/ckpt.pt"].attempt == 2
    assert (run_dir / "checkpoints/out/ckpt.pt").read_bytes() == b"weights v2, longer"
    assert len(again) == 2
