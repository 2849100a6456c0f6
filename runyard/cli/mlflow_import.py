"""`runyard import mlflow --from URI`: bring experiments, runs, params, tags, full metric
histories and artifacts from an MLflow server (or a local `mlruns` folder) into runyard.

It reads with MLflow's own client and writes through the runyard server on RUNYARD_URL, so the
server stays the one writer: runs 1,000 to a request (`POST /api/runs:batch`), then each
run's metric histories through runyard's columnar ingest and its artifacts through runyard's
MLflow artifact API. Each copied run carries the tag `runyard.import.source_run`
(the source run's id): a second import finds it and adds nothing.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.progress import Progress

from runyard.cli._client import Client, fail
from runyard.config import Settings
from runyard.sdk.bulk import RunsRefused, record_runs

app = typer.Typer(help="Bring history from other trackers.", no_args_is_help=True)
SOURCE_TAG = "runyard.import.source_run"
BATCH = 1000  # runs per POST /api/runs:batch
POINTS = 100_000  # metric points per ingest request
JSON = {"content-type": "application/json"}
STATUSES = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "cancelled"}


def _chunks(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def _target_name(name: str) -> str:
    return "default" if name == "Default" else name  # MLflow's default is runyard's


def _done(target: Any, name: str) -> set[str]:
    """Source run ids copied by an earlier import into the experiment ``name``."""
    from mlflow.entities import ViewType

    found = target.get_experiment_by_name("Default" if name == "default" else name)
    if found is None:
        return set()
    copies = target.search_runs(
        [found.experiment_id], f"tags.`{SOURCE_TAG}` IS NOT NULL", ViewType.ALL, 50000
    )
    return {r.data.tags.get(SOURCE_TAG) for r in copies}


def _item(run: Any, experiment: str) -> dict[str, Any]:
    """A run of `POST /api/runs:batch`: params, tags, name, times and status (no metrics: the
    whole history follows)."""
    info = run.info
    tags = {k: v for k, v in run.data.tags.items() if k != "mlflow.runName"}
    tags[SOURCE_TAG] = info.run_id
    status = STATUSES.get(info.status, "running")
    started = info.start_time / 1000 if info.start_time else None
    ended = info.end_time / 1000 if info.end_time and status != "running" else None
    if started is not None and ended is not None:
        ended = max(ended, started)
    return {
        "name": info.run_name or None,
        "experiment": experiment,
        "status": status,
        "params": dict(run.data.params),
        "mlflow_tags": tags,
        "started_at": started,
        "ended_at": ended,
    }


def _number(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _copy_history(source: Any, http: Client, run: Any, new_id: str) -> None:
    """Every metric's full history, through runyard's columnar ingest."""
    for key in run.data.metrics:
        history = source.get_metric_history(run.info.run_id, key)
        for chunk in _chunks(history, POINTS):
            series = {
                "steps": [m.step for m in chunk],
                "values": [_number(m.value) for m in chunk],
                "timestamps": [m.timestamp / 1000 for m in chunk],
            }
            body = orjson.dumps({"metrics": {key: series}})
            http.request("POST", f"/api/runs/{new_id}/metrics", content=body, headers=JSON)


def _copy_artifacts(source: Any, target: Any, run_id: str, new_id: str) -> None:
    with tempfile.TemporaryDirectory(prefix="runyard-import-") as tmp:
        if source.list_artifacts(run_id):
            local = source.download_artifacts(run_id, "", tmp)
            target.log_artifacts(new_id, local)


def _copy_runs(
    source: Any, target: Any, http: Client, settings: Settings, runs: list[Any], name: str
) -> Iterator[None]:
    """Runs, 1,000 to a request (params and tags), then each one's history and artifacts."""
    for chunk in _chunks(runs, BATCH):
        try:
            ids = record_runs(
                [_item(r, name) for r in chunk], url=settings.url, token=settings.token_value
            )
        except RunsRefused as exc:
            fail(f"the runyard server refused runs of {name!r}: {exc.message}")
        except httpx.HTTPError as exc:
            fail(f"cannot reach the runyard server at {settings.url} ({exc})")
        for run, new_id in zip(chunk, ids, strict=True):
            _copy_history(source, http, run, new_id)
            _copy_artifacts(source, target, run.info.run_id, new_id)
            yield


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
    http = Client(settings)
    with contextlib.closing(http), Progress() as progress:
        for exp in experiments:
            runs = source.search_runs([exp.experiment_id], max_results=50000)
            task = progress.add_task(f"{exp.name}", total=len(runs))
            name = _target_name(exp.name)
            done = _done(target, name)
            todo = [r for r in runs if r.info.run_id not in done]
            skipped += len(runs) - len(todo)
            progress.advance(task, len(runs) - len(todo))
            for _ in _copy_runs(source, target, http, settings, todo, name):
                copied += 1
                progress.advance(task)
    typer.echo(
        f"imported {copied} runs from {len(experiments)} experiments ({skipped} already here)"
    )
