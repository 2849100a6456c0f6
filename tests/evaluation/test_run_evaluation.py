"""run.log_predictions → eval/<split>.npz → metrics on the run, the report, `runyard eval show`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import runyard
from tests.conftest import ServerProcess
from tests.sdk.conftest import get, poll


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runyard", *args],
        env={"RUNYARD_URL": url, "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_predictions_become_metrics_and_a_report(online: ServerProcess) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.clip(y * 0.4 + rng.random(300) * 0.6, 0, 1)
    masks = np.zeros((4, 16, 16), np.uint8)
    masks[:, 4:10, 4:10] = 1
    preds = masks.copy()
    preds[3] = 0
    with runyard.init(experiment="eval") as run:
        path = run.log_predictions("test", y_true=y, y_score=s, ids=[f"p{i}" for i in range(300)])
        run.log_predictions("seg", masks=masks, preds=preds)
    assert path == run.dir / "eval" / "test.npz" and path.is_file()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    url = online.url

    def metrics() -> dict[str, float]:
        return get(url, f"/api/runs/{run.id}")["metrics"]

    values = poll(lambda: "seg/dice" in metrics() and metrics(), 180, "evaluation metrics")
    assert values["test/auc"] == pytest.approx(roc_auc_score(y, s))
    assert values["seg/dice"] == pytest.approx(0.75)
    assert get(url, f"/api/runs/{run.id}")["metric_goals"]["test/auc"] == "max"

    report = get(url, f"/api/runs/{run.id}/evaluation")["splits"]
    test = report["test"]
    assert test["metrics"]["auc"] == pytest.approx(roc_auc_score(y, s))
    assert sum(map(sum, test["confusion_matrix"])) == 300
    assert test["roc"]["1"][0][:2] == [0.0, 0.0] and test["roc"]["1"][-1][:2] == [1.0, 1.0]
    worst = test["worst"][0]
    assert worst["score_of_label"] == pytest.approx(np.where(y == 1, s, 1 - s).min())
    assert report["seg"]["worst"][0] == {"id": "3", "dice": 0.0}

    shown = _cli(url, "eval", "show", run.id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["splits"]["test"]["metrics"] == test["metrics"]
    text = _cli(url, "eval", "show", run.id)
    assert text.returncode == 0 and "confusion matrix" in text.stdout and "p" in text.stdout


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [0, 1, 1], "y_score": [0.1, 0.2]}, "3 items but y_score has 2"),
        ({"y_true": [0, 1, 3], "y_score": [0.1, 0.2, 0.3]}, "outside the classes"),
        ({"y_true": [0, 1], "y_score": [0.1, float("nan")]}, "NaN"),
        ({"masks": np.zeros((2, 4, 4)), "preds": np.zeros((2, 5, 4))}, "shape"),
        ({"y_true": [0, 1], "y_score": [0.1, 0.9], "ids": ["a"]}, "2 predictions but 1 ids"),
        ({"y_true": [0, 1]}, "both y_true and y_score"),
    ],
)
def test_bad_predictions_raise_at_the_call_site(
    kwargs: dict[str, object], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNYARD_URL", "http://127.0.0.1:9")
    with runyard.init() as run, pytest.raises(ValueError, match=message):
        run.log_predictions("test", **kwargs)  # type: ignore[arg-type]
    assert not (run.dir / "eval").exists() or not list((run.dir / "eval").iterdir())


def test_a_split_without_a_file_is_404(online: ServerProcess) -> None:
    with runyard.init() as run:
        pass
    r = httpx.post(f"{online.url}/api/runs/{run.id}/predictions", json={"split": "nope"})
    assert r.status_code == 404 and "no predictions" in r.json()["error"]["message"]
    r = httpx.post(f"{online.url}/api/runs/{run.id}/predictions", json={"split": "../x"})
    assert r.status_code == 400
    assert get(online.url, f"/api/runs/{run.id}/evaluation")["splits"] == {}


def test_saliency_gallery_is_listed_with_roi_scores(online: ServerProcess) -> None:
    from tests.evaluation.test_explain import _images, _net

    images, rois = _images()
    with runyard.init(experiment="eval") as run:
        index = run.log_saliency(
            images,
            model=_net(),
            target_layer="0",
            roi_masks=rois,
            ids=["a", "b/c", "d"],
            class_idx=1,
        )
        uniform = run.log_saliency(images, np.ones((3, 32, 32)), method="uniform", roi_masks=rois)
        with pytest.raises(ValueError, match="its layers: 0, 1"):
            run.log_saliency(images, model=_net(), target_layer="nope")
        with pytest.raises(ValueError, match="maps of shape"):
            run.log_saliency(images, np.ones((2, 32, 32)), method="bad")
    assert not (run.dir / "artifacts" / "visuals" / "bad").exists() or not list(
        (run.dir / "artifacts" / "visuals" / "bad").glob("index.json")
    )
    assert [e["roi_score"] > 0.6 for e in index["images"]] == [True] * 3
    assert uniform["images"][0]["roi_score"] == pytest.approx(64 / 1024)
    out = get(online.url, f"/api/runs/{run.id}/visuals")["methods"]
    assert sorted(out) == ["gradcam", "uniform"]
    gallery = out["gradcam"]
    assert gallery["count"] == 3 and gallery["mean_roi_share"] == pytest.approx(64 / 1024)
    assert gallery["mean_roi_score"] == pytest.approx(
        np.mean([e["roi_score"] for e in index["images"]])
    )
    assert [e["id"] for e in gallery["images"]] == ["a", "b/c", "d"]
    png = httpx.get(f"{online.url}/api/runs/{run.id}/artifacts/{gallery['images'][1]['overlay']}")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
