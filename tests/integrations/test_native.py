"""runyard's own Lightning and Hugging Face integrations, with real training on CPU: a job that
crashes and is retried by the runner resumes from its last registered checkpoint through the
framework's own resume argument; early stops are recorded as such."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from runyard.store import Store
from tests.integrations._models import hf_model_and_data, lightning_module, loaders, trainer_kwargs
from tests.runner.conftest import LiveClient, jobs, submit, wait_status  # noqa: F401
from tests.server.mlflow.conftest import mlflow_url  # noqa: F401

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ROOT / "tests" / "programs"


def _retried(client: LiveClient, program: str, out: Path) -> tuple[dict[str, Any], str]:
    run = submit(
        client,
        [sys.executable, str(PROGRAMS / program), str(out)],
        max_retries=1,
        env={"PYTHONPATH": str(ROOT)},
    )
    done = wait_status(client, run["id"], "completed", "failed", timeout=240)
    log = client.get(f"/api/runs/{run['id']}/logs", params={"attempt": 2}).text
    assert done["status"] == "completed", client.get(f"/api/runs/{run['id']}/logs").text[-3000:]
    return done, log


def test_lightning_job_resumes_from_its_checkpoint(jobs: LiveClient, tmp_path: Path) -> None:  # noqa: F811
    done, log = _retried(jobs, "lightning_retry.py", tmp_path / "ckpt")
    assert done["attempt_count"] == 2 and done["progress"]["percent"] == 100
    resumed = re.search(r"attempt 2 resumes from (\S+)", log)
    assert resumed and "/checkpoints/epoch=1-" in resumed[1], log  # epoch 1's checkpoint
    checkpoints = jobs.get(f"/api/runs/{done['id']}/checkpoints").json()["checkpoints"]
    assert [c["epoch"] for c in checkpoints] == [0, 1, 2, 3]
    metrics = jobs.get(f"/api/runs/{done['id']}/metrics", params={"keys": "val_loss"}).json()
    assert len(metrics["metrics"]["val_loss"]["steps"]) >= 4
    assert done["params"]["lr"] == 0.05


def test_hf_job_resumes_from_its_checkpoint(jobs: LiveClient, tmp_path: Path) -> None:  # noqa: F811
    done, log = _retried(jobs, "hf_retry.py", tmp_path / "out")
    assert done["attempt_count"] == 2
    assert "checkpoints/checkpoint-3" in log
    checkpoints = jobs.get(f"/api/runs/{done['id']}/checkpoints").json()["checkpoints"]
    assert {c["name"].split("/")[0] for c in checkpoints} == {"checkpoint-3", "checkpoint-6"}
    assert done["progress"]["percent"] == 100 and not done["early_stopped"]
    loss = jobs.get(f"/api/runs/{done['id']}/metrics", params={"keys": "loss"}).json()
    assert sorted(set(loss["metrics"]["loss"]["steps"])) == [1, 2, 3, 4, 5, 6]


def test_lightning_early_stop_goals_and_hyperparameters(
    mlflow_url: str,  # noqa: F811
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping

    from runyard.integrations.lightning import RunyardCallback, RunyardLogger

    monkeypatch.setenv("RUNYARD_URL", mlflow_url)
    logger = RunyardLogger(experiment="lit-native", name="stops")
    stopper = EarlyStopping(monitor="val_loss", stopping_threshold=1e9)  # stops after epoch 0
    trainer = pl.Trainer(
        max_epochs=5,
        logger=logger,
        callbacks=[RunyardCallback(), stopper],
        default_root_dir=tmp_path,
        **trainer_kwargs(),
    )
    train, val = loaders()
    trainer.fit(lightning_module(), train, val)
    run = store.runs.get(logger.run.id)
    assert run.status.value == "completed" and run.early_stopped and run.stopped_at_epoch == 0
    assert run.metric_goals["val_loss"].value == "min" and run.params["lr"] == 0.05
    assert len(store.files.checkpoints(run.id)) == 1  # the default ModelCheckpoint's
    assert run.progress.percent == 100


def test_hf_early_stop_before_max_steps(
    mlflow_url: str,  # noqa: F811
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from runyard.integrations.huggingface import RunyardCallback

    class StopAt4(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            control.should_training_stop = state.global_step >= 4
            return control

    monkeypatch.setenv("RUNYARD_URL", mlflow_url)
    callback = RunyardCallback(experiment="hf-native")
    model, data = hf_model_and_data()
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=10,
        per_device_train_batch_size=8,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data,
        callbacks=[callback, StopAt4()],
    )
    trainer.train()
    run = store.runs.get(callback.run.id)
    assert run.status.value == "completed" and run.early_stopped
    assert run.params["max_steps"] == 10 and run.params["hidden_size"] == 16
    assert {"loss", "eval_loss"} <= set(run.metrics)
    assert store.metrics.read(run.id, ["loss"])["loss"].steps.tolist() == [1, 2, 3, 4]
