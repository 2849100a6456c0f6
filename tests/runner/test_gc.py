from __future__ import annotations

import hashlib
from pathlib import Path

from runyard.entities import Goal, RunStatus
from runyard.runner import gc
from runyard.store import Store
from runyard.store.files import CheckpointRecord


def _ckpt(store: Store, run_id: str, run_dir: Path, i: int, loss: float) -> None:
    path = run_dir / "checkpoints" / f"e{i}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"w" * (i + 1))
    store.files.add_checkpoint(
        run_id,
        CheckpointRecord(
            name=f"e{i}.pt", path=f"checkpoints/e{i}.pt", attempt=1, step=i, epoch=i,
            size=i + 1, sha256=hashlib.sha256(b"w" * (i + 1)).hexdigest(),
            metrics={"val/loss": loss}, created_at=1000.0 + i,
        ),
    )  # fmt: skip


def test_retention_keeps_the_last_n_and_the_best(store: Store) -> None:
    run = store.runs.create(experiment="e")
    store.metrics.set_goals(run.id, {"val/loss": Goal.MIN}, primary="val/loss")
    run_dir = Path(run.run_dir)
    for i, loss in enumerate([0.9, 0.1, 0.5, 0.4, 0.6]):
        _ckpt(store, run.id, run_dir, i, loss)
    assert gc.surplus_checkpoints(store, keep_last=2) == []  # only ended runs are pruned
    store.run_state.finish(run.id, RunStatus.COMPLETED)
    found = gc.surplus_checkpoints(store, keep_last=2)
    assert sorted(r.why for r in found) == ["checkpoint e0.pt", "checkpoint e2.pt"]
    gc.remove(store, found)
    kept = sorted(c.name for c in store.files.checkpoints(run.id))
    assert kept == ["e1.pt", "e3.pt", "e4.pt"]  # the best (0.1) and the last two
    assert not (run_dir / "checkpoints" / "e0.pt").exists()
    assert (run_dir / "checkpoints" / "e1.pt").exists()


def test_failed_run_with_a_checkpoint_is_not_dead(store: Store) -> None:
    run = store.runs.create(experiment="e")
    _ckpt(store, run.id, Path(run.run_dir), 0, 1.0)
    store.run_state.finish(run.id, RunStatus.FAILED)
    empty = store.runs.create(experiment="e")
    Path(empty.run_dir).mkdir(parents=True)
    store.run_state.finish(empty.id, RunStatus.CANCELLED)
    assert [r.run_id for r in gc.dead_run_dirs(store)] == [empty.id]
