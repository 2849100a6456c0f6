"""metrics.jsonl and progress.json written by a program that does not use the SDK."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from runyard.store.metrics import Series
from runyard.store.run_files import RunFiles
from runyard.store.tables import metric_chunks


def _run_dir(store: Store) -> tuple[str, Path]:
    run = store.runs.create(experiment="e")
    path = Path(run.run_dir)
    path.mkdir(parents=True)
    return run.id, path


def _append(path: Path, *lines: str) -> None:
    with (path / "metrics.jsonl").open("a") as f:
        f.write("".join(lines))


def test_metrics_jsonl_is_read_incrementally_and_exactly_once(store: Store) -> None:
    run_id, d = _run_dir(store)
    _append(d, '{"step": 0, "epoch": 0, "loss": 1.5}\n', '{"step": 1, "loss": "NaN"}\n')
    _append(d, '{"step": 2, "loss": 0.7')  # a line still being written
    assert store.run_files.scan(run_id, d) == 3
    _append(d, ', "acc": 0.5}\n', "not json\n", '{"loss": 0.2}\n', '{"step": 1.5, "loss": 9}\n')
    assert store.run_files.scan(run_id, d) == 3
    # a fresh reader (a restarted server) re-reads nothing
    assert RunFiles(store.engine, store.metrics, store.run_state).scan(run_id, d) == 0
    data = store.metrics.read(run_id)
    assert data["loss"].steps.tolist() == [0, 1, 2, 4]  # no step: the line number
    assert data["loss"].values[0] == 1.5 and math.isnan(data["loss"].values[1])
    assert data["acc"].values.tolist() == [0.5]
    assert data["epoch"].values.tolist() == [0.0]


def test_progress_json_sets_progress(store: Store) -> None:
    run_id, d = _run_dir(store)
    (d / "progress.json").write_text(
        json.dumps({"completed_epochs": 57, "total_epochs": 100, "early_stopped": True,
                    "early_stopped_at_epoch": 57})
    )  # fmt: skip
    store.run_files.scan(run_id, d)
    p = store.run_state.progress(run_id)
    assert (p.epoch, p.total_epochs, p.early_stopped, p.stopped_at_epoch) == (57, 100, True, 57)
    assert p.percent == 100.0


def test_corrupt_or_missing_progress_is_recomputed_from_metrics(store: Store) -> None:
    run_id, d = _run_dir(store)
    store.run_state.set_progress(run_id, total_epochs=10)
    _append(d, *(f'{{"step": {i}, "epoch": {i // 2}, "loss": 1}}\n' for i in range(8)))
    (d / "progress.json").write_text("{broken")
    store.run_files.scan(run_id, d)
    rewritten = json.loads((d / "progress.json").read_text())
    assert rewritten["completed_epochs"] == 4 and rewritten["total_epochs"] == 10
    assert rewritten["progress_percentage"] == 40.0
    (d / "progress.json").unlink()
    _append(d, '{"step": 8, "epoch": 4, "loss": 1}\n')
    store.run_files.scan(run_id, d)
    assert json.loads((d / "progress.json").read_text())["completed_epochs"] == 5


def test_small_chunks_are_merged_without_changing_reads(store: Store) -> None:
    run = store.runs.create(experiment="e")
    rng = np.random.default_rng(1)
    for i in range(20):
        steps = np.arange(i * 5, i * 5 + 5)
        store.metrics.ingest(run.id, [Series("loss", steps, rng.random(5), steps * 0.1 + 1e9)])
    before = store.metrics.read(run.id)["loss"]
    summary = store.metrics.summaries(run.id)
    assert store.metrics.compact() == 1
    with store.engine.connect() as conn:
        chunks = conn.execute(sa.select(sa.func.count()).select_from(metric_chunks)).scalar()
    assert chunks == 1
    after = store.metrics.read(run.id)["loss"]
    assert after.steps.tolist() == before.steps.tolist()
    assert after.values.tobytes() == before.values.tobytes()
    assert store.metrics.summaries(run.id) == summary
    assert store.metrics.compact() == 0


def test_two_compactions_at_once_merge_each_point_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second compaction (another process) merges the chunks this one has just read: this
    one then merges nothing, rather than writing the same points a second time."""
    from runyard.store import _codec

    run = store.runs.create(experiment="e")
    for i in range(10):
        steps = np.arange(i * 5, i * 5 + 5)
        store.metrics.ingest(run.id, [Series("loss", steps, steps * 1.0, steps * 0.1 + 1e9)])
    url = store.engine.url.render_as_string(hide_password=False)
    decode, other = _codec.decode, Store.open(url, store.runs_root, migrate=False)
    merged: list[int] = []

    def decode_while_another_merges(data: bytes, count: int) -> object:
        if not merged:
            merged.append(-1)
            merged[0] = other.metrics.compact()  # between this one's read and its write
        return decode(data, count)

    monkeypatch.setattr(_codec, "decode", decode_while_another_merges)
    try:
        store.metrics.compact()
    finally:
        other.close()
    assert merged == [1]
    assert store.metrics.read(run.id)["loss"].steps.tolist() == list(range(50))


def test_server_reads_run_dirs_of_active_runs(settings: Settings, store: Store) -> None:
    fast = settings.model_copy(update={"poll_interval_s": 0.05})
    with TestClient(create_app(fast, store)) as client:
        run = client.post("/api/runs", json={}).json()
        _append(Path(run["run_dir"]), '{"step": 3, "val/acc": 0.75}\n')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if client.get(f"/api/runs/{run['id']}").json()["metrics"]:
                break
            time.sleep(0.05)
        assert client.get(f"/api/runs/{run['id']}").json()["metrics"] == {"val/acc": 0.75}
        _append(Path(run["run_dir"]), '{"step": 4, "val/acc": 0.8}\n')
        # finishing reads what was written last, without waiting for the poll
        client.post(f"/api/runs/{run['id']}/finish", json={"status": "completed"})
        summary = client.get(f"/api/runs/{run['id']}/summary").json()
        assert summary["metrics"]["val/acc"]["last"] == 0.8
