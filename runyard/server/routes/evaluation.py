"""Evaluation of a run: predictions logged per split become metrics and a report.

`POST /predictions` is what `run.log_predictions` sends once `eval/<split>.npz` is on disk:
the server computes the metrics (runyard.evaluation.metrics) and stores them as the run's
metrics `<split>/auc`, `<split>/dice`, … with goal "max", so compare marks the best.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field, ValidationError

from runyard.entities import Goal, Run
from runyard.errors import BadRequest, NotFound, RunyardError
from runyard.evaluation import checkpoint, predictions, report, visuals
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.server.routes.jobs import submit
from runyard.server.schemas import RunCreate, RunOut
from runyard.store import Store
from runyard.store.files import CheckpointRecord
from runyard.store.metrics import Series

log = logging.getLogger("runyard.server")
_COMPUTING = threading.Lock()
router = APIRouter(prefix="/api/runs/{run_id}", tags=["evaluation"], responses=ERRORS)


class PredictionsIn(BaseModel):
    split: str = Field(description="the split whose `eval/<split>.npz` was written")
    attempt: int | None = None


class EvaluationOut(BaseModel):
    """Per split: kind, n, metrics, per_class, confusion_matrix, roc, worst, notes."""

    run_id: str
    splits: dict[str, dict[str, Any]]


def record_metrics(store: Store, run_id: str, split_report: dict[str, Any]) -> dict[str, float]:
    values = report.run_metrics(split_report)
    if values:
        store.metrics.set_goals(run_id, {k: Goal.MAX for k in values})
        now = time.time()
        store.metrics.ingest(
            run_id,
            [
                Series(k, np.zeros(1, np.int64), np.array([v]), np.array([now]))
                for k, v in values.items()
            ],
        )
    return values


def split_file(run_dir: str, split: str) -> Path:
    path = Path(run_dir) / predictions.FOLDER / f"{predictions.check_split(split)}.npz"
    if not path.is_file():
        raise NotFound(f"no predictions for split {split!r}: {path.name} is not in eval/")
    return path


def _compute(store: Store, run_id: str, path: Path) -> None:
    # One at a time: two first computations would import torch in two threads at once.
    with _COMPUTING:
        try:
            record_metrics(store, run_id, report.split_report(path))
        except RunyardError as exc:
            log.warning("evaluation of %s for run %s: %s", path.name, run_id, exc.message)
        except Exception:
            log.exception("evaluation of %s for run %s failed", path.name, run_id)


@router.post("/predictions", status_code=202)
def add_predictions(
    run_id: str, body: PredictionsIn, store: StoreDep, background: BackgroundTasks
) -> dict[str, Any]:
    """Compute the split's metrics from its file, after answering (the first computation
    imports torch and MONAI: seconds), and record them as the run's metrics."""
    run = store.runs.get(run_id)
    path = split_file(run.run_dir, body.split)
    background.add_task(_compute, store, run_id, path)
    return {"split": body.split, "status": "computing"}


@router.get("/evaluation")
def get_evaluation(run_id: str, store: StoreDep) -> EvaluationOut:
    """The report per split: metrics, ROC points, confusion matrix, per-class table, the
    worst-scored ids."""
    run = store.runs.get(run_id)
    splits = report.run_report(Path(run.run_dir))["splits"]
    for other in _evaluations_of(store, run):
        for name, rep in report.run_report(Path(other.run_dir))["splits"].items():
            splits[f"{name}@{other.id}"] = {**rep, "source_run": other.id}
    return EvaluationOut(run_id=run_id, splits=splits)


class VisualsOut(BaseModel):
    """Per method: count, mean_roi_score, mean_roi_share, and images (id, roi_score,
    roi_share, label, and the artifact paths of image, map and overlay)."""

    run_id: str
    methods: dict[str, dict[str, Any]]


@router.get("/visuals")
def get_visuals(run_id: str, store: StoreDep) -> VisualsOut:
    """The saliency galleries of the run (`run.log_saliency`), with saliency-in-ROI scores;
    the files download from `/api/runs/{id}/artifacts/{path}`."""
    run = store.runs.get(run_id)
    methods = visuals.galleries(Path(run.run_dir))
    for other in _evaluations_of(store, run):
        for name, gallery in visuals.galleries(Path(other.run_dir)).items():
            base = f"/api/runs/{other.id}/artifacts/"
            images = [
                {**e, **{k: base + e[k] for k in ("image", "map", "overlay")}}
                for e in gallery["images"]
            ]
            methods[f"{name}@{other.id}"] = {**gallery, "images": images, "source_run": other.id}
    return VisualsOut(run_id=run_id, methods=methods)


LINKS = "evaluations.json"  # in the evaluated run's eval/: the ids of its evaluation runs


def _evaluations_of(store: Store, run: Run) -> list[Run]:
    path = Path(run.run_dir) / predictions.FOLDER / LINKS
    try:
        ids = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(ids, list):
        return []
    out = []
    for other in ids:
        try:
            out.append(store.runs.get(str(other)))
        except NotFound:
            continue
    return out


class EvaluationIn(BaseModel):
    command: list[str] = Field(min_length=1, description="argv of the evaluation program")
    checkpoint: str = Field(default="best", description="best, last, or a checkpoint's name")
    split: str = "test"
    name: str | None = None
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)


def _job(run: Run, record: CheckpointRecord, body: EvaluationIn, env: dict[str, str]) -> RunCreate:
    return RunCreate(
        command=body.command,
        name=body.name or f"eval-{run.name}"[:100],
        experiment=run.experiment,
        params={"evaluates": run.id, "checkpoint": record.name, "split": body.split},
        tags=["evaluation"],
        cwd=body.cwd,
        env=env,
        max_retries=0,
    )


@router.post("/evaluations", status_code=201)
def add_evaluation(run_id: str, body: EvaluationIn, request: Request, store: StoreDep) -> RunOut:
    """Submit an evaluation job of one of the run's checkpoints (verified by SHA-256 first):
    it gets RUNYARD_CHECKPOINT and RUNYARD_EVALUATES, and its report and visuals show on this
    run too."""
    run = store.runs.get(run_id)
    predictions.check_split(body.split)
    record = checkpoint.choose(run, store.files.checkpoints(run_id), body.checkpoint)
    path = checkpoint.verified_path(run, record)
    env = {
        **body.env,
        "RUNYARD_CHECKPOINT": str(path),
        "RUNYARD_EVALUATES": run_id,
        "RUNYARD_EVAL_SPLIT": body.split,
    }
    try:
        job = _job(run, record, body, env)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"evaluation job: {where}: {first['msg']}") from None
    evaluation = submit(job, request, store)
    links = Path(run.run_dir) / predictions.FOLDER / LINKS
    links.parent.mkdir(parents=True, exist_ok=True)
    known = [other.id for other in _evaluations_of(store, run)]
    tmp = links.with_name(f".{LINKS}.tmp")
    tmp.write_text(json.dumps([*known, evaluation.id]))
    os.replace(tmp, links)
    return RunOut.model_validate(evaluation)
