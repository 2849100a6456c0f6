"""MLflow's real client (mlflow-skinny) against a live runyard server: every call a training
script makes, and what runyard then holds."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runyard.config import Settings
from runyard.entities import RunStatus
from runyard.server.app import create_app
from runyard.store import Store
from runyard.store.runs import RunQuery
from tests._live import serve


def test_a_script_logs_as_it_would_to_mlflow(mlflow_url: str, store: Store) -> None:
    import mlflow

    exp = mlflow.set_experiment("digits")
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "optimizer": "adam"})
        mlflow.log_param("lr", 0.01)  # the same value again is fine
        mlflow.log_metric("loss", 1.0, step=0)
        mlflow.log_metrics({"loss": 0.5, "acc": 0.8}, step=1)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "seed": 7})
        with mlflow.start_run(nested=True) as child:
            mlflow.log_metric("inner", 2.0)
    with mlflow.start_run() as unnamed:
        pass

    client = mlflow.MlflowClient()
    got = client.get_run(run.info.run_id)
    assert got.info.run_name == "baseline"
    assert got.info.experiment_id == exp.experiment_id
    assert got.info.status == "FINISHED" and got.info.end_time >= got.info.start_time
    assert got.data.params == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.8}
    assert {
        "team": "vision",
        "stage": "dev",
        "seed": "7",
        "mlflow.runName": "baseline",
    }.items() <= (got.data.tags.items())
    nested = client.get_run(child.info.run_id)
    assert nested.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert client.get_run(unnamed.info.run_id).info.run_name  # the server names it

    # runyard sees a tracked-only run like any other
    mine = store.runs.get(run.info.run_id)
    assert (mine.experiment, mine.name, mine.status) == ("digits", "baseline", RunStatus.COMPLETED)
    assert mine.spec is None and mine.params["optimizer"] == "adam"
    assert mine.metrics == {"loss": 0.5, "acc": 0.8}
    assert store.metrics.read(mine.id, ["loss"])["loss"].values.tolist() == [1.0, 0.5]


def test_asynchronous_logging_arrives(mlflow_url: str, store: Store) -> None:
    import mlflow

    with mlflow.start_run() as run:
        for step in range(50):
            mlflow.log_metric("loss", 1 / (step + 1), step=step, synchronous=False)
        mlflow.log_params({"batch": 32}, synchronous=False)
        mlflow.set_tags({"async": "yes"}, synchronous=False)
        mlflow.flush_async_logging()
    got = mlflow.MlflowClient().get_run(run.info.run_id)
    assert got.data.metrics["loss"] == 1 / 50 and got.data.params == {"batch": "32"}
    assert store.metrics.read(run.info.run_id, ["loss"])["loss"].steps.tolist() == list(range(50))


def test_an_exception_ends_the_run_failed(mlflow_url: str, store: Store) -> None:
    import mlflow

    with pytest.raises(ZeroDivisionError), mlflow.start_run() as run:
        mlflow.log_metric("loss", 1.0)
        _ = 1 / 0
    assert mlflow.MlflowClient().get_run(run.info.run_id).info.status == "FAILED"
    assert store.runs.get(run.info.run_id).status is RunStatus.FAILED
    mlflow.MlflowClient().set_terminated(run.info.run_id, "KILLED")  # a finished run is no lock
    assert store.runs.get(run.info.run_id).status is RunStatus.FAILED


@pytest.mark.slow
@pytest.mark.timeout(900)  # 200 batches through the client: minutes when the machine is busy
def test_metric_history_of_200000_points_and_non_finite_values(mlflow_url: str) -> None:
    import mlflow
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    run = client.create_run("0")
    for batch in range(200):
        metrics = [
            Metric("loss", float(batch * 1000 + i), 1_700_000_000_000 + batch, batch * 1000 + i)
            for i in range(1000)
        ]
        client.log_batch(run.info.run_id, metrics=metrics)
    for value, step in ((math.nan, 0), (math.inf, 1), (-math.inf, 2)):
        client.log_metric(run.info.run_id, "odd", value, step=step)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == 200_000
    assert [m.step for m in history[:3]] == [0, 1, 2] and history[-1].value == 199_999.0
    assert history[-1].timestamp == 1_700_000_000_199
    odd = client.get_metric_history(run.info.run_id, "odd")
    assert math.isnan(odd[0].value) and odd[1].value == math.inf and odd[2].value == -math.inf
    got = client.get_run(run.info.run_id).data.metrics
    assert got == {"loss": 199_999.0, "odd": -math.inf}  # the latest by step


def test_search_runs_filters_orders_and_pages(mlflow_url: str) -> None:
    import mlflow

    exp = mlflow.set_experiment("sweep")
    for i in range(10):
        with mlflow.start_run(run_name=f"trial-{i}"):
            mlflow.log_param("opt", "adam" if i % 2 else "sgd")
            mlflow.log_metric("val loss", 1 - i / 10)
            if i < 5:
                mlflow.log_metric("acc", i / 10)
            mlflow.set_tag("group", "even" if i % 2 == 0 else "odd")
    client = mlflow.MlflowClient()
    ids = [exp.experiment_id]
    found = client.search_runs(ids, "metrics.`val loss` < 0.45 and params.opt = 'adam'")
    assert sorted(r.info.run_name for r in found) == ["trial-7", "trial-9"]
    found = client.search_runs(ids, "tags.group LIKE 'ev%' and attributes.run_name != 'trial-0'")
    assert len(found) == 4
    ordered = client.search_runs(ids, order_by=["metrics.acc DESC"])
    assert [r.info.run_name for r in ordered[:5]] == [f"trial-{i}" for i in (4, 3, 2, 1, 0)]
    assert {r.info.run_name for r in ordered[5:]} == {f"trial-{i}" for i in range(5, 10)}

    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs(
            ids, max_results=4, page_token=token, order_by=["attributes.run_name"]
        )
        seen += [r.info.run_name for r in page]
        pages, token = pages + 1, page.token
        if not token:
            break
    assert pages == 3 and seen == sorted(f"trial-{i}" for i in range(10))
    listed = mlflow.search_runs(
        [exp.experiment_id], filter_string="metrics.acc >= 0.3", output_format="list"
    )
    assert sorted(r.info.run_name for r in listed) == ["trial-3", "trial-4"]


def test_artifacts_round_trip(mlflow_url: str, store: Store, tmp_path: Path) -> None:
    import mlflow

    src = tmp_path / "src"
    (src / "plots").mkdir(parents=True)
    (src / "plots" / "curve.txt").write_text("points")
    (src / "model.bin").write_bytes(b"\x00\x01" * 1000)
    single = tmp_path / "notes.md"
    single.write_text("# notes")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifacts(str(src), artifact_path="out")
    client = mlflow.MlflowClient()
    top = client.list_artifacts(run.info.run_id)
    assert [(f.path, f.is_dir) for f in top] == [("notes.md", False), ("out", True)]
    inner = client.list_artifacts(run.info.run_id, "out")
    assert [(f.path, f.file_size) for f in inner] == [("out/model.bin", 2000), ("out/plots", None)]
    dest = Path(client.download_artifacts(run.info.run_id, "out", str(tmp_path / "dl")))
    assert (dest / "plots" / "curve.txt").read_text() == "points"
    assert (dest / "model.bin").read_bytes() == b"\x00\x01" * 1000
    # runyard keeps them in the run's artifacts/ folder, registered with their hash
    recorded = {a.path: a.size for a in store.files.artifacts(run.info.run_id)}
    assert recorded == {
        "artifacts/notes.md": 7,
        "artifacts/out/plots/curve.txt": 6,
        "artifacts/out/model.bin": 2000,
    }


def test_delete_and_restore_run_and_experiment(mlflow_url: str) -> None:
    import mlflow
    from mlflow.entities import ViewType

    client = mlflow.MlflowClient()
    exp_id = client.create_experiment("trash")
    run = client.create_run(exp_id)
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp_id]) == []
    assert len(client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)) == 1
    with pytest.raises(mlflow.MlflowException, match="must be in the 'active' state"):
        client.log_metric(run.info.run_id, "x", 1.0)
    client.restore_run(run.info.run_id)
    client.log_metric(run.info.run_id, "x", 1.0)
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    names = {e.name for e in client.search_experiments()}
    assert "trash" not in names and "Default" in names
    assert client.search_runs([exp_id], run_view_type=ViewType.ALL)[0].info.lifecycle_stage == (
        "deleted"
    )
    client.restore_experiment(exp_id)
    assert client.get_experiment_by_name("trash").lifecycle_stage == "active"
    assert len(client.search_runs([exp_id])) == 1


def test_tracking_token(settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    guarded = Settings(home=settings.home, database_url=settings.database_url, token="s3cret-token")
    with serve(create_app(guarded, store)) as url:
        client = mlflow.MlflowClient(tracking_uri=url)
        with pytest.raises(mlflow.MlflowException, match="missing bearer token") as refused:
            client.search_experiments()
        assert refused.value.error_code == "UNAUTHENTICATED"  # not INTERNAL_ERROR
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "wrong-token")
        with pytest.raises(mlflow.MlflowException, match="invalid bearer token") as refused:
            client.create_run("0")
        assert refused.value.error_code == "UNAUTHENTICATED"
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cret-token")
        run = client.create_run("0")
        client.log_metric(run.info.run_id, "loss", 0.1)
        assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.1}
    assert store.runs.list(RunQuery()).runs[0].id == run.info.run_id


def test_log_input_keeps_the_dataset(mlflow_url: str, store: Store) -> None:
    import mlflow
    from mlflow.data.http_dataset_source import HTTPDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    # mlflow-skinny has no pandas/numpy datasets; a dataset known by its source is the same call
    data = MetaDataset(HTTPDatasetSource("https://data.example/digits.csv"), name="digits-train")
    with mlflow.start_run() as run:
        mlflow.log_input(data, context="training")
        mlflow.log_input(data, context="training")  # the same input again is kept once
    got = mlflow.MlflowClient().get_run(run.info.run_id)
    [kept] = got.inputs.dataset_inputs
    assert (kept.dataset.name, kept.dataset.digest) == ("digits-train", data.digest)
    assert (kept.dataset.source_type, kept.dataset.source) == ("http", data.source.to_json())
    assert [(t.key, t.value) for t in kept.tags] == [("mlflow.data.context", "training")]
    assert not any(k.startswith("runyard.") for k in got.data.tags)
    assert "dataset:digits-train" in store.runs.get(run.info.run_id).tags  # the dashboard's label
    with pytest.raises(mlflow.MlflowException, match="reserved"):
        mlflow.MlflowClient().set_tag(run.info.run_id, "runyard.mlflow.inputs", "[]")
