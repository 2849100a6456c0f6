"""Evaluation of a run: predictions logged per split become metrics and a report.

`POST /predictions` is what `run.log_predictions` sends once `eval/<split>.npz` is on disk:
the server computes the metrics (runyard.evaluation.metrics) and stores them as the run's
metrics `<split>/auc`, `<split>/dice`, … with goal "max", so compare marks the best.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, BackgroundTasks
from pydantic import BaseModel, Field

from runyard.entities import Goal
from runyard.errors import NotFound, RunyardError
from runyard.evaluation import predictions, report, visuals
from runyard.server._deps import StoreDep
from runyard.server.routes import ERRORS
from runyard.store import Store
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
    return EvaluationOut(run_id=run_id, splits=report.run_report(Path(run.run_dir))["splits"])


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
    return VisualsOut(run_id=run_id, methods=visuals.galleries(Path(run.run_dir)))
