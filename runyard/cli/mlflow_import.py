"""`runyard import mlflow --from URI`: bring experiments, runs, params, tags, full metric
histories and artifacts from an MLflow server (or a local `mlruns` folder) into runyard.

It reads with MLflow's own client and writes through runyard's MLflow API on RUNYARD_URL, so
the server stays the one writer. Each copied run carries the tag `runyard.import.source_run`
(the source run's id): a second import finds it and adds nothing.
"""

from __future__ import annotations

import os
import tempfile
from typing import Annotated, Any

import typer
from rich.progress import Progress

from runyard.cli._client import fail
from runyard.config import Settings

app = typer.Typer(help="Bring history from other trackers.", no_args_is_help=True)
SOURCE_TAG = "runyard.import.source_run"
BATCH = 1000


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def _target_experiment(target: Any, name: str) -> str:
    found = target.get_experiment_by_name(name)
    return str(found.experiment_id) if found else str(target.create_experiment(name))


def _copy_run(source: Any, target: Any, run: Any, exp_id: str) -> None:
    from mlflow.entities import Metric, Param

    run_id = run.info.run_id
    tags = {k: v for k, v in run.data.tags.items() if k != "mlflow.runName"}
    tags[SOURCE_TAG] = run_id
    copy = target.create_run(
        exp_id, start_time=run.info.start_time, tags=tags, run_name=run.info.run_name
    )
    new_id = copy.info.run_id
    params = [Param(k, v) for k, v in run.data.params.items()]
    for chunk in _chunks(params, 100):
        target.log_batch(new_id, params=chunk)
    for key in run.data.metrics:
        history = source.get_metric_history(run_id, key)
        points = [Metric(m.key, m.value, m.timestamp, m.step) for m in history]
        for chunk in _chunks(points, BATCH):
            target.log_batch(new_id, metrics=chunk)
    with tempfile.TemporaryDirectory(prefix="runyard-import-") as tmp:
        if source.list_artifacts(run_id):
            local = source.download_artifacts(run_id, "", tmp)
            target.log_artifacts(new_id, local)
    if run.info.status != "RUNNING":
        target.set_terminated(new_id, run.info.status, end_time=run.info.end_time)


@app.command("mlflow")
def import_mlflow(
    source_uri: Annotated[
        str, typer.Option("--from", help="An MLflow tracking URI: http(s)://… or an mlruns folder.")
    ],
    experiment: Annotated[
        str | None, typer.Option(help="Copy only this experiment (by name).")
    ] = None,
) -> None:
    """Copy experiments and runs from MLflow into runyard; runs copied before are skipped."""
    try:
        import mlflow
        from mlflow.entities import ViewType
    except ImportError:
        fail("importing from MLflow needs its client: pip install 'runyard[mlflow]'", 2)
    settings = Settings()
    if settings.token_value:
        os.environ.setdefault("MLFLOW_TRACKING_TOKEN", settings.token_value)
    if "://" not in source_uri:
        if not os.path.isdir(source_uri):
            fail(f"--from {source_uri!r} is neither a URL nor a folder", 2)
        source_uri = "file://" + os.path.abspath(source_uri)
    if source_uri.startswith("file:"):  # MLflow 3 refuses its file store unless told to read it
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    source = mlflow.MlflowClient(tracking_uri=source_uri)
    target = mlflow.MlflowClient(tracking_uri=settings.url)
    try:
        experiments = list(source.search_experiments(view_type=ViewType.ACTIVE_ONLY))
    except Exception as exc:  # noqa: BLE001  (any failure of the source is the user's to fix)
        fail(f"cannot read MLflow at {source_uri}: {exc}")
    if experiment is not None:
        experiments = [e for e in experiments if e.name == experiment]
        if not experiments:
            fail(f"MLflow at {source_uri} has no experiment {experiment!r}", 2)
    copied = skipped = 0
    with Progress() as progress:
        for exp in experiments:
            runs = source.search_runs([exp.experiment_id], max_results=50000)
            task = progress.add_task(f"{exp.name}", total=len(runs))
            exp_id = _target_experiment(target, exp.name)
            done = {
                r.data.tags.get(SOURCE_TAG)
                for r in target.search_runs(
                    [exp_id], f"tags.`{SOURCE_TAG}` IS NOT NULL", ViewType.ALL, 50000
                )
            }
            for run in runs:
                if run.info.run_id in done:
                    skipped += 1
                else:
                    _copy_run(source, target, run, exp_id)
                    copied += 1
                progress.advance(task)
    typer.echo(
        f"imported {copied} runs from {len(experiments)} experiments ({skipped} already here)"
    )
