"""`runyard import mlflow`: a tracking server's history, read with MLflow's client, copied into
runyard through its MLflow API; a second import adds nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runyard.cli import app
from runyard.config import Settings
from runyard.server.app import create_app
from runyard.store import Store
from runyard.store.runs import RunQuery
from tests._live import serve


def _source_history(url: str, tmp_path: Path) -> str:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=url)
    exp = client.create_experiment("legacy")
    run = client.create_run(exp, run_name="old-run", tags={"team": "vision"})
    client.log_param(run.info.run_id, "lr", "0.1")
    from mlflow.entities import Metric

    points = [Metric("loss", 1 / (i + 1), 1_000 + i, i) for i in range(2500)]
    for i in range(0, 2500, 1000):
        client.log_batch(run.info.run_id, metrics=points[i : i + 1000])
    client.log_metric(run.info.run_id, "odd", math.nan, step=0)
    art = tmp_path / "weights.txt"
    art.write_text("w")
    client.log_artifact(run.info.run_id, str(art), "model")
    client.set_terminated(run.info.run_id, "FINISHED")
    client.create_run(exp, run_name="second")
    return str(run.info.run_id)


def test_import_copies_history_once(
    tmp_path: Path, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    source_settings = Settings(home=tmp_path / "src", database_url=f"sqlite:///{tmp_path}/s.db")
    source_store = Store.open(source_settings.db_url, source_settings.runs_dir)
    with (
        serve(create_app(source_settings, source_store)) as source,
        serve(create_app(settings, store)) as target,
    ):
        old_id = _source_history(source, tmp_path)
        monkeypatch.setenv("RUNYARD_URL", target)
        runner = CliRunner()
        first = runner.invoke(app, ["import", "mlflow", "--from", source, "--experiment", "legacy"])
        assert first.exit_code == 0, first.output
        assert "imported 2 runs" in first.output
        again = runner.invoke(app, ["import", "mlflow", "--from", source])
        assert again.exit_code == 0 and "imported 0 runs" in again.output, again.output
        bad = runner.invoke(app, ["import", "mlflow", "--from", source, "--experiment", "nope"])
        assert bad.exit_code == 2
    source_store.close()
    runs = {r.name: r for r in store.runs.list(RunQuery(experiment="legacy")).runs}
    assert set(runs) == {"old-run", "second"}
    copied = runs["old-run"]
    assert copied.status.value == "completed" and copied.params == {"lr": "0.1"}
    loss = store.metrics.read(copied.id, ["loss"])["loss"]
    assert len(loss.steps) == 2500 and loss.values[-1] == 1 / 2500
    assert loss.timestamps[0] == pytest.approx(1.0)
    assert math.isnan(copied.metrics["odd"])
    tags = store.mlflow.run_tags([copied.id])[copied.id]
    assert tags["team"] == "vision" and tags["runyard.import.source_run"] == old_id
    assert (Path(copied.run_dir) / "artifacts" / "model" / "weights.txt").read_text() == "w"


def test_import_from_an_mlruns_folder(
    tmp_path: Path, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local `mlruns` folder, written by MLflow's own client (its file store)."""
    import mlflow

    mlruns = tmp_path / "mlruns"
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 wants this to write one
    old_id = _source_history(f"file://{mlruns}", tmp_path)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")  # the import must not need it from the user
    assert (mlruns / ".trash").is_dir() and mlflow.__version__
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with serve(create_app(settings, store)) as target:
        monkeypatch.setenv("RUNYARD_URL", target)
        runner = CliRunner()
        first = runner.invoke(app, ["import", "mlflow", "--from", str(mlruns)])
        assert first.exit_code == 0, first.output
        assert "imported 2 runs" in first.output
        again = runner.invoke(app, ["import", "mlflow", "--from", str(mlruns)])
        assert again.exit_code == 0 and "imported 0 runs" in again.output, again.output
        missing = runner.invoke(app, ["import", "mlflow", "--from", str(tmp_path / "nope")])
        assert missing.exit_code == 2
    runs = {r.name: r for r in store.runs.list(RunQuery(experiment="legacy")).runs}
    assert set(runs) == {"old-run", "second"}
    copied = runs["old-run"]
    assert copied.status.value == "completed" and copied.params == {"lr": "0.1"}
    loss = store.metrics.read(copied.id, ["loss"])["loss"]
    assert len(loss.steps) == 2500 and loss.values[-1] == 1 / 2500
    assert math.isnan(copied.metrics["odd"])
    tags = store.mlflow.run_tags([copied.id])[copied.id]
    assert tags["team"] == "vision" and tags["runyard.import.source_run"] == old_id
    assert (Path(copied.run_dir) / "artifacts" / "model" / "weights.txt").read_text() == "w"
